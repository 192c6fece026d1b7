//! REST API for the project's integrations (the settings level): outgoing webhooks, Bitrix24
//! and amoCRM declared with `{"kind", "config"}` and the keys of `[[integrations]]` in channels.toml, their
//! delivery log, "retry now", pause and resume. The same functions as Settings → Integrations.
//!
//! Each event is POSTed as JSON (the `WebhookEventBody` schema) with the headers
//! `X-Perepiska-Event`, `X-Perepiska-Delivery` (its id: a receiver ignores a repeat),
//! `X-Perepiska-Timestamp` (Unix seconds) and `X-Perepiska-Signature`:
//! `sha256=` + hex HMAC-SHA256 of `<timestamp>.<body>` with the integration's secret.

use actix_web::{HttpResponse, delete, get, post, put, web};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::State;
use super::auth::ApiUser;
use super::errors::ApiError;
use super::openapi::ErrorBody;
use crate::domain::{Can, IntegrationKind};
use crate::inbox::integrations::{DeliveryView, View};
use crate::integrations::Declared;

#[derive(Serialize, ToSchema)]
struct IntegrationList {
    data: Vec<View>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewIntegration {
    /// 1-64 characters of a-z, 0-9, '-' and '_'; unique in the project.
    id: String,
    /// "webhook", "bitrix24" or "amocrm".
    kind: String,
    /// How the settings show it; the id by default.
    name: Option<String>,
    /// Default true.
    enabled: Option<bool>,
    /// webhook: `url` (https://), `secret` (16+ characters; made up when left out and
    /// answered once), `events` (a list; all when left out). bitrix24: `webhook_url`
    /// (https://<portal>/rest/<user>/<key>/, checked with `profile` on save), `entity`
    /// ("lead" or "deal"), `source_id`. amocrm: `subdomain`, `token` (checked with
    /// /api/v4/account on save), `pipeline_id`, `status_id`, `api_base`. Both CRMs: `title`
    /// (template: {name}, {phone}, {email}, {channel}, {number}, `|fallback`),
    /// `default_responsible` (the CRM's user id). Every kind: `channels` (channel ids; all
    /// when left out).
    #[schema(value_type = Object)]
    config: Value,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct IntegrationChange {
    kind: String,
    name: Option<String>,
    enabled: Option<bool>,
    /// The whole config; a left-out secret (`secret`, `webhook_url`, `token`) keeps the
    /// stored one.
    #[schema(value_type = Object)]
    config: Value,
}

#[derive(Serialize, ToSchema)]
struct Saved {
    integration: View,
    /// The signing secret made up for it: shown this once.
    secret: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct DeliveryList {
    data: Vec<DeliveryView>,
    /// Pass as `before` for the next (older) page; null at the end.
    next_before: Option<i64>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct LogQuery {
    /// Deliveries older than this id (from `next_before`).
    before: Option<i64>,
}

/// The project's integrations, without their secrets.
#[utoipa::path(
    security(("bearer" = [])),
    responses(
        (status = 200, description = "OK", body = IntegrationList),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "Not an admin or the settings level", body = ErrorBody),
    )
)]
#[get("/integrations")]
pub(super) async fn list_integrations(
    state: web::Data<State>,
    who: ApiUser,
) -> Result<HttpResponse, ApiError> {
    who.require(Can::Settings)?;
    let data = state.inbox.integrations(who.project_id).await?;
    Ok(HttpResponse::Ok().json(IntegrationList { data }))
}

/// Adds an integration; events that happen from now on are delivered to it.
#[utoipa::path(
    request_body = NewIntegration,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Added (with the secret made up for it, once)", body = Saved),
        (status = 400, description = "Bad settings (the message names the key), or the CRM refused the connection", body = ErrorBody),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "Not an admin or the settings level", body = ErrorBody),
        (status = 409, description = "The id is taken", body = ErrorBody),
    )
)]
#[post("/integrations")]
pub(super) async fn create_integration(
    state: web::Data<State>,
    who: ApiUser,
    body: super::body::Json<NewIntegration>,
) -> Result<HttpResponse, ApiError> {
    who.require(Can::Settings)?;
    let b = body.parse()?;
    let taken = state.inbox.integration(who.project_id, &b.id).await.is_ok();
    if taken {
        return Err(crate::error::Error::Conflict(format!(
            "integration \"{}\" exists; change it with PUT /integrations/{}",
            b.id, b.id
        ))
        .into());
    }
    let d = Declared {
        name: b.name.unwrap_or_else(|| b.id.clone()),
        key: b.id,
        kind: IntegrationKind::parse(&b.kind)?,
        enabled: b.enabled.unwrap_or(true),
        config: b.config,
    };
    let (integration, secret) = state.inbox.save_integration(who.project_id, d).await?;
    Ok(HttpResponse::Created().json(Saved {
        integration,
        secret,
    }))
}

/// One integration.
#[utoipa::path(
    params(("id" = String, Path, description = "The integration's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "OK", body = View),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "Not an admin or the settings level", body = ErrorBody),
        (status = 404, description = "No such integration", body = ErrorBody),
    )
)]
#[get("/integrations/{id}")]
pub(super) async fn get_integration(
    state: web::Data<State>,
    who: ApiUser,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    who.require(Can::Settings)?;
    Ok(HttpResponse::Ok().json(state.inbox.integration(who.project_id, &id).await?))
}

