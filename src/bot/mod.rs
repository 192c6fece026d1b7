//! The customer-side helpdesk bot: registration, menus, new requests, status, comments,
//! cancelling, rating and returning requests to work, and notices about what operators do.
//!
//! Channel-agnostic: it reads normalized `Inbound` values and answers with bot messages that
//! go through the outbox like everything else. Where a platform has buttons they are used;
//! elsewhere the options become a numbered list and the numbers are remembered per customer.
//! Runs inside the committer's transaction, so what it changes and what it answers commit
//! together.

pub mod config;
pub mod texts;

use serde::{Deserialize, Serialize};

pub use config::{BotConfig, Registration};
use texts::{Lang, fill, t};

use crate::channels::{Button, Inbound, InboundEvent, Keyboard};
use crate::domain::event::{Notice, SystemEvent};
use crate::domain::text::subject_from;
use crate::domain::{Actor, Status};
use crate::error::{Error, Result};
use crate::inbox::Received;
use crate::outbox::DirectPayload;
use crate::store::attachments::{self, StoredFile};
use crate::store::contacts::{self, Contact};
use crate::store::conversations::{self, Conversation};
use crate::store::messages::{self, Kind, NewMessage, delivery};
use crate::store::{DbConn, bot_sessions, notifications, now, outbox, projects, users};

/// What the bot needs to know about the channel it answers in.
#[derive(Clone, Debug)]
pub struct BotCtx {
    pub project_id: i64,
    pub channel_id: i64,
    pub channel_name: String,
    pub config: BotConfig,
    /// The platform shows buttons; otherwise options are numbered.
    pub buttons: bool,
    pub rules: std::sync::Arc<crate::automation::ChannelRules>,
}

impl BotCtx {
    /// Automation as the bot changes statuses (closing message, timers).
    pub fn auto(&self) -> crate::automation::Ctx {
        crate::automation::Ctx {
            rules: self.rules.clone(),
            project: Default::default(),
            now: now(),
            helpdesk: true,
            buttons: self.buttons,
            widget: false,
        }
    }
}

#[derive(Serialize, Deserialize, Default, Clone, Debug, PartialEq)]
#[serde(tag = "s", rename_all = "snake_case")]
enum State {
    #[default]
    Idle,
    AwaitPhone,
    AwaitNewRequest,
    AwaitQuestion {
        about: i64,
    },
    AwaitComment {
        conversation_id: i64,
    },
    AwaitRatingComment {
        conversation_id: i64,
    },
    AwaitReopenReason {
        conversation_id: i64,
    },
    /// A message sent without the menu while requests are active: new one, or which to join.
    ChooseTarget {
        text: String,
        files: Vec<StoredFile>,
    },
}

#[derive(Serialize, Deserialize, Default, Debug)]
struct Session {
    #[serde(default)]
    state: State,
    /// What the numbers of the last numbered menu mean.
    #[serde(default)]
    options: Vec<String>,
}

/// Bot messages produced while handling one event, written to the outbox at the end.
struct Replies<'a> {
    ctx: &'a BotCtx,
    to: String,
    lang: Lang,
    out: Vec<DirectPayload>,
    options: Vec<String>,
}

impl Replies<'_> {
    fn say(&mut self, text: impl Into<String>) {
        self.out.push(DirectPayload {
            text: text.into(),
            keyboard: None,
        });
    }

    /// A message with choices: buttons where possible, else a numbered list.
    fn ask(&mut self, text: impl Into<String>, choices: Vec<(String, String)>) {
        let mut text = text.into();
        if self.ctx.buttons {
            self.out.push(DirectPayload {
                text,
                keyboard: Some(Keyboard {
                    rows: choices
                        .into_iter()
                        .map(|(label, data)| vec![Button { label, data }])
                        .collect(),
                    request_phone: None,
                }),
            });
        } else {
            text.push('\n');
            for (i, (label, data)) in choices.into_iter().enumerate() {
                text.push_str(&format!("\n{}. {label}", i + 1));
                self.options.push(data);
            }
            text.push_str(&format!("\n\n{}", t(self.lang, "pick_number")));
            self.say(text);
        }
    }

    fn ask_phone(&mut self, text: &str) {
        self.out.push(DirectPayload {
            text: text.to_string(),
            keyboard: Some(Keyboard {
                rows: Vec::new(),
                request_phone: Some(t(self.lang, "btn_share_phone").to_string()),
            }),
        });
    }

    fn flush(self, conn: &mut DbConn) -> Result<Vec<String>> {
        for p in &self.out {
            let payload = serde_json::to_string(p).map_err(|e| Error::internal(e.to_string()))?;
            outbox::enqueue_direct(
                conn,
                self.ctx.project_id,
                self.ctx.channel_id,
                &self.to,
                &payload,
            )?;
        }
        Ok(self.options)
    }
}

