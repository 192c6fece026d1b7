use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{memberships, notifications, projects, users};
use super::{DbConn, now};
use crate::domain::{ChannelId, ConversationId, ProjectId};
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

/// What a member chose to hear and where: read once per notice.
#[derive(Clone, Debug)]
pub struct Recipient {
    pub email: String,
    pub language: Option<String>,
    pub bell: String,
    pub email_topics: String,
    pub messenger_topics: String,
    pub project_name: String,
    /// The project bot and chat their messenger notices go to, once linked.
    pub messenger: Option<(ChannelId, String)>,
}

type RecipientRow = (
    String,
    Option<String>,
    String,
    String,
    String,
    String,
    Option<i64>,
    Option<String>,
);

/// What `recipient` reads, in the order of `RecipientRow`.
type RecipientColumns = (
    users::email,
    users::language,
    users::notify,
    users::notify_email,
    users::notify_messenger,
    projects::name,
    memberships::messenger_channel_id,
    memberships::messenger_chat,
);
const RECIPIENT_COLUMNS: RecipientColumns = (
    users::email,
    users::language,
    users::notify,
    users::notify_email,
    users::notify_messenger,
    projects::name,
    memberships::messenger_channel_id,
    memberships::messenger_chat,
);

type RecipientQuery = diesel::dsl::IntoBoxed<
    'static,
    diesel::dsl::Select<
        diesel::dsl::InnerJoin<
            diesel::dsl::InnerJoin<memberships::table, users::table>,
            projects::table,
        >,
        RecipientColumns,
    >,
    super::MultiBackend,
>;

pub(super) fn recipient_query(project_id: ProjectId, user_id: i64) -> RecipientQuery {
    memberships::table
        .inner_join(users::table)
        .inner_join(projects::table)
        .filter(memberships::project_id.eq(project_id))
        .filter(memberships::user_id.eq(user_id))
        .select(RECIPIENT_COLUMNS)
        .into_boxed()
}

/// The member as a notice for this project reaches them; None when they are not in it.
pub fn recipient(
    conn: &mut DbConn,
    project_id: ProjectId,
    user_id: i64,
) -> Result<Option<Recipient>> {
    let row: Option<RecipientRow> = recipient_query(project_id, user_id)
        .first(conn)
        .optional()?;
    Ok(row.map(
        |(email, language, bell, email_topics, messenger_topics, project_name, ch, chat)| {
            Recipient {
                email,
                language,
                bell,
                email_topics,
                messenger_topics,
                project_name,
                messenger: ch.zip(chat).map(|(c, chat)| (ChannelId(c), chat)),
            }
        },
    ))
}

/// A notice under the member's bell (JSON of a `Notice`, rendered in the reader's language).
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
