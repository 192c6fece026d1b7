//! Integrations as the settings page and the REST API see them: declared through
//! `integrations::apply` (the one write), shown without their secret, with the delivery log,
//! "retry now", pause and resume.

use serde::Serialize;
use serde_json::Value;

use super::Inbox;
use crate::domain::{ChannelSource, IntegrationKind, ProjectId};
use crate::error::{Error, Result};
use crate::integrations::Declared;
use crate::store::integrations::{self as stored, Delivery, Integration};

/// An integration without its secret.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct View {
    pub id: String,
    pub kind: String,
    pub name: String,
    pub enabled: bool,
    /// "file" (channels.toml: changed there) or "web".
    pub source: String,
    pub url: String,
    /// The events it takes; empty: every event.
    pub events: Vec<String>,
    /// The channels it applies to (ids as in channels.toml); empty: every channel.
    pub channels: Vec<String>,
    /// Paused after a day of failed deliveries (events wait until it is resumed).
    pub paused_at: Option<String>,
    pub pause_reason: Option<String>,
    /// The settings without the secret (a Bitrix24 webhook shows only its portal).
    #[schema(value_type = Object)]
    pub config: Value,
    /// Who the CRM says the connection acts as, checked on this save.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connected_as: Option<String>,
}

impl View {
    pub fn kind_enum(&self) -> IntegrationKind {
        IntegrationKind::parse(&self.kind).unwrap_or(IntegrationKind::Webhook)
    }
}

/// One delivery of the log.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryView {
    pub id: i64,
    pub event: String,
    /// pending (waiting or being retried) or delivered.
    pub status: String,
    pub attempts: i32,
    pub created_at: String,
    /// When a waiting delivery is tried next.
    pub next_attempt_at: Option<String>,
    pub delivered_at: Option<String>,
    /// The receiver's last HTTP status and the start of its answer.
    pub last_status: Option<i32>,
    pub last_response: Option<String>,
    pub last_error: Option<String>,
    pub conversation_id: Option<i64>,
}

