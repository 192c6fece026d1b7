//! Everyone's own profile: the name customers see where a channel shows the operator's name,
//! and a password change (the current one, the new one twice; other sessions signed out).

use actix_web::{HttpResponse, web};
use askama::Template;

use super::State;
use super::auth::Console;
use super::errors::HtmlError;
use super::settings::field;
use crate::error::Error;
use crate::i18n::Tr;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/console/profile", web::get().to(page))
        .route("/console/profile/name", web::post().to(save_name))
        .route("/console/profile/password", web::post().to(change_password));
}

#[derive(Template)]
#[template(path = "console/profile.html")]
struct ProfilePage {
    tr: Tr,
    csrf: String,
    project_name: String,
    name: String,
    email: String,
    notice: String,
    name_error: String,
    password_error: String,
}

fn profile(console: &Console) -> ProfilePage {
    ProfilePage {
        tr: console.tr,
        csrf: console.csrf.clone(),
        project_name: console.project.name.clone(),
        name: console.user.name.clone(),
        email: console.user.email.clone(),
        notice: String::new(),
        name_error: String::new(),
        password_error: String::new(),
    }
}

fn html(status: actix_web::http::StatusCode, p: ProfilePage) -> Result<HttpResponse, HtmlError> {
    Ok(super::page(status).body(p.render()?))
}

#[derive(serde::Deserialize)]
struct PageQuery {
    saved: Option<String>,
}

async fn page(console: Console, q: web::Query<PageQuery>) -> Result<HttpResponse, HtmlError> {
    let mut p = profile(&console);
    if q.saved.is_some() {
        p.notice = console.tr.t("saved").to_string();
    }
    html(actix_web::http::StatusCode::OK, p)
}

fn saved() -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("Location", "/console/profile?saved=1"))
        .finish()
}

/// What a refused form says; other failures are the error page's.
fn refused(e: Error) -> Result<String, HtmlError> {
    match e {
        Error::Invalid(m) | Error::NotFound(m) => Ok(m),
        other => Err(HtmlError::App(other)),
    }
}

async fn save_name(
    state: web::Data<State>,
    console: Console,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, HtmlError> {
    console.check_csrf(field(&form, "csrf"))?;
    let name = field(&form, "name").to_string();
    let (uid, n) = (console.user.id, name.clone());
    match state
        .inbox
        .store
        .write(move |c| crate::bootstrap::rename_user(c, uid, &n))
        .await
    {
        Ok(()) => Ok(saved()),
        Err(e) => {
            let mut p = profile(&console);
            p.name = name;
            p.name_error = refused(e)?;
            html(actix_web::http::StatusCode::BAD_REQUEST, p)
        }
    }
}

async fn change_password(
    state: web::Data<State>,
    console: Console,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, HtmlError> {
    console.check_csrf(field(&form, "csrf"))?;
    let (current, new, repeated) = (
        field(&form, "current").to_string(),
        field(&form, "new").to_string(),
        field(&form, "repeat").to_string(),
    );
    let (uid, sid) = (console.user.id, console.session_id);
    match state
        .inbox
        .store
        .write(move |c| crate::bootstrap::change_password(c, uid, &current, &new, &repeated, sid))
        .await
    {
        Ok(_) => Ok(saved()),
        Err(e) => {
            let mut p = profile(&console);
            p.password_error = refused(e)?;
            html(actix_web::http::StatusCode::BAD_REQUEST, p)
        }
    }
}
