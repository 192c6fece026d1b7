//! WhatsApp Business Cloud API (Meta Graph API). Meta verifies the webhook with a GET carrying
//! `hub.challenge`, signs every POST with `X-Hub-Signature-256` (HMAC-SHA256 keyed by the app
//! secret), and reports what happened to our messages in status webhooks — including the
//! "outside the 24-hour window" refusal, which comes later as a failed status.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde_json::{Value, json};

use super::{
    AccountInfo, Capabilities, ChannelAdapter, Inbound, InboundEvent, Keyboard, Outbound,
    OutboundFile, Parsed, RawRequest, RemoteFile, SendError, Sent, WebhookError, WebhookReply,
};
use crate::store::contacts::ContactHint;

pub const MAX_TEXT_CHARS: usize = 4096;
pub const SIGNATURE_HEADER: &str = "X-Hub-Signature-256";
/// Meta's error for a free-form message outside the customer-service window.
pub const OUTSIDE_WINDOW: i64 = 131_047;

pub struct WhatsApp {
    phone_number_id: String,
    access_token: String,
    app_secret: String,
    verify_token: String,
    /// e.g. https://graph.facebook.com/v25.0
    graph: String,
    show_operator_name: bool,
    http: reqwest::Client,
}

impl WhatsApp {
    pub fn from_config(config: &Value, http: reqwest::Client) -> Result<Self, String> {
        let api_base = super::common::api_base(config, "https://graph.facebook.com")?;
        let version =
            super::common::opt_str(config, "api_version")?.unwrap_or_else(|| "v25.0".into());
        let show_operator_name = super::common::flag(config, "show_operator_name", true)?;
        Ok(WhatsApp {
            phone_number_id: super::common::required(config, "phone_number_id", "whatsapp")?,
            access_token: super::common::required(config, "access_token", "whatsapp")?,
            app_secret: super::common::required(config, "app_secret", "whatsapp")?,
            verify_token: super::common::required(config, "verify_token", "whatsapp")?,
            graph: format!("{api_base}/{version}"),
            show_operator_name,
            http,
        })
    }

    async fn answer(resp: reqwest::Response) -> Result<Value, SendError> {
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if (200..300).contains(&status) {
            return Ok(v);
        }
        match v.get("error") {
            Some(e) => Err(classify(
                e["code"].as_i64().unwrap_or(0),
                e["message"].as_str().unwrap_or(""),
                status,
            )),
            None => Err(SendError::from_status(status, &text)),
        }
    }

    async fn post_json(&self, path: &str, body: &Value) -> Result<Value, SendError> {
        let resp = self
            .http
            .post(format!("{}/{path}", self.graph))
            .bearer_auth(&self.access_token)
            .timeout(Duration::from_secs(30))
            .json(body)
            .send()
            .await
            .map_err(|e| SendError::from_reqwest(&e))?;
        Self::answer(resp).await
    }

