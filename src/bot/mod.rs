//! The customer-side helpdesk bot: registration, menus, new requests, status, comments,
//! cancelling, rating and returning requests to work, and notices about what operators do.
//!
//! Channel-agnostic: it reads normalized `Inbound` values and answers with bot messages that
//! go through the outbox like everything else. Where a platform has buttons they are used;
//! elsewhere the options become a numbered list and the numbers are remembered per customer.
//! Runs inside the committer's transaction, so what it changes and what it answers commit
//! together.

pub mod config;
mod flows;
mod group;
mod notices;
mod presses;
mod replies;
mod session;

pub use config::{BotConfig, Registration};
pub use notices::{Change, notify};

use flows::Incoming;
use replies::Replies;
use session::{Session, State};

use crate::channels::{Inbound, InboundEvent};
use crate::domain::{Press, Received, Status};
use crate::error::{Error, Result};
use crate::i18n::Lang;
use crate::i18n::customer::{contact_card, fill, t};
use crate::store::contacts::{self, Contact};
use crate::store::conversations::{self, Conversation};
use crate::store::{DbConn, messages, projects};
use crate::thread;

/// What the bot needs to know about the channel it answers in.
#[derive(Clone, Debug)]
pub struct BotCtx {
    pub project_id: crate::domain::ProjectId,
    pub channel_id: crate::domain::ChannelId,
    pub channel_name: String,
    /// The team new requests start in.
    pub team: Option<i64>,
    pub config: BotConfig,
    /// The platform shows buttons; otherwise options are numbered.
    pub buttons: bool,
    pub rules: std::sync::Arc<crate::automation::ChannelRules>,
    /// When the event arrived (the automation clock) and the project's settings then.
    pub now: chrono::NaiveDateTime,
    pub project: std::sync::Arc<crate::automation::ProjectAutomation>,
}

impl BotCtx {
    /// The same bot at the time and with the project settings of `auto`.
    pub fn at(mut self, auto: &crate::automation::Ctx) -> BotCtx {
        self.now = auto.now;
        self.project = auto.project.clone();
        self
    }

    /// Automation as the bot changes statuses (closing message, timers).
    pub fn auto(&self) -> crate::automation::Ctx {
        crate::automation::Ctx {
            rules: self.rules.clone(),
            project: self.project.clone(),
            now: self.now,
            helpdesk: true,
            buttons: self.buttons,
            widget: false,
        }
    }
}

enum Action {
    Menu { welcome: bool },
    Press(Option<Press>),
    Message(Incoming),
}

