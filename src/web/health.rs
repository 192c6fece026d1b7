use actix_web::{HttpResponse, web};

use super::State;
use crate::store::outbox;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/metrics", web::get().to(metrics));
}

/// 200 only when the database answers a query.
async fn healthz(state: web::Data<State>) -> HttpResponse {
    let ok = state
        .inbox
        .store
        .read(|c| {
            use diesel::connection::SimpleConnection;
            c.batch_execute("SELECT 1")?;
            Ok(())
        })
        .await;
    match ok {
        Ok(()) => HttpResponse::Ok().json(serde_json::json!({ "status": "ok" })),
        Err(e) => HttpResponse::ServiceUnavailable()
            .json(serde_json::json!({ "status": "error", "error": e.to_string() })),
    }
}

async fn metrics(state: web::Data<State>) -> HttpResponse {
    let depth = state.inbox.store.read(outbox::depth).await.unwrap_or(-1);
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.inbox.metrics.render(depth))
}
