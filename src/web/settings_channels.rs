//! Settings → Channels (admins and the settings role): the project's channels with the account
//! each is bound to and how it receives; connecting one by kind with a check of the
//! credentials before saving; changing, pausing, resuming and disconnecting. Every form goes
//! through `channel_admin`, the path the channels API takes.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde_json::{Map, Value};

use super::State;
use super::auth::Console;
use super::channel_admin::{self as admin, ChannelView, Edit, NewChannel, Receiving, Refusal};
use super::errors::HtmlError;
use super::settings::{SavedQuery, field};
use crate::channels::AccountInfo;
use crate::channels::fields::{self, Field, Input};
use crate::domain::{Can, ChannelKind, ChannelSource};
use crate::error::Error;
use crate::i18n::Tr;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/console/settings/channels", web::get().to(list))
        .route("/console/settings/channels/new", web::get().to(new_form))
        .route("/console/settings/channels/new", web::post().to(create))
        .route("/console/settings/channels/{key}", web::get().to(show))
        .route("/console/settings/channels/{key}", web::post().to(save))
        .route(
            "/console/settings/channels/{key}/pause",
            web::post().to(pause),
        )
        .route(
            "/console/settings/channels/{key}/resume",
            web::post().to(resume),
        )
        .route(
            "/console/settings/channels/{key}/disconnect",
            web::get().to(confirm_disconnect),
        )
        .route(
            "/console/settings/channels/{key}/disconnect",
            web::post().to(disconnect),
        );
}

type Pairs = Vec<(String, String)>;

fn html(status: actix_web::http::StatusCode, body: String) -> HttpResponse {
    super::page(status).body(body)
}

fn see(location: String) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("Location", location))
        .finish()
}

fn when(t: Option<chrono::NaiveDateTime>, tr: Tr) -> String {
    t.map(|t| format!("{} UTC", t.format("%Y-%m-%d %H:%M")))
        .unwrap_or_else(|| tr.t("never").to_string())
}

/// A channel as a row of the list and the head of its page.
pub struct Row {
    pub id: crate::domain::ChannelId,
    pub key: String,
    pub name: String,
    pub kind: &'static str,
    pub from_file: bool,
    pub editable: bool,
    /// The project's own widget pauses but is never disconnected.
    pub can_disconnect: bool,
    pub enabled: bool,
    pub account: String,
    pub account_error: String,
    /// "Long polling", "Webhook: https://…", "Paused"…
    pub receiving: String,
    pub receiving_error: String,
    pub last_received: String,
    pub last_error: String,
}

fn row(v: &ChannelView, tr: Tr) -> Row {
    let (receiving, receiving_error) = match &v.receiving {
        Receiving::Stopped if !v.channel.enabled => (tr.t("paused").to_string(), String::new()),
        Receiving::Stopped => (
            tr.t("not_running").to_string(),
            tr.t("not_running_hint").to_string(),
        ),
        Receiving::Polling => (tr.t("long_polling").to_string(), String::new()),
        Receiving::Widget => (tr.t("on_the_site").to_string(), String::new()),
        Receiving::Webhook { url, registered } => {
            let what = match url {
                Some(u) => format!("{}: {u}", tr.t("webhook")),
                None => tr.t("webhook_no_public_url").to_string(),
            };
            let what = match registered {
                Some(Ok(_)) => format!("{what} ✓ {}", tr.t("registered")),
                _ => what,
            };
            let err = match registered {
                Some(Err(e)) => format!("{}: {e}", tr.t("registration_failed")),
                _ => String::new(),
            };
            (what, err)
        }
    };
    Row {
        id: v.channel.id,
        key: v.channel.key.clone(),
        name: v.channel.name.clone(),
        kind: v.channel.kind.as_str(),
        from_file: v.channel.source == ChannelSource::File,
        editable: v.channel.source.editable(),
        can_disconnect: v.channel.source == ChannelSource::Web,
        enabled: v.channel.enabled,
        account: v
            .account
            .as_ref()
            .map(|a| a.name.clone())
            .unwrap_or_default(),
        account_error: v.account.as_ref().err().cloned().unwrap_or_default(),
        receiving,
        receiving_error,
        last_received: when(v.last_received, tr),
        last_error: v
            .last_error
            .as_ref()
            .map(|(at, e)| format!("{at}: {e}"))
            .unwrap_or_default(),
    }
}

