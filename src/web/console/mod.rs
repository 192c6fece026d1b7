//! The operator console: inbox tabs, filters, search, a conversation with its thread and
//! actions, the contact sidebar. Server-rendered; static/console.js only refreshes parts of
//! the page on live events.

mod actions;
mod canned;
mod contact_files;
mod contact_pages;
mod contacts;
mod files;
mod inbox;
mod notifications;
mod presence;
pub(in crate::web) mod upload;

use actix_web::{HttpResponse, web};

pub use files::serve_file;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/console", web::get().to(inbox::page))
        .route("/console/partials/list", web::get().to(inbox::list_partial))
        .route(
            "/console/partials/thread/{id}",
            web::get().to(inbox::thread_partial),
        )
        .route(
            "/console/partials/crm/{id}",
            web::get().to(inbox::crm_partial),
        )
        .route("/console/c/{id}/reply", web::post().to(actions::reply))
        .route("/console/c/{id}/canned", web::get().to(canned::choices))
        .route("/console/canned", web::get().to(canned::list))
        .route("/console/canned", web::post().to(canned::create))
        .route("/console/canned/{id}", web::get().to(canned::show))
        .route("/console/canned/{id}", web::post().to(canned::update))
        .route(
            "/console/canned/{id}/delete",
            web::post().to(canned::delete),
        )
        .route("/console/c/{id}/update", web::post().to(actions::update))
        .route("/console/c/{id}/tags", web::post().to(actions::tags))
        .route("/console/c/{id}/read", web::post().to(actions::mark_read))
        .route("/console/c/{id}/typing", web::post().to(actions::typing))
        .route(
            "/console/c/{id}/contact",
            web::post().to(contacts::edit_contact),
        )
        .route("/console/c/{id}/new", web::post().to(actions::new_request))
        .route(
            "/console/c/{id}/blacklist",
            web::post().to(contacts::blacklist),
        )
        .route(
            "/console/c/{id}/unblacklist",
            web::post().to(contacts::unblacklist),
        )
        .route(
            "/console/c/{id}/template",
            web::post().to(actions::send_template),
        )
        .route("/console/contacts", web::get().to(contact_pages::list))
        .route("/console/contacts", web::post().to(contact_pages::create))
        .route(
            "/console/contacts/new",
            web::get().to(contact_pages::new_form),
        )
        .route(
            "/console/contacts/import",
            web::get().to(contact_files::import_form),
        )
        .route(
            "/console/contacts/import",
            web::post().to(contact_files::import),
        )
        .route(
            "/console/contacts/export",
            web::get().to(contact_files::export),
        )
        .route("/console/contacts/{id}", web::get().to(contact_pages::show))
        .route(
            "/console/contacts/{id}",
            web::post().to(contact_pages::update),
        )
        .route(
            "/console/contacts/{id}/merge",
            web::post().to(contact_pages::merge),
        )
        .route("/console/presence", web::post().to(presence::presence))
        .route("/console/project", web::post().to(presence::switch_project))
        .route(
            "/console/attachments/{id}",
            web::get().to(files::attachment),
        )
        .route(
            "/console/notifications",
            web::get().to(notifications::notifications_page),
        )
        .route("/console/partials/bell", web::get().to(notifications::bell))
        .route("/console/live", web::get().to(crate::web::live::console));
}

pub(super) fn html(body: String) -> HttpResponse {
    crate::web::private_page(actix_web::http::StatusCode::OK, body)
}

/// Back to the list the operator came from, with this conversation open.
/// The caller may change this conversation: an answering level, and it is their project's
/// (checked before the request's body is read).
pub(super) async fn may_change(
    state: &crate::web::State,
    console: &crate::web::auth::Console,
    id: crate::domain::ConversationId,
) -> Result<(), crate::web::errors::HtmlError> {
    console.require(crate::domain::Can::Answer)?;
    state.inbox.ensure_visible(console.project.id, id).await?;
    Ok(())
}

pub(super) fn back_to(id: crate::domain::ConversationId, back: &str) -> HttpResponse {
    // Only our own query string: never an open redirect.
    let qs: String = back
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "=&%-_.~+".contains(*c))
        .collect();
    let loc = if qs.is_empty() {
        format!("/console?c={id}")
    } else {
        format!("/console?{qs}&c={id}")
    };
    HttpResponse::SeeOther()
        .insert_header(("Location", loc))
        .finish()
}
