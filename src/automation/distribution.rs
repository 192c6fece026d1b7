//! Who gets a channel's new conversations: everyone sees them in the queue (the default), one
//! member takes them all, or they go in turn (round-robin) or to the least busy of the
//! operators online, each up to a limit of open conversations. Nobody available: the
//! conversation waits in the queue and is handed out when someone comes online or gets room.

use chrono::{Duration, NaiveDateTime};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Ctx;
use crate::channels::common as keys;
use crate::domain::event::{Notice, SystemEvent};
use crate::domain::{ChannelId, ProjectId};
use crate::error::Result;
use crate::store::conversations::Conversation;
use crate::store::distribution::{self as store, Available};
use crate::store::{DbConn, users};
use crate::thread;

/// Console closed this long: the operator counts as away, unless the channel says otherwise.
pub const AWAY_AFTER_SECS: i64 = 10 * 60;
pub const MAX_LIMIT: u32 = 1000;
/// Conversations one pass hands out or takes back per channel (the rest wait a tick).
const PASS_BATCH: i64 = 100;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Everyone sees new conversations unassigned; operators take them.
    #[default]
    Queue,
    /// In turn among the operators online, the one given a conversation longest ago first.
    RoundRobin,
    /// To the operator online with the fewest open conversations.
    LeastBusy,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Queue => "queue",
            Mode::RoundRobin => "round_robin",
            Mode::LeastBusy => "least_busy",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Distribution {
    pub mode: Mode,
    /// Every new conversation goes to this member (their e-mail), online or not.
    pub assign_to: Option<String>,
    /// Open conversations an operator may hold before distribution passes them by.
    pub limit: Option<u32>,
    /// Seconds without the console open after which an operator is away.
    pub away_after_secs: Option<i64>,
    /// An operator going offline gives their open conversations here back to the queue.
    pub offline_returns: bool,
}

impl Distribution {
    /// The channel's keys: `distribution`, `assign_to`, `assign_limit`, `away_after`,
    /// `offline_returns`.
    pub fn from_config(config: &Value) -> std::result::Result<Distribution, String> {
        let mode = keys::choice(
            config,
            "distribution",
            &[
                ("queue", Mode::Queue),
                ("round_robin", Mode::RoundRobin),
                ("least_busy", Mode::LeastBusy),
            ],
        )?
        .unwrap_or_default();
        let limit = match config.get("assign_limit") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(v) => {
                let n = v
                    .as_u64()
                    .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
                    .ok_or("assign_limit must be a whole number of conversations, e.g. 10")?;
                Some(u32::try_from(n).unwrap_or(u32::MAX))
            }
        };
        let away_after_secs = match config.get("away_after") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s)) => Some(
                super::rules::parse_duration(s, true).map_err(|e| format!("away_after: {e}"))?,
            ),
            Some(_) => return Err("away_after must be a duration such as \"10m\"".into()),
        };
        let d = Distribution {
            mode,
            assign_to: keys::opt_str(config, "assign_to")?
                .map(|s| s.trim().to_lowercase())
                .filter(|s| !s.is_empty()),
            limit,
            away_after_secs,
            offline_returns: keys::flag(config, "offline_returns", false)?,
        };
        d.validate()?;
        Ok(d)
    }

    pub fn validate(&self) -> std::result::Result<(), String> {
        if let Some(m) = &self.assign_to {
            if self.mode != Mode::Queue {
                return Err(format!(
                    "assign_to gives every conversation to {m}; it cannot be combined with distribution = \"{}\"",
                    self.mode.as_str()
                ));
            }
            if !m.contains('@') {
                return Err(format!("assign_to \"{m}\" must be a member's e-mail"));
            }
        }
        if let Some(n) = self.limit {
            if self.mode == Mode::Queue {
                return Err(
                    "assign_limit applies to round_robin and least_busy distribution only".into(),
                );
            }
            if n == 0 || n > MAX_LIMIT {
                return Err(format!("assign_limit must be from 1 to {MAX_LIMIT}"));
            }
        }
        // An open console says so once a minute: less would count readers as away.
        if self.away_after_secs.is_some_and(|s| s < 120) {
            return Err("away_after must be at least 2m".into());
        }
        Ok(())
    }

    /// Whether new conversations are given to anyone at all (not only shown in the queue).
    pub fn active(&self) -> bool {
        self.picks() || self.assign_to.is_some()
    }

    /// Whether operators are picked automatically (round-robin or least-busy).
    pub fn picks(&self) -> bool {
        self.mode != Mode::Queue
    }

    pub fn away_after(&self) -> Duration {
        Duration::seconds(self.away_after_secs.unwrap_or(AWAY_AFTER_SECS))
    }
}

