//! MAX (VK's national messenger): a business's bot from business.max.ru, through the official
//! Bot API (platform-api.max.ru; the token goes in the `Authorization` header). Updates come by
//! long polling (`GET /updates` with a marker that confirms what came before) or by webhook
//! (`POST /subscriptions` with a secret MAX repeats in `X-Max-Bot-Api-Secret`). Both cannot be
//! used at once, so polling removes subscriptions first.
//!
//! Ids: a customer is their `user_id` (we write to them with `?user_id=`); a group chat is its
//! `chat_id`, which MAX makes negative for chats (dialogs and users are positive), so a
//! negative recipient is written to with `?chat_id=`.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde_json::{Value, json};

use super::{
    AccountInfo, Capabilities, ChannelAdapter, Inbound, InboundEvent, Mode, Outbound, OutboundFile,
    Parsed, Polled, RawRequest, RemoteFile, SendError, Sent, WebhookError, WebhookReply, common,
};
use crate::store::contacts::ContactHint;

/// NewMessageBody.text is at most 4000 characters.
pub const MAX_TEXT_CHARS: usize = 4000;
pub const SECRET_HEADER: &str = "X-Max-Bot-Api-Secret";
/// Button labels are 1-128 characters, callback payloads at most 1024.
const LABEL_CHARS: usize = 128;
/// What we read: messages, presses, the bot started or stopped by a user.
const UPDATE_TYPES: &[&str] = &[
    "message_created",
    "message_edited",
    "message_callback",
    "bot_started",
    "bot_stopped",
];
/// Updates we know and deliberately leave alone (membership and dialog housekeeping).
const IGNORED_TYPES: &[&str] = &[
    "message_removed",
    "bot_added",
    "bot_removed",
    "user_added",
    "user_removed",
    "dialog_cleared",
    "dialog_removed",
    "dialog_muted",
    "dialog_unmuted",
    "chat_title_changed",
    "message_chat_created",
];
/// A file just uploaded may not be attachable yet ("attachment.not.ready"): tried this many
/// times, a second apart, before the outbox retries the whole message later.
const NOT_READY_TRIES: u32 = 4;

pub struct Max {
    token: String,
    api_base: String,
    pub mode: Mode,
    /// Seconds GET /updates waits for news (tests use 1).
    poll_timeout: u32,
    secret: String,
    show_operator_name: bool,
    http: reqwest::Client,
    /// The bot's own user id and username, learned from GET /me: needed to see mentions in
    /// group chats and to make deep links.
    me: OnceLock<(i64, String)>,
    /// Webhook subscriptions have been removed since this adapter started polling.
    unsubscribed: AtomicBool,
}

