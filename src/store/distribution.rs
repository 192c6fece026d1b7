//! What handing out conversations reads and writes: who may take one now, how many open
//! conversations each holds, the queue of conversations nobody holds, and what an operator
//! who went away still holds.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::conversations::Conversation;
use super::schema::{conversations, memberships, team_members, users};
use crate::domain::role::{Access, Can};
use crate::domain::{ChannelId, ConversationId, ProjectId};
use crate::error::Result;

/// Serialises handing out within a project until the transaction ends, so two instances
/// never both see an operator below their limit and both give them one. SQLite's writer
/// lock already does this. Taken after the conversation rows a transaction changes, never
/// before, so it cannot close a cycle with them.
pub fn lock(conn: &mut DbConn, project_id: ProjectId) -> Result<()> {
    if let DbConn::Postgresql(_) = conn {
        // Two keys: a namespace for this lock and the project (ids fit i32 for a long time;
        // a wrap only makes two projects share a lock).
        let key = (project_id.0 & 0x7fff_ffff) as i32;
        diesel::sql_query("SELECT pg_advisory_xact_lock(20615, $1)")
            .bind::<diesel::sql_types::Integer, _>(key)
            .execute(conn)?;
    }
    Ok(())
}

/// A member who may be given a conversation now.
#[derive(Clone, Debug, PartialEq)]
pub struct Available {
    pub user_id: i64,
    pub name: String,
    /// The project's turn number when distribution last gave them one (None: never).
    pub turn: Option<i64>,
}

/// Active operators (and admins) who are online and whose console was seen since `since`;
/// only the team's members when a team is given.
pub fn available(
    conn: &mut DbConn,
    project_id: ProjectId,
    team: Option<i64>,
    since: NaiveDateTime,
) -> Result<Vec<Available>> {
    let mut q = memberships::table
        .inner_join(users::table)
        .filter(memberships::project_id.eq(project_id))
        .filter(memberships::active.eq(true))
        .filter(users::online.eq(true))
        .filter(users::last_seen_at.ge(since))
        .select((
            users::id,
            users::name,
            memberships::assigned_turn,
            memberships::role,
        ))
        .into_boxed();
    if let Some(t) = team {
        q = q.filter(
            users::id.eq_any(
                team_members::table
                    .filter(team_members::team_id.eq(t))
                    .select(team_members::user_id),
            ),
        );
    }
    let rows: Vec<(i64, String, Option<i64>, String)> = q.load(conn)?;
    let mut out = Vec::new();
    for (user_id, name, turn, role) in rows {
        if Access::parse(&role)?.can(Can::Answer) {
            out.push(Available {
                user_id,
                name,
                turn,
            });
        }
    }
    Ok(out)
}

/// Active operators of the project who are offline or whose console has not been seen since
/// `since`.
pub fn away(conn: &mut DbConn, project_id: ProjectId, since: NaiveDateTime) -> Result<Vec<i64>> {
    let rows: Vec<(i64, bool, Option<NaiveDateTime>, String)> = memberships::table
        .inner_join(users::table)
        .filter(memberships::project_id.eq(project_id))
        .filter(memberships::active.eq(true))
        .select((
            users::id,
            users::online,
            users::last_seen_at,
            memberships::role,
        ))
        .load(conn)?;
    let mut out = Vec::new();
    for (id, online, seen, role) in rows {
        let gone = !online || seen.is_none_or(|s| s < since);
        if gone && Access::parse(&role)?.can(Can::Answer) {
            out.push(id);
        }
    }
    Ok(out)
}

/// What [`open_counts`] runs.
pub(super) fn open_counts_query(
    project_id: ProjectId,
    user_ids: &[i64],
) -> impl diesel::query_builder::QueryFragment<super::MultiBackend>
+ diesel::query_dsl::LoadQuery<'_, DbConn, (Option<i64>, i64)>
+ '_ {
    conversations::table
        .filter(conversations::project_id.eq(project_id))
        .filter(conversations::assignee_id.eq_any(user_ids))
        .filter(conversations::closed_at.is_null())
        .group_by(conversations::assignee_id)
        .select((conversations::assignee_id, diesel::dsl::count_star()))
}