#[derive(Template)]
#[template(path = "console/channels.html")]
struct ListPage {
    /// Admins also see the team pages in the settings menu.
    admin: bool,
    tr: Tr,
    project_name: String,
    notice: String,
    rows: Vec<Row>,
    kinds: Vec<(&'static str, &'static str)>,
}

/// Kinds an admin can connect, with how each is named on the page.
fn kinds(tr: Tr) -> Vec<(&'static str, &'static str)> {
    [
        ChannelKind::Telegram,
        ChannelKind::Max,
        ChannelKind::Vk,
        ChannelKind::Whatsapp,
        ChannelKind::Viber,
        ChannelKind::Ok,
        ChannelKind::Avito,
        ChannelKind::Widget,
        ChannelKind::Api,
    ]
    .iter()
    .map(|k| (k.as_str(), tr.kind_name(*k)))
    .collect()
}

async fn list(state: web::Data<State>, console: Console) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Settings)?;
    list_page(&state, &console, String::new()).await
}

/// The list, with a notice of what was just done (said here, never taken from the URL, so a
/// link cannot make the page say anything).
async fn list_page(
    state: &State,
    console: &Console,
    notice: String,
) -> Result<HttpResponse, HtmlError> {
    let tr = console.tr;
    let rows = admin::views(state, console.project.id)
        .await?
        .iter()
        .map(|v| row(v, tr))
        .collect();
    let page = ListPage {
        admin: console.access.can(Can::Team),
        tr,
        project_name: console.project.name.clone(),
        notice,
        rows,
        kinds: kinds(tr),
    };
    Ok(html(actix_web::http::StatusCode::OK, page.render()?))
}

/// One input of the form: a platform key or a channel option.
pub struct FormInput {
    pub name: String,
    pub label: &'static str,
    pub help: &'static str,
    pub value: String,
    pub secret: bool,
    /// A secret stored already: the field is empty and says so.
    pub stored: bool,
    pub required: bool,
    /// text, number, url, color, select, checkbox or textarea.
    pub control: &'static str,
    /// For a select: (value, label, selected).
    pub options: Vec<(&'static str, &'static str, bool)>,
    pub checked: bool,
    pub advanced: bool,
}

fn inputs(kind: ChannelKind, tr: Tr, values: &Map<String, Value>, editing: bool) -> Vec<FormInput> {
    fields::of(kind)
        .iter()
        .map(|f: &Field| {
            let stored = values.get(f.key).is_some_and(|v| !v.is_null());
            let shown = if f.secret {
                String::new()
            } else {
                values.get(f.key).map(text_of).unwrap_or_default()
            };
            let control = match f.input {
                Input::Text => "text",
                Input::Number => "number",
                Input::Url => "url",
                Input::Color => "color",
                Input::Choice(_) => "select",
                Input::Flag => "checkbox",
                Input::Lines => "textarea",
            };
            let options = match f.input {
                Input::Choice(opts) => opts
                    .iter()
                    .enumerate()
                    .map(|(i, (v, labels))| {
                        let selected = if shown.is_empty() {
                            i == 0
                        } else {
                            shown == *v
                        };
                        (*v, tr.lang.pick_of(*labels), selected)
                    })
                    .collect(),
                _ => Vec::new(),
            };
            let shown = match (f.input, shown.is_empty()) {
                (Input::Color, true) => "#2563eb".to_string(),
                _ => shown,
            };
            FormInput {
                name: format!("cfg.{}", f.key),
                label: f.label(tr.lang),
                help: f.help(tr.lang),
                value: shown,
                secret: f.secret,
                stored: f.secret && stored && editing,
                // An edit keeps a stored secret when its field is left empty.
                required: f.required && !(f.secret && editing),
                control,
                options,
                checked: values.get(f.key).and_then(|v| v.as_bool()).unwrap_or(false),
                advanced: f.key == "api_base",
            }
        })
        .collect()
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Array(items) => items.iter().map(text_of).collect::<Vec<_>>().join("\n"),
        other => other.to_string(),
    }
}

