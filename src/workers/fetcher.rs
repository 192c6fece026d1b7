//! Brings in files customers sent that were still on the platform when their message was
//! committed. Each pending attachment is claimed with a lease (a crash makes it due again),
//! fetched through its channel's adapter, saved, and shown in the thread; a failure is tried
//! again with backoff, and a file that cannot be had is shown with the reason.

use std::time::Duration;

use tokio::sync::watch;

use crate::bus::{Event, EventKind};
use crate::channels::RemoteFile;
use crate::inbox::Inbox;
use crate::store::attachments::{self, PendingFile};
use crate::store::now;

/// Attempts before a file is given up on (the platform may be down for a while).
pub const MAX_ATTEMPTS: i32 = 6;
/// Files fetched at once.
const PARALLEL: i64 = 4;
/// One fetch may take this long (large files on slow platforms), then it is tried again.
const FETCH_TIMEOUT: Duration = Duration::from_secs(120);

pub struct FetcherConfig {
    /// The first retry delay; it doubles with each attempt (capped at 10 minutes).
    pub backoff: Duration,
}

fn retry_delay(cfg: &FetcherConfig, attempts: i32) -> Duration {
    let exp = (attempts.clamp(1, 16) - 1) as u32;
    cfg.backoff
        .saturating_mul(1u32 << exp)
        .min(Duration::from_secs(600))
}

#[tracing::instrument(name = "fetcher", skip_all)]
pub async fn run(inbox: Inbox, cfg: FetcherConfig, mut shutdown: watch::Receiver<bool>) {
    let lease = chrono::Duration::seconds(FETCH_TIMEOUT.as_secs() as i64 + 60);
    loop {
        if *shutdown.borrow() || shutdown.has_changed().is_err() {
            break;
        }
        match inbox
            .store
            .write(move |c| attachments::claim_pending(c, PARALLEL, lease))
            .await
        {
            Ok(files) if !files.is_empty() => {
                let work = files.into_iter().map(|f| fetch_one(&inbox, &cfg, f));
                futures_util::future::join_all(work).await;
                continue;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "fetcher: cannot claim files"),
        }
        let next = inbox
            .store
            .read(attachments::next_pending)
            .await
            .ok()
            .flatten();
        super::wakeup::until_due(next, &inbox.fetch_wake, &mut shutdown).await;
    }
}

async fn fetch_one(inbox: &Inbox, cfg: &FetcherConfig, f: PendingFile) {
    let outcome = fetch(inbox, &f).await;
    let (id, attempts) = (f.id, f.attempts);
    let write = match outcome {
        Ok(stored) => {
            inbox
                .store
                .write(move |c| attachments::fetched(c, id, &stored))
                .await
        }
        Err((why, retryable)) => {
            let retry_at = (retryable && attempts < MAX_ATTEMPTS).then(|| {
                now()
                    + chrono::Duration::from_std(retry_delay(cfg, attempts))
                        .unwrap_or(chrono::Duration::seconds(600))
            });
            if retry_at.is_none() {
                tracing::warn!(file = id, attempts, why = %why, "file given up");
            }
            let done = retry_at.is_none();
            let r = inbox
                .store
                .write(move |c| attachments::fetch_failed(c, id, &why, retry_at))
                .await;
            if !done {
                return;
            }
            r
        }
    };
    match write {
        // The thread shows the file (or why there is none) without a reload.
        Ok(()) => inbox.bus.publish(Event {
            project_id: f.project_id,
            conversation_id: f.conversation_id,
            contact_id: f.contact_id,
            message_id: Some(f.message_id),
            kind: EventKind::Updated,
            from_customer: false,
            new_conversation: false,
            public: false,
        }),
        Err(e) => {
            tracing::warn!(file = id, error = %e, "file outcome not recorded; tried again after the lease")
        }
    }
}

/// The file saved in storage, or why not and whether trying again can help.
async fn fetch(
    inbox: &Inbox,
    f: &PendingFile,
) -> Result<crate::store::attachments::StoredFile, (String, bool)> {
    let remote: RemoteFile = serde_json::from_str(&f.source)
        .map_err(|e| (format!("unreadable file reference: {e}"), false))?;
    let channel = inbox
        .registry
        .by_id(f.channel_id)
        .ok_or_else(|| ("the channel is not running".to_string(), true))?;
    let bytes = tokio::time::timeout(
        FETCH_TIMEOUT,
        channel.adapter.download(&remote, &inbox.downloads),
    )
    .await
    .map_err(|_| {
        (
            "the platform did not send the file in time".to_string(),
            true,
        )
    })?
    .map_err(|e| (e.message, e.retryable))?;
    inbox
        .files
        .save(bytes, &remote.name, remote.content_type.as_deref())
        .await
        .map_err(|e| (e.to_string(), false))
}
