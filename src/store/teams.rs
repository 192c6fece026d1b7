use diesel::prelude::*;
use serde::Serialize;

use super::DbConn;
use super::schema::teams;
use crate::domain::ProjectId;
use crate::error::{Error, Result};

#[derive(Queryable, Selectable, Clone, Debug, Serialize)]
#[diesel(table_name = teams)]
pub struct Team {
    pub id: i64,
    pub project_id: ProjectId,
    pub name: String,
}

pub fn create(conn: &mut DbConn, project_id: ProjectId, name: &str) -> Result<Team> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Error::invalid("a team name must be 1-100 characters"));
    }
    if of_project(conn, project_id)?.iter().any(|t| t.name == name) {
        return Err(Error::Conflict(format!("team \"{name}\" already exists")));
    }
    let id: i64 = diesel::insert_into(teams::table)
        .values((teams::project_id.eq(project_id), teams::name.eq(name)))
        .returning(teams::id)
        .get_result(conn)?;
    Ok(Team {
        id,
        project_id,
        name: name.to_string(),
    })
}

pub fn of_project(conn: &mut DbConn, project_id: ProjectId) -> Result<Vec<Team>> {
    Ok(teams::table
        .filter(teams::project_id.eq(project_id))
        .order(teams::name)
        .select(Team::as_select())
        .load(conn)?)
}

pub fn by_id(conn: &mut DbConn, project_id: ProjectId, id: i64) -> Result<Team> {
    teams::table
        .find(id)
        .filter(teams::project_id.eq(project_id))
        .select(Team::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::invalid(format!("team {id} does not exist in this project")))
}