impl Max {
    pub fn from_config(config: &Value, http: reqwest::Client) -> Result<Self, String> {
        let token = common::required(config, "token", "max")?;
        let token = token.trim().to_string();
        if token.len() < 16 || token.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(
                "token must be the bot's token from business.max.ru (Чат-боты → Интеграция), one long string without spaces"
                    .into(),
            );
        }
        let mode = Mode::from_config(config)?;
        let secret = match common::opt_text(config, "secret")? {
            Some(s) => {
                let ok = (5..=256).contains(&s.len())
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                if !ok {
                    return Err(
                        "secret must be 5-256 characters of A-Z, a-z, 0-9, '_' and '-' (MAX's rule for the webhook secret)"
                            .into(),
                    );
                }
                s
            }
            // Derived from the token: stable across restarts and instances, unguessable without it.
            None => crate::crypto::sha256_hex(format!("perepiska-max-webhook:{token}").as_bytes())
                [..48]
                .to_string(),
        };
        let poll_timeout = match config.get("poll_timeout") {
            None => 30,
            Some(v) => v
                .as_u64()
                .filter(|t| *t <= 90)
                .ok_or("poll_timeout must be a whole number of seconds from 0 to 90")?
                as u32,
        };
        Ok(Max {
            api_base: common::api_base(config, "https://platform-api.max.ru")?,
            show_operator_name: common::flag(config, "show_operator_name", true)?,
            token,
            mode,
            poll_timeout,
            secret,
            http,
            me: OnceLock::new(),
            unsubscribed: AtomicBool::new(false),
        })
    }

    pub fn webhook_secret(&self) -> &str {
        &self.secret
    }

    /// Calls the Bot API; a non-2xx answer becomes the matching send error.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        timeout: Duration,
    ) -> Result<Value, SendError> {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.api_base))
            .header("Authorization", &self.token)
            .query(query)
            .timeout(timeout);
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.map_err(|e| SendError::from_reqwest(&e))?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let text = resp.text().await.unwrap_or_default();
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if !(200..300).contains(&status) {
            return Err(classify(status, &v, &text, retry_after));
        }
        // SimpleQueryResult: a 200 that says it did not work.
        if v["success"] == json!(false) {
            return Err(SendError::permanent(format!(
                "MAX refused: {}",
                v["message"].as_str().unwrap_or("no reason given")
            )));
        }
        Ok(v)
    }

    async fn post(
        &self,
        path: &str,
        query: &[(&str, String)],
        body: &Value,
    ) -> Result<Value, SendError> {
        self.call(
            reqwest::Method::POST,
            path,
            query,
            Some(body),
            Duration::from_secs(30),
        )
        .await
    }

    /// The updates after `marker`, still raw, and the marker that confirms them.
    pub async fn get_updates(
        &self,
        marker: Option<i64>,
    ) -> Result<(Vec<Value>, Option<i64>), SendError> {
        let mut query = vec![
            ("timeout", self.poll_timeout.to_string()),
            ("limit", "100".to_string()),
            ("types", UPDATE_TYPES.join(",")),
        ];
        if let Some(m) = marker {
            query.push(("marker", m.to_string()));
        }
        let v = self
            .call(
                reqwest::Method::GET,
                "/updates",
                &query,
                None,
                Duration::from_secs(u64::from(self.poll_timeout) + 15),
            )
            .await?;
        let updates = v["updates"].as_array().cloned().unwrap_or_default();
        Ok((updates, v["marker"].as_i64()))
    }

    /// Removes every webhook subscription: GET /updates answers nothing while one exists.
    async fn remove_subscriptions(&self) -> Result<(), SendError> {
        let v = self
            .call(
                reqwest::Method::GET,
                "/subscriptions",
                &[],
                None,
                Duration::from_secs(30),
            )
            .await?;
        for s in v["subscriptions"].as_array().into_iter().flatten() {
            if let Some(url) = s["url"].as_str() {
                self.delete_subscription(url).await?;
            }
        }
        Ok(())
    }

    async fn delete_subscription(&self, url: &str) -> Result<(), SendError> {
        self.call(
            reqwest::Method::DELETE,
            "/subscriptions",
            &[("url", url.to_string())],
            None,
            Duration::from_secs(30),
        )
        .await
        .map(|_| ())
    }

    /// Turns raw updates into inbound values; what we cannot read is returned as unparsed.
    pub fn parse_updates(&self, updates: &[Value]) -> Parsed {
        let mut inbound = Vec::new();
        let mut unparsed = Vec::new();
        for u in updates {
            let kind = u["update_type"].as_str().unwrap_or_default();
            if IGNORED_TYPES.contains(&kind) {
                continue;
            }
            if !UPDATE_TYPES.contains(&kind) {
                unparsed.push((
                    u.to_string(),
                    format!("update type {kind:?} is not handled"),
                ));
                continue;
            }
            match update_to_inbound(u, self.me.get()) {
                Ok(Some(i)) => inbound.push(i),
                Ok(None) => {}
                Err(why) => unparsed.push((u.to_string(), why)),
            }
        }
        Parsed {
            inbound,
            reply: WebhookReply::Json(json!({})),
            unparsed,
        }
    }

    /// Uploads one file (type image or file) and returns the attachment that sends it.
    async fn upload(&self, f: &OutboundFile) -> Result<Value, SendError> {
        let image = matches!(
            f.content_type.as_str(),
            "image/jpeg" | "image/png" | "image/gif" | "image/webp"
        );
        let kind = if image { "image" } else { "file" };
        let endpoint = self
            .post("/uploads", &[("type", kind.to_string())], &json!({}))
            .await?;
        let url = endpoint["url"]
            .as_str()
            .ok_or_else(|| SendError::retry("MAX gave no upload url"))?;
        let (part, _) = common::file_part(f).await?;
        // The address comes from the Bot API itself (not from a customer's payload).
        let resp = self
            .http
            .post(url)
            .timeout(Duration::from_secs(120))
            .multipart(reqwest::multipart::Form::new().part("data", part))
            .send()
            .await
            .map_err(|e| SendError::from_reqwest(&e))?;
        let uploaded: Value = serde_json::from_str(&common::body_if_ok(resp).await?)
            .map_err(|e| SendError::retry(format!("bad MAX upload answer: {e}")))?;
        let token = if image {
            uploaded["photos"]
                .as_object()
                .and_then(|p| p.values().find_map(|t| t["token"].as_str()))
                .or_else(|| uploaded["token"].as_str())
        } else {
            uploaded["token"].as_str()
        }
        .or_else(|| endpoint["token"].as_str())
        .ok_or_else(|| SendError::retry("MAX's upload answer has no token"))?;
        Ok(json!({ "type": kind, "payload": { "token": token } }))
    }

    /// Sends one message; a file still being processed is waited for a few seconds.
    async fn send_body(
        &self,
        recipient: &(&str, String),
        body: &Value,
    ) -> Result<Value, SendError> {
        let query = [(recipient.0, recipient.1.clone())];
        let mut tries = 0;
        loop {
            match self.post("/messages", &query, body).await {
                Err(e)
                    if e.message.contains("attachment.not.ready")
                        && tries + 1 < NOT_READY_TRIES =>
                {
                    tries += 1;
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                other => return other,
            }
        }
    }
}

