//! Integrations' deliveries: claims due events and hands each to its integration (a webhook
//! is POSTed signed, a CRM gets a lead, a comment or a note) through
//! the guarded client (public addresses only, checked after resolution and on every redirect,
//! unless PEREPISKA_ALLOW_PRIVATE_TARGETS), and records the answer. A failure waits 30 s, then
//! twice as long each time up to an hour; an integration whose oldest failing event has failed
//! for a day is paused and the project's admins are told. Nothing is dropped: a paused
//! integration's events wait for it to be resumed. Time is the automation clock.

use std::time::Duration;

use tokio::sync::watch;

use crate::domain::Can;
use crate::domain::event::Notice;
use crate::inbox::Inbox;
use crate::integrations::{Outcome, Settings, crm, webhook};
use crate::store::crm_links;
use crate::store::integrations::{self, Attempt, Delivery, Integration};
use crate::store::members;

/// A day of failures pauses an integration.
const PAUSE_AFTER_HOURS: i64 = 24;
const FIRST_WAIT_SECS: i64 = 30;
const LONGEST_WAIT_SECS: i64 = 3600;
const RESPONSE_CHARS: usize = 500;

/// The wait after the `attempts`-th failure: 30 s, 1 min, 2 min … at most an hour.
pub fn backoff(attempts: i32) -> chrono::Duration {
    let doubled = FIRST_WAIT_SECS.saturating_mul(1_i64 << attempts.clamp(1, 20).saturating_sub(1));
    chrono::Duration::seconds(doubled.min(LONGEST_WAIT_SECS))
}

