//! Days packed for the reports: for every UTC day before a project's horizon, one row holds
//! what that day's conversations measure and which closings happened on it, so a year-long
//! report reads 365 rows instead of half a million. Triggers in the migration mark a packed
//! day stale in the same transaction as any change to what it holds; a stale or missing day
//! is read from the conversations until the builder (`rebuild`) has packed it again.
//! A new packing format's migration empties `report_days`.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::packed;
use super::reports::{self, Closing, Fact, Scope};
use super::schema::{conversations, report_days, report_horizon, report_stale};
use super::{DbConn, now};
use crate::domain::ProjectId;
use crate::error::Result;

/// Conversations read per page while packing a day.
const PAGE: i64 = 5000;

fn text(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// The UTC instant a UTC date starts at.
pub fn start(d: NaiveDate) -> NaiveDateTime {
    d.and_time(chrono::NaiveTime::MIN)
}

/// The project's horizon (days before it are packed) and when it last moved.
pub fn horizon(
    conn: &mut DbConn,
    project_id: ProjectId,
) -> Result<Option<(NaiveDate, NaiveDateTime)>> {
    let row: Option<(String, NaiveDateTime)> = report_horizon::table
        .find(project_id.0)
        .select((report_horizon::until, report_horizon::moved_at))
        .first(conn)
        .optional()?;
    Ok(row.and_then(|(u, at)| date(&u).map(|d| (d, at))))
}

/// Moves the horizon forward to `until` (never back); whether it moved.
pub fn move_horizon(conn: &mut DbConn, project_id: ProjectId, until: NaiveDate) -> Result<bool> {
    let until = text(until);
    let moved = diesel::update(report_horizon::table.find(project_id.0))
        .filter(report_horizon::until.lt(&until))
        .set((
            report_horizon::until.eq(&until),
            report_horizon::moved_at.eq(now()),
        ))
        .execute(conn)?;
    if moved > 0 {
        return Ok(true);
    }
    let exists: i64 = report_horizon::table
        .filter(report_horizon::project_id.eq(project_id.0))
        .count()
        .get_result(conn)?;
    if exists > 0 {
        return Ok(false);
    }
    diesel::insert_into(report_horizon::table)
        .values((
            report_horizon::project_id.eq(project_id.0),
            report_horizon::until.eq(&until),
            report_horizon::moved_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(true)
}

/// The horizon for a clock reading: yesterday by that clock (or by the wall's, if earlier).
pub fn horizon_for(now_by_clock: NaiveDateTime) -> NaiveDate {
    now_by_clock.min(now()).date() - chrono::Duration::days(1)
}

/// Marks the days these conversations were opened on stale where they are packed. The
/// hottest writes (customer messages and answers: first_customer_at, messages_in,
/// messages_out) call this once per batch instead of waking a trigger on every row: a
/// per-row trigger, or a RETURNING to learn each row's day, slows SQLite's group commit by
/// a third, and those writes almost always touch conversations newer than the horizon.
pub fn touched(conn: &mut DbConn, ids: &[crate::domain::ConversationId]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let list = ids
        .iter()
        .map(|i| i.0.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let (day, until) = match conn {
        DbConn::Postgresql(_) => ("to_char(c.created_at, 'YYYY-MM-DD')", "h.until::timestamp"),
        DbConn::Sqlite(_) => ("date(c.created_at)", "h.until"),
    };
    diesel::sql_query(format!(
        "INSERT INTO report_stale (project_id, day) \
         SELECT DISTINCT c.project_id, {day} FROM conversations c \
         JOIN report_horizon h ON h.project_id = c.project_id \
         WHERE c.id IN ({list}) AND c.created_at < {until}"
    ))
    .execute(conn)?;
    Ok(())
}

/// One packed day as stored.
pub struct Packed {
    pub day: NaiveDate,
    pub opened: Vec<u8>,
    pub closed: Vec<u8>,
}

impl Packed {
    pub fn opened(&self) -> std::result::Result<packed::Opened, packed::Unreadable> {
        packed::unpack_opened(start(self.day), &self.opened)
    }

    pub fn closed(&self) -> std::result::Result<Vec<Closing>, packed::Unreadable> {
        packed::unpack_closed(start(self.day), &self.closed)
    }
}

pub fn fresh_query(
    project_id: ProjectId,
    from: NaiveDate,
    to: NaiveDate,
) -> report_days::BoxedQuery<'static, super::MultiBackend> {
    report_days::table
        .filter(report_days::project_id.eq(project_id.0))
        .filter(report_days::day.ge(text(from)))
        .filter(report_days::day.le(text(to)))
        .filter(diesel::dsl::not(diesel::dsl::exists(
            report_stale::table
                .filter(report_stale::project_id.eq(report_days::project_id))
                .filter(report_stale::day.eq(report_days::day)),
        )))
        .into_boxed()
}

/// The packed days in [from, to] (UTC dates) that still say what their rows say.
pub fn fresh(
    conn: &mut DbConn,
    project_id: ProjectId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<Packed>> {
    let rows: Vec<(String, Vec<u8>, Vec<u8>)> = fresh_query(project_id, from, to)
        .select((report_days::day, report_days::opened, report_days::closed))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(d, opened, closed)| {
            Some(Packed {
                day: date(&d)?,
                opened,
                closed,
            })
        })
        .collect())
}

/// The days marked stale, oldest first.
pub fn stale_query(
    project_id: ProjectId,
    limit: i64,
) -> report_stale::BoxedQuery<'static, super::MultiBackend, diesel::sql_types::Text> {
    report_stale::table
        .filter(report_stale::project_id.eq(project_id.0))
        .select(report_stale::day)
        .order(report_stale::day)
        .distinct()
        .limit(limit)
        .into_boxed()
}

/// When the project's first conversation was opened.
pub fn first_query(
    project_id: ProjectId,
) -> conversations::BoxedQuery<'static, super::MultiBackend, diesel::sql_types::Timestamp> {
    conversations::table
        .filter(conversations::project_id.eq(project_id.0))
        .order(conversations::created_at)
        .select(conversations::created_at)
        .into_boxed()
}

