//! HTTP: console, widget, webhooks, REST API, live events, health and metrics.

pub mod api;
pub mod api_blacklist;
pub mod api_canned;
pub mod api_channels;
pub mod api_contacts;
pub mod api_integrations;
pub mod api_me;
pub mod api_reports;
pub mod api_tags;
pub mod api_users;
pub mod auth;
pub mod avatars;
pub mod body;
pub mod channel_admin;
pub mod charts;
pub mod console;
pub mod errors;
pub mod health;
pub mod invite;
pub mod live;
pub mod media;
pub mod openapi;
pub mod profile;
pub mod profile_notify;
pub mod rate;
pub mod reports;
pub mod request_span;
pub mod rules_form;
pub mod settings;
pub mod settings_audit;
pub mod settings_blacklist;
pub mod settings_channels;
pub mod settings_integrations;
pub mod settings_project;
pub mod settings_tags;
pub mod settings_team;
pub mod settings_teams;
pub mod throttle;
pub mod view;
pub mod webhooks;
pub mod widget;

use std::net::TcpListener;
use std::path::PathBuf;

use actix_web::{App, HttpResponse, HttpServer, middleware, web};
use tokio::sync::watch;
use utoipa_actix_web::AppExt;

use crate::config::Settings;
use crate::inbox::Inbox;

#[derive(Clone)]
pub struct State {
    pub inbox: Inbox,
    pub settings: Settings,
    /// Flips to true on shutdown so live streams end instead of holding the server open.
    pub shutdown: watch::Receiver<bool>,
    pub logins: std::sync::Arc<throttle::LoginThrottle>,
    pub visitor_streams: std::sync::Arc<live::VisitorStreams>,
    /// Starts and stops the channels' background work when settings change them.
    pub pollers: std::sync::Arc<crate::workers::pollers::Pollers>,
    /// How fast widget visitors and API channel users may write.
    pub rates: std::sync::Arc<rate::RateLimits>,
    /// Sends invitations and password-reset letters when SMTP is configured.
    pub mailer: Option<std::sync::Arc<crate::mail::Mailer>>,
}

/// Every page: scripts only from our files, never framed elsewhere, forms only to us. Styles
/// may be inline (the widget styles its shadow root with a <style> element on /demo).
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// A page's response: HTML with the document policies. JSON and event streams never carry
/// them (they are not documents, and the widget's hot path should not pay for them).
pub fn page(status: actix_web::http::StatusCode) -> actix_web::HttpResponseBuilder {
    let mut b = HttpResponse::build(status);
    b.content_type("text/html; charset=utf-8")
        .insert_header(("Content-Security-Policy", CSP))
        .insert_header(("X-Frame-Options", "DENY"))
        .insert_header(("Referrer-Policy", "same-origin"));
    b
}

/// A page with a member's data on it: never kept by a browser's or a proxy's cache.
pub fn private_page(status: actix_web::http::StatusCode, body: String) -> HttpResponse {
    page(status)
        .insert_header(("Cache-Control", "no-store"))
        .body(body)
}

fn static_dir() -> PathBuf {
    let local = PathBuf::from("static");
    if local.is_dir() {
        local
    } else {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("static")
    }
}

pub fn server(
    listener: TcpListener,
    inbox: Inbox,
    pollers: std::sync::Arc<crate::workers::pollers::Pollers>,
    mailer: Option<std::sync::Arc<crate::mail::Mailer>>,
    settings: Settings,
    shutdown: watch::Receiver<bool>,
) -> std::io::Result<actix_web::dev::Server> {
    let workers = if settings.workers > 0 {
        settings.workers
    } else {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    };
    let body_limit = settings.max_attachment_bytes as usize + 1024 * 1024;
    let state = State {
        inbox,
        shutdown,
        logins: Default::default(),
        visitor_streams: Default::default(),
        rates: std::sync::Arc::new(rate::RateLimits::new(
            settings.rate_per_visitor,
            settings.rate_per_address,
        )),
        pollers,
        mailer,
        settings,
    };
    let static_root = static_dir();
    Ok(HttpServer::new(move || {
        let (app, doc) = App::new()
            .into_utoipa_app()
            .openapi(openapi::base())
            .service(api::scope())
            .split_for_parts();
        let doc = openapi::finish(doc).to_json().unwrap_or_default();
        app.app_data(web::Data::new(openapi::Document(doc)))
            .app_data(web::Data::new(state.clone()))
            .app_data(web::PayloadConfig::new(body_limit))
            .app_data(
                web::JsonConfig::default()
                    .limit(1024 * 1024)
                    .error_handler(api::json_error),
            )
            .app_data(web::FormConfig::default().limit(1024 * 1024))
            .wrap(middleware::DefaultHeaders::new().add(("X-Content-Type-Options", "nosniff")))
            .wrap_fn(|req, srv| {
                use actix_web::dev::Service;
                let fut = srv.call(req);
                async move { fut.await.map(request_span::echo_id) }
            })
            .wrap(request_span::logger())
            .route(
                "/",
                web::get().to(|| async {
                    HttpResponse::SeeOther()
                        .insert_header(("Location", "/console"))
                        .finish()
                }),
            )
            .configure(health::routes)
            .configure(auth::routes)
            .configure(console::routes)
            .configure(widget::routes)
            .configure(webhooks::routes)
            .configure(media::routes)
            .configure(settings::routes)
            .configure(settings_channels::routes)
            .configure(settings_team::routes)
            .configure(settings_project::routes)
            .configure(settings_audit::routes)
            .configure(settings_blacklist::routes)
            .configure(settings_tags::routes)
            .configure(settings_integrations::routes)
            .configure(settings_teams::routes)
            .configure(profile::routes)
            .configure(reports::routes)
            .configure(avatars::routes)
            .configure(invite::routes)
            .service(actix_files::Files::new("/static", static_root.clone()))
    })
    .workers(workers)
    // Running::wait handles the signals: it ends live streams before stopping the server.
    .disable_signals()
    .shutdown_timeout(5)
    .listen(listener)?
    .run())
}
