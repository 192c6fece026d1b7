//! The chat widget on the business's own site. Visitors are identified by a random token the
//! widget keeps in localStorage; only its hash is stored.

use futures_util::future::BoxFuture;
use serde::Deserialize;

use super::{
    AccountInfo, Capabilities, ChannelAdapter, Inbound, InboundEvent, Outbound, Parsed, RawRequest,
    SendError, Sent, WebhookError, WebhookReply,
};
use crate::store::attachments::StoredFile;
use crate::store::contacts::ContactHint;

pub const MAX_TEXT_CHARS: usize = 10_000;

pub struct Widget {
    name: String,
    /// Its appearance and who may use it (the channel's keys).
    pub look: super::widget_look::Look,
}

#[derive(Deserialize)]
struct WidgetMessage {
    visitor: String,
    client_id: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    phone: Option<String>,
}

/// The stored identity of a visitor token; rejects tokens too short to be unguessable.
pub fn visitor_id(token: &str) -> Result<String, WebhookError> {
    let ok = (16..=128).contains(&token.len())
        && token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !ok {
        return Err(WebhookError::Unauthorized(
            "visitor token must be 16-128 characters of letters, digits, '-' or '_'".into(),
        ));
    }
    Ok(format!(
        "v{}",
        &crate::crypto::sha256_hex(token.as_bytes())[..32]
    ))
}

pub fn check_client_id(id: &str) -> Result<(), WebhookError> {
    let ok = (1..=64).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(WebhookError::BadRequest(
            "client_id must be 1-64 characters of letters, digits, '-' or '_'".into(),
        ))
    }
}

fn clean_opt(v: Option<String>, max: usize) -> Option<String> {
    v.map(|s| crate::domain::text::truncate_chars(s.trim(), max).to_string())
        .filter(|s| !s.is_empty())
}

impl Widget {
    pub fn from_config(name: &str, config: &serde_json::Value) -> Result<Self, String> {
        Ok(Widget {
            name: name.to_string(),
            look: super::widget_look::Look::from_config(config)?,
        })
    }

    /// A visitor's file upload as an inbound message (the file is already stored).
    pub fn file_inbound(
        visitor: &str,
        client_id: &str,
        file: StoredFile,
    ) -> Result<Inbound, WebhookError> {
        let ext = visitor_id(visitor)?;
        check_client_id(client_id)?;
        Ok(Inbound {
            platform_message_id: Some(format!("{ext}:{client_id}")),
            external_user_id: ext,
            contact: ContactHint::default(),
            event: InboundEvent::Message {
                text: String::new(),
                files: vec![file],
                remote: Vec::new(),
            },
        })
    }
}

impl ChannelAdapter for Widget {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn kind(&self) -> super::ChannelKind {
        super::ChannelKind::Widget
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            // widget.js shows no keyboards: choices are asked for in words (digits).
            buttons: false,
            files: true,
            max_text_chars: MAX_TEXT_CHARS,
            verified_phone: false,
        }
    }

    fn parse(&self, req: &RawRequest) -> Result<Parsed, WebhookError> {
        let m: WidgetMessage = serde_json::from_slice(&req.body).map_err(|e| {
            WebhookError::BadRequest(format!(
                "expected JSON {{\"visitor\", \"client_id\", \"text\"}}: {e}"
            ))
        })?;
        let ext = visitor_id(&m.visitor)?;
        check_client_id(&m.client_id)?;
        let text = m.text.replace('\0', "").trim().to_string();
        if text.is_empty() {
            return Err(WebhookError::BadRequest("the message is empty".into()));
        }
        if text.chars().count() > MAX_TEXT_CHARS {
            return Err(WebhookError::BadRequest(format!(
                "the message is longer than {MAX_TEXT_CHARS} characters"
            )));
        }
        let email = clean_opt(m.email, 254);
        if let Some(e) = &email
            && crate::store::users::normalize_email(e).is_err()
        {
            return Err(WebhookError::BadRequest(format!(
                "\"{e}\" is not an email address"
            )));
        }
        Ok(Parsed {
            inbound: vec![Inbound {
                platform_message_id: Some(format!("{ext}:{}", m.client_id)),
                external_user_id: ext,
                contact: ContactHint {
                    name: clean_opt(m.name, 100),
                    email,
                    phone: clean_opt(m.phone, 32),
                    language: None,
                },
                event: InboundEvent::Message {
                    text,
                    files: Vec::new(),
                    remote: Vec::new(),
                },
            }],
            reply: WebhookReply::Json(serde_json::json!({ "ok": true })),
            unparsed: Vec::new(),
        })
    }

    /// The visitor reads operator messages from our own database over SSE, so delivery is
    /// done once the message is committed; the outbox only marks it sent and announces it.
    fn send<'a>(&'a self, _out: &'a Outbound) -> BoxFuture<'a, Result<Sent, SendError>> {
        Box::pin(async { Ok(Sent::default()) })
    }

    fn identity(&self) -> BoxFuture<'_, Result<AccountInfo, SendError>> {
        Box::pin(async {
            Ok(AccountInfo {
                name: self.name.clone(),
                id: "widget".into(),
                username: None,
            })
        })
    }
}
