//! Avito Messenger: chats about listings. OAuth client-credentials token (24 h), cached and
//! fetched anew shortly before expiry or when Avito refuses it. Avito signs nothing, so the
//! webhook URL carries a secret; `perepiska channels subscribe ID` registers it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use serde_json::{Value, json};

use super::{
    AccountInfo, Capabilities, ChannelAdapter, Inbound, InboundEvent, Outbound, Parsed, RawRequest,
    RemoteFile, SendError, Sent, WebhookError, WebhookReply, secret_path,
};
use crate::store::contacts::ContactHint;

pub const MAX_TEXT_CHARS: usize = 4000;

pub struct Avito {
    client_id: String,
    client_secret: String,
    /// Our account id: the `user_id` of every messenger call.
    user_id: i64,
    webhook_secret: String,
    api_base: String,
    show_operator_name: bool,
    http: reqwest::Client,
    token: Mutex<Option<(String, Instant)>>,
    /// What each chat is about and who the buyer is, fetched once per chat.
    chats: Mutex<HashMap<String, ChatInfo>>,
}

#[derive(Clone, Debug, Default)]
struct ChatInfo {
    item_id: Option<i64>,
    title: Option<String>,
    url: Option<String>,
    buyer: Option<String>,
}

/// Chats remembered before the cache starts over (a few hundred bytes each).
const CHAT_CACHE: usize = 10_000;

fn item_url(item: i64) -> String {
    format!("https://www.avito.ru/{item}")
}

/// The first line of a message in a chat about a listing.
fn listing_line(title: Option<&str>, url: &str) -> String {
    match title {
        Some(t) => format!("🏷 Объявление «{t}» {url}"),
        None => format!("🏷 Объявление {url}"),
    }
}

impl Avito {
    /// Subscribing and unsubscribing our webhook address: the same call to two endpoints.
    async fn webhook_call(&self, path: &str, hook: &str) -> Result<(), SendError> {
        let url = format!("{}{path}", self.api_base);
        self.call(|t| {
            self.http
                .post(&url)
                .bearer_auth(t)
                .json(&json!({ "url": hook }))
        })
        .await
        .map(|_| ())
    }

    pub fn from_config(config: &Value, http: reqwest::Client) -> Result<Self, String> {
        let user_id = match config.get("user_id") {
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(v)) => v.trim().parse().ok(),
            _ => None,
        }
        .ok_or(
            "user_id is required for kind \"avito\": the account id (GET /core/v1/accounts/self)",
        )?;
        Ok(Avito {
            client_id: super::common::required(config, "client_id", "avito")?,
            client_secret: super::common::required(config, "client_secret", "avito")?,
            user_id,
            webhook_secret: secret_path::from_config(config, "avito")?,
            api_base: super::common::api_base(config, "https://api.avito.ru")?,
            show_operator_name: super::common::flag(config, "show_operator_name", true)?,
            http,
            token: Mutex::new(None),
            chats: Mutex::new(HashMap::new()),
        })
    }

    /// A valid access token, fetched when missing or within a minute of expiry.
    async fn token(&self) -> Result<String, SendError> {
        if let Some((t, until)) = self.token.lock().unwrap_or_else(|e| e.into_inner()).clone()
            && Instant::now() + Duration::from_secs(60) < until
        {
            return Ok(t);
        }
        let resp = self
            .http
            .post(format!("{}/token", self.api_base))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", self.client_id.as_str()),
                ("client_secret", self.client_secret.as_str()),
            ])
            .send()
            .await
            .map_err(|e| SendError::from_reqwest(&e))?;
        let status = resp.status().as_u16();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        let Some(t) = v["access_token"].as_str() else {
            let e = SendError::from_status(status, &v.to_string());
            return Err(if status == 400 || status == 401 || status == 403 {
                SendError::permanent(format!(
                    "Avito refused client_id/client_secret: {}",
                    e.message
                ))
            } else {
                e
            });
        };
        let ttl = Duration::from_secs(v["expires_in"].as_u64().unwrap_or(3600));
        *self.token.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((t.to_string(), Instant::now() + ttl));
        Ok(t.to_string())
    }

    /// The listing and the buyer of a chat (GET …/chats/{id}), cached.
    async fn chat_info(&self, chat: &str) -> Result<ChatInfo, SendError> {
        if let Some(i) = self
            .chats
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(chat)
        {
            return Ok(i.clone());
        }
        let url = format!(
            "{}/messenger/v2/accounts/{}/chats/{}",
            self.api_base,
            self.user_id,
            super::common::path_segment(chat)
        );
        let v = self.call(|t| self.http.get(&url).bearer_auth(t)).await?;
        let item = &v["context"]["value"];
        let info = ChatInfo {
            item_id: item["id"].as_i64(),
            title: item["title"].as_str().map(str::to_string),
            url: item["url"].as_str().map(str::to_string),
            buyer: v["users"].as_array().and_then(|users| {
                users
                    .iter()
                    .find(|u| u["id"].as_i64() != Some(self.user_id))
                    .and_then(|u| u["name"].as_str())
                    .map(str::to_string)
            }),
        };
        let mut chats = self.chats.lock().unwrap_or_else(|e| e.into_inner());
        if chats.len() >= CHAT_CACHE {
            chats.clear();
        }
        chats.insert(chat.to_string(), info.clone());
        Ok(info)
    }

    /// Uploads an image (the only kind of file Avito chats carry) and returns its id.
    async fn upload_image(&self, f: &super::OutboundFile) -> Result<String, SendError> {
        let bytes = tokio::fs::read(&f.path)
            .await
            .map_err(|e| SendError::permanent(format!("cannot read attachment {}: {e}", f.name)))?;
        let url = format!(
            "{}/messenger/v1/accounts/{}/uploadImages",
            self.api_base, self.user_id
        );
        let v = self
            .call(|t| {
                // Rebuilt per attempt: a refused token repeats the request.
                let part = reqwest::multipart::Part::bytes(bytes.clone()).file_name(f.name.clone());
                self.http
                    .post(&url)
                    .bearer_auth(t)
                    .multipart(reqwest::multipart::Form::new().part("uploadfile[]", part))
            })
            .await?;
        v.as_object()
            .and_then(|o| o.keys().next().cloned())
            .ok_or_else(|| SendError::retry(format!("Avito returned no image id for {}", f.name)))
    }

    fn forget_token(&self) {
        *self.token.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Sends a request with the token; a refused token is replaced once and the call repeated.
    async fn call(
        &self,
        make: impl Fn(&str) -> reqwest::RequestBuilder,
    ) -> Result<Value, SendError> {
        for attempt in 0..2 {
            let token = self.token().await?;
            let resp = make(&token)
                .timeout(Duration::from_secs(30))
                .send()
                .await
                .map_err(|e| SendError::from_reqwest(&e))?;
            let status = resp.status().as_u16();
            if (status == 401 || status == 403) && attempt == 0 {
                self.forget_token();
                continue;
            }
            let text = resp.text().await.unwrap_or_default();
            if !(200..300).contains(&status) {
                return Err(SendError::from_status(status, &text));
            }
            return Ok(serde_json::from_str(&text).unwrap_or(Value::Null));
        }
        Err(SendError::permanent("Avito refused a fresh token"))
    }
}

