//! The project itself: its admins rename it and set its time zone (Settings → Project; the
//! schedule uses the same zone), and the server's owner creates new projects from the
//! console's project switcher.

use actix_web::{HttpResponse, web};
use askama::Template;

use super::State;
use super::auth::Console;
use super::errors::HtmlError;
use super::settings::field;
use crate::domain::{Access, Can, Role};
use crate::error::Error;
use crate::i18n::Tr;
use crate::store::{members, users};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/console/settings/project", web::get().to(show))
        .route("/console/settings/project", web::post().to(save))
        .route("/console/projects/new", web::get().to(new_form))
        .route("/console/projects", web::post().to(create));
}

/// Zones offered first (the server takes any IANA name).
const ZONES: &[&str] = &[
    "Europe/Kaliningrad",
    "Europe/Moscow",
    "Europe/Samara",
    "Asia/Yekaterinburg",
    "Asia/Omsk",
    "Asia/Novosibirsk",
    "Asia/Krasnoyarsk",
    "Asia/Irkutsk",
    "Asia/Yakutsk",
    "Asia/Vladivostok",
    "Asia/Magadan",
    "Asia/Kamchatka",
    "Europe/Minsk",
    "Asia/Almaty",
    "Asia/Tashkent",
    "UTC",
];

#[derive(Template)]
#[template(path = "console/project.html")]
struct ProjectPage {
    tr: Tr,
    csrf: String,
    project_name: String,
    admin: bool,
    /// Creating a new project (the owner), or editing this one.
    creating: bool,
    slug: String,
    name: String,
    timezone: String,
    zones: &'static [&'static str],
    notice: String,
    error: String,
}

fn blank(console: &Console, creating: bool) -> ProjectPage {
    ProjectPage {
        tr: console.tr,
        csrf: console.csrf.clone(),
        project_name: console.project.name.clone(),
        admin: console.access.can(Can::Team),
        creating,
        slug: if creating {
            String::new()
        } else {
            console.project.slug.clone()
        },
        name: if creating {
            String::new()
        } else {
            console.project.name.clone()
        },
        timezone: console.project.timezone.clone(),
        zones: ZONES,
        notice: String::new(),
        error: String::new(),
    }
}

fn html(status: actix_web::http::StatusCode, p: ProjectPage) -> Result<HttpResponse, HtmlError> {
    Ok(super::page(status).body(p.render()?))
}

async fn show(console: Console) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Team)?;
    html(actix_web::http::StatusCode::OK, blank(&console, false))
}

async fn save(
    state: web::Data<State>,
    console: Console,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Team)?;
    console.check_csrf(field(&form, "csrf"))?;
    let (pid, by) = (console.project.id, console.user.id);
    let (name, tz) = (
        field(&form, "name").to_string(),
        field(&form, "timezone").to_string(),
    );
    let mut p = blank(&console, false);
    let done = state
        .inbox
        .store
        .write(move |c| crate::bootstrap::edit_project(c, pid, by, &name, &tz))
        .await;
    match done {
        Ok(project) => {
            crate::workers::scheduler::reload(&state.inbox).await?;
            p.project_name = project.name.clone();
            p.name = project.name;
            p.timezone = project.timezone;
            p.notice = console.tr.t("saved").to_string();
            html(actix_web::http::StatusCode::OK, p)
        }
        Err(e) if e.is_caller_error() => {
            p.error = e.to_string();
            p.name = field(&form, "name").to_string();
            p.timezone = field(&form, "timezone").to_string();
            html(actix_web::http::StatusCode::UNPROCESSABLE_ENTITY, p)
        }
        Err(e) => Err(e.into()),
    }
}

fn owner_only(console: &Console) -> Result<(), HtmlError> {
    if console.user.owner {
        Ok(())
    } else {
        Err(Error::forbidden("new projects are created by the server's owner").into())
    }
}

async fn new_form(console: Console) -> Result<HttpResponse, HtmlError> {
    owner_only(&console)?;
    html(actix_web::http::StatusCode::OK, blank(&console, true))
}

/// The owner's new project, with them as its admin; their console switches to it.
async fn create(
    state: web::Data<State>,
    console: Console,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, HtmlError> {
    owner_only(&console)?;
    console.check_csrf(field(&form, "csrf"))?;
    let (uid, sid) = (console.user.id, console.session_id);
    let (slug, name, tz) = (
        field(&form, "slug").to_string(),
        field(&form, "name").to_string(),
        field(&form, "timezone").to_string(),
    );
    let (s2, n2, t2) = (slug.clone(), name.clone(), tz.clone());
    let made = state
        .inbox
        .store
        .write(move |c| {
            let p = crate::bootstrap::create_project(c, &s2, &n2, &t2)?;
            members::set_access(c, p.id, uid, Access::of(&[Role::Admin]))?;
            users::set_session_project(c, sid, p.id)?;
            Ok(p)
        })
        .await;
    match made {
        Ok(_) => {
            // Its widget starts at once.
            crate::workers::scheduler::reload(&state.inbox).await?;
            super::channel_admin::apply(&state).await?;
            Ok(HttpResponse::SeeOther()
                .insert_header(("Location", "/console/settings/channels"))
                .finish())
        }
        Err(e) if e.is_caller_error() => {
            let mut p = blank(&console, true);
            p.error = e.to_string();
            p.slug = slug;
            p.name = name;
            p.timezone = tz;
            html(actix_web::http::StatusCode::UNPROCESSABLE_ENTITY, p)
        }
        Err(e) => Err(e.into()),
    }
}