enum Action {
    Menu {
        welcome: bool,
    },
    Button(String),
    Message {
        text: String,
        files: Vec<StoredFile>,
    },
}

fn nothing(contact_id: i64) -> Received {
    Received {
        message_id: None,
        conversation_id: None,
        conversation_number: None,
        contact_id,
        duplicate: false,
        new_conversation: false,
    }
}

/// Handles one customer event on a helpdesk channel. Returns what was stored.
pub fn handle(conn: &mut DbConn, ctx: &BotCtx, inbound: &Inbound) -> Result<Received> {
    let ext = inbound.external_user_id.as_str();
    let (raw_session, last_event) = bot_sessions::load(conn, ctx.channel_id, ext)?;
    let mut session: Session = raw_session
        .as_deref()
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default();
    let event_id = inbound.platform_message_id.clone();
    let dedup = match &inbound.event {
        InboundEvent::Message { .. } => {
            event_id.as_ref().map(|p| format!("{}:{p}", ctx.channel_id))
        }
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
        return Ok(Received {
            duplicate: true,
            ..nothing(0)
        });
    }
    // Group chats: requests for registered authors and team binding; no private dialog.
    if let InboundEvent::Group {
        chat,
        text,
        command,
        reply_body,
        bot_handle,
    } = &inbound.event
    {
        let g = GroupMessage {
            chat,
            text,
            command: command.as_deref(),
            reply_body: reply_body.as_deref(),
            bot_handle,
        };
        let received = group(
            conn,
            ctx,
            inbound,
            &g,
            dedup_group(ctx, event_id.as_deref()),
        )?;
        save(conn, ctx, ext, &session, event_id.as_deref())?;
        return Ok(received);
    }
    if let InboundEvent::Button { data } = &inbound.event
        && let Some(rest) = data.strip_prefix("team:")
    {
        bind_team(conn, ctx, inbound, rest)?;
        save(conn, ctx, ext, &session, event_id.as_deref())?;
        return Ok(nothing(0));
    }
    let lang_hint = Lang::of(inbound.contact.language.as_deref());
    let mut r = Replies {
        ctx,
        to: ext.to_string(),
        lang: lang_hint,
        out: Vec::new(),
        options: Vec::new(),
    };
    let contact = match identify(conn, ctx, inbound, &mut r, &mut session)? {
        Some(c) => c,
        None => {
            let options = r.flush(conn)?;
            session.options = options;
            save(conn, ctx, ext, &session, event_id.as_deref())?;
            return Ok(nothing(0));
        }
    };
    r.lang = Lang::of(
        contact
            .language
            .as_deref()
            .or(inbound.contact.language.as_deref()),
    );
    let action = match &inbound.event {
        InboundEvent::Blocked => {
            contacts::set_blocked(conn, ctx.channel_id, ext, true)?;
            return Ok(nothing(contact.id));
        }
        InboundEvent::Button { data } => Action::Button(data.clone()),
        InboundEvent::Group { .. } | InboundEvent::Status { .. } => return Ok(nothing(contact.id)),
        InboundEvent::Message { text, files, .. } => {
            let trimmed = text.trim();
            let number = trimmed
                .parse::<usize>()
                .ok()
                .filter(|n| *n >= 1 && *n <= session.options.len());
            match (trimmed, number) {
                ("/start", _) => Action::Menu { welcome: true },
                ("/menu", _) => Action::Menu { welcome: false },
                ("/tickets", _) => Action::Button("status".into()),
                (_, Some(n)) if files.is_empty() => Action::Button(session.options[n - 1].clone()),
                _ => Action::Message {
                    text: text.clone(),
                    files: files.clone(),
                },
            }
        }
    };
    let mut received = nothing(contact.id);
    let state = std::mem::take(&mut session.state);
    match action {
        Action::Menu { welcome } => {
            if welcome {
                r.say(t(r.lang, "welcome"));
            }
            menu(conn, ctx, &contact, &mut r)?;
        }
        Action::Button(data) => button(conn, ctx, &contact, &data, &mut r, &mut session, state)?,
        Action::Message { text, files } => {
            let stored = Incoming {
                text,
                files,
                dedup: dedup.clone(),
                platform_id: event_id.clone(),
                from: Some(inbound.external_user_id.clone()),
            };
            received = message(conn, ctx, &contact, state, stored, &mut r, &mut session)?;
        }
    }
    session.options = r.flush(conn)?;
    save(conn, ctx, ext, &session, event_id.as_deref())?;
    Ok(received)
}