fn is_image(content_type: &str) -> bool {
    matches!(
        content_type,
        "image/jpeg" | "image/png" | "image/gif" | "image/bmp" | "image/heic"
    )
}

fn to_inbound(v: &Value, our_id: i64) -> Option<Inbound> {
    let m = &v["payload"]["value"];
    // Our own messages come back too; system messages are Avito's.
    if m["author_id"].as_i64() == Some(our_id) || m["type"] == "system" {
        return None;
    }
    let chat = m["chat_id"].as_str()?.to_string();
    let c = &m["content"];
    let mut text = c["text"].as_str().unwrap_or_default().to_string();
    let mut remote = Vec::new();
    match m["type"].as_str().unwrap_or_default() {
        "image" => {
            // A map from size to URL; the largest by pixel count is kept.
            let best = c["image"]["sizes"].as_object().and_then(|sizes| {
                sizes
                    .iter()
                    .max_by_key(|(k, _)| {
                        k.split('x')
                            .filter_map(|n| n.parse::<u64>().ok())
                            .product::<u64>()
                    })
                    .and_then(|(_, url)| url.as_str())
            });
            remote.extend(best.map(|u| RemoteFile {
                id: u.to_string(),
                name: format!("photo_{}.jpg", m["id"].as_str().unwrap_or("avito")),
                content_type: Some("image/jpeg".into()),
                size: None,
            }));
        }
        "link" => text = c["link"]["url"].as_str().unwrap_or_default().to_string(),
        "location" => {
            text = format!(
                "📍 Геопозиция: {}, {}",
                c["location"]["lat"], c["location"]["lon"]
            )
        }
        "voice" => text = "[Голосовое сообщение]".into(),
        _ => {}
    }
    // Chats about a listing say which one (the title is added by `enrich`).
    if let Some(item) = m["item_id"].as_i64() {
        text = format!("{}\n{text}", listing_line(None, &item_url(item)));
    }
    Some(Inbound {
        external_user_id: chat,
        contact: ContactHint::default(),
        platform_message_id: m["id"].as_str().map(str::to_string),
        event: InboundEvent::Message {
            text: text.trim().to_string(),
            files: Vec::new(),
            remote,
        },
    })
}

