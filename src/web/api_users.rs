//! REST API for the team (admin tokens): members with their access levels and teams, adding a
//! member (answered with the invitation link), changing access, switching off, handing over
//! and removing; and the project's teams. The same rules as Settings → Team and → Teams, in
//! the same functions.

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::State;
use super::auth::ApiUser;
use super::errors::ApiError;
use super::openapi::{ErrorBody, Removed};
use super::view::rfc3339;
use crate::domain::{Access, Can};
use crate::error::Error;
use crate::inbox::team::{self, MemberChange, NewMember};
use crate::store::members::{self, Member};
use crate::store::teams;

#[derive(Serialize, ToSchema)]
#[schema(as = User)]
struct UserItem {
    id: i64,
    email: String,
    name: String,
    phone: Option<String>,
    /// Access levels: admin, settings, analytics, operator.
    roles: Vec<&'static str>,
    /// Switched-off members cannot sign in, and their tokens are refused.
    active: bool,
    /// Has not yet opened their invitation and set a password.
    invited: bool,
    online: bool,
    /// RFC 3339, UTC; null when never seen.
    last_seen_at: Option<String>,
    teams: Vec<i64>,
}

impl From<&Member> for UserItem {
    fn from(m: &Member) -> UserItem {
        UserItem {
            id: m.user.id,
            email: m.user.email.clone(),
            name: m.user.name.clone(),
            phone: m.user.phone.clone(),
            roles: m.access.roles().iter().map(|r| r.as_str()).collect(),
            active: m.active,
            invited: team::invited(&m.user),
            online: m.active && m.user.online,
            last_seen_at: m.user.last_seen_at.map(rfc3339),
            teams: m.teams.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
struct UserList {
    data: Vec<UserItem>,
}

async fn member(state: &State, who: &ApiUser, id: i64) -> Result<Member, ApiError> {
    let pid = who.project_id;
    state
        .inbox
        .store
        .read(move |c| members::everyone(c, pid))
        .await?
        .into_iter()
        .find(|m| m.user.id == id)
        .ok_or_else(|| ApiError::from(Error::not_found(format!("no user {id} in this project"))))
}

/// The project's members, switched-off ones too, by name.
#[utoipa::path(
    security(("bearer" = [])),
    responses(
        (status = 200, description = "OK", body = UserList),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
    )
)]
#[get("/users")]
pub(super) async fn list_users(
    state: web::Data<State>,
    who: ApiUser,
) -> Result<HttpResponse, ApiError> {
    who.require(Can::Team)?;
    let pid = who.project_id;
    let data = state
        .inbox
        .store
        .read(move |c| members::everyone(c, pid))
        .await?
        .iter()
        .map(UserItem::from)
        .collect();
    Ok(HttpResponse::Ok().json(UserList { data }))
}

/// One member.
#[utoipa::path(
    params(("id" = i64, Path, description = "the user's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "OK", body = UserItem),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such member in this project", body = ErrorBody),
    )
)]
#[get("/users/{id}")]
pub(super) async fn get_user(
    state: web::Data<State>,
    who: ApiUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    who.require(Can::Team)?;
    let m = member(&state, &who, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(UserItem::from(&m)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewUser {
    email: String,
    /// First and last name, as customers see it where a channel shows who answers.
    name: String,
    phone: Option<String>,
    /// At least one of admin, settings, analytics, operator.
    roles: Vec<String>,
    #[serde(default)]
    teams: Vec<i64>,
}

#[derive(Serialize, ToSchema)]
struct CreatedUser {
    id: i64,
    /// The link the new member opens to set a password: valid 7 days, once. Null when the
    /// person already signs in to this server (they see the project at their next sign-in).
    invite_url: Option<String>,
    /// RFC 3339, UTC.
    invite_expires_at: Option<String>,
    /// The invitation also went by e-mail (false without PEREPISKA_SMTP_URL, or when the mail
    /// server refused it: pass invite_url on yourself).
    invite_sent: bool,
    user: UserItem,
}

/// Adds a member and answers with their invitation link to pass on.
#[utoipa::path(
    request_body = NewUser,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Added", body = CreatedUser),
        (status = 400, description = "A bad e-mail, name, phone, access level or team", body = ErrorBody),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 409, description = "Already a member of this project", body = ErrorBody),
    )
)]
#[post("/users")]
pub(super) async fn create_user(
    req: HttpRequest,
    state: web::Data<State>,
    who: ApiUser,
    body: super::body::Json<NewUser>,
) -> Result<HttpResponse, ApiError> {
    who.require(Can::Team)?;
    let body = body.parse()?;
    let new = NewMember {
        email: body.email,
        name: body.name,
        phone: body.phone,
        access: Access::from_names(&body.roles)?,
        teams: body.teams,
    };
    let pid = who.project_id;
    let invited = state
        .inbox
        .store
        .write(move |c| team::invite(c, pid, who.user.id, &new))
        .await?;
    let invite_url = invited
        .token
        .as_deref()
        .map(|t| super::settings_team::link_url(&state, &req, "invite", t));
    let mut invite_sent = false;
    if let (Some(url), Some(until)) = (&invite_url, invited.expires_at) {
        let project = state
            .inbox
            .store
            .read(move |c| crate::store::projects::by_id(c, pid))
            .await?;
        let tr = crate::i18n::Tr {
            lang: crate::i18n::Lang::pick(None, None),
        };
        invite_sent = super::settings_team::send_link(
            &state,
            tr,
            crate::store::access_links::Purpose::Invite,
            &project.name,
            &invited.member.user,
            url,
            &super::view::local(until, &project.timezone),
        )
        .await
        .is_some_and(|r| r.is_ok());
    }
    Ok(HttpResponse::Created().json(CreatedUser {
        id: invited.member.user.id,
        invite_url,
        invite_expires_at: invited.expires_at.map(rfc3339),
        invite_sent,
        user: UserItem::from(&invited.member),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct UserChange {
    /// Replaces the member's access levels (at least one).
    roles: Option<Vec<String>>,
    /// false switches the member off: their sessions, live streams and tokens stop at once.
    active: Option<bool>,
    /// Replaces the member's teams.
    teams: Option<Vec<i64>>,
    /// Hands the member's active conversations to this operator (null: back to the queue).
    #[serde(default, deserialize_with = "super::api::double_option")]
    #[schema(value_type = Option<i64>)]
    hand_over_to: Option<Option<i64>>,
}

/// Changes a member's access, teams or state; the last active admin stays one.
#[utoipa::path(
    params(("id" = i64, Path, description = "the user's id")),
    request_body = UserChange,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Changed", body = UserItem),
        (status = 400, description = "A bad access level, team or operator", body = ErrorBody),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such member in this project", body = ErrorBody),
        (status = 409, description = "It would leave the project without an active admin", body = ErrorBody),
    )
)]
#[patch("/users/{id}")]
pub(super) async fn change_user(
    state: web::Data<State>,
    who: ApiUser,
    path: web::Path<i64>,
    body: super::body::Json<UserChange>,
) -> Result<HttpResponse, ApiError> {
    who.require(Can::Team)?;
    let (pid, id, body) = (who.project_id, path.into_inner(), body.parse()?);
    let ch = MemberChange {
        access: body.roles.as_deref().map(Access::from_names).transpose()?,
        active: body.active,
        teams: body.teams,
    };
    member(&state, &who, id).await?;
    if let Some(to) = body.hand_over_to {
        state.inbox.hand_over(&who.operator(), id, to).await?;
    }
    let m = state
        .inbox
        .store
        .write(move |c| team::change(c, pid, who.user.id, id, &ch))
        .await?;
    state.inbox.access_changed(id);
    Ok(HttpResponse::Ok().json(UserItem::from(&m)))
}

/// Removes a member from the project; what they wrote stays.
#[utoipa::path(
    params(("id" = i64, Path, description = "the user's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Removed", body = Removed),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such member in this project", body = ErrorBody),
        (status = 409, description = "The last active admin cannot be removed", body = ErrorBody),
    )
)]
#[delete("/users/{id}")]
pub(super) async fn delete_user(
    state: web::Data<State>,
    who: ApiUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    who.require(Can::Team)?;
    let (pid, id) = (who.project_id, path.into_inner());
    state
        .inbox
        .store
        .write(move |c| team::remove(c, pid, who.user.id, id))
        .await?;
    state.inbox.access_changed(id);
    Ok(HttpResponse::Ok().json(Removed { id }))
}