fn save(
    conn: &mut DbConn,
    ctx: &BotCtx,
    ext: &str,
    s: &Session,
    event: Option<&str>,
) -> Result<()> {
    let json = serde_json::to_string(s).map_err(|e| Error::internal(e.to_string()))?;
    bot_sessions::save(conn, ctx.channel_id, ext, &json, event)
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
            let key = if matches!(inbound.event, InboundEvent::Message { ref text, .. } if text.contains("Контакт:"))
            {
                "not_your_phone"
            } else {
                "ask_phone"
            };
            let text = t(r.lang, key);
            r.ask_phone(text);
            session.state = State::AwaitPhone;
            Ok(None)
        }
    }
}

fn active(conn: &mut DbConn, ctx: &BotCtx, contact: &Contact) -> Result<Vec<Conversation>> {
    Ok(conversations::of_contact(conn, ctx.project_id, contact.id)?
        .into_iter()
        .filter(|c| c.channel_id == ctx.channel_id && c.status().is_ok_and(Status::is_active))
        .collect())
}

fn completed(conn: &mut DbConn, ctx: &BotCtx, contact: &Contact) -> Result<Vec<Conversation>> {
    Ok(conversations::of_contact(conn, ctx.project_id, contact.id)?
        .into_iter()
        .filter(|c| {
            c.channel_id == ctx.channel_id && matches!(c.status.as_str(), "resolved" | "closed")
        })
        .collect())
}

fn menu(conn: &mut DbConn, ctx: &BotCtx, contact: &Contact, r: &mut Replies) -> Result<()> {
    let l = r.lang;
    let b = |key: &str, data: &str| (t(l, key).to_string(), data.to_string());
    let choices = if active(conn, ctx, contact)?.is_empty() {
        let mut c = vec![b("btn_new", "new"), b("btn_contact_me", "contact_me")];
        if !completed(conn, ctx, contact)?.is_empty() {
            c.push(b("btn_done_question", "done_q"));
        }
        c
    } else {
        vec![
            b("btn_new", "new"),
            b("btn_status", "status"),
            b("btn_comment", "comment"),
            b("btn_cancel", "cancel"),
        ]
    };
    r.ask(t(l, "menu"), choices);
    Ok(())
}

/// The customer's own conversation with this id (never someone else's).
fn own(conn: &mut DbConn, ctx: &BotCtx, contact: &Contact, id: i64) -> Result<Conversation> {
    let c = conversations::by_id(conn, ctx.project_id, id)?;
    if c.contact_id != contact.id || c.channel_id != ctx.channel_id {
        return Err(Error::not_found("request not found"));
    }
    Ok(c)
}

fn ticket_choices(list: &[Conversation], prefix: &str) -> Vec<(String, String)> {
    list.iter()
        .map(|c| {
            (
                format!("#{} {}", c.number, c.subject),
                format!("{prefix}:{}", c.id),
            )
        })
        .collect()
}

