//! Connecting, checking, changing, pausing and disconnecting a project's channels: the one path
//! behind the settings pages and the channels API. Settings go through the validator
//! channels.toml uses, credentials through the platform's own check, and nothing is stored
//! until both agree. Changes take effect at once here and within a reload on other instances.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;
use serde_json::{Map, Value};

use super::State;
use super::errors::ApiError;
use crate::channels::{AccountInfo, ChannelAdapter, fields};
use crate::domain::audit::Action;
use crate::domain::{ChannelKind, ChannelSource, ProjectId};
use crate::error::Error;
use crate::inbox::manage::Operator;
use crate::store::audit;
use crate::store::channels::{self, Channel};
use crate::store::teams;

/// How long a platform may take to say whose credentials these are.
const IDENTITY_WAIT: Duration = Duration::from_secs(10);

/// Why settings were refused; nothing was stored.
#[derive(Debug)]
pub enum Refusal {
    /// The settings themselves (a missing key, a bad value): the platform was not asked.
    Config(String),
    /// The platform refused the credentials, or did not answer.
    Platform(String),
    App(Error),
}

impl From<Error> for Refusal {
    fn from(e: Error) -> Self {
        Refusal::App(e)
    }
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::Config(m) => ApiError::unprocessable("invalid_config", m),
            Refusal::Platform(m) => ApiError::unprocessable("platform_refused", m),
            Refusal::App(e) => e.into(),
        }
    }
}

pub async fn identity(adapter: &dyn ChannelAdapter) -> Result<AccountInfo, String> {
    match tokio::time::timeout(IDENTITY_WAIT, adapter.identity()).await {
        Ok(Ok(a)) => Ok(a),
        Ok(Err(e)) => Err(e.message),
        Err(_) => Err(format!(
            "the platform did not answer within {} s",
            IDENTITY_WAIT.as_secs()
        )),
    }
}

/// An `api_base` typed into a form must not make the server call its own network (a local
/// Bot API server is for channels.toml, or PEREPISKA_ALLOW_PRIVATE_TARGETS).
async fn refuse_inside_addresses(config: &Value) -> Result<(), Refusal> {
    let Some(base) = config.get("api_base").and_then(|v| v.as_str()) else {
        return Ok(());
    };
    let refused = |why: String| Err(Refusal::Config(why));
    let Ok(url) = reqwest::Url::parse(base) else {
        return refused(format!("api_base \"{base}\" is not a URL"));
    };
    let host = url.host_str().unwrap_or_default().to_string();
    let port = url.port_or_known_default().unwrap_or(443);
    let addrs: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map(|a| a.collect())
        .unwrap_or_default();
    if addrs.is_empty() {
        return refused(format!("api_base: \"{host}\" does not resolve"));
    }
    if addrs
        .iter()
        .any(|a| crate::channels::download::is_private(a.ip()))
    {
        return refused(format!(
            "api_base: \"{host}\" is an address inside this network; set it in channels.toml or allow it with PEREPISKA_ALLOW_PRIVATE_TARGETS"
        ));
    }
    Ok(())
}

pub fn check_name(name: &str) -> Result<String, Refusal> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Refusal::Config("name must be 1-100 characters".into()));
    }
    Ok(name.to_string())
}

fn object(config: Value) -> Result<Map<String, Value>, Refusal> {
    match config {
        Value::Object(m) => Ok(m),
        Value::Null => Ok(Map::new()),
        _ => Err(Refusal::Config(
            "config must be an object of the kind's keys".into(),
        )),
    }
}

/// The one check before channel settings are trusted: no inside `api_base`, the validator
/// channels.toml goes through, then the platform's word on whose credentials these are.
pub async fn check(
    state: &State,
    kind: ChannelKind,
    name: &str,
    config: &Value,
) -> Result<(Arc<dyn ChannelAdapter>, AccountInfo), Refusal> {
    if !state.settings.allow_private_targets {
        refuse_inside_addresses(config).await?;
    }
    let adapter = state
        .inbox
        .registry
        .build(kind, name, config)
        .map_err(Refusal::Config)?;
    let account = identity(adapter.as_ref())
        .await
        .map_err(Refusal::Platform)?;
    Ok((adapter, account))
}

