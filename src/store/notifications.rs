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

/// The notice for a member, unless they chose not to be told of its kind.
pub fn notify(
    conn: &mut DbConn,
    project_id: ProjectId,
    user_id: i64,
    conversation_id: Option<ConversationId>,
    notice: &crate::domain::event::Notice,
) -> Result<()> {
    if let Some(topic) = notice.topic() {
        let choice: String = super::schema::users::table
            .find(user_id)
            .select(super::schema::users::notify)
            .first(conn)?;
        if !topic.chosen_in(&choice) {
            return Ok(());
        }
    }
    create(
        conn,
        project_id,
        user_id,
        conversation_id,
        &notice.to_json(),
    )
}

fn create(
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
