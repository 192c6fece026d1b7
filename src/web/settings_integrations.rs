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

/// What the form holds (a new integration of a kind, or the one being changed). The CRM
/// fields are empty for a webhook and the other way round.
pub struct Form {
    pub kind: String,
    pub key: String,
    pub name: String,
    pub url: String,
    pub enabled: bool,
    pub events: Vec<Choice>,
    pub channels: Vec<Choice>,
    /// Bitrix24: "lead" or "deal".
    pub entity: String,
    pub title: String,
    pub source_id: String,
    pub default_responsible: String,
    /// Bitrix24: the portal the stored webhook reaches (its key is never shown).
    pub portal: String,
    pub subdomain: String,
    pub pipeline_id: String,
    pub status_id: String,
    pub api_base: String,
}

/// The kinds an admin adds here, with their labels' keys.
const KINDS: [(IntegrationKind, &str); 3] = [
    (IntegrationKind::Bitrix24, "integration_new_bitrix24"),
    (IntegrationKind::AmoCrm, "integration_new_amocrm"),
    (IntegrationKind::Webhook, "integration_new"),
];

#[derive(Template)]
#[template(path = "console/integrations.html")]
struct ListPage {
    tr: Tr,
    csrf: String,
    project_name: String,
    admin: bool,
    rows: Vec<View>,
    /// The kinds a new one may be, the chosen one ticked.
    kinds: Vec<Choice>,
    new_label: String,
    form: Form,
    notice: String,
    error: String,
}

impl ListPage {
    fn kind_label(&self, kind: &str) -> String {
        self.tr.t(&format!("kind_{kind}")).to_string()
    }
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
    /// Who the CRM said the connection acts as, on this save.
    connected_as: String,
}

impl ItemPage {
    fn declared_in_file(&self) -> bool {
        self.item.source == "file"
    }

    fn kind_label(&self) -> String {
        self.tr.t(&format!("kind_{}", self.item.kind)).to_string()
    }
}