#[derive(Serialize, ToSchema)]
#[schema(as = Team)]
struct TeamItem {
    id: i64,
    name: String,
    /// User ids.
    members: Vec<i64>,
}

#[derive(Serialize, ToSchema)]
struct TeamList {
    data: Vec<TeamItem>,
}

async fn team_item(state: &State, who: &ApiUser, id: i64) -> Result<TeamItem, ApiError> {
    let pid = who.project_id;
    Ok(state
        .inbox
        .store
        .read(move |c| {
            let t = teams::by_id(c, pid, id)
                .map_err(|_| Error::not_found(format!("no team {id} in this project")))?;
            Ok(TeamItem {
                id: t.id,
                name: t.name,
                members: teams::members_of(c, t.id)?,
            })
        })
        .await?)
}

/// The project's teams (operator groups) with their members.
#[utoipa::path(
    security(("bearer" = [])),
    responses(
        (status = 200, description = "OK", body = TeamList),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
    )
)]
#[get("/teams")]
pub(super) async fn list_teams(
    state: web::Data<State>,
    who: ApiUser,
) -> Result<HttpResponse, ApiError> {
    who.require(Can::Team)?;
    let pid = who.project_id;
    let data = state
        .inbox
        .store
        .read(move |c| {
            teams::of_project(c, pid)?
                .into_iter()
                .map(|t| {
                    Ok(TeamItem {
                        members: teams::members_of(c, t.id)?,
                        id: t.id,
                        name: t.name,
                    })
                })
                .collect::<crate::error::Result<Vec<_>>>()
        })
        .await?;
    Ok(HttpResponse::Ok().json(TeamList { data }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TeamChange {
    name: Option<String>,
    /// Replaces the team's members (user ids of this project).
    members: Option<Vec<i64>>,
}

/// Creates a team.
#[utoipa::path(
    request_body = TeamChange,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = TeamItem),
        (status = 400, description = "No name, or a bad member", body = ErrorBody),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 409, description = "A team with this name exists", body = ErrorBody),
    )
)]
#[post("/teams")]
pub(super) async fn create_team(
    state: web::Data<State>,
    who: ApiUser,
    body: super::body::Json<TeamChange>,
) -> Result<HttpResponse, ApiError> {
    who.require(Can::Team)?;
    let (pid, by, body) = (who.project_id, who.user.id, body.parse()?);
    let id = state
        .inbox
        .store
        .write(move |c| {
            let name = body.name.as_deref().unwrap_or("");
            let people = body.members.unwrap_or_default();
            team::create_team(c, pid, by, name, &people).map(|t| t.id)
        })
        .await?;
    Ok(HttpResponse::Created().json(team_item(&state, &who, id).await?))
}