fn time(t: chrono::NaiveDateTime) -> String {
    t.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl DeliveryView {
    fn of(d: Delivery) -> DeliveryView {
        let pending = d.status == "pending";
        DeliveryView {
            id: d.id,
            event: d.event,
            status: d.status,
            attempts: d.attempts,
            created_at: time(d.created_at),
            // "Due at once" is stored as the epoch; shown as now-ish by the reader.
            next_attempt_at: pending
                .then_some(d.next_attempt_at)
                .filter(|t| t.and_utc().timestamp() > 0)
                .map(time),
            delivered_at: d.delivered_at.map(time),
            last_status: d.last_status,
            last_response: d.last_response,
            last_error: d.last_error,
            conversation_id: d.conversation_id.map(|c| c.0),
        }
    }
}

impl Inbox {
    fn view(&self, i: &Integration) -> View {
        let config: Value = self
            .registry
            .open_sealed(&i.config)
            .ok()
            .and_then(|p| serde_json::from_str(&p).ok())
            .unwrap_or(Value::Null);
        let list = |k: &str| -> Vec<String> {
            match &config[k] {
                Value::Array(a) => a
                    .iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect(),
                Value::String(s) => s
                    .split([',', '\n'])
                    .map(str::trim)
                    .filter(|x| !x.is_empty())
                    .map(str::to_string)
                    .collect(),
                _ => Vec::new(),
            }
        };
        let mut shown = config.clone();
        if let Some(m) = shown.as_object_mut() {
            let secret = crate::integrations::secret_field(i.kind);
            if let Some(raw) = m
                .remove(secret)
                .and_then(|v| v.as_str().map(str::to_string))
                && i.kind == IntegrationKind::Bitrix24
                && let Ok(u) = reqwest::Url::parse(&raw)
            {
                m.insert(
                    "portal".into(),
                    Value::String(u.origin().ascii_serialization()),
                );
            }
        }
        View {
            connected_as: None,
            id: i.key.clone(),
            kind: i.kind.as_str().to_string(),
            name: i.name.clone(),
            enabled: i.enabled,
            source: i.source.as_str().to_string(),
            // Where it sends: the receiver, the portal, the account.
            url: match i.kind {
                IntegrationKind::Webhook => config["url"].as_str().map(str::to_string),
                IntegrationKind::Bitrix24 => shown["portal"].as_str().map(str::to_string),
                IntegrationKind::AmoCrm => config["subdomain"]
                    .as_str()
                    .map(crate::integrations::amocrm::account_url),
            }
            .unwrap_or_default(),
            events: list("events"),
            channels: list("channels"),
            paused_at: i.paused_at.map(time),
            pause_reason: i.pause_reason.clone(),
            config: shown,
        }
    }

    /// Creates or changes an integration (the settings and the API); returns it and the
    /// secret made up for it, shown once.
    pub async fn save_integration(
        &self,
        project_id: ProjectId,
        d: Declared,
    ) -> Result<(View, Option<String>)> {
        let key = self.registry.secret_key().clone();
        let allow_private = self.downloads.allows_private();
        let t = crate::store::now();
        // A CRM is asked first: a refused token or webhook is the admin's error and saves
        // nothing.
        let mut connected = None;
        if d.kind != IntegrationKind::Webhook && d.enabled {
            let (k, d2) = (key.clone(), d.clone());
            let settings = self
                .store
                .read(move |c| {
                    crate::integrations::settings_of(c, &k, project_id, &d2, allow_private)
                })
                .await?;
            connected = settings
                .check(&self.downloads)
                .await
                .map_err(|e| Error::invalid(format!("the CRM refused the connection: {e}")))?;
        }
        let (i, secret) = self
            .store
            .write(move |c| {
                crate::integrations::apply(
                    c,
                    &key,
                    project_id,
                    ChannelSource::Web,
                    &d,
                    allow_private,
                    t,
                )
            })
            .await?;
        // A lookup that began before the commit and found nothing is not trusted.
        crate::integrations::forget(project_id);
        let mut v = self.view(&i);
        v.connected_as = connected;
        Ok((v, secret))
    }

    pub async fn integrations(&self, project_id: ProjectId) -> Result<Vec<View>> {
        let all = self
            .store
            .read(move |c| stored::of_project(c, project_id))
            .await?;
        Ok(all.iter().map(|i| self.view(i)).collect())
    }

    async fn integration_row(&self, project_id: ProjectId, key: &str) -> Result<Integration> {
        let k = key.to_string();
        self.store
            .read(move |c| stored::by_key(c, project_id, &k))
            .await?
            .ok_or_else(|| Error::NotFound(format!("no integration \"{key}\"")))
    }

    pub async fn integration(&self, project_id: ProjectId, key: &str) -> Result<View> {
        Ok(self.view(&self.integration_row(project_id, key).await?))
    }

    /// Removes an integration made in the settings or the API, with its log.
    pub async fn delete_integration(&self, project_id: ProjectId, key: &str) -> Result<()> {
        let i = self.integration_row(project_id, key).await?;
        if i.source == ChannelSource::File {
            return Err(Error::Conflict(format!(
                "integration \"{key}\" is declared in channels.toml; remove it there"
            )));
        }
        self.store.write(move |c| stored::delete(c, i.id)).await?;
        crate::integrations::forget(project_id);
        Ok(())
    }

    /// Pauses or resumes an integration; resumed, its waiting events go at once.
    pub async fn pause_integration(
        &self,
        project_id: ProjectId,
        key: &str,
        paused: bool,
    ) -> Result<View> {
        let i = self.integration_row(project_id, key).await?;
        let t = self.automation.clock.now();
        let id = i.id;
        self.store
            .write(move |c| stored::set_paused(c, id, paused.then_some((t, "paused by an admin"))))
            .await?;
        self.webhooks_wake.notify_one();
        self.integration(project_id, key).await
    }

    /// The delivery log, newest first, 50 at a time (`before`: the last id seen).
    pub async fn deliveries(
        &self,
        project_id: ProjectId,
        key: &str,
        before: Option<i64>,
    ) -> Result<Vec<DeliveryView>> {
        let i = self.integration_row(project_id, key).await?;
        let rows = self
            .store
            .read(move |c| stored::log(c, i.id, before, 50))
            .await?;
        Ok(rows.into_iter().map(DeliveryView::of).collect())
    }

    /// "Retry now": the delivery goes at the worker's next look.
    pub async fn retry_delivery(&self, project_id: ProjectId, key: &str, id: i64) -> Result<()> {
        let i = self.integration_row(project_id, key).await?;
        let found = self
            .store
            .write(move |c| {
                stored::retry_now(c, i.id, id, chrono::DateTime::UNIX_EPOCH.naive_utc())
            })
            .await?;
        if !found {
            return Err(Error::NotFound(format!("no delivery {id} of \"{key}\"")));
        }
        self.webhooks_wake.notify_one();
        Ok(())
    }
}