async fn form_of(
    state: &State,
    console: &Console,
    kind: IntegrationKind,
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
    // What was sent, else what is stored (numbers shown as typed), else empty.
    let setting = |k: &str| {
        text(k)
            .or(v.and_then(|v| match &v.config[k] {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            }))
            .unwrap_or_default()
    };
    Ok(Form {
        kind: kind.as_str().to_string(),
        entity: match setting("entity").as_str() {
            "deal" => "deal".to_string(),
            _ => "lead".to_string(),
        },
        title: match setting("title") {
            t if t.is_empty() && kind != IntegrationKind::Webhook => {
                crate::integrations::crm::DEFAULT_TITLE.to_string()
            }
            t => t,
        },
        source_id: setting("source_id"),
        default_responsible: setting("default_responsible"),
        portal: v
            .and_then(|v| v.config["portal"].as_str())
            .unwrap_or_default()
            .to_string(),
        subdomain: setting("subdomain"),
        pipeline_id: setting("pipeline_id"),
        status_id: setting("status_id"),
        api_base: setting("api_base"),
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

/// The form as the one validator takes it (empty fields are left out: an empty secret keeps
/// the stored one).
fn declared(form: &[(String, String)], key: &str, kind: IntegrationKind) -> Declared {
    let list = |name: &str| -> Vec<Value> {
        form.iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| Value::String(v.clone()))
            .collect()
    };
    let mut config = serde_json::Map::new();
    for k in crate::integrations::keys(kind) {
        // Lists are ticks, one field per value; the rest are text fields.
        let v = match k {
            "events" | "channels" => Value::Array(list(k)),
            _ => json!(field(form, k).trim()),
        };
        let empty =
            v.as_str().is_some_and(str::is_empty) || v.as_array().is_some_and(|a| a.is_empty());
        if !empty {
            config.insert(k.to_string(), v);
        }
    }
    let name = field(form, "name").trim();
    Declared {
        key: key.to_string(),
        kind,
        name: if name.is_empty() { key } else { name }.to_string(),
        enabled: !field(form, "enabled").is_empty(),
        config: Value::Object(config),
    }
}

/// The kind a new integration's form is for (`?new=` or the form's own field).
fn kind_asked(q: &[(String, String)], name: &str) -> IntegrationKind {
    IntegrationKind::parse(field(q, name)).unwrap_or(IntegrationKind::Webhook)
}

async fn list_page(
    state: &State,
    console: &Console,
    kind: IntegrationKind,
    notice: String,
    error: String,
    sent: Option<&[(String, String)]>,
) -> Result<ListPage, HtmlError> {
    let rows = state.inbox.integrations(console.project.id).await?;
    let tr = console.tr;
    Ok(ListPage {
        tr,
        csrf: console.csrf.clone(),
        project_name: console.project.name.clone(),
        admin: console.access.can(Can::Team),
        rows,
        kinds: KINDS
            .iter()
            .map(|(k, label)| Choice {
                value: k.as_str().to_string(),
                label: tr.t(label).to_string(),
                on: *k == kind,
            })
            .collect(),
        new_label: tr
            .t(KINDS
                .iter()
                .find(|(k, _)| *k == kind)
                .map(|(_, l)| *l)
                .unwrap_or("integration_new"))
            .to_string(),
        form: form_of(state, console, kind, None, sent).await?,
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
    let p = list_page(
        &state,
        &console,
        kind_asked(&q, "new"),
        notice,
        String::new(),
        None,
    )
    .await?;
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
    let kind = kind_asked(&form, "kind");
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
            .save_integration(console.project.id, declared(&form, &key, kind))
            .await
    };
    match saved {
        Ok((v, secret)) => {
            let saved = Saved {
                secret,
                connected_as: v.connected_as.clone(),
            };
            item_page(&state, &console, &v.id, saved, String::new(), None).await
        }
        Err(e) if e.is_caller_error() => {
            let status = super::errors::refusal_status(&e);
            let p = list_page(
                &state,
                &console,
                kind,
                String::new(),
                e.to_string(),
                Some(&form),
            )
            .await?;
            html(status, p.render()?)
        }
        Err(e) => Err(e.into()),
    }
}

/// What a save tells the admin once: a secret made up, who the CRM says it acts as.
#[derive(Default)]
struct Saved {
    secret: Option<String>,
    connected_as: Option<String>,
}

async fn item_page(
    state: &State,
    console: &Console,
    key: &str,
    saved: Saved,
    error: String,
    sent: Option<&[(String, String)]>,
) -> Result<HttpResponse, HtmlError> {
    let item = state.inbox.integration(console.project.id, key).await?;
    let log = state
        .inbox
        .deliveries(console.project.id, key, None)
        .await?;
    let secret = saved.secret;
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
        form: form_of(state, console, item.kind_enum(), Some(&item), sent).await?,
        item,
        log,
        notice,
        error,
        secret: secret.unwrap_or_default(),
        connected_as: saved.connected_as.unwrap_or_default(),
    };
    html(status, p.render()?)
}

async fn show(
    state: web::Data<State>,
    console: Console,
    key: web::Path<String>,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Settings)?;
    item_page(
        &state,
        &console,
        &key,
        Saved::default(),
        String::new(),
        None,
    )
    .await
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
    let current = state.inbox.integration(console.project.id, &key).await?;
    match state
        .inbox
        .save_integration(
            console.project.id,
            declared(&form, &key, current.kind_enum()),
        )
        .await
    {
        Ok((v, secret)) => {
            let saved = Saved {
                secret,
                connected_as: v.connected_as,
            };
            item_page(&state, &console, &key, saved, String::new(), Some(&form)).await
        }
        Err(e) if e.is_caller_error() => {
            let p = Saved::default();
            item_page(&state, &console, &key, p, e.to_string(), Some(&form)).await
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
