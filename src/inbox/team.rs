//! The team of a project: inviting members, their access levels and teams, switching them
//! off, removing them, and handing their conversations to someone else. The web settings, the
//! REST API and the command line all go through these.

use super::Inbox;
use super::manage::{Changes, Operator};
use crate::crypto;
use crate::domain::audit::Action;
use crate::domain::{Access, ProjectId, Role};
use crate::error::{Error, Result};
use crate::store::access_links::{self, Purpose};
use crate::store::members::{self, Member};
use crate::store::{DbConn, audit, conversations, teams, users};

/// How long an invitation works.
pub const INVITE_DAYS: i64 = 7;
/// How long a password-reset link works.
pub const RESET_HOURS: i64 = 24;

/// A stored password no check ever accepts: an invited member signs in once they chose one.
const NO_PASSWORD: &str = "!invited";

/// Who is added, as the "Add member" form and `POST /users` describe them.
#[derive(Clone, Debug, Default)]
pub struct NewMember {
    pub email: String,
    pub name: String,
    pub phone: Option<String>,
    pub access: Access,
    pub teams: Vec<i64>,
}

/// The member added and, for someone new to this server, the invitation to pass on.
#[derive(Clone, Debug)]
pub struct Invited {
    pub member: Member,
    /// The secret part of the invitation link (`/invite/{token}`); None when the person
    /// already has a password on this server (they sign in as before and see the project).
    pub token: Option<String>,
    pub expires_at: Option<chrono::NaiveDateTime>,
}

/// What an admin changes about a member; absent fields stay as they are.
#[derive(Clone, Debug, Default)]
pub struct MemberChange {
    pub access: Option<Access>,
    pub active: Option<bool>,
    pub teams: Option<Vec<i64>>,
}

/// A member's display name: what customers see where the channel shows who answers.
pub fn valid_name(name: &str) -> Result<String> {
    let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Error::invalid("the name must be 1-100 characters"));
    }
    Ok(name)
}

/// A phone as people type it: digits with an optional leading +, spaces, dashes, brackets.
pub fn valid_phone(phone: &str) -> Result<Option<String>> {
    let p = phone.trim();
    if p.is_empty() {
        return Ok(None);
    }
    let digits = p.chars().filter(char::is_ascii_digit).count();
    let shaped = p
        .chars()
        .enumerate()
        .all(|(i, c)| c.is_ascii_digit() || " -()".contains(c) || (c == '+' && i == 0));
    if !shaped || !(5..=15).contains(&digits) {
        return Err(Error::invalid(format!(
            "\"{p}\" is not a phone number (digits, optionally starting with +)"
        )));
    }
    Ok(Some(p.to_string()))
}

fn member(conn: &mut DbConn, project_id: ProjectId, user_id: i64) -> Result<Member> {
    members::everyone(conn, project_id)?
        .into_iter()
        .find(|m| m.user.id == user_id)
        .ok_or_else(|| Error::not_found(format!("user {user_id} is not a member of this project")))
}

/// Refuses a change that would leave the project without an active admin.
fn keep_an_admin(conn: &mut DbConn, project_id: ProjectId) -> Result<()> {
    if members::admins(conn, project_id)? == 0 {
        return Err(Error::Conflict(
            "the project must keep at least one active admin: make someone else an admin first"
                .into(),
        ));
    }
    Ok(())
}

/// A fresh link token and its stored hash.
fn link(
    conn: &mut DbConn,
    user_id: i64,
    project_id: ProjectId,
    purpose: Purpose,
) -> Result<(String, chrono::NaiveDateTime)> {
    let token = crypto::random_hex(24)?;
    let ttl = match purpose {
        Purpose::Invite => chrono::Duration::days(INVITE_DAYS),
        Purpose::Reset => chrono::Duration::hours(RESET_HOURS),
    };
    let expires = access_links::create(
        conn,
        &crypto::sha256_hex(token.as_bytes()),
        user_id,
        project_id,
        purpose,
        ttl,
    )?;
    Ok((token, expires))
}