/// How many conversations that are not closed each of these members holds in the project.
pub fn open_counts(
    conn: &mut DbConn,
    project_id: ProjectId,
    user_ids: &[i64],
) -> Result<HashMap<i64, i64>> {
    let rows: Vec<(Option<i64>, i64)> = open_counts_query(project_id, user_ids).load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(u, n)| u.map(|u| (u, n)))
        .collect())
}

/// Round-robin's turn: distribution gave this member a conversation now (under [`lock`]).
pub fn mark_assigned(conn: &mut DbConn, project_id: ProjectId, user_id: i64) -> Result<()> {
    let last: Option<i64> = memberships::table
        .filter(memberships::project_id.eq(project_id))
        .select(diesel::dsl::max(memberships::assigned_turn))
        .first(conn)?;
    diesel::update(
        memberships::table
            .filter(memberships::project_id.eq(project_id))
            .filter(memberships::user_id.eq(user_id)),
    )
    .set(memberships::assigned_turn.eq(Some(last.unwrap_or(0) + 1)))
    .execute(conn)?;
    Ok(())
}

/// The rows [`waiting`] reads (a macro: the selection is typed by the backend it is loaded
/// on, and the plan test selects from the same rows).
macro_rules! waiting_rows {
    ($channel:expr, $limit:expr) => {{
        use $crate::store::schema::conversations as c;
        c::table
            .filter(c::channel_id.eq($channel))
            .filter(c::closed_at.is_null())
            .filter(c::assignee_id.is_null())
            .order(c::id)
            .limit($limit)
    }};
}
pub(super) use waiting_rows;

/// Open conversations of the channel that nobody holds, the earliest first. On PostgreSQL the rows
/// are locked, skipping those another transaction has (a customer writing into one right now
/// gets it handed out by that transaction).
pub fn waiting(conn: &mut DbConn, channel_id: ChannelId, limit: i64) -> Result<Vec<Conversation>> {
    Ok(match conn {
        DbConn::Postgresql(c) => waiting_rows!(channel_id, limit)
            .select(Conversation::as_select())
            .for_no_key_update()
            .skip_locked()
            .load(c)?,
        DbConn::Sqlite(c) => waiting_rows!(channel_id, limit)
            .select(Conversation::as_select())
            .load(c)?,
    })
}

/// Open conversations of these channels a member holds (up to `limit`), locked like
/// [`waiting`].
pub fn held(
    conn: &mut DbConn,
    project_id: ProjectId,
    user_id: i64,
    channels: &[ChannelId],
    limit: i64,
) -> Result<Vec<Conversation>> {
    let ids: Vec<i64> = channels.iter().map(|c| c.0).collect();
    macro_rules! query {
        () => {
            conversations::table
                .filter(conversations::project_id.eq(project_id))
                .filter(conversations::assignee_id.eq(user_id))
                .filter(conversations::closed_at.is_null())
                .filter(conversations::channel_id.eq_any(&ids))
                .order((conversations::last_message_at, conversations::id))
                .limit(limit)
                .select(Conversation::as_select())
        };
    }
    Ok(match conn {
        DbConn::Postgresql(c) => query!().for_no_key_update().skip_locked().load(c)?,
        DbConn::Sqlite(c) => query!().load(c)?,
    })
}

/// Gives a conversation nobody holds to a member; false when someone took it meanwhile.
pub fn assign_waiting(conn: &mut DbConn, id: ConversationId, user_id: i64) -> Result<bool> {
    let n = diesel::update(
        conversations::table
            .find(id)
            .filter(conversations::assignee_id.is_null()),
    )
    .set((
        conversations::assignee_id.eq(Some(user_id)),
        conversations::updated_at.eq(super::now()),
    ))
    .execute(conn)?;
    Ok(n == 1)
}
