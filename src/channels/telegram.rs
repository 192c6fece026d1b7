//! Telegram: a business's own bot (token from @BotFather), by long polling (works without a
//! public URL) or by webhook. Updates are decoded one by one with frankenstein's types, so a
//! kind of update the crate does not know yet is kept raw and skipped instead of stalling.

use std::time::Duration;

use frankenstein::AsyncTelegramApi;

use super::common;
use frankenstein::client_reqwest::Bot;
use frankenstein::methods::AnswerCallbackQueryParams;
use frankenstein::methods::{
    DeleteWebhookParams, GetFileParams, SendChatActionParams, SendMessageParams, SetWebhookParams,
};
use frankenstein::types::{
    AllowedUpdate, ChatAction, ChatMember, ChatType, InlineKeyboardButton, InlineKeyboardMarkup,
    KeyboardButton, Message, MessageEntityType, ReplyKeyboardMarkup, ReplyMarkup,
};
use frankenstein::updates::{Update, UpdateContent};
use futures_util::future::BoxFuture;
use serde_json::{Value, json};

use super::{
    AccountInfo, Capabilities, ChannelAdapter, Inbound, InboundEvent, Outbound, Parsed, RawRequest,
    RemoteFile, SendError, Sent, WebhookError, WebhookReply,
};
use crate::store::contacts::ContactHint;

pub const MAX_TEXT_CHARS: usize = 4096;
pub const SECRET_HEADER: &str = "X-Telegram-Bot-Api-Secret-Token";
/// Bot API limit for files a bot may download.
const MAX_DOWNLOAD_BYTES: u64 = 20 * 1024 * 1024;

pub use super::Mode;

pub struct Telegram {
    token: String,
    api_base: String,
    pub mode: Mode,
    /// Seconds getUpdates waits for news (tests use 1).
    pub poll_timeout: u32,
    secret: String,
    show_operator_name: bool,
    http: reqwest::Client,
    bot: Bot,
    /// The bot's own id and username, learned from getMe: needed to see mentions in groups.
    me: std::sync::OnceLock<(u64, String)>,
    /// deleteWebhook has been done since this poller started (getUpdates fails while one is set).
    webhook_removed: std::sync::atomic::AtomicBool,
}

impl Telegram {
    pub fn from_config(_name: &str, config: &Value, http: reqwest::Client) -> Result<Self, String> {
        let token = common::required(config, "token", "telegram")?;
        let token_ok = token.split_once(':').is_some_and(|(id, secret)| {
            !id.is_empty()
                && id.chars().all(|c| c.is_ascii_digit())
                && !secret.is_empty()
                && secret
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        });
        if !token_ok {
            return Err("token must look like 123456789:AAE… (the token @BotFather gave)".into());
        }
        let mode = Mode::from_config(config)?;
        let api_base = common::api_base(config, "https://api.telegram.org")?;
        let show_operator_name = common::flag(config, "show_operator_name", true)?;
        let poll_timeout = match config.get("poll_timeout") {
            None => 25,
            Some(v) => v
                .as_u64()
                .filter(|t| *t <= 50)
                .ok_or("poll_timeout must be a whole number of seconds from 0 to 50")?
                as u32,
        };
        // Derived from the token: stable across restarts and instances, unguessable without it.
        let secret = crate::crypto::sha256_hex(format!("perepiska-webhook:{token}").as_bytes())
            [..48]
            .to_string();
        let bot = Bot::builder()
            .api_url(format!("{api_base}/bot{token}"))
            .client(http.clone())
            .build();
        Ok(Telegram {
            token,
            api_base,
            mode,
            poll_timeout,
            secret,
            show_operator_name,
            http,
            bot,
            me: std::sync::OnceLock::new(),
            webhook_removed: Default::default(),
        })
    }

    fn url(&self, method: &str) -> String {
        format!("{}/bot{}/{method}", self.api_base, self.token)
    }

    pub fn webhook_secret(&self) -> &str {
        &self.secret
    }

    /// The updates after `offset`, each still raw JSON. Waits up to `poll_timeout` seconds.
    pub async fn get_updates(&self, offset: i64) -> Result<Vec<Value>, SendError> {
        let body = json!({
            "offset": offset,
            "timeout": self.poll_timeout,
            "allowed_updates": ["message", "edited_message", "callback_query", "my_chat_member"],
        });
        let resp = self
            .http
            .post(self.url("getUpdates"))
            .timeout(Duration::from_secs(u64::from(self.poll_timeout) + 15))
            .json(&body)
            .send()
            .await
            .map_err(|e| SendError::from_reqwest(&e))?;
        let status = resp.status().as_u16();
        let v: Value = resp
            .json()
            .await
            .map_err(|e| SendError::retry(format!("bad getUpdates answer: {e}")))?;
        if !(200..300).contains(&status) || v["ok"] != json!(true) {
            return Err(api_error(status, &v));
        }
        Ok(v["result"].as_array().cloned().unwrap_or_default())
    }

