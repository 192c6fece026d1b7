//! Settings → Blacklist: the contacts on the project's blacklist with why, who and when, what
//! each has written since (kept, outside the inbox), taking them off it, and the widget's
//! blocked addresses (the same setting as on the widget's page, saved the same way).

use actix_web::{HttpResponse, web};
use askama::Template;
use serde_json::{Map, Value};

use super::State;
use super::auth::Console;
use super::channel_admin::{self as admin, Edit, Refusal};
use super::errors::HtmlError;
use super::settings::field;
use crate::domain::{Can, ChannelKind, ContactId};
use crate::error::Error;
use crate::i18n::Tr;
use crate::store::{channels, contacts, withheld};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/console/settings/blacklist", web::get().to(list))
        .route(
            "/console/settings/blacklist/networks",
            web::post().to(save_networks),
        )
        .route("/console/settings/blacklist/{id}", web::get().to(messages))
        .route(
            "/console/settings/blacklist/{id}/unblock",
            web::post().to(unblock),
        );
}

pub struct Row {
    pub id: i64,
    pub name: String,
    pub reason: String,
    pub by: String,
    pub at: String,
    pub withheld: i64,
}

#[derive(Template)]
#[template(path = "console/blacklist.html")]
struct BlacklistPage {
    tr: Tr,
    csrf: String,
    project_name: String,
    admin: bool,
    rows: Vec<Row>,
    /// The widget whose blocked addresses this page edits; empty without one.
    widget: String,
    networks: String,
    notice: String,
    error: String,
}

/// The project's first widget channel and its opened settings.
async fn widget(state: &State, console: &Console) -> Result<Option<(String, Value)>, HtmlError> {
    let pid = console.project.id;
    let chans = state
        .inbox
        .store
        .read(move |c| channels::of_project(c, pid))
        .await?;
    let Some(ch) = chans.into_iter().find(|c| c.kind == ChannelKind::Widget) else {
        return Ok(None);
    };
    let config = state.inbox.registry.open(&ch)?;
    Ok(Some((ch.key, config)))
}

async fn page(state: &State, console: &Console) -> Result<BlacklistPage, HtmlError> {
    let (pid, tz) = (console.project.id, console.tz.clone());
    let listed = state
        .inbox
        .store
        .read(move |c| {
            contacts::blacklisted(c, pid)?
                .into_iter()
                .map(|(contact, by)| Ok((withheld::count_of(c, contact.id)?, contact, by)))
                .collect::<crate::error::Result<Vec<_>>>()
        })
        .await?;
    let (key, networks) = match widget(state, console).await? {
        Some((key, config)) => {
            let lines = match config.get("blocked_ips") {
                Some(Value::Array(a)) => a
                    .iter()
                    .filter_map(|v| v.as_str())
                    .collect::<Vec<_>>()
                    .join("\n"),
                Some(Value::String(s)) => s.clone(),
                _ => String::new(),
            };
            (key, lines)
        }
        None => (String::new(), String::new()),
    };
    Ok(BlacklistPage {
        tr: console.tr,
        csrf: console.csrf.clone(),
        project_name: console.project.name.clone(),
        admin: console.access.can(Can::Team),
        rows: listed
            .into_iter()
            .map(|(n, c, by)| Row {
                id: c.id.0,
                name: c.name,
                reason: c.blacklist_reason.unwrap_or_default(),
                by: by.unwrap_or_default(),
                at: c
                    .blacklisted_at
                    .map(|t| super::view::local(t, &tz))
                    .unwrap_or_default(),
                withheld: n,
            })
            .collect(),
        widget: key,
        networks,
        notice: String::new(),
        error: String::new(),
    })
}

fn html(status: actix_web::http::StatusCode, p: BlacklistPage) -> Result<HttpResponse, HtmlError> {
    Ok(super::page(status).body(p.render()?))
}

