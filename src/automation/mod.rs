//! Automation: what happens without an operator. Events (a customer writes, an operator
//! answers, a status changes) arm or reset timers inside the transaction that records them;
//! the scheduler fires due timers, each in the transaction that does its work, so a timer
//! fires once even across restarts and instances.

pub mod rules;
pub mod schedule;
pub mod scheduler;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chrono::{Duration, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::bot::texts::{Lang, t};
use crate::channels::{Button, Keyboard};
use crate::clock::Clock;
use crate::domain::Status;
use crate::domain::event::{Notice, SystemEvent};
use crate::error::{Error, Result};
use crate::outbox::DirectPayload;
use crate::store::conversations::{self, Conversation};
use crate::store::messages::{self, Kind, NewMessage, delivery};
use crate::store::timers::{self, Arm};
use crate::store::{DbConn, contacts, notifications, now, outbox, project_settings, users};
pub use rules::{ChannelRules, OffHours};
pub use schedule::Schedule;

pub const AUTO_REPLY: &str = "auto_reply";
pub const OFF_HOURS_REPLY: &str = "off_hours_reply";
pub const AUTO_CLOSE: &str = "auto_close";
pub const UNANSWERED: &str = "unanswered";
/// Pending while the customer may answer a rating request (chat channels).
pub const RATING: &str = "rating";
/// Pending while the customer may add a comment to the rating just given (chat channels).
pub const RATING_COMMENT: &str = "rating_comment";
/// Widget: the visitor's message has not been read by an operator.
pub const WIDGET_UNREAD: &str = "widget_unread";
/// Widget: read by an operator but not answered.
pub const WIDGET_UNANSWERED: &str = "widget_unanswered";
/// What an operator's answer (or a resolution) makes moot.
const WAITING: [&str; 5] = [
    AUTO_REPLY,
    OFF_HOURS_REPLY,
    UNANSWERED,
    WIDGET_UNREAD,
    WIDGET_UNANSWERED,
];

/// How long a rating request and the comment after it stay answerable.
const RATING_WINDOW_DAYS: i64 = 7;
const RATING_COMMENT_MINUTES: i64 = 30;

/// Where unanswered alerts also go: a staff chat reached through one of the project's
/// Telegram channels.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StaffAlerts {
    pub channel: String,
    pub chat_id: String,
}

/// Project-wide settings in effect.
#[derive(Clone, Debug, Default)]
pub struct ProjectAutomation {
    pub schedule: Option<Schedule>,
    pub alerts: Option<StaffAlerts>,
}

impl ProjectAutomation {
    pub fn from_row(row: &project_settings::Row) -> ProjectAutomation {
        ProjectAutomation {
            schedule: row
                .schedule
                .as_deref()
                .and_then(|s| serde_json::from_str(s).ok()),
            alerts: row
                .alerts
                .as_deref()
                .and_then(|s| serde_json::from_str(s).ok()),
        }
    }

    pub fn is_open(&self, at: NaiveDateTime) -> bool {
        self.schedule.as_ref().is_none_or(|s| s.is_open(at))
    }
}

/// The clock and the project settings every instance keeps in memory (reloaded by the
/// scheduler, so a change saved on another instance arrives within seconds).
pub struct Automation {
    pub clock: Clock,
    projects: RwLock<HashMap<i64, Arc<ProjectAutomation>>>,
}

impl Automation {
    pub fn new(clock: Clock) -> Automation {
        Automation {
            clock,
            projects: RwLock::new(HashMap::new()),
        }
    }

    pub fn project(&self, id: i64) -> Arc<ProjectAutomation> {
        self.projects
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
            .cloned()
            .unwrap_or_default()
    }

    pub fn load(&self, rows: &[project_settings::Row]) {
        let map = rows
            .iter()
            .map(|r| (r.project_id, Arc::new(ProjectAutomation::from_row(r))))
            .collect();
        *self.projects.write().unwrap_or_else(|e| e.into_inner()) = map;
    }

    /// What the rules of one channel need at this moment.
    pub fn ctx(&self, entry: Option<&crate::channels::ChannelEntry>) -> Ctx {
        match entry {
            Some(e) => Ctx {
                rules: e.rules.clone(),
                project: self.project(e.channel.project_id),
                now: self.clock.now(),
                helpdesk: e.bot.is_some(),
                buttons: e.adapter.capabilities().buttons,
                widget: e.channel.kind == "widget",
            },
            None => Ctx {
                rules: Arc::default(),
                project: Arc::default(),
                now: self.clock.now(),
                helpdesk: false,
                buttons: false,
                widget: false,
            },
        }
    }
}

