//! Viber bots (REST Bot API). Webhook only: Viber signs every callback with HMAC-SHA256 of
//! the body keyed by the bot token (`X-Viber-Content-Signature`). Keyboard buttons come back
//! as ordinary text messages, so ours carry a marker the parser recognises.

use std::time::Duration;

use futures_util::future::BoxFuture;
use serde_json::{Value, json};

use super::{
    AccountInfo, Capabilities, ChannelAdapter, Inbound, InboundEvent, Keyboard, Outbound, Parsed,
    RawRequest, RemoteFile, SendError, Sent, WebhookError, WebhookReply,
};
use crate::domain::{Delivery, Press};
use crate::store::contacts::ContactHint;

pub const MAX_TEXT_CHARS: usize = 7000;
pub const SIGNATURE_HEADER: &str = "X-Viber-Content-Signature";
/// What our buttons send back as text: "#cmd:<data>".
const BUTTON_MARK: &str = "#cmd:";

pub struct Viber {
    token: String,
    sender_name: String,
    sender_avatar: Option<String>,
    api_base: String,
    show_operator_name: bool,
    /// Answer to conversation_started (the only message Viber lets us send before the
    /// customer subscribes).
    welcome_message: Option<String>,
    helpdesk: bool,
    http: reqwest::Client,
}

impl Viber {
    pub fn from_config(name: &str, config: &Value, http: reqwest::Client) -> Result<Self, String> {
        let token = super::common::opt_str(config, "token")?
            .filter(|t| !t.trim().is_empty())
            .ok_or("token is required for kind \"viber\"")?;
        let sender_name =
            super::common::opt_str(config, "sender_name")?.unwrap_or_else(|| name.to_string());
        if sender_name.chars().count() > 28 || sender_name.trim().is_empty() {
            return Err("sender_name must be 1-28 characters (Viber's limit)".into());
        }
        let api_base = super::common::api_base(config, "https://chatapi.viber.com")?;
        let show_operator_name = super::common::flag(config, "show_operator_name", true)?;
        let welcome_message =
            super::common::opt_str(config, "welcome_message")?.filter(|w| !w.trim().is_empty());
        if welcome_message
            .as_ref()
            .is_some_and(|w| w.chars().count() > MAX_TEXT_CHARS)
        {
            return Err(format!(
                "welcome_message must be at most {MAX_TEXT_CHARS} characters"
            ));
        }
        // The bot's keys are checked with the bot's other settings; here only whether it
        // greets customers.
        let helpdesk = super::common::opt_str(config, "routing")?.as_deref() == Some("helpdesk");
        Ok(Viber {
            welcome_message,
            helpdesk,
            token,
            sender_name,
            sender_avatar: super::common::opt_str(config, "sender_avatar")?,
            api_base,
            show_operator_name,
            http,
        })
    }

    async fn call(&self, method: &str, body: Value) -> Result<Value, SendError> {
        let resp = self
            .http
            .post(format!("{}/pa/{method}", self.api_base))
            .timeout(Duration::from_secs(30))
            .header("X-Viber-Auth-Token", &self.token)
            .json(&body)
            .send()
            .await
            .map_err(|e| SendError::from_reqwest(&e))?;
        let text = super::common::body_if_ok(resp).await?;
        let v: Value = serde_json::from_str(&text)
            .map_err(|e| SendError::retry(format!("bad Viber answer: {e}")))?;
        match v["status"].as_i64() {
            Some(0) => Ok(v),
            code => Err(classify(
                code.unwrap_or(-1),
                v["status_message"].as_str().unwrap_or(""),
            )),
        }
    }

    /// The welcome shown when a customer opens the chat: the configured text, or the bot's
    /// greeting and first buttons when the bot answers this channel.
    fn welcome(&self, ev: &Value) -> Value {
        let lang = crate::i18n::Lang::of(ev["user"]["language"].as_str());
        let t = |k| crate::i18n::customer::t(lang, k).to_string();
        let text = match (&self.welcome_message, self.helpdesk) {
            (Some(w), _) => w.clone(),
            (None, true) => t("welcome"),
            (None, false) => return json!({}),
        };
        let mut body =
            json!({ "sender": { "name": self.sender_name }, "type": "text", "text": text });
        if self.helpdesk {
            let b = |k, press: Press| super::Button {
                label: t(k),
                data: press.to_string(),
            };
            body["keyboard"] = keyboard_json(&Keyboard {
                rows: vec![
                    vec![b("btn_new", Press::New)],
                    vec![b("btn_status", Press::Status)],
                ],
                request_phone: None,
            });
        }
        body
    }

