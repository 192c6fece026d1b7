//! REST API for canned replies: the project's (admins and the settings level change them) and
//! the caller's own. Sending one is `POST /conversations/{id}/messages` with `{"canned"}`.
//! The same functions as the console's page.

use actix_web::{HttpResponse, delete, get, patch, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::State;
use super::auth::ApiUser;
use super::errors::ApiError;
use super::openapi::{ErrorBody, Removed};
use super::view::rfc3339;
use crate::domain::Can;
use crate::domain::canned::{Draft, Scope};
use crate::store::canned::Canned;

#[derive(Serialize, ToSchema)]
#[schema(as = CannedResponse)]
pub(super) struct CannedView {
    id: i64,
    /// Typed after `/` in the reply box, without the `/`.
    shortcut: String,
    title: String,
    /// May hold {name}, {number}, {operator} and {project}, filled when it is sent.
    text: String,
    /// True: the caller's own; false: the whole project's.
    personal: bool,
    /// Names of the files sent with it (added in the console).
    files: Vec<String>,
    /// How many times it was sent.
    used: i64,
    /// RFC 3339, UTC.
    updated_at: String,
}

pub(super) fn view(c: &Canned) -> CannedView {
    CannedView {
        id: c.id,
        shortcut: c.shortcut.clone(),
        title: c.title.clone(),
        text: c.text.clone(),
        personal: c.scope() == Scope::Personal,
        files: c.files().into_iter().map(|f| f.file_name).collect(),
        used: c.used,
        updated_at: rfc3339(c.updated_at),
    }
}

#[derive(Serialize, ToSchema)]
struct CannedList {
    data: Vec<CannedView>,
}

/// The project's canned replies and the caller's own, most used first.
#[utoipa::path(
    security(("bearer" = [])),
    responses(
        (status = 200, description = "OK", body = CannedList),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "Neither answering customers nor editing settings", body = ErrorBody),
    )
)]
#[get("/canned_responses")]
pub(super) async fn list_canned(
    state: web::Data<State>,
    who: ApiUser,
) -> Result<HttpResponse, ApiError> {
    who.require(Can::Canned)?;
    let all = state.inbox.canned_replies(&who.operator()).await?;
    Ok(HttpResponse::Ok().json(CannedList {
        data: all.iter().map(view).collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewCanned {
    /// 1-32 letters, digits, - or _; stored in lower case.
    shortcut: String,
    /// 1-100 characters.
    title: String,
    /// 1-4000 characters; {name}, {number}, {operator}, {project} are filled when sent.
    text: String,
    /// The caller's own (true) or the project's (false, the default: admins and the
    /// settings level).
    #[serde(default)]
    personal: bool,
}

/// Adds a canned reply.
#[utoipa::path(
    request_body = NewCanned,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Added", body = CannedView),
        (status = 400, description = "Bad input: the message says what", body = ErrorBody),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "A project reply without the settings level, or an own one without answering", body = ErrorBody),
        (status = 409, description = "The shortcut is taken", body = ErrorBody),
    )
)]
#[post("/canned_responses")]
pub(super) async fn create_canned(
    state: web::Data<State>,
    who: ApiUser,
    body: super::body::Json<NewCanned>,
) -> Result<HttpResponse, ApiError> {
    who.require(Can::Canned)?;
    let body = body.parse()?;
    let draft = Draft::parse(&body.shortcut, &body.title, &body.text)?;
    let scope = if body.personal {
        Scope::Personal
    } else {
        Scope::Project
    };
    let made = state
        .inbox
        .create_canned(&who.operator(), who.access, scope, draft, Vec::new())
        .await?;
    Ok(HttpResponse::Created().json(view(&made)))
}

/// One canned reply.
#[utoipa::path(
    params(("id" = i64, Path, description = "the canned reply's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "OK", body = CannedView),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 404, description = "No such reply in this project (or another member's own)", body = ErrorBody),
    )
)]
#[get("/canned_responses/{id}")]
pub(super) async fn get_canned(
    state: web::Data<State>,
    who: ApiUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    who.require(Can::Canned)?;
    let c = state
        .inbox
        .canned_reply(&who.operator(), path.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(view(&c)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CannedChange {
    shortcut: Option<String>,
    title: Option<String>,
    text: Option<String>,
}

/// Changes a canned reply's shortcut, title or text (the rest stays).
#[utoipa::path(
    params(("id" = i64, Path, description = "the canned reply's id")),
    request_body = CannedChange,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Changed", body = CannedView),
        (status = 400, description = "Bad input: the message says what", body = ErrorBody),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "A project reply without the settings level", body = ErrorBody),
        (status = 404, description = "No such reply in this project (or another member's own)", body = ErrorBody),
        (status = 409, description = "The shortcut is taken", body = ErrorBody),
    )
)]
#[patch("/canned_responses/{id}")]
pub(super) async fn change_canned(
    state: web::Data<State>,
    who: ApiUser,
    path: web::Path<i64>,
    body: super::body::Json<CannedChange>,
) -> Result<HttpResponse, ApiError> {
    who.require(Can::Canned)?;
    let body = body.parse()?;
    let op = who.operator();
    let id = path.into_inner();
    let old = state.inbox.canned_reply(&op, id).await?;
    let draft = Draft::parse(
        body.shortcut.as_deref().unwrap_or(&old.shortcut),
        body.title.as_deref().unwrap_or(&old.title),
        body.text.as_deref().unwrap_or(&old.text),
    )?;
    let saved = state
        .inbox
        .update_canned(&op, who.access, id, draft, None)
        .await?;
    Ok(HttpResponse::Ok().json(view(&saved)))
}

/// Deletes a canned reply (and its files; messages already sent keep their copies).
#[utoipa::path(
    params(("id" = i64, Path, description = "the canned reply's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Deleted", body = Removed),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "A project reply without the settings level", body = ErrorBody),
        (status = 404, description = "No such reply in this project (or another member's own)", body = ErrorBody),
    )
)]
#[delete("/canned_responses/{id}")]
pub(super) async fn delete_canned(
    state: web::Data<State>,
    who: ApiUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    who.require(Can::Canned)?;
    let id = path.into_inner();
    state
        .inbox
        .delete_canned(&who.operator(), who.access, id)
        .await?;
    Ok(HttpResponse::Ok().json(Removed { id }))
}