/// `prev` is the state before this press (a pending message waits there for "newreq" or
/// "attach"); any other press starts from Idle.
fn button(
    conn: &mut DbConn,
    ctx: &BotCtx,
    contact: &Contact,
    data: &str,
    r: &mut Replies,
    session: &mut Session,
    prev: State,
) -> Result<()> {
    let l = r.lang;
    let (verb, arg) = data.split_once(':').unwrap_or((data, ""));
    let id = arg.split(':').next().and_then(|s| s.parse::<i64>().ok());
    match (verb, id) {
        ("menu", _) => menu(conn, ctx, contact, r)?,
        ("new", _) => {
            session.state = State::AwaitNewRequest;
            r.say(t(l, "ask_new"));
        }
        ("status", _) => {
            let list = active(conn, ctx, contact)?;
            if list.is_empty() {
                r.say(t(l, "no_active"));
                menu(conn, ctx, contact, r)?;
            } else {
                let mut text = String::new();
                for c in &list {
                    let assignee = match c.assignee_id {
                        Some(a) => users::by_id(conn, a)?.name,
                        None => t(l, "not_assigned").to_string(),
                    };
                    let due = c
                        .due_at
                        .map(|d| local_time(conn, ctx, d))
                        .transpose()?
                        .unwrap_or_else(|| t(l, "not_set").to_string());
                    text.push_str(&format!(
                        "#{} {}\n{}: {assignee}\n{}: {}\n{}: {due}\n\n",
                        c.number,
                        c.subject,
                        t(l, "assignee"),
                        t(l, "status"),
                        texts::status(l, &c.status),
                        t(l, "due"),
                    ));
                }
                r.ask(text.trim_end().to_string(), ticket_choices(&list, "view"));
            }
        }
        ("view", Some(id)) => {
            let c = own(conn, ctx, contact, id)?;
            let created = local_time(conn, ctx, c.created_at)?;
            let emails = contact.email.clone().unwrap_or_else(|| "—".into());
            r.say(format!(
                "#{} {}\n{}: {}\n{}: {emails}\n{}: {}\n{}: {created}",
                c.number,
                c.subject,
                t(l, "status"),
                texts::status(l, &c.status),
                t(l, "emails"),
                t(l, "priority"),
                c.priority,
                t(l, "created"),
            ));
            menu(conn, ctx, contact, r)?;
        }
        ("comment", _) => {
            let list = active(conn, ctx, contact)?;
            match list.as_slice() {
                [] => {
                    r.say(t(l, "no_active"));
                    menu(conn, ctx, contact, r)?;
                }
                [only] => {
                    session.state = State::AwaitComment {
                        conversation_id: only.id,
                    };
                    r.say(fill(l, "ask_comment", only.number, ""));
                }
                many => r.ask(t(l, "choose_for_comment"), ticket_choices(many, "c")),
            }
        }
        ("c", Some(id)) => {
            let c = own(conn, ctx, contact, id)?;
            session.state = State::AwaitComment {
                conversation_id: c.id,
            };
            r.say(fill(l, "ask_comment", c.number, ""));
        }
        ("cancel", _) => {
            let list = active(conn, ctx, contact)?;
            if list.is_empty() {
                r.say(t(l, "no_active"));
                menu(conn, ctx, contact, r)?;
            } else {
                r.ask(t(l, "choose_for_cancel"), ticket_choices(&list, "x"));
            }
        }
        ("x", Some(id)) => {
            let c = own(conn, ctx, contact, id)?;
            customer_status(conn, ctx, contact, &c, Status::Cancelled)?;
            r.say(fill(l, "cancelled", c.number, ""));
            if active(conn, ctx, contact)?.is_empty() {
                r.say(t(l, "no_more_active"));
            }
            menu(conn, ctx, contact, r)?;
        }
        ("contact_me", _) => {
            contact_me(conn, ctx, contact)?;
            r.say(t(l, "contact_me_sent"));
        }
        ("done_q", _) => {
            let list = completed(conn, ctx, contact)?;
            r.ask(t(l, "choose_done"), ticket_choices(&list, "q"));
        }
        ("q", Some(id)) => {
            let c = own(conn, ctx, contact, id)?;
            session.state = State::AwaitQuestion { about: c.number };
            r.say(t(l, "ask_new"));
        }
        ("rate", Some(id)) => {
            let c = own(conn, ctx, contact, id)?;
            let stars = (1..=5)
                .map(|n| ("⭐".repeat(n), format!("stars:{}:{n}", c.id)))
                .collect();
            r.ask(fill(l, "ask_stars", c.number, ""), stars);
        }
        ("stars", Some(id)) => {
            let n: i32 = data
                .rsplit(':')
                .next()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            if !(1..=5).contains(&n) {
                return Err(Error::invalid("a rating is 1 to 5"));
            }
            let c = own(conn, ctx, contact, id)?;
            conversations::set_rating(conn, c.id, n, None)?;
            let ev = SystemEvent::Rated {
                stars: n,
                comment: None,
                by: contact.name.clone(),
            };
            messages::system(conn, ctx.project_id, c.id, &ev.to_json())?;
            // A rating closes a resolved request.
            if c.status == Status::Resolved.as_str() {
                system_status(conn, ctx, &c, Status::Closed, &contact.name)?;
            }
            session.state = State::AwaitRatingComment {
                conversation_id: c.id,
            };
            r.ask(
                t(l, "ask_rating_comment"),
                vec![(t(l, "btn_skip").to_string(), format!("skip:{}", c.id))],
            );
        }
        ("skip", Some(id)) => {
            let c = own(conn, ctx, contact, id)?;
            r.say(fill(l, "rated", c.number, ""));
            menu(conn, ctx, contact, r)?;
        }
        ("reopen", Some(id)) => {
            let c = own(conn, ctx, contact, id)?;
            r.ask(
                fill(l, "confirm_reopen", c.number, ""),
                vec![
                    (t(l, "btn_yes").to_string(), format!("reopen_yes:{}", c.id)),
                    (t(l, "btn_no").to_string(), "menu".to_string()),
                ],
            );
        }
        ("reopen_yes", Some(id)) => {
            let c = own(conn, ctx, contact, id)?;
            Status::parse(&c.status)?.can_change(Status::Reopened, Actor::Customer)?;
            session.state = State::AwaitReopenReason {
                conversation_id: c.id,
            };
            r.say(t(l, "ask_reason"));
        }
        ("newreq", _) => {
            if let State::ChooseTarget { text, files } = prev {
                let c = create_request(
                    conn,
                    ctx,
                    contact,
                    &Incoming {
                        text,
                        files,
                        dedup: None,
                        platform_id: None,
                        from: None,
                    },
                    None,
                )?;
                r.say(fill(l, "registered", c.number, ""));
            }
            menu(conn, ctx, contact, r)?;
        }
        ("attach", Some(id)) => {
            if let State::ChooseTarget { text, files } = prev {
                let c = own(conn, ctx, contact, id)?;
                add_comment(
                    conn,
                    ctx,
                    contact,
                    &c,
                    &Incoming {
                        text,
                        files,
                        dedup: None,
                        platform_id: None,
                        from: None,
                    },
                )?;
                r.say(fill(l, "comment_added", c.number, ""));
            }
            menu(conn, ctx, contact, r)?;
        }
        _ => {
            r.say(t(l, "unknown_choice"));
            menu(conn, ctx, contact, r)?;
        }
    }
    Ok(())
}