    /// Registers our webhook; Viber calls it back at once, so the server must be up.
    pub async fn set_webhook(&self, url: &str) -> Result<(), SendError> {
        self.call(
            "set_webhook",
            json!({
                "url": url,
                "event_types": ["delivered", "seen", "failed", "subscribed", "unsubscribed", "conversation_started"],
                "send_name": true,
                "send_photo": false,
            }),
        )
        .await
        .map(|_| ())
    }
}

/// Viber's status codes (sent inside HTTP 200 answers).
fn classify(code: i64, msg: &str) -> SendError {
    let text = format!("Viber status {code}: {msg}");
    match code {
        // Receiver not registered / not subscribed (unsubscribed or never wrote).
        5 | 6 => SendError::blocked(text),
        // Too many requests.
        12 => SendError::retry(text),
        _ => SendError::permanent(text),
    }
}

/// message_token is a ~63-bit integer (beyond what f64 keeps exactly) or a string.
fn token_of(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => n
            .as_u64()
            .map(|t| t.to_string())
            .or_else(|| n.as_i64().map(|t| t.to_string())),
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

fn message_to_inbound(ev: &Value) -> Option<Inbound> {
    let sender = &ev["sender"];
    let user = sender["id"].as_str()?.to_string();
    let token = token_of(&ev["message_token"])?;
    let m = &ev["message"];
    let hint = ContactHint {
        name: sender["name"].as_str().map(str::to_string),
        language: sender["language"].as_str().map(str::to_string),
        ..ContactHint::default()
    };
    let mut text = m["text"].as_str().unwrap_or_default().to_string();
    if let Some(data) = text.strip_prefix(BUTTON_MARK) {
        return Some(Inbound {
            external_user_id: user,
            contact: hint,
            platform_message_id: Some(token),
            event: InboundEvent::Button {
                data: data.to_string(),
            },
        });
    }
    let mut remote = Vec::new();
    let mut card = None;
    match m["type"].as_str().unwrap_or_default() {
        "picture" => remote.push(RemoteFile {
            id: m["media"].as_str()?.to_string(),
            name: format!("photo_{token}.jpg"),
            content_type: Some("image/jpeg".into()),
            size: None,
        }),
        "video" | "file" => remote.push(RemoteFile {
            id: m["media"].as_str()?.to_string(),
            name: m["file_name"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| format!("video_{token}.mp4")),
            content_type: None,
            size: m["size"].as_u64(),
        }),
        "sticker" => text = "[Стикер]".into(),
        "location" => {
            let (lat, lon) = (
                m["location"]["lat"].as_f64()?,
                m["location"]["lon"].as_f64()?,
            );
            text = super::common::location_text(lat, lon);
        }
        "contact" => {
            let number = super::common::normalize_phone(
                m["contact"]["phone_number"].as_str().unwrap_or_default(),
            );
            // Not taken as the sender's own: a contact card can carry anyone's number.
            card = Some((
                m["contact"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                number,
                false,
            ));
        }
        "url" => text = m["media"].as_str().unwrap_or_default().to_string(),
        _ => {}
    }
    if text.trim().is_empty() && remote.is_empty() {
        text = "[Сообщение без текста]".into();
    }
    Some(Inbound {
        external_user_id: user,
        contact: hint,
        platform_message_id: Some(token),
        event: InboundEvent::message_or_card(text, remote, card),
    })
}

/// A picture (Viber shows JPEG/PNG/GIF up to 1 MB inline) or a file message for an
/// attachment; None when the server has no public URL to give Viber.
fn media_message(f: &super::OutboundFile) -> Option<Value> {
    let url = f.public_url.as_ref()?;
    let picture = matches!(
        f.content_type.as_str(),
        "image/jpeg" | "image/png" | "image/gif"
    ) && f.size <= 1024 * 1024;
    Some(if picture {
        json!({ "type": "picture", "text": "", "media": url })
    } else {
        json!({ "type": "file", "media": url, "size": f.size, "file_name": crate::domain::text::truncate_chars(&f.name, 256) })
    })
}

fn keyboard_json(k: &Keyboard) -> Value {
    let mut buttons: Vec<Value> = k
        .rows
        .iter()
        .flatten()
        .map(|b| {
            json!({
                "Columns": 6, "Rows": 1, "ActionType": "reply", "Silent": true,
                "ActionBody": format!("{BUTTON_MARK}{}", b.data),
                "Text": b.label,
            })
        })
        .collect();
    if let Some(label) = &k.request_phone {
        buttons.push(json!({ "Columns": 6, "Rows": 1, "ActionType": "share-phone", "ActionBody": "phone", "Text": label }));
    }
    json!({ "Type": "keyboard", "DefaultHeight": false, "Buttons": buttons })
}

impl ChannelAdapter for Viber {
    fn kind(&self) -> super::ChannelKind {
        super::ChannelKind::Viber
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            buttons: true,
            // Viber takes media only by public URL (served from /media/…).
            files: true,
            max_text_chars: MAX_TEXT_CHARS,
            verified_phone: false,
        }
    }

    fn parse(&self, req: &RawRequest) -> Result<Parsed, WebhookError> {
        let sig = req
            .header(SIGNATURE_HEADER)
            .ok_or_else(|| WebhookError::Unauthorized(format!("missing {SIGNATURE_HEADER}")))?;
        if !crate::crypto::verify_hmac_sha256(self.token.as_bytes(), &req.body, sig) {
            return Err(WebhookError::Unauthorized(
                "signature does not match the body".into(),
            ));
        }
        let ev: Value = serde_json::from_slice(&req.body)
            .map_err(|e| WebhookError::BadRequest(format!("callback is not JSON: {e}")))?;
        check_fresh(&ev, chrono::Utc::now().timestamp_millis())?;
        let user = ev["user_id"].as_str().map(str::to_string);
        let token = token_of(&ev["message_token"]);
        let status = |state: Delivery| -> Option<Inbound> {
            Some(Inbound {
                external_user_id: user.clone()?,
                contact: ContactHint::default(),
                platform_message_id: None,
                event: InboundEvent::Status {
                    platform_id: token.clone()?,
                    state,
                    error: ev["desc"].as_str().map(str::to_string),
                },
            })
        };
        let (inbound, unparsed) = match ev["event"].as_str().unwrap_or_default() {
            "message" => match message_to_inbound(&ev) {
                Some(i) => (vec![i], Vec::new()),
                None => (
                    Vec::new(),
                    vec![(
                        ev.to_string(),
                        "message without sender or token".to_string(),
                    )],
                ),
            },
            "unsubscribed" => (
                user.clone()
                    .map(|u| Inbound {
                        external_user_id: u,
                        contact: ContactHint::default(),
                        platform_message_id: None,
                        event: InboundEvent::Blocked,
                    })
                    .into_iter()
                    .collect(),
                Vec::new(),
            ),
            "delivered" => (
                status(Delivery::Delivered).into_iter().collect(),
                Vec::new(),
            ),
            "seen" => (status(Delivery::Read).into_iter().collect(), Vec::new()),
            "failed" => (status(Delivery::Failed).into_iter().collect(), Vec::new()),
            "conversation_started" => {
                return Ok(Parsed {
                    inbound: Vec::new(),
                    reply: WebhookReply::Json(self.welcome(&ev)),
                    unparsed: Vec::new(),
                });
            }
            // webhook (the set_webhook check), subscribed: just 200.
            "webhook" | "subscribed" | "client_status" => (Vec::new(), Vec::new()),
            other => (
                Vec::new(),
                vec![(ev.to_string(), format!("event {other} is not handled"))],
            ),
        };
        Ok(Parsed {
            inbound,
            reply: WebhookReply::Json(json!({})),
            unparsed,
        })
    }

    fn send<'a>(&'a self, out: &'a Outbound) -> BoxFuture<'a, Result<Sent, SendError>> {
        Box::pin(async move {
            let text = super::common::signed_text(out, self.show_operator_name);
            // Viber fetches media from a public URL; without one, say so before sending anything.
            let media = out
                .files
                .iter()
                .map(|f| {
                    media_message(f).ok_or_else(|| {
                        SendError::permanent(format!(
                            "Viber takes files only by public URL: set --public-url to send {}",
                            f.name
                        ))
                    })
                })
                .collect::<Result<Vec<Value>, SendError>>()?;
            let mut sender = json!({ "name": self.sender_name });
            if let Some(a) = &self.sender_avatar {
                sender["avatar"] = json!(a);
            }
            let mut bodies: Vec<Value> = media;
            if !text.trim().is_empty() || bodies.is_empty() {
                for part in crate::domain::text::split_text(&text, MAX_TEXT_CHARS) {
                    bodies.push(json!({ "type": "text", "text": part }));
                }
            }
            let count = bodies.len();
            let mut last = None;
            for (i, mut body) in bodies.into_iter().enumerate() {
                body["receiver"] = json!(out.recipient);
                body["sender"] = sender.clone();
                if i + 1 == count
                    && let Some(k) = &out.keyboard
                {
                    body["keyboard"] = keyboard_json(k);
                    if k.request_phone.is_some() {
                        body["min_api_version"] = json!(3);
                    }
                }
                let v = self.call("send_message", body).await?;
                last = token_of(&v["message_token"]);
            }
            Ok(Sent { platform_id: last })
        })
    }

    /// Viber removes the webhook when it is set to an empty URL.
    /// The webhook is set at every start: Viber keeps one per bot and the address may change.
    fn subscribes_at_start(&self) -> bool {
        true
    }

    fn subscribe<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move { self.set_webhook(url).await })
    }

    fn unsubscribe<'a>(&'a self, _url: &'a str) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            self.call("set_webhook", json!({ "url": "" }))
                .await
                .map(|_| ())
        })
    }

    fn identity(&self) -> BoxFuture<'_, Result<AccountInfo, SendError>> {
        Box::pin(async move {
            let v = self.call("get_account_info", json!({})).await?;
            Ok(AccountInfo {
                name: v["name"].as_str().unwrap_or_default().to_string(),
                id: v["id"].as_str().unwrap_or_default().to_string(),
                username: v["uri"].as_str().map(str::to_string),
            })
        })
    }

    fn download<'a>(
        &'a self,
        file: &'a RemoteFile,
        files: &'a super::download::Downloader,
    ) -> BoxFuture<'a, Result<Vec<u8>, SendError>> {
        Box::pin(async move { files.get(&file.id, None).await })
    }
}

