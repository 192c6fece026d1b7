//! Inbound path: what one batch of inbound values does to the database. Known rows are read
//! for the whole batch at once, each item then costs about one INSERT; one bad item fails
//! alone (see commit_batch). The queue in front of it is `commit_queue`.

use std::collections::HashMap;

use crate::channels::{Inbound, InboundEvent};
use crate::domain::{Actor, ChannelId, ContactId, ConversationId, Received, Status};
use crate::error::{Error, Result};
use crate::store::contacts::Contact;
use crate::store::conversations::Conversation;
use crate::store::{self, DbConn, contacts, conversations, messages};
use crate::thread;

pub(super) struct Item {
    pub project_id: crate::domain::ProjectId,
    pub channel_id: crate::domain::ChannelId,
    pub channel_name: String,
    /// The team new conversations start in.
    pub team: Option<i64>,
    pub bot: Option<crate::bot::BotCtx>,
    /// Set when the channel has automation rules (most have none: no cost then).
    pub auto: Option<crate::automation::Ctx>,
    /// When it arrived, on the automation clock.
    pub at: chrono::NaiveDateTime,
    pub inbound: Inbound,
}

impl Item {
    fn dedup_key(&self) -> Option<String> {
        match self.inbound.event {
            InboundEvent::Message { .. } | InboundEvent::Contact { .. } => self
                .inbound
                .platform_message_id
                .as_deref()
                .map(|p| thread::dedup_key(self.channel_id, p)),
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
    messages: HashMap<String, (i64, ConversationId, i64, ContactId)>,
    /// (channel id, external id) → (contact, blocked)
    contacts: HashMap<(ChannelId, String), (Contact, bool)>,
    /// (contact id, channel id) → the latest conversation that is not closed or cancelled
    open: HashMap<(ContactId, ChannelId), Conversation>,
    /// Identities an item changed in a way the batch does not track: read them again.
    unsure: std::collections::HashSet<(ChannelId, String)>,
}

impl Known {
    fn prefetch(conn: &mut DbConn, items: &[Item]) -> Result<Known> {
        let mut k = Known::default();
        let keys: Vec<String> = items.iter().filter_map(Item::dedup_key).collect();
        for (key, mid, cid, number, contact) in messages::by_dedup_keys(conn, &keys)? {
            k.messages.insert(key, (mid, cid, number, contact));
        }
        let mut by_channel: HashMap<ChannelId, Vec<String>> = HashMap::new();
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
        let contact_ids: Vec<ContactId> = k.contacts.values().map(|(c, _)| c.id).collect();
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
    message: Option<(String, (i64, ConversationId, i64, ContactId))>,
    contact: Option<((ChannelId, String), (Contact, bool))>,
    open: Option<((ContactId, ChannelId), Conversation)>,
    /// Drop what is known of this identity (it changed in a way the batch does not track).
    forget_contact: Option<(ChannelId, String)>,
    touched: Option<ConversationId>,
}

/// Commits the whole batch in one transaction. If that fails (a bad item, or two instances
/// racing on one platform message), each item is retried in a transaction of its own, so one
/// bad item fails alone with its own error. No savepoints: on PostgreSQL a subtransaction per
/// message turns the foreign-key row locks into MultiXacts and made batches quadratic.
pub(super) fn commit_batch(conn: &mut DbConn, items: &[Item]) -> Result<Vec<Result<Received>>> {
    let alone = |conn: &mut DbConn, it: &Item| -> Result<Received> {
        let once = |conn: &mut DbConn| {
            again_if_collided(|| {
                store::write_tx(conn, |conn| receive_batch(conn, std::slice::from_ref(it)))
            })?
            .pop()
            .ok_or_else(|| Error::internal("an item produced no result"))
        };
        match once(conn) {
            // Another committer stored the same platform message meanwhile. PostgreSQL
            // reports the clash only once that transaction has committed, so a second
            // attempt finds the message and answers "duplicate".
            Err(Error::Unique(_)) => once(conn),
            other => other,
        }
    };
    match again_if_collided(|| store::write_tx(conn, |conn| receive_batch(conn, items))) {
        Ok(received) => Ok(received.into_iter().map(Ok).collect()),
        // The database is unreachable: every item would fail the same way.
        Err(e @ Error::Pool(_)) => Err(e),
        Err(Error::Unique(_)) if items.len() == 1 => Ok(vec![alone(conn, &items[0])]),
        Err(e) if items.len() == 1 => Ok(vec![Err(e)]),
        Err(e) => {
            tracing::warn!(
                batch = items.len(),
                error = %e,
                "inbound batch failed; committing its items one by one"
            );
            Ok(items.iter().map(|it| alone(conn, it)).collect())
        }
    }
}

/// Runs a transaction again when it collided with another (a deadlock or a serialization
/// failure rolled it back whole), a few times, so the platform or the visitor never sees it.
fn again_if_collided<T>(mut run: impl FnMut() -> Result<T>) -> Result<T> {
    const ATTEMPTS: usize = 4;
    let mut attempt = 1;
    loop {
        match run() {
            Err(Error::Collided(e)) if attempt < ATTEMPTS => {
                tracing::warn!(attempt, error = %e, "inbound transaction collided; running it again");
                std::thread::sleep(std::time::Duration::from_millis(5 * attempt as u64));
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// Receives every item inside the caller's transaction; the first failing item fails it all.
fn receive_batch(conn: &mut DbConn, items: &[Item]) -> Result<Vec<Received>> {
    let mut known = Known::prefetch(conn, items)?;
    // Each conversation the batch wrote to: the last writer, when and how many messages.
    let mut touched: Vec<conversations::Touch> = Vec::new();
    let mut automated: Vec<(
        ConversationId,
        crate::domain::ProjectId,
        &crate::automation::Ctx,
    )> = Vec::new();
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
                *state,
                error.as_deref(),
            )?;
            results.push(Received {
                message_id: found.map(|f| f.0),
                conversation_id: found.map(|f| f.1),
                duplicate: found.is_none(),
                ..Received::default()
            });
            continue;
        }
        if let Some(code) = super::staff_link::code_in(&it.inbound.event) {
            results.push(super::staff_link::claim(conn, it, code)?);
            continue;
        }
        // A blacklisted contact is heard and kept, and nothing else happens: no conversation,
        // no bot, no auto-reply, no alert.
        if let Some((contact, _)) = known
            .contacts
            .get(&(it.channel_id, it.inbound.external_user_id.clone()))
            && contact.blacklisted_at.is_some()
            && !matches!(it.inbound.event, InboundEvent::Blocked)
        {
            results.push(withhold(conn, it, contact)?);
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
            known.unsure.insert(key);
        }
        if let Some((k, v)) = learned.contact {
            known.contacts.insert(k, v);
        }
        if let Some((k, v)) = learned.open {
            known.open.insert(k, v);
        }
        if let Some(c) = learned.touched {
            // The last writer of a conversation in the batch is the one replies go to.
            let before = touched.iter().find(|t| t.0 == c).map_or(0, |t| t.3);
            touched.retain(|t| t.0 != c);
            touched.push((
                c,
                Some(it.inbound.external_user_id.as_str()),
                it.at,
                before + 1,
            ));
        }
        results.push(received);
    }
    // Each conversation's activity is written once per batch, not once per message, in id
    // order so that concurrent committers (PostgreSQL) take the row locks in one order.
    touched.sort_unstable_by_key(|t| t.0);
    conversations::touch_customers(conn, &touched)?;
    // Timers see the conversation as it is after this batch, once per conversation.
    automated.sort_unstable_by_key(|(c, _, _)| *c);
    automated.dedup_by_key(|(c, _, _)| *c);
    for (cid, project_id, auto) in automated {
        let conv = conversations::by_id(conn, project_id, cid)?;
        crate::automation::customer_wrote(conn, auto, &conv)?;
        // Last in the transaction: it may take the project's distribution lock.
        crate::automation::distribution::arrived(conn, auto, &conv)?;
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
    use crate::automation::RatingAnswer;
    let press = match &it.inbound.event {
        InboundEvent::Button { data } => {
            match crate::domain::Press::parse(data).and_then(|p| RatingAnswer::of_press(&p)) {
                Some(p) => Some(p),
                None => return Ok(None),
            }
        }
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
            match crate::automation::rating::answer_of_text(conn, contact_id, it.channel_id, text)?
            {
                Some(a) => a,
                None => return Ok(None),
            }
        }
        _ => return Ok(None),
    };
    crate::automation::record_rating(conn, auto, it.project_id, contact_id, answer)?;
    Ok(Some(Received::nothing(contact_id)))
}

fn receive_one(conn: &mut DbConn, known: &Known, it: &Item) -> Result<(Received, Learned)> {
    let (project_id, channel_id, inbound) = (it.project_id, it.channel_id, &it.inbound);
    let t = it.at;
    let ident = (channel_id, inbound.external_user_id.clone());
    let card;
    let (text, files): (&str, &[crate::store::attachments::StoredFile]) = match &inbound.event {
        InboundEvent::Message { text, files, .. } => (text, files),
        InboundEvent::Contact { name, phone, .. } => {
            card = crate::i18n::customer::contact_card(name, phone);
            (&card, &[])
        }
        // Buttons and group requests exist only with the helpdesk bot.
        InboundEvent::Button { .. } | InboundEvent::Group { .. } | InboundEvent::Status { .. } => {
            return Ok((Received::default(), Learned::nothing()));
        }
        InboundEvent::Blocked => return blocked(conn, it, ident),
    };
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
                told_staff: false,
            },
            Learned::nothing(),
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
        None if known.unsure.contains(&ident) => {
            contacts::find_or_create(
                conn,
                project_id,
                channel_id,
                &inbound.external_user_id,
                &inbound.contact,
            )?
            .0
        }
        // The batch read every identity it carries: this one is new.
        None => contacts::create_with_identity(
            conn,
            project_id,
            channel_id,
            &inbound.external_user_id,
            &inbound.contact,
        )?,
    };
    let (mut conv, new_conversation) = match known.open.get(&(contact.id, channel_id)) {
        Some(c) => {
            let mut c = c.clone();
            // A customer writing hands a waiting or resolved conversation back to the team.
            let next = match c.status {
                Status::Pending => Some(Status::Open),
                Status::Resolved => Some(Status::Reopened),
                _ => None,
            };
            if let Some(to) = next {
                let ctx = it.auto.clone().unwrap_or_default();
                crate::automation::transition(conn, &ctx, &c, to, Actor::Customer, &contact.name)?;
                c.status = to;
            }
            (c, false)
        }
        None => {
            let subject = thread::subject_for(text, &contact);
            let c = thread::open(
                conn,
                &thread::Opening {
                    project_id,
                    contact_id: contact.id,
                    channel_id,
                    channel_name: &it.channel_name,
                    subject: &subject,
                    team: it.team,
                    at: t,
                },
            )?;
            (c, true)
        }
    };
    let mid = thread::add_customer_message(
        conn,
        &conv,
        &thread::FromCustomer {
            text,
            files,
            dedup_key: dedup.as_deref(),
            platform_id: inbound.platform_message_id.as_deref(),
            at: t,
        },
    )?;
    let told_staff = thread::tell_assignee_replied(conn, &conv, &contact.name, text)?;
    // The rest of the batch sees this message, so a burst tells the assignee once.
    conv.last_customer_at = Some(t);
    Ok((
        Received {
            message_id: Some(mid),
            conversation_id: Some(conv.id),
            conversation_number: Some(conv.number),
            contact_id: contact.id,
            duplicate: false,
            new_conversation,
            told_staff,
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

/// Keeps what a blacklisted contact sent, outside the inbox.
fn withhold(conn: &mut DbConn, it: &Item, contact: &Contact) -> Result<Received> {
    let (text, files) = match &it.inbound.event {
        InboundEvent::Message { text, files, .. } => (text.clone(), files.as_slice()),
        InboundEvent::Contact { name, phone, .. } => {
            (crate::i18n::customer::contact_card(name, phone), &[][..])
        }
        // A press of the bot's buttons carries nothing to keep.
        _ => return Ok(Received::nothing(contact.id)),
    };
    let files = serde_json::to_string(files).unwrap_or_else(|_| "[]".into());
    let kept = crate::store::withheld::keep(
        conn,
        it.project_id,
        contact.id,
        it.channel_id,
        &text,
        &files,
        it.dedup_key().as_deref(),
    )?;
    Ok(Received {
        duplicate: !kept,
        ..Received::nothing(contact.id)
    })
}

/// The customer blocked the bot or unsubscribed: deliveries to them stop until they write.
fn blocked(
    conn: &mut DbConn,
    it: &Item,
    ident: (ChannelId, String),
) -> Result<(Received, Learned)> {
    let (project_id, channel_id, inbound) = (it.project_id, it.channel_id, &it.inbound);
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
        thread::record(conn, c, &crate::domain::event::SystemEvent::Blocked)?;
        conversations::touch_customers(conn, &[(c.id, None, it.at, 0)])?;
    }
    Ok((
        Received {
            conversation_id: conv.as_ref().map(|c| c.id),
            conversation_number: conv.as_ref().map(|c| c.number),
            ..Received::nothing(contact.id)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_collided_transaction_runs_again_and_other_errors_do_not() {
        let mut runs = 0;
        let got = again_if_collided(|| {
            runs += 1;
            if runs < 3 {
                Err(Error::Collided("deadlock detected".into()))
            } else {
                Ok(runs)
            }
        });
        assert_eq!(got.ok(), Some(3));
        let mut runs = 0;
        let got: Result<()> = again_if_collided(|| {
            runs += 1;
            Err(Error::Collided("deadlock detected".into()))
        });
        assert!(
            matches!(got, Err(Error::Collided(_))) && runs == 4,
            "{runs}"
        );
        let mut runs = 0;
        let got: Result<()> = again_if_collided(|| {
            runs += 1;
            Err(Error::invalid("bad"))
        });
        assert!(matches!(got, Err(Error::Invalid(_))) && runs == 1);
    }
}
