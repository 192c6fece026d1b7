//! Notification letters waiting for the SMTP server. Queued in the transaction that made
//! the notice, so a letter is never lost to a crash or a mail server that is down; claimed
//! with a lease like the outbox, so two instances never send the same letter.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::letters;
use super::{DbConn, now};
use crate::domain::{ConversationId, ProjectId};
use crate::error::Result;

#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = letters)]
pub struct Letter {
    pub id: i64,
    pub project_id: ProjectId,
    pub user_id: i64,
    pub conversation_id: Option<ConversationId>,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
}

pub struct NewLetter<'a> {
    pub project_id: ProjectId,
    pub user_id: i64,
    pub conversation_id: Option<ConversationId>,
    pub recipient: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
}

pub fn enqueue(conn: &mut DbConn, l: &NewLetter) -> Result<i64> {
    let t = now();
    Ok(diesel::insert_into(letters::table)
        .values((
            letters::project_id.eq(l.project_id),
            letters::user_id.eq(l.user_id),
            letters::conversation_id.eq(l.conversation_id.map(|c| c.0)),
            letters::recipient.eq(l.recipient),
            letters::subject.eq(l.subject),
            letters::body.eq(l.body),
            letters::status.eq("pending"),
            letters::attempts.eq(0),
            letters::next_attempt_at.eq(t),
            letters::created_at.eq(t),
        ))
        .returning(letters::id)
        .get_result(conn)?)
}

/// Due letters that nobody holds, soonest first. The status is a literal so that both
/// databases see the partial index `letters_due` applies.
pub(super) fn due_query(
    t: NaiveDateTime,
    limit: i64,
) -> letters::BoxedQuery<'static, super::MultiBackend, diesel::sql_types::BigInt> {
    letters::table
        .filter(super::literal("letters.status = 'pending'"))
        .filter(letters::next_attempt_at.le(t))
        .filter(
            letters::locked_until
                .is_null()
                .or(letters::locked_until.lt(t)),
        )
        .order(letters::next_attempt_at)
        .limit(limit)
        .select(letters::id)
        .into_boxed()
}

pub(super) fn next_due_query() -> letters::BoxedQuery<
    'static,
    super::MultiBackend,
    diesel::sql_types::Nullable<diesel::sql_types::Timestamp>,
> {
    letters::table
        .filter(super::literal("letters.status = 'pending'"))
        .select(diesel::dsl::min(letters::next_attempt_at))
        .into_boxed()
}

/// Claims due letters for one attempt each; the re-checked condition in the UPDATE keeps
/// two instances from claiming the same letter, the lease frees a crashed worker's claims.
pub fn claim_due(conn: &mut DbConn, limit: i64, lease: chrono::Duration) -> Result<Vec<Letter>> {
    let t = now();
    let ids: Vec<i64> = due_query(t, limit).load(conn)?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let claimed: Vec<i64> = diesel::update(
        letters::table
            .filter(letters::id.eq_any(&ids))
            .filter(letters::status.eq("pending"))
            .filter(
                letters::locked_until
                    .is_null()
                    .or(letters::locked_until.lt(t)),
            ),
    )
    .set((
        letters::locked_until.eq(t + lease),
        letters::attempts.eq(letters::attempts + 1),
    ))
    .returning(letters::id)
    .get_results(conn)?;
    Ok(letters::table
        .filter(letters::id.eq_any(&claimed))
        .order(letters::id)
        .select(Letter::as_select())
        .load(conn)?)
}

/// Claimed letters not tried (shutting down): free at once, the attempt not counted.
pub fn release(conn: &mut DbConn, ids: &[i64]) -> Result<()> {
    diesel::update(
        letters::table
            .filter(letters::id.eq_any(ids))
            .filter(letters::status.eq("pending")),
    )
    .set((
        letters::locked_until.eq(None::<NaiveDateTime>),
        letters::attempts.eq(letters::attempts - 1),
    ))
    .execute(conn)?;
    Ok(())
}

pub fn mark_sent(conn: &mut DbConn, id: i64) -> Result<()> {
    diesel::update(letters::table.find(id))
        .set((
            letters::status.eq("sent"),
            letters::locked_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn retry_later(conn: &mut DbConn, id: i64, at: NaiveDateTime, error: &str) -> Result<()> {
    diesel::update(letters::table.find(id))
        .set((
            letters::next_attempt_at.eq(at),
            letters::locked_until.eq(None::<NaiveDateTime>),
            letters::last_error.eq(error),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn mark_failed(conn: &mut DbConn, id: i64, error: &str) -> Result<()> {
    diesel::update(letters::table.find(id))
        .set((
            letters::status.eq("failed"),
            letters::locked_until.eq(None::<NaiveDateTime>),
            letters::last_error.eq(error),
        ))
        .execute(conn)?;
    Ok(())
}

/// The soonest pending attempt, so the worker sleeps exactly until then.
pub fn next_due(conn: &mut DbConn) -> Result<Option<NaiveDateTime>> {
    Ok(next_due_query().first::<Option<NaiveDateTime>>(conn)?)
}
