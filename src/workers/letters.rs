//! Notification letters: claims due letters, hands each to the SMTP server and records the
//! outcome. A refused or unreachable server means another try later (the outbox's backoff);
//! after the last attempt the letter stays, failed, with the server's answer.

use std::sync::Arc;

use tokio::sync::watch;

use super::outbox::{OutboxConfig, backoff};
use crate::inbox::Inbox;
use crate::mail::Mailer;
use crate::store::letters::{self, Letter};

#[tracing::instrument(name = "letters", skip_all)]
pub async fn run(
    inbox: Inbox,
    mailer: Option<Arc<Mailer>>,
    cfg: OutboxConfig,
    mut shutdown: watch::Receiver<bool>,
) {
    let lease = chrono::Duration::from_std(cfg.lease).unwrap_or(chrono::Duration::seconds(120));
    loop {
        if *shutdown.borrow() || shutdown.has_changed().is_err() {
            break;
        }
        match inbox
            .store
            .write(move |c| letters::claim_due(c, 16, lease))
            .await
        {
            Ok(claimed) if !claimed.is_empty() => {
                let mut claimed = claimed.into_iter();
                for letter in claimed.by_ref() {
                    send(&inbox, mailer.as_deref(), &cfg, letter).await;
                    if *shutdown.borrow() {
                        break;
                    }
                }
                let rest: Vec<i64> = claimed.map(|l| l.id).collect();
                if !rest.is_empty()
                    && let Err(e) = inbox.store.write(move |c| letters::release(c, &rest)).await
                {
                    tracing::warn!(error = %e, "letters: claims not handed back; they expire with the lease");
                }
                continue;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "letters: cannot claim"),
        }
        let next = inbox.store.read(letters::next_due).await.ok().flatten();
        super::wakeup::until_due(next, &inbox.letters_wake, &mut shutdown).await;
    }
}

async fn send(inbox: &Inbox, mailer: Option<&Mailer>, cfg: &OutboxConfig, letter: Letter) {
    let id = letter.id;
    let outcome = match mailer {
        None => Err("this server has no SMTP server (PEREPISKA_SMTP_URL)".to_string()),
        Some(m) => m
            .send(&letter.recipient, &letter.subject, &body(cfg, &letter))
            .await
            .map_err(|e| e.to_string()),
    };
    let last = mailer.is_none() || letter.attempts >= cfg.max_attempts;
    let recorded = match outcome {
        Ok(()) => inbox.store.write(move |c| letters::mark_sent(c, id)).await,
        Err(e) if last => {
            tracing::warn!(letter = id, error = %e, "a notification letter was given up");
            inbox
                .store
                .write(move |c| letters::mark_failed(c, id, &e))
                .await
        }
        Err(e) => {
            let wait = chrono::Duration::from_std(backoff(cfg, letter.attempts))
                .unwrap_or(chrono::Duration::seconds(600));
            tracing::info!(letter = id, error = %e, "a notification letter waits for another try");
            inbox
                .store
                .write(move |c| letters::retry_later(c, id, crate::store::now() + wait, &e))
                .await
        }
    };
    if let Err(e) = recorded {
        tracing::error!(letter = id, error = %e, "letters: outcome not recorded");
    }
}

/// The letter with the conversation's address in the console, where the server knows its own.
fn body(cfg: &OutboxConfig, letter: &Letter) -> String {
    match (&cfg.public_url, letter.conversation_id) {
        (Some(base), Some(c)) => format!(
            "{}\n\n{}/console?c={}",
            letter.body,
            base.trim_end_matches('/'),
            c.0
        ),
        _ => letter.body.clone(),
    }
}
