use actix_web::{HttpResponse, web};

use super::State;
use super::errors::ApiError;
use crate::store::outbox;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/metrics", web::get().to(metrics));
}

/// 200 only when the database answers a query.
async fn healthz(state: web::Data<State>) -> HttpResponse {
    let ok = state.inbox.store.read(crate::store::ping).await;
    match ok {
        Ok(()) => HttpResponse::Ok().json(serde_json::json!({ "status": "ok" })),
        Err(e) => HttpResponse::ServiceUnavailable()
            .json(serde_json::json!({ "status": "error", "error": e.to_string() })),
    }
}

/// Prometheus text for a scraper holding PEREPISKA_METRICS_TOKEN; off without one (the
/// figures say how busy a business is).
async fn metrics(
    req: actix_web::HttpRequest,
    state: web::Data<State>,
) -> Result<HttpResponse, ApiError> {
    let Some(expected) = state.settings.metrics_token.as_deref() else {
        return Err(ApiError::new(
            actix_web::http::StatusCode::NOT_FOUND,
            "not_found",
            "metrics are off; set PEREPISKA_METRICS_TOKEN and scrape with that bearer token",
        ));
    };
    let given = req
        .headers()
        .get("Authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .unwrap_or_default();
    if !crate::crypto::secure_eq(given.trim(), expected) {
        return Err(ApiError::unauthorized(
            "send the metrics token as \"Authorization: Bearer <token>\"",
        ));
    }
    let depth = state.inbox.store.read(outbox::depth).await.unwrap_or(-1);
    Ok(HttpResponse::Ok()
        .content_type(crate::metrics::CONTENT_TYPE)
        .body(state.inbox.metrics.render(depth)))
}
