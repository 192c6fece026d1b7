//! Canned replies: the project's and each member's own, with their files and how often they
//! were used.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::canned_responses;
use super::{DbConn, now};
use crate::domain::ProjectId;
use crate::domain::canned::{Draft, Scope};
use crate::error::{Error, Result};
use crate::store::attachments::StoredFile;

#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = canned_responses)]
pub struct Canned {
    pub id: i64,
    pub project_id: ProjectId,
    /// None: the project's; otherwise the member it belongs to.
    pub owner_id: Option<i64>,
    pub shortcut: String,
    pub title: String,
    pub text: String,
    files: String,
    pub used: i64,
    pub last_used_at: Option<NaiveDateTime>,
    pub updated_at: NaiveDateTime,
}

impl Canned {
    pub fn scope(&self) -> Scope {
        match self.owner_id {
            None => Scope::Project,
            Some(_) => Scope::Personal,
        }
    }

    pub fn files(&self) -> Vec<StoredFile> {
        serde_json::from_str(&self.files).unwrap_or_default()
    }
}

fn files_json(files: &[StoredFile]) -> Result<String> {
    serde_json::to_string(files).map_err(|e| Error::internal(format!("files not written: {e}")))
}

fn taken(shortcut: &str) -> Error {
    Error::Conflict(format!(
        "a canned reply with the shortcut /{shortcut} exists"
    ))
}

/// The reply with this shortcut in that scope, if any (to say "taken" before the index does).
fn with_shortcut(
    conn: &mut DbConn,
    project_id: ProjectId,
    owner_id: Option<i64>,
    shortcut: &str,
) -> Result<Option<i64>> {
    let q = canned_responses::table
        .filter(canned_responses::project_id.eq(project_id))
        .filter(canned_responses::shortcut.eq(shortcut))
        .select(canned_responses::id)
        .into_boxed();
    let q = match owner_id {
        None => q.filter(canned_responses::owner_id.is_null()),
        Some(o) => q.filter(canned_responses::owner_id.eq(o)),
    };
    Ok(q.first(conn).optional()?)
}

pub fn create(
    conn: &mut DbConn,
    project_id: ProjectId,
    owner_id: Option<i64>,
    draft: &Draft,
    files: &[StoredFile],
) -> Result<Canned> {
    if with_shortcut(conn, project_id, owner_id, &draft.shortcut)?.is_some() {
        return Err(taken(&draft.shortcut));
    }
    let t = now();
    let id: i64 = diesel::insert_into(canned_responses::table)
        .values((
            canned_responses::project_id.eq(project_id),
            canned_responses::owner_id.eq(owner_id),
            canned_responses::shortcut.eq(&draft.shortcut),
            canned_responses::title.eq(&draft.title),
            canned_responses::text.eq(&draft.text),
            canned_responses::files.eq(files_json(files)?),
            canned_responses::created_at.eq(t),
            canned_responses::updated_at.eq(t),
        ))
        .returning(canned_responses::id)
        .get_result(conn)
        .map_err(|e| match Error::from(e) {
            Error::Unique(_) => taken(&draft.shortcut),
            other => other,
        })?;
    by_id(conn, project_id, id)
}

pub fn update(
    conn: &mut DbConn,
    existing: &Canned,
    draft: &Draft,
    files: &[StoredFile],
) -> Result<Canned> {
    if let Some(other) = with_shortcut(
        conn,
        existing.project_id,
        existing.owner_id,
        &draft.shortcut,
    )? && other != existing.id
    {
        return Err(taken(&draft.shortcut));
    }
    diesel::update(canned_responses::table.find(existing.id))
        .set((
            canned_responses::shortcut.eq(&draft.shortcut),
            canned_responses::title.eq(&draft.title),
            canned_responses::text.eq(&draft.text),
            canned_responses::files.eq(files_json(files)?),
            canned_responses::updated_at.eq(now()),
        ))
        .execute(conn)
        .map_err(|e| match Error::from(e) {
            Error::Unique(_) => taken(&draft.shortcut),
            other => other,
        })?;
    by_id(conn, existing.project_id, existing.id)
}

pub fn delete(conn: &mut DbConn, id: i64) -> Result<()> {
    diesel::delete(canned_responses::table.find(id)).execute(conn)?;
    Ok(())
}

pub fn by_id(conn: &mut DbConn, project_id: ProjectId, id: i64) -> Result<Canned> {
    canned_responses::table
        .filter(canned_responses::project_id.eq(project_id))
        .filter(canned_responses::id.eq(id))
        .select(Canned::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found(format!("no canned reply {id} in this project")))
}

/// The project's replies and this member's own, most used first.
pub fn visible_to(conn: &mut DbConn, project_id: ProjectId, user_id: i64) -> Result<Vec<Canned>> {
    Ok(canned_responses::table
        .filter(canned_responses::project_id.eq(project_id))
        .filter(
            canned_responses::owner_id
                .is_null()
                .or(canned_responses::owner_id.eq(user_id)),
        )
        .order((canned_responses::used.desc(), canned_responses::title.asc()))
        .select(Canned::as_select())
        .load(conn)?)
}

/// The member's own reply with this shortcut, or else the project's.
pub fn by_shortcut(
    conn: &mut DbConn,
    project_id: ProjectId,
    user_id: i64,
    shortcut: &str,
) -> Result<Option<Canned>> {
    let mut found: Vec<Canned> = canned_responses::table
        .filter(canned_responses::project_id.eq(project_id))
        .filter(canned_responses::shortcut.eq(shortcut))
        .filter(
            canned_responses::owner_id
                .is_null()
                .or(canned_responses::owner_id.eq(user_id)),
        )
        .select(Canned::as_select())
        .load(conn)?;
    found.sort_by_key(|c| c.owner_id.is_none());
    Ok(found.into_iter().next())
}

/// Counts one use (the reply was sent).
pub fn used(conn: &mut DbConn, id: i64) -> Result<()> {
    diesel::update(canned_responses::table.find(id))
        .set((
            canned_responses::used.eq(canned_responses::used + 1),
            canned_responses::last_used_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Storage keys among `keys` that a canned reply holds (the orphan sweep keeps them).
pub fn known_file_keys(conn: &mut DbConn, keys: &[String]) -> Result<Vec<String>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<String> = canned_responses::table
        .filter(canned_responses::files.ne("[]"))
        .select(canned_responses::files)
        .load(conn)?;
    let wanted: std::collections::HashSet<&String> = keys.iter().collect();
    Ok(rows
        .iter()
        .flat_map(|f| serde_json::from_str::<Vec<StoredFile>>(f).unwrap_or_default())
        .map(|f| f.storage_key)
        .filter(|k| wanted.contains(k))
        .collect())
}