/// Handles one customer event on a helpdesk channel. Returns what was stored.
pub fn handle(conn: &mut DbConn, ctx: &BotCtx, inbound: &Inbound) -> Result<Received> {
    let ext = inbound.external_user_id.as_str();
    let (mut session, last_event) = session::load(conn, ctx, ext)?;
    let event_id = inbound.platform_message_id.clone();
    let dedup = match &inbound.event {
        InboundEvent::Message { .. } | InboundEvent::Contact { .. } => event_id
            .as_deref()
            .map(|p| thread::dedup_key(ctx.channel_id, p)),
        _ => None,
    };
    // A redelivered event does nothing twice.
    if let Some(id) = &event_id
        && (last_event.as_deref() == Some(id.as_str())
            || dedup
                .as_ref()
                .map(|k| messages::by_dedup_key(conn, k))
                .transpose()?
                .flatten()
                .is_some())
    {
        return Ok(Received::duplicate());
    }
    // Group chats: requests for registered authors and team binding; no private dialog.
    if let InboundEvent::Group { .. } = &inbound.event {
        let received = group::message(conn, ctx, inbound)?;
        session::save(conn, ctx, ext, &session, event_id.as_deref())?;
        return Ok(received);
    }
    if let InboundEvent::Button { data } = &inbound.event
        && let Some(Press::BindTeam { chat, team }) = Press::parse(data)
    {
        group::bind_team(conn, ctx, inbound, &chat, team)?;
        session::save(conn, ctx, ext, &session, event_id.as_deref())?;
        return Ok(Received::default());
    }
    let mut r = Replies::new(ctx, ext, Lang::of(inbound.contact.language.as_deref()));
    let Some(contact) = identify(conn, ctx, inbound, &mut r, &mut session)? else {
        session.options = r.flush(conn)?;
        session::save(conn, ctx, ext, &session, event_id.as_deref())?;
        return Ok(Received::default());
    };
    r.lang = Lang::of(
        contact
            .language
            .as_deref()
            .or(inbound.contact.language.as_deref()),
    );
    let incoming = |text: String, files| Incoming {
        text,
        files,
        dedup: dedup.clone(),
        platform_id: event_id.clone(),
        from: Some(inbound.external_user_id.clone()),
    };
    let action = match &inbound.event {
        InboundEvent::Blocked => {
            contacts::set_blocked(conn, ctx.channel_id, ext, true)?;
            return Ok(Received::nothing(contact.id));
        }
        InboundEvent::Button { data } => Action::Press(Press::parse(data)),
        InboundEvent::Group { .. } | InboundEvent::Status { .. } => {
            return Ok(Received::nothing(contact.id));
        }
        InboundEvent::Contact { name, phone, .. } => {
            Action::Message(incoming(contact_card(name, phone), Vec::new()))
        }
        InboundEvent::Message { text, files, .. } => {
            let trimmed = text.trim();
            let number = trimmed
                .parse::<usize>()
                .ok()
                .filter(|n| *n >= 1 && *n <= session.options.len());
            match (trimmed, number) {
                ("/start", _) => Action::Menu { welcome: true },
                ("/menu", _) => Action::Menu { welcome: false },
                ("/tickets", _) => Action::Press(Some(Press::Status)),
                (_, Some(n)) if files.is_empty() => {
                    Action::Press(Press::parse(&session.options[n - 1]))
                }
                _ => Action::Message(incoming(text.clone(), files.clone())),
            }
        }
    };
    let mut received = Received::nothing(contact.id);
    let state = std::mem::take(&mut session.state);
    match action {
        Action::Menu { welcome } => {
            if welcome {
                r.say(t(r.lang, "welcome"));
            }
            menu(conn, ctx, &contact, &mut r)?;
        }
        Action::Press(Some(press)) => {
            presses::press(conn, ctx, &contact, press, &mut r, &mut session, state)?
        }
        Action::Press(None) => {
            r.say(t(r.lang, "unknown_choice"));
            menu(conn, ctx, &contact, &mut r)?;
        }
        Action::Message(m) => {
            received = flows::message(conn, ctx, &contact, state, m, &mut r, &mut session)?;
        }
    }
    session.options = r.flush(conn)?;
    session::save(conn, ctx, ext, &session, event_id.as_deref())?;
    Ok(received)
}

/// The contact behind this customer, registering them if needed; None while registration
/// by phone is still waiting for their number.
fn identify(
    conn: &mut DbConn,
    ctx: &BotCtx,
    inbound: &Inbound,
    r: &mut Replies,
    session: &mut Session,
) -> Result<Option<Contact>> {
    let ext = inbound.external_user_id.as_str();
    if let Some(id) = contacts::by_identity(conn, ctx.channel_id, ext)? {
        let c = contacts::by_id(conn, ctx.project_id, id)?;
        let c = if contacts::fill_missing(conn, &c, &inbound.contact)? {
            contacts::by_id(conn, ctx.project_id, id)?
        } else {
            c
        };
        return Ok(Some(c));
    }
    if ctx.config.registration == Registration::Open {
        return Ok(Some(
            contacts::find_or_create(conn, ctx.project_id, ctx.channel_id, ext, &inbound.contact)?
                .0,
        ));
    }
    // Registration by phone: only the customer's own shared number counts (the adapter sets
    // the hint's phone only then).
    match &inbound.contact.phone {
        Some(phone) => match contacts::by_phone(conn, ctx.project_id, phone)? {
            Some(c) => {
                contacts::link_identity(conn, ctx.project_id, ctx.channel_id, ext, c.id)?;
                r.say(fill(r.lang, "phone_linked", 0, &c.name));
                session.state = State::Idle;
                menu(conn, ctx, &c, r)?;
                // The menu is already said; the event itself needs no more handling.
                Ok(None)
            }
            None => {
                let support = ctx.config.support_phone.clone().unwrap_or_default();
                r.say(fill(r.lang, "unknown_phone", 0, &support));
                session.state = State::AwaitPhone;
                Ok(None)
            }
        },
        None => {
            // Someone else's card proves nothing: ask for their own number.
            let key = if matches!(inbound.event, InboundEvent::Contact { own: false, .. }) {
                "not_your_phone"
            } else {
                "ask_phone"
            };
            r.ask_phone(t(r.lang, key));
            session.state = State::AwaitPhone;
            Ok(None)
        }
    }
}

