//! The writes every use case shares: the widget, every platform, the bot, operators and
//! automation open conversations and add messages through these, inside the caller's
//! transaction, so a conversation always gets its number, its "created" record, its files and
//! its outbox row the same way.

pub mod notify;

use chrono::NaiveDateTime;
use serde_json::json;

use crate::channels::DirectPayload;
use crate::domain::event::SystemEvent;
use crate::domain::text::{SUBJECT_CHARS, subject_from};
use crate::domain::{Delivery, MessageKind, WebhookEvent};
use crate::error::{Error, Result};
use crate::i18n::{Lang, customer};
use crate::integrations::{self, Happened};
use crate::store::attachments::{self, StoredFile};
use crate::store::contacts::Contact;
use crate::store::conversations::{self, Conversation};
use crate::store::messages::{self, NewMessage};
use crate::store::{DbConn, now, outbox, projects};

/// What makes a platform message the same message when it is delivered again.
pub fn dedup_key(channel_id: crate::domain::ChannelId, platform_message_id: &str) -> String {
    format!("{channel_id}:{platform_message_id}")
}

/// The subject a customer's first message gives: its first line, or "Files from …" (in the
/// customer's language) when it had only files.
pub fn subject_for(text: &str, contact: &Contact) -> String {
    if text.trim().is_empty() {
        let lang = Lang::of(contact.language.as_deref());
        customer::fill(lang, "files_from", 0, &contact.name)
    } else {
        subject_from(text, SUBJECT_CHARS)
    }
}

/// Tells the active members of a team (but the one who gave it) that a conversation is theirs.
pub fn tell_team(
    conn: &mut DbConn,
    c: &Conversation,
    team: &crate::store::teams::Team,
    by: Option<i64>,
    note: Option<&str>,
) -> Result<()> {
    let notice = crate::domain::event::Notice::ToTeam {
        number: c.number,
        team: team.name.clone(),
        note: note.map(crate::domain::text::notice_preview),
    };
    for user in crate::store::teams::members_of(conn, team.id)? {
        let active = crate::store::members::access_in(conn, c.project_id, user)?
            .is_some_and(|a| a.can(crate::domain::Can::ReadDialogs));
        if active && Some(user) != by {
            notify::notify(conn, c.project_id, user, Some(c.id), &notice)?;
        }
    }
    Ok(())
}

/// What a new conversation starts with.
#[derive(Clone, Copy)]
pub struct Opening<'a> {
    pub project_id: crate::domain::ProjectId,
    pub contact_id: crate::domain::ContactId,
    pub channel_id: crate::domain::ChannelId,
    pub channel_name: &'a str,
    pub subject: &'a str,
    /// The channel's default team.
    pub team: Option<i64>,
    /// When it opened, on the automation clock.
    pub at: NaiveDateTime,
}

/// A new conversation with the project's next number and its "created" record.
pub fn open(conn: &mut DbConn, o: &Opening) -> Result<Conversation> {
    let Opening {
        project_id,
        contact_id,
        channel_id,
        channel_name,
        subject,
        team,
        at,
    } = *o;
    let number = projects::next_number(conn, project_id)?;
    let mut c = conversations::create(
        conn, project_id, number, contact_id, channel_id, subject, at,
    )?;
    // The channel's default team (a removed team leaves it unset rather than failing).
    if let Some(t) = team
        && let Ok(found) = crate::store::teams::by_id(conn, project_id, t)
    {
        conversations::set_team(conn, c.id, Some(t))?;
        c.team_id = Some(t);
        tell_team(conn, &c, &found, None, None)?;
    }
    record(
        conn,
        &c,
        &SystemEvent::Created {
            channel: channel_name.to_string(),
        },
    )?;
    Ok(c)
}

/// A change written into the thread, and handed to the project's integrations when it is one
/// they take (created, status, assignee, rating).
pub fn record(conn: &mut DbConn, conv: &Conversation, ev: &SystemEvent) -> Result<i64> {
    let id = messages::system(conn, conv.project_id, conv.id, &ev.to_json())?;
    let happened = match ev {
        SystemEvent::Created { channel } => Some((
            WebhookEvent::ConversationCreated,
            json!({ "channel": channel }),
        )),
        SystemEvent::Status { from, to, by } => Some((
            WebhookEvent::StatusChanged,
            json!({ "from": from.as_str(), "to": to.as_str(), "by": by }),
        )),
        SystemEvent::Assigned { to, by } => Some((
            WebhookEvent::Assigned,
            json!({ "assignee": to, "by": by, "automatic": false }),
        )),
        SystemEvent::AutoAssigned { to } => Some((
            WebhookEvent::Assigned,
            json!({ "assignee": to, "by": null, "automatic": true }),
        )),
        SystemEvent::Returned { from } => Some((
            WebhookEvent::Assigned,
            json!({ "assignee": null, "returned_from": from, "automatic": true }),
        )),
        SystemEvent::Rated { stars, comment, by } => Some((
            WebhookEvent::Rated,
            json!({ "stars": stars, "comment": comment, "by": by }),
        )),
        _ => None,
    };
    if let Some((event, data)) = happened {
        integrations::emit(
            conn,
            Happened {
                project_id: conv.project_id,
                event,
                conversation: Some(conv.id),
                contact: None,
                data,
                at: now(),
            },
        )?;
    }
    Ok(id)
}

