//! OK.ru group messages (Bot API over Graph). OK signs nothing, so the webhook URL carries a
//! secret; the subscription is made with `perepiska channels subscribe ID`.

use std::time::Duration;

use futures_util::future::BoxFuture;
use serde_json::{Value, json};

use super::{
    AccountInfo, Capabilities, ChannelAdapter, Inbound, InboundEvent, Outbound, Parsed, RawRequest,
    RemoteFile, SendError, Sent, WebhookError, WebhookReply, secret_path,
};
use crate::store::contacts::ContactHint;

pub const MAX_TEXT_CHARS: usize = 4000;

pub struct Ok {
    access_token: String,
    webhook_secret: String,
    api_base: String,
    show_operator_name: bool,
    http: reqwest::Client,
}

impl Ok {
    pub fn from_config(config: &Value, http: reqwest::Client) -> Result<Self, String> {
        Ok(Ok {
            access_token: super::common::required(config, "access_token", "ok")?,
            webhook_secret: secret_path::from_config(config, "ok")?,
            api_base: super::common::api_base(config, "https://api.ok.ru")?,
            show_operator_name: super::common::flag(config, "show_operator_name", true)?,
            http,
        })
    }

    async fn call(&self, req: reqwest::RequestBuilder) -> Result<Value, SendError> {
        let resp = req
            .query(&[("access_token", self.access_token.as_str())])
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .map_err(|e| SendError::from_reqwest(&e))?;
        let text = super::common::body_if_ok(resp).await?;
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if let Some(code) = v.get("error_code") {
            let msg = format!("OK error {code}: {}", v["error_msg"].as_str().unwrap_or(""));
            // OK documents no codes worth retrying; a rate limit shows up as a 5xx.
            return Err(SendError::permanent(msg));
        }
        Result::Ok(v)
    }
}

impl Ok {
    /// Uploads an attachment and returns it as a message attachment. The token comes from
    /// fileUploadUrl (files) or from the upload's answer (photos answer with
    /// `{"photos": {id: {"token": …}}}`), whichever is there.
    async fn upload(&self, f: &super::OutboundFile) -> Result<Value, SendError> {
        let kind = if matches!(
            f.content_type.as_str(),
            "image/jpeg" | "image/png" | "image/gif"
        ) {
            "IMAGE"
        } else {
            "FILE"
        };
        let slot = self
            .call(
                self.http
                    .get(format!("{}/graph/me/fileUploadUrl", self.api_base))
                    .query(&[("type", kind)]),
            )
            .await?;
        let url = slot["url"]
            .as_str()
            .ok_or_else(|| SendError::retry("OK gave no upload url"))?;
        let (part, _) = super::common::file_part(f).await?;
        let resp = self
            .http
            .post(url)
            .timeout(Duration::from_secs(120))
            .multipart(reqwest::multipart::Form::new().part("file", part))
            .send()
            .await
            .map_err(|e| SendError::from_reqwest(&e))?;
        let text = super::common::body_if_ok(resp).await?;
        let uploaded: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let token = uploaded["token"]
            .as_str()
            .or_else(|| {
                uploaded["photos"]
                    .as_object()
                    .and_then(|p| p.values().find_map(|v| v["token"].as_str()))
            })
            .or_else(|| slot["token"].as_str())
            .ok_or_else(|| SendError::retry(format!("OK upload gave no token for {}", f.name)))?;
        Result::Ok(json!({ "type": kind, "payload": { "token": token } }))
    }
}

fn to_inbound(ev: &Value) -> Option<Inbound> {
    let chat = ev["recipient"]["chat_id"].as_str()?.to_string();
    let name = ev["sender"]["name"].as_str().map(str::to_string);
    match ev["webhookType"].as_str().unwrap_or("MESSAGE_CREATED") {
        "MESSAGE_CREATED" => {
            let m = &ev["message"];
            let mut text = m["text"].as_str().unwrap_or_default().to_string();
            let mut remote = Vec::new();
            let mut card = None;
            for a in m["attachments"].as_array().cloned().unwrap_or_default() {
                let p = &a["payload"];
                match a["type"].as_str().unwrap_or_default() {
                    "IMAGE" => remote.extend(p["url"].as_str().map(|u| RemoteFile {
                        id: u.to_string(),
                        name: format!("photo_{}.jpg", p["id"].as_str().unwrap_or("ok")),
                        content_type: Some("image/jpeg".into()),
                        size: None,
                    })),
                    "CONTACT" => {
                        let number =
                            super::common::normalize_phone(p["phone"].as_str().unwrap_or_default());
                        card = Some((
                            p["name"].as_str().unwrap_or_default().to_string(),
                            number,
                            false,
                        ));
                    }
                    "LOCATION" => {
                        text = format!("📍 Геопозиция: {}, {}", p["latitude"], p["longitude"]);
                    }
                    "STICKER" => text = "[Стикер]".into(),
                    other if !other.is_empty() => text.push_str(&format!("\n[Вложение: {other}]")),
                    _ => {}
                }
            }
            if text.trim().is_empty() && remote.is_empty() {
                text = "[Сообщение без текста]".into();
            }
            Some(Inbound {
                external_user_id: chat,
                contact: ContactHint {
                    name,
                    ..ContactHint::default()
                },
                platform_message_id: m["mid"].as_str().map(str::to_string),
                event: InboundEvent::message_or_card(text.trim().to_string(), remote, card),
            })
        }
        "MESSAGE_CALLBACK" => Some(Inbound {
            external_user_id: chat,
            contact: ContactHint {
                name,
                ..ContactHint::default()
            },
            platform_message_id: ev["callbackId"].as_str().map(|c| format!("cb:{c}")),
            event: InboundEvent::Button {
                data: ev["payload"].as_str()?.to_string(),
            },
        }),
        _ => None,
    }
}

