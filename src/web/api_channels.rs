//! REST API for a project's channels (admins and the settings role): the list with the
//! platform account each one is bound to, and a credentials check that saves nothing.

use std::time::Duration;

use actix_web::{HttpResponse, get, patch, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::State;
use super::auth::ApiUser;
use super::errors::ApiError;
use super::openapi::{self as doc, ErrorBody};
use crate::channels::{AccountInfo, ChannelAdapter};
use crate::domain::ChannelKind;
use crate::store::channels;

/// How long a platform may take to say whose credentials these are.
const IDENTITY_WAIT: Duration = Duration::from_secs(10);

#[derive(Serialize, ToSchema)]
struct Account {
    /// As the platform names it: "Поддержка (@support_bot)", a community, a phone number…
    name: String,
    /// The platform's id of the bot, community or number.
    id: String,
}

impl From<AccountInfo> for Account {
    fn from(a: AccountInfo) -> Account {
        Account {
            name: a.name,
            id: a.id,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[schema(as = ChannelInfo)]
struct ChannelItem {
    /// The channel's id (as in channels.toml; part of its webhook path).
    id: String,
    #[schema(schema_with = doc::channel_kind_schema)]
    kind: ChannelKind,
    name: String,
    /// file (channels.toml: read-only here), builtin or web.
    source: String,
    /// false while paused or when its settings no longer start.
    running: bool,
    /// The platform account its credentials belong to; null when the platform did not answer.
    account: Option<Account>,
    /// Why the account is unknown: the platform's refusal, or that the channel is not running.
    account_error: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct ChannelList {
    data: Vec<ChannelItem>,
}

async fn identity(adapter: &dyn ChannelAdapter) -> Result<AccountInfo, String> {
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
async fn refuse_inside_addresses(config: &serde_json::Value) -> Result<(), ApiError> {
    let Some(base) = config.get("api_base").and_then(|v| v.as_str()) else {
        return Ok(());
    };
    let refused = |why: String| Err(ApiError::unprocessable("invalid_config", why));
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

/// The one check before channel settings are trusted: the kind, the config's shape, no inside
/// `api_base`, the validator channels.toml goes through, then the platform's own word on whose
/// credentials these are. Nothing is stored here.
async fn checked(
    state: &State,
    kind: &str,
    name: &str,
    config: &serde_json::Value,
) -> Result<(ChannelKind, AccountInfo), ApiError> {
    let kind = ChannelKind::parse(kind)
        .map_err(|e| ApiError::unprocessable("invalid_config", e.to_string()))?;
    if !config.is_object() && !config.is_null() {
        return Err(ApiError::unprocessable(
            "invalid_config",
            "config must be an object of the kind's keys",
        ));
    }
    if !state.settings.allow_private_targets {
        refuse_inside_addresses(config).await?;
    }
    let adapter = state
        .inbox
        .registry
        .build(kind, name, config)
        .map_err(|e| ApiError::unprocessable("invalid_config", e))?;
    let account = identity(adapter.as_ref())
        .await
        .map_err(|e| ApiError::unprocessable("platform_refused", e))?;
    Ok((kind, account))
}

/// The project's channels with the account each is bound to (asked of the platforms now).
#[utoipa::path(
    security(("bearer" = [])),
    responses(
        (status = 200, description = "OK", body = ChannelList),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "Not an admin or the settings role", body = ErrorBody),
    )
)]
#[get("/channels")]
pub(super) async fn list_channels(
    state: web::Data<State>,
    who: ApiUser,
) -> Result<HttpResponse, ApiError> {
    who.require_settings()?;
    let pid = who.project_id;
    let rows = state
        .inbox
        .store
        .read(move |c| channels::of_project(c, pid))
        .await?;
    let data = futures_util::future::join_all(rows.into_iter().map(|ch| item_of(&state, ch))).await;
    Ok(HttpResponse::Ok().json(ChannelList { data }))
}

/// Credentials to check: the kind and the keys that kind takes in channels.toml.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct VerifyBody {
    #[schema(schema_with = doc::channel_kind_schema)]
    kind: String,
    /// The keys of this kind in channels.toml (token, api_base, …).
    #[serde(default)]
    #[schema(value_type = Object)]
    config: serde_json::Value,
}

#[derive(Serialize, ToSchema)]
struct Verified {
    account: Account,
}

/// Checks credentials for a kind and says whose they are; nothing is saved.
#[utoipa::path(
    request_body = VerifyBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The account the credentials belong to", body = Verified),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "Not an admin or the settings role", body = ErrorBody),
        (status = 422, description = "Refused settings (invalid_config) or credentials the platform refused (platform_refused)", body = ErrorBody),
    )
)]
#[post("/channels/verify")]
pub(super) async fn verify_channel(
    state: web::Data<State>,
    who: ApiUser,
    body: web::Json<VerifyBody>,
) -> Result<HttpResponse, ApiError> {
    who.require_settings()?;
    let body = body.into_inner();
    let (_, account) = checked(&state, &body.kind, &body.kind, &body.config).await?;
    Ok(HttpResponse::Ok().json(Verified {
        account: account.into(),
    }))
}

/// A new channel: the kind, a name, and the keys that kind takes in channels.toml.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewChannel {
    /// Part of its webhook path: 1-64 of a-z, 0-9, '-', '_'. Made up when left out.
    id: Option<String>,
    #[schema(schema_with = doc::channel_kind_schema)]
    kind: String,
    name: String,
    #[serde(default)]
    #[schema(value_type = Object)]
    config: serde_json::Value,
}

