use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use super::schema::attachments;
use super::{DbConn, now};
use crate::domain::{ChannelId, ContactId, ConversationId, ProjectId};
use crate::error::{Error, Result};

#[derive(Queryable, Selectable, Clone, Debug, Serialize)]
#[diesel(table_name = attachments)]
pub struct Attachment {
    pub id: i64,
    pub project_id: ProjectId,
    pub message_id: i64,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    #[serde(skip)]
    pub storage_key: String,
    pub created_at: NaiveDateTime,
    #[serde(skip)]
    pub state: String,
    #[serde(skip)]
    pub error: Option<String>,
}

/// Where a file is: in our storage, still on the platform, or given up on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileState {
    Ready,
    Pending,
    Failed,
}

impl FileState {
    pub fn as_str(self) -> &'static str {
        match self {
            FileState::Ready => "ready",
            FileState::Pending => "pending",
            FileState::Failed => "failed",
        }
    }
}

impl Attachment {
    pub fn state(&self) -> FileState {
        match self.state.as_str() {
            "pending" => FileState::Pending,
            "failed" => FileState::Failed,
            _ => FileState::Ready,
        }
    }
}

/// A file for a message: already written to storage, or (with `source`) still on the
/// platform, to be fetched after the message is committed.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StoredFile {
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub storage_key: String,
    /// (channel id, the platform's reference as JSON) of a file not fetched yet.
    #[serde(default)]
    pub source: Option<(ChannelId, String)>,
}

pub fn insert(
    conn: &mut DbConn,
    project_id: ProjectId,
    message_id: i64,
    f: &StoredFile,
) -> Result<i64> {
    let t = now();
    let (state, channel_id, source, due) = match &f.source {
        Some((channel, json)) => (
            FileState::Pending,
            Some(*channel),
            Some(json.as_str()),
            Some(t),
        ),
        None => (FileState::Ready, None, None, None),
    };
    Ok(diesel::insert_into(attachments::table)
        .values((
            attachments::project_id.eq(project_id),
            attachments::message_id.eq(message_id),
            attachments::file_name.eq(&f.file_name),
            attachments::content_type.eq(&f.content_type),
            attachments::size.eq(f.size),
            attachments::storage_key.eq(&f.storage_key),
            attachments::created_at.eq(t),
            attachments::state.eq(state.as_str()),
            attachments::channel_id.eq(channel_id.map(|c| c.0)),
            attachments::source.eq(source),
            attachments::next_attempt_at.eq(due),
        ))
        .returning(attachments::id)
        .get_result(conn)?)
}

/// A file to fetch from its platform, with where it belongs.
#[derive(Clone, Debug)]
pub struct PendingFile {
    pub id: i64,
    pub project_id: ProjectId,
    pub message_id: i64,
    pub conversation_id: ConversationId,
    pub contact_id: ContactId,
    pub channel_id: ChannelId,
    pub source: String,
    pub attempts: i32,
}

/// Claims due pending files for one attempt each; the lease makes a crashed worker's claims
/// due again, and the re-checked condition keeps two instances from taking the same file.
pub fn claim_pending(
    conn: &mut DbConn,
    limit: i64,
    lease: chrono::Duration,
) -> Result<Vec<PendingFile>> {
    use super::schema::{conversations, messages};
    let t = now();
    let due =
        || super::literal("attachments.state = 'pending'").and(attachments::next_attempt_at.le(t));
    let ids: Vec<i64> = attachments::table
        .filter(due())
        .order(attachments::next_attempt_at)
        .limit(limit)
        .select(attachments::id)
        .load(conn)?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let claimed: Vec<i64> = diesel::update(
        attachments::table
            .filter(attachments::id.eq_any(&ids))
            .filter(due()),
    )
    .set((
        attachments::next_attempt_at.eq(t + lease),
        attachments::attempts.eq(attachments::attempts + 1),
    ))
    .returning(attachments::id)
    .get_results(conn)?;
    #[derive(Queryable)]
    struct Row {
        id: i64,
        project_id: ProjectId,
        message_id: i64,
        conversation_id: ConversationId,
        contact_id: ContactId,
        channel_id: Option<ChannelId>,
        source: Option<String>,
        attempts: i32,
    }
    let rows: Vec<Row> = attachments::table
        .inner_join(messages::table.on(messages::id.eq(attachments::message_id)))
        .inner_join(conversations::table.on(conversations::id.eq(messages::conversation_id)))
        .filter(attachments::id.eq_any(&claimed))
        .select((
            attachments::id,
            attachments::project_id,
            attachments::message_id,
            conversations::id,
            conversations::contact_id,
            attachments::channel_id,
            attachments::source,
            attachments::attempts,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(PendingFile {
                id: r.id,
                project_id: r.project_id,
                message_id: r.message_id,
                conversation_id: r.conversation_id,
                contact_id: r.contact_id,
                channel_id: r.channel_id?,
                source: r.source?,
                attempts: r.attempts,
            })
        })
        .collect())
}