/// MAX's error answers: `{"code": "…", "message": "…"}` with the HTTP status.
fn classify(status: u16, v: &Value, raw: &str, retry_after: Option<u64>) -> SendError {
    let code = v["code"].as_str().unwrap_or_default();
    let message = v["message"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| crate::domain::text::truncate_chars(raw.trim(), 300).to_string());
    let msg = format!("MAX answered {status} {code}: {message}");
    if code == "verify.token" || status == 401 {
        return SendError::permanent(format!("{msg} (the bot token was refused)"));
    }
    if code == "attachment.not.ready" {
        return SendError::retry(msg);
    }
    let denied = status == 403 || code.contains("denied") || code.contains("blocked");
    if denied {
        return SendError::blocked(format!(
            "{msg}. MAX lets a bot write only to people who have written to it and not stopped it: the customer has to write to the bot (or press «Начать») first"
        ));
    }
    match status {
        429 => SendError {
            retry_after: Some(Duration::from_secs(retry_after.unwrap_or(5))),
            ..SendError::retry(msg)
        },
        408 => SendError::retry(msg),
        s if s >= 500 => SendError::retry(msg),
        _ => SendError::permanent(msg),
    }
}

fn user_name(u: &Value) -> Option<String> {
    if let Some(n) = u["name"].as_str().filter(|n| !n.trim().is_empty()) {
        return Some(n.trim().to_string());
    }
    let first = u["first_name"].as_str().unwrap_or_default();
    let last = u["last_name"].as_str().unwrap_or_default();
    let full = format!("{first} {last}").trim().to_string();
    (!full.is_empty()).then_some(full)
}

fn hint(user: &Value, locale: &Value) -> ContactHint {
    ContactHint {
        name: user_name(user),
        language: locale
            .as_str()
            .map(|l| l.split(['-', '_']).next().unwrap_or(l).to_lowercase()),
        ..ContactHint::default()
    }
}

/// A name and a phone out of a vCard ("FN:Анна Ким", "TEL;TYPE=cell:+7 912 …").
fn vcard(vcf: &str) -> (Option<String>, Option<String>) {
    let mut name = None;
    let mut phone = None;
    for line in vcf.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let key = key.split(';').next().unwrap_or(key).to_ascii_uppercase();
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        match key.as_str() {
            "FN" if name.is_none() => name = Some(value.to_string()),
            "TEL" if phone.is_none() => phone = Some(value.to_string()),
            _ => {}
        }
    }
    (name, phone)
}

