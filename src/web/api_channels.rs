//! REST API for a project's channels (admins and the settings role): the list with the
//! platform account each one is bound to and how it receives, a credentials check that saves
//! nothing, and connecting, changing, pausing and disconnecting (through `channel_admin`, the
//! path the settings pages take too).

use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::State;
use super::auth::ApiUser;
use super::channel_admin::{self as admin, ChannelView, Edit, NewChannel, Receiving};
use super::errors::ApiError;
use super::openapi::{self as doc, ErrorBody};
use crate::channels::AccountInfo;
use crate::domain::{Can, ChannelKind};

#[derive(Serialize, ToSchema)]
struct Account {
    /// As the platform names it: "Поддержка (@support_bot)", a community, a phone number…
    name: String,
    /// The handle customers find it by, where the platform has one (Telegram's username).
    username: Option<String>,
    /// The platform's id of the bot, community or number.
    id: String,
}

impl From<AccountInfo> for Account {
    fn from(a: AccountInfo) -> Account {
        Account {
            name: a.name,
            username: a.username,
            id: a.id,
        }
    }
}

#[derive(Serialize, ToSchema)]
struct ReceivingInfo {
    /// polling (Telegram without a public address), webhook, widget, or stopped (paused, or
    /// settings that no longer start).
    mode: &'static str,
    /// The address the platform calls (a secret part is left out); null without
    /// PEREPISKA_PUBLIC_URL.
    webhook_url: Option<String>,
    /// Whether registering the webhook with the platform worked on this instance (null: not
    /// registered through the platform's API, or not tried yet).
    registered: Option<bool>,
    registration_error: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct DeliveryError {
    /// UTC, "YYYY-MM-DD HH:MM:SS".
    at: String,
    message: String,
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
    /// false while paused.
    enabled: bool,
    /// The team its new conversations start in.
    team_id: Option<i64>,
    /// false while paused or when its settings no longer start.
    running: bool,
    /// The platform account its credentials belong to; null when the platform did not answer.
    account: Option<Account>,
    /// Why the account is unknown: the platform's refusal, or that the channel is not running.
    account_error: Option<String>,
    receiving: ReceivingInfo,
    /// When a customer last wrote here (UTC).
    last_received_at: Option<String>,
    /// The last delivery the platform refused or that could not reach it.
    last_delivery_error: Option<DeliveryError>,
    /// Who gets its new conversations.
    distribution: DistributionBody,
}

/// Who gets a channel's new conversations, as channels.toml's keys say it (`distribution`,
/// `assign_to`, `assign_limit`, `away_after`, `offline_returns`).
#[derive(Serialize, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct DistributionBody {
    /// queue (everyone sees them unassigned; the default), round_robin or least_busy among
    /// the operators online (of the channel's team, when it has one).
    #[serde(default)]
    #[schema(example = "round_robin")]
    mode: Option<String>,
    /// A member's e-mail: every new conversation is theirs (with mode queue only).
    #[serde(default)]
    assign_to: Option<String>,
    /// Open conversations an operator may hold before distribution passes them by.
    #[serde(default)]
    assign_limit: Option<u32>,
    /// How long a closed console counts as online, e.g. "10m" (the default).
    #[serde(default)]
    away_after: Option<String>,
    /// An operator going offline gives their open conversations here back to the queue.
    #[serde(default)]
    offline_returns: bool,
}

impl DistributionBody {
    fn of(d: &crate::automation::distribution::Distribution) -> DistributionBody {
        DistributionBody {
            mode: Some(d.mode.as_str().to_string()),
            assign_to: d.assign_to.clone(),
            assign_limit: d.limit,
            away_after: Some(crate::automation::rules::format_duration(
                d.away_after().num_seconds(),
            )),
            offline_returns: d.offline_returns,
        }
    }

    /// The same keys channels.toml takes, for the one validator.
    fn keys(&self) -> serde_json::Value {
        serde_json::json!({
            "distribution": self.mode,
            "assign_to": self.assign_to,
            "assign_limit": self.assign_limit,
            "away_after": self.away_after,
            "offline_returns": self.offline_returns,
        })
    }
}

