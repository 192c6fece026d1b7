//! Inbound path. Requests hand their messages to one committer task that writes whatever has
//! queued up in a single transaction (group commit), then answers each request. A request is
//! answered only after its message is committed; one bad item fails alone (see commit_batch).

use std::collections::HashMap;
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
use crate::store::contacts::Contact;
use crate::store::conversations::Conversation;
use crate::store::messages::{self, Kind, NewMessage, delivery};
use crate::store::{self, DbConn, Store, attachments, contacts, conversations, now, projects};

const MAX_BATCH: usize = 512;
pub const SUBJECT_CHARS: usize = 50;

pub struct Job {
    project_id: i64,
    channel_id: i64,
    channel_name: String,
    bot: Option<crate::bot::BotCtx>,
    /// Set when the channel has automation rules (most have none: no cost then).
    auto: Option<crate::automation::Ctx>,
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
                "channel \"{}\": {} update(s) not understood, kept raw",
                channel.channel.key,
                raw.len()
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
        let auto = self.automation.ctx(Some(channel));
        // Outside working hours a chat channel may hand its customers to the bot.
        let bot = channel
            .bot_ctx()
            .or_else(|| auto.bot_off_hours().then(|| channel.off_hours_bot()));
        let auto = (auto.rules.any() || (!auto.helpdesk && auto.rating())).then_some(auto);
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
                    project_id: channel.channel.project_id,
                    channel_id: channel.channel.id,
                    channel_name: channel.channel.name.clone(),
                    bot: bot.clone(),
                    auto: auto.clone(),
                    inbound: item,
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
        self.metrics.received(&channel.channel.kind, fresh as u64);
        Ok(out)
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

/// The committer that owns this customer's conversation in this channel.
fn committer_of<T>(queues: &[T], channel_id: i64, item: &Inbound) -> usize {
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
pub async fn run_committer(
    store: Store,
    bus: crate::bus::Bus,
    mut rx: mpsc::Receiver<Job>,
    outbox_wake: Arc<tokio::sync::Notify>,
) {
    while let Some(jobs) = next_batch(&mut rx).await {
        let work: Vec<Item> = jobs
            .iter()
            .map(|j| Item {
                project_id: j.project_id,
                channel_id: j.channel_id,
                channel_name: j.channel_name.clone(),
                bot: j.bot.clone(),
                auto: j.auto.clone(),
                inbound: j.inbound.clone(),
            })
            .collect();
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
                r
            })
            .await;
        match result {
            Ok(results) => {
                if bot_answers {
                    outbox_wake.notify_one();
                }
                for (job, r) in jobs.into_iter().zip(results) {
                    if let Ok(rec) = &r
                        && !rec.duplicate
                        && let Some(cid) = rec.conversation_id
                    {
                        let report = matches!(job.inbound.event, InboundEvent::Status { .. });
                        bus.publish(Event {
                            project_id: job.project_id,
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

/// What makes a platform message the same message when it is delivered again.
fn dedup_key(channel_id: i64, platform_message_id: &str) -> String {
    format!("{channel_id}:{platform_message_id}")
}

struct Item {
    project_id: i64,
    channel_id: i64,
    channel_name: String,
    bot: Option<crate::bot::BotCtx>,
    auto: Option<crate::automation::Ctx>,
    inbound: Inbound,
}

impl Item {
    fn dedup_key(&self) -> Option<String> {
        match self.inbound.event {
            InboundEvent::Message { .. } => self
                .inbound
                .platform_message_id
                .as_deref()
                .map(|p| dedup_key(self.channel_id, p)),
            InboundEvent::Blocked
            | InboundEvent::Button { .. }
            | InboundEvent::Group { .. }
            | InboundEvent::Status { .. } => None,
        }
    }
}

/// What a batch already knows, read with three queries for the whole batch, so that each
/// message costs about one INSERT. Items add what they create, for the items after them.
#[derive(Default)]
struct Known {
    /// dedup key → (message id, conversation id, number, contact id)
    messages: HashMap<String, (i64, i64, i64, i64)>,
    /// (channel id, external id) → (contact, blocked)
    contacts: HashMap<(i64, String), (Contact, bool)>,
    /// (contact id, channel id) → the latest conversation that is not closed or cancelled
    open: HashMap<(i64, i64), Conversation>,
}

impl Known {
    fn prefetch(conn: &mut DbConn, items: &[Item]) -> Result<Known> {
        let mut k = Known::default();
        let keys: Vec<String> = items.iter().filter_map(Item::dedup_key).collect();
        for (key, mid, cid, number, contact) in messages::by_dedup_keys(conn, &keys)? {
            k.messages.insert(key, (mid, cid, number, contact));
        }
        let mut by_channel: HashMap<i64, Vec<String>> = HashMap::new();
        for it in items {
            by_channel
                .entry(it.channel_id)
                .or_default()
                .push(it.inbound.external_user_id.clone());
        }
        for (channel_id, exts) in by_channel {
            for (ext, contact, blocked) in contacts::by_identities(conn, channel_id, &exts)? {
                k.contacts.insert((channel_id, ext), (contact, blocked));
            }
        }
        let contact_ids: Vec<i64> = k.contacts.values().map(|(c, _)| c.id).collect();
        // Oldest first, so the latest open conversation of a contact wins.
        for c in conversations::open_for_contacts(conn, &contact_ids)? {
            k.open.insert((c.contact_id, c.channel_id), c);
        }
        Ok(k)
    }
}

impl Learned {
    fn nothing() -> Learned {
        Learned {
            message: None,
            contact: None,
            open: None,
            forget_contact: None,
            touched: None,
        }
    }
}

/// What one successful item teaches the rest of the batch.
struct Learned {
    message: Option<(String, (i64, i64, i64, i64))>,
    contact: Option<((i64, String), (Contact, bool))>,
    open: Option<((i64, i64), Conversation)>,
    /// Drop what is known of this identity (it changed in a way the batch does not track).
    forget_contact: Option<(i64, String)>,
    touched: Option<i64>,
}

/// Commits the whole batch in one transaction. If that fails (a bad item, or two instances
/// racing on one platform message), each item is retried in a transaction of its own, so one
/// bad item fails alone with its own error. No savepoints: on PostgreSQL a subtransaction per
/// message turns the foreign-key row locks into MultiXacts and made batches quadratic.
fn commit_batch(conn: &mut DbConn, items: &[Item]) -> Result<Vec<Result<Received>>> {
    let alone = |conn: &mut DbConn, it: &Item| -> Result<Received> {
        let once = |conn: &mut DbConn| {
            store::write_tx(conn, |conn| receive_batch(conn, std::slice::from_ref(it)))?
                .pop()
                .ok_or_else(|| Error::internal("an item produced no result"))
        };
        match once(conn) {
            // Another committer stored the same platform message meanwhile. PostgreSQL
            // reports the clash only once that transaction has committed, so a second
            // attempt finds the message and answers "duplicate".
            Err(Error::Db(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ))) => once(conn),
            other => other,
        }
    };
    match store::write_tx(conn, |conn| receive_batch(conn, items)) {
        Ok(received) => Ok(received.into_iter().map(Ok).collect()),
        // The database is unreachable: every item would fail the same way.
        Err(e @ Error::Pool(_)) => Err(e),
        Err(Error::Db(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        ))) if items.len() == 1 => Ok(vec![alone(conn, &items[0])]),
        Err(e) if items.len() == 1 => Ok(vec![Err(e)]),
        Err(e) => {
            tracing::warn!(
                "inbound batch of {} failed ({e}); committing its items one by one",
                items.len()
            );
            Ok(items.iter().map(|it| alone(conn, it)).collect())
        }
    }
}

/// Receives every item inside the caller's transaction; the first failing item fails it all.
fn receive_batch(conn: &mut DbConn, items: &[Item]) -> Result<Vec<Received>> {
    let mut known = Known::prefetch(conn, items)?;
    let mut touched: Vec<(i64, &str)> = Vec::new();
    let mut automated: Vec<(i64, i64, &crate::automation::Ctx)> = Vec::new();
    let mut results = Vec::with_capacity(items.len());
    for it in items {
        // Delivery reports concern our own messages, whatever the channel's routing.
        if let InboundEvent::Status {
            platform_id,
            state,
            error,
        } = &it.inbound.event
        {
            let found = messages::report_delivery(
                conn,
                it.channel_id,
                platform_id,
                state,
                error.as_deref(),
            )?;
            results.push(Received {
                message_id: found.map(|f| f.0),
                conversation_id: found.map(|f| f.1),
                conversation_number: None,
                contact_id: 0,
                duplicate: found.is_none(),
                new_conversation: false,
            });
            continue;
        }
        let (received, learned) = match (&it.bot, &it.auto) {
            // Helpdesk channels: the bot decides what the event means.
            (Some(ctx), _) => (
                crate::bot::handle(conn, ctx, &it.inbound)?,
                Learned::nothing(),
            ),
            (None, Some(auto)) if auto.rating() => match rating_answer(conn, it, auto)? {
                Some(r) => (r, Learned::nothing()),
                None => receive_one(conn, &known, it)?,
            },
            (None, _) => receive_one(conn, &known, it)?,
        };
        if let (Some(auto), Some(cid), Some(_), false) = (
            &it.auto,
            received.conversation_id,
            received.message_id,
            received.duplicate,
        ) {
            automated.push((cid, it.project_id, auto));
        }
        if let Some((k, v)) = learned.message {
            known.messages.insert(k, v);
        }
        if let Some(key) = learned.forget_contact {
            known.contacts.remove(&key);
        }
        if let Some((k, v)) = learned.contact {
            known.contacts.insert(k, v);
        }
        if let Some((k, v)) = learned.open {
            known.open.insert(k, v);
        }
        if let Some(c) = learned.touched {
            // The last writer of a conversation in the batch is the one replies go to.
            touched.retain(|(id, _)| *id != c);
            touched.push((c, it.inbound.external_user_id.as_str()));
        }
        results.push(received);
    }
    // Each conversation's activity is written once per batch, not once per message, in id
    // order so that concurrent committers (PostgreSQL) take the row locks in one order.
    touched.sort_unstable();
    let t = now();
    for (c, from) in touched {
        conversations::touch_customer(conn, c, t, Some(from))?;
    }
    // Timers see the conversation as it is after this batch, once per conversation.
    automated.sort_unstable_by_key(|(c, _, _)| *c);
    automated.dedup_by_key(|(c, _, _)| *c);
    for (cid, project_id, auto) in automated {
        let conv = conversations::by_id(conn, project_id, cid)?;
        crate::automation::customer_wrote(conn, auto, &conv)?;
    }
    Ok(results)
}

/// A chat channel's customer answering a rating request (a star button, a digit, or the
/// comment after it): recorded on the rated conversation, not stored as a new message.
fn rating_answer(
    conn: &mut DbConn,
    it: &Item,
    auto: &crate::automation::Ctx,
) -> Result<Option<Received>> {
    use crate::automation::parse_rating_button;
    let press = match &it.inbound.event {
        InboundEvent::Button { data } => match parse_rating_button(data) {
            Some(p) => Some(p),
            None => return Ok(None),
        },
        InboundEvent::Message { files, .. } if files.is_empty() => None,
        _ => return Ok(None),
    };
    let Some(contact_id) =
        contacts::by_identity(conn, it.channel_id, &it.inbound.external_user_id)?
    else {
        return Ok(None);
    };
    let answer = match (press, &it.inbound.event) {
        (Some(a), _) => a,
        (None, InboundEvent::Message { text, .. }) => {
            match crate::automation::rating_answer(conn, contact_id, it.channel_id, text)? {
                Some(a) => a,
                None => return Ok(None),
            }
        }
        _ => return Ok(None),
    };
    crate::automation::record_rating(conn, auto, it.project_id, contact_id, answer)?;
    Ok(Some(Received {
        message_id: None,
        conversation_id: None,
        conversation_number: None,
        contact_id,
        duplicate: false,
        new_conversation: false,
    }))
}

fn receive_one(conn: &mut DbConn, known: &Known, it: &Item) -> Result<(Received, Learned)> {
    let (project_id, channel_id, inbound) = (it.project_id, it.channel_id, &it.inbound);
    let t = now();
    let ident = (channel_id, inbound.external_user_id.clone());
    match &inbound.event {
        InboundEvent::Message { text, files, .. } => {
            let dedup = it.dedup_key();
            if let Some(key) = &dedup
                && let Some(&(mid, cid, number, contact_id)) = known.messages.get(key)
            {
                return Ok((
                    Received {
                        message_id: Some(mid),
                        conversation_id: Some(cid),
                        conversation_number: Some(number),
                        contact_id,
                        duplicate: true,
                        new_conversation: false,
                    },
                    Learned {
                        message: None,
                        contact: None,
                        open: None,
                        forget_contact: None,
                        touched: None,
                    },
                ));
            }
            let contact = match known.contacts.get(&ident) {
                Some((c, blocked)) => {
                    if *blocked {
                        // Writing again means they can be reached again.
                        contacts::set_blocked(conn, channel_id, &inbound.external_user_id, false)?;
                    }
                    if contacts::fill_missing(conn, c, &inbound.contact)? {
                        contacts::by_id(conn, project_id, c.id)?
                    } else {
                        c.clone()
                    }
                }
                None => {
                    contacts::find_or_create(
                        conn,
                        project_id,
                        channel_id,
                        &inbound.external_user_id,
                        &inbound.contact,
                    )?
                    .0
                }
            };
            let (conv, new_conversation) = match known.open.get(&(contact.id, channel_id)) {
                Some(c) => {
                    let mut c = c.clone();
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
                        c.status = to.as_str().to_string();
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
                        channel: it.channel_name.clone(),
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
            Ok((
                Received {
                    message_id: Some(mid),
                    conversation_id: Some(conv.id),
                    conversation_number: Some(conv.number),
                    contact_id: contact.id,
                    duplicate: false,
                    new_conversation,
                },
                Learned {
                    message: dedup.map(|k| (k, (mid, conv.id, conv.number, contact.id))),
                    touched: Some(conv.id),
                    open: Some(((contact.id, channel_id), conv)),
                    contact: Some((ident, (contact, false))),
                    forget_contact: None,
                },
            ))
        }
        // Buttons and group requests exist only with the helpdesk bot.
        InboundEvent::Button { .. } | InboundEvent::Group { .. } | InboundEvent::Status { .. } => {
            Ok((
                Received {
                    message_id: None,
                    conversation_id: None,
                    conversation_number: None,
                    contact_id: 0,
                    duplicate: false,
                    new_conversation: false,
                },
                Learned::nothing(),
            ))
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
                conversations::touch_customer(conn, c.id, t, None)?;
            }
            Ok((
                Received {
                    message_id: None,
                    conversation_id: conv.as_ref().map(|c| c.id),
                    conversation_number: conv.as_ref().map(|c| c.number),
                    contact_id: contact.id,
                    duplicate: false,
                    new_conversation: false,
                },
                Learned {
                    message: None,
                    contact: None,
                    open: None,
                    forget_contact: Some(ident),
                    touched: None,
                },
            ))
        }
    }
}