/// Text, files and a shared contact card of a message body.
fn body_content(
    body: &Value,
    sender: &Value,
) -> (String, Vec<RemoteFile>, Option<super::Card>, Option<String>) {
    let mut text = body["text"].as_str().unwrap_or_default().to_string();
    let mut notes: Vec<String> = Vec::new();
    let mut remote = Vec::new();
    let mut card = None;
    let mut own_phone = None;
    let mid = body["mid"].as_str().unwrap_or("message");
    let short = mid.rsplit('.').next().unwrap_or(mid);
    for (i, a) in body["attachments"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let p = &a["payload"];
        let url = p["url"].as_str().filter(|u| !u.is_empty());
        match a["type"].as_str().unwrap_or_default() {
            "image" => {
                if let Some(url) = url {
                    remote.push(RemoteFile {
                        id: url.to_string(),
                        name: format!("photo_{short}_{i}.jpg"),
                        content_type: Some("image/jpeg".into()),
                        size: None,
                    });
                }
            }
            "file" => {
                if let Some(url) = url {
                    remote.push(RemoteFile {
                        id: url.to_string(),
                        name: a["filename"]
                            .as_str()
                            .filter(|n| !n.trim().is_empty())
                            .map(str::to_string)
                            .unwrap_or_else(|| format!("file_{short}_{i}")),
                        content_type: None,
                        size: a["size"].as_u64(),
                    });
                }
            }
            "audio" => {
                if let Some(url) = url {
                    remote.push(RemoteFile {
                        id: url.to_string(),
                        name: format!("voice_{short}_{i}.ogg"),
                        content_type: Some("audio/ogg".into()),
                        size: None,
                    });
                }
                if let Some(t) = a["transcription"].as_str().filter(|t| !t.trim().is_empty()) {
                    notes.push(format!("🎤 {t}"));
                }
            }
            "video" => match url {
                Some(url) => remote.push(RemoteFile {
                    id: url.to_string(),
                    name: format!("video_{short}_{i}.mp4"),
                    content_type: Some("video/mp4".into()),
                    size: None,
                }),
                None => notes.push("[Видео]".into()),
            },
            "sticker" => notes.push("[Стикер]".into()),
            "location" => {
                if let (Some(lat), Some(lon)) = (a["latitude"].as_f64(), a["longitude"].as_f64()) {
                    notes.push(common::location_text(lat, lon));
                }
            }
            "share" => notes.push(format!("🔗 {}", url.unwrap_or_default())),
            "contact" => {
                let info = &p["max_info"];
                let (vname, vphone) = vcard(p["vcf_info"].as_str().unwrap_or_default());
                let name = vname
                    .or_else(|| user_name(info))
                    .unwrap_or_else(|| "—".into());
                if let Some(phone) = vphone {
                    let number = common::normalize_phone(&phone);
                    // Only the sender's own card (the "share my contact" button) identifies
                    // them; a card of someone else is just data.
                    let own =
                        info["user_id"].as_i64().is_some() && info["user_id"] == sender["user_id"];
                    if own {
                        own_phone = Some(number.clone());
                    }
                    card = Some((name, number, own));
                } else {
                    notes.push(format!("👤 {name}"));
                }
            }
            // Our own buttons echoed back, or data from a message button: nothing to show.
            "inline_keyboard" | "reply_keyboard" | "data" => {}
            other if !other.is_empty() => notes.push(format!("[Вложение: {other}]")),
            _ => {}
        }
    }
    for n in notes {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&n);
    }
    (text, remote, card, own_phone)
}