/// A customer message as it arrived.
struct Incoming {
    text: String,
    files: Vec<StoredFile>,
    dedup: Option<String>,
    platform_id: Option<String>,
    /// The identity it came from, where known: replies go back there.
    from: Option<String>,
}

fn message(
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
            conversations::set_rating(conn, c.id, c.rating.unwrap_or(0), Some(m.text.trim()))?;
            let ev = SystemEvent::Rated {
                stars: c.rating.unwrap_or(0),
                comment: Some(m.text.trim().to_string()),
                by: contact.name.clone(),
            };
            messages::system(conn, ctx.project_id, c.id, &ev.to_json())?;
            r.say(fill(l, "rated", c.number, ""));
            menu(conn, ctx, contact, r)?;
            Ok(nothing(contact.id))
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
            let c = create_request(conn, ctx, contact, &m, about)?;
            r.say(fill(l, "registered", c.number, ""));
            menu(conn, ctx, contact, r)?;
            let mid = last_customer_message(conn, c.id)?;
            Ok(stored(&c, mid, true))
        }
        State::Idle | State::AwaitPhone | State::ChooseTarget { .. } => {
            let list = active(conn, ctx, contact)?;
            if list.is_empty() {
                let c = create_request(conn, ctx, contact, &m, None)?;
                r.say(fill(l, "registered", c.number, ""));
                menu(conn, ctx, contact, r)?;
                let mid = last_customer_message(conn, c.id)?;
                return Ok(stored(&c, mid, true));
            }
            let mut choices = vec![(
                t(l, "btn_new_from_message").to_string(),
                "newreq".to_string(),
            )];
            choices.extend(ticket_choices(&list, "attach"));
            session.state = State::ChooseTarget {
                text: m.text,
                files: m.files,
            };
            r.ask(t(l, "choose_target"), choices);
            Ok(nothing(contact.id))
        }
    }
}

