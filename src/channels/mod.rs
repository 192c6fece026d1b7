//! Channel adapters: one file per platform, one trait for all of them.
//!
//! `parse` turns a platform request into normalized `Inbound` values without I/O, so it can be
//! tested and fuzzed alone; `send` delivers one operator message and says whether a retry can help.

pub mod api;
pub mod avito;
pub mod common;
pub mod download;
pub mod fields;
pub mod max;
pub mod ok;
pub mod secret_path;
pub mod telegram;
pub mod viber;
pub mod vk;
pub mod whatsapp;
pub mod widget;
pub mod widget_look;

use std::path::PathBuf;
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde::Serialize;

use crate::store::attachments::StoredFile;
use crate::store::contacts::ContactHint;

pub use crate::domain::ChannelKind;

/// A platform request as it arrived, free of actix types.
#[derive(Clone, Debug, Default)]
pub struct RawRequest {
    pub method: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The secret path segment of /webhooks/{id}/{secret}, for platforms that sign nothing.
    pub path_secret: Option<String>,
}

impl RawRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A file still on the platform: the message is committed with it pending, and the fetcher
/// gets it with `ChannelAdapter::download` afterwards.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RemoteFile {
    pub id: String,
    pub name: String,
    pub content_type: Option<String>,
    pub size: Option<u64>,
}

/// What a customer did, normalized across platforms.
#[derive(Clone, Debug)]
pub enum InboundEvent {
    Message {
        text: String,
        files: Vec<StoredFile>,
        remote: Vec<RemoteFile>,
    },
    /// The customer blocked the bot or unsubscribed: stop delivering to them.
    Blocked,
    /// The customer pressed one of the bot's buttons (`data` as the platform returned it;
    /// `Press::parse` says what it means).
    Button { data: String },
    /// The customer shared a contact card. `own` is set when the platform proves it is the
    /// sender's own number (then the hint carries the phone too).
    Contact {
        name: String,
        phone: String,
        own: bool,
    },
    /// The platform reports what happened to one of our messages (delivered, read, failed).
    Status {
        platform_id: String,
        state: crate::domain::Delivery,
        error: Option<String>,
    },
    /// A message in a group chat that mentions the bot or is a command to it.
    Group {
        /// The group's id on the platform (where answers go).
        chat: String,
        /// The text without the mention.
        text: String,
        /// A command such as "config".
        command: Option<String>,
        /// The text of the message replied to, which becomes the request's body.
        reply_body: Option<String>,
        /// How customers find the bot for a private chat ("@support_bot").
        bot_handle: String,
    },
}

/// A contact card as a platform delivers it: (name, phone, proven to be the sender's own).
pub type Card = (String, String, bool);

impl InboundEvent {
    /// What a platform message becomes: the contact card it carried, or the message itself
    /// (a card that came with files is kept as text beside them).
    pub fn message_or_card(text: String, remote: Vec<RemoteFile>, card: Option<Card>) -> Self {
        match card {
            Some((name, phone, own)) if remote.is_empty() => {
                InboundEvent::Contact { name, phone, own }
            }
            Some((name, phone, _)) => InboundEvent::Message {
                text: crate::i18n::customer::contact_card(&name, &phone),
                files: Vec::new(),
                remote,
            },
            None => InboundEvent::Message {
                text,
                files: Vec::new(),
                remote,
            },
        }
    }
}

#[derive(Clone, Debug)]
pub struct Inbound {
    /// The customer's id on the platform (chat id, peer id, visitor hash…).
    pub external_user_id: String,
    pub contact: ContactHint,
    /// The platform's own message id; a repeat of it never creates a second message.
    pub platform_message_id: Option<String>,
    pub event: InboundEvent,
}

impl Inbound {
    /// Removes NUL characters from everything a customer or platform sent: no text column
    /// stores them on PostgreSQL, and they carry nothing a person wrote.
    pub fn without_nul(mut self) -> Self {
        fn clean(s: &mut String) {
            if s.contains('\0') {
                s.retain(|c| c != '\0');
            }
        }
        fn clean_opt(s: &mut Option<String>) {
            if let Some(v) = s {
                clean(v);
            }
        }
        clean(&mut self.external_user_id);
        clean_opt(&mut self.platform_message_id);
        let c = &mut self.contact;
        for f in [&mut c.name, &mut c.email, &mut c.phone, &mut c.language] {
            clean_opt(f);
        }
        match &mut self.event {
            InboundEvent::Message { text, remote, .. } => {
                clean(text);
                for r in remote {
                    clean(&mut r.name);
                }
            }
            InboundEvent::Button { data } => clean(data),
            InboundEvent::Contact { name, phone, .. } => {
                clean(name);
                clean(phone);
            }
            InboundEvent::Status { error, .. } => clean_opt(error),
            InboundEvent::Group {
                chat,
                text,
                command,
                reply_body,
                ..
            } => {
                clean(chat);
                clean(text);
                clean_opt(command);
                clean_opt(reply_body);
            }
            InboundEvent::Blocked => {}
        }
        self
    }
}