impl From<ChannelView> for ChannelItem {
    fn from(v: ChannelView) -> ChannelItem {
        let distribution = DistributionBody::of(&v.rules.distribution);
        let receiving = match v.receiving {
            Receiving::Stopped => ("stopped", None, None),
            Receiving::Polling => ("polling", None, None),
            Receiving::Widget => ("widget", None, None),
            Receiving::Webhook { url, registered } => ("webhook", url, registered),
        };
        ChannelItem {
            id: v.channel.key,
            kind: v.channel.kind,
            name: v.channel.name,
            source: v.channel.source.to_string(),
            enabled: v.channel.enabled,
            team_id: v.channel.default_team_id,
            running: v.running,
            account_error: v.account.as_ref().err().cloned(),
            account: v.account.ok().map(Account::from),
            receiving: ReceivingInfo {
                mode: receiving.0,
                webhook_url: receiving.1,
                registered: receiving.2.as_ref().map(|r| r.is_ok()),
                registration_error: receiving.2.and_then(|r| r.err()),
            },
            last_received_at: v
                .last_received
                .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string()),
            last_delivery_error: v
                .last_error
                .map(|(at, message)| DeliveryError { at, message }),
            distribution,
        }
    }
}

#[derive(Serialize, ToSchema)]
struct ChannelList {
    data: Vec<ChannelItem>,
}

fn kind_of(kind: &str) -> Result<ChannelKind, ApiError> {
    ChannelKind::parse(kind).map_err(|e| ApiError::unprocessable("invalid_config", e.to_string()))
}

/// The project's channels, with the account each is bound to (asked of the platforms now),
/// how it receives, when a customer last wrote and the last delivery error.
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
    who.require(Can::Settings)?;
    let data = admin::views(&state, who.project_id)
        .await?
        .into_iter()
        .map(ChannelItem::from)
        .collect();
    Ok(HttpResponse::Ok().json(ChannelList { data }))
}

/// One channel, as in the list.
#[utoipa::path(
    params(("id" = String, Path, description = "the channel's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "OK", body = ChannelItem),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "Not an admin or the settings role", body = ErrorBody),
        (status = 404, description = "No such channel in this project", body = ErrorBody),
    )
)]
#[get("/channels/{id}")]
pub(super) async fn get_channel(
    state: web::Data<State>,
    who: ApiUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    who.require(Can::Settings)?;
    let ch = admin::find(&state, who.project_id, &path).await?;
    let item = ChannelItem::from(admin::view(&state, ch).await?);
    Ok(HttpResponse::Ok().json(item))
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
    body: super::body::Json<VerifyBody>,
) -> Result<HttpResponse, ApiError> {
    who.require(Can::Settings)?;
    let body = body.parse()?;
    let kind = kind_of(&body.kind)?;
    let account = admin::verify(&state, kind, kind.as_str(), body.config).await?;
    Ok(HttpResponse::Ok().json(Verified {
        account: account.into(),
    }))
}

/// A new channel: the kind, a name, and the keys that kind takes in channels.toml.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewChannelBody {
    /// Part of its webhook path: 1-64 of a-z, 0-9, '-', '_'. Made up when left out.
    id: Option<String>,
    #[schema(schema_with = doc::channel_kind_schema)]
    kind: String,
    name: String,
    #[serde(default)]
    #[schema(value_type = Object)]
    config: serde_json::Value,
    /// The team its new conversations start in.
    team_id: Option<i64>,
}

#[derive(Serialize, ToSchema)]
struct ConnectedBody {
    #[serde(flatten)]
    channel: ChannelItem,
    /// Secrets the server made up because they were left out (a WhatsApp verify token, the
    /// API channel's signing secret…), to be pasted into the platform: returned this once.
    #[schema(value_type = Object)]
    generated: serde_json::Map<String, serde_json::Value>,
    /// Why the platform could not be told our address (the channel is connected; paste the
    /// address by hand).
    warning: Option<String>,
}

/// Connects a channel: its settings are checked and its credentials verified with the
/// platform first (nothing is saved otherwise); it receives at once, without a restart.
#[utoipa::path(
    request_body = NewChannelBody,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Connected", body = ConnectedBody),
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
    body: super::body::Json<NewChannelBody>,
) -> Result<HttpResponse, ApiError> {
    who.require(Can::Settings)?;
    let body = body.parse()?;
    let new = NewChannel {
        key: body.id,
        kind: kind_of(&body.kind)?,
        name: body.name,
        config: body.config,
        team: body.team_id,
    };
    let done = admin::connect(&state, &who.operator(), new).await?;
    let generated = done
        .generated
        .into_iter()
        .map(|(k, v)| (k.to_string(), serde_json::Value::String(v)))
        .collect();
    let channel = admin::view(&state, done.channel).await?.into();
    Ok(HttpResponse::Created().json(ConnectedBody {
        channel,
        generated,
        warning: done.warning,
    }))
}