/// Replaces an integration's settings (a bad one changes nothing).
#[utoipa::path(
    params(("id" = String, Path, description = "The integration's id")),
    request_body = IntegrationChange,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Saved", body = Saved),
        (status = 400, description = "Bad settings (the message names the key), or the CRM refused the connection", body = ErrorBody),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "Not an admin or the settings level", body = ErrorBody),
        (status = 404, description = "No such integration", body = ErrorBody),
        (status = 409, description = "Declared in channels.toml: changed there", body = ErrorBody),
    )
)]
#[put("/integrations/{id}")]
pub(super) async fn change_integration(
    state: web::Data<State>,
    who: ApiUser,
    id: web::Path<String>,
    body: super::body::Json<IntegrationChange>,
) -> Result<HttpResponse, ApiError> {
    who.require(Can::Settings)?;
    // Another project's integration is not there, whatever the body says.
    let current = state.inbox.integration(who.project_id, &id).await?;
    let b = body.parse()?;
    let d = Declared {
        key: id.into_inner(),
        kind: IntegrationKind::parse(&b.kind)?,
        name: b.name.unwrap_or(current.name),
        enabled: b.enabled.unwrap_or(current.enabled),
        config: b.config,
    };
    let (integration, secret) = state.inbox.save_integration(who.project_id, d).await?;
    Ok(HttpResponse::Ok().json(Saved {
        integration,
        secret,
    }))
}

/// Removes an integration and its delivery log.
#[utoipa::path(
    params(("id" = String, Path, description = "The integration's id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "Not an admin or the settings level", body = ErrorBody),
        (status = 404, description = "No such integration", body = ErrorBody),
        (status = 409, description = "Declared in channels.toml: removed there", body = ErrorBody),
    )
)]
#[delete("/integrations/{id}")]
pub(super) async fn delete_integration(
    state: web::Data<State>,
    who: ApiUser,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    who.require(Can::Settings)?;
    state.inbox.delete_integration(who.project_id, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Pauses an integration: its events wait (nothing is dropped) until it is resumed.
#[utoipa::path(
    params(("id" = String, Path, description = "The integration's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Paused", body = View),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "Not an admin or the settings level", body = ErrorBody),
        (status = 404, description = "No such integration", body = ErrorBody),
    )
)]
#[post("/integrations/{id}/pause")]
pub(super) async fn pause_integration(
    state: web::Data<State>,
    who: ApiUser,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    who.require(Can::Settings)?;
    Ok(HttpResponse::Ok().json(
        state
            .inbox
            .pause_integration(who.project_id, &id, true)
            .await?,
    ))
}

/// Resumes a paused integration (by an admin, or after a day of failures): what waited is
/// delivered at once, in order.
#[utoipa::path(
    params(("id" = String, Path, description = "The integration's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Resumed", body = View),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "Not an admin or the settings level", body = ErrorBody),
        (status = 404, description = "No such integration", body = ErrorBody),
    )
)]
#[post("/integrations/{id}/resume")]
pub(super) async fn resume_integration(
    state: web::Data<State>,
    who: ApiUser,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    who.require(Can::Settings)?;
    Ok(HttpResponse::Ok().json(
        state
            .inbox
            .pause_integration(who.project_id, &id, false)
            .await?,
    ))
}

/// The delivery log, newest first, 50 at a time.
#[utoipa::path(
    params(("id" = String, Path, description = "The integration's id"), LogQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "OK", body = DeliveryList),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "Not an admin or the settings level", body = ErrorBody),
        (status = 404, description = "No such integration", body = ErrorBody),
    )
)]
#[get("/integrations/{id}/deliveries")]
pub(super) async fn integration_deliveries(
    state: web::Data<State>,
    who: ApiUser,
    id: web::Path<String>,
    q: web::Query<LogQuery>,
) -> Result<HttpResponse, ApiError> {
    who.require(Can::Settings)?;
    let data = state
        .inbox
        .deliveries(who.project_id, &id, q.before)
        .await?;
    let next_before = (data.len() == 50)
        .then(|| data.last().map(|d| d.id))
        .flatten();
    Ok(HttpResponse::Ok().json(DeliveryList { data, next_before }))
}

/// Sends a delivery again now (a waiting one, or a delivered one once more).
#[utoipa::path(
    params(
        ("id" = String, Path, description = "The integration's id"),
        ("delivery" = i64, Path, description = "The delivery's id"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Queued"),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "Not an admin or the settings level", body = ErrorBody),
        (status = 404, description = "No such integration or delivery", body = ErrorBody),
    )
)]
#[post("/integrations/{id}/deliveries/{delivery}/retry")]
pub(super) async fn retry_integration_delivery(
    state: web::Data<State>,
    who: ApiUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    who.require(Can::Settings)?;
    let (id, delivery) = path.into_inner();
    let delivery: i64 = delivery
        .parse()
        .map_err(|_| crate::error::Error::NotFound(format!("no delivery {delivery}")))?;
    state
        .inbox
        .retry_delivery(who.project_id, &id, delivery)
        .await?;
    Ok(HttpResponse::Accepted().finish())
}