/// A message handed to the project's integrations.
fn emit_message(
    conn: &mut DbConn,
    conv: &Conversation,
    event: WebhookEvent,
    message: serde_json::Value,
    at: NaiveDateTime,
) -> Result<()> {
    integrations::emit(
        conn,
        Happened {
            project_id: conv.project_id,
            event,
            conversation: Some(conv.id),
            contact: None,
            data: json!({ "message": message }),
            at,
        },
    )
}

/// A customer message as it arrived.
pub struct FromCustomer<'a> {
    pub text: &'a str,
    pub files: &'a [StoredFile],
    /// The platform's id (`dedup_key`): a repeat never creates a second message.
    pub dedup_key: Option<&'a str>,
    pub platform_id: Option<&'a str>,
    pub at: NaiveDateTime,
}

/// One message of the conversation with its files: the write the three below share.
fn insert_with_files(
    conn: &mut DbConn,
    conv: &Conversation,
    m: &NewMessage,
    files: &[StoredFile],
) -> Result<i64> {
    let mid = messages::insert(conn, m)?;
    for f in files {
        attachments::insert(conn, conv.project_id, mid, f)?;
    }
    Ok(mid)
}

/// Stores a customer message with its files. The conversation's activity is the caller's to
/// touch (the inbound batch does it once per conversation).
pub fn add_customer_message(
    conn: &mut DbConn,
    conv: &Conversation,
    m: &FromCustomer,
) -> Result<i64> {
    let mid = insert_with_files(
        conn,
        conv,
        &NewMessage {
            project_id: conv.project_id,
            conversation_id: conv.id,
            kind: MessageKind::Customer,
            author_id: None,
            text: m.text,
            delivery: Delivery::Received,
            dedup_key: m.dedup_key,
            platform_id: m.platform_id,
            at: m.at,
        },
        m.files,
    )?;
    emit_message(
        conn,
        conv,
        WebhookEvent::MessageIncoming,
        json!({ "id": mid, "text": m.text, "files": m.files.len() }),
        m.at,
    )?;
    Ok(mid)
}

/// The assignee hears that the customer wrote again after the team's answer: once per
/// exchange, not once per line of a burst.
pub fn tell_assignee_replied(
    conn: &mut DbConn,
    conv: &Conversation,
    customer: &str,
    text: &str,
) -> Result<bool> {
    let Some(assignee) = conv.assignee_id else {
        return Ok(false);
    };
    let answered = conv
        .last_operator_at
        .is_some_and(|op| conv.last_customer_at.is_none_or(|c| c <= op));
    if !answered {
        return Ok(false);
    }
    let notice = crate::domain::event::Notice::Replied {
        number: conv.number,
        by: customer.to_string(),
        preview: crate::domain::text::notice_preview(text),
    };
    notify::notify(conn, conv.project_id, assignee, Some(conv.id), &notice)?;
    Ok(true)
}

/// A message to the customer with its outbox row: an operator's (`author`), which counts as
/// the team's answer, or an automatic one (None), which does not. `payload` carries what the
/// delivery needs beyond the text (a WhatsApp template).
pub fn add_outgoing(
    conn: &mut DbConn,
    conv: &Conversation,
    author: Option<i64>,
    text: &str,
    files: &[StoredFile],
    payload: Option<&str>,
    t: NaiveDateTime,
) -> Result<i64> {
    let mid = insert_with_files(
        conn,
        conv,
        &NewMessage {
            project_id: conv.project_id,
            conversation_id: conv.id,
            kind: MessageKind::Operator,
            author_id: author,
            text,
            delivery: Delivery::Pending,
            dedup_key: None,
            platform_id: None,
            at: t,
        },
        files,
    )?;
    outbox::enqueue_with(conn, conv.project_id, mid, conv.channel_id, payload)?;
    if author.is_some() {
        conversations::touch_operator(conn, conv.id, t)?;
    }
    emit_message(
        conn,
        conv,
        WebhookEvent::MessageOutgoing,
        json!({ "id": mid, "text": text, "files": files.len(), "author_id": author, "automatic": author.is_none() }),
        t,
    )?;
    Ok(mid)
}