/// The customer-facing options every messenger channel has, as the form shows them.
pub struct Options {
    pub helpdesk: bool,
    pub phone_registration: bool,
    pub support_phone: String,
    pub show_operator_name: bool,
}

impl Options {
    fn of(config: &Map<String, Value>) -> Options {
        let s = |k: &str| config.get(k).and_then(|v| v.as_str()).unwrap_or_default();
        Options {
            helpdesk: s("routing") == "helpdesk",
            phone_registration: s("registration") == "phone",
            support_phone: s("support_phone").to_string(),
            show_operator_name: config
                .get("show_operator_name")
                .and_then(|v| v.as_bool())
                .unwrap_or(true),
        }
    }
}

#[derive(Template)]
#[template(path = "console/channel.html")]
struct ChannelPage {
    /// Admins also see the team pages in the settings menu.
    admin: bool,
    tr: Tr,
    csrf: String,
    project_name: String,
    kind: &'static str,
    kind_name: &'static str,
    /// None on the "connect" form.
    row: Option<Row>,
    name: String,
    inputs: Vec<FormInput>,
    messenger: bool,
    options: Options,
    notice: String,
    /// The account the credentials belong to, after "Check".
    checked: String,
    error: String,
    /// Secrets made up on connect: shown this once.
    generated: Vec<(&'static str, String)>,
    /// What to paste into the platform (VK's Callback API, Meta's webhook settings…).
    paste: Vec<(&'static str, String)>,
    /// A widget's install snippet and the page previewing it.
    snippet: String,
    preview: String,
    /// The project's teams, for the default team.
    teams: Vec<(i64, String)>,
    team: Option<i64>,
}

impl ChannelPage {
    fn is_team(&self, id: &i64) -> bool {
        self.team == Some(*id)
    }

    /// Channels from channels.toml are shown, not edited here.
    fn show_form(&self) -> bool {
        self.row.as_ref().is_none_or(|r| r.editable)
    }

    fn action(&self) -> String {
        match &self.row {
            Some(r) => format!("/console/settings/channels/{}", r.key),
            None => "/console/settings/channels/new".into(),
        }
    }
}

#[derive(serde::Deserialize)]
struct NewQuery {
    kind: Option<String>,
}

fn kind_param(kind: &str) -> Result<ChannelKind, HtmlError> {
    ChannelKind::parse(kind).map_err(|e| HtmlError::App(Error::invalid(e)))
}

fn blank(console: &Console, kind: ChannelKind) -> ChannelPage {
    let tr = console.tr;
    ChannelPage {
        admin: console.access.can(Can::Team),
        tr,
        csrf: console.csrf.clone(),
        project_name: console.project.name.clone(),
        kind: kind.as_str(),
        kind_name: tr.kind_name(kind),
        row: None,
        name: tr.kind_name(kind).to_string(),
        inputs: inputs(kind, tr, &Map::new(), false),
        messenger: !matches!(kind, ChannelKind::Widget),
        options: Options::of(&Map::new()),
        notice: String::new(),
        checked: String::new(),
        error: String::new(),
        generated: Vec::new(),
        paste: Vec::new(),
        snippet: String::new(),
        preview: String::new(),
        teams: Vec::new(),
        team: None,
    }
}

/// The form's default team ("" for none).
fn team_of(form: &[(String, String)]) -> Option<i64> {
    field(form, "team").parse().ok()
}

async fn teams_of(state: &State, console: &Console) -> Result<Vec<(i64, String)>, HtmlError> {
    let pid = console.project.id;
    Ok(state
        .inbox
        .store
        .read(move |c| crate::store::teams::of_project(c, pid))
        .await?
        .into_iter()
        .map(|t| (t.id, t.name))
        .collect())
}

async fn new_form(
    state: web::Data<State>,
    console: Console,
    q: web::Query<NewQuery>,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Settings)?;
    let kind = kind_param(q.kind.as_deref().unwrap_or("telegram"))?;
    let mut page = blank(&console, kind);
    page.teams = teams_of(&state, &console).await?;
    Ok(html(actix_web::http::StatusCode::OK, page.render()?))
}

/// The form's platform keys and options as the kind's config (what channels.toml would say).
fn config_of(kind: ChannelKind, form: &[(String, String)]) -> Map<String, Value> {
    let mut m = Map::new();
    for f in fields::of(kind) {
        let raw = field(form, &format!("cfg.{}", f.key)).trim();
        let v = match f.input {
            Input::Number => raw
                .parse::<i64>()
                .map(Value::from)
                .unwrap_or_else(|_| Value::String(raw.into())),
            Input::Flag => Value::Bool(!raw.is_empty()),
            Input::Lines => Value::Array(
                raw.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(|l| Value::String(l.into()))
                    .collect(),
            ),
            _ => Value::String(raw.into()),
        };
        m.insert(f.key.into(), v);
    }
    if kind != ChannelKind::Widget {
        let helpdesk = !field(form, "helpdesk").is_empty();
        m.insert(
            "routing".into(),
            Value::String(if helpdesk { "helpdesk" } else { "chat" }.into()),
        );
        let phone = !field(form, "phone_registration").is_empty();
        m.insert(
            "registration".into(),
            Value::String(if phone { "phone" } else { "open" }.into()),
        );
        m.insert(
            "support_phone".into(),
            Value::String(field(form, "support_phone").trim().into()),
        );
        m.insert(
            "show_operator_name".into(),
            Value::Bool(!field(form, "show_operator_name").is_empty()),
        );
    }
    m
}

/// How a refusal reads on the form: the platform's refusal as "Bot not found" and its words.
fn refusal_text(tr: Tr, kind: ChannelKind, r: Refusal) -> Result<String, HtmlError> {
    Ok(match r {
        Refusal::Config(m) => m,
        Refusal::Platform(m) => format!("{}: {m}", tr.account_not_found(kind)),
        Refusal::App(e @ (Error::Conflict(_) | Error::NotFound(_) | Error::Invalid(_))) => {
            e.to_string()
        }
        Refusal::App(e) => return Err(HtmlError::App(e)),
    })
}

fn account_line(tr: Tr, kind: ChannelKind, a: &AccountInfo) -> String {
    format!("{}: {}", tr.account_found(kind), a.name)
}

async fn create(
    req: actix_web::HttpRequest,
    state: web::Data<State>,
    console: Console,
    form: web::Form<Pairs>,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Settings)?;
    console.check_csrf(field(&form, "csrf"))?;
    let tr = console.tr;
    let kind = kind_param(field(&form, "kind"))?;
    let config = config_of(kind, &form);
    let mut page = blank(&console, kind);
    page.teams = teams_of(&state, &console).await?;
    page.team = team_of(&form);
    page.name = field(&form, "name").to_string();
    page.inputs = inputs(kind, tr, &config, false);
    // Typed before saving: the admin sees their own input again, not a stored secret.
    for i in page.inputs.iter_mut() {
        i.value = field(&form, &i.name).to_string();
        i.checked = !i.value.is_empty();
    }
    page.options = Options::of(&config);
    let check_only = field(&form, "step") == "check";
    let bad = actix_web::http::StatusCode::UNPROCESSABLE_ENTITY;
    if check_only {
        let name = admin::check_name(&page.name).unwrap_or_else(|_| kind.to_string());
        return match admin::verify(&state, kind, &name, Value::Object(config)).await {
            Ok(a) => {
                page.checked = account_line(tr, kind, &a);
                Ok(html(actix_web::http::StatusCode::OK, page.render()?))
            }
            Err(r) => {
                page.error = refusal_text(tr, kind, r)?;
                Ok(html(bad, page.render()?))
            }
        };
    }
    let new = NewChannel {
        key: None,
        kind,
        name: page.name.clone(),
        config: Value::Object(config),
        team: team_of(&form),
    };
    match admin::connect(&state, &console.operator(), new).await {
        Ok(done) => {
            let notice = format!(
                "{} {}",
                tr.t("channel_connected"),
                account_line(tr, kind, &done.account)
            );
            let view = admin::view(&state, done.channel).await?;
            let mut page = channel_page(&state, &console, &req, view).await?;
            page.notice = notice;
            page.generated = done.generated;
            if let Some(w) = done.warning {
                page.error = format!("{}: {w}", tr.t("registration_failed"));
            }
            Ok(html(actix_web::http::StatusCode::CREATED, page.render()?))
        }
        Err(r) => {
            page.error = refusal_text(tr, kind, r)?;
            Ok(html(bad, page.render()?))
        }
    }
}