/// Renames a team or replaces its members.
#[utoipa::path(
    params(("id" = i64, Path, description = "the team's id")),
    request_body = TeamChange,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Changed", body = TeamItem),
        (status = 400, description = "A bad name or member", body = ErrorBody),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such team in this project", body = ErrorBody),
        (status = 409, description = "A team with this name exists", body = ErrorBody),
    )
)]
#[patch("/teams/{id}")]
pub(super) async fn change_team(
    state: web::Data<State>,
    who: ApiUser,
    path: web::Path<i64>,
    body: super::body::Json<TeamChange>,
) -> Result<HttpResponse, ApiError> {
    who.require(Can::Team)?;
    let (pid, by, id, body) = (
        who.project_id,
        who.user.id,
        path.into_inner(),
        body.parse()?,
    );
    team_item(&state, &who, id).await?;
    state
        .inbox
        .store
        .write(move |c| {
            team::change_team(
                c,
                pid,
                by,
                id,
                body.name.as_deref(),
                body.members.as_deref(),
            )
            .map(|_| ())
        })
        .await?;
    Ok(HttpResponse::Ok().json(team_item(&state, &who, id).await?))
}

/// Deletes a team; its conversations and channels go back to the whole project's queue.
#[utoipa::path(
    params(("id" = i64, Path, description = "the team's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Deleted", body = Removed),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such team in this project", body = ErrorBody),
    )
)]
#[delete("/teams/{id}")]
pub(super) async fn delete_team(
    state: web::Data<State>,
    who: ApiUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    who.require(Can::Team)?;
    let (pid, by, id) = (who.project_id, who.user.id, path.into_inner());
    team_item(&state, &who, id).await?;
    state
        .inbox
        .store
        .write(move |c| team::delete_team(c, pid, by, id))
        .await?;
    Ok(HttpResponse::Ok().json(Removed { id }))
}
