//! Handing what happens in the inbox to other systems. An event is queued, in the transaction
//! that caused it, for every integration of the project that takes it (`emit`); the webhooks
//! worker delivers it later, never the request that caused it.

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
    let hooks = integrations::active(conn, h.project_id, IntegrationKind::Webhook)?;
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
    let mut config = match &d.config {
        Value::Object(m) => m.clone(),
        _ => return Err(Error::invalid("config must be an object")),
    };
    config.retain(|_, v| !v.is_null() && v.as_str().is_none_or(|s| !s.trim().is_empty()));
    let mut generated = None;
    if !config.contains_key("secret") {
        let stored = match &existing {
            Some(e) => {
                let plain = key.open(&e.config)?;
                serde_json::from_str::<Value>(&plain)
                    .ok()
                    .and_then(|v| v["secret"].as_str().map(str::to_string))
            }
            None => None,
        };
        let secret = match stored {
            Some(s) => s,
            None => {
                let s = crate::crypto::random_hex(16)?;
                generated = Some(s.clone());
                s
            }
        };
        config.insert("secret".into(), Value::String(secret));
    }
    let config = Value::Object(config);
    let checked = match d.kind {
        IntegrationKind::Webhook => webhook::Config::from_config(&config, allow_private),
    }
    .map_err(Error::invalid)?;
    let mut channel_ids = Vec::new();
    for k in &checked.channels {
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
        .events
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