    pub async fn delete_webhook(&self) -> Result<(), SendError> {
        self.bot
            .delete_webhook(
                &DeleteWebhookParams::builder()
                    .drop_pending_updates(false)
                    .build(),
            )
            .await
            .map_err(map_error)?;
        Ok(())
    }

    pub async fn set_webhook(&self, url: &str) -> Result<(), SendError> {
        let params = SetWebhookParams::builder()
            .url(url)
            .secret_token(self.secret.clone())
            .allowed_updates(vec![
                AllowedUpdate::Message,
                AllowedUpdate::EditedMessage,
                AllowedUpdate::CallbackQuery,
                AllowedUpdate::MyChatMember,
            ])
            .build();
        self.bot.set_webhook(&params).await.map_err(map_error)?;
        Ok(())
    }

    /// Whether group messages can be understood yet (the bot's username is known).
    pub fn knows_itself(&self) -> bool {
        self.me.get().is_some()
    }

    /// Turns raw updates into inbound values; what does not decode is returned as unparsed.
    pub fn parse_updates(&self, updates: &[Value]) -> Parsed {
        let mut inbound = Vec::new();
        let mut unparsed = Vec::new();
        for raw in updates {
            match serde_json::from_value::<Update>(raw.clone()) {
                Ok(u) => inbound.extend(update_to_inbound(u, self.me.get())),
                Err(e) => unparsed.push((raw.to_string(), format!("cannot decode update: {e}"))),
            }
        }
        Parsed {
            inbound,
            reply: WebhookReply::Json(json!({})),
            unparsed,
        }
    }

    async fn send_text(
        &self,
        chat_id: i64,
        text: &str,
        keyboard: Option<&super::Keyboard>,
    ) -> Result<i32, SendError> {
        let params = SendMessageParams::builder()
            .chat_id(chat_id)
            .text(text)
            .maybe_reply_markup(keyboard.map(reply_markup))
            .build();
        let m = self.bot.send_message(&params).await.map_err(map_error)?;
        Ok(m.result.message_id)
    }

    /// Uploads a stored file under its real name (frankenstein would use the storage key).
    async fn send_file(
        &self,
        chat_id: i64,
        f: &super::OutboundFile,
        caption: Option<&str>,
    ) -> Result<i64, SendError> {
        let (part, len) = super::common::file_part(f).await?;
        let is_photo = matches!(
            f.content_type.as_str(),
            "image/jpeg" | "image/png" | "image/webp"
        ) && len <= 10 * 1024 * 1024;
        let (method, field) = if is_photo {
            ("sendPhoto", "photo")
        } else {
            ("sendDocument", "document")
        };
        let mut form = reqwest::multipart::Form::new()
            .text("chat_id", chat_id.to_string())
            .part(field, part);
        if let Some(c) = caption {
            form = form.text(
                "caption",
                crate::domain::text::truncate_chars(c, 1024).to_string(),
            );
        }
        let resp = self
            .http
            .post(self.url(method))
            .multipart(form)
            .send()
            .await
            .map_err(|e| SendError::from_reqwest(&e))?;
        let status = resp.status().as_u16();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        if !(200..300).contains(&status) || v["ok"] != json!(true) {
            return Err(api_error(status, &v));
        }
        Ok(v["result"]["message_id"].as_i64().unwrap_or_default())
    }
}

fn reply_markup(k: &super::Keyboard) -> ReplyMarkup {
    match &k.request_phone {
        // Telegram shares a phone only through a reply-keyboard button.
        Some(label) => ReplyMarkup::ReplyKeyboardMarkup(
            ReplyKeyboardMarkup::builder()
                .keyboard(vec![vec![
                    KeyboardButton::builder()
                        .text(label.clone())
                        .request_contact(true)
                        .build(),
                ]])
                .resize_keyboard(true)
                .one_time_keyboard(true)
                .build(),
        ),
        None => ReplyMarkup::InlineKeyboardMarkup(
            InlineKeyboardMarkup::builder()
                .inline_keyboard(
                    k.rows
                        .iter()
                        .map(|row| {
                            row.iter()
                                .map(|b| {
                                    InlineKeyboardButton::builder()
                                        .text(b.label.clone())
                                        .callback_data(b.data.clone())
                                        .build()
                                })
                                .collect()
                        })
                        .collect(),
                )
                .build(),
        ),
    }
}