/// What a new channel's form or API body says.
pub struct NewChannel {
    /// Part of its webhook path; made up when None.
    pub key: Option<String>,
    pub kind: ChannelKind,
    pub name: String,
    pub config: Value,
    /// The team its new conversations start in.
    pub team: Option<i64>,
}

/// Keys the server fills in on connect: unguessable secrets the admin left empty, and a
/// webhook instead of polling when the bot platform (Telegram, MAX) can reach us.
fn complete(
    state: &State,
    kind: ChannelKind,
    config: &mut Map<String, Value>,
) -> Result<Vec<(&'static str, String)>, Refusal> {
    drop_empty(config);
    let mut made = Vec::new();
    for f in fields::of(kind).iter().filter(|f| f.generated) {
        if !config.contains_key(f.key) {
            let v = crate::crypto::random_hex(16)?;
            config.insert(f.key.into(), Value::String(v.clone()));
            made.push((f.key, v));
        }
    }
    if matches!(kind, ChannelKind::Telegram | ChannelKind::Max)
        && state.settings.public_url.is_some()
        && !config.contains_key("mode")
    {
        config.insert("mode".into(), Value::String("webhook".into()));
    }
    Ok(made)
}

/// The settings as they will be stored: empty fields dropped, what the server makes up filled
/// in (secrets, Telegram's webhook mode), and VK's confirmation code asked of VK when left out
/// and VK can reach us. A check before connecting sees exactly what connecting would store.
async fn prepared(
    state: &State,
    kind: ChannelKind,
    config: Value,
) -> Result<(Value, Vec<(&'static str, String)>), Refusal> {
    let mut config = object(config)?;
    let generated = complete(state, kind, &mut config)?;
    if kind == ChannelKind::Vk
        && state.settings.public_url.is_some()
        && !config.contains_key("confirmation")
    {
        let code = crate::channels::vk::confirmation_code(
            &Value::Object(config.clone()),
            state.inbox.registry.http(),
        )
        .await
        .map_err(|e| Refusal::Platform(format!("groups.getCallbackConfirmationCode: {e}")))?;
        config.insert("confirmation".into(), Value::String(code));
    }
    Ok((Value::Object(config), generated))
}

/// Says whose credentials these are, with the settings as connecting would complete them;
/// nothing is stored.
pub async fn verify(
    state: &State,
    kind: ChannelKind,
    name: &str,
    config: Value,
) -> Result<AccountInfo, Refusal> {
    let (config, _) = prepared(state, kind, config).await?;
    Ok(check(state, kind, name, &config).await?.1)
}

/// A form's empty field means "not set".
fn drop_empty(config: &mut Map<String, Value>) {
    config.retain(|_, v| {
        !matches!(v, Value::Null) && v.as_str().is_none_or(|s| !s.trim().is_empty())
    });
}

/// Connects a channel: checked, verified with the platform, subscribed where the platform
/// wants it (OK, Avito), then stored sealed; it receives at once.
pub async fn connect(state: &State, by: &Operator, new: NewChannel) -> Result<Connected, Refusal> {
    let (project_id, user) = (by.project_id, by.user_id);
    let name = check_name(&new.name)?;
    // Cheap checks first: the platform is asked only about settings that can be stored.
    if let Some(k) = &new.key
        && !crate::config::valid_id(k)
    {
        return Err(Refusal::Config(format!(
            "id \"{k}\" must be 1-64 characters of a-z, 0-9, '-' or '_'"
        )));
    }
    let key = match new.key {
        Some(k) => k,
        None => format!("{}-{}", new.kind, crate::crypto::random_hex(4)?),
    };
    let k2 = key.clone();
    if state
        .inbox
        .store
        .read(move |c| channels::by_key(c, &k2))
        .await?
        .is_some()
    {
        return Err(Error::Conflict(format!("a channel with id \"{key}\" exists")).into());
    }
    let (config, generated) = prepared(state, new.kind, new.config).await?;
    let (adapter, account) = check(state, new.kind, &name, &config).await?;
    let sealed = state.inbox.registry.seal(&config.to_string())?;
    let (kind, team) = (new.kind, new.team);
    let ch = state
        .inbox
        .store
        .write(move |c| {
            if channels::by_key(c, &key)?.is_some() {
                return Err(Error::Conflict(format!(
                    "a channel with id \"{key}\" exists"
                )));
            }
            if let Some(t) = team {
                teams::by_id(c, project_id, t)?;
            }
            let ch = channels::upsert(
                c,
                project_id,
                &key,
                kind,
                &name,
                &sealed,
                ChannelSource::Web,
            )?;
            channels::set_default_team(c, ch.id, team)?;
            audit::record(
                c,
                project_id,
                Some(user),
                Action::ChannelConnected,
                &format!("{} ({key})", ch.name),
                kind.as_str(),
            )?;
            channels::by_id(c, ch.id)
        })
        .await?;
    apply(state).await?;
    // Registered once running, since some platforms (VK) call the address to confirm it; a
    // refusal leaves the channel connected and says what to paste by hand.
    let warning = match state
        .pollers
        .subscribe(adapter.as_ref(), &ch.key, Some(ch.id))
        .await
    {
        Ok(_) => None,
        Err(e) => {
            tracing::warn!(channel = %ch.key, error = %e, "webhook not registered with the platform");
            Some(e.message)
        }
    };
    Ok(Connected {
        channel: ch,
        account,
        generated,
        warning,
    })
}

pub struct Connected {
    pub channel: Channel,
    pub account: AccountInfo,
    /// Secrets the server made up, to be pasted into the platform: shown this once.
    pub generated: Vec<(&'static str, String)>,
    /// Why the platform was not told our address (the channel is connected all the same).
    pub warning: Option<String>,
}

/// A change to a channel; what is None stays.
#[derive(Default)]
pub struct Edit {
    pub name: Option<String>,
    /// false pauses: nothing is received or sent until true again; queued replies wait.
    pub enabled: Option<bool>,
    /// Keys to set; a null or empty value removes a key, except that an empty secret keeps
    /// the stored one (secrets are never shown, so a form cannot send them back).
    pub config: Option<Map<String, Value>>,
    /// Some(None) removes the default team.
    pub team: Option<Option<i64>>,
}

/// The stored keys with `patch` applied (see [`Edit::config`]).
pub fn merge(
    kind: ChannelKind,
    mut current: Map<String, Value>,
    patch: Map<String, Value>,
) -> Map<String, Value> {
    for (k, v) in patch {
        let empty = v.is_null() || v.as_str().is_some_and(|s| s.trim().is_empty());
        match (empty, fields::is_secret(kind, &k)) {
            (true, true) => {}
            (true, false) => {
                current.remove(&k);
            }
            (false, _) => {
                current.insert(k, v);
            }
        }
    }
    current
}

/// The project's channel with this key, if the settings may change it.
async fn editable(state: &State, project_id: ProjectId, key: &str) -> Result<Channel, Refusal> {
    let ch = find(state, project_id, key).await?;
    if !ch.source.editable() {
        return Err(Error::Conflict(format!(
            "channel \"{key}\" is declared in channels.toml; change it there"
        ))
        .into());
    }
    Ok(ch)
}

/// The project's channel with this key, whatever its source.
pub async fn find(state: &State, project_id: ProjectId, key: &str) -> Result<Channel, Refusal> {
    let k = key.to_string();
    Ok(state
        .inbox
        .store
        .read(move |c| channels::by_key(c, &k))
        .await?
        .filter(|ch| ch.project_id == project_id && ch.disconnected_at.is_none())
        .ok_or_else(|| Error::not_found(format!("no channel \"{key}\"")))?)
}

/// Renames, pauses, resumes or re-keys a channel made here. New credentials are checked with
/// the platform the same way as on connect before anything is stored.
pub async fn edit(state: &State, by: &Operator, key: &str, edit: Edit) -> Result<Channel, Refusal> {
    let (project_id, user) = (by.project_id, by.user_id);
    let ch = editable(state, project_id, key).await?;
    let name = edit.name.as_deref().map(check_name).transpose()?;
    // What the log says changed: names of settings, never their values (secrets).
    let mut changed: Vec<String> = Vec::new();
    let sealed = match edit.config {
        Some(patch) => {
            let current = object(state.inbox.registry.open(&ch)?)?;
            let merged = Value::Object(merge(ch.kind, current.clone(), patch));
            if let Value::Object(m) = &merged {
                changed = m
                    .iter()
                    .filter(|(k, v)| current.get(*k) != Some(v))
                    .map(|(k, _)| k.clone())
                    .chain(current.keys().filter(|k| !m.contains_key(*k)).cloned())
                    .collect();
            }
            if merged == Value::Object(current) {
                // A form saved as it was: nothing to check, nothing re-registered.
                None
            } else {
                let shown = name.clone().unwrap_or_else(|| ch.name.clone());
                check(state, ch.kind, &shown, &merged).await?;
                Some(state.inbox.registry.seal(&merged.to_string())?)
            }
        }
        None => None,
    };
    let rekeyed = sealed.is_some();
    // Paused or re-keyed: the platform stops calling the old registration first.
    let before = state.inbox.registry.by_id(ch.id);
    if let Some(entry) = &before
        && (edit.enabled == Some(false) || sealed.is_some())
        && let Err(e) = state.pollers.release(entry).await
    {
        tracing::warn!(channel = %ch.key, error = %e, "the platform's webhook was not removed");
    }
    let id = ch.id;
    if name.as_ref().is_some_and(|n| *n != ch.name) {
        changed.push("name".into());
    }
    if let Some(on) = edit.enabled
        && on != ch.enabled
    {
        changed.push(if on { "resumed" } else { "paused" }.into());
    }
    if edit.team.is_some_and(|t| t != ch.default_team_id) {
        changed.push("team".into());
    }
    let subject = format!("{} ({})", ch.name, ch.key);
    let ch = state
        .inbox
        .store
        .write(move |c| {
            if !changed.is_empty() {
                audit::record(
                    c,
                    project_id,
                    Some(user),
                    Action::ChannelChanged,
                    &subject,
                    &changed.join(", "),
                )?;
            }
            if let Some(n) = &name {
                channels::rename(c, id, n)?;
            }
            if let Some(s) = &sealed {
                channels::set_config(c, id, s)?;
            }
            if let Some(t) = edit.team {
                if let Some(t) = t {
                    teams::by_id(c, project_id, t)?;
                }
                channels::set_default_team(c, id, t)?;
            }
            if let Some(on) = edit.enabled {
                channels::set_enabled(c, id, on)?;
                if on {
                    crate::store::outbox::wake_channel(c, id)?;
                }
            }
            channels::by_id(c, id)
        })
        .await?;
    apply(state).await?;
    if ch.enabled {
        state.inbox.outbox_wake.notify_one();
    }
    // Resumed or re-keyed: platforms subscribed through their API (OK, Avito, VK) are told
    // our address again, since pausing or the old credentials' release took it away.
    if ch.enabled
        && (edit.enabled == Some(true) || rekeyed)
        && let Some(entry) = state.inbox.registry.by_id(ch.id)
        && let Err(e) = state
            .pollers
            .subscribe(entry.adapter.as_ref(), &ch.key, Some(ch.id))
            .await
    {
        tracing::warn!(channel = %ch.key, error = %e, "webhook not registered with the platform");
    }
    Ok(ch)
}

/// Disconnects a channel made here: the platform is told to stop calling, the channel leaves
/// the list and stops for good, its conversations stay. A platform that cannot be reached does
/// not stop it; what it said is returned to be shown.
pub async fn disconnect(
    state: &State,
    by: &Operator,
    key: &str,
) -> Result<Option<String>, Refusal> {
    let (project_id, user) = (by.project_id, by.user_id);
    let ch = editable(state, project_id, key).await?;
    if ch.source == ChannelSource::Builtin {
        // Every project has its site widget (start-up brings it back): it pauses instead.
        return Err(Error::Conflict(format!(
            "channel \"{key}\" is the project's site widget: pause it instead"
        ))
        .into());
    }
    let entry = state.inbox.registry.by_id(ch.id);
    let id = ch.id;
    let subject = format!("{} ({})", ch.name, ch.key);
    state
        .inbox
        .store
        .write(move |c| {
            channels::disconnect(c, id)?;
            audit::record(
                c,
                project_id,
                Some(user),
                Action::ChannelDisconnected,
                &subject,
                "",
            )
        })
        .await?;
    apply(state).await?;
    let complaint = match entry {
        Some(e) => state.pollers.release(&e).await.err().map(|e| e.message),
        None => None,
    };
    if let Some(c) = &complaint {
        tracing::warn!(channel = %ch.key, error = %c, "disconnected, but the platform's webhook was not removed");
    }
    Ok(complaint)
}

/// Builds the registry again from the database and starts what new channels need.
pub(super) async fn apply(state: &State) -> Result<(), Error> {
    let rows = state.inbox.store.read(channels::all_enabled).await?;
    state.inbox.registry.load(rows);
    if let Err(e) = state.pollers.reconcile(&state.inbox).await {
        tracing::warn!(error = %e, "a channel's background work did not start");
    }
    Ok(())
}

/// How a channel gets its messages.
#[derive(Clone, Debug)]
pub enum Receiving {
    /// Paused, or its settings no longer start.
    Stopped,
    /// Telegram long polling: no public address needed.
    Polling,
    /// The platform calls `url` (None: PEREPISKA_PUBLIC_URL is not set, so the address to give
    /// the platform is unknown); `registered` is how registering it went on this instance.
    Webhook {
        url: Option<String>,
        registered: Option<Result<String, String>>,
    },
    /// The widget on the business's site.
    Widget,
}

/// Saves a channel's automation rules (from the settings page or the API; `rules` already
/// judged by `ChannelRules::from_config`): from now on they win over the file's keys.
pub async fn save_rules(
    state: &State,
    by: &Operator,
    ch: &Channel,
    rules: crate::automation::ChannelRules,
) -> Result<(), Error> {
    let json = serde_json::to_string(&rules).map_err(|e| Error::internal(e.to_string()))?;
    let saved = json.clone();
    let (id, pid, user) = (ch.id, by.project_id, by.user_id);
    let subject = format!("automation: {}", ch.name);
    state
        .inbox
        .store
        .write(move |c| {
            channels::set_automation(c, id, Some(&saved))?;
            audit::record(c, pid, Some(user), Action::SettingsChanged, &subject, "")
        })
        .await?;
    state.inbox.registry.update_rules(id, Some(json), rules);
    Ok(())
}

/// Refuses an "assign to" that is not a member who answers in the project.
pub async fn check_assignee(
    state: &State,
    project_id: ProjectId,
    email: &str,
) -> Result<(), Error> {
    let e = email.to_string();
    let ok = state
        .inbox
        .store
        .read(move |c| {
            Ok(match crate::store::users::by_email(c, &e)? {
                Some(u) => crate::store::members::access_in(c, project_id, u.id)?
                    .is_some_and(|a| a.can(crate::domain::Can::Answer)),
                None => false,
            })
        })
        .await?;
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "assign_to: {email} is not a member of this project who answers customers"
        )))
    }
}