fn update_to_inbound(u: &Value, me: Option<&(i64, String)>) -> Result<Option<Inbound>, String> {
    let kind = u["update_type"].as_str().unwrap_or_default();
    match kind {
        "message_created" | "message_edited" => {
            let m = &u["message"];
            match m["recipient"]["chat_type"].as_str().unwrap_or_default() {
                "dialog" => {}
                // Group mode needs the bot's own id; until GET /me answers, group messages wait
                // (they are acknowledged, as Telegram's are).
                "chat" => return Ok(me.and_then(|me| group_to_inbound(m, me))),
                // Channels the bot posts to have no customers.
                _ => return Ok(None),
            }
            let sender = &m["sender"];
            if sender["is_bot"] == json!(true) {
                return Ok(None);
            }
            let user = sender["user_id"]
                .as_i64()
                .ok_or("message without sender.user_id")?;
            let body = &m["body"];
            let mid = body["mid"].as_str().ok_or("message without body.mid")?;
            let (mut text, mut remote, card, phone) = body_content(body, sender);
            // A forwarded message: what was forwarded is what the customer means.
            if m["link"]["type"] == "forward" {
                let (fwd, files, _, _) = body_content(&m["link"]["message"], &Value::Null);
                let from = user_name(&m["link"]["sender"]).unwrap_or_default();
                if !fwd.is_empty() {
                    if !text.is_empty() {
                        text.push('\n');
                    }
                    text.push_str(&format!("↪️ {from}: {fwd}").replace("↪️ : ", "↪️ "));
                }
                remote.extend(files);
            }
            let edited = kind == "message_edited";
            if edited {
                text = format!("✏️ {text}");
            }
            if text.trim().is_empty() && remote.is_empty() && card.is_none() {
                text = "[Сообщение без текста]".into();
            }
            let mut contact = hint(sender, &u["user_locale"]);
            contact.phone = phone;
            let id = if edited {
                format!("{mid}:edit:{}", u["timestamp"].as_i64().unwrap_or_default())
            } else {
                mid.to_string()
            };
            Ok(Some(Inbound {
                external_user_id: user.to_string(),
                contact,
                platform_message_id: Some(id),
                event: InboundEvent::message_or_card(text, remote, card),
            }))
        }
        "message_callback" => {
            let cb = &u["callback"];
            let user = cb["user"]["user_id"]
                .as_i64()
                .ok_or("callback without user.user_id")?;
            let id = cb["callback_id"]
                .as_str()
                .ok_or("callback without callback_id")?;
            Ok(Some(Inbound {
                external_user_id: user.to_string(),
                contact: hint(&cb["user"], &u["user_locale"]),
                platform_message_id: Some(format!("cb:{id}")),
                event: InboundEvent::Button {
                    data: cb["payload"].as_str().unwrap_or_default().to_string(),
                },
            }))
        }
        // The customer pressed «Начать» (perhaps from a deep link with a payload): the same
        // as /start in a chat.
        "bot_started" => {
            let user = u["user"]["user_id"]
                .as_i64()
                .or_else(|| u["user_id"].as_i64())
                .ok_or("bot_started without user")?;
            let text = match u["payload"].as_str().filter(|p| !p.trim().is_empty()) {
                Some(p) => format!("/start {p}"),
                None => "/start".to_string(),
            };
            Ok(Some(Inbound {
                external_user_id: user.to_string(),
                contact: hint(&u["user"], &u["user_locale"]),
                platform_message_id: Some(format!(
                    "start:{user}:{}",
                    u["timestamp"].as_i64().unwrap_or_default()
                )),
                event: InboundEvent::Message {
                    text,
                    files: Vec::new(),
                    remote: Vec::new(),
                },
            }))
        }
        // The customer stopped the bot: MAX refuses our messages from now on.
        "bot_stopped" => {
            let user = u["user"]["user_id"]
                .as_i64()
                .ok_or("bot_stopped without user")?;
            Ok(Some(Inbound {
                external_user_id: user.to_string(),
                contact: hint(&u["user"], &u["user_locale"]),
                platform_message_id: None,
                event: InboundEvent::Blocked,
            }))
        }
        _ => Ok(None),
    }
}