/// One channel's rules, the project's settings and the time, captured for one transaction.
#[derive(Clone, Debug, Default)]
pub struct Ctx {
    pub rules: Arc<ChannelRules>,
    pub project: Arc<ProjectAutomation>,
    pub now: NaiveDateTime,
    /// The helpdesk bot speaks for the channel (it asks for ratings itself).
    pub helpdesk: bool,
    pub buttons: bool,
    /// The chat widget: visitors read messages from our database, so what automation says
    /// is stored in the thread (no buttons there).
    pub widget: bool,
}

impl Ctx {
    pub fn rating(&self) -> bool {
        self.rules.rating.unwrap_or(self.helpdesk)
    }

    /// Off-hours with the bot answering: chat channels hand customers to the bot then.
    pub fn bot_off_hours(&self) -> bool {
        self.rules.off_hours == OffHours::Bot && !self.project.is_open(self.now)
    }
}

fn secs(n: i64) -> Duration {
    Duration::seconds(n)
}

/// A customer message was stored in `conv` (not a duplicate).
pub fn customer_wrote(conn: &mut DbConn, ctx: &Ctx, conv: &Conversation) -> Result<()> {
    let r = &ctx.rules;
    if !r.any() {
        return Ok(());
    }
    let (pid, cid, now) = (conv.project_id, conv.id, ctx.now);
    let open = ctx.project.is_open(now);
    let (kind, list) = match (open, r.off_hours) {
        (false, OffHours::AutoReply) => (OFF_HOURS_REPLY, &r.off_hours_replies),
        (false, OffHours::Bot) => (AUTO_REPLY, &Vec::new()),
        _ => (AUTO_REPLY, &r.auto_replies),
    };
    let answered = conv.last_operator_at.is_some();
    if !answered || r.auto_reply_after_operator {
        for (i, a) in list.iter().enumerate() {
            let step = i32::try_from(i).unwrap_or(i32::MAX);
            timers::arm(
                conn,
                pid,
                cid,
                kind,
                step,
                now + secs(a.after_secs),
                Arm::Move,
            )?;
        }
    }
    if let Some(s) = r.unanswered_alert_after_secs {
        timers::arm(conn, pid, cid, UNANSWERED, 0, now + secs(s), Arm::Keep)?;
    }
    if let Some(m) = &r.unread_message
        && conv.unread
    {
        timers::arm(
            conn,
            pid,
            cid,
            WIDGET_UNREAD,
            0,
            now + secs(m.after_secs),
            Arm::Keep,
        )?;
    }
    if let Some(s) = r.auto_close_after_secs {
        timers::arm(conn, pid, cid, AUTO_CLOSE, 0, now + secs(s), Arm::Restart)?;
    }
    Ok(())
}

/// An operator answered: waiting auto-replies and alerts are dropped (a new customer message
/// starts them again) and the inactivity clock restarts.
pub fn operator_answered(conn: &mut DbConn, ctx: &Ctx, conv: &Conversation) -> Result<()> {
    timers::reset(conn, conv.id, &WAITING)?;
    if let Some(s) = ctx.rules.auto_close_after_secs {
        timers::arm(
            conn,
            conv.project_id,
            conv.id,
            AUTO_CLOSE,
            0,
            ctx.now + secs(s),
            Arm::Restart,
        )?;
    }
    Ok(())
}

/// After a status change, whoever made it: closed conversations stop their timers and get the
/// closing message; resolved or closed ones get the rating request (chat channels; the bot
/// asks on helpdesk channels).
pub fn status_changed(
    conn: &mut DbConn,
    ctx: &Ctx,
    conv: &Conversation,
    from: Status,
    to: Status,
) -> Result<()> {
    match to {
        Status::Closed | Status::Cancelled => timers::cancel_pending(conn, conv.id)?,
        Status::Resolved => timers::reset(conn, conv.id, &WAITING)?,
        _ => {}
    }
    if to == Status::Closed
        && let Some(text) = &ctx.rules.closing_message
    {
        send_auto(conn, conv, text)?;
    }
    let finished = matches!(to, Status::Resolved | Status::Closed);
    // A resolved request that the rating closes was asked already.
    let asked = from == Status::Resolved && to == Status::Closed;
    if finished && !asked && !ctx.helpdesk && ctx.rating() && conv.rating.is_none() {
        ask_rating(conn, ctx, conv)?;
    }
    Ok(())
}