/// What the platform expects back once the inbound values are committed.
#[derive(Clone, Debug, PartialEq)]
pub enum WebhookReply {
    Json(serde_json::Value),
    Text(String),
}

#[derive(Clone, Debug)]
pub struct Parsed {
    pub inbound: Vec<Inbound>,
    pub reply: WebhookReply,
    /// Parts of the request we could not understand: (raw JSON, why). Kept, never retried,
    /// so one new kind of update never stalls the channel.
    pub unparsed: Vec<(String, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("{0}")]
    Unauthorized(String),
    /// A handshake with the wrong shared value (Meta documents 403 for a wrong verify token).
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    BadRequest(String),
}

#[derive(Clone, Debug)]
pub struct OutboundFile {
    pub name: String,
    pub content_type: String,
    pub size: i64,
    pub path: PathBuf,
    /// Where the platform can fetch it (`/media/…` under the public URL), for platforms that
    /// take media only by URL (Viber). None when the server has no public URL.
    pub public_url: Option<String>,
}

/// A choice offered to the customer; `data` comes back in `InboundEvent::Button`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Button {
    pub label: String,
    pub data: String,
}

/// Buttons under a message. Platforms without buttons get a numbered list instead (the bot
/// keeps the numbers' meaning in its session).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Keyboard {
    pub rows: Vec<Vec<Button>>,
    /// Label of a "share my phone number" button, where the platform has one.
    #[serde(default)]
    pub request_phone: Option<String>,
}

/// A bot message's payload as stored in its outbox row (menus and notices outside a
/// conversation's messages).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DirectPayload {
    pub text: String,
    #[serde(default)]
    pub keyboard: Option<Keyboard>,
}

/// An approved WhatsApp template: the only thing that may be sent outside the 24-hour
/// customer-service window.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Template {
    pub name: String,
    pub language: String,
    #[serde(default)]
    pub parameters: Vec<String>,
}

impl Template {
    /// Checks what Meta would refuse anyway, so the operator hears it at once.
    pub fn validate(&self) -> Result<(), String> {
        let name_ok = (1..=512).contains(&self.name.len())
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !name_ok {
            return Err("template name must be 1-512 characters of a-z, 0-9 and '_'".into());
        }
        let lang_ok = (2..=8).contains(&self.language.len())
            && self
                .language
                .chars()
                .all(|c| c.is_ascii_alphabetic() || c == '_');
        if !lang_ok {
            return Err(format!(
                "\"{}\" is not a template language code such as ru or en_US",
                self.language
            ));
        }
        if self.parameters.len() > 10
            || self
                .parameters
                .iter()
                .any(|p| p.trim().is_empty() || p.chars().count() > 1024)
        {
            return Err("up to 10 parameters, each 1-1024 characters".into());
        }
        Ok(())
    }
}

/// One message to deliver: an operator's reply, or a bot message (message_id 0).
#[derive(Clone, Debug)]
pub struct Outbound {
    /// The outbox row: the same on every retry, so platforms with an idempotency key (VK's
    /// random_id) never deliver a retried message twice.
    pub delivery_id: i64,
    pub message_id: i64,
    pub conversation_number: i64,
    /// The customer's id on the platform.
    pub recipient: String,
    pub text: String,
    pub author_name: Option<String>,
    pub files: Vec<OutboundFile>,
    pub keyboard: Option<Keyboard>,
    /// Send this template instead of the text (WhatsApp).
    pub template: Option<Template>,
}

#[derive(Clone, Debug, Default)]
pub struct Sent {
    pub platform_id: Option<String>,
}