/// The operator a conversation goes to now, if anyone has room.
fn pick(
    conn: &mut DbConn,
    d: &Distribution,
    project_id: ProjectId,
    team: Option<i64>,
    now: NaiveDateTime,
) -> Result<Option<Available>> {
    let pool = store::available(conn, project_id, team, now - d.away_after())?;
    if pool.is_empty() {
        return Ok(None);
    }
    let ids: Vec<i64> = pool.iter().map(|a| a.user_id).collect();
    let counts = store::open_counts(conn, project_id, &ids)?;
    let load = |a: &Available| counts.get(&a.user_id).copied().unwrap_or(0);
    let room = pool
        .into_iter()
        .filter(|a| d.limit.is_none_or(|l| load(a) < i64::from(l)));
    // Never given one sorts first (None < Some), then the earliest turn, then by id.
    Ok(match d.mode {
        Mode::Queue => None,
        Mode::RoundRobin => room.min_by_key(|a| (a.turn, a.user_id)),
        Mode::LeastBusy => room.min_by_key(|a| (load(a), a.turn, a.user_id)),
    })
}

/// Gives `c` to `to` with its record in the thread and a notice to them; false when
/// someone took it meanwhile.
fn give(conn: &mut DbConn, c: &Conversation, to: &Available) -> Result<bool> {
    if !store::assign_waiting(conn, c.id, to.user_id)? {
        return Ok(false);
    }
    store::mark_assigned(conn, c.project_id, to.user_id)?;
    thread::record(
        conn,
        c,
        &SystemEvent::AutoAssigned {
            to: to.name.clone(),
        },
    )?;
    let notice = Notice::Assigned {
        number: c.number,
        by: None,
        note: None,
    };
    crate::thread::notify::notify(conn, c.project_id, to.user_id, Some(c.id), &notice)?;
    Ok(true)
}

/// A customer wrote into `c` (new or not): if nobody holds it and the channel distributes,
/// it is given to someone now. Returns who got it.
pub fn arrived(conn: &mut DbConn, ctx: &Ctx, c: &Conversation) -> Result<Option<i64>> {
    let d = &ctx.rules.distribution;
    if c.assignee_id.is_some() || c.closed_at.is_some() {
        return Ok(None);
    }
    if let Some(email) = &d.assign_to {
        let Some(user) = users::by_email(conn, email)? else {
            return Ok(None);
        };
        let member = crate::store::members::access_in(conn, c.project_id, user.id)?
            .is_some_and(|a| a.can(crate::domain::Can::Answer));
        if !member {
            return Ok(None);
        }
        let to = Available {
            user_id: user.id,
            name: user.name,
            turn: None,
        };
        return Ok(give(conn, c, &to)?.then_some(to.user_id));
    }
    if !d.picks() {
        return Ok(None);
    }
    store::lock(conn, c.project_id)?;
    let Some(to) = pick(conn, d, c.project_id, c.team_id, ctx.now)? else {
        return Ok(None);
    };
    Ok(give(conn, c, &to)?.then_some(to.user_id))
}

/// What one pass over a channel did.
#[derive(Debug, Default)]
pub struct Pass {
    pub given: Vec<Conversation>,
    pub returned: Vec<Conversation>,
}

/// One channel's turn: conversations of operators who went away come back to the queue
/// (where the channel says so), then the queue is handed out while anyone has room.
pub fn pass(
    conn: &mut DbConn,
    ctx: &Ctx,
    project_id: ProjectId,
    channel_id: ChannelId,
) -> Result<Pass> {
    let d = &ctx.rules.distribution;
    let mut out = Pass::default();
    if !d.picks() {
        return Ok(out);
    }
    if d.offline_returns {
        let since = ctx.now - d.away_after();
        for uid in store::away(conn, project_id, since)? {
            let held = store::held(conn, project_id, uid, &[channel_id], PASS_BATCH)?;
            if held.is_empty() {
                continue;
            }
            let name = users::by_id(conn, uid)?.name;
            for c in held {
                crate::store::conversations::set_assignee(conn, c.id, None)?;
                thread::record(conn, &c, &SystemEvent::Returned { from: name.clone() })?;
                out.returned.push(c);
            }
        }
    }
    // Rows first, then the project's lock (see `store::lock`).
    let waiting = store::waiting(conn, channel_id, PASS_BATCH)?;
    if waiting.is_empty() {
        return Ok(out);
    }
    store::lock(conn, project_id)?;
    for c in waiting {
        let Some(to) = pick(conn, d, project_id, c.team_id, ctx.now)? else {
            // A team's members may be full while another team's are not: go on.
            if c.team_id.is_none() {
                break;
            }
            continue;
        };
        if give(conn, &c, &to)? {
            out.given.push(c);
        }
    }
    Ok(out)
}
