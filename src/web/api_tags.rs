//! REST API for the project's tags (the settings level changes them; whoever reads
//! conversations lists them). Tags go on a conversation with `PATCH /conversations/{id}`
//! `{"tags": [...]}`; the list filters with `?tag=`. The same functions as Settings → Tags.

use actix_web::{HttpResponse, delete, get, patch, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::State;
use super::auth::ApiUser;
use super::errors::ApiError;
use super::openapi::{ErrorBody, Removed};
use crate::domain::{Can, TagColour};
use crate::store::tags::{self, Tag};

#[derive(Serialize, ToSchema)]
#[schema(as = Tag)]
struct TagView {
    id: i64,
    name: String,
    #[schema(schema_with = colour_schema)]
    colour: String,
}

fn colour_schema() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(TagColour::ALL.iter().map(|c| c.as_str())))
        .build()
}

fn view(t: Tag) -> TagView {
    TagView {
        id: t.id,
        name: t.name,
        colour: t.colour.as_str().to_string(),
    }
}

#[derive(Serialize, ToSchema)]
struct TagList {
    data: Vec<TagView>,
}

/// The project's tags by name.
#[utoipa::path(
    security(("bearer" = [])),
    responses(
        (status = 200, description = "OK", body = TagList),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "Neither reading conversations nor editing settings", body = ErrorBody),
    )
)]
#[get("/tags")]
pub(super) async fn list_tags(
    state: web::Data<State>,
    who: ApiUser,
) -> Result<HttpResponse, ApiError> {
    if !who.access.can(Can::Settings) {
        who.require(Can::ReadDialogs)?;
    }
    let pid = who.project_id;
    let all = state
        .inbox
        .store
        .read(move |c| tags::of_project(c, pid))
        .await?;
    Ok(HttpResponse::Ok().json(TagList {
        data: all.into_iter().map(view).collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewTag {
    /// 1-40 characters, no commas; unique in the project whatever the case.
    name: String,
    /// Default blue.
    #[schema(schema_with = colour_schema)]
    colour: Option<String>,
}

/// Adds a tag.
#[utoipa::path(
    request_body = NewTag,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Added", body = TagView),
        (status = 400, description = "Bad input: the message says what", body = ErrorBody),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "Not an admin or the settings level", body = ErrorBody),
        (status = 409, description = "The project has a tag of that name", body = ErrorBody),
    )
)]
#[post("/tags")]
pub(super) async fn create_tag(
    state: web::Data<State>,
    who: ApiUser,
    body: super::body::Json<NewTag>,
) -> Result<HttpResponse, ApiError> {
    who.require(Can::Settings)?;
    let body = body.parse()?;
    let colour = match body.colour.as_deref() {
        Some(c) => TagColour::parse(c)?,
        None => TagColour::Blue,
    };
    let t = state
        .inbox
        .create_tag(&who.operator(), &body.name, colour)
        .await?;
    Ok(HttpResponse::Created().json(view(t)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TagChange {
    name: Option<String>,
    #[schema(schema_with = colour_schema)]
    colour: Option<String>,
}

/// Renames or recolours a tag (the conversations keep it).
#[utoipa::path(
    params(("id" = i64, Path, description = "the tag's id")),
    request_body = TagChange,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Changed", body = TagView),
        (status = 400, description = "Bad input: the message says what", body = ErrorBody),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "Not an admin or the settings level", body = ErrorBody),
        (status = 404, description = "No such tag in this project", body = ErrorBody),
        (status = 409, description = "The project has a tag of that name", body = ErrorBody),
    )
)]
#[patch("/tags/{id}")]
pub(super) async fn change_tag(
    state: web::Data<State>,
    who: ApiUser,
    path: web::Path<i64>,
    body: super::body::Json<TagChange>,
) -> Result<HttpResponse, ApiError> {
    who.require(Can::Settings)?;
    let (pid, id) = (who.project_id, path.into_inner());
    let old = state
        .inbox
        .store
        .read(move |c| tags::by_id(c, pid, id))
        .await?;
    let body = body.parse()?;
    let colour = match body.colour.as_deref() {
        Some(c) => TagColour::parse(c)?,
        None => old.colour,
    };
    let t = state
        .inbox
        .update_tag(
            &who.operator(),
            id,
            body.name.as_deref().unwrap_or(&old.name),
            colour,
        )
        .await?;
    Ok(HttpResponse::Ok().json(view(t)))
}

/// Deletes a tag and takes it off every conversation.
#[utoipa::path(
    params(("id" = i64, Path, description = "the tag's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Deleted", body = Removed),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "Not an admin or the settings level", body = ErrorBody),
        (status = 404, description = "No such tag in this project", body = ErrorBody),
    )
)]
#[delete("/tags/{id}")]
pub(super) async fn delete_tag(
    state: web::Data<State>,
    who: ApiUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    who.require(Can::Settings)?;
    let t = state
        .inbox
        .delete_tag(&who.operator(), path.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(Removed { id: t.id }))
}