async fn list(state: web::Data<State>, console: Console) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Settings)?;
    html(
        actix_web::http::StatusCode::OK,
        page(&state, &console).await?,
    )
}

async fn save_networks(
    state: web::Data<State>,
    console: Console,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Settings)?;
    console.check_csrf(field(&form, "csrf"))?;
    let Some((key, _)) = widget(&state, &console).await? else {
        return Err(Error::not_found("this project has no site widget").into());
    };
    let mut patch = Map::new();
    patch.insert(
        "blocked_ips".into(),
        Value::String(field(&form, "blocked_ips").to_string()),
    );
    let edit = Edit {
        name: None,
        enabled: None,
        config: Some(patch),
        team: None,
    };
    let done = admin::edit(&state, &console.operator(), &key, edit).await;
    let mut p = page(&state, &console).await?;
    match done {
        Ok(_) => {
            p.notice = console.tr.t("saved").to_string();
            html(actix_web::http::StatusCode::OK, p)
        }
        Err(Refusal::App(e)) if !e.is_caller_error() => Err(e.into()),
        Err(Refusal::App(e)) => {
            p.error = e.to_string();
            p.networks = field(&form, "blocked_ips").to_string();
            html(actix_web::http::StatusCode::UNPROCESSABLE_ENTITY, p)
        }
        Err(Refusal::Config(m) | Refusal::Platform(m)) => {
            p.error = m;
            p.networks = field(&form, "blocked_ips").to_string();
            html(actix_web::http::StatusCode::UNPROCESSABLE_ENTITY, p)
        }
    }
}

pub struct Kept {
    pub at: String,
    pub channel: String,
    pub text: String,
    pub files: String,
}

#[derive(Template)]
#[template(path = "console/withheld.html")]
struct MessagesPage {
    tr: Tr,
    project_name: String,
    admin: bool,
    name: String,
    reason: String,
    kept: Vec<Kept>,
}

/// What a blacklisted contact has written since (the newest 200).
async fn messages(
    state: web::Data<State>,
    console: Console,
    path: web::Path<i64>,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Settings)?;
    let (pid, id, tz) = (
        console.project.id,
        ContactId(path.into_inner()),
        console.tz.clone(),
    );
    let (contact, kept, chans) = state
        .inbox
        .store
        .read(move |c| {
            Ok((
                contacts::by_id(c, pid, id)?,
                withheld::of_contact(c, id, 200)?,
                channels::of_project(c, pid)?,
            ))
        })
        .await?;
    if contact.blacklisted_at.is_none() && kept.is_empty() {
        return Err(Error::not_found("this contact is not on the blacklist").into());
    }
    let names = |files: &str| -> String {
        serde_json::from_str::<Vec<crate::store::attachments::StoredFile>>(files)
            .unwrap_or_default()
            .into_iter()
            .map(|f| f.file_name)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let p = MessagesPage {
        tr: console.tr,
        project_name: console.project.name.clone(),
        admin: console.access.can(Can::Team),
        name: contact.name,
        reason: contact.blacklist_reason.unwrap_or_default(),
        kept: kept
            .into_iter()
            .map(|m| Kept {
                at: super::view::local(m.received_at, &tz),
                channel: chans
                    .iter()
                    .find(|c| c.id == m.channel_id)
                    .map(|c| c.name.clone())
                    .unwrap_or_default(),
                files: names(&m.files),
                text: m.text,
            })
            .collect(),
    };
    Ok(super::page(actix_web::http::StatusCode::OK).body(p.render()?))
}

async fn unblock(
    state: web::Data<State>,
    console: Console,
    path: web::Path<i64>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Settings)?;
    console.check_csrf(field(&form, "csrf"))?;
    let contact = state
        .inbox
        .unblacklist(&console.operator(), ContactId(path.into_inner()))
        .await?;
    let mut p = page(&state, &console).await?;
    p.notice = format!("{}: {}", console.tr.t("unblacklisted"), contact.name);
    html(actix_web::http::StatusCode::OK, p)
}
