use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use super::prepared::fixed;
use super::schema::projects;
use super::{DbConn, now};
use crate::domain::ProjectId;
use crate::error::{Error, Result};

#[derive(Queryable, Selectable, Clone, Debug, Serialize)]
#[diesel(table_name = projects)]
pub struct Project {
    pub id: ProjectId,
    pub slug: String,
    pub name: String,
    pub timezone: String,
    pub next_number: i64,
    pub created_at: NaiveDateTime,
}

impl Project {
    /// The project's time zone (checked when it is set; Moscow should a stored one not parse).
    pub fn zone(&self) -> chrono_tz::Tz {
        self.timezone.parse().unwrap_or(chrono_tz::Europe::Moscow)
    }
}

fn check_timezone(timezone: &str) -> Result<()> {
    if timezone.parse::<chrono_tz::Tz>().is_err() {
        return Err(Error::invalid(format!(
            "unknown time zone \"{timezone}\"; use an IANA name such as Europe/Moscow"
        )));
    }
    Ok(())
}

pub fn create(conn: &mut DbConn, slug: &str, name: &str, timezone: &str) -> Result<Project> {
    check_timezone(timezone)?;
    let id: ProjectId = diesel::insert_into(projects::table)
        .values((
            projects::slug.eq(slug),
            projects::name.eq(name),
            projects::timezone.eq(timezone),
            projects::next_number.eq(0i64),
            projects::created_at.eq(now()),
        ))
        .returning(projects::id)
        .get_result(conn)?;
    if let DbConn::Postgresql(_) = conn {
        // The id is a number we just got back, so formatting it into the name is safe.
        diesel::sql_query(format!("CREATE SEQUENCE conversation_number_{}", id.0)).execute(conn)?;
    }
    by_id(conn, id)
}

/// A project's name and time zone (the one its schedule and its pages use).
pub fn update(conn: &mut DbConn, id: ProjectId, name: &str, timezone: &str) -> Result<Project> {
    check_timezone(timezone)?;
    diesel::update(projects::table.find(id))
        .set((projects::name.eq(name), projects::timezone.eq(timezone)))
        .execute(conn)?;
    by_id(conn, id)
}

pub fn by_id(conn: &mut DbConn, id: ProjectId) -> Result<Project> {
    projects::table
        .find(id)
        .select(Project::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found(format!("project {id} not found")))
}

pub fn by_slug(conn: &mut DbConn, slug: &str) -> Result<Option<Project>> {
    Ok(projects::table
        .filter(projects::slug.eq(slug))
        .select(Project::as_select())
        .first(conn)
        .optional()?)
}

pub fn all(conn: &mut DbConn) -> Result<Vec<Project>> {
    Ok(projects::table
        .order(projects::id)
        .select(Project::as_select())
        .load(conn)?)
}

/// The first project of a fresh install, so a single business never has to think about projects.
pub fn ensure_default(conn: &mut DbConn) -> Result<Project> {
    match projects::table
        .order(projects::id)
        .select(Project::as_select())
        .first(conn)
        .optional()?
    {
        Some(p) => Ok(p),
        None => create(conn, "default", "Моя компания", "Europe/Moscow"),
    }
}

/// Allocates the next customer-visible number (#N). SQLite has one writer, so the counter
/// in the project row costs nothing; on PostgreSQL that row would be locked by every new
/// conversation until its transaction ends, so numbers come from the project's sequence
/// (a rolled-back transaction leaves a gap).
pub fn next_number(conn: &mut DbConn, project_id: ProjectId) -> Result<i64> {
    reserve_numbers(conn, project_id, 1)?
        .pop()
        .ok_or_else(|| Error::internal("no conversation number was reserved"))
}

/// The sequence a project's numbers come from on PostgreSQL, as an SQL literal (the id is
/// a number, so formatting it in is safe).
fn number_sequence(project_id: ProjectId) -> String {
    format!("'conversation_number_{}'", project_id.0)
}

/// `count` fresh numbers at once (a bulk load), in increasing order.
pub fn reserve_numbers(conn: &mut DbConn, project_id: ProjectId, count: i64) -> Result<Vec<i64>> {
    match conn {
        DbConn::Postgresql(_) => super::next_values(conn, &number_sequence(project_id), count),
        DbConn::Sqlite(_) => {
            // Kept prepared (see `prepared`): this runs for every new conversation.
            let last = fixed(
                "UPDATE projects SET next_number = next_number + ? WHERE id = ? \
                 RETURNING next_number AS n",
                (
                    count.into_sql::<diesel::sql_types::BigInt>(),
                    project_id.0.into_sql::<diesel::sql_types::BigInt>(),
                ),
            )
            .get_result::<super::Number>(conn)?
            .n;
            Ok((last - count + 1..=last).collect())
        }
    }
}
