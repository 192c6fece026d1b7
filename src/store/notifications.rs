use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::notifications;
use super::{DbConn, now};
use crate::domain::{ConversationId, ProjectId};
use crate::error::Result;

#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = notifications)]
pub struct Notification {
    pub id: i64,
    pub project_id: ProjectId,
    pub user_id: i64,
    pub conversation_id: Option<ConversationId>,
    pub text: String,
    pub seen: bool,
    pub created_at: NaiveDateTime,
}

pub fn create(
    conn: &mut DbConn,
    project_id: ProjectId,
    user_id: i64,
    conversation_id: Option<ConversationId>,
    text: &str,
) -> Result<()> {
    diesel::insert_into(notifications::table)
        .values((
            notifications::project_id.eq(project_id),
            notifications::user_id.eq(user_id),
            notifications::conversation_id.eq(conversation_id.map(|c| c.0)),
            notifications::text.eq(text),
            notifications::seen.eq(false),
            notifications::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn unseen(conn: &mut DbConn, project_id: ProjectId, user_id: i64) -> Result<i64> {
    Ok(notifications::table
        .filter(notifications::project_id.eq(project_id))
        .filter(notifications::user_id.eq(user_id))
        .filter(notifications::seen.eq(false))
        .count()
        .get_result(conn)?)
}

pub fn latest(
    conn: &mut DbConn,
    project_id: ProjectId,
    user_id: i64,
    limit: i64,
) -> Result<Vec<Notification>> {
    Ok(notifications::table
        .filter(notifications::project_id.eq(project_id))
        .filter(notifications::user_id.eq(user_id))
        .order(notifications::id.desc())
        .limit(limit)
        .select(Notification::as_select())
        .load(conn)?)
}

pub fn mark_seen(conn: &mut DbConn, project_id: ProjectId, user_id: i64) -> Result<()> {
    diesel::update(
        notifications::table
            .filter(notifications::project_id.eq(project_id))
            .filter(notifications::user_id.eq(user_id))
            .filter(notifications::seen.eq(false)),
    )
    .set(notifications::seen.eq(true))
    .execute(conn)?;
    Ok(())
}
