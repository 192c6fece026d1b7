//! The commit queue: requests hand their inbound values to a committer task that writes
//! whatever has queued up in one transaction (group commit), then answers each request. A
//! request is answered only after its message is committed.

use std::sync::Arc;

use tokio::sync::{Notify, mpsc, oneshot};

use super::receive::{Item, commit_batch};
use crate::bus::{Bus, Event, EventKind};
use crate::channels::{Inbound, InboundEvent};
use crate::domain::Received;
use crate::error::{Error, Result};
use crate::store::{self, Store};

const MAX_BATCH: usize = 512;

pub struct Job {
    pub(super) item: Item,
    pub(super) reply: oneshot::Sender<Result<Received>>,
}

/// How many batches commit at once: SQLite has one writer; PostgreSQL takes several, and a
/// single committer there spends most of its time waiting on round trips.
pub fn committers(backend: store::Backend) -> usize {
    match backend {
        store::Backend::Sqlite => 1,
        store::Backend::Postgres => 4,
    }
}

/// The committer that owns this customer's conversation in this channel, so a customer's
/// messages commit in the order the platform sent them whatever the number of committers.
pub(super) fn committer_of<T>(queues: &[T], channel_id: i64, item: &Inbound) -> usize {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (channel_id, &item.external_user_id).hash(&mut h);
    (h.finish() % queues.len().max(1) as u64) as usize
}

/// Takes what has queued up, up to one batch; None once every sender is gone.
async fn next_batch(rx: &mut mpsc::Receiver<Job>) -> Option<Vec<Job>> {
    let first = rx.recv().await?;
    let mut jobs = vec![first];
    while jobs.len() < MAX_BATCH {
        match rx.try_recv() {
            Ok(j) => jobs.push(j),
            Err(_) => break,
        }
    }
    Some(jobs)
}

/// One committer: runs until every sender is gone.
#[tracing::instrument(name = "committer", skip_all)]
pub async fn run_committer(
    store: Store,
    bus: Bus,
    mut rx: mpsc::Receiver<Job>,
    outbox_wake: Arc<Notify>,
) {
    while let Some(jobs) = next_batch(&mut rx).await {
        let (work, replies): (Vec<Item>, Vec<_>) =
            jobs.into_iter().map(|j| (j.item, j.reply)).unzip();
        let size = work.len();
        let bot_answers = work.iter().any(|w| w.bot.is_some() || w.auto.is_some());
        let result = store
            .read(move |conn| {
                let started = std::time::Instant::now();
                let r = commit_batch(conn, &work);
                tracing::debug!(
                    batch = work.len(),
                    micros = started.elapsed().as_micros() as u64,
                    "inbound batch committed"
                );
                r.map(|results| (work, results))
            })
            .await;
        match result {
            Ok((work, results)) => {
                if bot_answers {
                    outbox_wake.notify_one();
                }
                for ((item, reply), r) in work.into_iter().zip(replies).zip(results) {
                    if let Ok(rec) = &r
                        && !rec.duplicate
                        && let Some(cid) = rec.conversation_id
                    {
                        let report = matches!(item.inbound.event, InboundEvent::Status { .. });
                        bus.publish(Event {
                            project_id: item.project_id,
                            conversation_id: cid,
                            contact_id: rec.contact_id,
                            message_id: rec.message_id,
                            kind: if report {
                                EventKind::Delivery
                            } else {
                                EventKind::Message
                            },
                            from_customer: !report,
                            public: rec.message_id.is_some(),
                        });
                    }
                    let _ = reply.send(r);
                }
            }
            Err(e) => {
                tracing::error!(batch = size, error = %e, "inbound batch failed");
                let msg = e.to_string();
                for reply in replies {
                    let _ = reply.send(Err(Error::Pool(msg.clone())));
                }
            }
        }
    }
}
