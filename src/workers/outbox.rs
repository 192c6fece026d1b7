//! Durable delivery: claims due outbox rows, hands them to the channel adapter, and records
//! the outcome. Retries with exponential backoff; a permanent failure becomes a visible
//! system message in the thread. Rows survive restarts; a crashed attempt is retried after
//! its lease runs out (at-least-once).

use std::time::Duration;

use tokio::sync::watch;

use crate::bus::{Event, EventKind};
use crate::channels::{DirectPayload, Outbound, OutboundFile, SendError};
use crate::domain::event::SystemEvent;
use crate::domain::{ChannelId, Delivery};
use crate::error::{Error, Result};
use crate::inbox::Inbox;
use crate::store::outbox::{self, OutboxRow};
use crate::store::{attachments, contacts, conversations, messages, now, users};

#[derive(Clone, Debug)]
pub struct OutboxConfig {
    pub backoff_base: Duration,
    pub max_attempts: i32,
    pub lease: Duration,
    /// The server's public address, for media URLs handed to platforms.
    pub public_url: Option<String>,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        OutboxConfig {
            backoff_base: Duration::from_secs(2),
            max_attempts: 10,
            public_url: None,
            lease: Duration::from_secs(120),
        }
    }
}

pub fn backoff(cfg: &OutboxConfig, attempts: i32) -> Duration {
    let exp = attempts.clamp(1, 20) - 1;
    cfg.backoff_base
        .saturating_mul(1u32 << exp.min(16))
        .min(Duration::from_secs(600))
}

#[tracing::instrument(name = "outbox", skip_all)]
pub async fn run(inbox: Inbox, cfg: OutboxConfig, mut shutdown: watch::Receiver<bool>) {
    let lease = chrono::Duration::from_std(cfg.lease).unwrap_or(chrono::Duration::seconds(120));
    loop {
        // A dropped sender counts as shutdown too.
        if *shutdown.borrow() || shutdown.has_changed().is_err() {
            break;
        }
        match inbox
            .store
            .write(move |c| outbox::claim_due(c, 32, lease))
            .await
        {
            Ok(rows) if !rows.is_empty() => {
                let mut rows = rows.into_iter();
                for row in rows.by_ref() {
                    if let Err(e) = deliver(&inbox, &cfg, row).await {
                        tracing::error!(error = %e, "outbox bookkeeping failed");
                    }
                    if *shutdown.borrow() {
                        break;
                    }
                }
                // Stopping: what was claimed and not tried goes back, due at once for
                // whichever instance runs next, not after the lease.
                let rest: Vec<i64> = rows.map(|r| r.id).collect();
                if !rest.is_empty() {
                    let n = rest.len();
                    match inbox.store.write(move |c| outbox::release(c, &rest)).await {
                        Ok(()) => {
                            tracing::info!(count = n, "outbox: claimed deliveries handed back")
                        }
                        Err(e) => tracing::warn!(
                            error = %e,
                            "outbox: claims not handed back; they expire with the lease"
                        ),
                    }
                }
                continue;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "outbox: cannot claim rows"),
        }
        let next = inbox.store.read(outbox::next_due).await.ok().flatten();
        super::wakeup::until_due(next, &inbox.outbox_wake, &mut shutdown).await;
    }
}

struct Prepared {
    out: Outbound,
    /// The thread to report in; None for bot messages outside any conversation.
    conversation: Option<(crate::domain::ConversationId, crate::domain::ContactId)>,
    blocked: bool,
}

async fn prepare(inbox: &Inbox, cfg: &OutboxConfig, row: &OutboxRow) -> Result<Prepared> {
    let files = inbox.files.clone();
    let public_url = cfg.public_url.clone();
    let row = row.clone();
    inbox
        .store
        .read(move |conn| {
            let Some(message_id) = row.message_id else {
                let recipient = row.recipient.clone().unwrap_or_default();
                let p: DirectPayload = serde_json::from_str(row.payload.as_deref().unwrap_or("{}"))
                    .map_err(|e| Error::internal(format!("bad bot payload: {e}")))?;
                let blocked = contacts::identity_blocked(conn, row.channel_id, &recipient)?;
                return Ok(Prepared {
                    out: Outbound {
                        delivery_id: row.id,
                        message_id: 0,
                        conversation_number: 0,
                        recipient,
                        text: p.text,
                        author_name: None,
                        files: Vec::new(),
                        keyboard: p.keyboard,
                        template: None,
                    },
                    conversation: None,
                    blocked,
                });
            };
            let msg = messages::by_id(conn, row.project_id, message_id)?;
            let conv = conversations::by_id(conn, row.project_id, msg.conversation_id)?;
            let (recipient, blocked) = contacts::recipient(conn, &conv)?
                .ok_or_else(|| Error::not_found("the customer has no identity in this channel"))?;
            let author_name = match msg.author_id {
                Some(a) => Some(users::by_id(conn, a)?.name),
                None => None,
            };
            let mut out_files = Vec::new();
            for a in attachments::of_messages(conn, &[msg.id])? {
                out_files.push(OutboundFile {
                    path: files.path(&a.storage_key)?,
                    public_url: public_url
                        .as_deref()
                        .map(|base| crate::files::media_url(base, &a.storage_key, &a.file_name)),
                    name: a.file_name,
                    content_type: a.content_type,
                    size: a.size,
                });
            }
            Ok(Prepared {
                out: Outbound {
                    delivery_id: row.id,
                    message_id: msg.id,
                    conversation_number: conv.number,
                    recipient,
                    text: msg.text,
                    author_name,
                    files: out_files,
                    keyboard: None,
                    template: row
                        .payload
                        .as_deref()
                        .and_then(|p| serde_json::from_str::<crate::channels::Template>(p).ok()),
                },
                conversation: Some((conv.id, conv.contact_id)),
                blocked,
            })
        })
        .await
}