#[tracing::instrument(name = "webhooks", skip_all)]
/// `public_url`: where the console is reached (PEREPISKA_PUBLIC_URL), for the link from a lead
/// back to its conversation.
pub async fn run(inbox: Inbox, public_url: Option<String>, mut shutdown: watch::Receiver<bool>) {
    let clock = inbox.automation.clock.clone();
    let lease = chrono::Duration::seconds(120);
    loop {
        if *shutdown.borrow() || shutdown.has_changed().is_err() {
            break;
        }
        let t = clock.now();
        match inbox
            .store
            .write(move |c| integrations::claim_due(c, t, 16, lease))
            .await
        {
            Ok(claimed) if !claimed.is_empty() => {
                let mut claimed = claimed.into_iter();
                for (d, i) in claimed.by_ref() {
                    deliver(&inbox, public_url.as_deref(), d, i).await;
                    if *shutdown.borrow() {
                        break;
                    }
                }
                let rest: Vec<i64> = claimed.map(|(d, _)| d.id).collect();
                if !rest.is_empty()
                    && let Err(e) = inbox
                        .store
                        .write(move |c| integrations::release(c, &rest))
                        .await
                {
                    tracing::warn!(error = %e, "claims not handed back; they expire with the lease");
                }
                continue;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot claim webhook deliveries"),
        }
        let next = inbox
            .store
            .read(integrations::next_due)
            .await
            .ok()
            .flatten();
        tokio::select! {
            _ = clock.sleep_until(next, Duration::from_secs(1)) => {}
            _ = inbox.webhooks_wake.notified() => {}
            _ = shutdown.changed() => break,
        }
    }
}

async fn deliver(inbox: &Inbox, public_url: Option<&str>, d: Delivery, i: Integration) {
    let outcome = attempt(inbox, public_url, &d, &i).await;
    let t = inbox.automation.clock.now();
    let (id, integration_id, project_id, name) = (d.id, i.id, i.project_id, i.name.clone());
    let attempts = d.attempts;
    let recorded = inbox
        .store
        .write(move |c| {
            let a = Attempt {
                status: outcome.status,
                response: outcome.response.as_deref(),
                error: outcome.error.as_deref(),
            };
            if outcome.ok {
                return integrations::mark_delivered(c, id, t, &a);
            }
            let first = integrations::retry_later(c, id, t, t + backoff(attempts), &a)?;
            let failing_since = first.unwrap_or(t);
            if t - failing_since >= chrono::Duration::hours(PAUSE_AFTER_HOURS) {
                let reason = outcome
                    .error
                    .clone()
                    .or(outcome.status.map(|s| format!("HTTP {s}")))
                    .unwrap_or_default();
                integrations::set_paused(c, integration_id, Some((t, &reason)))?;
                let notice = Notice::IntegrationPaused {
                    name: name.clone(),
                    reason,
                };
                for m in members::everyone(c, project_id)? {
                    if m.active && m.access.can(Can::Settings) {
                        crate::thread::notify::notify(c, project_id, m.user.id, None, &notice)?;
                    }
                }
                tracing::warn!(integration = %name, "paused after a day of failed deliveries");
            }
            Ok(())
        })
        .await;
    if let Err(e) = recorded {
        tracing::error!(delivery = id, error = %e, "webhook outcome not recorded");
    }
    inbox.letters_wake.notify_one();
}

/// The integration's settings, opened and checked again (they may predate a rule).
fn settings(inbox: &Inbox, i: &Integration) -> Result<Settings, String> {
    let plain = inbox
        .registry
        .open_sealed(&i.config)
        .map_err(|e| e.to_string())?;
    let v: serde_json::Value = serde_json::from_str(&plain).map_err(|e| e.to_string())?;
    Settings::from_config(i.kind, &v, inbox.downloads.allows_private())
}

async fn attempt(
    inbox: &Inbox,
    public_url: Option<&str>,
    d: &Delivery,
    i: &Integration,
) -> Outcome {
    let settings = match settings(inbox, i) {
        Ok(s) => s,
        Err(e) => return Outcome::failed(format!("the integration's settings do not open: {e}")),
    };
    match &settings {
        Settings::Webhook(config) => post(inbox, d, config).await,
        Settings::Bitrix24(c) => to_crm(inbox, public_url, d, i, c).await,
        Settings::AmoCrm(c) => to_crm(inbox, public_url, d, i, c).await,
    }
}

/// Hands the event to a CRM with the conversation as it is now, and records how far it got
/// whatever the outcome, so a retry carries on instead of making a second lead.
async fn to_crm<C: crm::Crm>(
    inbox: &Inbox,
    public_url: Option<&str>,
    d: &Delivery,
    i: &Integration,
    c: &C,
) -> Outcome {
    let integration_id = i.id;
    let delivery = d.clone();
    let facts = inbox
        .store
        .read(move |c| crm::facts(c, integration_id, &delivery))
        .await;
    let mut facts = match facts {
        Ok(Some(f)) => f,
        Ok(None) => return Outcome::nothing_to_do(),
        Err(e) => return Outcome::failed(format!("the conversation cannot be read: {e}")),
    };
    facts.console_url = public_url.map(|u| {
        format!(
            "{}/console?c={}",
            u.trim_end_matches('/'),
            facts.conversation_id.0
        )
    });
    let before = facts.link.clone();
    let outcome = crm::outcome(crm::handle(c, &inbox.downloads, &mut facts).await);
    if facts.link != before {
        let (project_id, conv, contact_id, link) = (
            d.project_id,
            facts.conversation_id,
            facts.contact_id,
            facts.link,
        );
        let t = inbox.automation.clock.now();
        if let Err(e) = inbox
            .store
            .write(move |c| crm_links::save(c, integration_id, project_id, conv, &link, t))
            .await
        {
            // The next attempt repeats what this one did; the CRM may see it twice.
            return Outcome::failed(format!("what the CRM made was not recorded: {e}"));
        }
        // The sidebar shows the lead without a reload.
        inbox.bus.publish(crate::bus::Event {
            project_id,
            conversation_id: conv,
            contact_id,
            message_id: None,
            kind: crate::bus::EventKind::Updated,
            from_customer: false,
            new_conversation: false,
            public: false,
        });
    }
    outcome
}

async fn post(inbox: &Inbox, d: &Delivery, config: &webhook::Config) -> Outcome {
    let timestamp = chrono::Utc::now().timestamp();
    let req = match inbox.downloads.post(config.url.as_str()) {
        Ok(r) => r,
        Err(e) => return Outcome::failed(e.message),
    };
    let sent = req
        .timeout(Duration::from_secs(15))
        .header("Content-Type", "application/json")
        .header(webhook::EVENT_HEADER, &d.event)
        .header(webhook::DELIVERY_HEADER, d.id.to_string())
        .header(webhook::TIMESTAMP_HEADER, timestamp.to_string())
        .header(
            webhook::SIGNATURE_HEADER,
            webhook::signature(&config.secret, timestamp, d.body.as_bytes()),
        )
        .body(d.body.clone())
        .send()
        .await;
    match sent {
        Err(e) => Outcome::failed(crate::channels::download::Downloader::failure(&e).message),
        Ok(resp) => {
            let status = resp.status();
            let text = resp.text().await.unwrap_or_default();
            let response =
                crate::domain::text::truncate_chars(text.trim(), RESPONSE_CHARS).to_string();
            Outcome {
                ok: status.is_success(),
                status: Some(i32::from(status.as_u16())),
                response: Some(response),
                error: (!status.is_success()).then(|| format!("HTTP {}", status.as_u16())),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_from_thirty_seconds_to_an_hour() {
        let secs: Vec<i64> = (1..=9).map(|n| backoff(n).num_seconds()).collect();
        assert_eq!(secs, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
        assert_eq!(backoff(100).num_seconds(), 3600);
    }
}