fn api_error(status: u16, v: &Value) -> SendError {
    let code = v["error_code"].as_u64().map(|c| c as u16).unwrap_or(status);
    let description = v["description"]
        .as_str()
        .unwrap_or("no description")
        .to_string();
    classify(code, &description, v["parameters"]["retry_after"].as_u64())
}

fn classify(code: u16, description: &str, retry_after: Option<u64>) -> SendError {
    let msg = format!("Telegram answered {code}: {description}");
    match code {
        403 => SendError::blocked(msg),
        409 => SendError::conflict(msg),
        429 => SendError {
            retry_after: Some(Duration::from_secs(retry_after.unwrap_or(5))),
            ..SendError::retry(msg)
        },
        c if c >= 500 => SendError::retry(msg),
        // 401: the token was revoked; 400: chat not found, message too long…
        _ => SendError::permanent(msg),
    }
}

fn map_error(e: frankenstein::Error) -> SendError {
    match e {
        frankenstein::Error::Api(r) => classify(
            r.error_code as u16,
            &r.description,
            r.parameters.and_then(|p| p.retry_after).map(u64::from),
        ),
        other => SendError::retry(format!("Telegram unreachable: {other}")),
    }
}

fn full_name(first: &str, last: Option<&str>) -> String {
    match last {
        Some(l) if !l.is_empty() => format!("{first} {l}"),
        _ => first.to_string(),
    }
}

/// The text an entity covers; Telegram counts offsets in UTF-16 code units.
fn entity_text(text: &str, offset: u16, length: u16) -> String {
    let units: Vec<u16> = text.encode_utf16().collect();
    let (start, end) = (
        usize::from(offset),
        usize::from(offset) + usize::from(length),
    );
    units
        .get(start..end)
        .map(String::from_utf16_lossy)
        .unwrap_or_default()
}

/// A group message addressed to the bot: a mention, a reply to it, or a command to it.
fn group_to_inbound(m: &Message, me: &(u64, String)) -> Option<Inbound> {
    let from = m.from.as_deref()?;
    let text = m
        .text
        .clone()
        .or_else(|| m.caption.clone())
        .unwrap_or_default();
    let handle = format!("@{}", me.1);
    let entities = m
        .entities
        .clone()
        .or_else(|| m.caption_entities.clone())
        .unwrap_or_default();
    let mut mentioned = false;
    let mut command = None;
    for e in &entities {
        let covered = entity_text(&text, e.offset, e.length);
        match e.type_field {
            MessageEntityType::Mention if covered.eq_ignore_ascii_case(&handle) => mentioned = true,
            MessageEntityType::TextMention if e.user.as_ref().is_some_and(|u| u.id == me.0) => {
                mentioned = true
            }
            MessageEntityType::BotCommand => {
                let (cmd, target) = covered.split_once('@').unwrap_or((covered.as_str(), ""));
                if target.is_empty() || target.eq_ignore_ascii_case(&me.1) {
                    command = Some(cmd.trim_start_matches('/').to_string());
                }
            }
            _ => {}
        }
    }
    let replied = m.reply_to_message.as_deref();
    if replied
        .and_then(|r| r.from.as_deref())
        .is_some_and(|u| u.id == me.0)
    {
        mentioned = true;
    }
    if !mentioned && command.is_none() {
        return None;
    }
    // The replied-to text is the body when someone asks the bot about another message.
    let reply_body = replied
        .filter(|r| r.from.as_deref().is_none_or(|u| u.id != me.0))
        .and_then(|r| r.text.clone().or_else(|| r.caption.clone()));
    let cleaned = text.replace(&handle, "").trim().to_string();
    Some(Inbound {
        external_user_id: from.id.to_string(),
        contact: ContactHint {
            name: Some(full_name(&from.first_name, from.last_name.as_deref())),
            language: from.language_code.clone(),
            ..ContactHint::default()
        },
        platform_message_id: Some(format!("g{}:{}", m.chat.id, m.message_id)),
        event: InboundEvent::Group {
            chat: m.chat.id.to_string(),
            text: cleaned,
            command,
            reply_body,
            bot_handle: handle,
        },
    })
}