/// The page of a stored channel: its state, and its settings as a form (secrets masked).
async fn channel_page(
    state: &State,
    console: &Console,
    req: &actix_web::HttpRequest,
    view: ChannelView,
) -> Result<ChannelPage, HtmlError> {
    let tr = console.tr;
    let kind = view.channel.kind;
    let stored = match state.inbox.registry.open(&view.channel)? {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let mut paste = Vec::new();
    if let Receiving::Webhook { url: Some(u), .. } = &view.receiving
        && matches!(kind, ChannelKind::Vk | ChannelKind::Whatsapp)
    {
        paste.push(("callback_url", u.clone()));
    }
    if kind == ChannelKind::Vk
        && let Some(c) = stored.get("confirmation").and_then(|v| v.as_str())
    {
        paste.push(("confirmation", c.to_string()));
    }
    let (snippet, preview) = if kind == ChannelKind::Widget {
        let key = &view.channel.key;
        (
            format!(
                "<script src=\"{}/static/widget.js\" data-channel=\"{key}\" async></script>",
                super::widget::own_origin(state, req)
            ),
            format!("/demo?channel={key}"),
        )
    } else {
        Default::default()
    };
    let row = row(&view, tr);
    Ok(ChannelPage {
        admin: console.access.can(Can::Team),
        teams: teams_of(state, console).await?,
        team: view.channel.default_team_id,
        snippet,
        preview,
        tr,
        csrf: console.csrf.clone(),
        project_name: console.project.name.clone(),
        kind: kind.as_str(),
        kind_name: tr.kind_name(kind),
        name: row.name.clone(),
        inputs: inputs(kind, tr, &stored, true),
        messenger: kind != ChannelKind::Widget,
        options: Options::of(&stored),
        row: Some(row),
        notice: String::new(),
        checked: String::new(),
        error: String::new(),
        generated: Vec::new(),
        paste,
    })
}

async fn show(
    req: actix_web::HttpRequest,
    state: web::Data<State>,
    console: Console,
    path: web::Path<String>,
    q: web::Query<SavedQuery>,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Settings)?;
    let ch = admin::find(&state, console.project.id, &path)
        .await
        .map_err(to_html)?;
    let view = admin::view(&state, ch).await?;
    let mut page = channel_page(&state, &console, &req, view).await?;
    if q.saved.is_some() {
        page.notice = console.tr.t("saved").to_string();
    }
    Ok(html(actix_web::http::StatusCode::OK, page.render()?))
}

