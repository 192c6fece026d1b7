//! Automation: what happens without an operator. Events (a customer writes, an operator
//! answers, a status changes) arm or reset timers inside the transaction that records them;
//! the scheduler fires due timers, each in the transaction that does its work, so a timer
//! fires once even across restarts and instances.

pub mod distribution;
pub mod measures;
pub mod rating;
pub mod report_settings;
pub mod rules;
pub mod schedule;
pub mod transition;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chrono::{Duration, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::channels::{DirectPayload, Keyboard};
use crate::clock::Clock;
use crate::domain::event::Notice;
use crate::domain::{Actor, Status, TimerKind};
use crate::error::Result;
use crate::i18n::{Lang, customer::t};
use crate::store::conversations::Conversation;
use crate::store::timers::{self, Arm};
use crate::store::{DbConn, contacts, members, project_settings, users};
use crate::thread;
pub use rating::{RatingAnswer, record_rating};
pub use report_settings::ReportSettings;
pub use rules::{ChannelRules, OffHours};
pub use schedule::Schedule;
pub use transition::transition;

/// What an operator's answer (or a resolution) makes moot.
const WAITING: [TimerKind; 5] = [
    TimerKind::AutoReply,
    TimerKind::OffHoursReply,
    TimerKind::Unanswered,
    TimerKind::WidgetUnread,
    TimerKind::WidgetUnanswered,
];

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
    pub reports: ReportSettings,
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
            reports: row
                .reports
                .as_deref()
                .and_then(|s| serde_json::from_str(s).ok())
                .unwrap_or_default(),
        }
    }

    /// Working seconds between two instants; all of them without a schedule (open around
    /// the clock).
    pub fn working_secs(&self, from: NaiveDateTime, to: NaiveDateTime) -> i64 {
        match &self.schedule {
            Some(s) => s.working_secs(from, to),
            None => (to - from).num_seconds().max(0),
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
    projects: RwLock<HashMap<crate::domain::ProjectId, Arc<ProjectAutomation>>>,
}

impl Automation {
    pub fn new(clock: Clock) -> Automation {
        Automation {
            clock,
            projects: RwLock::new(HashMap::new()),
        }
    }

    pub fn project(&self, id: crate::domain::ProjectId) -> Arc<ProjectAutomation> {
        self.projects
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
            .cloned()
            .unwrap_or_default()
    }

    /// The projects whose daily summary is set.
    pub fn with_summary(&self) -> Vec<(crate::domain::ProjectId, Arc<ProjectAutomation>)> {
        self.projects
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|(_, p)| p.reports.summary_at.is_some())
            .map(|(id, p)| (*id, p.clone()))
            .collect()
    }

    pub fn load(&self, rows: &[project_settings::Row]) {
        let map = rows
            .iter()
            .map(|r| (r.project_id, Arc::new(ProjectAutomation::from_row(r))))
            .collect();
        *self.projects.write().unwrap_or_else(|e| e.into_inner()) = map;
    }

    /// What the rules of one channel need at this moment.
    pub fn ctx(
        &self,
        project_id: crate::domain::ProjectId,
        rules: Arc<ChannelRules>,
        helpdesk: bool,
        buttons: bool,
        widget: bool,
    ) -> Ctx {
        Ctx {
            rules,
            project: self.project(project_id),
            now: self.clock.now(),
            helpdesk,
            buttons,
            widget,
        }
    }

    /// For a conversation whose channel is gone: no rules apply.
    pub fn ctx_without_channel(&self) -> Ctx {
        Ctx {
            now: self.clock.now(),
            ..Ctx::default()
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
        (false, OffHours::AutoReply) => (TimerKind::OffHoursReply, &r.off_hours_replies),
        (false, OffHours::Bot) => (TimerKind::AutoReply, &Vec::new()),
        _ => (TimerKind::AutoReply, &r.auto_replies),
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
        timers::arm(
            conn,
            pid,
            cid,
            TimerKind::Unanswered,
            0,
            now + secs(s),
            Arm::Keep,
        )?;
    }
    if let Some(m) = &r.unread_message
        && conv.unread
    {
        timers::arm(
            conn,
            pid,
            cid,
            TimerKind::WidgetUnread,
            0,
            now + secs(m.after_secs),
            Arm::Keep,
        )?;
    }
    if let Some(s) = r.auto_close_after_secs {
        timers::arm(
            conn,
            pid,
            cid,
            TimerKind::AutoClose,
            0,
            now + secs(s),
            Arm::Restart,
        )?;
    }
    Ok(())
}

/// An operator answered: waiting auto-replies and alerts are dropped (a new customer message
/// starts them again) and the inactivity clock restarts.
pub fn operator_answered(conn: &mut DbConn, ctx: &Ctx, conv: &Conversation) -> Result<()> {
    measures::answered(conn, ctx, conv)?;
    timers::reset(conn, conv.id, &WAITING)?;
    if let Some(s) = ctx.rules.auto_close_after_secs {
        timers::arm(
            conn,
            conv.project_id,
            conv.id,
            TimerKind::AutoClose,
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
    measures::status_changed(conn, conv, from, to)?;
    match to {
        Status::Closed | Status::Cancelled => timers::cancel_pending(conn, conv.id)?,
        Status::Resolved => timers::reset(conn, conv.id, &WAITING)?,
        _ => {}
    }
    if to == Status::Closed
        && let Some(text) = &ctx.rules.closing_message
    {
        send_auto(conn, ctx, conv, text)?;
    }
    let finished = matches!(to, Status::Resolved | Status::Closed);
    // A resolved request that the rating closes was asked already.
    let asked = from == Status::Resolved && to == Status::Closed;
    if finished && !asked && !ctx.helpdesk && ctx.rating() && conv.rating.is_none() {
        rating::ask(conn, ctx, conv)?;
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
            TimerKind::WidgetUnanswered,
            0,
            ctx.now + secs(m.after_secs),
            Arm::Keep,
        )?;
    }
    Ok(())
}

/// A message the system sends on the team's behalf, shown in the thread like an operator's
/// reply without an author. It does not count as an operator's answer.
pub fn send_auto(conn: &mut DbConn, ctx: &Ctx, conv: &Conversation, text: &str) -> Result<i64> {
    thread::add_outgoing(conn, conv, None, text, &[], None, ctx.now)
}

fn customer_lang(conn: &mut DbConn, conv: &Conversation) -> Result<Lang> {
    let c = contacts::by_id(conn, conv.project_id, conv.contact_id)?;
    Ok(Lang::of(c.language.as_deref()))
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
        send_auto(conn, ctx, conv, &text)?;
        return Ok(());
    }
    thread::say_direct(
        conn,
        conv.project_id,
        conv.channel_id,
        recipient,
        &DirectPayload { text, keyboard },
        Some(conv),
    )?;
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
pub fn fire(
    conn: &mut DbConn,
    ctx: &Ctx,
    timer: &timers::Timer,
    conv: &Conversation,
) -> Result<()> {
    let status = conv.status;
    match timer.kind {
        TimerKind::AutoReply | TimerKind::OffHoursReply => {
            let list = if timer.kind == TimerKind::AutoReply {
                &ctx.rules.auto_replies
            } else {
                &ctx.rules.off_hours_replies
            };
            let Some(reply) = usize::try_from(timer.step).ok().and_then(|i| list.get(i)) else {
                return Ok(());
            };
            let stopped = conv.last_operator_at.is_some() && !ctx.rules.auto_reply_after_operator;
            if status.is_final() || !unanswered(conv) || stopped {
                return Ok(());
            }
            let lang = customer_lang(conn, conv)?;
            let name = operator_name(conn, conv, lang)?;
            send_auto(conn, ctx, conv, &reply.text.replace("{NAME}", &name))?;
        }
        TimerKind::AutoClose => {
            if status.is_final() {
                return Ok(());
            }
            let by = t(Lang::Ru, "auto_close_actor");
            transition(conn, ctx, conv, Status::Closed, Actor::System, by)?;
        }
        TimerKind::Unanswered => {
            if status.is_final() || !unanswered(conv) {
                return Ok(());
            }
            alert_unanswered(conn, ctx, conv, timer)?;
        }
        TimerKind::WidgetUnread | TimerKind::WidgetUnanswered => {
            let (message, wanted_unread) = if timer.kind == TimerKind::WidgetUnread {
                (&ctx.rules.unread_message, true)
            } else {
                (&ctx.rules.unanswered_message, false)
            };
            let Some(m) = message else {
                return Ok(());
            };
            if status.is_final() || !unanswered(conv) || conv.unread != wanted_unread {
                return Ok(());
            }
            send_auto(conn, ctx, conv, &m.text)?;
        }
        // Rating windows just expire.
        TimerKind::Rating | TimerKind::RatingComment => {}
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
        None => members::members(conn, conv.project_id)?
            .into_iter()
            .map(|u| u.id)
            .collect(),
    };
    for user in to {
        crate::thread::notify::notify(conn, conv.project_id, user, Some(conv.id), &notice)?;
    }
    if let Some(alerts) = &ctx.project.alerts
        && let Some(channel) = crate::store::channels::by_key(conn, &alerts.channel)?
        && channel.project_id == conv.project_id
    {
        thread::say_direct(
            conn,
            conv.project_id,
            channel.id,
            &alerts.chat_id,
            &DirectPayload {
                text: crate::i18n::events::notice(&notice, Lang::Ru),
                keyboard: None,
            },
            None,
        )?;
    }
    tracing::info!(
        conversation = %conv.id,
        timer = timer.id,
        "unanswered alert sent"
    );
    Ok(())
}
