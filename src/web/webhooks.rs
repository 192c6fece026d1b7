//! Platform webhooks: POST /webhooks/{channel id}[/{secret}]. The platform gets its expected
//! answer only after what it sent is committed (invariant 1).

use actix_web::{HttpRequest, HttpResponse, web};

use super::State;
use super::errors::ApiError;
use super::widget::webhook_error;
use crate::channels::{RawRequest, WebhookReply};
use crate::error::Error;

/// Platform events are small JSON (files come by reference); nothing near the upload limit.
const MAX_BODY: usize = 2 * 1024 * 1024;

pub fn routes(cfg: &mut web::ServiceConfig) {
    // Platforms POST events; WhatsApp's subscription handshake is a GET. Nothing else.
    cfg.service(
        web::resource("/webhooks/{key}")
            .app_data(web::PayloadConfig::new(MAX_BODY))
            .route(web::post().to(hook))
            .route(web::get().to(hook))
            .default_service(web::to(wrong_method)),
    )
    .service(
        web::resource("/webhooks/{key}/{secret}")
            .app_data(web::PayloadConfig::new(MAX_BODY))
            .route(web::post().to(hook_with_secret))
            .route(web::get().to(hook_with_secret))
            .default_service(web::to(wrong_method)),
    );
}

async fn wrong_method() -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(
        actix_web::http::StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "webhooks take POST (and GET for a subscription handshake)",
    ))
}

async fn hook(
    req: HttpRequest,
    state: web::Data<State>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    handle(req, state, path.into_inner(), None, body).await
}

async fn hook_with_secret(
    req: HttpRequest,
    state: web::Data<State>,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (key, secret) = path.into_inner();
    handle(req, state, key, Some(secret), body).await
}

async fn handle(
    req: HttpRequest,
    state: web::Data<State>,
    key: String,
    secret: Option<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let entry = state
        .inbox
        .registry
        .by_key(&key)
        .filter(|e| e.channel.kind != crate::domain::ChannelKind::Widget)
        .ok_or_else(|| ApiError::from(Error::not_found(format!("no channel \"{key}\""))))?;
    let raw = RawRequest {
        method: req.method().to_string(),
        query: req.query_string().to_string(),
        headers: req
            .headers()
            .iter()
            .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.to_string(), v.to_string())))
            .collect(),
        body: body.to_vec(),
        path_secret: secret,
    };
    let parsed = entry.adapter.parse(&raw).map_err(|e| {
        state
            .inbox
            .metrics
            .webhook_error(entry.channel.kind.as_str());
        tracing::info!(channel = %key, error = %e, "webhook refused");
        webhook_error(e)
    })?;
    // A business system posting for its users is limited like the widget's visitors.
    if entry.channel.kind == crate::domain::ChannelKind::Api {
        let users: Vec<&str> = parsed
            .inbound
            .iter()
            .map(|i| i.external_user_id.as_str())
            .collect();
        super::widget::within_rate(&state, &req, &key, &users)?;
    }
    let reply = parsed.reply.clone();
    state
        .inbox
        .receive_parsed(&entry, parsed)
        .await
        .inspect_err(|_| {
            state
                .inbox
                .metrics
                .webhook_error(entry.channel.kind.as_str())
        })?;
    Ok(match reply {
        WebhookReply::Json(v) => HttpResponse::Ok().json(v),
        WebhookReply::Text(t) => HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body(t),
    })
}