fn page_of(key: &str) -> String {
    format!("/console/settings/channels/{key}?saved=1")
}

async fn save(
    req: actix_web::HttpRequest,
    state: web::Data<State>,
    console: Console,
    path: web::Path<String>,
    form: web::Form<Pairs>,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Settings)?;
    console.check_csrf(field(&form, "csrf"))?;
    let key = path.into_inner();
    let ch = admin::find(&state, console.project.id, &key)
        .await
        .map_err(to_html)?;
    let edit = Edit {
        name: Some(field(&form, "name").to_string()),
        enabled: None,
        config: Some(config_of(ch.kind, &form)),
        team: Some(team_of(&form)),
    };
    match admin::edit(&state, &console.operator(), &key, edit).await {
        Ok(_) => Ok(see(page_of(&key))),
        Err(r) => {
            let tr = console.tr;
            let kind = ch.kind;
            let view = admin::view(&state, ch).await?;
            let mut page = channel_page(&state, &console, &req, view).await?;
            page.error = refusal_text(tr, kind, r)?;
            page.name = field(&form, "name").to_string();
            for i in page.inputs.iter_mut().filter(|i| !i.secret) {
                i.value = field(&form, &i.name).to_string();
                i.checked = !i.value.is_empty();
            }
            page.options = Options::of(&config_of(kind, &form));
            Ok(html(
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
                page.render()?,
            ))
        }
    }
}

