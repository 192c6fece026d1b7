//! The REST API's OpenAPI document, generated from the handlers' own annotations and types
//! (utoipa): the router and the document are built from the same registration in `api::scope`,
//! so a route cannot be served without being described.

use actix_web::{HttpResponse, web};
use utoipa::ToSchema;
use utoipa::openapi::schema::{Object, ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Components, InfoBuilder, OpenApi, OpenApiBuilder, Server};

use crate::domain::conversation::{ALL_PRIORITIES, ALL_STATUSES};
use crate::domain::{ChannelKind, Delivery, MessageKind};

/// Where the API lives; the document's paths are relative to it.
pub const BASE: &str = "/api/v1";

fn one_of(names: impl IntoIterator<Item = &'static str>) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(names))
        .build()
}

pub fn status_schema() -> Object {
    one_of(ALL_STATUSES.iter().map(|s| s.as_str()))
}

pub fn priority_schema() -> Object {
    one_of(ALL_PRIORITIES.iter().map(|p| p.as_str()))
}

pub fn channel_kind_schema() -> Object {
    one_of(ChannelKind::ALL.iter().map(|k| k.as_str()))
}

pub fn message_kind_schema() -> Object {
    one_of(MessageKind::ALL.iter().map(|k| k.as_str()))
}

pub fn delivery_schema() -> Object {
    one_of(Delivery::ALL.iter().map(|k| k.as_str()))
}

pub fn date_time_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
            utoipa::openapi::KnownFormat::DateTime,
        )))
        .build()
}

/// What a DELETE answers: the id of what is gone.
#[derive(serde::Serialize, ToSchema)]
pub struct Removed {
    pub id: i64,
}

/// Every error answer: `{"error": {"code", "message"}}`.
#[derive(ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(ToSchema)]
pub struct ErrorDetail {
    /// A stable word: bad_request, unauthorized, forbidden, not_found, conflict…
    pub code: String,
    /// What went wrong, for people.
    pub message: String,
}

/// The document's frame: title, server, the bearer scheme; `api::scope` adds the paths.
pub fn base() -> OpenApi {
    let mut components = Components::new();
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
    );
    // What an outgoing webhook POSTs (see /integrations for the signature).
    components.schemas.insert(
        "WebhookEventBody".into(),
        <crate::integrations::EventBody as utoipa::PartialSchema>::schema(),
    );
    let mut nested = Vec::new();
    <crate::integrations::EventBody as ToSchema>::schemas(&mut nested);
    components.schemas.extend(nested);
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("perepiska REST API")
                .version("1")
                .description(Some(
                    "Conversations (tickets) and messages of the project the token belongs to. \
                     Create a token with `perepiska token create --email E`.",
                ))
                .build(),
        )
        .servers(Some([Server::new(BASE)]))
        .components(Some(components))
        .build()
}

/// Paths relative to the server (`/conversations`, not `/api/v1/conversations`).
pub fn finish(mut doc: OpenApi) -> OpenApi {
    let paths = std::mem::take(&mut doc.paths.paths);
    doc.paths.paths = paths
        .into_iter()
        .map(|(p, item)| {
            let rel = p.strip_prefix(BASE).unwrap_or(&p).to_string();
            (rel, item)
        })
        .collect();
    doc
}

/// The document as served at /api/v1/openapi.json, rendered once at start-up.
pub struct Document(pub String);

pub async fn serve(doc: web::Data<Document>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(doc.0.clone())
}