impl ChannelAdapter for Avito {
    fn kind(&self) -> super::ChannelKind {
        super::ChannelKind::Avito
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn capabilities(&self) -> Capabilities {
        // No buttons on Avito: the bot numbers its menus.
        Capabilities {
            buttons: false,
            files: true,
            max_text_chars: MAX_TEXT_CHARS,
            verified_phone: false,
        }
    }

    fn webhook_path(&self, key: &str) -> String {
        format!("/webhooks/{key}/{}", self.webhook_secret)
    }

    fn parse(&self, req: &RawRequest) -> Result<Parsed, WebhookError> {
        secret_path::check(req, &self.webhook_secret)?;
        let v: Value = serde_json::from_slice(&req.body)
            .map_err(|e| WebhookError::BadRequest(format!("not JSON: {e}")))?;
        // Avito checks the URL with an empty object when subscribing.
        let is_message = v["payload"]["type"] == "message";
        let inbound: Vec<Inbound> = if is_message {
            to_inbound(&v, self.user_id).into_iter().collect()
        } else {
            Vec::new()
        };
        let unparsed = if !is_message && v.as_object().is_some_and(|o| !o.is_empty()) {
            vec![(v.to_string(), "not a message notification".to_string())]
        } else {
            Vec::new()
        };
        Ok(Parsed {
            inbound,
            reply: WebhookReply::Json(json!({"ok": true})),
            unparsed,
        })
    }

    fn send<'a>(&'a self, out: &'a Outbound) -> BoxFuture<'a, Result<Sent, SendError>> {
        Box::pin(async move {
            let text = super::common::signed_text(out, self.show_operator_name);
            if let Some(f) = out.files.iter().find(|f| !is_image(&f.content_type)) {
                return Err(SendError::permanent(format!(
                    "Avito chats carry only images (JPEG, PNG, GIF, BMP, HEIC); {} is {}",
                    f.name, f.content_type
                )));
            }
            let url = format!(
                "{}/messenger/v1/accounts/{}/chats/{}/messages",
                self.api_base,
                self.user_id,
                super::common::path_segment(&out.recipient)
            );
            let mut last = None;
            for f in &out.files {
                let image_id = self.upload_image(f).await?;
                let v = self
                    .call(|t| {
                        self.http
                            .post(format!("{url}/image"))
                            .bearer_auth(t)
                            .json(&json!({ "image_id": image_id }))
                    })
                    .await?;
                last = v["id"].as_str().map(str::to_string);
            }
            for part in crate::domain::text::split_text(&text, MAX_TEXT_CHARS) {
                let body = json!({ "message": { "text": part }, "type": "text" });
                let v = self
                    .call(|t| self.http.post(&url).bearer_auth(t).json(&body))
                    .await?;
                last = v["id"].as_str().map(str::to_string);
            }
            Ok(Sent { platform_id: last })
        })
    }

    fn identity(&self) -> BoxFuture<'_, Result<AccountInfo, SendError>> {
        Box::pin(async move {
            let url = format!("{}/core/v1/accounts/self", self.api_base);
            let v = self.call(|t| self.http.get(&url).bearer_auth(t)).await?;
            Ok(AccountInfo {
                name: v["name"].as_str().unwrap_or_default().to_string(),
                id: v["id"].to_string(),
                username: None,
            })
        })
    }

    fn subscribe<'a>(&'a self, hook: &'a str) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(self.webhook_call("/messenger/v3/webhook", hook))
    }

    fn unsubscribe<'a>(&'a self, hook: &'a str) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(self.webhook_call("/messenger/v1/webhook/unsubscribe", hook))
    }

    fn enrich<'a>(&'a self, inbound: &'a mut Inbound) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            // Avito wants the webhook answered within 2 s: the title is not worth a redelivery.
            let info = match tokio::time::timeout(
                Duration::from_millis(1200),
                self.chat_info(&inbound.external_user_id),
            )
            .await
            .unwrap_or_else(|_| Err(SendError::retry("no answer in 1.2 s")))
            {
                Ok(i) => i,
                Err(e) => {
                    tracing::warn!(
                        chat = %inbound.external_user_id,
                        error = %e,
                        "Avito listing not fetched"
                    );
                    return;
                }
            };
            if inbound.contact.name.is_none() {
                inbound.contact.name = info.buyer.clone();
            }
            if let (Some(item), Some(title), InboundEvent::Message { text, .. }) =
                (info.item_id, &info.title, &mut inbound.event)
            {
                let plain = listing_line(None, &item_url(item));
                if let Some(rest) = text.strip_prefix(&plain) {
                    let url = info.url.clone().unwrap_or_else(|| item_url(item));
                    *text = format!("{}{rest}", listing_line(Some(title), &url));
                }
            }
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