/// An operator opened the visitor's conversation: the "read but not answered" message may
/// follow.
pub fn operator_read(conn: &mut DbConn, ctx: &Ctx, conv: &Conversation) -> Result<()> {
    if let Some(m) = &ctx.rules.unanswered_message
        && unanswered(conv)
    {
        timers::arm(
            conn,
            conv.project_id,
            conv.id,
            WIDGET_UNANSWERED,
            0,
            ctx.now + secs(m.after_secs),
            Arm::Keep,
        )?;
    }
    Ok(())
}

/// A message the system sends on the team's behalf, shown in the thread like an operator's
/// reply without an author. It does not count as an operator's answer.
pub fn send_auto(conn: &mut DbConn, conv: &Conversation, text: &str) -> Result<i64> {
    let mid = messages::insert(
        conn,
        &NewMessage {
            project_id: conv.project_id,
            conversation_id: conv.id,
            kind: Kind::Operator,
            author_id: None,
            text,
            delivery: delivery::PENDING,
            dedup_key: None,
            platform_id: None,
            at: now(),
        },
    )?;
    outbox::enqueue(conn, conv.project_id, mid, conv.channel_id)?;
    Ok(mid)
}

fn customer_lang(conn: &mut DbConn, conv: &Conversation) -> Result<Lang> {
    let c = contacts::by_id(conn, conv.project_id, conv.contact_id)?;
    Ok(Lang::of(c.language.as_deref()))
}

/// Asks the customer of a chat channel to rate the conversation: star buttons, or digits
/// where the platform has no buttons. The answer is taken while the RATING timer is pending.
fn ask_rating(conn: &mut DbConn, ctx: &Ctx, conv: &Conversation) -> Result<()> {
    let Some((recipient, blocked)) = contacts::recipient(conn, conv)? else {
        return Ok(());
    };
    if blocked {
        return Ok(());
    }
    let lang = customer_lang(conn, conv)?;
    let mut text = t(lang, "ask_stars").replace("{n}", &conv.number.to_string());
    let keyboard = if ctx.buttons {
        Some(Keyboard {
            rows: vec![
                (1..=5)
                    .map(|n| Button {
                        label: "⭐".repeat(n),
                        data: format!("rating:{}:{n}", conv.id),
                    })
                    .collect(),
            ],
            request_phone: None,
        })
    } else {
        text.push_str(&format!("\n{}", t(lang, "rate_by_digit")));
        None
    };
    say(conn, ctx, conv, &recipient, text, keyboard)?;
    timers::arm(
        conn,
        conv.project_id,
        conv.id,
        RATING,
        0,
        ctx.now + Duration::days(RATING_WINDOW_DAYS),
        Arm::Restart,
    )?;
    Ok(())
}

/// Tells the customer something outside the conversation's messages: a bot message, or
/// on the widget (which reads the thread) a message in the thread.
fn say(
    conn: &mut DbConn,
    ctx: &Ctx,
    conv: &Conversation,
    recipient: &str,
    text: String,
    keyboard: Option<Keyboard>,
) -> Result<()> {
    if ctx.widget {
        send_auto(conn, conv, &text)?;
        return Ok(());
    }
    let payload = serde_json::to_string(&DirectPayload { text, keyboard })
        .map_err(|e| Error::internal(e.to_string()))?;
    outbox::enqueue_direct(conn, conv.project_id, conv.channel_id, recipient, &payload)?;
    Ok(())
}

/// What a chat channel's customer said, seen as an answer to a rating request.
pub enum RatingAnswer {
    Stars(i64, i32),
    Comment(i64, String),
    /// "No comment": the next message is an ordinary one again.
    Skip(i64),
}

/// A star button ("rating:<conversation>:<n>") or the skip button ("rating_skip:<id>").
pub fn parse_rating_button(data: &str) -> Option<RatingAnswer> {
    if let Some(id) = data.strip_prefix("rating_skip:") {
        return Some(RatingAnswer::Skip(id.parse().ok()?));
    }
    let rest = data.strip_prefix("rating:")?;
    let (id, n) = rest.split_once(':')?;
    Some(RatingAnswer::Stars(id.parse().ok()?, n.parse().ok()?))
}

