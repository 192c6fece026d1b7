//! Handing what happens in the inbox to other systems. An event is queued, in the transaction
//! that caused it, for every integration of the project that takes it (`emit`); the webhooks
//! worker delivers it later, never the request that caused it.

pub mod amocrm;
pub mod bitrix24;
pub mod crm;
pub mod webhook;

use chrono::NaiveDateTime;
use serde::Serialize;
use serde_json::{Value, json};

use crate::domain::{
    ChannelId, ContactId, ConversationId, IntegrationKind, ProjectId, WebhookEvent,
};
use crate::error::Result;
use crate::store::{DbConn, contacts, conversations, integrations};

/// Something that happened, with what a receiver needs beyond the conversation itself.
pub struct Happened {
    pub project_id: ProjectId,
    pub event: WebhookEvent,
    pub conversation: Option<ConversationId>,
    pub contact: Option<ContactId>,
    /// Event-specific fields: the message, the old and new status, the rating.
    pub data: Value,
    pub at: NaiveDateTime,
}

/// An address given by an admin (a webhook receiver, a CRM): https, or plain http only to an inside address with
/// PEREPISKA_ALLOW_PRIVATE_TARGETS (on-premise CRMs, tests).
pub fn target(
    raw: &str,
    what: &str,
    allow_private: bool,
) -> std::result::Result<reqwest::Url, String> {
    let url =
        reqwest::Url::parse(raw).map_err(|e| format!("{what} \"{raw}\" is not a URL: {e}"))?;
    let inside = crate::channels::download::points_inside(&url);
    match url.scheme() {
        "https" => {}
        "http" if allow_private && inside => {}
        "http" => {
            return Err(format!(
                "{what} must start with https:// (plain http:// only to an inside address with PEREPISKA_ALLOW_PRIVATE_TARGETS=1)"
            ));
        }
        other => return Err(format!("{what} must be https://, not {other}:")),
    }
    if inside && !allow_private {
        return Err(format!(
            "{what} {raw} points inside this network (loopback, private or link-local); set PEREPISKA_ALLOW_PRIVATE_TARGETS=1 to allow it"
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("{what} must not carry a user name or password"));
    }
    Ok(url)
}

/// The settings of an integration, checked: the one validator the settings page, the REST
/// API and channels.toml share.
#[derive(Clone, Debug, PartialEq)]
pub enum Settings {
    Webhook(webhook::Config),
    Bitrix24(bitrix24::Config),
    AmoCrm(amocrm::Config),
}

impl Settings {
    pub fn from_config(
        kind: IntegrationKind,
        v: &Value,
        allow_private: bool,
    ) -> std::result::Result<Settings, String> {
        Ok(match kind {
            IntegrationKind::Webhook => {
                Settings::Webhook(webhook::Config::from_config(v, allow_private)?)
            }
            IntegrationKind::Bitrix24 => {
                Settings::Bitrix24(bitrix24::Config::from_config(v, allow_private)?)
            }
            IntegrationKind::AmoCrm => {
                Settings::AmoCrm(amocrm::Config::from_config(v, allow_private)?)
            }
        })
    }

    /// The channel keys it applies to; empty: every channel.
    pub fn channels(&self) -> &[String] {
        match self {
            Settings::Webhook(c) => &c.channels,
            Settings::Bitrix24(c) => &c.common.channels,
            Settings::AmoCrm(c) => &c.common.channels,
        }
    }

    /// The events queued for it; empty: every event.
    pub fn events(&self) -> Vec<WebhookEvent> {
        match self {
            Settings::Webhook(c) => c.events.clone(),
            Settings::Bitrix24(_) | Settings::AmoCrm(_) => crm::CRM_EVENTS.to_vec(),
        }
    }

    /// Asks the CRM whether it takes these settings, before they are saved: who the
    /// connection acts as, or the CRM's refusal. A webhook is not called until an event.
    pub async fn check(
        &self,
        dl: &crate::channels::download::Downloader,
    ) -> std::result::Result<Option<String>, String> {
        match self {
            Settings::Webhook(_) => Ok(None),
            Settings::Bitrix24(c) => bitrix24::check(dl, c).await.map(Some),
            Settings::AmoCrm(c) => amocrm::check(dl, c).await.map(Some),
        }
    }
}

/// Every key a kind's settings take, as its validator knows them.
pub fn keys(kind: IntegrationKind) -> Vec<&'static str> {
    match kind {
        IntegrationKind::Webhook => webhook::KEYS.to_vec(),
        IntegrationKind::Bitrix24 => [bitrix24::KEYS, crm::COMMON_KEYS].concat(),
        IntegrationKind::AmoCrm => [amocrm::KEYS, crm::COMMON_KEYS].concat(),
    }
}

