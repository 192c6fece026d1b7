//! Who belongs to which project, with which access levels, and whether they are switched on.

use diesel::prelude::*;

use super::DbConn;
use super::projects::Project;
use super::schema::{memberships, projects, team_members, teams, users};
use super::users::User;
use crate::domain::ProjectId;
use crate::domain::role::{Access, Role};
use crate::error::Result;

/// A member of a project as the team page shows them.
#[derive(Clone, Debug)]
pub struct Member {
    pub user: User,
    pub access: Access,
    pub active: bool,
    pub teams: Vec<i64>,
}

/// Gives a user these access levels in a project, adding the membership when needed (a
/// switched-off member stays switched off).
pub fn set_access(
    conn: &mut DbConn,
    project_id: ProjectId,
    user_id: i64,
    access: Access,
) -> Result<()> {
    let stored = access.as_stored();
    let updated = diesel::update(
        memberships::table
            .filter(memberships::project_id.eq(project_id))
            .filter(memberships::user_id.eq(user_id)),
    )
    .set(memberships::role.eq(&stored))
    .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(memberships::table)
            .values((
                memberships::project_id.eq(project_id),
                memberships::user_id.eq(user_id),
                memberships::role.eq(&stored),
                memberships::active.eq(true),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn set_active(
    conn: &mut DbConn,
    project_id: ProjectId,
    user_id: i64,
    active: bool,
) -> Result<usize> {
    Ok(diesel::update(
        memberships::table
            .filter(memberships::project_id.eq(project_id))
            .filter(memberships::user_id.eq(user_id)),
    )
    .set(memberships::active.eq(active))
    .execute(conn)?)
}

/// Takes a user out of a project and its teams; what they wrote stays.
pub fn remove(conn: &mut DbConn, project_id: ProjectId, user_id: i64) -> Result<usize> {
    let project_teams = teams::table
        .filter(teams::project_id.eq(project_id))
        .select(teams::id);
    diesel::delete(
        team_members::table
            .filter(team_members::user_id.eq(user_id))
            .filter(team_members::team_id.eq_any(project_teams)),
    )
    .execute(conn)?;
    Ok(diesel::delete(
        memberships::table
            .filter(memberships::project_id.eq(project_id))
            .filter(memberships::user_id.eq(user_id)),
    )
    .execute(conn)?)
}

/// The user's access in a project while they are an active member; None otherwise.
pub fn access_in(conn: &mut DbConn, project_id: ProjectId, user_id: i64) -> Result<Option<Access>> {
    let role: Option<String> = memberships::table
        .filter(memberships::project_id.eq(project_id))
        .filter(memberships::user_id.eq(user_id))
        .filter(memberships::active.eq(true))
        .select(memberships::role)
        .first(conn)
        .optional()?;
    role.map(|r| Access::parse(&r)).transpose()
}

/// (access, active) of any membership, switched off or not.
pub fn membership(
    conn: &mut DbConn,
    project_id: ProjectId,
    user_id: i64,
) -> Result<Option<(Access, bool)>> {
    let row: Option<(String, bool)> = memberships::table
        .filter(memberships::project_id.eq(project_id))
        .filter(memberships::user_id.eq(user_id))
        .select((memberships::role, memberships::active))
        .first(conn)
        .optional()?;
    row.map(|(r, a)| Ok((Access::parse(&r)?, a))).transpose()
}

/// The projects a user may work in now, with their access in each.
pub fn projects_of(conn: &mut DbConn, user_id: i64) -> Result<Vec<(Project, Access)>> {
    let rows: Vec<(Project, String)> = memberships::table
        .inner_join(projects::table)
        .filter(memberships::user_id.eq(user_id))
        .filter(memberships::active.eq(true))
        .order(projects::id)
        .select((Project::as_select(), memberships::role))
        .load(conn)?;
    rows.into_iter()
        .map(|(p, r)| Ok((p, Access::parse(&r)?)))
        .collect()
}

/// Active members who can take conversations (the assignee lists, auto-assignment). Read on
/// every inbox list, so without the teams `everyone` also loads.
pub fn members(conn: &mut DbConn, project_id: ProjectId) -> Result<Vec<User>> {
    let rows: Vec<(User, String)> = memberships::table
        .inner_join(users::table)
        .filter(memberships::project_id.eq(project_id))
        .filter(memberships::active.eq(true))
        .order((users::name, users::id))
        .select((User::as_select(), memberships::role))
        .load(conn)?;
    let mut out = Vec::new();
    for (user, role) in rows {
        let a = Access::parse(&role)?;
        if a.has(Role::Operator) || a.has(Role::Admin) {
            out.push(user);
        }
    }
    Ok(out)
}

/// Every member of the project, switched off ones too, by name.
pub fn everyone(conn: &mut DbConn, project_id: ProjectId) -> Result<Vec<Member>> {
    let rows: Vec<(User, String, bool)> = memberships::table
        .inner_join(users::table)
        .filter(memberships::project_id.eq(project_id))
        .order((users::name, users::id))
        .select((User::as_select(), memberships::role, memberships::active))
        .load(conn)?;
    let links: Vec<(i64, i64)> = team_members::table
        .inner_join(teams::table)
        .filter(teams::project_id.eq(project_id))
        .select((team_members::user_id, team_members::team_id))
        .load(conn)?;
    rows.into_iter()
        .map(|(user, role, active)| {
            let teams = links
                .iter()
                .filter(|(u, _)| *u == user.id)
                .map(|(_, t)| *t)
                .collect();
            Ok(Member {
                access: Access::parse(&role)?,
                user,
                active,
                teams,
            })
        })
        .collect()
}

/// Active admins of the project (the last one may not leave or step down).
pub fn admins(conn: &mut DbConn, project_id: ProjectId) -> Result<usize> {
    Ok(everyone(conn, project_id)?
        .iter()
        .filter(|m| m.active && m.access.has(Role::Admin))
        .count())
}

/// Whether anyone of the project is online now (the widget's offline form shows otherwise).
pub fn anyone_online(conn: &mut DbConn, project_id: ProjectId) -> Result<bool> {
    Ok(diesel::select(diesel::dsl::exists(
        memberships::table
            .inner_join(users::table)
            .filter(memberships::project_id.eq(project_id))
            .filter(memberships::active.eq(true))
            .filter(users::online.eq(true)),
    ))
    .get_result(conn)?)
}

/// Puts a member into exactly these teams of the project.
pub fn set_teams(
    conn: &mut DbConn,
    project_id: ProjectId,
    user_id: i64,
    team_ids: &[i64],
) -> Result<()> {
    let project_teams: Vec<i64> = teams::table
        .filter(teams::project_id.eq(project_id))
        .select(teams::id)
        .load(conn)?;
    if let Some(bad) = team_ids.iter().find(|t| !project_teams.contains(t)) {
        return Err(crate::error::Error::invalid(format!(
            "team {bad} does not exist in this project"
        )));
    }
    diesel::delete(
        team_members::table
            .filter(team_members::user_id.eq(user_id))
            .filter(team_members::team_id.eq_any(&project_teams)),
    )
    .execute(conn)?;
    let mut wanted = team_ids.to_vec();
    wanted.sort_unstable();
    wanted.dedup();
    for t in wanted {
        diesel::insert_into(team_members::table)
            .values((
                team_members::team_id.eq(t),
                team_members::user_id.eq(user_id),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The teams a user is in within a project ("My teams" in the inbox).
pub fn teams_of(conn: &mut DbConn, project_id: ProjectId, user_id: i64) -> Result<Vec<i64>> {
    Ok(team_members::table
        .inner_join(teams::table)
        .filter(teams::project_id.eq(project_id))
        .filter(team_members::user_id.eq(user_id))
        .select(team_members::team_id)
        .load(conn)?)
}

/// A one-time code (its hash) a member sends the project's bot to link their chat for
/// notifications; a new code replaces the last.
pub fn set_link_code(
    conn: &mut DbConn,
    project_id: ProjectId,
    user_id: i64,
    code_hash: &str,
    until: chrono::NaiveDateTime,
) -> Result<()> {
    diesel::update(
        memberships::table
            .filter(memberships::project_id.eq(project_id))
            .filter(memberships::user_id.eq(user_id)),
    )
    .set((
        memberships::link_code.eq(code_hash),
        memberships::link_code_until.eq(until),
    ))
    .execute(conn)?;
    Ok(())
}

type LinkCodeQuery = diesel::dsl::Filter<
    diesel::dsl::Filter<
        diesel::dsl::Filter<memberships::table, diesel::dsl::Eq<memberships::link_code, String>>,
        diesel::dsl::Eq<memberships::project_id, ProjectId>,
    >,
    diesel::dsl::GtEq<memberships::link_code_until, chrono::NaiveDateTime>,
>;

/// The membership whose code this is, while it works.
pub(super) fn link_code_query(project_id: ProjectId, code_hash: &str) -> LinkCodeQuery {
    memberships::table
        .filter(memberships::link_code.eq(code_hash.to_string()))
        .filter(memberships::project_id.eq(project_id))
        .filter(memberships::link_code_until.ge(super::now()))
}

/// Links the chat that sent a still valid code to its member, once: the code is spent.
/// Returns the member, None when the code is unknown, spent or late.
pub fn claim_link(
    conn: &mut DbConn,
    project_id: ProjectId,
    code_hash: &str,
    channel_id: crate::domain::ChannelId,
    chat: &str,
) -> Result<Option<i64>> {
    Ok(diesel::update(link_code_query(project_id, code_hash))
        .set((
            memberships::messenger_channel_id.eq(channel_id.0),
            memberships::messenger_chat.eq(chat),
            memberships::link_code.eq(None::<String>),
            memberships::link_code_until.eq(None::<chrono::NaiveDateTime>),
        ))
        .returning(memberships::user_id)
        .get_result(conn)
        .optional()?)
}

/// The chat a member's notices for this project go to, and whether a code is waiting.
pub fn messenger_link(
    conn: &mut DbConn,
    project_id: ProjectId,
    user_id: i64,
) -> Result<(Option<(crate::domain::ChannelId, String)>, bool)> {
    let (channel, chat, until): (Option<i64>, Option<String>, Option<chrono::NaiveDateTime>) =
        memberships::table
            .filter(memberships::project_id.eq(project_id))
            .filter(memberships::user_id.eq(user_id))
            .select((
                memberships::messenger_channel_id,
                memberships::messenger_chat,
                memberships::link_code_until,
            ))
            .first(conn)?;
    let waiting = until.is_some_and(|u| u >= super::now());
    Ok((
        channel
            .zip(chat)
            .map(|(c, chat)| (crate::domain::ChannelId(c), chat)),
        waiting,
    ))
}

pub fn unlink_messenger(conn: &mut DbConn, project_id: ProjectId, user_id: i64) -> Result<()> {
    diesel::update(
        memberships::table
            .filter(memberships::project_id.eq(project_id))
            .filter(memberships::user_id.eq(user_id)),
    )
    .set((
        memberships::messenger_channel_id.eq(None::<i64>),
        memberships::messenger_chat.eq(None::<String>),
        memberships::link_code.eq(None::<String>),
        memberships::link_code_until.eq(None::<chrono::NaiveDateTime>),
    ))
    .execute(conn)?;
    Ok(())
}
