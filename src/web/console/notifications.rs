//! The bell and the notifications page.

use actix_web::{HttpResponse, web};
use askama::Template;

use super::html;
use crate::i18n::Tr;
use crate::store::notifications;
use crate::web::State;
use crate::web::auth::Console;
use crate::web::errors::HtmlError;
use crate::web::view;

#[derive(Template)]
#[template(path = "console/notifications.html")]
struct NotificationsPage {
    tr: Tr,
    items: Vec<(Option<i64>, String, String, bool)>,
}

/// The operator's notifications, newest first; opening the page marks them seen.
pub(super) async fn notifications_page(
    state: web::Data<State>,
    console: Console,
) -> Result<HttpResponse, HtmlError> {
    console.require(crate::domain::Can::ReadDialogs)?;
    let (pid, uid, tr, tz) = (
        console.project.id,
        console.user.id,
        console.tr,
        console.tz.clone(),
    );
    let items = state
        .inbox
        .store
        .write(move |c| {
            let list = notifications::latest(c, pid, uid, 200)?;
            notifications::mark_seen(c, pid, uid)?;
            Ok(list
                .into_iter()
                .map(|n| {
                    (
                        n.conversation_id.map(|c| c.0),
                        crate::i18n::events::stored_notice(&n.text, tr.lang),
                        view::local(n.created_at, &tz),
                        !n.seen,
                    )
                })
                .collect())
        })
        .await?;
    Ok(html(NotificationsPage { tr, items }.render()?))
}

/// The unseen count, for the bell's live refresh.
pub(super) async fn bell(
    state: web::Data<State>,
    console: Console,
) -> Result<HttpResponse, HtmlError> {
    console.require(crate::domain::Can::ReadDialogs)?;
    let (pid, uid) = (console.project.id, console.user.id);
    let n = state
        .inbox
        .store
        .read(move |c| notifications::unseen(c, pid, uid))
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .body(n.to_string()))
}