/// A customer's text while a rating request or its comment window is open in this channel.
pub fn rating_answer(
    conn: &mut DbConn,
    contact_id: i64,
    channel_id: i64,
    text: &str,
) -> Result<Option<RatingAnswer>> {
    let open =
        timers::pending_for_contact(conn, contact_id, channel_id, &[RATING, RATING_COMMENT])?;
    for (conv_id, kind) in open {
        if kind == RATING {
            let digit = text.trim().trim_end_matches(['⭐', '*']).trim();
            if let Ok(n) = digit.parse::<i32>()
                && (1..=5).contains(&n)
            {
                return Ok(Some(RatingAnswer::Stars(conv_id, n)));
            }
        } else if kind == RATING_COMMENT && !text.trim().is_empty() {
            return Ok(Some(RatingAnswer::Comment(
                conv_id,
                text.trim().to_string(),
            )));
        }
    }
    Ok(None)
}

/// Records a chat channel's rating (or its comment) and thanks the customer. Only the
/// customer of the conversation can rate it, once; a rating closes a resolved conversation.
pub fn record_rating(
    conn: &mut DbConn,
    ctx: &Ctx,
    project_id: i64,
    contact_id: i64,
    answer: RatingAnswer,
) -> Result<()> {
    let conv_id = match &answer {
        RatingAnswer::Stars(c, _) | RatingAnswer::Comment(c, _) | RatingAnswer::Skip(c) => *c,
    };
    let conv = conversations::by_id(conn, project_id, conv_id)?;
    if conv.contact_id != contact_id {
        return Err(Error::not_found("conversation not found"));
    }
    let who = contacts::by_id(conn, conv.project_id, contact_id)?.name;
    let lang = customer_lang(conn, &conv)?;
    let (reply, keyboard) = match answer {
        RatingAnswer::Stars(_, n) => {
            if !(1..=5).contains(&n) {
                return Err(Error::invalid("a rating is 1 to 5"));
            }
            if !timers::pending(conn, conv.id, RATING)? {
                return Ok(());
            }
            timers::reset(conn, conv.id, &[RATING])?;
            conversations::set_rating(conn, conv.id, n, None)?;
            let ev = SystemEvent::Rated {
                stars: n,
                comment: None,
                by: who.clone(),
            };
            messages::system(conn, conv.project_id, conv.id, &ev.to_json())?;
            if conv.status()? == Status::Resolved {
                crate::inbox::manage::transition(
                    conn,
                    ctx,
                    &conv,
                    Status::Closed,
                    crate::domain::Actor::System,
                    &who,
                )?;
            }
            timers::arm(
                conn,
                conv.project_id,
                conv.id,
                RATING_COMMENT,
                0,
                ctx.now + Duration::minutes(RATING_COMMENT_MINUTES),
                Arm::Restart,
            )?;
            let skip = ctx.buttons.then(|| Keyboard {
                rows: vec![vec![Button {
                    label: t(lang, "btn_skip").to_string(),
                    data: format!("rating_skip:{}", conv.id),
                }]],
                request_phone: None,
            });
            (t(lang, "rated_chat_ask_comment"), skip)
        }
        RatingAnswer::Comment(_, text) => {
            timers::reset(conn, conv.id, &[RATING_COMMENT])?;
            let n = conv.rating.unwrap_or(0);
            conversations::set_rating(conn, conv.id, n, Some(&text))?;
            let ev = SystemEvent::Rated {
                stars: n,
                comment: Some(text),
                by: who,
            };
            messages::system(conn, conv.project_id, conv.id, &ev.to_json())?;
            (t(lang, "rated_chat_thanks"), None)
        }
        RatingAnswer::Skip(_) => {
            if !timers::pending(conn, conv.id, RATING_COMMENT)? {
                return Ok(());
            }
            timers::reset(conn, conv.id, &[RATING_COMMENT])?;
            (t(lang, "rated_chat_thanks"), None)
        }
    };
    if let Some((recipient, false)) = contacts::recipient(conn, &conv)? {
        say(conn, ctx, &conv, &recipient, reply.to_string(), keyboard)?;
    }
    Ok(())
}

