//! Settings → Integrations: outgoing webhooks (add, change, pause, resume, remove) and each
//! one's delivery log with "retry now". The same functions as the REST API; channels.toml's
//! are shown and changed there.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde_json::{Value, json};

use super::State;
use super::auth::Console;
use super::errors::HtmlError;
use super::settings::field;
use crate::domain::{Can, IntegrationKind, WebhookEvent};
use crate::error::Error;
use crate::i18n::Tr;
use crate::inbox::integrations::{DeliveryView, View};
use crate::integrations::Declared;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/console/settings/integrations", web::get().to(list))
        .route("/console/settings/integrations", web::post().to(create))
        .route("/console/settings/integrations/{key}", web::get().to(show))
        .route("/console/settings/integrations/{key}", web::post().to(save))
        .route(
            "/console/settings/integrations/{key}/pause",
            web::post().to(pause),
        )
        .route(
            "/console/settings/integrations/{key}/resume",
            web::post().to(resume),
        )
        .route(
            "/console/settings/integrations/{key}/delete",
            web::post().to(delete),
        )
        .route(
            "/console/settings/integrations/{key}/deliveries/{id}/retry",
            web::post().to(retry),
        );
}

/// A tick box of the form: value, label, ticked.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub on: bool,
}

/// What the form holds (a new webhook, or the one being changed).
pub struct Form {
    pub key: String,
    pub name: String,
    pub url: String,
    pub enabled: bool,
    pub events: Vec<Choice>,
    pub channels: Vec<Choice>,
}

#[derive(Template)]
#[template(path = "console/integrations.html")]
struct ListPage {
    tr: Tr,
    csrf: String,
    project_name: String,
    admin: bool,
    rows: Vec<View>,
    form: Form,
    notice: String,
    error: String,
}

#[derive(Template)]
#[template(path = "console/integration.html")]
struct ItemPage {
    tr: Tr,
    csrf: String,
    project_name: String,
    admin: bool,
    item: View,
    form: Form,
    log: Vec<DeliveryView>,
    notice: String,
    error: String,
    /// A secret made up on this save, shown once.
    secret: String,
}

impl ItemPage {
    fn declared_in_file(&self) -> bool {
        self.item.source == "file"
    }
}

async fn form_of(
    state: &State,
    console: &Console,
    v: Option<&View>,
    sent: Option<&[(String, String)]>,
) -> Result<Form, HtmlError> {
    let tr = console.tr;
    let pid = console.project.id;
    let channels = state
        .inbox
        .store
        .read(move |c| crate::store::channels::of_project(c, pid))
        .await?;
    let picked = |name: &str, value: &str, stored: &[String]| match sent {
        Some(f) => f.iter().any(|(k, v)| k == name && v == value),
        None => stored.iter().any(|s| s == value),
    };
    let (events, chans) = v
        .map(|v| (v.events.clone(), v.channels.clone()))
        .unwrap_or_default();
    let text = |k: &str| sent.map(|f| field(f, k).to_string());
    Ok(Form {
        key: text("key").or(v.map(|v| v.id.clone())).unwrap_or_default(),
        name: text("name")
            .or(v.map(|v| v.name.clone()))
            .unwrap_or_default(),
        url: text("url").or(v.map(|v| v.url.clone())).unwrap_or_default(),
        enabled: match sent {
            Some(f) => !field(f, "enabled").is_empty(),
            None => v.is_none_or(|v| v.enabled),
        },
        events: WebhookEvent::ALL
            .iter()
            .map(|e| Choice {
                value: e.as_str().to_string(),
                label: tr.t(&format!("event_{}", e.as_str())).to_string(),
                on: picked("events", e.as_str(), &events),
            })
            .collect(),
        channels: channels
            .into_iter()
            .filter(|c| c.disconnected_at.is_none())
            .map(|c| Choice {
                on: picked("channels", &c.key, &chans),
                value: c.key,
                label: c.name,
            })
            .collect(),
    })
}

/// The form as the one validator takes it.
fn declared(form: &[(String, String)], key: &str) -> Declared {
    let list = |name: &str| -> Vec<Value> {
        form.iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| Value::String(v.clone()))
            .collect()
    };
    let mut config = json!({ "url": field(form, "url").trim() });
    let secret = field(form, "secret").trim();
    if !secret.is_empty() {
        config["secret"] = json!(secret);
    }
    let events = list("events");
    if !events.is_empty() {
        config["events"] = Value::Array(events);
    }
    let channels = list("channels");
    if !channels.is_empty() {
        config["channels"] = Value::Array(channels);
    }
    let name = field(form, "name").trim();
    Declared {
        key: key.to_string(),
        kind: IntegrationKind::Webhook,
        name: if name.is_empty() { key } else { name }.to_string(),
        enabled: !field(form, "enabled").is_empty(),
        config,
    }
}

async fn list_page(
    state: &State,
    console: &Console,
    notice: String,
    error: String,
    sent: Option<&[(String, String)]>,
) -> Result<ListPage, HtmlError> {
    let rows = state.inbox.integrations(console.project.id).await?;
    Ok(ListPage {
        tr: console.tr,
        csrf: console.csrf.clone(),
        project_name: console.project.name.clone(),
        admin: console.access.can(Can::Team),
        rows,
        form: form_of(state, console, None, sent).await?,
        notice,
        error,
    })
}