fn update_to_inbound(u: Update, me: Option<&(u64, String)>) -> Option<Inbound> {
    match u.content {
        UpdateContent::Message(m) if m.chat.type_field != ChatType::Private => {
            group_to_inbound(&m, me?)
        }
        UpdateContent::Message(m) => message_to_inbound(&m, false),
        UpdateContent::EditedMessage(m) => message_to_inbound(&m, true),
        UpdateContent::MyChatMember(c) if c.chat.type_field == ChatType::Private => {
            match c.new_chat_member {
                ChatMember::Kicked(_) => Some(Inbound {
                    external_user_id: c.chat.id.to_string(),
                    contact: ContactHint {
                        name: Some(full_name(&c.from.first_name, c.from.last_name.as_deref())),
                        ..ContactHint::default()
                    },
                    platform_message_id: None,
                    event: InboundEvent::Blocked,
                }),
                _ => None,
            }
        }
        UpdateContent::CallbackQuery(q) => Some(Inbound {
            // In a private chat the chat id is the user's id.
            external_user_id: q.from.id.to_string(),
            contact: ContactHint {
                name: Some(full_name(&q.from.first_name, q.from.last_name.as_deref())),
                language: q.from.language_code.clone(),
                ..ContactHint::default()
            },
            platform_message_id: Some(format!("cb:{}", q.id)),
            event: InboundEvent::Button {
                data: q.data.clone().unwrap_or_default(),
            },
        }),
        // Group chats arrive with group mode; other kinds need no answer.
        _ => None,
    }
}

fn message_to_inbound(m: &Message, edited: bool) -> Option<Inbound> {
    if m.chat.type_field != ChatType::Private {
        return None;
    }
    let from = m.from.as_deref();
    let mut text = m
        .text
        .clone()
        .or_else(|| m.caption.clone())
        .unwrap_or_default();
    let mut remote = Vec::new();
    let mut phone = None;
    let mut card = None;
    if let Some(sizes) = &m.photo
        && let Some(largest) = sizes
            .iter()
            .max_by_key(|p| u64::from(p.width) * u64::from(p.height))
    {
        remote.push(RemoteFile {
            id: largest.file_id.clone(),
            name: format!("photo_{}.jpg", m.message_id),
            content_type: Some("image/jpeg".into()),
            size: largest.file_size,
        });
    }
    if let Some(d) = &m.document {
        remote.push(RemoteFile {
            id: d.file_id.clone(),
            name: d
                .file_name
                .clone()
                .unwrap_or_else(|| format!("file_{}", m.message_id)),
            content_type: d.mime_type.clone(),
            size: d.file_size,
        });
    }
    if let Some(v) = &m.voice {
        remote.push(RemoteFile {
            id: v.file_id.clone(),
            name: format!("voice_{}.ogg", m.message_id),
            content_type: Some(v.mime_type.clone().unwrap_or_else(|| "audio/ogg".into())),
            size: v.file_size,
        });
    }
    if let Some(v) = &m.video {
        remote.push(RemoteFile {
            id: v.file_id.clone(),
            name: v
                .file_name
                .clone()
                .unwrap_or_else(|| format!("video_{}.mp4", m.message_id)),
            content_type: Some(v.mime_type.clone().unwrap_or_else(|| "video/mp4".into())),
            size: v.file_size,
        });
    }
    if let Some(a) = &m.audio {
        remote.push(RemoteFile {
            id: a.file_id.clone(),
            name: a
                .file_name
                .clone()
                .unwrap_or_else(|| format!("audio_{}.mp3", m.message_id)),
            content_type: a.mime_type.clone(),
            size: a.file_size,
        });
    }
    if let Some(s) = &m.sticker {
        text = format!("[Стикер {}]", s.emoji.clone().unwrap_or_default()).replace(" ]", "]");
    }
    if let Some(l) = &m.location {
        text = super::common::location_text(l.latitude, l.longitude);
    }
    if let Some(c) = &m.contact {
        let number = super::common::normalize_phone(&c.phone_number);
        // Only the customer's own number identifies them; a forwarded card is just data.
        let own = from.is_some_and(|f| c.user_id == Some(f.id));
        if own {
            phone = Some(number.clone());
        }
        card = Some((
            full_name(&c.first_name, c.last_name.as_deref()),
            number,
            own,
        ));
    }
    if edited {
        text = format!("✏️ {text}");
    }
    if text.trim().is_empty() && remote.is_empty() {
        text = "[Сообщение без текста]".into();
    }
    let platform_message_id = if edited {
        format!(
            "{}:{}:edit:{}",
            m.chat.id,
            m.message_id,
            m.edit_date.unwrap_or_default()
        )
    } else {
        format!("{}:{}", m.chat.id, m.message_id)
    };
    Some(Inbound {
        external_user_id: m.chat.id.to_string(),
        contact: ContactHint {
            name: from.map(|f| full_name(&f.first_name, f.last_name.as_deref())),
            email: None,
            phone,
            language: from.and_then(|f| f.language_code.clone()),
        },
        platform_message_id: Some(platform_message_id),
        event: InboundEvent::message_or_card(text, remote, card),
    })
}