fn to_html(r: Refusal) -> HtmlError {
    match r {
        Refusal::App(e) => HtmlError::App(e),
        Refusal::Config(m) | Refusal::Platform(m) => HtmlError::App(Error::invalid(m)),
    }
}

async fn set_enabled(
    state: &State,
    console: &Console,
    key: &str,
    form: &[(String, String)],
    on: bool,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Settings)?;
    console.check_csrf(field(form, "csrf"))?;
    let edit = Edit {
        enabled: Some(on),
        ..Edit::default()
    };
    admin::edit(state, &console.operator(), key, edit)
        .await
        .map_err(to_html)?;
    Ok(see(page_of(key)))
}

async fn pause(
    state: web::Data<State>,
    console: Console,
    path: web::Path<String>,
    form: web::Form<Pairs>,
) -> Result<HttpResponse, HtmlError> {
    set_enabled(&state, &console, &path, &form, false).await
}

async fn resume(
    state: web::Data<State>,
    console: Console,
    path: web::Path<String>,
    form: web::Form<Pairs>,
) -> Result<HttpResponse, HtmlError> {
    set_enabled(&state, &console, &path, &form, true).await
}

#[derive(Template)]
#[template(path = "console/channel_disconnect.html")]
struct ConfirmPage {
    tr: Tr,
    csrf: String,
    project_name: String,
    key: String,
    name: String,
}

async fn confirm_disconnect(
    state: web::Data<State>,
    console: Console,
    path: web::Path<String>,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Settings)?;
    let ch = admin::find(&state, console.project.id, &path)
        .await
        .map_err(to_html)?;
    let page = ConfirmPage {
        tr: console.tr,
        csrf: console.csrf.clone(),
        project_name: console.project.name.clone(),
        key: ch.key,
        name: ch.name,
    };
    Ok(html(actix_web::http::StatusCode::OK, page.render()?))
}

async fn disconnect(
    state: web::Data<State>,
    console: Console,
    path: web::Path<String>,
    form: web::Form<Pairs>,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Settings)?;
    console.check_csrf(field(&form, "csrf"))?;
    let ch = admin::find(&state, console.project.id, &path)
        .await
        .map_err(to_html)?;
    let complaint = admin::disconnect(&state, &console.operator(), &ch.key)
        .await
        .map_err(to_html)?;
    let tr = console.tr;
    let mut notice = format!("{} «{}».", tr.t("channel_disconnected"), ch.name);
    if let Some(c) = complaint {
        notice = format!("{notice} {}: {c}", tr.t("platform_not_told"));
    }
    list_page(&state, &console, notice).await
}