/// The file arrived: it is in storage now and the platform's reference is dropped.
pub fn fetched(conn: &mut DbConn, id: i64, f: &StoredFile) -> Result<()> {
    diesel::update(attachments::table.find(id))
        .set((
            attachments::state.eq(FileState::Ready.as_str()),
            attachments::storage_key.eq(&f.storage_key),
            attachments::size.eq(f.size),
            attachments::content_type.eq(&f.content_type),
            attachments::source.eq(None::<String>),
            attachments::next_attempt_at.eq(None::<NaiveDateTime>),
            attachments::error.eq(None::<String>),
        ))
        .execute(conn)?;
    Ok(())
}

/// A failed attempt: tried again at `retry_at`, or given up on (shown with the reason).
pub fn fetch_failed(
    conn: &mut DbConn,
    id: i64,
    error: &str,
    retry_at: Option<NaiveDateTime>,
) -> Result<()> {
    let state = if retry_at.is_some() {
        FileState::Pending
    } else {
        FileState::Failed
    };
    diesel::update(attachments::table.find(id))
        .set((
            attachments::state.eq(state.as_str()),
            attachments::next_attempt_at.eq(retry_at),
            attachments::error.eq(error),
        ))
        .execute(conn)?;
    Ok(())
}

/// When the next pending file is due, if any.
pub fn next_pending(conn: &mut DbConn) -> Result<Option<NaiveDateTime>> {
    Ok(attachments::table
        .filter(super::literal("attachments.state = 'pending'"))
        .select(diesel::dsl::min(attachments::next_attempt_at))
        .first::<Option<NaiveDateTime>>(conn)?)
}

pub fn by_id(conn: &mut DbConn, project_id: ProjectId, id: i64) -> Result<Attachment> {
    attachments::table
        .find(id)
        .filter(attachments::project_id.eq(project_id))
        .select(Attachment::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found(format!("attachment {id} not found")))
}

/// An attachment an operator sent, by storage key: the only ones served without a login
/// (platforms that take media by URL fetch them).
pub fn outgoing_by_key(conn: &mut DbConn, key: &str) -> Result<Attachment> {
    use super::schema::messages;
    attachments::table
        .inner_join(messages::table.on(messages::id.eq(attachments::message_id)))
        .filter(attachments::storage_key.eq(key))
        .filter(messages::kind.eq("operator"))
        .select(Attachment::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("no such file"))
}

pub fn of_messages(conn: &mut DbConn, message_ids: &[i64]) -> Result<Vec<Attachment>> {
    Ok(attachments::table
        .filter(attachments::message_id.eq_any(message_ids))
        .order(attachments::id)
        .select(Attachment::as_select())
        .load(conn)?)
}

/// Which of these storage keys a row refers to.
pub fn known_keys(conn: &mut DbConn, keys: &[String]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for chunk in keys.chunks(500) {
        out.extend(
            attachments::table
                .filter(attachments::storage_key.eq_any(chunk))
                .select(attachments::storage_key)
                .load::<String>(conn)?,
        );
    }
    Ok(out)
}
