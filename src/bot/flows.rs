//! What a customer's message does, depending on what the bot asked last: a new request, a
//! comment, a reason to reopen, a rating's comment, or a choice between them.

use super::replies::Replies;
use super::session::{Session, State};
use super::{BotCtx, active, menu, own, ticket_choices};
use crate::domain::event::{Notice, SystemEvent};
use crate::domain::{Actor, Press, Received, Status};
use crate::error::Result;
use crate::i18n::Lang;
use crate::i18n::customer::{fill, t};
use crate::store::DbConn;
use crate::store::attachments::StoredFile;
use crate::store::contacts::{self, Contact};
use crate::store::conversations::{self, Conversation};
use crate::thread;

/// A customer message as it arrived.
pub(super) struct Incoming {
    pub text: String,
    pub files: Vec<StoredFile>,
    pub dedup: Option<String>,
    pub platform_id: Option<String>,
    /// The identity it came from, where known: replies go back there.
    pub from: Option<String>,
}

impl Incoming {
    /// A message kept in the session until the customer chose where it goes.
    pub fn later(text: String, files: Vec<StoredFile>) -> Incoming {
        Incoming {
            text,
            files,
            dedup: None,
            platform_id: None,
            from: None,
        }
    }
}

pub(super) fn message(
    conn: &mut DbConn,
    ctx: &BotCtx,
    contact: &Contact,
    state: State,
    m: Incoming,
    r: &mut Replies,
    session: &mut Session,
) -> Result<Received> {
    let l = r.lang;
    let stored = |c: &Conversation, mid: i64, new: bool| Received {
        message_id: Some(mid),
        conversation_id: Some(c.id),
        conversation_number: Some(c.number),
        contact_id: contact.id,
        duplicate: false,
        new_conversation: new,
        told_staff: false,
    };
    match state {
        State::AwaitComment { conversation_id } => {
            let c = own(conn, ctx, contact, conversation_id)?;
            let mid = add_comment(conn, ctx, contact, &c, &m)?;
            r.say(fill(l, "comment_added", c.number, ""));
            menu(conn, ctx, contact, r)?;
            Ok(stored(&c, mid, false))
        }
        State::AwaitRatingComment { conversation_id } => {
            let c = own(conn, ctx, contact, conversation_id)?;
            crate::automation::rating::commented(conn, &c, m.text.trim(), &contact.name)?;
            r.say(fill(l, "rated", c.number, ""));
            menu(conn, ctx, contact, r)?;
            Ok(Received::nothing(contact.id))
        }
        State::AwaitReopenReason { conversation_id } => {
            let c = own(conn, ctx, contact, conversation_id)?;
            customer_status(conn, ctx, contact, &c, Status::Reopened)?;
            let mid = add_comment(conn, ctx, contact, &c, &m)?;
            r.say(fill(l, "reopened", c.number, ""));
            menu(conn, ctx, contact, r)?;
            Ok(stored(&c, mid, false))
        }
        State::AwaitNewRequest | State::AwaitQuestion { .. } => {
            let about = match state {
                State::AwaitQuestion { about } => Some(about),
                _ => None,
            };
            let (c, mid) = create_request(conn, ctx, contact, &m, about)?;
            r.say(fill(l, "registered", c.number, ""));
            menu(conn, ctx, contact, r)?;
            Ok(stored(&c, mid, true))
        }
        State::Idle | State::AwaitPhone | State::ChooseTarget { .. } => {
            let list = active(conn, ctx, contact)?;
            if list.is_empty() {
                let (c, mid) = create_request(conn, ctx, contact, &m, None)?;
                r.say(fill(l, "registered", c.number, ""));
                menu(conn, ctx, contact, r)?;
                return Ok(stored(&c, mid, true));
            }
            let mut choices = vec![(
                t(l, "btn_new_from_message").to_string(),
                Press::NewFromMessage,
            )];
            choices.extend(ticket_choices(&list, Press::Attach));
            session.state = State::ChooseTarget {
                text: m.text,
                files: m.files,
            };
            r.ask(t(l, "choose_target"), choices);
            Ok(Received::nothing(contact.id))
        }
    }
}