    async fn upload(&self, f: &OutboundFile) -> Result<String, SendError> {
        let (part, _) = super::common::file_part(f).await?;
        let form = reqwest::multipart::Form::new()
            .text("messaging_product", "whatsapp")
            .text("type", f.content_type.clone())
            .part("file", part);
        let resp = self
            .http
            .post(format!("{}/{}/media", self.graph, self.phone_number_id))
            .bearer_auth(&self.access_token)
            .multipart(form)
            .send()
            .await
            .map_err(|e| SendError::from_reqwest(&e))?;
        let v = Self::answer(resp).await?;
        v["id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| SendError::retry("upload gave no media id"))
    }

    fn verify(&self, req: &RawRequest) -> Result<Parsed, WebhookError> {
        let q: HashMap<String, String> = serde_urlencoded::from_str(&req.query).unwrap_or_default();
        let token = q.get("hub.verify_token").map(String::as_str).unwrap_or("");
        if q.get("hub.mode").map(String::as_str) != Some("subscribe")
            || !crate::crypto::secure_eq(token, &self.verify_token)
        {
            return Err(WebhookError::Forbidden("wrong hub.verify_token".into()));
        }
        Ok(Parsed {
            inbound: Vec::new(),
            reply: WebhookReply::Text(q.get("hub.challenge").cloned().unwrap_or_default()),
            unparsed: Vec::new(),
        })
    }
}

fn classify(code: i64, msg: &str, http: u16) -> SendError {
    let text = if code == OUTSIDE_WINDOW {
        format!(
            "WhatsApp {code}: more than 24 hours since the customer's last message; only an approved template can be sent ({msg})"
        )
    } else {
        format!("WhatsApp {code}: {msg}")
    };
    match code {
        // Undeliverable; the customer stopped marketing messages.
        131_026 | 131_050 => SendError::blocked(text),
        // Rate limits of the app, the account, the number, or this customer pair.
        4 | 80_007 | 130_429 | 131_056 => SendError::retry(text),
        _ if http >= 500 => SendError::retry(text),
        _ => SendError::permanent(text),
    }
}

fn media_file(m: &Value, kind: &str, id: &str) -> Option<RemoteFile> {
    let media = &m[kind];
    let ext = match kind {
        "image" => "jpg",
        "audio" => "ogg",
        "video" => "mp4",
        "sticker" => "webp",
        _ => "bin",
    };
    Some(RemoteFile {
        id: media["id"].as_str()?.to_string(),
        name: media["filename"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| format!("{kind}_{}.{ext}", id.trim_start_matches("wamid."))),
        content_type: media["mime_type"].as_str().map(str::to_string),
        size: None,
    })
}

fn message_to_inbound(m: &Value, names: &HashMap<String, String>) -> Option<Inbound> {
    // Business-scoped user ids replace the phone when customers use usernames.
    let from = m["from"]
        .as_str()
        .or_else(|| m["from_user_id"].as_str())?
        .to_string();
    let id = m["id"].as_str()?.to_string();
    let hint = ContactHint {
        name: names.get(&from).cloned(),
        phone: m["from"].as_str().map(|p| format!("+{p}")),
        ..ContactHint::default()
    };
    let kind = m["type"].as_str().unwrap_or_default();
    let button = match kind {
        "interactive" => {
            let i = &m["interactive"];
            i["button_reply"]["id"]
                .as_str()
                .or_else(|| i["list_reply"]["id"].as_str())
        }
        "button" => m["button"]["payload"].as_str(),
        _ => None,
    };
    if let Some(data) = button {
        return Some(Inbound {
            external_user_id: from,
            contact: hint,
            platform_message_id: Some(id),
            event: InboundEvent::Button {
                data: data.to_string(),
            },
        });
    }
    let mut text = String::new();
    let mut remote = Vec::new();
    let mut card = None;
    match kind {
        "text" => text = m["text"]["body"].as_str().unwrap_or_default().to_string(),
        "image" | "document" | "audio" | "video" | "sticker" => {
            text = m[kind]["caption"].as_str().unwrap_or_default().to_string();
            remote.extend(media_file(m, kind, &id));
        }
        "location" => {
            let (lat, lon) = (
                m["location"]["latitude"].as_f64()?,
                m["location"]["longitude"].as_f64()?,
            );
            text = super::common::location_text(lat, lon);
        }
        "contacts" => {
            let c = &m["contacts"][0];
            let phones: Vec<&str> = c["phones"]
                .as_array()
                .map(|p| p.iter().filter_map(|x| x["phone"].as_str()).collect())
                .unwrap_or_default();
            card = Some((
                c["name"]["formatted_name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                phones.join(", "),
                false,
            ));
        }
        "reaction" | "system" => return None,
        other => text = format!("[Сообщение типа {other}]"),
    }
    if text.trim().is_empty() && remote.is_empty() {
        text = "[Сообщение без текста]".into();
    }
    Some(Inbound {
        external_user_id: from,
        contact: hint,
        platform_message_id: Some(id),
        event: InboundEvent::message_or_card(text, remote, card),
    })
}

fn status_to_inbound(s: &Value) -> Option<Inbound> {
    use crate::domain::Delivery;
    let state = match s["status"].as_str()? {
        "sent" => Delivery::Sent,
        "delivered" => Delivery::Delivered,
        "read" | "played" => Delivery::Read,
        "failed" => Delivery::Failed,
        _ => return None,
    };
    let error = s["errors"][0].as_object().map(|e| {
        let code = e.get("code").and_then(Value::as_i64).unwrap_or(0);
        let title = e.get("title").and_then(Value::as_str).unwrap_or("");
        classify(code, title, 200).message
    });
    Some(Inbound {
        external_user_id: s["recipient_id"].as_str().unwrap_or_default().to_string(),
        contact: ContactHint::default(),
        platform_message_id: None,
        event: InboundEvent::Status {
            platform_id: s["id"].as_str()?.to_string(),
            state,
            error,
        },
    })
}

/// Up to 3 choices as reply buttons, more as a list (at most 10 rows).
fn interactive(text: &str, k: &Keyboard) -> Value {
    let body = crate::domain::text::truncate_chars(text, 1024);
    let choices: Vec<&super::Button> = k.rows.iter().flatten().take(10).collect();
    if choices.len() <= 3 {
        json!({
            "type": "button",
            "body": { "text": body },
            "action": { "buttons": choices.iter().map(|b| json!({
                "type": "reply",
                "reply": { "id": b.data, "title": crate::domain::text::truncate_chars(&b.label, 20) }
            })).collect::<Vec<_>>() }
        })
    } else {
        json!({
            "type": "list",
            "body": { "text": body },
            "action": {
                "button": "Меню",
                "sections": [{ "title": "Выберите", "rows": choices.iter().map(|b| json!({
                    "id": b.data,
                    "title": crate::domain::text::truncate_chars(&b.label, 24)
                })).collect::<Vec<_>>() }]
            }
        })
    }
}

impl ChannelAdapter for WhatsApp {
    fn kind(&self) -> super::ChannelKind {
        super::ChannelKind::Whatsapp
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
        if req.method == "GET" {
            return self.verify(req);
        }
        let sig = req
            .header(SIGNATURE_HEADER)
            .and_then(|s| s.strip_prefix("sha256="))
            .ok_or_else(|| WebhookError::Unauthorized(format!("missing {SIGNATURE_HEADER}")))?;
        if !crate::crypto::verify_hmac_sha256(self.app_secret.as_bytes(), &req.body, sig) {
            return Err(WebhookError::Unauthorized(
                "signature does not match the body".into(),
            ));
        }
        let v: Value = serde_json::from_slice(&req.body)
            .map_err(|e| WebhookError::BadRequest(format!("notification is not JSON: {e}")))?;
        let mut inbound = Vec::new();
        let mut unparsed = Vec::new();
        // Every entry, every change, every message: one notification may carry several.
        for entry in v["entry"].as_array().cloned().unwrap_or_default() {
            for change in entry["changes"].as_array().cloned().unwrap_or_default() {
                let value = &change["value"];
                if change["field"] != "messages"
                    || value["metadata"]["phone_number_id"].as_str()
                        != Some(self.phone_number_id.as_str())
                {
                    continue;
                }
                let names: HashMap<String, String> = value["contacts"]
                    .as_array()
                    .map(|cs| {
                        cs.iter()
                            .filter_map(|c| {
                                let key = c["wa_id"].as_str().or_else(|| c["user_id"].as_str())?;
                                Some((key.to_string(), c["profile"]["name"].as_str()?.to_string()))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                for m in value["messages"].as_array().cloned().unwrap_or_default() {
                    match message_to_inbound(&m, &names) {
                        Some(i) => inbound.push(i),
                        None if m["type"] == "reaction" || m["type"] == "system" => {}
                        None => {
                            unparsed.push((m.to_string(), "message not understood".to_string()))
                        }
                    }
                }
                for s in value["statuses"].as_array().cloned().unwrap_or_default() {
                    inbound.extend(status_to_inbound(&s));
                }
            }
        }
        Ok(Parsed {
            inbound,
            reply: WebhookReply::Json(json!({})),
            unparsed,
        })
    }

    fn send<'a>(&'a self, out: &'a Outbound) -> BoxFuture<'a, Result<Sent, SendError>> {
        Box::pin(async move {
            let path = format!("{}/messages", self.phone_number_id);
            let to = json!(out.recipient);
            let text = super::common::signed_text(out, self.show_operator_name);
            if let Some(t) = &out.template {
                let mut template = json!({ "name": t.name, "language": { "code": t.language } });
                if !t.parameters.is_empty() {
                    let params: Vec<Value> = t
                        .parameters
                        .iter()
                        .map(|p| json!({ "type": "text", "text": p }))
                        .collect();
                    template["components"] = json!([{ "type": "body", "parameters": params }]);
                }
                let body = json!({ "messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "template", "template": template });
                let v = self.post_json(&path, &body).await?;
                return Ok(Sent {
                    platform_id: v["messages"][0]["id"].as_str().map(str::to_string),
                });
            }
            let mut last = None;
            let parts = crate::domain::text::split_text(&text, MAX_TEXT_CHARS);
            let count = parts.len();
            for (i, part) in parts.into_iter().enumerate() {
                let body = match (&out.keyboard, i + 1 == count) {
                    (Some(k), true) if !k.rows.is_empty() => json!({
                        "messaging_product": "whatsapp", "recipient_type": "individual", "to": to,
                        "type": "interactive", "interactive": interactive(&part, k),
                    }),
                    _ => json!({
                        "messaging_product": "whatsapp", "recipient_type": "individual", "to": to,
                        "type": "text", "text": { "body": part, "preview_url": false },
                    }),
                };
                let v = self.post_json(&path, &body).await?;
                last = v["messages"][0]["id"].as_str().map(str::to_string);
            }
            for f in &out.files {
                let media = self.upload(f).await?;
                let kind = if f.content_type.starts_with("image/") {
                    "image"
                } else {
                    "document"
                };
                let mut item = json!({ "id": media });
                if kind == "document" {
                    item["filename"] = json!(f.name);
                }
                let body = json!({ "messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": kind, kind: item });
                let v = self.post_json(&path, &body).await?;
                last = v["messages"][0]["id"].as_str().map(str::to_string);
            }
            Ok(Sent { platform_id: last })
        })
    }

    fn identity(&self) -> BoxFuture<'_, Result<AccountInfo, SendError>> {
        Box::pin(async move {
            let resp = self
                .http
                .get(format!(
                    "{}/{}?fields=verified_name,display_phone_number",
                    self.graph, self.phone_number_id
                ))
                .bearer_auth(&self.access_token)
                .send()
                .await
                .map_err(|e| SendError::from_reqwest(&e))?;
            let v = Self::answer(resp).await?;
            Ok(AccountInfo {
                name: format!(
                    "{} ({})",
                    v["verified_name"].as_str().unwrap_or_default(),
                    v["display_phone_number"].as_str().unwrap_or_default()
                ),
                id: self.phone_number_id.clone(),
                username: v["display_phone_number"].as_str().map(str::to_string),
            })
        })
    }

    fn download<'a>(
        &'a self,
        file: &'a RemoteFile,
        files: &'a super::download::Downloader,
    ) -> BoxFuture<'a, Result<Vec<u8>, SendError>> {
        Box::pin(async move {
            // The media id resolves to a short-lived URL that needs the same token.
            let resp = self
                .http
                .get(format!(
                    "{}/{}",
                    self.graph,
                    super::common::path_segment(&file.id)
                ))
                .bearer_auth(&self.access_token)
                .send()
                .await
                .map_err(|e| SendError::from_reqwest(&e))?;
            let meta = Self::answer(resp).await?;
            let url = meta["url"]
                .as_str()
                .ok_or_else(|| SendError::permanent("media has no url"))?;
            files.get(url, Some(&self.access_token)).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_24_hour_window_error_explains_itself() {
        let e = classify(OUTSIDE_WINDOW, "Re-engagement message", 400);
        assert!(!e.retryable && e.message.contains("24 hours") && e.message.contains("template"));
        assert!(classify(131_056, "pair rate limit", 400).retryable);
        assert!(classify(131_026, "undeliverable", 400).blocked);
    }
}
