//! Inbound path. Requests hand their messages to one committer task that writes whatever has
//! queued up in a single transaction (group commit), then answers each request. A request is
//! answered only after its message is committed; one bad item rolls back alone (savepoint).

use std::sync::Arc;

use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

use super::Inbox;
use crate::bus::{Event, EventKind};
use crate::channels::{ChannelEntry, Inbound, InboundEvent};
use crate::domain::Status;
use crate::domain::event::SystemEvent;
use crate::domain::text::subject_from;
use crate::error::{Error, Result};
use crate::store::messages::{self, Kind, NewMessage, delivery};
use crate::store::{self, DbConn, Store, attachments, contacts, conversations, now, projects};

const MAX_BATCH: usize = 512;
pub const SUBJECT_CHARS: usize = 50;

pub struct Job {
    project_id: i64,
    channel_id: i64,
    channel_name: String,
    inbound: Inbound,
    reply: oneshot::Sender<Result<Received>>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Received {
    pub message_id: Option<i64>,
    pub conversation_id: Option<i64>,
    pub conversation_number: Option<i64>,
    pub contact_id: i64,
    /// The platform had delivered this message before; nothing new was stored.
    pub duplicate: bool,
    pub new_conversation: bool,
}

impl Inbox {
    /// Commits the inbound values of one platform request; returns once they are durable.
    pub async fn receive(
        &self,
        channel: &Arc<ChannelEntry>,
        inbound: Vec<Inbound>,
    ) -> Result<Vec<Received>> {
        let mut waits = Vec::with_capacity(inbound.len());
        for item in inbound {
            let (tx, rx) = oneshot::channel();
            self.ingest
                .send(Job {
                    project_id: channel.channel.project_id,
                    channel_id: channel.channel.id,
                    channel_name: channel.channel.name.clone(),
                    inbound: item,
                    reply: tx,
                })
                .await
                .map_err(|_| Error::internal("the server is shutting down"))?;
            waits.push(rx);
        }
        let mut out = Vec::with_capacity(waits.len());
        for rx in waits {
            out.push(
                rx.await
                    .map_err(|_| Error::internal("the server is shutting down"))??,
            );
        }
        let fresh = out
            .iter()
            .filter(|r| !r.duplicate && r.message_id.is_some())
            .count();
        self.metrics.received(&channel.channel.kind, fresh as u64);
        Ok(out)
    }
}

/// The committer: runs until every sender is gone.
pub async fn run_committer(store: Store, bus: crate::bus::Bus, mut rx: mpsc::Receiver<Job>) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let work: Vec<(i64, i64, String, Inbound)> = jobs
            .iter()
            .map(|j| {
                (
                    j.project_id,
                    j.channel_id,
                    j.channel_name.clone(),
                    j.inbound.clone(),
                )
            })
            .collect();
        let result = store
            .read(move |conn| {
                let started = std::time::Instant::now();
                let mut work_micros = 0;
                let r = store::write_tx(conn, |conn| {
                    let items = work
                        .iter()
                        .map(|(p, c, name, inbound)| {
                            store::savepoint(conn, |conn| receive_one(conn, *p, *c, name, inbound))
                        })
                        .collect::<Vec<_>>();
                    work_micros = started.elapsed().as_micros() as u64;
                    Ok(items)
                });
                tracing::debug!(
                    batch = work.len(),
                    micros = started.elapsed().as_micros() as u64,
                    work_micros,
                    "inbound batch committed"
                );
                r
            })
            .await;
        match result {
            Ok(results) => {
                for (job, r) in jobs.into_iter().zip(results) {
                    if let Ok(rec) = &r
                        && !rec.duplicate
                        && let Some(cid) = rec.conversation_id
                    {
                        bus.publish(Event {
                            project_id: job.project_id,
                            conversation_id: cid,
                            contact_id: rec.contact_id,
                            message_id: rec.message_id,
                            kind: EventKind::Message,
                            from_customer: true,
                            public: rec.message_id.is_some(),
                        });
                    }
                    let _ = job.reply.send(r);
                }
            }
            Err(e) => {
                tracing::error!("inbound batch of {} failed: {e}", jobs.len());
                let msg = e.to_string();
                for job in jobs {
                    let _ = job.reply.send(Err(Error::Pool(msg.clone())));
                }
            }
        }
    }
}

