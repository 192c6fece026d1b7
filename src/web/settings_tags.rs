//! Settings → Tags: the project's tags with their colours and how many conversations carry
//! each; add, rename, recolour, delete. The same functions as the REST API.

use actix_web::{HttpResponse, web};
use askama::Template;

use super::State;
use super::auth::Console;
use super::errors::HtmlError;
use super::settings::field;
use crate::domain::{Can, TagColour};
use crate::error::Error;
use crate::i18n::Tr;
use crate::store::tags;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/console/settings/tags", web::get().to(list))
        .route("/console/settings/tags", web::post().to(create))
        .route("/console/settings/tags/{id}", web::post().to(update))
        .route("/console/settings/tags/{id}/delete", web::post().to(delete));
}

pub struct Row {
    pub id: i64,
    pub name: String,
    pub colour: &'static str,
    /// Conversations with it, up to the cap ("999+").
    pub used: String,
}

#[derive(Template)]
#[template(path = "console/tags.html")]
struct TagsPage {
    tr: Tr,
    csrf: String,
    project_name: String,
    admin: bool,
    rows: Vec<Row>,
    colours: Vec<&'static str>,
    /// The new tag's form as sent back after a refusal.
    new_name: String,
    new_colour: &'static str,
    notice: String,
    error: String,
}

const USED_CAP: i64 = 1000;

async fn page(state: &State, console: &Console) -> Result<TagsPage, HtmlError> {
    let pid = console.project.id;
    let (all, used) = state
        .inbox
        .store
        .read(move |c| {
            let all = tags::of_project(c, pid)?;
            let ids: Vec<i64> = all.iter().map(|t| t.id).collect();
            let used = tags::usage(c, &ids, USED_CAP)?;
            Ok((all, used))
        })
        .await?;
    Ok(TagsPage {
        tr: console.tr,
        csrf: console.csrf.clone(),
        project_name: console.project.name.clone(),
        admin: console.access.can(Can::Team),
        rows: all
            .into_iter()
            .map(|t| {
                let n = used.get(&t.id).copied().unwrap_or(0);
                Row {
                    id: t.id,
                    name: t.name,
                    colour: t.colour.as_str(),
                    used: if n >= USED_CAP {
                        format!("{}+", USED_CAP - 1)
                    } else {
                        n.to_string()
                    },
                }
            })
            .collect(),
        colours: TagColour::ALL.iter().map(|c| c.as_str()).collect(),
        new_name: String::new(),
        new_colour: TagColour::Blue.as_str(),
        notice: String::new(),
        error: String::new(),
    })
}

fn html(status: actix_web::http::StatusCode, p: TagsPage) -> Result<HttpResponse, HtmlError> {
    Ok(super::page(status).body(p.render()?))
}

async fn list(
    state: web::Data<State>,
    console: Console,
    q: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Settings)?;
    let mut p = page(&state, &console).await?;
    p.notice = match field(&q, "done") {
        "saved" => console.tr.t("tag_saved").to_string(),
        "deleted" => console.tr.t("tag_deleted").to_string(),
        _ => String::new(),
    };
    html(actix_web::http::StatusCode::OK, p)
}

fn done(what: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("Location", format!("/console/settings/tags?done={what}")))
        .finish()
}

/// A refused change: the page again with what was wrong, nothing changed.
async fn refused(
    state: &State,
    console: &Console,
    e: Error,
    form: &[(String, String)],
) -> Result<HttpResponse, HtmlError> {
    if !e.is_caller_error() {
        return Err(e.into());
    }
    let status = super::errors::refusal_status(&e);
    let mut p = page(state, console).await?;
    p.error = e.to_string();
    p.new_name = field(form, "name").to_string();
    html(status, p)
}

async fn create(
    state: web::Data<State>,
    console: Console,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Settings)?;
    console.check_csrf(field(&form, "csrf"))?;
    let made = match TagColour::parse(field(&form, "colour")) {
        Ok(colour) => {
            state
                .inbox
                .create_tag(&console.operator(), field(&form, "name"), colour)
                .await
        }
        Err(e) => Err(e),
    };
    match made {
        Ok(_) => Ok(done("saved")),
        Err(e) => refused(&state, &console, e, &form).await,
    }
}

async fn update(
    state: web::Data<State>,
    console: Console,
    path: web::Path<i64>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Settings)?;
    console.check_csrf(field(&form, "csrf"))?;
    // Another project's tag is not there, whatever the form holds.
    let (pid, id) = (console.project.id, *path);
    state
        .inbox
        .store
        .read(move |c| tags::by_id(c, pid, id))
        .await?;
    let saved = match TagColour::parse(field(&form, "colour")) {
        Ok(colour) => {
            state
                .inbox
                .update_tag(
                    &console.operator(),
                    path.into_inner(),
                    field(&form, "name"),
                    colour,
                )
                .await
        }
        Err(e) => Err(e),
    };
    match saved {
        Ok(_) => Ok(done("saved")),
        Err(e) => refused(&state, &console, e, &[]).await,
    }
}

async fn delete(
    state: web::Data<State>,
    console: Console,
    path: web::Path<i64>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Settings)?;
    console.check_csrf(field(&form, "csrf"))?;
    state
        .inbox
        .delete_tag(&console.operator(), path.into_inner())
        .await?;
    Ok(done("deleted"))
}
