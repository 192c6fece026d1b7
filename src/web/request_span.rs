//! One span per request with a request id, echoed as `X-Request-Id` so a user's report can be
//! found in the log. The span names the route pattern, never the path itself: webhook paths
//! carry secrets and query strings carry visitor tokens.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{Error, HttpMessage};
use tracing::Span;
use tracing_actix_web::{RequestId, RootSpanBuilder, TracingLogger};

pub struct Spans;

impl RootSpanBuilder for Spans {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let id = request
            .extensions()
            .get::<RequestId>()
            .map(|r| r.to_string())
            .unwrap_or_default();
        tracing::info_span!(
            "request",
            method = %request.method(),
            route = %request.match_pattern().unwrap_or_else(|| "unmatched".into()),
            request_id = %id,
            status = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        let status = match outcome {
            Ok(r) => r.status().as_u16(),
            Err(e) => e.as_response_error().status_code().as_u16(),
        };
        span.record("status", status);
        if status >= 500 {
            span.in_scope(|| tracing::warn!(status, "request failed"));
        }
    }
}

pub fn logger() -> TracingLogger<Spans> {
    TracingLogger::<Spans>::new()
}

/// Puts the request's id on its response.
pub fn echo_id<B>(mut res: ServiceResponse<B>) -> ServiceResponse<B> {
    let id = res.request().extensions().get::<RequestId>().copied();
    if let Some(id) = id
        && let Ok(v) = HeaderValue::from_str(&id.to_string())
    {
        res.headers_mut()
            .insert(HeaderName::from_static("x-request-id"), v);
    }
    res
}
