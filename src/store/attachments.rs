use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use super::schema::attachments;
use super::{DbConn, now};
use crate::error::{Error, Result};

#[derive(Queryable, Selectable, Clone, Debug, Serialize)]
#[diesel(table_name = attachments)]
pub struct Attachment {
    pub id: i64,
    pub project_id: i64,
    pub message_id: i64,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    #[serde(skip)]
    pub storage_key: String,
    pub created_at: NaiveDateTime,
}

/// A file already written to storage, waiting to be linked to its message.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StoredFile {
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub storage_key: String,
}

pub fn insert(conn: &mut DbConn, project_id: i64, message_id: i64, f: &StoredFile) -> Result<i64> {
    Ok(diesel::insert_into(attachments::table)
        .values((
            attachments::project_id.eq(project_id),
            attachments::message_id.eq(message_id),
            attachments::file_name.eq(&f.file_name),
            attachments::content_type.eq(&f.content_type),
            attachments::size.eq(f.size),
            attachments::storage_key.eq(&f.storage_key),
            attachments::created_at.eq(now()),
        ))
        .returning(attachments::id)
        .get_result(conn)?)
}

pub fn by_id(conn: &mut DbConn, project_id: i64, id: i64) -> Result<Attachment> {
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