/// Viber retries a callback for about an hour; a signed body much older than that is a
/// replay of a captured request, not a delivery.
const REPLAY_WINDOW_MS: i64 = 6 * 3600 * 1000;
/// Clocks differ a little.
const FUTURE_SKEW_MS: i64 = 5 * 60 * 1000;

fn check_fresh(ev: &Value, now_ms: i64) -> Result<(), WebhookError> {
    match ev["timestamp"].as_i64() {
        Some(t) if t < now_ms - REPLAY_WINDOW_MS => Err(WebhookError::Unauthorized(
            "the event is more than 6 hours old: a replayed request is refused".into(),
        )),
        Some(t) if t > now_ms + FUTURE_SKEW_MS => Err(WebhookError::Unauthorized(
            "the event's timestamp is in the future".into(),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_and_future_events_are_refused_as_replays() {
        let now = 1_800_000_000_000;
        assert!(check_fresh(&json!({"timestamp": now - 60_000}), now).is_ok());
        assert!(check_fresh(&json!({"timestamp": now - 7 * 3600 * 1000}), now).is_err());
        assert!(check_fresh(&json!({"timestamp": now + 3600 * 1000}), now).is_err());
    }

    #[test]
    fn message_tokens_beyond_f64_precision_stay_exact() {
        let v: Value = serde_json::from_str(r#"{"t": 4912661846655238145}"#).unwrap_or_default();
        assert_eq!(token_of(&v["t"]).as_deref(), Some("4912661846655238145"));
        assert_eq!(token_of(&json!("5")).as_deref(), Some("5"));
    }

    #[test]
    fn statuses_map_to_blocked_retry_or_permanent() {
        assert!(classify(6, "receiverNotSubscribed").blocked);
        assert!(classify(12, "tooManyRequests").retryable);
        assert!(!classify(3, "badData").retryable);
    }
}