/// Members named with "@" in a note (by full name, or by first name where only one member has
/// it) hear of it, but not its author.
pub fn tell_mentioned(
    conn: &mut DbConn,
    conv: &Conversation,
    author: i64,
    author_name: &str,
    text: &str,
) -> Result<()> {
    if !text.contains('@') {
        return Ok(());
    }
    let lower = text.to_lowercase();
    let members = crate::store::members::members(conn, conv.project_id)?;
    let first = |name: &str| name.split_whitespace().next().unwrap_or("").to_lowercase();
    for m in &members {
        if m.id == author {
            continue;
        }
        let full = m.name.to_lowercase();
        let given = first(&m.name);
        let unique = members.iter().filter(|o| first(&o.name) == given).count() == 1;
        let named = lower.contains(&format!("@{full}"))
            || (unique && !given.is_empty() && mentions_word(&lower, &given));
        if named {
            let notice = crate::domain::event::Notice::Mention {
                number: conv.number,
                by: author_name.to_string(),
                preview: crate::domain::text::notice_preview(text),
            };
            notify::notify(conn, conv.project_id, m.id, Some(conv.id), &notice)?;
        }
    }
    Ok(())
}

/// "@word" as a whole word ("@анна," yes, "@аннабель" no).
fn mentions_word(text: &str, word: &str) -> bool {
    let tag = format!("@{word}");
    text.match_indices(&tag).any(|(i, _)| {
        text[i + tag.len()..]
            .chars()
            .next()
            .is_none_or(|c| !c.is_alphanumeric())
    })
}

/// An internal note: the team sees it, the customer never does.
pub fn add_note(
    conn: &mut DbConn,
    conv: &Conversation,
    author: i64,
    text: &str,
    files: &[StoredFile],
) -> Result<i64> {
    insert_with_files(
        conn,
        conv,
        &NewMessage {
            project_id: conv.project_id,
            conversation_id: conv.id,
            kind: MessageKind::Note,
            author_id: Some(author),
            text,
            delivery: Delivery::None,
            dedup_key: None,
            platform_id: None,
            at: now(),
        },
        files,
    )
}

/// A bot message outside any conversation's messages (a menu, a notice, a staff alert), made
/// durable as an outbox row for `recipient` in this channel.
pub fn say_direct(
    conn: &mut DbConn,
    project_id: crate::domain::ProjectId,
    channel_id: crate::domain::ChannelId,
    recipient: &str,
    message: &DirectPayload,
    shown_in: Option<&Conversation>,
) -> Result<i64> {
    let payload = serde_json::to_string(message).map_err(|e| Error::internal(e.to_string()))?;
    if let Some(c) = shown_in {
        messages::insert(
            conn,
            &NewMessage {
                project_id: c.project_id,
                conversation_id: c.id,
                kind: MessageKind::Bot,
                author_id: None,
                text: &bot_text(message),
                delivery: Delivery::None,
                dedup_key: None,
                platform_id: None,
                at: now(),
            },
        )?;
    }
    outbox::enqueue_direct(conn, project_id, channel_id, recipient, &payload)
}

/// A bot message as the thread shows it: the text, then its buttons as «[label]».
fn bot_text(m: &DirectPayload) -> String {
    let Some(k) = &m.keyboard else {
        return m.text.clone();
    };
    let labels: Vec<String> = k
        .rows
        .iter()
        .flatten()
        .map(|b| format!("[{}]", b.label))
        .chain(k.request_phone.iter().map(|l| format!("[{l}]")))
        .collect();
    if labels.is_empty() {
        m.text.clone()
    } else {
        format!("{}\n{}", m.text, labels.join(" "))
    }
}

/// Records a customer's rating (stars, or the comment added to them) with its thread record.
pub fn rate(
    conn: &mut DbConn,
    conv: &Conversation,
    stars: i32,
    comment: Option<&str>,
    by: &str,
) -> Result<()> {
    if !(1..=5).contains(&stars) && comment.is_none() {
        return Err(Error::invalid("a rating is 1 to 5"));
    }
    conversations::set_rating(conn, conv.id, stars, comment)?;
    record(
        conn,
        conv,
        &SystemEvent::Rated {
            stars,
            comment: comment.map(str::to_string),
            by: by.to_string(),
        },
    )?;
    Ok(())
}