impl ChannelAdapter for Ok {
    fn kind(&self) -> super::ChannelKind {
        super::ChannelKind::Ok
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            buttons: true,
            files: false,
            max_text_chars: MAX_TEXT_CHARS,
            verified_phone: false,
        }
    }

    fn webhook_path(&self, key: &str) -> String {
        format!("/webhooks/{key}/{}", self.webhook_secret)
    }

    fn parse(&self, req: &RawRequest) -> Result<Parsed, WebhookError> {
        secret_path::check(req, &self.webhook_secret)?;
        let ev: Value = serde_json::from_slice(&req.body)
            .map_err(|e| WebhookError::BadRequest(format!("event is not JSON: {e}")))?;
        let kind = ev["webhookType"].as_str().unwrap_or("MESSAGE_CREATED");
        let inbound: Vec<Inbound> = to_inbound(&ev).into_iter().collect();
        let unparsed = if inbound.is_empty() && kind != "CHAT_SYSTEM" {
            vec![(ev.to_string(), format!("event {kind} is not handled"))]
        } else {
            Vec::new()
        };
        Result::Ok(Parsed {
            inbound,
            reply: WebhookReply::Json(json!({})),
            unparsed,
        })
    }

    fn send<'a>(&'a self, out: &'a Outbound) -> BoxFuture<'a, Result<Sent, SendError>> {
        Box::pin(async move {
            let text = super::common::signed_text(out, self.show_operator_name);
            let mut attachments = Vec::new();
            for f in &out.files {
                attachments.push(self.upload(f).await?);
            }
            let mut parts = crate::domain::text::split_text(&text, MAX_TEXT_CHARS);
            if parts.is_empty() {
                parts.push(String::new());
            }
            let count = parts.len();
            let mut last = None;
            for (i, part) in parts.into_iter().enumerate() {
                let mut message = json!({ "text": part });
                // Files go with the first part; the keyboard with the last.
                if i == 0 && !attachments.is_empty() {
                    message["attachments"] = json!(std::mem::take(&mut attachments));
                }
                if i + 1 == count
                    && let Some(k) = &out.keyboard
                {
                    let mut rows: Vec<Vec<Value>> = k
                        .rows
                        .iter()
                        .map(|r| r.iter().map(|b| json!({"type": "CALLBACK", "text": b.label, "intent": "DEFAULT", "payload": b.data})).collect())
                        .collect();
                    if let Some(label) = &k.request_phone {
                        rows.push(vec![
                            json!({"type": "REQUEST_CONTACT", "text": label, "intent": "DEFAULT"}),
                        ]);
                    }
                    let keyboard = json!({ "type": "INLINE_KEYBOARD", "payload": { "keyboard": { "buttons": rows } } });
                    match message["attachments"].as_array_mut() {
                        Some(list) => list.push(keyboard),
                        None => message["attachment"] = keyboard,
                    }
                }
                let body = json!({ "recipient": { "chat_id": out.recipient }, "message": message });
                let req = self
                    .http
                    .post(format!(
                        "{}/graph/me/messages/{}",
                        self.api_base,
                        super::common::path_segment(&out.recipient)
                    ))
                    .header("Content-Type", "application/json;charset=utf-8")
                    .body(body.to_string());
                let v = self.call(req).await?;
                last = v["message_id"].as_str().map(str::to_string);
            }
            Result::Ok(Sent { platform_id: last })
        })
    }

    fn identity(&self) -> BoxFuture<'_, Result<AccountInfo, SendError>> {
        Box::pin(async move {
            let v = self
                .call(self.http.get(format!("{}/graph/me/info", self.api_base)))
                .await?;
            Result::Ok(AccountInfo {
                name: v["name"].as_str().unwrap_or_default().to_string(),
                id: v["group_id"].as_str().unwrap_or_default().to_string(),
                username: None,
            })
        })
    }

    fn subscribe<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            let req = self
                .http
                .post(format!("{}/graph/me/subscribe", self.api_base))
                .header("Content-Type", "application/json;charset=utf-8")
                .body(json!({ "url": url }).to_string());
            self.call(req).await.map(|_| ())
        })
    }

    fn unsubscribe<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            let req = self
                .http
                .post(format!("{}/graph/me/unsubscribe", self.api_base))
                .header("Content-Type", "application/json;charset=utf-8")
                .body(json!({ "url": url }).to_string());
            self.call(req).await.map(|_| ())
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
