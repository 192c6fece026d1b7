//! Counters of sign-in attempts in fixed windows, one row per key. Counting is one upsert, so
//! concurrent attempts (on any instance) each see a distinct count and none slips past a limit.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};

use super::schema::login_attempts;
use super::{DbConn, now};
use crate::error::Result;

/// How long a window of counted attempts lasts.
pub const WINDOW_SECS: i64 = 15 * 60;

fn window() -> chrono::Duration {
    chrono::Duration::seconds(WINDOW_SECS)
}

#[derive(QueryableByName)]
struct Counted {
    #[diesel(sql_type = BigInt)]
    attempts: i64,
    #[diesel(sql_type = Timestamp)]
    window_start: NaiveDateTime,
}

/// Counts one attempt under `key`; a window that has passed starts again at one.
/// Returns the count within the current window and when that window ends.
pub fn count(conn: &mut DbConn, key: &str) -> Result<(i64, NaiveDateTime)> {
    let t = now();
    let stale = t - window();
    let sql = |p: [&str; 4]| {
        format!(
            "INSERT INTO login_attempts (key, attempts, window_start) VALUES ({}, 1, {}) \
             ON CONFLICT (key) DO UPDATE SET \
             attempts = CASE WHEN login_attempts.window_start <= {} THEN 1 ELSE login_attempts.attempts + 1 END, \
             window_start = CASE WHEN login_attempts.window_start <= {} THEN excluded.window_start ELSE login_attempts.window_start END \
             RETURNING attempts, window_start",
            p[0], p[1], p[2], p[3]
        )
    };
    let q = |s: String| {
        diesel::sql_query(s)
            .bind::<Text, _>(key.to_string())
            .bind::<Timestamp, _>(t)
            .bind::<Timestamp, _>(stale)
            .bind::<Timestamp, _>(stale)
    };
    let row: Counted = match conn {
        DbConn::Postgresql(c) => q(sql(["$1", "$2", "$3", "$4"])).get_result(c)?,
        DbConn::Sqlite(c) => q(sql(["?", "?", "?", "?"])).get_result(c)?,
    };
    Ok((row.attempts, row.window_start + window()))
}

/// Takes back one counted attempt (it turned out to be a good one).
pub fn uncount(conn: &mut DbConn, key: &str) -> Result<()> {
    diesel::update(login_attempts::table.find(key))
        .set(login_attempts::attempts.eq(login_attempts::attempts - 1))
        .execute(conn)?;
    Ok(())
}

pub fn clear(conn: &mut DbConn, key: &str) -> Result<()> {
    diesel::delete(login_attempts::table.find(key)).execute(conn)?;
    Ok(())
}

/// Forgets windows that have passed; returns how many.
pub fn delete_stale(conn: &mut DbConn) -> Result<usize> {
    Ok(diesel::delete(
        login_attempts::table.filter(login_attempts::window_start.le(now() - window())),
    )
    .execute(conn)?)
}