fn last_customer_message(conn: &mut DbConn, conversation_id: i64) -> Result<i64> {
    messages::thread(conn, conversation_id, 0, true, 10_000)?
        .into_iter()
        .rev()
        .find(|(m, _)| m.kind == "customer")
        .map(|(m, _)| m.id)
        .ok_or_else(|| Error::internal("the request has no message"))
}

/// A new request: the first 50 characters are the subject, the whole text the first message.
fn create_request(
    conn: &mut DbConn,
    ctx: &BotCtx,
    contact: &Contact,
    m: &Incoming,
    about: Option<i64>,
) -> Result<Conversation> {
    let number = projects::next_number(conn, ctx.project_id)?;
    let lang = Lang::of(contact.language.as_deref());
    let mut subject = if m.text.trim().is_empty() {
        fill(lang, "files_from", 0, &contact.name)
    } else {
        subject_from(&m.text, crate::inbox::receive::SUBJECT_CHARS)
    };
    if let Some(n) = about {
        subject = format!("#{n}: {subject}");
    }
    let c = conversations::create(
        conn,
        ctx.project_id,
        number,
        contact.id,
        ctx.channel_id,
        &subject,
    )?;
    let ev = SystemEvent::Created {
        channel: ctx.channel_name.clone(),
    };
    messages::system(conn, ctx.project_id, c.id, &ev.to_json())?;
    insert_customer_message(conn, ctx, &c, m)?;
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
        notifications::create(conn, ctx.project_id, manager, Some(c.id), &notice.to_json())?;
    }
    Ok(c)
}

fn insert_customer_message(
    conn: &mut DbConn,
    ctx: &BotCtx,
    c: &Conversation,
    m: &Incoming,
) -> Result<i64> {
    let at = now();
    let mid = messages::insert(
        conn,
        &NewMessage {
            project_id: ctx.project_id,
            conversation_id: c.id,
            kind: Kind::Customer,
            author_id: None,
            text: &m.text,
            delivery: delivery::RECEIVED,
            dedup_key: m.dedup.as_deref(),
            platform_id: m.platform_id.as_deref(),
            at,
        },
    )?;
    for f in &m.files {
        attachments::insert(conn, ctx.project_id, mid, f)?;
    }
    conversations::touch_customer(conn, c.id, at, m.from.as_deref())?;
    Ok(mid)
}

fn add_comment(
    conn: &mut DbConn,
    ctx: &BotCtx,
    contact: &Contact,
    c: &Conversation,
    m: &Incoming,
) -> Result<i64> {
    if c.status == Status::Pending.as_str() {
        customer_status(conn, ctx, contact, c, Status::Open)?;
    }
    let mid = insert_customer_message(conn, ctx, c, m)?;
    if let Some(assignee) = c.assignee_id {
        let notice = Notice::Comment {
            number: c.number,
            by: contact.name.clone(),
            preview: crate::domain::text::truncate_chars(m.text.trim(), 100).to_string(),
        };
        notifications::create(
            conn,
            ctx.project_id,
            assignee,
            Some(c.id),
            &notice.to_json(),
        )?;
    }
    Ok(mid)
}

fn customer_status(
    conn: &mut DbConn,
    ctx: &BotCtx,
    contact: &Contact,
    c: &Conversation,
    to: Status,
) -> Result<()> {
    crate::inbox::manage::transition(conn, &ctx.auto(), c, to, Actor::Customer, &contact.name)
}

fn system_status(
    conn: &mut DbConn,
    ctx: &BotCtx,
    c: &Conversation,
    to: Status,
    by: &str,
) -> Result<()> {
    crate::inbox::manage::transition(conn, &ctx.auto(), c, to, Actor::System, by)
}