/// What may change of a channel made here (a file's channels change in the file).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ChannelChange {
    name: Option<String>,
    /// false pauses it: nothing is received or sent until it is true again; queued replies wait.
    enabled: Option<bool>,
}

fn check_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::unprocessable(
            "invalid_config",
            "name must be 1-100 characters",
        ));
    }
    Ok(name.to_string())
}

/// Builds the registry again from the database and starts what new channels need.
async fn apply(state: &State) -> Result<(), ApiError> {
    let rows = state.inbox.store.read(channels::all_enabled).await?;
    state.inbox.registry.load(rows);
    if let Err(e) = state.pollers.reconcile(&state.inbox).await {
        tracing::warn!(error = %e, "a channel's background work did not start");
    }
    Ok(())
}

async fn item_of(state: &State, ch: crate::store::channels::Channel) -> ChannelItem {
    let entry = state.inbox.registry.by_id(ch.id);
    let account = match &entry {
        Some(e) => identity(e.adapter.as_ref()).await.map(Account::from),
        None => Err("the channel is not running".to_string()),
    };
    ChannelItem {
        running: entry.is_some(),
        id: ch.key,
        kind: ch.kind,
        name: ch.name,
        source: ch.source,
        account_error: account.as_ref().err().cloned(),
        account: account.ok(),
    }
}

/// Connects a channel: its settings are checked and its credentials verified with the
/// platform first (nothing is saved otherwise); it receives at once, without a restart.
#[utoipa::path(
    request_body = NewChannel,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Connected", body = ChannelItem),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "Not an admin or the settings role", body = ErrorBody),
        (status = 409, description = "The id is taken", body = ErrorBody),
        (status = 422, description = "Refused settings (invalid_config) or credentials the platform refused (platform_refused)", body = ErrorBody),
    )
)]
#[post("/channels")]
pub(super) async fn create_channel(
    state: web::Data<State>,
    who: ApiUser,
    body: web::Json<NewChannel>,
) -> Result<HttpResponse, ApiError> {
    who.require_settings()?;
    let body = body.into_inner();
    let name = check_name(&body.name)?;
    // Cheap checks first: the platform is asked only about settings that can be stored.
    let id = match body.id {
        Some(k) if crate::config::valid_id(&k) => Some(k),
        Some(k) => {
            return Err(ApiError::unprocessable(
                "invalid_config",
                format!("id \"{k}\" must be 1-64 characters of a-z, 0-9, '-' or '_'"),
            ));
        }
        None => None,
    };
    let (kind, _) = checked(&state, &body.kind, &name, &body.config).await?;
    let key = match id {
        Some(k) => k,
        None => format!(
            "{kind}-{}",
            crate::crypto::random_hex(4).map_err(ApiError::from)?
        ),
    };
    let sealed = state
        .inbox
        .registry
        .seal(&body.config.to_string())
        .map_err(ApiError::from)?;
    let pid = who.project_id;
    let ch = state
        .inbox
        .store
        .write(move |c| {
            if channels::by_key(c, &key)?.is_some() {
                return Err(crate::error::Error::Conflict(format!(
                    "a channel with id \"{key}\" exists"
                )));
            }
            channels::upsert(c, pid, &key, kind.as_str(), &name, &sealed, "web")
        })
        .await?;
    apply(&state).await?;
    Ok(HttpResponse::Created().json(item_of(&state, ch).await))
}

/// Renames, pauses or resumes a channel made in the settings.
#[utoipa::path(
    params(("id" = String, Path, description = "the channel's id")),
    request_body = ChannelChange,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Changed", body = ChannelItem),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "Not an admin or the settings role", body = ErrorBody),
        (status = 404, description = "No such channel in this project", body = ErrorBody),
        (status = 409, description = "Declared in channels.toml: change it there", body = ErrorBody),
    )
)]
#[patch("/channels/{id}")]
pub(super) async fn change_channel(
    state: web::Data<State>,
    who: ApiUser,
    path: web::Path<String>,
    body: web::Json<ChannelChange>,
) -> Result<HttpResponse, ApiError> {
    who.require_settings()?;
    let key = path.into_inner();
    let change = body.into_inner();
    let name = change.name.as_deref().map(check_name).transpose()?;
    let pid = who.project_id;
    let ch = state
        .inbox
        .store
        .write(move |c| {
            let ch = channels::by_key(c, &key)?
                .filter(|ch| ch.project_id == pid)
                .ok_or_else(|| crate::error::Error::not_found(format!("no channel \"{key}\"")))?;
            if ch.source != "web" {
                return Err(crate::error::Error::Conflict(format!(
                    "channel \"{key}\" is declared in channels.toml ({}); change it there",
                    ch.source
                )));
            }
            if let Some(n) = &name {
                channels::rename(c, ch.id, n)?;
            }
            if let Some(on) = change.enabled {
                channels::set_enabled(c, ch.id, on)?;
                if on {
                    crate::store::outbox::wake_channel(c, ch.id)?;
                }
            }
            channels::by_id(c, ch.id)
        })
        .await?;
    apply(&state).await?;
    if ch.enabled {
        state.inbox.outbox_wake.notify_one();
    }
    Ok(HttpResponse::Ok().json(item_of(&state, ch).await))
}