fn html(status: actix_web::http::StatusCode, body: String) -> Result<HttpResponse, HtmlError> {
    Ok(super::page(status).body(body))
}

async fn list(
    state: web::Data<State>,
    console: Console,
    q: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Settings)?;
    let notice = match field(&q, "done") {
        "deleted" => console.tr.t("integration_deleted").to_string(),
        _ => String::new(),
    };
    let p = list_page(&state, &console, notice, String::new(), None).await?;
    html(actix_web::http::StatusCode::OK, p.render()?)
}

async fn create(
    state: web::Data<State>,
    console: Console,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Settings)?;
    console.check_csrf(field(&form, "csrf"))?;
    let key = field(&form, "key").trim().to_string();
    let taken = state
        .inbox
        .integration(console.project.id, &key)
        .await
        .is_ok();
    let saved = if taken {
        Err(Error::Conflict(format!(
            "integration \"{key}\" exists; choose another id"
        )))
    } else {
        state
            .inbox
            .save_integration(console.project.id, declared(&form, &key))
            .await
    };
    match saved {
        Ok((v, secret)) => item_page(&state, &console, &v.id, secret, String::new(), None).await,
        Err(e) if e.is_caller_error() => {
            let status = super::errors::refusal_status(&e);
            let p = list_page(&state, &console, String::new(), e.to_string(), Some(&form)).await?;
            html(status, p.render()?)
        }
        Err(e) => Err(e.into()),
    }
}

async fn item_page(
    state: &State,
    console: &Console,
    key: &str,
    secret: Option<String>,
    error: String,
    sent: Option<&[(String, String)]>,
) -> Result<HttpResponse, HtmlError> {
    let item = state.inbox.integration(console.project.id, key).await?;
    let log = state
        .inbox
        .deliveries(console.project.id, key, None)
        .await?;
    let notice = if secret.is_some() || (error.is_empty() && sent.is_some()) {
        console.tr.t("integration_saved").to_string()
    } else {
        String::new()
    };
    let status = if error.is_empty() {
        actix_web::http::StatusCode::OK
    } else {
        actix_web::http::StatusCode::BAD_REQUEST
    };
    let p = ItemPage {
        tr: console.tr,
        csrf: console.csrf.clone(),
        project_name: console.project.name.clone(),
        admin: console.access.can(Can::Team),
        form: form_of(state, console, Some(&item), sent).await?,
        item,
        log,
        notice,
        error,
        secret: secret.unwrap_or_default(),
    };
    html(status, p.render()?)
}

async fn show(
    state: web::Data<State>,
    console: Console,
    key: web::Path<String>,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Settings)?;
    item_page(&state, &console, &key, None, String::new(), None).await
}

async fn save(
    state: web::Data<State>,
    console: Console,
    key: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Settings)?;
    console.check_csrf(field(&form, "csrf"))?;
    // Another project's integration is not there.
    state.inbox.integration(console.project.id, &key).await?;
    match state
        .inbox
        .save_integration(console.project.id, declared(&form, &key))
        .await
    {
        Ok((_, secret)) => {
            item_page(&state, &console, &key, secret, String::new(), Some(&form)).await
        }
        Err(e) if e.is_caller_error() => {
            item_page(&state, &console, &key, None, e.to_string(), Some(&form)).await
        }
        Err(e) => Err(e.into()),
    }
}

fn back_to(key: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((
            "Location",
            format!("/console/settings/integrations/{key}#log"),
        ))
        .finish()
}

async fn pause_or_resume(
    state: &State,
    console: &Console,
    key: &str,
    form: &[(String, String)],
    paused: bool,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Settings)?;
    console.check_csrf(field(form, "csrf"))?;
    state
        .inbox
        .pause_integration(console.project.id, key, paused)
        .await?;
    Ok(back_to(key))
}

async fn pause(
    state: web::Data<State>,
    console: Console,
    key: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, HtmlError> {
    pause_or_resume(&state, &console, &key, &form, true).await
}

async fn resume(
    state: web::Data<State>,
    console: Console,
    key: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, HtmlError> {
    pause_or_resume(&state, &console, &key, &form, false).await
}

async fn delete(
    state: web::Data<State>,
    console: Console,
    key: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Settings)?;
    console.check_csrf(field(&form, "csrf"))?;
    state
        .inbox
        .delete_integration(console.project.id, &key)
        .await?;
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", "/console/settings/integrations?done=deleted"))
        .finish())
}

async fn retry(
    state: web::Data<State>,
    console: Console,
    path: web::Path<(String, String)>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Settings)?;
    console.check_csrf(field(&form, "csrf"))?;
    let (key, id) = path.into_inner();
    let id: i64 = id
        .parse()
        .map_err(|_| Error::NotFound(format!("no delivery {id}")))?;
    state
        .inbox
        .retry_delivery(console.project.id, &key, id)
        .await?;
    Ok(back_to(&key))
}