/// What may change of a channel made here (a file's channels change in the file).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ChannelChange {
    name: Option<String>,
    /// false pauses it: nothing is received or sent until it is true again; queued replies wait.
    enabled: Option<bool>,
    /// Keys to change, as in channels.toml; null removes one. Credentials given here are
    /// checked with the platform first; secrets left out stay as stored.
    #[schema(value_type = Option<Object>)]
    config: Option<serde_json::Map<String, serde_json::Value>>,
    /// The team new conversations start in; null removes it.
    #[serde(default, deserialize_with = "super::api::double_option")]
    #[schema(value_type = Option<i64>)]
    team_id: Option<Option<i64>>,
}

/// Renames, pauses, resumes or changes the settings of a channel made in the settings.
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
        (status = 422, description = "Refused settings (invalid_config) or credentials the platform refused (platform_refused)", body = ErrorBody),
    )
)]
#[patch("/channels/{id}")]
pub(super) async fn change_channel(
    state: web::Data<State>,
    who: ApiUser,
    path: web::Path<String>,
    body: super::body::Json<ChannelChange>,
) -> Result<HttpResponse, ApiError> {
    who.require(Can::Settings)?;
    let change = body.parse()?;
    let edit = Edit {
        name: change.name,
        enabled: change.enabled,
        config: change.config,
        team: change.team_id,
    };
    let ch = admin::edit(&state, &who.operator(), &path, edit).await?;
    let item = ChannelItem::from(admin::view(&state, ch).await?);
    Ok(HttpResponse::Ok().json(item))
}

/// Sets who gets the channel's new conversations (any channel, a file's too: this wins over
/// the file's keys, as the settings page does).
#[utoipa::path(
    params(("id" = String, Path, description = "the channel's id")),
    request_body = DistributionBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Saved", body = DistributionBody),
        (status = 400, description = "Refused: the message says what", body = ErrorBody),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "Not an admin or the settings role", body = ErrorBody),
        (status = 404, description = "No such channel in this project", body = ErrorBody),
    )
)]
#[put("/channels/{id}/distribution")]
pub(super) async fn put_distribution(
    state: web::Data<State>,
    who: ApiUser,
    path: web::Path<String>,
    body: super::body::Json<DistributionBody>,
) -> Result<HttpResponse, ApiError> {
    who.require(Can::Settings)?;
    let ch = admin::find(&state, who.project_id, &path).await?;
    let body = body.parse()?;
    let d = crate::automation::distribution::Distribution::from_config(&body.keys())
        .map_err(crate::error::Error::invalid)?;
    if let Some(email) = &d.assign_to {
        admin::check_assignee(&state, who.project_id, email).await?;
    }
    let mut rules = admin::rules_of(&state, ch.id);
    rules.distribution = d;
    rules.validate().map_err(crate::error::Error::invalid)?;
    let out = DistributionBody::of(&rules.distribution);
    admin::save_rules(&state, &who.operator(), &ch, rules).await?;
    Ok(HttpResponse::Ok().json(out))
}

#[derive(Serialize, ToSchema)]
struct Disconnected {
    id: String,
    /// What the platform said when asked to stop calling, if it refused; the channel is
    /// disconnected either way.
    platform_error: Option<String>,
}

/// Disconnects a channel made in the settings: the platform is told to stop calling, it
/// neither receives nor sends any more and leaves the list; its conversations stay.
#[utoipa::path(
    params(("id" = String, Path, description = "the channel's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Disconnected", body = Disconnected),
        (status = 401, description = "No token, or a wrong one", body = ErrorBody),
        (status = 403, description = "Not an admin or the settings role", body = ErrorBody),
        (status = 404, description = "No such channel in this project", body = ErrorBody),
        (status = 409, description = "Declared in channels.toml: remove it there", body = ErrorBody),
    )
)]
#[delete("/channels/{id}")]
pub(super) async fn delete_channel(
    state: web::Data<State>,
    who: ApiUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    who.require(Can::Settings)?;
    let key = path.into_inner();
    let platform_error = admin::disconnect(&state, &who.operator(), &key).await?;
    Ok(HttpResponse::Ok().json(Disconnected {
        id: key,
        platform_error,
    }))
}
