//! A channel for the business's own systems (a mobile app, a CRM, a custom bot): they POST
//! customer messages to /webhooks/{id} and receive operator replies at their callback URL.
//! Both directions are signed with HMAC-SHA256 of the body in `X-Perepiska-Signature`.

use std::time::Duration;

use futures_util::future::BoxFuture;
use serde::Deserialize;

use super::{
    AccountInfo, Capabilities, ChannelAdapter, Inbound, InboundEvent, Outbound, Parsed, RawRequest,
    SendError, Sent, WebhookError, WebhookReply,
};
use crate::crypto;
use crate::store::contacts::ContactHint;

pub const SIGNATURE_HEADER: &str = "X-Perepiska-Signature";

pub struct ApiChannel {
    name: String,
    callback_url: String,
    secret: String,
    http: reqwest::Client,
}

#[derive(Deserialize)]
struct ApiContact {
    id: String,
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
}

#[derive(Deserialize)]
struct ApiMessage {
    id: String,
    #[serde(default)]
    text: String,
}

#[derive(Deserialize)]
struct ApiPayload {
    #[serde(default = "default_event")]
    event: String,
    contact: ApiContact,
    message: Option<ApiMessage>,
}

fn default_event() -> String {
    "message".into()
}

pub fn signature(secret: &str, body: &[u8]) -> String {
    format!(
        "sha256={}",
        crypto::hmac_sha256_hex(secret.as_bytes(), body)
    )
}

impl ApiChannel {
    pub fn from_config(
        name: &str,
        config: &serde_json::Value,
        http: reqwest::Client,
    ) -> Result<Self, String> {
        let get = |k: &str| config.get(k).and_then(|v| v.as_str()).map(str::to_string);
        let callback_url =
            get("callback_url").ok_or("callback_url is required for kind \"api\"")?;
        if !(callback_url.starts_with("http://") || callback_url.starts_with("https://")) {
            return Err(format!(
                "callback_url \"{callback_url}\" must start with http:// or https://"
            ));
        }
        let secret = get("secret").ok_or("secret is required for kind \"api\"")?;
        if secret.chars().count() < 16 {
            return Err("secret must be at least 16 characters".into());
        }
        Ok(ApiChannel {
            name: name.to_string(),
            callback_url,
            secret,
            http,
        })
    }
}

impl ChannelAdapter for ApiChannel {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn kind(&self) -> super::ChannelKind {
        super::ChannelKind::Api
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            buttons: false,
            files: false,
            max_text_chars: 65_536,
            verified_phone: false,
        }
    }

    fn parse(&self, req: &RawRequest) -> Result<Parsed, WebhookError> {
        let sig = req
            .header(SIGNATURE_HEADER)
            .and_then(|s| s.strip_prefix("sha256="))
            .ok_or_else(|| {
                WebhookError::Unauthorized(format!("missing {SIGNATURE_HEADER} header"))
            })?;
        if !crypto::verify_hmac_sha256(self.secret.as_bytes(), &req.body, sig) {
            return Err(WebhookError::Unauthorized(
                "signature does not match the body".into(),
            ));
        }
        let p: ApiPayload = serde_json::from_slice(&req.body)
            .map_err(|e| WebhookError::BadRequest(format!("invalid JSON payload: {e}")))?;
        let contact_id = p.contact.id.trim().to_string();
        if contact_id.is_empty() || contact_id.len() > 128 {
            return Err(WebhookError::BadRequest(
                "contact.id must be 1-128 characters".into(),
            ));
        }
        let hint = ContactHint {
            name: p.contact.name,
            email: p.contact.email,
            phone: p.contact.phone,
            language: None,
        };
        let inbound = match p.event.as_str() {
            "message" => {
                let m = p
                    .message
                    .ok_or_else(|| WebhookError::BadRequest("message is required".into()))?;
                let text = m.text.trim().to_string();
                if text.is_empty() {
                    return Err(WebhookError::BadRequest("message.text is empty".into()));
                }
                if m.id.trim().is_empty() || m.id.len() > 128 {
                    return Err(WebhookError::BadRequest(
                        "message.id must be 1-128 characters".into(),
                    ));
                }
                Inbound {
                    external_user_id: contact_id,
                    contact: hint,
                    platform_message_id: Some(m.id.trim().to_string()),
                    event: InboundEvent::Message {
                        text,
                        files: Vec::new(),
                        remote: Vec::new(),
                    },
                }
            }
            "blocked" => Inbound {
                external_user_id: contact_id,
                contact: hint,
                platform_message_id: None,
                event: InboundEvent::Blocked,
            },
            other => {
                return Err(WebhookError::BadRequest(format!(
                    "unknown event \"{other}\"; expected \"message\" or \"blocked\""
                )));
            }
        };
        Ok(Parsed {
            inbound: vec![inbound],
            reply: WebhookReply::Json(serde_json::json!({ "ok": true })),
            unparsed: Vec::new(),
        })
    }

    fn send<'a>(&'a self, out: &'a Outbound) -> BoxFuture<'a, Result<Sent, SendError>> {
        Box::pin(async move {
            let body = serde_json::json!({
                "event": "message",
                "contact": { "id": out.recipient },
                "message": {
                    "id": out.message_id.to_string(),
                    "text": out.text,
                    "author": out.author_name,
                    "conversation_number": out.conversation_number,
                    "files": out.files.iter().map(|f| &f.name).collect::<Vec<_>>(),
                }
            });
            let bytes =
                serde_json::to_vec(&body).map_err(|e| SendError::permanent(e.to_string()))?;
            let resp = self
                .http
                .post(&self.callback_url)
                .timeout(Duration::from_secs(10))
                .header("Content-Type", "application/json")
                .header(SIGNATURE_HEADER, signature(&self.secret, &bytes))
                .body(bytes)
                .send()
                .await
                .map_err(|e| SendError::from_reqwest(&e))?;
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap_or_default();
            if (200..300).contains(&status) {
                let platform_id = serde_json::from_str::<serde_json::Value>(&text)
                    .ok()
                    .and_then(|v| {
                        v.get("id")
                            .map(|id| id.to_string().trim_matches('"').to_string())
                    });
                return Ok(Sent { platform_id });
            }
            if status == 410 {
                return Err(SendError::blocked(
                    "the contact no longer accepts messages (HTTP 410)",
                ));
            }
            Err(SendError::from_status(status, &text))
        })
    }

    fn identity(&self) -> BoxFuture<'_, Result<AccountInfo, SendError>> {
        Box::pin(async {
            Ok(AccountInfo {
                name: self.name.clone(),
                id: self.callback_url.clone(),
                username: None,
            })
        })
    }
}