/// Adds a member to the admin's project in one transaction.
pub fn invite(
    conn: &mut DbConn,
    project_id: ProjectId,
    by: i64,
    new: &NewMember,
) -> Result<Invited> {
    let email = users::normalize_email(&new.email)?;
    let name = valid_name(&new.name)?;
    let phone = valid_phone(new.phone.as_deref().unwrap_or(""))?;
    if new.access.is_empty() {
        return Err(Error::invalid(
            "choose at least one access level: admin, settings, analytics or operator",
        ));
    }
    let existing = users::by_email(conn, &email)?;
    if let Some(u) = &existing
        && members::membership(conn, project_id, u.id)?.is_some()
    {
        return Err(Error::Conflict(format!(
            "{email} is already a member of this project"
        )));
    }
    let (user, fresh) = match existing {
        Some(u) => {
            // Someone who never finished their invitation elsewhere gets a new one here.
            let fresh = u.password_hash == NO_PASSWORD;
            (u, fresh)
        }
        None => (users::create(conn, &email, &name, NO_PASSWORD)?, true),
    };
    if fresh && phone.is_some() {
        users::set_phone(conn, user.id, phone.as_deref())?;
    }
    members::set_access(conn, project_id, user.id, new.access)?;
    members::set_teams(conn, project_id, user.id, &new.teams)?;
    let (token, expires_at) = if fresh {
        let (t, e) = link(conn, user.id, project_id, Purpose::Invite)?;
        (Some(t), Some(e))
    } else {
        (None, None)
    };
    audit::record(
        conn,
        project_id,
        Some(by),
        Action::MemberInvited,
        &email,
        &new.access.as_stored(),
    )?;
    Ok(Invited {
        member: member(conn, project_id, user.id)?,
        token,
        expires_at,
    })
}

/// A new invitation for a member who has not set a password yet (the old link stops working).
pub fn reinvite(
    conn: &mut DbConn,
    project_id: ProjectId,
    by: i64,
    user_id: i64,
) -> Result<(String, chrono::NaiveDateTime)> {
    let m = member(conn, project_id, user_id)?;
    if m.user.password_hash != NO_PASSWORD {
        return Err(Error::Conflict(
            "this member has already accepted the invitation: give them a password-reset link"
                .into(),
        ));
    }
    audit::record(
        conn,
        project_id,
        Some(by),
        Action::LinkMade,
        &m.user.email,
        "invite",
    )?;
    link(conn, user_id, project_id, Purpose::Invite)
}

/// A password-reset link an admin passes on (or the forgotten-password letter carries).
pub fn reset_link(
    conn: &mut DbConn,
    project_id: ProjectId,
    by: i64,
    user_id: i64,
) -> Result<(String, chrono::NaiveDateTime)> {
    let m = member(conn, project_id, user_id)?;
    if !m.active {
        return Err(Error::Conflict(
            "this member is switched off: switch them on first".into(),
        ));
    }
    audit::record(
        conn,
        project_id,
        Some(by),
        Action::LinkMade,
        &m.user.email,
        "reset",
    )?;
    link(conn, user_id, project_id, Purpose::Reset)
}

/// Whether the member still has to accept their invitation.
pub fn invited(user: &users::User) -> bool {
    user.password_hash == NO_PASSWORD
}

/// Applies an admin's change to a member; refused when it would leave no active admin.
pub fn change(
    conn: &mut DbConn,
    project_id: ProjectId,
    by: i64,
    user_id: i64,
    ch: &MemberChange,
) -> Result<Member> {
    let before = member(conn, project_id, user_id)?;
    let email = before.user.email.as_str();
    if let Some(access) = ch.access {
        if access.is_empty() {
            return Err(Error::invalid(
                "choose at least one access level: admin, settings, analytics or operator",
            ));
        }
        members::set_access(conn, project_id, user_id, access)?;
    }
    if let Some(active) = ch.active {
        members::set_active(conn, project_id, user_id, active)?;
        if !active {
            users::delete_access_to(conn, user_id, project_id)?;
        }
    }
    if let Some(teams) = &ch.teams {
        members::set_teams(conn, project_id, user_id, teams)?;
    }
    keep_an_admin(conn, project_id)?;
    let after = member(conn, project_id, user_id)?;
    if after.access != before.access || after.teams != before.teams {
        let detail = format!(
            "{} → {}; teams {:?} → {:?}",
            before.access.as_stored(),
            after.access.as_stored(),
            before.teams,
            after.teams
        );
        audit::record(
            conn,
            project_id,
            Some(by),
            Action::MemberAccess,
            email,
            &detail,
        )?;
    }
    if after.active != before.active {
        let action = if after.active {
            Action::MemberSwitchedOn
        } else {
            Action::MemberSwitchedOff
        };
        audit::record(conn, project_id, Some(by), action, email, "")?;
    }
    Ok(after)
}

/// Takes a member out of the project; their messages and history stay.
pub fn remove(conn: &mut DbConn, project_id: ProjectId, by: i64, user_id: i64) -> Result<()> {
    let m = member(conn, project_id, user_id)?;
    users::delete_access_to(conn, user_id, project_id)?;
    members::remove(conn, project_id, user_id)?;
    keep_an_admin(conn, project_id)?;
    audit::record(
        conn,
        project_id,
        Some(by),
        Action::MemberRemoved,
        &m.user.email,
        &m.access.as_stored(),
    )
}

