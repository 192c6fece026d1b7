//! REST API for canned replies: the project's (admins and the settings level change them) and
//! the caller's own. Sending one is `POST /conversations/{id}/messages` with `{"canned"}`.
//! The same functions as the console's page.

use actix_web::{HttpResponse, delete, get, patch, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::State;
use super::auth::ApiUser;
use super::console::upload::FileForm;
use super::errors::ApiError;
use super::openapi::{ErrorBody, Removed};
use super::view::rfc3339;
use crate::domain::Can;
use crate::domain::canned::{self as rules, Draft, Scope};
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
    /// The files sent with it: add with `POST /canned_responses/{id}/files`, remove with
    /// `DELETE /canned_responses/{id}/files/{file_id}`.
    files: Vec<CannedFile>,
    /// How many times it was sent.
    used: i64,
    /// RFC 3339, UTC.
    updated_at: String,
}

#[derive(Serialize, ToSchema)]
pub(super) struct CannedFile {
    /// Names the file in `DELETE /canned_responses/{id}/files/{file_id}`.
    id: String,
    name: String,
    content_type: String,
    /// Bytes.
    size: i64,
}

/// A file's id in the API: the last part of its storage key (unique, and fit for a path).
fn file_id_of(storage_key: &str) -> &str {
    storage_key.rsplit('/').next().unwrap_or(storage_key)
}

pub(super) fn view(c: &Canned) -> CannedView {
    CannedView {
        id: c.id,
        shortcut: c.shortcut.clone(),
        title: c.title.clone(),
        text: c.text.clone(),
        personal: c.scope() == Scope::Personal,
        files: c
            .files()
            .into_iter()
            .map(|f| CannedFile {
                id: file_id_of(&f.storage_key).to_string(),
                name: f.file_name,
                content_type: f.content_type,
                size: f.size,
            })
            .collect(),
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

/// Adds files to a canned reply (multipart/form-data, each under the field `file`); they go
/// with it every time it is sent. At most as many as a reply may carry, each within the
/// server's attachment limit; a refusal stores none of them.
#[utoipa::path(
    params(("id" = i64, Path, description = "the canned reply's id")),
    request_body(content_type = "multipart/form-data", description = "one or more `file` parts"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Added; the reply with all its files", body = CannedView),
        (status = 400, description = "No file, too many, or too large", body = ErrorBody),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "A project reply without the settings level", body = ErrorBody),
        (status = 404, description = "No such reply in this project (or another member's own)", body = ErrorBody),
    )
)]
#[post("/canned_responses/{id}/files")]
pub(super) async fn add_canned_files(
    state: web::Data<State>,
    who: ApiUser,
    path: web::Path<i64>,
    payload: actix_multipart::Multipart,
) -> Result<HttpResponse, ApiError> {
    who.require(Can::Canned)?;
    let op = who.operator();
    let existing = state.inbox.canned_reply(&op, path.into_inner()).await?;
    crate::inbox::canned::may_change_reply(&op, who.access, &existing)?;
    let mut form = FileForm::read(&state, payload, "file", rules::MAX_FILES).await?;
    if !form.has_files() {
        return Err(ApiError::bad_request(
            "send the files as multipart/form-data parts named \"file\"",
        ));
    }
    let mut files = existing.files();
    files.extend(form.save_files(&state).await?);
    let draft = Draft::parse(&existing.shortcut, &existing.title, &existing.text)?;
    let saved = state
        .inbox
        .update_canned(&op, who.access, existing.id, draft, Some(files))
        .await?;
    Ok(HttpResponse::Ok().json(view(&saved)))
}

/// Removes one file from a canned reply (messages already sent keep their copies).
#[utoipa::path(
    params(
        ("id" = i64, Path, description = "the canned reply's id"),
        ("file_id" = String, Path, description = "the file's id, from the reply's `files`"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Removed; the reply with the files it keeps", body = CannedView),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "A project reply without the settings level", body = ErrorBody),
        (status = 404, description = "No such reply, or no such file in it", body = ErrorBody),
    )
)]
#[delete("/canned_responses/{id}/files/{file_id}")]
pub(super) async fn remove_canned_file(
    state: web::Data<State>,
    who: ApiUser,
    path: web::Path<(i64, String)>,
) -> Result<HttpResponse, ApiError> {
    who.require(Can::Canned)?;
    let (id, file_id) = path.into_inner();
    let op = who.operator();
    let existing = state.inbox.canned_reply(&op, id).await?;
    let before = existing.files();
    let files: Vec<_> = before
        .iter()
        .filter(|f| file_id_of(&f.storage_key) != file_id)
        .cloned()
        .collect();
    if files.len() == before.len() {
        return Err(ApiError::from(crate::error::Error::not_found(format!(
            "canned reply {id} has no file {file_id}"
        ))));
    }
    let draft = Draft::parse(&existing.shortcut, &existing.title, &existing.text)?;
    let saved = state
        .inbox
        .update_canned(&op, who.access, id, draft, Some(files))
        .await?;
    Ok(HttpResponse::Ok().json(view(&saved)))
}