/// Up to `limit` days the builder should pack: stale ones first, then those before the
/// horizon never packed (from the project's first conversation on). Missing days are left
/// out when `missing` is false (the horizon moved a moment ago).
pub fn due(
    conn: &mut DbConn,
    project_id: ProjectId,
    until: NaiveDate,
    missing: bool,
    limit: usize,
) -> Result<Vec<NaiveDate>> {
    let stale: Vec<String> = stale_query(project_id, limit as i64).load(conn)?;
    let mut out: Vec<NaiveDate> = stale.iter().filter_map(|d| date(d)).collect();
    if !missing || out.len() >= limit {
        return Ok(out);
    }
    let first: Option<NaiveDateTime> = first_query(project_id).first(conn).optional()?;
    let Some(first) = first else { return Ok(out) };
    let packed: std::collections::HashSet<String> = report_days::table
        .filter(report_days::project_id.eq(project_id.0))
        .select(report_days::day)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    for d in first.date().iter_days().take_while(|d| *d < until) {
        if out.len() >= limit {
            break;
        }
        if !packed.contains(&text(d)) && !out.contains(&d) {
            out.push(d);
        }
    }
    Ok(out)
}

/// Packs one UTC day afresh from its rows and clears the marks read before reading them.
/// Runs inside a write transaction; the horizon row's lock keeps two instances from
/// interleaving their rebuilds of a project.
pub fn rebuild(conn: &mut DbConn, project_id: ProjectId, day: NaiveDate) -> Result<()> {
    diesel::update(report_horizon::table.find(project_id.0))
        .set(report_horizon::until.eq(report_horizon::until))
        .execute(conn)?;
    let marks: Vec<i64> = report_stale::table
        .filter(report_stale::project_id.eq(project_id.0))
        .filter(report_stale::day.eq(text(day)))
        .select(report_stale::id)
        .load(conn)?;
    let (from, to) = (start(day), start(day + chrono::Duration::days(1)));
    let whole = Scope {
        project_id,
        from,
        to,
        channel: None,
        team: None,
        operator: None,
        tag: None,
    };
    let mut opened: Vec<(Fact, Vec<i64>)> = Vec::new();
    let mut after = None;
    loop {
        let page = reports::opened(conn, &whole, after, PAGE)?;
        let Some(last) = page.last() else { break };
        after = Some((last.created_at, last.id));
        let full = page.len() as i64 == PAGE;
        let mut tags = tags_by_id(conn, &page.iter().map(|f| f.id).collect::<Vec<_>>())?;
        opened.extend(page.into_iter().map(|f| {
            let t = tags.remove(&f.id.0).unwrap_or_default();
            (f, t)
        }));
        if !full {
            break;
        }
    }
    let closings = reports::closings(conn, &whole, from, to)?;
    let mut tags = tags_by_id(
        conn,
        &closings.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
    )?;
    let closed: Vec<Closing> = closings
        .into_iter()
        .map(|(id, mut c)| {
            c.tags = tags.remove(&id.0).unwrap_or_default();
            c
        })
        .collect();
    let key = text(day);
    diesel::delete(report_days::table.find((project_id.0, &key))).execute(conn)?;
    diesel::insert_into(report_days::table)
        .values((
            report_days::project_id.eq(project_id.0),
            report_days::day.eq(&key),
            report_days::opened.eq(packed::pack_opened(from, &opened)),
            report_days::closed.eq(packed::pack_closed(from, &closed)),
            report_days::built_at.eq(now()),
        ))
        .execute(conn)?;
    for chunk in marks.chunks(1000) {
        diesel::delete(report_stale::table.filter(report_stale::id.eq_any(chunk))).execute(conn)?;
    }
    Ok(())
}

fn tags_by_id(
    conn: &mut DbConn,
    ids: &[crate::domain::ConversationId],
) -> Result<std::collections::HashMap<i64, Vec<i64>>> {
    let mut out: std::collections::HashMap<i64, Vec<i64>> = std::collections::HashMap::new();
    for chunk in ids.chunks(PAGE as usize) {
        for (c, t) in reports::tags_of(conn, chunk)? {
            out.entry(c.0).or_default().push(t);
        }
    }
    for t in out.values_mut() {
        t.sort_unstable();
    }
    Ok(out)
}
