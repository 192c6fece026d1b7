//! Automation timers. A timer is one row per (conversation, kind, step): arming moves a
//! pending row or adds one, firing flips it to "fired" in the transaction that does its work,
//! and a fired row keeps the same timer from firing again until the situation resets it.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::timers;
use crate::domain::TimerKind;
use crate::domain::{ChannelId, ContactId, ConversationId, ProjectId};
use crate::error::Result;

pub const PENDING: &str = "pending";
pub const FIRED: &str = "fired";

#[derive(Queryable, Selectable, Clone, Debug, PartialEq)]
#[diesel(table_name = timers)]
pub struct Timer {
    pub id: i64,
    pub project_id: ProjectId,
    pub conversation_id: ConversationId,
    #[diesel(deserialize_as = String)]
    pub kind: TimerKind,
    pub step: i32,
    pub due_at: NaiveDateTime,
    pub state: String,
    pub fired_at: Option<NaiveDateTime>,
}

/// How an existing row is treated when the timer is armed again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arm {
    /// A pending timer moves to the new time; a fired one stays fired.
    Move,
    /// A pending timer keeps its time (measured from the first event).
    Keep,
    /// Pending again at the new time, even if it had fired.
    Restart,
}

fn find(
    conn: &mut DbConn,
    conversation_id: ConversationId,
    kind: TimerKind,
    step: i32,
) -> Result<Option<Timer>> {
    Ok(timers::table
        .filter(timers::conversation_id.eq(conversation_id))
        .filter(timers::kind.eq(kind.as_str()))
        .filter(timers::step.eq(step))
        .select(Timer::as_select())
        .first(conn)
        .optional()?)
}

pub fn arm(
    conn: &mut DbConn,
    project_id: ProjectId,
    conversation_id: ConversationId,
    kind: TimerKind,
    step: i32,
    due_at: NaiveDateTime,
    how: Arm,
) -> Result<()> {
    match find(conn, conversation_id, kind, step)? {
        None => {
            diesel::insert_into(timers::table)
                .values((
                    timers::project_id.eq(project_id),
                    timers::conversation_id.eq(conversation_id),
                    timers::kind.eq(kind.as_str()),
                    timers::step.eq(step),
                    timers::due_at.eq(due_at),
                    timers::state.eq(PENDING),
                ))
                .execute(conn)?;
        }
        Some(t) => {
            let update = match (how, t.state.as_str()) {
                (Arm::Move, PENDING) | (Arm::Restart, _) => true,
                (Arm::Keep, _) | (Arm::Move, _) => false,
            };
            if update {
                diesel::update(timers::table.find(t.id))
                    .set((
                        timers::due_at.eq(due_at),
                        timers::state.eq(PENDING),
                        timers::fired_at.eq(None::<NaiveDateTime>),
                    ))
                    .execute(conn)?;
            }
        }
    }
    Ok(())
}

/// Forgets these kinds for a conversation, fired ones included, so they can fire anew.
pub fn reset(
    conn: &mut DbConn,
    conversation_id: ConversationId,
    kinds: &[TimerKind],
) -> Result<()> {
    let kinds: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
    diesel::delete(
        timers::table
            .filter(timers::conversation_id.eq(conversation_id))
            .filter(timers::kind.eq_any(kinds)),
    )
    .execute(conn)?;
    Ok(())
}

type Boxed<'a> = timers::BoxedQuery<'a, super::MultiBackend>;

type PendingOf = diesel::dsl::Filter<
    diesel::dsl::Filter<timers::table, diesel::dsl::Eq<timers::conversation_id, ConversationId>>,
    diesel::dsl::Eq<timers::state, &'static str>,
>;

/// A conversation's pending timers.
pub(super) fn pending_of(conversation_id: ConversationId) -> PendingOf {
    timers::table
        .filter(timers::conversation_id.eq(conversation_id))
        .filter(timers::state.eq(PENDING))
}

/// Drops every pending timer of a conversation (it was closed).
pub fn cancel_pending(conn: &mut DbConn, conversation_id: ConversationId) -> Result<()> {
    diesel::delete(pending_of(conversation_id)).execute(conn)?;
    Ok(())
}