/// The operator's name for `{NAME}`; "our specialist" while nobody is assigned.
fn operator_name(conn: &mut DbConn, conv: &Conversation, lang: Lang) -> Result<String> {
    Ok(match conv.assignee_id {
        Some(a) => users::by_id(conn, a)?.name,
        None => t(lang, "our_specialist").to_string(),
    })
}

/// Whether the customer's last message still waits for an operator.
fn unanswered(conv: &Conversation) -> bool {
    match (conv.last_customer_at, conv.last_operator_at) {
        (Some(c), Some(o)) => c > o,
        (Some(_), None) => true,
        _ => false,
    }
}

/// Does what a claimed timer is for. Runs in the transaction that marked it fired.
pub fn fire(conn: &mut DbConn, ctx: &Ctx, timer: &timers::Timer) -> Result<()> {
    let conv = conversations::by_id(conn, timer.project_id, timer.conversation_id)?;
    let status = conv.status()?;
    match timer.kind.as_str() {
        AUTO_REPLY | OFF_HOURS_REPLY => {
            let list = if timer.kind == AUTO_REPLY {
                &ctx.rules.auto_replies
            } else {
                &ctx.rules.off_hours_replies
            };
            let Some(reply) = usize::try_from(timer.step).ok().and_then(|i| list.get(i)) else {
                return Ok(());
            };
            let stopped = conv.last_operator_at.is_some() && !ctx.rules.auto_reply_after_operator;
            if status.is_final() || !unanswered(&conv) || stopped {
                return Ok(());
            }
            let lang = customer_lang(conn, &conv)?;
            let name = operator_name(conn, &conv, lang)?;
            send_auto(conn, &conv, &reply.text.replace("{NAME}", &name))?;
        }
        AUTO_CLOSE => {
            if status.is_final() {
                return Ok(());
            }
            let by = t(Lang::Ru, "auto_close_actor");
            crate::inbox::manage::transition(
                conn,
                ctx,
                &conv,
                Status::Closed,
                crate::domain::Actor::System,
                by,
            )?;
        }
        UNANSWERED => {
            if status.is_final() || !unanswered(&conv) {
                return Ok(());
            }
            alert_unanswered(conn, ctx, &conv, timer)?;
        }
        WIDGET_UNREAD | WIDGET_UNANSWERED => {
            let (message, wanted_unread) = if timer.kind == WIDGET_UNREAD {
                (&ctx.rules.unread_message, true)
            } else {
                (&ctx.rules.unanswered_message, false)
            };
            let Some(m) = message else {
                return Ok(());
            };
            if status.is_final() || !unanswered(&conv) || conv.unread != wanted_unread {
                return Ok(());
            }
            send_auto(conn, &conv, &m.text)?;
        }
        // Rating windows just expire.
        _ => {}
    }
    Ok(())
}

fn alert_unanswered(
    conn: &mut DbConn,
    ctx: &Ctx,
    conv: &Conversation,
    timer: &timers::Timer,
) -> Result<()> {
    let minutes = ctx
        .rules
        .unanswered_alert_after_secs
        .unwrap_or_default()
        .max(60)
        / 60;
    let customer = contacts::by_id(conn, conv.project_id, conv.contact_id)?.name;
    let notice = Notice::Unanswered {
        number: conv.number,
        minutes,
        by: customer,
    };
    let to: Vec<i64> = match conv.assignee_id {
        Some(a) => vec![a],
        None => users::members(conn, conv.project_id)?
            .into_iter()
            .map(|u| u.id)
            .collect(),
    };
    for user in to {
        notifications::create(
            conn,
            conv.project_id,
            user,
            Some(conv.id),
            &notice.to_json(),
        )?;
    }
    if let Some(alerts) = &ctx.project.alerts
        && let Some(channel) = crate::store::channels::by_key(conn, &alerts.channel)?
        && channel.project_id == conv.project_id
    {
        let payload = serde_json::to_string(&DirectPayload {
            text: notice.render(crate::i18n::Lang::Ru),
            keyboard: None,
        })
        .map_err(|e| Error::internal(e.to_string()))?;
        outbox::enqueue_direct(conn, conv.project_id, channel.id, &alerts.chat_id, &payload)?;
    }
    tracing::info!(
        conversation = conv.id,
        timer = timer.id,
        "unanswered alert sent"
    );
    Ok(())
}