/// A new team (operator group) with these members.
pub fn create_team(
    conn: &mut DbConn,
    project_id: ProjectId,
    by: i64,
    name: &str,
    people: &[i64],
) -> Result<teams::Team> {
    let t = teams::create(conn, project_id, name)?;
    teams::set_members(conn, project_id, t.id, people)?;
    audit::record(
        conn,
        project_id,
        Some(by),
        Action::TeamCreated,
        &t.name,
        &format!("{people:?}"),
    )?;
    Ok(t)
}

/// Renames a team and/or replaces its members.
pub fn change_team(
    conn: &mut DbConn,
    project_id: ProjectId,
    by: i64,
    id: i64,
    name: Option<&str>,
    people: Option<&[i64]>,
) -> Result<teams::Team> {
    let before = teams::find(conn, project_id, id)?;
    if let Some(n) = name {
        teams::rename(conn, project_id, id, n)?;
    }
    if let Some(p) = people {
        teams::set_members(conn, project_id, id, p)?;
    }
    let after = teams::find(conn, project_id, id)?;
    let detail = format!(
        "{}{}",
        if after.name != before.name {
            format!("{} → {}; ", before.name, after.name)
        } else {
            String::new()
        },
        people.map(|p| format!("{p:?}")).unwrap_or_default()
    );
    audit::record(
        conn,
        project_id,
        Some(by),
        Action::TeamChanged,
        &after.name,
        &detail,
    )?;
    Ok(after)
}

pub fn delete_team(conn: &mut DbConn, project_id: ProjectId, by: i64, id: i64) -> Result<()> {
    let t = teams::find(conn, project_id, id)?;
    teams::delete(conn, project_id, id)?;
    audit::record(conn, project_id, Some(by), Action::TeamDeleted, &t.name, "")
}

/// Sets a password through an invitation or reset link; the link works once. Returns the
/// user and the project the link was for. A reset signs the member out everywhere else.
pub fn accept(
    conn: &mut DbConn,
    token: &str,
    purpose: Purpose,
    password_hash: &str,
) -> Result<(users::User, ProjectId)> {
    let hash = crypto::sha256_hex(token.as_bytes());
    let (user_id, project_id) =
        access_links::take(conn, &hash, purpose)?.ok_or_else(|| link_gone(purpose))?;
    if members::access_in(conn, project_id, user_id)?.is_none() {
        return Err(Error::forbidden(
            "your access to this project has been switched off; ask its admin",
        ));
    }
    users::set_password(conn, user_id, password_hash)?;
    if purpose == Purpose::Reset {
        users::delete_sessions_except(conn, user_id, None)?;
    }
    Ok((users::by_id(conn, user_id)?, project_id))
}

/// The person a usable link is for (the page asking for a password greets them by name).
pub fn link_holder(conn: &mut DbConn, token: &str, purpose: Purpose) -> Result<users::User> {
    let hash = crypto::sha256_hex(token.as_bytes());
    let (user_id, _) =
        access_links::peek(conn, &hash, purpose)?.ok_or_else(|| link_gone(purpose))?;
    users::by_id(conn, user_id)
}

pub fn link_gone(purpose: Purpose) -> Error {
    Error::not_found(match purpose {
        Purpose::Invite => {
            "this invitation has expired or has already been used; ask your admin for a new one"
        }
        Purpose::Reset => {
            "this password-reset link has expired or has already been used; ask for a new one"
        }
    })
}

impl Inbox {
    /// Tells every open stream of the member, on every instance, to check their access again.
    pub fn access_changed(&self, user_id: i64) {
        self.bus.access_changed(user_id);
    }

    /// Gives a departing member's active conversations to someone else (or back to the
    /// queue), each as an operator's reassignment, so the thread records it.
    pub async fn hand_over(&self, actor: &Operator, from: i64, to: Option<i64>) -> Result<usize> {
        let pid = actor.project_id;
        if let Some(to) = to {
            let can = self
                .store
                .read(move |c| members::access_in(c, pid, to))
                .await?
                .is_some_and(|a| a.has(Role::Operator) || a.has(Role::Admin));
            if !can || to == from {
                return Err(Error::invalid(
                    "conversations can be handed to another active operator of this project",
                ));
            }
        }
        let ids = self
            .store
            .read(move |c| conversations::active_of_assignee(c, pid, from))
            .await?;
        for id in &ids {
            self.change(
                actor,
                *id,
                Changes {
                    assignee: Some(to),
                    ..Changes::default()
                },
            )
            .await?;
        }
        let (by, n) = (actor.user_id, ids.len());
        self.store
            .write(move |c| {
                let from = users::by_id(c, from)?.email;
                let to = match to {
                    Some(t) => users::by_id(c, t)?.email,
                    None => "—".into(),
                };
                audit::record(
                    c,
                    pid,
                    Some(by),
                    Action::HandedOver,
                    &from,
                    &format!("{n} → {to}"),
                )
            })
            .await?;
        Ok(n)
    }
}