/// Pending timers due by `now`, the earliest first.
pub(super) fn due_query(now: NaiveDateTime, limit: i64) -> Boxed<'static> {
    timers::table
        .filter(super::literal("timers.state = 'pending'"))
        .filter(timers::due_at.le(now))
        .order((timers::due_at, timers::id))
        .limit(limit)
        .into_boxed()
}

pub fn due(conn: &mut DbConn, now: NaiveDateTime, limit: i64) -> Result<Vec<Timer>> {
    Ok(due_query(now, limit)
        .select(Timer::as_select())
        .load(conn)?)
}

/// Marks a due timer fired; false if another worker (or a change) got there first.
pub fn claim(conn: &mut DbConn, id: i64, now: NaiveDateTime) -> Result<bool> {
    use diesel::sql_types::{BigInt, Text, Timestamp};
    // Kept prepared (see `prepared`): a mass of due timers runs this for each.
    let n = super::prepared::fixed(
        "UPDATE timers SET state = ?, fired_at = ? WHERE id = ? AND state = ?",
        (
            FIRED.into_sql::<Text>(),
            now.into_sql::<Timestamp>(),
            id.into_sql::<BigInt>(),
            PENDING.into_sql::<Text>(),
        ),
    )
    .execute(conn)?;
    Ok(n == 1)
}

/// Marks these due timers fired in one statement; the ids it marked (another worker, or a
/// change, may have taken some first).
pub fn claim_all(
    conn: &mut DbConn,
    ids: &[i64],
    now: NaiveDateTime,
) -> Result<std::collections::HashSet<i64>> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let claimed: Vec<i64> = diesel::update(
        timers::table
            .filter(timers::id.eq_any(ids))
            .filter(timers::state.eq(PENDING)),
    )
    .set((timers::state.eq(FIRED), timers::fired_at.eq(Some(now))))
    .returning(timers::id)
    .load(conn)?;
    Ok(claimed.into_iter().collect())
}

pub fn pending(
    conn: &mut DbConn,
    conversation_id: ConversationId,
    kind: TimerKind,
) -> Result<bool> {
    Ok(find(conn, conversation_id, kind, 0)?.is_some_and(|t| t.state == PENDING))
}

type WithConversation = diesel::dsl::InnerJoinOn<
    timers::table,
    super::schema::conversations::table,
    diesel::dsl::Eq<super::schema::conversations::id, timers::conversation_id>,
>;
type KindsOf = diesel::dsl::IntoBoxed<
    'static,
    diesel::dsl::Select<WithConversation, (timers::conversation_id, timers::kind)>,
    super::MultiBackend,
>;

pub(super) fn pending_for_contact_query(
    contact_id: ContactId,
    channel_id: ChannelId,
    kinds: &[TimerKind],
) -> KindsOf {
    use super::schema::conversations;
    let kinds: Vec<&'static str> = kinds.iter().map(|k| k.as_str()).collect();
    timers::table
        .inner_join(conversations::table.on(conversations::id.eq(timers::conversation_id)))
        .select((timers::conversation_id, timers::kind))
        .filter(conversations::contact_id.eq(contact_id))
        .filter(conversations::channel_id.eq(channel_id))
        .filter(timers::kind.eq_any(kinds))
        .filter(timers::state.eq(PENDING))
        .order(timers::conversation_id.desc())
        .into_boxed()
}

/// (conversation id, kind) of this customer's pending timers of these kinds in a channel,
/// newest conversation first.
pub fn pending_for_contact(
    conn: &mut DbConn,
    contact_id: ContactId,
    channel_id: ChannelId,
    kinds: &[TimerKind],
) -> Result<Vec<(ConversationId, TimerKind)>> {
    let rows: Vec<(ConversationId, String)> =
        pending_for_contact_query(contact_id, channel_id, kinds).load(conn)?;
    rows.into_iter()
        .map(|(c, k)| Ok((c, TimerKind::parse(&k)?)))
        .collect()
}