/// The key of a kind's settings that is a secret: kept when an edit leaves it out, never
/// shown back.
pub fn secret_field(kind: IntegrationKind) -> &'static str {
    match kind {
        IntegrationKind::Webhook => "secret",
        IntegrationKind::Bitrix24 => "webhook_url",
        IntegrationKind::AmoCrm => "token",
    }
}

/// What one delivery got: the receiver's HTTP status and the start of its answer, or why not.
pub struct Outcome {
    pub ok: bool,
    pub status: Option<i32>,
    pub response: Option<String>,
    pub error: Option<String>,
}

impl Outcome {
    pub fn failed(error: impl Into<String>) -> Outcome {
        Outcome {
            ok: false,
            status: None,
            response: None,
            error: Some(error.into()),
        }
    }

    /// Delivered without a call: the event asks nothing of the CRM (its message is already
    /// there, the conversation was not closed).
    pub fn nothing_to_do() -> Outcome {
        Outcome {
            ok: true,
            status: None,
            response: Some("nothing to do for this event".into()),
            error: None,
        }
    }
}

/// A conversation as events describe it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ConversationData {
    pub id: i64,
    pub number: i64,
    pub status: String,
    pub priority: String,
    pub subject: String,
    pub channel_id: i64,
    pub contact_id: i64,
    pub assignee_id: Option<i64>,
    pub team_id: Option<i64>,
    pub rating: Option<i32>,
    pub created_at: String,
}

/// A contact as events describe it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ContactData {
    pub id: i64,
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
}

/// The body of every webhook call.
#[derive(Serialize, utoipa::ToSchema)]
pub struct EventBody {
    /// conversation_created, conversation_status_changed, conversation_assigned,
    /// message_incoming, message_outgoing, conversation_rated or contact_updated.
    pub event: String,
    /// When it happened (UTC, RFC 3339).
    pub occurred_at: String,
    pub project_id: i64,
    pub conversation: Option<ConversationData>,
    pub contact: Option<ContactData>,
    /// What the event adds: `message` {id, text, author_id}, `from`/`to` statuses, `assignee`,
    /// `stars`/`comment`.
    #[schema(value_type = Object)]
    pub data: Value,
}

fn time(t: NaiveDateTime) -> String {
    t.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Per project: when a lookup that found no enabled integration started, and when one was
/// last added or changed here. Every message written would otherwise look the project up; an
/// empty answer is trusted for `EMPTY_FOR` unless a change came after the lookup began (so
/// an integration added here is never missed; one added on another instance is seen within
/// that second).
#[derive(Default)]
struct Seen {
    empty_since: Option<std::time::Instant>,
    changed: Option<std::time::Instant>,
}

static SEEN: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<ProjectId, Seen>>> =
    std::sync::LazyLock::new(Default::default);
const EMPTY_FOR: std::time::Duration = std::time::Duration::from_secs(1);

fn seen() -> std::sync::MutexGuard<'static, std::collections::HashMap<ProjectId, Seen>> {
    SEEN.lock().unwrap_or_else(|e| e.into_inner())
}

