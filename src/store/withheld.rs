//! Messages of blacklisted contacts: acknowledged to the platform and kept here, out of the
//! inbox, for the blacklist's view.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::withheld_messages;
use super::{DbConn, now};
use crate::domain::{ChannelId, ContactId, ProjectId};
use crate::error::Result;

#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = withheld_messages)]
pub struct Withheld {
    pub id: i64,
    pub channel_id: ChannelId,
    pub text: String,
    /// The files' names and storage keys, as JSON: the files stay on disk.
    pub files: String,
    pub received_at: NaiveDateTime,
}

/// Keeps one message; a platform's repeat of the same message is kept once (false).
pub fn keep(
    conn: &mut DbConn,
    project_id: ProjectId,
    contact_id: ContactId,
    channel_id: ChannelId,
    text: &str,
    files: &str,
    dedup_key: Option<&str>,
) -> Result<bool> {
    if let Some(k) = dedup_key {
        let seen = diesel::select(diesel::dsl::exists(
            withheld_messages::table.filter(withheld_messages::dedup_key.eq(k)),
        ))
        .get_result::<bool>(conn)?;
        if seen {
            return Ok(false);
        }
    }
    diesel::insert_into(withheld_messages::table)
        .values((
            withheld_messages::project_id.eq(project_id),
            withheld_messages::contact_id.eq(contact_id),
            withheld_messages::channel_id.eq(channel_id),
            withheld_messages::text.eq(text),
            withheld_messages::files.eq(files),
            withheld_messages::dedup_key.eq(dedup_key),
            withheld_messages::received_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(true)
}

/// A contact's withheld messages, newest first.
pub fn of_contact(conn: &mut DbConn, contact_id: ContactId, limit: i64) -> Result<Vec<Withheld>> {
    Ok(withheld_messages::table
        .filter(withheld_messages::contact_id.eq(contact_id))
        .order(withheld_messages::id.desc())
        .limit(limit)
        .select(Withheld::as_select())
        .load(conn)?)
}

pub fn count_of(conn: &mut DbConn, contact_id: ContactId) -> Result<i64> {
    Ok(withheld_messages::table
        .filter(withheld_messages::contact_id.eq(contact_id))
        .count()
        .get_result(conn)?)
}

/// Storage keys of the files kept with the last `days` days' withheld messages (the orphan
/// sweep looks only at files younger than that).
pub fn recent_file_keys(conn: &mut DbConn, days: i64) -> Result<Vec<String>> {
    let since = now() - chrono::Duration::days(days);
    let rows: Vec<String> = withheld_messages::table
        .filter(withheld_messages::received_at.ge(since))
        .filter(withheld_messages::files.ne("[]"))
        .select(withheld_messages::files)
        .load(conn)?;
    Ok(rows
        .iter()
        .flat_map(|f| {
            serde_json::from_str::<Vec<super::attachments::StoredFile>>(f).unwrap_or_default()
        })
        .map(|f| f.storage_key)
        .collect())
}
