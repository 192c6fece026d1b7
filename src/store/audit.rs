//! The audit log: one row per change an admin may want to trace (who, what, when).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{audit_log, users};
use super::{DbConn, now};
use crate::domain::ProjectId;
use crate::domain::audit::Action;
use crate::error::Result;

pub struct Entry {
    pub id: i64,
    pub action: Action,
    pub subject: String,
    pub detail: String,
    pub at: NaiveDateTime,
    /// Who did it (None: the command line, or a member since removed from the server).
    pub by: Option<String>,
}

/// Records a change, inside the transaction that made it.
pub fn record(
    conn: &mut DbConn,
    project_id: ProjectId,
    by: Option<i64>,
    action: Action,
    subject: &str,
    detail: &str,
) -> Result<()> {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::project_id.eq(project_id),
            audit_log::user_id.eq(by),
            audit_log::action.eq(action.as_str()),
            audit_log::subject.eq(subject),
            audit_log::detail.eq(detail),
            audit_log::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// The newest entries, before an id when paging back.
pub fn recent(
    conn: &mut DbConn,
    project_id: ProjectId,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Entry>> {
    let mut q = audit_log::table
        .left_join(users::table.on(users::id.nullable().eq(audit_log::user_id)))
        .filter(audit_log::project_id.eq(project_id))
        .into_boxed();
    if let Some(b) = before {
        q = q.filter(audit_log::id.lt(b));
    }
    let rows: Vec<(i64, String, String, String, NaiveDateTime, Option<String>)> = q
        .order(audit_log::id.desc())
        .limit(limit)
        .select((
            audit_log::id,
            audit_log::action,
            audit_log::subject,
            audit_log::detail,
            audit_log::created_at,
            users::name.nullable(),
        ))
        .load(conn)?;
    rows.into_iter()
        .map(|(id, action, subject, detail, at, by)| {
            Ok(Entry {
                id,
                action: Action::parse(&action)?,
                subject,
                detail,
                at,
                by,
            })
        })
        .collect()
}