/// The channel's last delivery error, shown on its settings page (a customer who blocked the
/// bot is not the channel's fault and is not noted).
fn note_channel_error(
    c: &mut crate::store::DbConn,
    channel_id: ChannelId,
    error: &str,
) -> Result<()> {
    let value = serde_json::json!({ "at": now(), "error": error }).to_string();
    crate::store::channels::set_state(c, channel_id, LAST_ERROR_KEY, &value)
}

/// Where a channel's last delivery error is kept (channel_state).
pub const LAST_ERROR_KEY: &str = "delivery.last_error";

/// How long a delivery for a paused channel waits before looking again (resuming wakes it).
const PAUSED_WAIT_SECS: i64 = 60;

async fn deliver(inbox: &Inbox, cfg: &OutboxConfig, row: OutboxRow) -> Result<()> {
    let entry = inbox.registry.by_id(row.channel_id);
    if entry.is_none() {
        let (id, channel_id, message_id) = (row.id, row.channel_id, row.message_id);
        let paused = inbox
            .store
            .write(move |c| {
                // A file channel taken out of channels.toml is gone (its replies fail visibly);
                // one paused in the settings comes back.
                let paused = crate::store::channels::by_id(c, channel_id)
                    .map(|ch| !ch.enabled && ch.source.editable() && ch.disconnected_at.is_none())
                    .unwrap_or(false);
                if paused {
                    let at = now() + chrono::Duration::seconds(PAUSED_WAIT_SECS);
                    let why = "the channel is paused";
                    outbox::wait(c, id, at, why)?;
                    // The operator sees why it has not gone yet.
                    if let Some(m) = message_id {
                        messages::set_delivery(c, m, Delivery::Pending, None, Some(why))?;
                    }
                }
                Ok(paused)
            })
            .await?;
        if paused {
            return Ok(());
        }
    }
    let prepared = prepare(inbox, cfg, &row).await;
    let (result, kind) = match (&entry, &prepared) {
        (Some(e), Ok(p)) if p.blocked => (
            Err(SendError::blocked(
                "the customer blocked the bot or unsubscribed",
            )),
            e.channel.kind.as_str(),
        ),
        (Some(e), Ok(p)) => (e.adapter.send(&p.out).await, e.channel.kind.as_str()),
        (None, _) => (
            Err(SendError::permanent("the channel is disabled or removed")),
            "unknown",
        ),
        (_, Err(err)) => (Err(SendError::permanent(err.to_string())), "unknown"),
    };
    let conversation = prepared.as_ref().ok().and_then(|p| p.conversation);
    let recipient = prepared.as_ref().ok().map(|p| p.out.recipient.clone());
    let (project_id, message_id, outbox_id, attempts, channel_id) = (
        row.project_id,
        row.message_id,
        row.id,
        row.attempts,
        row.channel_id,
    );
    let event = |kind| {
        conversation.map(|(conversation_id, contact_id)| Event {
            project_id,
            conversation_id,
            contact_id,
            message_id,
            kind,
            from_customer: false,
            new_conversation: false,
            public: true,
        })
    };
    match result {
        Ok(sent) => {
            inbox
                .store
                .write(move |c| {
                    outbox::mark_done(c, outbox_id)?;
                    match message_id {
                        Some(m) => messages::set_delivery(
                            c,
                            m,
                            Delivery::Sent,
                            sent.platform_id.as_deref(),
                            None,
                        ),
                        None => Ok(()),
                    }
                })
                .await?;
            inbox.metrics.sent(kind);
            if let Some(e) = event(EventKind::Delivery) {
                inbox.bus.publish(e);
            }
        }
        Err(e) => {
            inbox.metrics.send_error(kind);
            let msg = e.message.clone();
            if e.retryable && attempts < cfg.max_attempts {
                let wait = backoff(cfg, attempts).max(e.retry_after.unwrap_or_default());
                let at = now()
                    + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::seconds(60));
                tracing::info!(
                    outbox_row = outbox_id,
                    attempts,
                    retry_in = ?wait,
                    error = %msg,
                    "delivery failed, retrying"
                );
                inbox
                    .store
                    .write(move |c| {
                        outbox::retry_later(c, outbox_id, at, &msg)?;
                        note_channel_error(c, channel_id, &msg)?;
                        match message_id {
                            Some(m) => {
                                messages::set_delivery(c, m, Delivery::Pending, None, Some(&msg))
                            }
                            None => Ok(()),
                        }
                    })
                    .await?;
                if let Some(e) = event(EventKind::Delivery) {
                    inbox.bus.publish(e);
                }
            } else {
                tracing::warn!(outbox_row = outbox_id, error = %msg, "delivery failed for good");
                let blocked = e.blocked;
                inbox
                    .store
                    .write(move |c| {
                        outbox::mark_failed(c, outbox_id, &msg)?;
                        if blocked && let Some(r) = &recipient {
                            contacts::set_blocked(c, channel_id, r, true)?;
                        } else {
                            note_channel_error(c, channel_id, &msg)?;
                        }
                        if let (Some(m), Some((conversation_id, _))) = (message_id, conversation) {
                            messages::set_delivery(c, m, Delivery::Failed, None, Some(&msg))?;
                            let ev = SystemEvent::DeliveryFailed { error: msg.clone() };
                            messages::system(c, project_id, conversation_id, &ev.to_json())?;
                        }
                        Ok(())
                    })
                    .await?;
                if let Some(e) = event(EventKind::Message) {
                    inbox.bus.publish(e);
                }
            }
        }
    }
    Ok(())
}