fn receive_one(
    conn: &mut DbConn,
    project_id: i64,
    channel_id: i64,
    channel_name: &str,
    inbound: &Inbound,
) -> Result<Received> {
    let t = now();
    match &inbound.event {
        InboundEvent::Message { text, files } => {
            let dedup = inbound
                .platform_message_id
                .as_ref()
                .map(|p| format!("{channel_id}:{p}"));
            if let Some(key) = &dedup
                && let Some((mid, cid)) = messages::by_dedup_key(conn, key)?
            {
                let conv = conversations::by_id(conn, project_id, cid)?;
                return Ok(Received {
                    message_id: Some(mid),
                    conversation_id: Some(cid),
                    conversation_number: Some(conv.number),
                    contact_id: conv.contact_id,
                    duplicate: true,
                    new_conversation: false,
                });
            }
            let (contact, _) = contacts::find_or_create(
                conn,
                project_id,
                channel_id,
                &inbound.external_user_id,
                &inbound.contact,
            )?;
            let (conv, new_conversation) =
                match conversations::latest_open_for(conn, contact.id, channel_id)? {
                    Some(c) => {
                        let status = c.status()?;
                        let next = match status {
                            Status::Pending => Some(Status::Open),
                            Status::Resolved => Some(Status::Reopened),
                            _ => None,
                        };
                        if let Some(to) = next {
                            conversations::set_status(conn, c.id, to)?;
                            let ev = SystemEvent::Status {
                                from: status.as_str().into(),
                                to: to.as_str().into(),
                                by: contact.name.clone(),
                            };
                            messages::system(conn, project_id, c.id, &ev.to_json())?;
                        }
                        (c, false)
                    }
                    None => {
                        let number = projects::next_number(conn, project_id)?;
                        let subject = if text.trim().is_empty() {
                            format!("Файлы от {}", contact.name)
                        } else {
                            subject_from(text, SUBJECT_CHARS)
                        };
                        let c = conversations::create(
                            conn, project_id, number, contact.id, channel_id, &subject,
                        )?;
                        let ev = SystemEvent::Created {
                            channel: channel_name.to_string(),
                        };
                        messages::system(conn, project_id, c.id, &ev.to_json())?;
                        (c, true)
                    }
                };
            let mid = messages::insert(
                conn,
                &NewMessage {
                    project_id,
                    conversation_id: conv.id,
                    kind: Kind::Customer,
                    author_id: None,
                    text,
                    delivery: delivery::RECEIVED,
                    dedup_key: dedup.as_deref(),
                    platform_id: inbound.platform_message_id.as_deref(),
                    at: t,
                },
            )?;
            for f in files {
                attachments::insert(conn, project_id, mid, f)?;
            }
            conversations::touch_customer(conn, conv.id, t)?;
            Ok(Received {
                message_id: Some(mid),
                conversation_id: Some(conv.id),
                conversation_number: Some(conv.number),
                contact_id: contact.id,
                duplicate: false,
                new_conversation,
            })
        }
        InboundEvent::Blocked => {
            let (contact, _) = contacts::find_or_create(
                conn,
                project_id,
                channel_id,
                &inbound.external_user_id,
                &inbound.contact,
            )?;
            contacts::set_blocked(conn, channel_id, &inbound.external_user_id, true)?;
            let conv = conversations::latest_open_for(conn, contact.id, channel_id)?;
            if let Some(c) = &conv {
                messages::system(conn, project_id, c.id, &SystemEvent::Blocked.to_json())?;
                conversations::touch_customer(conn, c.id, t)?;
            }
            Ok(Received {
                message_id: None,
                conversation_id: conv.as_ref().map(|c| c.id),
                conversation_number: conv.as_ref().map(|c| c.number),
                contact_id: contact.id,
                duplicate: false,
                new_conversation: false,
            })
        }
    }
}