/// The customer's requests in this channel that match `wanted`, newest first.
fn requests(
    conn: &mut DbConn,
    ctx: &BotCtx,
    contact: &Contact,
    wanted: fn(Status) -> bool,
) -> Result<Vec<Conversation>> {
    Ok(conversations::of_contact(conn, ctx.project_id, contact.id)?
        .into_iter()
        .filter(|c| c.channel_id == ctx.channel_id && wanted(c.status))
        .collect())
}

fn active(conn: &mut DbConn, ctx: &BotCtx, contact: &Contact) -> Result<Vec<Conversation>> {
    requests(conn, ctx, contact, Status::is_active)
}

fn completed(conn: &mut DbConn, ctx: &BotCtx, contact: &Contact) -> Result<Vec<Conversation>> {
    requests(conn, ctx, contact, Status::is_done)
}

fn menu(conn: &mut DbConn, ctx: &BotCtx, contact: &Contact, r: &mut Replies) -> Result<()> {
    let l = r.lang;
    let b = |key: &str, press: Press| (t(l, key).to_string(), press);
    let choices = if active(conn, ctx, contact)?.is_empty() {
        let mut c = vec![
            b("btn_new", Press::New),
            b("btn_contact_me", Press::ContactMe),
        ];
        if !completed(conn, ctx, contact)?.is_empty() {
            c.push(b("btn_done_question", Press::DoneQuestion));
        }
        c
    } else {
        vec![
            b("btn_new", Press::New),
            b("btn_status", Press::Status),
            b("btn_comment", Press::Comment),
            b("btn_cancel", Press::Cancel),
        ]
    };
    r.ask(t(l, "menu"), choices);
    Ok(())
}

/// The customer's own conversation with this id (never someone else's).
fn own(
    conn: &mut DbConn,
    ctx: &BotCtx,
    contact: &Contact,
    id: crate::domain::ConversationId,
) -> Result<Conversation> {
    let c = conversations::by_id(conn, ctx.project_id, id)?;
    if c.contact_id != contact.id || c.channel_id != ctx.channel_id {
        return Err(Error::not_found("request not found"));
    }
    Ok(c)
}

fn ticket_choices(
    list: &[Conversation],
    press: fn(crate::domain::ConversationId) -> Press,
) -> Vec<(String, Press)> {
    list.iter()
        .map(|c| (format!("#{} {}", c.number, c.subject), press(c.id)))
        .collect()
}

fn local_time(conn: &mut DbConn, ctx: &BotCtx, t: chrono::NaiveDateTime) -> Result<String> {
    let p = projects::by_id(conn, ctx.project_id)?;
    Ok(match p.timezone.parse::<chrono_tz::Tz>() {
        Ok(z) => {
            use chrono::TimeZone;
            z.from_utc_datetime(&t).format("%d.%m.%Y %H:%M").to_string()
        }
        Err(_) => t.format("%d.%m.%Y %H:%M UTC").to_string(),
    })
}