/// A new request: the first line is the subject, the whole text the first message. Returns
/// the conversation and the message's id.
pub(super) fn create_request(
    conn: &mut DbConn,
    ctx: &BotCtx,
    contact: &Contact,
    m: &Incoming,
    about: Option<i64>,
) -> Result<(Conversation, i64)> {
    let mut subject = thread::subject_for(&m.text, contact);
    if let Some(n) = about {
        subject = format!("#{n}: {subject}");
    }
    let c = thread::open(
        conn,
        &thread::Opening {
            project_id: ctx.project_id,
            contact_id: contact.id,
            channel_id: ctx.channel_id,
            channel_name: &ctx.channel_name,
            subject: &subject,
            team: ctx.team,
            at: ctx.now,
        },
    )?;
    let mid = customer_message(conn, ctx, &c, m)?;
    // The manager of a VIP organization hears of every new request.
    if let Some(org) = contacts::organization(conn, contact)?
        && org.vip
        && let Some(manager) = org.manager_id
    {
        let notice = Notice::VipRequest {
            number: c.number,
            organization: org.name.clone(),
            by: contact.name.clone(),
        };
        crate::thread::notify::notify(conn, ctx.project_id, manager, Some(c.id), &notice)?;
    }
    Ok((c, mid))
}

fn customer_message(
    conn: &mut DbConn,
    ctx: &BotCtx,
    c: &Conversation,
    m: &Incoming,
) -> Result<i64> {
    let at = ctx.now;
    let mid = thread::add_customer_message(
        conn,
        c,
        &thread::FromCustomer {
            text: &m.text,
            files: &m.files,
            dedup_key: m.dedup.as_deref(),
            platform_id: m.platform_id.as_deref(),
            at,
        },
    )?;
    conversations::touch_customers(conn, &[(c.id, m.from.as_deref(), at, 1)])?;
    Ok(mid)
}

pub(super) fn add_comment(
    conn: &mut DbConn,
    ctx: &BotCtx,
    contact: &Contact,
    c: &Conversation,
    m: &Incoming,
) -> Result<i64> {
    if c.status == Status::Pending {
        customer_status(conn, ctx, contact, c, Status::Open)?;
    }
    let mid = customer_message(conn, ctx, c, m)?;
    if let Some(assignee) = c.assignee_id {
        let notice = Notice::Comment {
            number: c.number,
            by: contact.name.clone(),
            preview: crate::domain::text::truncate_chars(m.text.trim(), 100).to_string(),
        };
        crate::thread::notify::notify(conn, ctx.project_id, assignee, Some(c.id), &notice)?;
    }
    Ok(mid)
}

pub(super) fn customer_status(
    conn: &mut DbConn,
    ctx: &BotCtx,
    contact: &Contact,
    c: &Conversation,
    to: Status,
) -> Result<()> {
    crate::automation::transition(conn, &ctx.auto(), c, to, Actor::Customer, &contact.name)
}

/// "Please contact me": a request for the organization's manager (or the team) to call back.
pub(super) fn contact_me(conn: &mut DbConn, ctx: &BotCtx, contact: &Contact) -> Result<()> {
    let lang = Lang::of(contact.language.as_deref());
    let m = Incoming::later(t(lang, "btn_contact_me").to_string(), Vec::new());
    let (c, _) = create_request(conn, ctx, contact, &m, None)?;
    if let Some(org) = contacts::organization(conn, contact)?
        && let Some(manager) = org.manager_id
    {
        conversations::set_assignee(conn, c.id, Some(manager))?;
        let notice = Notice::ContactMe {
            number: c.number,
            by: contact.name.clone(),
        };
        crate::thread::notify::notify(conn, ctx.project_id, manager, Some(c.id), &notice)?;
        thread::record(
            conn,
            &c,
            &SystemEvent::Assigned {
                to: org.manager_name.clone(),
                by: contact.name.clone(),
            },
        )?;
    }
    Ok(())
}
