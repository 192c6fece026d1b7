use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::outbox;
use super::{DbConn, now};
use crate::domain::{ChannelId, ProjectId};
use crate::error::Result;

#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = outbox)]
pub struct OutboxRow {
    pub id: i64,
    pub project_id: ProjectId,
    pub message_id: Option<i64>,
    pub channel_id: ChannelId,
    pub recipient: Option<String>,
    pub payload: Option<String>,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub locked_until: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
}

pub fn enqueue(
    conn: &mut DbConn,
    project_id: ProjectId,
    message_id: i64,
    channel_id: ChannelId,
) -> Result<i64> {
    enqueue_with(conn, project_id, message_id, channel_id, None)
}

/// An operator message whose delivery needs more than its text (a WhatsApp template).
pub fn enqueue_with(
    conn: &mut DbConn,
    project_id: ProjectId,
    message_id: i64,
    channel_id: ChannelId,
    payload: Option<&str>,
) -> Result<i64> {
    let t = now();
    let conversation: i64 = super::schema::messages::table
        .find(message_id)
        .select(super::schema::messages::conversation_id)
        .first(conn)?;
    Ok(diesel::insert_into(outbox::table)
        .values((
            outbox::project_id.eq(project_id),
            outbox::message_id.eq(message_id),
            outbox::order_key.eq(format!("c:{conversation}")),
            outbox::channel_id.eq(channel_id),
            outbox::payload.eq(payload),
            outbox::status.eq("pending"),
            outbox::attempts.eq(0),
            outbox::next_attempt_at.eq(t),
            outbox::created_at.eq(t),
        ))
        .returning(outbox::id)
        .get_result(conn)?)
}

/// A bot message that belongs to no conversation (menus, prompts): what to send and to whom.
pub fn enqueue_direct(
    conn: &mut DbConn,
    project_id: ProjectId,
    channel_id: ChannelId,
    recipient: &str,
    payload: &str,
) -> Result<i64> {
    let t = now();
    Ok(diesel::insert_into(outbox::table)
        .values((
            outbox::project_id.eq(project_id),
            outbox::channel_id.eq(channel_id),
            outbox::order_key.eq(format!("r:{channel_id}:{recipient}")),
            outbox::recipient.eq(recipient),
            outbox::payload.eq(payload),
            outbox::status.eq("pending"),
            outbox::attempts.eq(0),
            outbox::next_attempt_at.eq(t),
            outbox::created_at.eq(t),
        ))
        .returning(outbox::id)
        .get_result(conn)?)
}

/// Claims due rows for one delivery attempt each. The lease makes a crashed worker's rows
/// due again; the re-checked condition in the UPDATE keeps two instances from claiming the
/// same row (PostgreSQL re-evaluates it after taking the row lock). A row whose conversation
/// (or recipient) has an older row still pending waits for it: replies arrive in order even
/// when the platform was down and retries are under way.
pub fn claim_due(conn: &mut DbConn, limit: i64, lease: chrono::Duration) -> Result<Vec<OutboxRow>> {
    let t = now();
    let free = outbox::locked_until
        .is_null()
        .or(outbox::locked_until.lt(t));
    let older = diesel::alias!(outbox as older);
    let waits = diesel::dsl::exists(
        older
            .filter(older.field(outbox::order_key).eq(outbox::order_key))
            .filter(super::literal("older.status = 'pending'"))
            .filter(older.field(outbox::id).lt(outbox::id))
            .select(older.field(outbox::id)),
    );
    let ids: Vec<i64> = outbox::table
        .filter(outbox::status.eq("pending"))
        .filter(outbox::next_attempt_at.le(t))
        .filter(free)
        .filter(diesel::dsl::not(waits))
        .order(outbox::id)
        .limit(limit)
        .select(outbox::id)
        .load(conn)?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let claimed: Vec<i64> = diesel::update(
        outbox::table
            .filter(outbox::id.eq_any(&ids))
            .filter(outbox::status.eq("pending"))
            .filter(
                outbox::locked_until
                    .is_null()
                    .or(outbox::locked_until.lt(t)),
            ),
    )
    .set((
        outbox::locked_until.eq(t + lease),
        outbox::attempts.eq(outbox::attempts + 1),
    ))
    .returning(outbox::id)
    .get_results(conn)?;
    Ok(outbox::table
        .filter(outbox::id.eq_any(&claimed))
        .order(outbox::id)
        .select(OutboxRow::as_select())
        .load(conn)?)
}

/// Gives back claimed rows that were not tried: free at once, the claim's attempt not counted.
pub fn release(conn: &mut DbConn, ids: &[i64]) -> Result<()> {
    diesel::update(
        outbox::table
            .filter(outbox::id.eq_any(ids))
            .filter(outbox::status.eq("pending")),
    )
    .set((
        outbox::locked_until.eq(None::<chrono::NaiveDateTime>),
        outbox::attempts.eq(outbox::attempts - 1),
    ))
    .execute(conn)?;
    Ok(())
}

/// A claimed row whose channel is paused: tried again at `at` (or when the channel resumes),
/// the claim's attempt not counted.
pub fn wait(conn: &mut DbConn, id: i64, at: NaiveDateTime, why: &str) -> Result<()> {
    diesel::update(outbox::table.find(id))
        .set((
            outbox::next_attempt_at.eq(at),
            outbox::locked_until.eq(None::<NaiveDateTime>),
            outbox::attempts.eq(outbox::attempts - 1),
            outbox::last_error.eq(why),
        ))
        .execute(conn)?;
    Ok(())
}

/// A resumed channel's waiting deliveries become due now.
pub fn wake_channel(conn: &mut DbConn, channel_id: ChannelId) -> Result<usize> {
    Ok(diesel::update(
        outbox::table
            .filter(outbox::channel_id.eq(channel_id))
            .filter(outbox::status.eq("pending")),
    )
    .set(outbox::next_attempt_at.eq(now()))
    .execute(conn)?)
}

pub fn mark_done(conn: &mut DbConn, id: i64) -> Result<()> {
    diesel::update(outbox::table.find(id))
        .set((
            outbox::status.eq("done"),
            outbox::locked_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn retry_later(conn: &mut DbConn, id: i64, at: NaiveDateTime, error: &str) -> Result<()> {
    diesel::update(outbox::table.find(id))
        .set((
            outbox::next_attempt_at.eq(at),
            outbox::locked_until.eq(None::<NaiveDateTime>),
            outbox::last_error.eq(error),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn mark_failed(conn: &mut DbConn, id: i64, error: &str) -> Result<()> {
    diesel::update(outbox::table.find(id))
        .set((
            outbox::status.eq("failed"),
            outbox::locked_until.eq(None::<NaiveDateTime>),
            outbox::last_error.eq(error),
        ))
        .execute(conn)?;
    Ok(())
}

/// Rows still waiting for delivery (the /metrics outbox depth).
pub fn depth(conn: &mut DbConn) -> Result<i64> {
    Ok(outbox::table
        .filter(outbox::status.eq("pending"))
        .count()
        .get_result(conn)?)
}

/// The soonest pending attempt, so the worker sleeps exactly until then.
pub fn next_due(conn: &mut DbConn) -> Result<Option<NaiveDateTime>> {
    Ok(outbox::table
        .filter(outbox::status.eq("pending"))
        .select(diesel::dsl::min(outbox::next_attempt_at))
        .first::<Option<NaiveDateTime>>(conn)?)
}