#[derive(Clone, Debug, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    pub message: String,
    /// A later attempt may succeed (timeout, 5xx, 429).
    pub retryable: bool,
    /// The customer blocked or left: never retry, tell the operator.
    pub blocked: bool,
    /// The platform asked us to wait this long (429 retry_after).
    pub retry_after: Option<Duration>,
    /// Someone else holds what we asked for (Telegram's 409: another poller, or a webhook set).
    pub conflict: bool,
}

impl SendError {
    pub fn retry(message: impl Into<String>) -> Self {
        SendError {
            message: message.into(),
            retryable: true,
            blocked: false,
            retry_after: None,
            conflict: false,
        }
    }
    pub fn permanent(message: impl Into<String>) -> Self {
        SendError {
            message: message.into(),
            retryable: false,
            blocked: false,
            retry_after: None,
            conflict: false,
        }
    }
    pub fn blocked(message: impl Into<String>) -> Self {
        SendError {
            message: message.into(),
            retryable: false,
            blocked: true,
            retry_after: None,
            conflict: false,
        }
    }
    /// Worth trying again later, once the other holder lets go.
    pub fn conflict(message: impl Into<String>) -> Self {
        SendError {
            conflict: true,
            ..SendError::retry(message)
        }
    }

    /// Maps a transport error: timeouts and refused connections are worth retrying.
    pub fn from_reqwest(e: &reqwest::Error) -> Self {
        // without_url: some platforms put the token in the URL.
        let msg = format!("network error: {}", strip_url(e));
        SendError::retry(msg)
    }

    /// Maps an HTTP status the usual way: 429 and 5xx retry, other 4xx do not.
    pub fn from_status(status: u16, body: &str) -> Self {
        let body = crate::domain::text::truncate_chars(body.trim(), 300);
        let msg = format!("platform answered HTTP {status}: {body}");
        if status == 429 || status >= 500 || status == 408 {
            SendError::retry(msg)
        } else {
            SendError::permanent(msg)
        }
    }
}

fn strip_url(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    if let Some(url) = e.url() {
        s = s.replace(url.as_str(), "<url>");
    }
    s
}

#[derive(Clone, Debug, Serialize)]
pub struct AccountInfo {
    pub name: String,
    pub id: String,
    /// The handle customers find it by, where the platform has one (Telegram's @username).
    pub username: Option<String>,
}

#[derive(Clone, Copy, Debug, Serialize)]
pub struct Capabilities {
    pub buttons: bool,
    pub files: bool,
    pub max_text_chars: usize,
    /// The platform proves that a phone it hands over is the sender's own (Telegram checks a
    /// shared contact's user id, a WhatsApp sender is their number); registration by phone
    /// needs it, since a contact card anyone can send proves nothing.
    pub verified_phone: bool,
}

/// How a bot platform hands us updates: we ask (long polling, works without a public URL) or
/// it calls us (a webhook registered with it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Polling,
    Webhook,
}

impl Mode {
    /// The `mode` key of a bot's settings; polling when not set.
    pub fn from_config(config: &serde_json::Value) -> Result<Mode, String> {
        Ok(common::choice(
            config,
            "mode",
            &[("polling", Mode::Polling), ("webhook", Mode::Webhook)],
        )?
        .unwrap_or(Mode::Polling))
    }
}

/// One long poll's answer: the updates parsed, how many the platform gave, and the cursor
/// that confirms them once they are committed (Telegram's next offset, MAX's marker).
pub struct Polled {
    pub parsed: Parsed,
    pub count: usize,
    pub next: Option<i64>,
}

/// A platform whose updates we fetch (Telegram's getUpdates, MAX's GET /updates). The poller
/// in workers drives every such platform the same way: one instance per bot, the cursor saved
/// only after the updates are committed.
pub trait LongPoll: Send + Sync {
    /// What the platform is called in logs and lock names ("telegram", "max").
    fn platform(&self) -> &'static str;
    /// The channel-state key the cursor is kept under.
    fn cursor_key(&self) -> &'static str;
    /// Gets ready for a round: learns the bot's identity, removes a webhook that would make
    /// polling fail. Called before every round, so it must be cheap once done.
    fn prepare(&self) -> BoxFuture<'_, Result<(), SendError>>;
    /// Waits for updates after `cursor` (None: whatever the platform has not had confirmed).
    fn poll(&self, cursor: Option<i64>) -> BoxFuture<'_, Result<Polled, SendError>>;
}