/// "Please contact me": a request for the organization's manager (or the team) to call back.
fn contact_me(conn: &mut DbConn, ctx: &BotCtx, contact: &Contact) -> Result<()> {
    let lang = Lang::of(contact.language.as_deref());
    let m = Incoming {
        text: t(lang, "btn_contact_me").to_string(),
        files: Vec::new(),
        dedup: None,
        platform_id: None,
        from: None,
    };
    let c = create_request(conn, ctx, contact, &m, None)?;
    if let Some(org) = contacts::organization(conn, contact)?
        && let Some(manager) = org.manager_id
    {
        conversations::set_assignee(conn, c.id, Some(manager))?;
        let notice = Notice::ContactMe {
            number: c.number,
            by: contact.name.clone(),
        };
        notifications::create(conn, ctx.project_id, manager, Some(c.id), &notice.to_json())?;
        let ev = SystemEvent::Assigned {
            to: org.manager_name.clone(),
            by: contact.name.clone(),
        };
        messages::system(conn, ctx.project_id, c.id, &ev.to_json())?;
    }
    Ok(())
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

struct GroupMessage<'a> {
    chat: &'a str,
    text: &'a str,
    command: Option<&'a str>,
    reply_body: Option<&'a str>,
    bot_handle: &'a str,
}

fn dedup_group(ctx: &BotCtx, event_id: Option<&str>) -> Option<String> {
    event_id.map(|p| format!("{}:{p}", ctx.channel_id))
}

const GROUP_TEAM: &str = "group_team:";

/// A message in a group: "/config" offers teams to route the group's requests to; a mention
/// of at least 10 characters (or a mention replying to someone's message, whose text becomes
/// the body) makes a request for its author if they have registered in a private chat.
fn group(
    conn: &mut DbConn,
    ctx: &BotCtx,
    inbound: &Inbound,
    g: &GroupMessage,
    dedup: Option<String>,
) -> Result<Received> {
    let lang = Lang::of(inbound.contact.language.as_deref());
    let mut to_group = Replies {
        ctx,
        to: g.chat.to_string(),
        lang,
        out: Vec::new(),
        options: Vec::new(),
    };
    if g.command == Some("config") {
        let teams = crate::store::teams::of_project(conn, ctx.project_id)?;
        if teams.is_empty() {
            to_group.say(t(lang, "no_teams"));
        } else {
            let choices = teams
                .into_iter()
                .map(|tm| (tm.name, format!("team:{}:{}", g.chat, tm.id)))
                .collect();
            to_group.ask(t(lang, "choose_team"), choices);
        }
        to_group.flush(conn)?;
        return Ok(nothing(0));
    }
    let body = g
        .reply_body
        .filter(|b| !b.trim().is_empty())
        .unwrap_or(g.text)
        .trim();
    if body.chars().count() < 10 {
        return Ok(nothing(0));
    }
    let author = inbound.contact.name.clone().unwrap_or_default();
    let Some(contact_id) = contacts::by_identity(conn, ctx.channel_id, &inbound.external_user_id)?
    else {
        to_group.say(format!(
            "{} {}",
            fill(lang, "group_register", 0, &author),
            g.bot_handle
        ));
        to_group.flush(conn)?;
        return Ok(nothing(0));
    };
    let contact = contacts::by_id(conn, ctx.project_id, contact_id)?;
    let m = Incoming {
        text: body.to_string(),
        files: Vec::new(),
        dedup,
        platform_id: inbound.platform_message_id.clone(),
        from: None,
    };
    let c = create_request(conn, ctx, &contact, &m, None)?;
    let team =
        crate::store::channels::state(conn, ctx.channel_id, &format!("{GROUP_TEAM}{}", g.chat))?
            .and_then(|v| v.parse::<i64>().ok());
    conversations::set_origin(conn, c.id, g.chat, team)?;
    to_group.say(fill(lang, "group_registered", c.number, &contact.name));
    to_group.flush(conn)?;
    let private_lang = Lang::of(contact.language.as_deref());
    let mut private = Replies {
        ctx,
        to: inbound.external_user_id.clone(),
        lang: private_lang,
        out: Vec::new(),
        options: Vec::new(),
    };
    private.say(fill(private_lang, "registered", c.number, ""));
    private.flush(conn)?;
    Ok(Received {
        message_id: Some(last_customer_message(conn, c.id)?),
        conversation_id: Some(c.id),
        conversation_number: Some(c.number),
        contact_id: contact.id,
        duplicate: false,
        new_conversation: true,
    })
}

