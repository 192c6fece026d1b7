//! Settings → Teams (admins): operator groups with their members; create, rename, delete. A
//! conversation given to a team reaches its members ("My teams" in the inbox).

use actix_web::{HttpResponse, web};
use askama::Template;

use super::State;
use super::auth::Console;
use super::errors::HtmlError;
use super::settings::field;
use super::settings_team::all;
use crate::domain::Can;
use crate::error::Error;
use crate::i18n::Tr;
use crate::inbox::team;
use crate::store::{members, teams};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/console/settings/teams", web::get().to(list))
        .route("/console/settings/teams", web::post().to(create))
        .route("/console/settings/teams/{id}", web::post().to(save))
        .route(
            "/console/settings/teams/{id}/delete",
            web::post().to(delete),
        );
}

pub struct Person {
    pub id: i64,
    pub name: String,
    pub on: bool,
}

pub struct TeamRow {
    pub id: i64,
    pub name: String,
    pub people: Vec<Person>,
}

#[derive(Template)]
#[template(path = "console/teams.html")]
struct TeamsPage {
    tr: Tr,
    csrf: String,
    project_name: String,
    admin: bool,
    rows: Vec<TeamRow>,
    error: String,
}

async fn render(
    state: &State,
    console: &Console,
    done: Result<(), Error>,
) -> Result<HttpResponse, HtmlError> {
    let pid = console.project.id;
    let (all_teams, everyone) = state
        .inbox
        .store
        .read(move |c| {
            let ts = teams::of_project(c, pid)?
                .into_iter()
                .map(|t| Ok((teams::members_of(c, t.id)?, t)))
                .collect::<crate::error::Result<Vec<_>>>()?;
            Ok((ts, members::everyone(c, pid)?))
        })
        .await?;
    let rows = all_teams
        .into_iter()
        .map(|(in_team, t)| TeamRow {
            id: t.id,
            name: t.name,
            people: everyone
                .iter()
                .filter(|m| m.active)
                .map(|m| Person {
                    id: m.user.id,
                    name: m.user.name.clone(),
                    on: in_team.contains(&m.user.id),
                })
                .collect(),
        })
        .collect();
    let mut page = TeamsPage {
        tr: console.tr,
        csrf: console.csrf.clone(),
        project_name: console.project.name.clone(),
        admin: true,
        rows,
        error: String::new(),
    };
    let status = match done {
        Ok(()) => actix_web::http::StatusCode::OK,
        Err(e) if e.is_caller_error() => {
            page.error = e.to_string();
            super::errors::refusal_status(&e)
        }
        Err(e) => return Err(e.into()),
    };
    Ok(super::page(status).body(page.render()?))
}

async fn list(state: web::Data<State>, console: Console) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Team)?;
    render(&state, &console, Ok(())).await
}

async fn create(
    state: web::Data<State>,
    console: Console,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Team)?;
    console.check_csrf(field(&form, "csrf"))?;
    let (pid, by, name) = (
        console.project.id,
        console.user.id,
        field(&form, "name").to_string(),
    );
    let done = state
        .inbox
        .store
        .write(move |c| team::create_team(c, pid, by, &name, &[]).map(|_| ()))
        .await;
    render(&state, &console, done).await
}

async fn save(
    state: web::Data<State>,
    console: Console,
    path: web::Path<i64>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Team)?;
    console.check_csrf(field(&form, "csrf"))?;
    let (pid, by, id) = (console.project.id, console.user.id, path.into_inner());
    let name = field(&form, "name").to_string();
    let people: Result<Vec<i64>, Error> = all(&form, "member")
        .into_iter()
        .map(|v| {
            v.parse()
                .map_err(|_| Error::invalid(format!("\"{v}\" is not a member")))
        })
        .collect();
    let done = match people {
        Ok(people) => {
            state
                .inbox
                .store
                .write(move |c| {
                    team::change_team(c, pid, by, id, Some(&name), Some(&people)).map(|_| ())
                })
                .await
        }
        Err(e) => Err(e),
    };
    render(&state, &console, done).await
}

async fn delete(
    state: web::Data<State>,
    console: Console,
    path: web::Path<i64>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Team)?;
    console.check_csrf(field(&form, "csrf"))?;
    let (pid, by, id) = (console.project.id, console.user.id, path.into_inner());
    let done = state
        .inbox
        .store
        .write(move |c| team::delete_team(c, pid, by, id))
        .await;
    render(&state, &console, done).await
}