/// The rules a channel works by now (none while it does not run).
pub fn rules_of(state: &State, id: crate::domain::ChannelId) -> crate::automation::ChannelRules {
    state
        .inbox
        .registry
        .by_id(id)
        .map(|e| (*e.rules).clone())
        .unwrap_or_default()
}

/// A channel as its settings page and the API show it.
pub struct ChannelView {
    pub channel: Channel,
    /// The rules it works by now.
    pub rules: crate::automation::ChannelRules,
    pub running: bool,
    /// The platform account its credentials belong to, or why that is unknown.
    pub account: Result<AccountInfo, String>,
    pub receiving: Receiving,
    pub last_received: Option<NaiveDateTime>,
    /// When and what, for the last delivery that failed on the platform's side.
    pub last_error: Option<(String, String)>,
}

pub async fn view(state: &State, ch: Channel) -> Result<ChannelView, Error> {
    let entry = state.inbox.registry.by_id(ch.id);
    let account = match &entry {
        Some(e) => identity(e.adapter.as_ref()).await,
        None => Err(if ch.enabled {
            "its settings do not start; see the server log".to_string()
        } else {
            "paused".to_string()
        }),
    };
    let receiving = match &entry {
        None => Receiving::Stopped,
        Some(_) if ch.kind == ChannelKind::Widget => Receiving::Widget,
        Some(e) => {
            if e.adapter.long_poll().is_some() {
                Receiving::Polling
            } else {
                // A path with a secret in it (OK, Avito) is shown without the secret.
                let plain = e.adapter.webhook_path(&ch.key) == format!("/webhooks/{}", ch.key);
                Receiving::Webhook {
                    url: state
                        .pollers
                        .webhook_url(e.adapter.as_ref(), &ch.key)
                        .map(|u| {
                            if plain {
                                u
                            } else {
                                format!("{}/…", u.rsplit_once('/').map(|(a, _)| a).unwrap_or(&u))
                            }
                        }),
                    registered: state.pollers.registration(ch.id),
                }
            }
        }
    };
    let id = ch.id;
    let (last_received, last_error) = state
        .inbox
        .store
        .read(move |c| {
            Ok((
                channels::last_received(c, id)?,
                channels::state(c, id, crate::workers::outbox::LAST_ERROR_KEY)?,
            ))
        })
        .await?;
    let last_error = last_error
        .and_then(|s| serde_json::from_str::<Value>(&s).ok())
        .map(|v| {
            (
                v["at"].as_str().unwrap_or_default().replace('T', " "),
                v["error"].as_str().unwrap_or_default().to_string(),
            )
        });
    Ok(ChannelView {
        rules: rules_of(state, ch.id),
        running: entry.is_some(),
        channel: ch,
        account,
        receiving,
        last_received,
        last_error,
    })
}

/// The project's channels, each with what the platforms say now (asked in parallel).
pub async fn views(state: &State, project_id: ProjectId) -> Result<Vec<ChannelView>, Error> {
    let rows = state
        .inbox
        .store
        .read(move |c| channels::of_project(c, project_id))
        .await?;
    futures_util::future::join_all(rows.into_iter().map(|ch| view(state, ch)))
        .await
        .into_iter()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_empty_secret_keeps_the_stored_one_and_an_empty_field_clears() {
        let obj = |v: Value| v.as_object().cloned().unwrap_or_default();
        let current = obj(json!({"token": "1:SECRET", "api_base": "https://x", "mode": "polling"}));
        let patch = obj(json!({"token": "", "api_base": "", "mode": "webhook"}));
        let merged = merge(ChannelKind::Telegram, current, patch);
        assert_eq!(
            Value::Object(merged),
            json!({"token": "1:SECRET", "mode": "webhook"})
        );
    }
}