/// "team:{group}:{team id}" pressed in a group: that group's requests go to the team.
fn bind_team(conn: &mut DbConn, ctx: &BotCtx, inbound: &Inbound, rest: &str) -> Result<()> {
    let (chat, team) = rest
        .rsplit_once(':')
        .ok_or_else(|| Error::invalid("bad team choice"))?;
    let team_id: i64 = team
        .parse()
        .map_err(|_| Error::invalid("bad team choice"))?;
    if chat.parse::<i64>().is_err() {
        return Err(Error::invalid("bad group id"));
    }
    let team = crate::store::teams::by_id(conn, ctx.project_id, team_id)?;
    crate::store::channels::set_state(
        conn,
        ctx.channel_id,
        &format!("{GROUP_TEAM}{chat}"),
        &team.id.to_string(),
    )?;
    let lang = Lang::of(inbound.contact.language.as_deref());
    let mut r = Replies {
        ctx,
        to: chat.to_string(),
        lang,
        out: Vec::new(),
        options: Vec::new(),
    };
    r.say(fill(lang, "team_bound", 0, &team.name));
    r.flush(conn)?;
    Ok(())
}

/// What an operator changed, for the customer's notice.
pub enum Change<'a> {
    /// An operator opened a request for the customer.
    Created,
    Status(Status),
    Assignee(&'a str),
    Due(Option<chrono::NaiveDateTime>),
}

/// Tells the customer about an operator's change (inside the same transaction).
pub fn notify(conn: &mut DbConn, ctx: &BotCtx, c: &Conversation, change: Change) -> Result<()> {
    let Some((to, blocked)) = contacts::recipient(conn, c)? else {
        return Ok(());
    };
    if blocked {
        return Ok(());
    }
    let contact = contacts::by_id(conn, ctx.project_id, c.contact_id)?;
    let lang = Lang::of(contact.language.as_deref());
    let mut r = Replies {
        ctx,
        to,
        lang,
        out: Vec::new(),
        options: Vec::new(),
    };
    match change {
        Change::Status(Status::Resolved) => {
            let mut choices = vec![
                (
                    t(lang, "btn_reopen").to_string(),
                    format!("reopen:{}", c.id),
                ),
                (t(lang, "btn_view").to_string(), format!("view:{}", c.id)),
            ];
            // Rating is on for helpdesk channels unless the channel turns it off.
            if ctx.rules.rating.unwrap_or(true) {
                choices.insert(
                    0,
                    (t(lang, "btn_rate").to_string(), format!("rate:{}", c.id)),
                );
            }
            r.ask(fill(lang, "resolved", c.number, &c.subject), choices)
        }
        Change::Created => r.say(fill(lang, "opened_for_you", c.number, &c.subject)),
        Change::Status(Status::Closed) => r.say(fill(lang, "closed", c.number, "")),
        Change::Status(s) => r.say(fill(
            lang,
            "status_changed",
            c.number,
            &texts::status(lang, s.as_str()),
        )),
        Change::Assignee(name) => r.say(fill(lang, "assigned", c.number, name)),
        Change::Due(d) => {
            let when = match d {
                Some(d) => local_time(conn, ctx, d)?,
                None => t(lang, "not_set").to_string(),
            };
            r.say(fill(lang, "due_changed", c.number, &when));
        }
    }
    // A request made in a group is followed there too (text only: the buttons are personal).
    if let Some(group) = &c.origin
        && let Some(first) = r.out.first()
    {
        let payload = serde_json::to_string(&DirectPayload {
            text: first.text.clone(),
            keyboard: None,
        })
        .map_err(|e| Error::internal(e.to_string()))?;
        outbox::enqueue_direct(conn, ctx.project_id, ctx.channel_id, group, &payload)?;
    }
    let options = r.flush(conn)?;
    // Numbered choices in a notice must be answerable too.
    if !options.is_empty() {
        let ext = contacts::recipient(conn, c)?
            .map(|(e, _)| e)
            .unwrap_or_default();
        let (raw, last) = bot_sessions::load(conn, ctx.channel_id, &ext)?;
        let mut s: Session = raw
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default();
        s.options = options;
        save(conn, ctx, &ext, &s, last.as_deref())?;
    }
    Ok(())
}