/// A group message addressed to the bot: a mention of it, a reply to it, or a command.
fn group_to_inbound(m: &Value, me: &(i64, String)) -> Option<Inbound> {
    let sender = &m["sender"];
    if sender["is_bot"] == json!(true) {
        return None;
    }
    let user = sender["user_id"].as_i64()?;
    let chat = m["recipient"]["chat_id"].as_i64()?;
    let body = &m["body"];
    let text = body["text"].as_str().unwrap_or_default();
    let handle = format!("@{}", me.1);
    let mut mentioned = body["markup"].as_array().into_iter().flatten().any(|mk| {
        mk["type"] == "user_mention"
            && (mk["user_id"].as_i64() == Some(me.0)
                || mk["user_link"]
                    .as_str()
                    .is_some_and(|l| l.trim_start_matches('@').eq_ignore_ascii_case(&me.1)))
    }) || text.to_lowercase().contains(&handle.to_lowercase());
    let link = &m["link"];
    let reply_to_bot = link["type"] == "reply" && link["sender"]["user_id"].as_i64() == Some(me.0);
    mentioned |= reply_to_bot;
    let command = text
        .trim_start()
        .strip_prefix('/')
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|word| {
            let (cmd, target) = word.split_once('@').unwrap_or((word, ""));
            (target.is_empty() || target.eq_ignore_ascii_case(&me.1)).then(|| cmd.to_string())
        })
        .filter(|c| !c.is_empty());
    if !mentioned && command.is_none() {
        return None;
    }
    // The replied-to text is the body when someone asks the bot about another message.
    let reply_body = (link["type"] == "reply" && !reply_to_bot)
        .then(|| link["message"]["text"].as_str().map(str::to_string))
        .flatten();
    let cleaned = remove_ignoring_case(text, &handle).trim().to_string();
    Some(Inbound {
        external_user_id: user.to_string(),
        contact: hint(sender, &Value::Null),
        platform_message_id: Some(format!("g{chat}:{}", body["mid"].as_str()?)),
        event: InboundEvent::Group {
            chat: chat.to_string(),
            text: cleaned,
            command,
            reply_body,
            bot_handle: handle,
        },
    })
}

fn remove_ignoring_case(text: &str, needle: &str) -> String {
    let lower = text.to_lowercase();
    let n = needle.to_lowercase();
    // Lowercasing can change lengths outside ASCII; then leave the text as it is.
    if lower.len() != text.len() || n.is_empty() {
        return text.replace(needle, "");
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = 0;
    for (at, _) in lower.match_indices(&n) {
        out.push_str(&text[rest..at]);
        rest = at + n.len();
    }
    out.push_str(&text[rest..]);
    out
}

fn keyboard(k: &super::Keyboard) -> Value {
    let mut rows: Vec<Vec<Value>> = k
        .rows
        .iter()
        .map(|row| {
            row.iter()
                .map(|b| {
                    json!({
                        "type": "callback",
                        "text": crate::domain::text::truncate_chars(&b.label, LABEL_CHARS),
                        "payload": b.data,
                    })
                })
                .collect()
        })
        .collect();
    if let Some(label) = &k.request_phone {
        rows.push(vec![json!({
            "type": "request_contact",
            "text": crate::domain::text::truncate_chars(label, LABEL_CHARS),
        })]);
    }
    json!({ "type": "inline_keyboard", "payload": { "buttons": rows } })
}

/// Which query parameter names a recipient: group chats are negative chat ids.
fn recipient_param(recipient: &str) -> Result<(&'static str, String), SendError> {
    let id: i64 = recipient.trim().parse().map_err(|_| {
        SendError::permanent(format!("\"{recipient}\" is not a MAX user or chat id"))
    })?;
    Ok(if id < 0 {
        ("chat_id", id.to_string())
    } else {
        ("user_id", id.to_string())
    })
}

impl super::LongPoll for Max {
    fn platform(&self) -> &'static str {
        "max"
    }

    fn cursor_key(&self) -> &'static str {
        "max.marker"
    }

    fn prepare(&self) -> BoxFuture<'_, Result<(), SendError>> {
        Box::pin(async move {
            if self.me.get().is_none()
                && let Err(e) = self.identity().await
            {
                tracing::warn!(error = %e, "MAX GET /me failed; group chats wait for it");
            }
            if !self.unsubscribed.load(Ordering::Relaxed) {
                self.remove_subscriptions().await?;
                self.unsubscribed.store(true, Ordering::Relaxed);
            }
            Ok(())
        })
    }

    fn poll(&self, cursor: Option<i64>) -> BoxFuture<'_, Result<Polled, SendError>> {
        Box::pin(async move {
            let (updates, marker) = self.get_updates(cursor).await?;
            Ok(Polled {
                count: updates.len(),
                parsed: self.parse_updates(&updates),
                next: marker,
            })
        })
    }
}