fn known_empty(project_id: ProjectId) -> bool {
    seen().get(&project_id).is_some_and(|s| {
        s.empty_since.is_some_and(|at| {
            at.elapsed() < EMPTY_FOR && s.changed.is_none_or(|changed| changed < at)
        })
    })
}

/// After an integration of the project was added, changed or removed here (before and after
/// its transaction commits).
pub fn forget(project_id: ProjectId) {
    seen().entry(project_id).or_default().changed = Some(std::time::Instant::now());
}

/// Queues the event for every running integration of the project that takes it. A project
/// with none costs one indexed lookup a second.
pub fn emit(conn: &mut DbConn, h: Happened) -> Result<()> {
    if known_empty(h.project_id) {
        return Ok(());
    }
    let started = std::time::Instant::now();
    let hooks = integrations::active(conn, h.project_id)?;
    if hooks.is_empty() {
        seen().entry(h.project_id).or_default().empty_since = Some(started);
        return Ok(());
    }
    let conv = match h.conversation {
        Some(id) => Some(conversations::by_id(conn, h.project_id, id)?),
        None => None,
    };
    let channel: Option<ChannelId> = conv.as_ref().map(|c| c.channel_id);
    let takers: Vec<_> = hooks
        .iter()
        .filter(|i| i.takes(h.event.as_str(), channel))
        .collect();
    if takers.is_empty() {
        return Ok(());
    }
    let contact_id = h.contact.or(conv.as_ref().map(|c| c.contact_id));
    let contact = match contact_id {
        Some(id) => Some(contacts::by_id(conn, h.project_id, id)?),
        None => None,
    };
    let body = EventBody {
        event: h.event.as_str().to_string(),
        occurred_at: time(h.at),
        project_id: h.project_id.0,
        conversation: conv.as_ref().map(|c| ConversationData {
            id: c.id.0,
            number: c.number,
            status: c.status.as_str().to_string(),
            priority: c.priority.as_str().to_string(),
            subject: c.subject.clone(),
            channel_id: c.channel_id.0,
            contact_id: c.contact_id.0,
            assignee_id: c.assignee_id,
            team_id: c.team_id,
            rating: c.rating,
            created_at: time(c.created_at),
        }),
        contact: contact.map(|c| ContactData {
            id: c.id.0,
            name: c.name,
            phone: c.phone,
            email: c.email,
        }),
        data: h.data,
    };
    let text = serde_json::to_string(&body).unwrap_or_else(|_| json!({}).to_string());
    for i in takers {
        integrations::enqueue(conn, i, h.conversation, h.event.as_str(), &text, h.at)?;
    }
    Ok(())
}

/// An integration as an admin declares it: on the settings page, through the REST API
/// (`{"kind", "config"}`) or as `[[integrations]]` in channels.toml.
#[derive(Clone, Debug)]
pub struct Declared {
    pub key: String,
    pub kind: IntegrationKind,
    pub name: String,
    pub enabled: bool,
    pub config: Value,
}

