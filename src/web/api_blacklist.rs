//! REST API for the project's blacklist: who is on it and why, what they wrote since (kept out
//! of the inbox), adding a contact and taking them off. The same functions as the sidebar and
//! Settings → Blacklist.

use actix_web::{HttpResponse, delete, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::State;
use super::auth::ApiUser;
use super::errors::ApiError;
use super::openapi::ErrorBody;
use super::view::rfc3339;
use crate::domain::{Can, ContactId};
use crate::error::Error;
use crate::store::contacts::Contact;
use crate::store::{contacts, withheld};

#[derive(Serialize, ToSchema)]
#[schema(as = BlacklistEntry)]
struct Entry {
    contact_id: i64,
    name: String,
    reason: String,
    /// The member who added them.
    added_by: Option<String>,
    /// RFC 3339, UTC.
    added_at: String,
    /// Messages received since and kept out of the inbox.
    withheld: i64,
}

fn entry(c: Contact, by: Option<String>, withheld: i64) -> Entry {
    Entry {
        contact_id: c.id.0,
        name: c.name,
        reason: c.blacklist_reason.unwrap_or_default(),
        added_by: by,
        added_at: c.blacklisted_at.map(rfc3339).unwrap_or_default(),
        withheld,
    }
}

#[derive(Serialize, ToSchema)]
struct Blacklist {
    data: Vec<Entry>,
}

/// The contacts on the blacklist, newest first.
#[utoipa::path(
    security(("bearer" = [])),
    responses(
        (status = 200, description = "OK", body = Blacklist),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "Not an admin or the settings level", body = ErrorBody),
    )
)]
#[get("/blacklist")]
pub(super) async fn list_blacklist(
    state: web::Data<State>,
    who: ApiUser,
) -> Result<HttpResponse, ApiError> {
    who.require(Can::Settings)?;
    let pid = who.project_id;
    let data = state
        .inbox
        .store
        .read(move |c| {
            contacts::blacklisted(c, pid)?
                .into_iter()
                .map(|(contact, by)| {
                    let n = withheld::count_of(c, contact.id)?;
                    Ok(entry(contact, by, n))
                })
                .collect::<crate::error::Result<Vec<_>>>()
        })
        .await?;
    Ok(HttpResponse::Ok().json(Blacklist { data }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewEntry {
    contact_id: i64,
    /// Why, as the team will read it later (1-500 characters).
    reason: String,
}

/// Puts a contact on the blacklist: their messages on any channel are still received and
/// kept, but open no conversation and wake no bot, auto-reply or alert.
#[utoipa::path(
    request_body = NewEntry,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Added", body = Entry),
        (status = 400, description = "No reason", body = ErrorBody),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "Not an admin or an operator", body = ErrorBody),
        (status = 404, description = "No such contact in this project", body = ErrorBody),
        (status = 409, description = "Already on the blacklist", body = ErrorBody),
    )
)]
#[post("/blacklist")]
pub(super) async fn add_to_blacklist(
    state: web::Data<State>,
    who: ApiUser,
    body: super::body::Json<NewEntry>,
) -> Result<HttpResponse, ApiError> {
    who.require(Can::Answer)?;
    let body = body.parse()?;
    let c = state
        .inbox
        .blacklist(&who.operator(), ContactId(body.contact_id), &body.reason)
        .await?;
    Ok(HttpResponse::Created().json(entry(c, Some(who.user.name.clone()), 0)))
}

#[derive(Serialize, ToSchema)]
struct Taken {
    contact_id: i64,
}

/// Takes a contact off the blacklist; what they write is handled as usual again.
#[utoipa::path(
    params(("id" = i64, Path, description = "the contact's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Taken off", body = Taken),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "Not an admin or an operator", body = ErrorBody),
        (status = 404, description = "No such contact on this project's blacklist", body = ErrorBody),
    )
)]
#[delete("/blacklist/{id}")]
pub(super) async fn remove_from_blacklist(
    state: web::Data<State>,
    who: ApiUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    who.require(Can::Answer)?;
    let id = path.into_inner();
    state
        .inbox
        .unblacklist(&who.operator(), ContactId(id))
        .await?;
    Ok(HttpResponse::Ok().json(Taken { contact_id: id }))
}

#[derive(Serialize, ToSchema)]
struct WithheldMessage {
    id: i64,
    channel_id: i64,
    text: String,
    /// Names of the files that came with it.
    files: Vec<String>,
    /// RFC 3339, UTC.
    received_at: String,
}

#[derive(Serialize, ToSchema)]
struct WithheldList {
    data: Vec<WithheldMessage>,
}

/// What a blacklisted contact wrote, newest first (at most 200).
#[utoipa::path(
    params(("id" = i64, Path, description = "the contact's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "OK", body = WithheldList),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "Not an admin or the settings level", body = ErrorBody),
        (status = 404, description = "No such contact in this project", body = ErrorBody),
    )
)]
#[get("/blacklist/{id}/messages")]
pub(super) async fn withheld_messages(
    state: web::Data<State>,
    who: ApiUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    who.require(Can::Settings)?;
    let (pid, id) = (who.project_id, ContactId(path.into_inner()));
    let kept = state
        .inbox
        .store
        .read(move |c| {
            contacts::by_id(c, pid, id)?;
            withheld::of_contact(c, id, 200)
        })
        .await
        .map_err(|e| match e {
            Error::NotFound(_) => Error::not_found(format!("no contact {id} in this project")),
            other => other,
        })?;
    let data = kept
        .into_iter()
        .map(|m| WithheldMessage {
            id: m.id,
            channel_id: m.channel_id.0,
            files: serde_json::from_str::<Vec<crate::store::attachments::StoredFile>>(&m.files)
                .unwrap_or_default()
                .into_iter()
                .map(|f| f.file_name)
                .collect(),
            text: m.text,
            received_at: rfc3339(m.received_at),
        })
        .collect();
    Ok(HttpResponse::Ok().json(WithheldList { data }))
}
