//! Errors at the HTTP edge: HTML pages for the console, JSON for the API and widget.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use crate::error::Error;

fn status_of(e: &Error) -> StatusCode {
    match e {
        Error::NotFound(_) => StatusCode::NOT_FOUND,
        Error::Invalid(_) => StatusCode::BAD_REQUEST,
        Error::Forbidden(_) => StatusCode::FORBIDDEN,
        Error::Conflict(_) => StatusCode::CONFLICT,
        Error::Pool(_) | Error::Full(_) | Error::Collided(_) => StatusCode::SERVICE_UNAVAILABLE,
        Error::Db(_) | Error::Unique(_) | Error::Io(_) | Error::Internal(_) => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}

/// The status of a form shown again with its refusal in place: 404 and 409 say what they
/// say, anything else the caller can fix is 422.
pub fn refusal_status(e: &Error) -> StatusCode {
    match e {
        Error::NotFound(_) => StatusCode::NOT_FOUND,
        Error::Conflict(_) => StatusCode::CONFLICT,
        Error::Forbidden(_) => StatusCode::FORBIDDEN,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// What a user may read: details of internal failures go to the log only.
fn public_message(e: &Error) -> String {
    match e {
        Error::Db(_) | Error::Unique(_) | Error::Io(_) | Error::Internal(_) => {
            tracing::error!(error = %e, "request failed");
            "internal error; it has been logged".into()
        }
        Error::Pool(_) | Error::Collided(_) => {
            tracing::error!(error = %e, "request failed");
            "the database is unavailable, try again shortly".into()
        }
        Error::Full(_) => {
            tracing::error!(error = %e, "request failed");
            "the server's storage is full: nothing was saved, try again later".into()
        }
        other => other.to_string(),
    }
}

/// Console errors: a small page that says what went wrong.
#[derive(Debug)]
pub enum HtmlError {
    App(Error),
    LoginRequired,
    Csrf,
}

impl From<Error> for HtmlError {
    fn from(e: Error) -> Self {
        HtmlError::App(e)
    }
}

impl From<askama::Error> for HtmlError {
    fn from(e: askama::Error) -> Self {
        HtmlError::App(Error::internal(format!("template: {e}")))
    }
}

impl std::fmt::Display for HtmlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HtmlError::App(e) => write!(f, "{e}"),
            HtmlError::LoginRequired => write!(f, "login required"),
            HtmlError::Csrf => write!(f, "the form has expired; reload the page and try again"),
        }
    }
}

impl ResponseError for HtmlError {
    fn status_code(&self) -> StatusCode {
        match self {
            HtmlError::App(e) => status_of(e),
            HtmlError::LoginRequired => StatusCode::SEE_OTHER,
            HtmlError::Csrf => StatusCode::FORBIDDEN,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            HtmlError::LoginRequired => HttpResponse::SeeOther()
                .insert_header(("Location", "/login"))
                .finish(),
            other => {
                let msg = match other {
                    HtmlError::App(e) => public_message(e),
                    _ => other.to_string(),
                };
                let body = format!(
                    "<!doctype html><html><head><meta charset=\"utf-8\"><title>perepiska</title>\
                     <link rel=\"stylesheet\" href=\"/static/app.css\"></head><body class=\"error-page\">\
                     <main class=\"card\"><h1>{}</h1><p class=\"error\">{}</p>\
                     <p><a href=\"javascript:history.back()\">←</a> <a href=\"/console\">/console</a></p></main></body></html>",
                    self.status_code().as_u16(),
                    askama::filters::escape(&msg, askama::filters::Html)
                        .map(|s| s.to_string())
                        .unwrap_or_default()
                );
                super::page(self.status_code()).body(body)
            }
        }
    }
}

/// API and widget errors: `{"error": {"code", "message"}}`.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds after which trying again makes sense (sent as Retry-After).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid", message)
    }
    /// Well-formed, but the platform or the rules refuse it; nothing was saved.
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let code = match &e {
            Error::NotFound(_) => "not_found",
            Error::Invalid(_) => "invalid",
            Error::Forbidden(_) => "forbidden",
            Error::Conflict(_) => "conflict",
            Error::Pool(_) | Error::Full(_) | Error::Collided(_) => "unavailable",
            _ => "internal",
        };
        ApiError {
            status: status_of(&e),
            code,
            message: public_message(&e),
            retry_after: None,
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }
    fn error_response(&self) -> HttpResponse {
        let mut b = HttpResponse::build(self.status);
        if self.status == StatusCode::UNAUTHORIZED {
            b.insert_header(("WWW-Authenticate", "Bearer"));
        }
        if let Some(s) = self.retry_after {
            b.insert_header(("Retry-After", s.to_string()));
        }
        b.insert_header(("Access-Control-Allow-Origin", "*"));
        b.json(serde_json::json!({ "error": { "code": self.code, "message": self.message } }))
    }
}