fn valid_key(key: &str) -> bool {
    (1..=64).contains(&key.len())
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// The declared settings with the stored secret where the edit left it out (a new webhook
/// gets one made up, returned once, when `make_up`).
fn kept_secret(
    key: &crate::crypto::SecretKey,
    existing: Option<&integrations::Integration>,
    d: &Declared,
    make_up: bool,
) -> Result<(Value, Option<String>)> {
    use crate::error::Error;
    let mut config = match &d.config {
        Value::Object(m) => m.clone(),
        _ => return Err(Error::invalid("config must be an object")),
    };
    config.retain(|_, v| !v.is_null() && v.as_str().is_none_or(|s| !s.trim().is_empty()));
    let secret_key = secret_field(d.kind);
    let mut generated = None;
    if !config.contains_key(secret_key) {
        let stored = match existing {
            Some(e) => {
                let plain = key.open(&e.config)?;
                serde_json::from_str::<Value>(&plain)
                    .ok()
                    .and_then(|v| v[secret_key].as_str().map(str::to_string))
            }
            None => None,
        };
        let secret = match stored {
            Some(s) => Some(s),
            None if make_up && d.kind == IntegrationKind::Webhook => {
                let s = crate::crypto::random_hex(16)?;
                generated = Some(s.clone());
                Some(s)
            }
            // The validator names what is missing.
            None => None,
        };
        if let Some(s) = secret {
            config.insert(secret_key.into(), Value::String(s));
        }
    }
    Ok((Value::Object(config), generated))
}

/// The settings an admin declared, checked as `apply` will check them (the stored secret
/// kept): what is asked of a CRM before they are saved.
pub fn settings_of(
    conn: &mut DbConn,
    key: &crate::crypto::SecretKey,
    project_id: ProjectId,
    d: &Declared,
    allow_private: bool,
) -> Result<Settings> {
    let existing = integrations::by_key(conn, project_id, &d.key)?.filter(|e| e.kind == d.kind);
    let (config, _) = kept_secret(key, existing.as_ref(), d, false)?;
    Settings::from_config(d.kind, &config, allow_private).map_err(crate::error::Error::invalid)
}

/// The one write for every face: checks the settings with the kind's validator, keeps the
/// stored secret when an edit leaves it out (a new webhook without one gets one, returned here
/// once), resolves the channels it applies to, seals the settings and stores them.
pub fn apply(
    conn: &mut DbConn,
    key: &crate::crypto::SecretKey,
    project_id: ProjectId,
    source: crate::domain::ChannelSource,
    d: &Declared,
    allow_private: bool,
    t: NaiveDateTime,
) -> Result<(integrations::Integration, Option<String>)> {
    use crate::error::Error;
    if !valid_key(&d.key) {
        return Err(Error::invalid(format!(
            "id \"{}\" must be 1-64 characters of a-z, 0-9, '-' or '_'",
            d.key
        )));
    }
    let name = d.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Error::invalid("name must be 1-100 characters"));
    }
    let existing = integrations::by_key(conn, project_id, &d.key)?;
    if let Some(e) = &existing {
        if e.source == crate::domain::ChannelSource::File
            && source != crate::domain::ChannelSource::File
        {
            return Err(Error::Conflict(format!(
                "integration \"{}\" is declared in channels.toml; change it there",
                d.key
            )));
        }
        if e.kind != d.kind {
            return Err(Error::invalid(format!(
                "integration \"{}\" is a {}; remove it to make a {}",
                d.key, e.kind, d.kind
            )));
        }
    }
    let (mut config, generated) = kept_secret(key, existing.as_ref(), d, true)?;
    let checked = Settings::from_config(d.kind, &config, allow_private).map_err(Error::invalid)?;
    // Kept as the validator reads it ("Romashka.amocrm.ru" is the account "romashka").
    if let Settings::AmoCrm(c) = &checked {
        config["subdomain"] = Value::String(c.subdomain.clone());
    }
    let mut channel_ids = Vec::new();
    for k in checked.channels() {
        match crate::store::channels::by_key(conn, k)? {
            Some(c) if c.project_id == project_id => channel_ids.push(c.id),
            _ => {
                return Err(Error::invalid(format!(
                    "channels: there is no channel \"{k}\" in this project"
                )));
            }
        }
    }
    let events: Vec<String> = checked
        .events()
        .iter()
        .map(|e| e.as_str().to_string())
        .collect();
    let sealed = key.seal(&config.to_string())?;
    forget(project_id);
    let stored = integrations::upsert(
        conn,
        &integrations::NewIntegration {
            project_id,
            key: &d.key,
            kind: d.kind,
            name,
            sealed_config: &sealed,
            source,
            enabled: d.enabled,
            events: &events,
            channels: &channel_ids,
        },
        t,
    )?;
    Ok((stored, generated))
}