impl super::LongPoll for Telegram {
    fn platform(&self) -> &'static str {
        "telegram"
    }

    fn cursor_key(&self) -> &'static str {
        "telegram.offset"
    }

    fn prepare(&self) -> BoxFuture<'_, Result<(), SendError>> {
        use std::sync::atomic::Ordering;
        Box::pin(async move {
            // Without getMe private chats still work; groups wait for it, tried every round.
            if !self.knows_itself()
                && let Err(e) = self.identity().await
            {
                tracing::warn!(error = %e, "getMe failed; group chats wait for it");
            }
            if !self.webhook_removed.load(Ordering::Relaxed) {
                self.delete_webhook().await?;
                self.webhook_removed.store(true, Ordering::Relaxed);
            }
            Ok(())
        })
    }

    fn poll(&self, cursor: Option<i64>) -> BoxFuture<'_, Result<super::Polled, SendError>> {
        Box::pin(async move {
            let updates = self.get_updates(cursor.unwrap_or(0)).await?;
            let next = updates
                .iter()
                .filter_map(|u| u["update_id"].as_i64())
                .max()
                .map(|last| last + 1);
            Ok(super::Polled {
                count: updates.len(),
                parsed: self.parse_updates(&updates),
                next,
            })
        })
    }
}

impl ChannelAdapter for Telegram {
    fn kind(&self) -> super::ChannelKind {
        super::ChannelKind::Telegram
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            buttons: true,
            files: true,
            max_text_chars: MAX_TEXT_CHARS,
            verified_phone: true,
        }
    }

    fn parse(&self, req: &RawRequest) -> Result<Parsed, WebhookError> {
        common::header_secret(req, SECRET_HEADER, &self.secret)?;
        let v: Value = serde_json::from_slice(&req.body)
            .map_err(|e| WebhookError::BadRequest(format!("update is not JSON: {e}")))?;
        Ok(self.parse_updates(&[v]))
    }

    fn long_poll(&self) -> Option<&dyn super::LongPoll> {
        (self.mode == Mode::Polling).then_some(self as &dyn super::LongPoll)
    }

    fn send<'a>(&'a self, out: &'a Outbound) -> BoxFuture<'a, Result<Sent, SendError>> {
        Box::pin(async move {
            let chat_id: i64 = out.recipient.parse().map_err(|_| {
                SendError::permanent(format!("\"{}\" is not a Telegram chat id", out.recipient))
            })?;
            let text = super::common::signed_text(out, self.show_operator_name);
            let mut last_id = None;
            let parts = crate::domain::text::split_text(&text, MAX_TEXT_CHARS);
            let count = parts.len();
            for (i, part) in parts.into_iter().enumerate() {
                // Buttons go under the last piece.
                let keyboard = if i + 1 == count {
                    out.keyboard.as_ref()
                } else {
                    None
                };
                last_id = Some(i64::from(self.send_text(chat_id, &part, keyboard).await?));
            }
            for f in &out.files {
                last_id = Some(self.send_file(chat_id, f, None).await?);
            }
            Ok(Sent {
                platform_id: last_id.map(|id| format!("{chat_id}:{id}")),
            })
        })
    }

    fn subscribes_at_start(&self) -> bool {
        self.mode == Mode::Webhook
    }

    fn subscribe<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move { self.set_webhook(url).await })
    }

    /// Updates wait on Telegram (up to a day) once the webhook is gone.
    fn unsubscribe<'a>(&'a self, _url: &'a str) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            match self.mode {
                Mode::Webhook => self.delete_webhook().await,
                Mode::Polling => Ok(()),
            }
        })
    }

    fn identity(&self) -> BoxFuture<'_, Result<AccountInfo, SendError>> {
        Box::pin(async move {
            let me = self.bot.get_me().await.map_err(map_error)?.result;
            if let Some(u) = &me.username {
                let _ = self.me.set((me.id, u.clone()));
            }
            Ok(AccountInfo {
                name: match &me.username {
                    Some(u) => format!("{} (@{u})", me.first_name),
                    None => me.first_name.clone(),
                },
                id: me.id.to_string(),
                username: me.username.clone(),
            })
        })
    }

    fn deep_link(&self, start: &str) -> Option<String> {
        self.me
            .get()
            .map(|(_, username)| format!("https://t.me/{username}?start={start}"))
    }

    fn typing<'a>(&'a self, recipient: &'a str) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            let chat_id: i64 = recipient.parse().map_err(|_| {
                SendError::permanent(format!("\"{recipient}\" is not a Telegram chat id"))
            })?;
            let params = SendChatActionParams::builder()
                .chat_id(chat_id)
                .action(ChatAction::Typing)
                .build();
            self.bot
                .send_chat_action(&params)
                .await
                .map(|_| ())
                .map_err(map_error)
        })
    }

    fn acknowledge<'a>(&'a self, inbound: &'a Inbound) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            // Stops the spinner on the pressed button; losing this is harmless.
            if let Some(id) = inbound
                .platform_message_id
                .as_deref()
                .and_then(|p| p.strip_prefix("cb:"))
            {
                let params = AnswerCallbackQueryParams::builder()
                    .callback_query_id(id.to_string())
                    .build();
                if let Err(e) = self.bot.answer_callback_query(&params).await {
                    tracing::debug!(error = %e, "answerCallbackQuery failed");
                }
            }
        })
    }

    fn download<'a>(
        &'a self,
        file: &'a RemoteFile,
        files: &'a super::download::Downloader,
    ) -> BoxFuture<'a, Result<Vec<u8>, SendError>> {
        Box::pin(async move {
            if file.size.is_some_and(|s| s > MAX_DOWNLOAD_BYTES) {
                return Err(SendError::permanent(format!(
                    "{} is larger than the 20 MB a bot may download",
                    file.name
                )));
            }
            let f = self
                .bot
                .get_file(&GetFileParams::builder().file_id(file.id.clone()).build())
                .await
                .map_err(map_error)?
                .result;
            let path = f
                .file_path
                .ok_or_else(|| SendError::permanent("Telegram gave no file_path"))?;
            let resp = self
                .http
                .get(format!("{}/file/bot{}/{path}", self.api_base, self.token))
                .send()
                .await
                .map_err(|e| SendError::from_reqwest(&e))?;
            // The Bot API's own address (configured, trusted), read within the size limit.
            super::download::read_capped(resp, files.max_bytes.min(MAX_DOWNLOAD_BYTES)).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_splits_at_line_breaks_within_the_limit() {
        let text = format!("{}\n{}", "а".repeat(3000), "б".repeat(3000));
        let parts = crate::domain::text::split_text(&text, MAX_TEXT_CHARS);
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().all(|p| p.chars().count() <= MAX_TEXT_CHARS));
        assert_eq!(parts[1], "б".repeat(3000));
        let hard = "x".repeat(9000);
        let parts = crate::domain::text::split_text(&hard, MAX_TEXT_CHARS);
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            vec![4096, 4096, 808]
        );
    }

    #[test]
    fn errors_map_to_retry_or_not() {
        assert!(classify(403, "Forbidden: bot was blocked by the user", None).blocked);
        let r = classify(429, "Too Many Requests", Some(7));
        assert!(r.retryable && r.retry_after == Some(Duration::from_secs(7)));
        assert!(classify(502, "Bad Gateway", None).retryable);
        assert!(!classify(400, "Bad Request: chat not found", None).retryable);
    }

    #[test]
    fn unknown_updates_are_kept_not_fatal() {
        let tg = Telegram::from_config("t", &json!({"token": "1:abc"}), reqwest::Client::new());
        let tg = match tg {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        };
        let parsed = tg.parse_updates(&[
            json!({"update_id": 1, "brand_new_kind": {"x": 1}}),
            json!({"update_id": 2, "message": {"message_id": 5, "date": 1, "chat": {"id": 42, "type": "private", "first_name": "Ann"}, "from": {"id": 42, "is_bot": false, "first_name": "Ann"}, "text": "hi"}}),
        ]);
        assert_eq!(parsed.unparsed.len(), 1);
        assert_eq!(parsed.inbound.len(), 1);
        assert_eq!(
            parsed.inbound[0].platform_message_id.as_deref(),
            Some("42:5")
        );
    }
}