pub trait ChannelAdapter: Send + Sync {
    fn kind(&self) -> ChannelKind;
    /// For platform-specific background work (Telegram's poller) on the shared instance.
    fn as_any(&self) -> &dyn std::any::Any;
    fn capabilities(&self) -> Capabilities;
    fn parse(&self, req: &RawRequest) -> Result<Parsed, WebhookError>;
    /// Set for bots that receive by long polling; the pollers then fetch their updates.
    fn long_poll(&self) -> Option<&dyn LongPoll> {
        None
    }
    /// Bots whose webhook is registered through their API each time the channel starts
    /// (`subscribe` with our address), rather than once when connected.
    fn subscribes_at_start(&self) -> bool {
        false
    }
    fn send<'a>(&'a self, out: &'a Outbound) -> BoxFuture<'a, Result<Sent, SendError>>;
    fn identity(&self) -> BoxFuture<'_, Result<AccountInfo, SendError>>;
    /// The path the platform must call; platforms that sign nothing get a secret segment.
    fn webhook_path(&self, key: &str) -> String {
        format!("/webhooks/{key}")
    }
    /// Registers `url` with the platform, for those whose webhooks are set through the API
    /// (OK, Avito); `perepiska channels subscribe ID` calls it.
    fn subscribe<'a>(&'a self, _url: &'a str) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            Err(SendError::permanent(format!(
                "{} channels are not subscribed this way",
                self.kind()
            )))
        })
    }
    /// Undoes what start-up or `subscribe` registered with the platform (a webhook), when the
    /// channel is paused or disconnected; `url` is the webhook address that was registered.
    fn unsubscribe<'a>(&'a self, _url: &'a str) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async { Ok(()) })
    }
    /// Called after an inbound event is committed, for platforms that want an answer to it
    /// (Telegram's answerCallbackQuery).
    fn acknowledge<'a>(&'a self, _inbound: &'a Inbound) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }
    /// Shows the customer that someone is typing, where the platform can (Telegram's
    /// sendChatAction, VK's setActivity); a few seconds, then it fades by itself.
    fn typing<'a>(&'a self, _recipient: &'a str) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async { Ok(()) })
    }
    /// A link that opens a chat with this bot and sends it "/start <start>" in one tap, where
    /// the platform has one (Telegram, once the bot's username is known).
    fn deep_link(&self, _start: &str) -> Option<String> {
        None
    }
    /// Adds what the platform tells only on request (Avito: the listing's title, the buyer's
    /// name). Runs before the commit; a failure leaves the inbound as parsed.
    fn enrich<'a>(&'a self, _inbound: &'a mut Inbound) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }
    /// Fetches a file the customer sent (URLs from payloads through `files`, which refuses
    /// inside addresses); platforms that deliver files inline never get here.
    fn download<'a>(
        &'a self,
        file: &'a RemoteFile,
        _files: &'a download::Downloader,
    ) -> BoxFuture<'a, Result<Vec<u8>, SendError>> {
        Box::pin(async move {
            Err(SendError::permanent(format!(
                "{} channels cannot download files ({})",
                self.kind(),
                file.name
            )))
        })
    }
}

/// Builds the adapter for a channel from its kind and JSON config (the platform's own keys;
/// the bot's and automation's keys are checked by the registry).
pub fn adapter(
    kind: ChannelKind,
    name: &str,
    config: &serde_json::Value,
    http: &reqwest::Client,
) -> Result<std::sync::Arc<dyn ChannelAdapter>, String> {
    use std::sync::Arc;
    Ok(match kind {
        ChannelKind::Widget => Arc::new(widget::Widget::from_config(name, config)?),
        ChannelKind::Api => Arc::new(api::ApiChannel::from_config(name, config, http.clone())?),
        ChannelKind::Telegram => {
            Arc::new(telegram::Telegram::from_config(name, config, http.clone())?)
        }
        ChannelKind::Vk => Arc::new(vk::Vk::from_config(config, http.clone())?),
        ChannelKind::Viber => Arc::new(viber::Viber::from_config(name, config, http.clone())?),
        ChannelKind::Whatsapp => Arc::new(whatsapp::WhatsApp::from_config(config, http.clone())?),
        ChannelKind::Ok => Arc::new(ok::Ok::from_config(config, http.clone())?),
        ChannelKind::Avito => Arc::new(avito::Avito::from_config(config, http.clone())?),
        ChannelKind::Max => Arc::new(max::Max::from_config(config, http.clone())?),
    })
}
