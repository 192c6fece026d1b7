//! The commit queue: requests hand their inbound values to a committer task that writes
//! whatever has queued up in one transaction (group commit), then answers each request. A
//! request is answered only after its message is committed.

use std::sync::Arc;

use tokio::sync::{Notify, mpsc, oneshot};

use super::Inbox;
use super::receive::{Item, commit_batch};
use super::registry::ChannelEntry;
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

impl Inbox {
    /// Everything a platform request carried: keeps what could not be parsed, fetches files
    /// still on the platform, then commits. Returns once it is durable.
    pub async fn receive_parsed(
        &self,
        channel: &Arc<ChannelEntry>,
        parsed: crate::channels::Parsed,
    ) -> Result<Vec<Received>> {
        if !parsed.unparsed.is_empty() {
            let channel_id = channel.channel.id;
            let raw = parsed.unparsed;
            tracing::warn!(
                channel = %channel.channel.key,
                updates = raw.len(),
                "updates not understood, kept raw"
            );
            self.store
                .write(move |conn| {
                    for (payload, why) in &raw {
                        store::channels::store_raw(conn, channel_id, payload, why)?;
                    }
                    Ok(())
                })
                .await?;
        }
        let mut inbound = parsed.inbound;
        let mut pending = false;
        for item in &mut inbound {
            channel.adapter.enrich(item).await;
            pending |=
                matches!(&item.event, InboundEvent::Message { remote, .. } if !remote.is_empty());
            Self::pend_remote_files(channel, item);
        }
        let presses: Vec<Inbound> = inbound
            .iter()
            .filter(|i| matches!(i.event, InboundEvent::Button { .. }))
            .cloned()
            .collect();
        let received = self.receive(channel, inbound).await?;
        if pending {
            self.fetch_wake.notify_one();
        }
        for p in &presses {
            channel.adapter.acknowledge(p).await;
        }
        Ok(received)
    }

    /// Files still on the platform become pending attachments: the message is committed
    /// (and the platform answered) now, the fetcher brings the files in afterwards.
    fn pend_remote_files(channel: &Arc<ChannelEntry>, item: &mut Inbound) {
        let InboundEvent::Message { files, remote, .. } = &mut item.event else {
            return;
        };
        for r in std::mem::take(remote) {
            let Ok(source) = serde_json::to_string(&r) else {
                continue;
            };
            files.push(crate::files::FileStore::pending(
                channel.channel.id,
                &r.name,
                r.content_type.as_deref(),
                r.size,
                source,
            ));
        }
    }

    /// Commits the inbound values of one platform request; returns once they are durable.
    pub async fn receive(
        &self,
        channel: &Arc<ChannelEntry>,
        inbound: Vec<Inbound>,
    ) -> Result<Vec<Received>> {
        let mut waits = Vec::with_capacity(inbound.len());
        // Long-lived callers (pollers) hold the entry they started with; rules saved since
        // are in the registry's.
        let current = self.registry.by_id(channel.channel.id);
        let channel = current.as_ref().unwrap_or(channel);
        let auto = channel.auto_ctx(&self.automation);
        // Outside working hours a chat channel may hand its customers to the bot.
        let bot = channel
            .bot_ctx()
            .or_else(|| auto.bot_off_hours().then(|| channel.off_hours_bot()))
            .map(|b| b.at(&auto));
        let at = auto.now;
        let auto = (auto.rules.any()
            || (!auto.helpdesk && auto.rating())
            || auto.rules.distribution.active())
        .then_some(auto);
        // Files already written for each item: removed again if the item is not stored.
        let written: Vec<Vec<crate::store::attachments::StoredFile>> = inbound
            .iter()
            .map(|i| match &i.event {
                InboundEvent::Message { files, .. } => files.clone(),
                _ => Vec::new(),
            })
            .collect();
        for item in inbound {
            let (tx, rx) = oneshot::channel();
            self.ingest[committer_of(&self.ingest, channel.channel.id, &item)]
                .send(Job {
                    item: Item {
                        project_id: channel.channel.project_id,
                        channel_id: channel.channel.id,
                        channel_name: channel.channel.name.clone(),
                        team: channel.channel.default_team_id,
                        bot: bot.clone(),
                        auto: auto.clone(),
                        at,
                        inbound: item.without_nul(),
                    },
                    reply: tx,
                })
                .await
                .map_err(|_| Error::internal("the server is shutting down"))?;
            waits.push(rx);
        }
        let mut out = Vec::with_capacity(waits.len());
        let mut failed = None;
        for (rx, files) in waits.into_iter().zip(written) {
            let r = rx
                .await
                .map_err(|_| Error::internal("the server is shutting down"))
                .and_then(|r| r);
            if r.as_ref().is_err() || r.as_ref().is_ok_and(|r| r.duplicate) {
                self.files.discard(&files).await;
            }
            match r {
                Ok(r) => out.push(r),
                Err(e) => {
                    failed.get_or_insert(e);
                }
            }
        }
        if let Some(e) = failed {
            return Err(e);
        }
        let fresh = out
            .iter()
            .filter(|r| !r.duplicate && r.message_id.is_some())
            .count();
        self.metrics
            .received(channel.channel.kind.as_str(), fresh as u64);
        Ok(out)
    }
}

impl Inbox {
    /// Inbound values are queued for a committer here (not counting a batch being committed).
    pub fn ingest_queued(&self) -> bool {
        self.ingest.iter().any(|q| q.capacity() < q.max_capacity())
    }
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
fn committer_of<T>(queues: &[T], channel_id: crate::domain::ChannelId, item: &Inbound) -> usize {
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
    letters_wake: Arc<Notify>,
) {
    while let Some(jobs) = next_batch(&mut rx).await {
        let (work, replies): (Vec<Item>, Vec<_>) =
            jobs.into_iter().map(|j| (j.item, j.reply)).unzip();
        let size = work.len();
        let bot_answers = work.iter().any(|w| w.bot.is_some() || w.auto.is_some());
        let result = store
            .with_writer(move |conn| {
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
                let told_staff = results
                    .iter()
                    .any(|r| r.as_ref().is_ok_and(|r| r.told_staff));
                if bot_answers || told_staff {
                    outbox_wake.notify_one();
                }
                if told_staff {
                    letters_wake.notify_one();
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
                            new_conversation: rec.new_conversation,
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
