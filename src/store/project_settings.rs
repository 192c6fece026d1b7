//! Project-wide automation settings (work schedule, staff alerts) as JSON, with who wrote
//! them last: the file does not overwrite what the settings page saved.

use diesel::prelude::*;

use super::schema::project_settings;
use super::{DbConn, now};
use crate::domain::ProjectId;
use crate::error::Result;

#[derive(Queryable, Selectable, Clone, Debug, Default)]
#[diesel(table_name = project_settings)]
pub struct Row {
    pub project_id: ProjectId,
    pub schedule: Option<String>,
    pub alerts: Option<String>,
    pub source: String,
    pub reports: Option<String>,
    pub updated_at: chrono::NaiveDateTime,
}

pub fn get(conn: &mut DbConn, project_id: ProjectId) -> Result<Option<Row>> {
    Ok(project_settings::table
        .find(project_id)
        .select(Row::as_select())
        .first(conn)
        .optional()?)
}

pub fn all(conn: &mut DbConn) -> Result<Vec<Row>> {
    Ok(project_settings::table
        .select(Row::as_select())
        .load(conn)?)
}

/// The project's row, made empty the first time anything is saved.
fn ensure(conn: &mut DbConn, project_id: ProjectId, source: &str) -> Result<()> {
    let exists: i64 = project_settings::table
        .find(project_id)
        .count()
        .get_result(conn)?;
    if exists == 0 {
        diesel::insert_into(project_settings::table)
            .values((
                project_settings::project_id.eq(project_id),
                project_settings::source.eq(source),
                project_settings::updated_at.eq(now()),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn save(
    conn: &mut DbConn,
    project_id: ProjectId,
    schedule: Option<&str>,
    alerts: Option<&str>,
    source: &str,
) -> Result<()> {
    ensure(conn, project_id, source)?;
    diesel::update(project_settings::table.find(project_id))
        .set((
            project_settings::schedule.eq(schedule),
            project_settings::alerts.eq(alerts),
            project_settings::source.eq(source),
            project_settings::updated_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// The reports' settings (JSON) as the settings page, the API or the file saved them.
pub fn save_reports(
    conn: &mut DbConn,
    project_id: ProjectId,
    reports: &str,
    source: &str,
) -> Result<()> {
    ensure(conn, project_id, source)?;
    diesel::update(project_settings::table.find(project_id))
        .set((
            project_settings::reports.eq(reports),
            project_settings::source.eq(source),
            project_settings::updated_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Takes the daily summary of `date` (the project's "YYYY-MM-DD") for sending: true once per
/// date, whichever instance asks first.
pub fn claim_summary(conn: &mut DbConn, project_id: ProjectId, date: &str) -> Result<bool> {
    let n = diesel::update(
        project_settings::table.find(project_id).filter(
            project_settings::summary_sent_on
                .is_null()
                .or(project_settings::summary_sent_on.lt(date)),
        ),
    )
    .set(project_settings::summary_sent_on.eq(date))
    .execute(conn)?;
    Ok(n == 1)
}