impl ChannelAdapter for Max {
    fn kind(&self) -> super::ChannelKind {
        super::ChannelKind::Max
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            buttons: true,
            files: true,
            max_text_chars: MAX_TEXT_CHARS,
            // A card from the "share my contact" button carries the sender's own user id.
            verified_phone: true,
        }
    }

    fn parse(&self, req: &RawRequest) -> Result<Parsed, WebhookError> {
        common::header_secret(req, SECRET_HEADER, &self.secret)?;
        let v: Value = serde_json::from_slice(&req.body)
            .map_err(|e| WebhookError::BadRequest(format!("update is not JSON: {e}")))?;
        if !v.is_object() {
            return Err(WebhookError::BadRequest(
                "an update is a JSON object".into(),
            ));
        }
        Ok(self.parse_updates(&[v]))
    }

    fn long_poll(&self) -> Option<&dyn super::LongPoll> {
        (self.mode == Mode::Polling).then_some(self as &dyn super::LongPoll)
    }

    fn subscribes_at_start(&self) -> bool {
        self.mode == Mode::Webhook
    }

    fn send<'a>(&'a self, out: &'a Outbound) -> BoxFuture<'a, Result<Sent, SendError>> {
        Box::pin(async move {
            let to = recipient_param(&out.recipient)?;
            let text = common::signed_text(out, self.show_operator_name);
            let mut parts = crate::domain::text::split_text(&text, MAX_TEXT_CHARS);
            if parts.is_empty() && out.files.is_empty() {
                parts.push(String::new());
            }
            let count = parts.len();
            let mut last = None;
            for (i, part) in parts.into_iter().enumerate() {
                let mut attachments = Vec::new();
                // Buttons go under the last piece.
                if i + 1 == count
                    && let Some(k) = &out.keyboard
                    && (!k.rows.is_empty() || k.request_phone.is_some())
                {
                    attachments.push(keyboard(k));
                }
                let body = json!({ "text": part, "attachments": attachments });
                last = Some(self.send_body(&to, &body).await?);
            }
            // MAX takes a file as the only attachment of its message.
            for f in &out.files {
                let attachment = self.upload(f).await?;
                let body = json!({ "text": Value::Null, "attachments": [attachment] });
                last = Some(self.send_body(&to, &body).await?);
            }
            Ok(Sent {
                platform_id: last
                    .and_then(|v| v["message"]["body"]["mid"].as_str().map(str::to_string)),
            })
        })
    }

    fn subscribe<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            let body = json!({
                "url": url,
                "secret": self.secret,
                "update_types": UPDATE_TYPES,
            });
            self.post("/subscriptions", &[], &body).await.map(|_| ())
        })
    }

    /// Updates wait on MAX (up to 8 hours) once the subscription is gone.
    fn unsubscribe<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            match self.mode {
                Mode::Webhook if !url.is_empty() => self.delete_subscription(url).await,
                _ => Ok(()),
            }
        })
    }

    fn identity(&self) -> BoxFuture<'_, Result<AccountInfo, SendError>> {
        Box::pin(async move {
            let me = self
                .call(
                    reqwest::Method::GET,
                    "/me",
                    &[],
                    None,
                    Duration::from_secs(30),
                )
                .await?;
            let id = me["user_id"]
                .as_i64()
                .ok_or_else(|| SendError::permanent("MAX's /me has no user_id"))?;
            let name = user_name(&me).unwrap_or_else(|| id.to_string());
            let username = me["username"]
                .as_str()
                .filter(|u| !u.is_empty())
                .map(str::to_string);
            if let Some(u) = &username {
                let _ = self.me.set((id, u.clone()));
            }
            Ok(AccountInfo {
                name: match &username {
                    Some(u) => format!("{name} (@{u})"),
                    None => name,
                },
                id: id.to_string(),
                username,
            })
        })
    }

    fn deep_link(&self, start: &str) -> Option<String> {
        self.me
            .get()
            .map(|(_, username)| format!("https://max.ru/{username}?start={start}"))
    }

    fn acknowledge<'a>(&'a self, inbound: &'a Inbound) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            // Stops the spinner on the pressed button; MAX wants a notification or a message,
            // and losing this is harmless.
            if let Some(id) = inbound
                .platform_message_id
                .as_deref()
                .and_then(|p| p.strip_prefix("cb:"))
                && let Err(e) = self
                    .post(
                        "/answers",
                        &[("callback_id", id.to_string())],
                        &json!({ "notification": "✓" }),
                    )
                    .await
            {
                tracing::debug!(error = %e, "MAX answer to a callback failed");
            }
        })
    }

    fn download<'a>(
        &'a self,
        file: &'a RemoteFile,
        files: &'a super::download::Downloader,
    ) -> BoxFuture<'a, Result<Vec<u8>, SendError>> {
        // MAX attachments come with direct URLs; they are fetched as hostile addresses.
        Box::pin(async move { files.get(&file.id, None).await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn max() -> Max {
        match Max::from_config(
            &json!({"token": "f9LHodD0cOJf4_DkJGeq8BkDgc5vgSwZ"}),
            reqwest::Client::new(),
        ) {
            Ok(m) => m,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn errors_map_to_blocked_retry_or_permanent() {
        let blocked = classify(
            403,
            &json!({"code": "chat.denied", "message": "chat.denied"}),
            "",
            None,
        );
        assert!(blocked.blocked && !blocked.retryable);
        assert!(blocked.message.contains("written to it"));
        let token = classify(
            403,
            &json!({"code": "verify.token", "message": "Invalid access_token"}),
            "",
            None,
        );
        assert!(!token.blocked && !token.retryable);
        let limited = classify(
            429,
            &json!({"code": "too.many.requests", "message": "slow down"}),
            "",
            Some(3),
        );
        assert!(limited.retryable && limited.retry_after == Some(Duration::from_secs(3)));
        assert!(classify(503, &Value::Null, "Service Unavailable", None).retryable);
        assert!(
            !classify(
                400,
                &json!({"code": "proto.payload", "message": "bad"}),
                "",
                None
            )
            .retryable
        );
    }

    #[test]
    fn unknown_updates_are_kept_and_housekeeping_is_skipped() {
        let parsed = max().parse_updates(&[
            json!({"update_type": "brand_new", "timestamp": 1}),
            json!({"update_type": "dialog_muted", "timestamp": 1, "chat_id": 1, "user": {"user_id": 5}}),
            json!({"update_type": "message_created", "timestamp": 1, "message": {
                "recipient": {"chat_id": 9, "chat_type": "dialog", "user_id": 1},
                "sender": {"user_id": 5, "first_name": "Ann", "is_bot": false, "name": "Ann"},
                "timestamp": 1, "body": {"mid": "mid.1", "seq": 1, "text": "hi"}}}),
        ]);
        assert_eq!(parsed.unparsed.len(), 1);
        assert_eq!(parsed.inbound.len(), 1);
        assert_eq!(parsed.inbound[0].external_user_id, "5");
    }

    #[test]
    fn a_vcard_gives_name_and_phone() {
        let (n, p) = vcard(
            "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Анна Ким\r\nTEL;TYPE=cell:+7 912 000-11-22\r\nEND:VCARD",
        );
        assert_eq!(n.as_deref(), Some("Анна Ким"));
        assert_eq!(p.as_deref(), Some("+7 912 000-11-22"));
    }

    #[test]
    fn bad_settings_are_refused_by_key() {
        let http = reqwest::Client::new();
        let e = |c: Value| Max::from_config(&c, http.clone()).err().unwrap_or_default();
        assert!(e(json!({})).contains("token"));
        assert!(e(json!({"token": "short"})).contains("token"));
        assert!(e(json!({"token": "f9LHodD0cOJf4_DkJGeq8", "mode": "fax"})).contains("mode"));
        assert!(e(json!({"token": "f9LHodD0cOJf4_DkJGeq8", "secret": "a b"})).contains("secret"));
        assert!(
            e(json!({"token": "f9LHodD0cOJf4_DkJGeq8", "poll_timeout": 91}))
                .contains("poll_timeout")
        );
    }
}
