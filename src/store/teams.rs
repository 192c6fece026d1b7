use diesel::prelude::*;
use serde::Serialize;

use super::DbConn;
use super::schema::{channels, conversations, team_members, teams};
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

/// A team asked for by its own address (its page, the API): NotFound when not this project's.
pub fn find(conn: &mut DbConn, project_id: ProjectId, id: i64) -> Result<Team> {
    by_id(conn, project_id, id)
        .map_err(|_| Error::not_found(format!("no team {id} in this project")))
}

pub fn rename(conn: &mut DbConn, project_id: ProjectId, id: i64, name: &str) -> Result<Team> {
    find(conn, project_id, id)?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Error::invalid("a team name must be 1-100 characters"));
    }
    if of_project(conn, project_id)?
        .iter()
        .any(|t| t.name == name && t.id != id)
    {
        return Err(Error::Conflict(format!("team \"{name}\" already exists")));
    }
    diesel::update(teams::table.find(id))
        .set(teams::name.eq(name))
        .execute(conn)?;
    by_id(conn, project_id, id)
}

/// Deletes a team: its conversations and channels go back to the whole project's queue.
pub fn delete(conn: &mut DbConn, project_id: ProjectId, id: i64) -> Result<()> {
    find(conn, project_id, id)?;
    diesel::update(conversations::table.filter(conversations::team_id.eq(id)))
        .set(conversations::team_id.eq(None::<i64>))
        .execute(conn)?;
    diesel::update(channels::table.filter(channels::default_team_id.eq(id)))
        .set(channels::default_team_id.eq(None::<i64>))
        .execute(conn)?;
    diesel::delete(team_members::table.filter(team_members::team_id.eq(id))).execute(conn)?;
    diesel::delete(teams::table.find(id)).execute(conn)?;
    Ok(())
}

/// The user ids in a team.
pub fn members_of(conn: &mut DbConn, id: i64) -> Result<Vec<i64>> {
    Ok(team_members::table
        .filter(team_members::team_id.eq(id))
        .select(team_members::user_id)
        .load(conn)?)
}

/// Puts exactly these members of the project into the team.
pub fn set_members(
    conn: &mut DbConn,
    project_id: ProjectId,
    id: i64,
    user_ids: &[i64],
) -> Result<()> {
    find(conn, project_id, id)?;
    let mut wanted = user_ids.to_vec();
    wanted.sort_unstable();
    wanted.dedup();
    for u in &wanted {
        if super::members::membership(conn, project_id, *u)?.is_none() {
            return Err(Error::invalid(format!(
                "user {u} is not a member of this project"
            )));
        }
    }
    diesel::delete(team_members::table.filter(team_members::team_id.eq(id))).execute(conn)?;
    for u in wanted {
        diesel::insert_into(team_members::table)
            .values((team_members::team_id.eq(id), team_members::user_id.eq(u)))
            .execute(conn)?;
    }
    Ok(())
}
