//! VK community messages through the Callback API: VK POSTs events to /webhooks/{id}; we
//! answer the confirmation handshake with the community's confirmation string and everything
//! else with the literal body "ok". Authenticity is the `secret` field of each event.

use std::time::Duration;

use futures_util::future::BoxFuture;
use serde_json::{Value, json};

use super::{
    AccountInfo, Capabilities, ChannelAdapter, Inbound, InboundEvent, Outbound, OutboundFile,
    Parsed, RawRequest, RemoteFile, SendError, Sent, WebhookError, WebhookReply,
};
use crate::store::contacts::ContactHint;

pub const MAX_TEXT_CHARS: usize = 4096;
/// peer_id from which on a peer is a group chat, not a person.
const CHAT_PEER_BASE: i64 = 2_000_000_000;

pub struct Vk {
    group_id: i64,
    access_token: String,
    confirmation: String,
    secret: String,
    api_version: String,
    api_base: String,
    show_operator_name: bool,
    http: reqwest::Client,
}

/// The string VK expects our address to answer its confirmation call with, asked of VK
/// (groups.getCallbackConfirmationCode) for settings that leave `confirmation` out.
pub async fn confirmation_code(config: &Value, http: reqwest::Client) -> Result<String, SendError> {
    // Everything but the code itself, which is what is asked for.
    let mut probe = config.clone();
    if let Some(m) = probe.as_object_mut() {
        m.insert("confirmation".into(), Value::String("-".into()));
    }
    let vk = Vk::from_config(&probe, http).map_err(SendError::permanent)?;
    let r = vk
        .call(
            "groups.getCallbackConfirmationCode",
            &[("group_id", vk.group_id.to_string())],
        )
        .await?;
    r["code"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| SendError::permanent("VK returned no confirmation code"))
}

impl Vk {
    pub fn from_config(config: &Value, http: reqwest::Client) -> Result<Self, String> {
        let group_id = match config.get("group_id") {
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        }
        .filter(|g| *g > 0)
        .ok_or("group_id is required for kind \"vk\": the community's numeric id")?;
        let api_base = super::common::api_base(config, "https://api.vk.com")?;
        let show_operator_name = super::common::flag(config, "show_operator_name", true)?;
        Ok(Vk {
            group_id,
            access_token: super::common::required(config, "access_token", "vk")?,
            confirmation: super::common::required(config, "confirmation", "vk")?,
            secret: super::common::required(config, "secret", "vk")?,
            api_version: super::common::opt_str(config, "api_version")?
                .unwrap_or_else(|| "5.199".into()),
            api_base,
            show_operator_name,
            http,
        })
    }

    /// Calls an API method with form parameters; VK reports errors inside a 200 answer.
    async fn call(&self, method: &str, params: &[(&str, String)]) -> Result<Value, SendError> {
        let mut form: Vec<(&str, String)> = params.to_vec();
        form.push(("access_token", self.access_token.clone()));
        form.push(("v", self.api_version.clone()));
        let resp = self
            .http
            .post(format!("{}/method/{method}", self.api_base))
            .timeout(Duration::from_secs(30))
            .form(&form)
            .send()
            .await
            .map_err(|e| SendError::from_reqwest(&e))?;
        let text = super::common::body_if_ok(resp).await?;
        let v: Value = serde_json::from_str(&text)
            .map_err(|e| SendError::retry(format!("bad VK answer: {e}")))?;
        if let Some(err) = v.get("error") {
            return Err(classify(
                err["error_code"].as_i64().unwrap_or(0),
                err["error_msg"].as_str().unwrap_or(""),
            ));
        }
        Ok(v["response"].clone())
    }

    /// Uploads a file for a message and returns its attachment id ("photo…" or "doc…").
    async fn upload(&self, peer_id: i64, f: &OutboundFile) -> Result<String, SendError> {
        let (part, _) = super::common::file_part(f).await?;
        let photo = matches!(
            f.content_type.as_str(),
            "image/jpeg" | "image/png" | "image/gif"
        );
        let (server_method, field) = if photo {
            ("photos.getMessagesUploadServer", "photo")
        } else {
            ("docs.getMessagesUploadServer", "file")
        };
        let mut params = vec![("peer_id", peer_id.to_string())];
        if !photo {
            params.push(("type", "doc".to_string()));
        }
        let server = self.call(server_method, &params).await?;
        let url = server["upload_url"]
            .as_str()
            .ok_or_else(|| SendError::retry("VK gave no upload_url"))?;
        let uploaded: Value = self
            .http
            .post(url)
            .multipart(reqwest::multipart::Form::new().part(field, part))
            .send()
            .await
            .map_err(|e| SendError::from_reqwest(&e))?
            .json()
            .await
            .map_err(|e| SendError::retry(format!("bad upload answer: {e}")))?;
        if photo {
            let saved = self
                .call(
                    "photos.saveMessagesPhoto",
                    &[
                        ("server", uploaded["server"].to_string()),
                        (
                            "photo",
                            uploaded["photo"].as_str().unwrap_or_default().to_string(),
                        ),
                        (
                            "hash",
                            uploaded["hash"].as_str().unwrap_or_default().to_string(),
                        ),
                    ],
                )
                .await?;
            let p = &saved[0];
            Ok(format!(
                "photo{}_{}_{}",
                p["owner_id"],
                p["id"],
                p["access_key"].as_str().unwrap_or_default()
            ))
        } else {
            let saved = self
                .call(
                    "docs.save",
                    &[
                        (
                            "file",
                            uploaded["file"].as_str().unwrap_or_default().to_string(),
                        ),
                        ("title", f.name.clone()),
                    ],
                )
                .await?;
            let d = &saved["doc"];
            Ok(format!("doc{}_{}", d["owner_id"], d["id"]))
        }
    }
}

/// VK error codes: who blocked us, what is worth retrying.
fn classify(code: i64, msg: &str) -> SendError {
    let text = format!("VK error {code}: {msg}");
    match code {
        // Can't send without permission, user in blacklist, privacy settings.
        900..=902 => SendError::blocked(text),
        // Too many requests, flood control, rate limit, internal server error.
        6 | 9 | 10 | 29 => SendError::retry(text),
        _ => SendError::permanent(text),
    }
}

/// The command a button press carries: our buttons put `{"cmd": "…"}` in the payload.
fn button_data(payload: &Value) -> Option<String> {
    let v = match payload {
        Value::String(s) => serde_json::from_str::<Value>(s).ok()?,
        other => other.clone(),
    };
    v["cmd"].as_str().map(str::to_string)
}

fn attachment_files(message: &Value) -> (Vec<RemoteFile>, Vec<String>) {
    let mut files = Vec::new();
    let mut notes = Vec::new();
    for a in message["attachments"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        match a["type"].as_str().unwrap_or_default() {
            "photo" => {
                let best = a["photo"]["sizes"]
                    .as_array()
                    .and_then(|s| {
                        s.iter().max_by_key(|x| {
                            x["width"].as_u64().unwrap_or(0) * x["height"].as_u64().unwrap_or(0)
                        })
                    })
                    .and_then(|x| x["url"].as_str());
                if let Some(url) = best {
                    files.push(RemoteFile {
                        id: url.to_string(),
                        name: format!("photo_{}.jpg", a["photo"]["id"]),
                        content_type: Some("image/jpeg".into()),
                        size: None,
                    });
                }
            }
            "doc" => {
                if let Some(url) = a["doc"]["url"].as_str() {
                    let title = a["doc"]["title"].as_str().unwrap_or("file").to_string();
                    files.push(RemoteFile {
                        id: url.to_string(),
                        name: title,
                        content_type: None,
                        size: a["doc"]["size"].as_u64(),
                    });
                }
            }
            "audio_message" => {
                if let Some(url) = a["audio_message"]["link_ogg"].as_str() {
                    files.push(RemoteFile {
                        id: url.to_string(),
                        name: format!("voice_{}.ogg", a["audio_message"]["id"]),
                        content_type: Some("audio/ogg".into()),
                        size: None,
                    });
                }
            }
            "sticker" => notes.push("[Стикер]".to_string()),
            "wall" => notes.push(format!(
                "[Запись: https://vk.com/wall{}_{}]",
                a["wall"]["owner_id"], a["wall"]["id"]
            )),
            "market" => notes.push(format!(
                "[Товар: https://vk.com/market{}?w=product{}_{}]",
                a["market"]["owner_id"], a["market"]["owner_id"], a["market"]["id"]
            )),
            other if !other.is_empty() => notes.push(format!("[Вложение: {other}]")),
            _ => {}
        }
    }
    (files, notes)
}

impl Vk {
    fn event_to_inbound(&self, ev: &Value) -> Option<Inbound> {
        let obj = &ev["object"];
        match ev["type"].as_str().unwrap_or_default() {
            "message_new" => {
                // v5.103+ nests the message; older API versions put it in `object` itself.
                let m = if obj.get("message").is_some() {
                    &obj["message"]
                } else {
                    obj
                };
                let peer = m["peer_id"].as_i64()?;
                if peer >= CHAT_PEER_BASE {
                    return None;
                }
                let from = m["from_id"].as_i64().unwrap_or(peer);
                let id = format!(
                    "{peer}:{}",
                    m["conversation_message_id"].as_i64().unwrap_or_default()
                );
                if let Some(data) = m.get("payload").and_then(button_data) {
                    return Some(Inbound {
                        external_user_id: from.to_string(),
                        contact: ContactHint::default(),
                        platform_message_id: Some(id),
                        event: InboundEvent::Button { data },
                    });
                }
                let (remote, notes) = attachment_files(m);
                let mut text = m["text"].as_str().unwrap_or_default().to_string();
                for n in notes {
                    if !text.is_empty() {
                        text.push('\n');
                    }
                    text.push_str(&n);
                }
                if text.trim().is_empty() && remote.is_empty() {
                    text = "[Сообщение без текста]".into();
                }
                Some(Inbound {
                    external_user_id: from.to_string(),
                    contact: ContactHint {
                        language: obj["client_info"]["lang_id"]
                            .as_i64()
                            .map(|l| if l == 3 { "en" } else { "ru" }.to_string()),
                        ..ContactHint::default()
                    },
                    platform_message_id: Some(id),
                    event: InboundEvent::Message {
                        text,
                        files: Vec::new(),
                        remote,
                    },
                })
            }
            "message_event" => {
                let user = obj["user_id"].as_i64()?;
                let peer = obj["peer_id"].as_i64().unwrap_or(user);
                let event_id = obj["event_id"].as_str()?;
                Some(Inbound {
                    external_user_id: user.to_string(),
                    contact: ContactHint::default(),
                    platform_message_id: Some(format!("cb:{event_id}:{user}:{peer}")),
                    event: InboundEvent::Button {
                        data: button_data(&obj["payload"]).unwrap_or_default(),
                    },
                })
            }
            "message_deny" => Some(Inbound {
                external_user_id: obj["user_id"].as_i64()?.to_string(),
                contact: ContactHint::default(),
                platform_message_id: None,
                event: InboundEvent::Blocked,
            }),
            // A comment under a post or a product: a conversation that links to the item.
            kind @ ("wall_reply_new" | "market_comment_new") => {
                let from = obj["from_id"].as_i64().filter(|f| *f > 0)?;
                let link = if kind == "wall_reply_new" {
                    format!(
                        "https://vk.com/wall-{}_{}?reply={}",
                        self.group_id, obj["post_id"], obj["id"]
                    )
                } else {
                    format!(
                        "https://vk.com/market-{}?w=product-{}_{}",
                        self.group_id, self.group_id, obj["item_id"]
                    )
                };
                let label = if kind == "wall_reply_new" {
                    "Комментарий к записи"
                } else {
                    "Комментарий к товару"
                };
                Some(Inbound {
                    external_user_id: from.to_string(),
                    contact: ContactHint::default(),
                    platform_message_id: Some(format!("{kind}:{}", obj["id"])),
                    event: InboundEvent::Message {
                        text: format!(
                            "💬 {label} {link}\n{}",
                            obj["text"].as_str().unwrap_or_default()
                        ),
                        files: Vec::new(),
                        remote: Vec::new(),
                    },
                })
            }
            // message_reply is the community's own outgoing message; message_allow needs no
            // action (the next message unblocks); the rest is not ours to handle.
            _ => None,
        }
    }
}

fn keyboard_json(k: &super::Keyboard) -> String {
    let buttons: Vec<Vec<Value>> = k
        .rows
        .iter()
        .map(|row| {
            row.iter()
                .map(|b| {
                    json!({
                        "action": {
                            "type": "callback",
                            // VK limits labels to 40 characters.
                            "label": crate::domain::text::truncate_chars(&b.label, 40),
                            "payload": json!({ "cmd": b.data }).to_string(),
                        }
                    })
                })
                .collect()
        })
        .collect();
    json!({ "inline": true, "buttons": buttons }).to_string()
}

impl ChannelAdapter for Vk {
    fn kind(&self) -> super::ChannelKind {
        super::ChannelKind::Vk
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            buttons: true,
            files: true,
            max_text_chars: MAX_TEXT_CHARS,
            verified_phone: false,
        }
    }

    fn parse(&self, req: &RawRequest) -> Result<Parsed, WebhookError> {
        let ev: Value = serde_json::from_slice(&req.body)
            .map_err(|e| WebhookError::BadRequest(format!("event is not JSON: {e}")))?;
        let secret = ev["secret"].as_str().unwrap_or_default();
        if !crate::crypto::secure_eq(secret, &self.secret) {
            return Err(WebhookError::Unauthorized("wrong or missing secret".into()));
        }
        if ev["group_id"].as_i64() != Some(self.group_id) {
            return Err(WebhookError::BadRequest(format!(
                "event for community {} but this channel is community {}",
                ev["group_id"], self.group_id
            )));
        }
        if ev["type"] == "confirmation" {
            return Ok(Parsed {
                inbound: Vec::new(),
                reply: WebhookReply::Text(self.confirmation.clone()),
                unparsed: Vec::new(),
            });
        }
        let known = matches!(
            ev["type"].as_str().unwrap_or_default(),
            "message_new"
                | "message_event"
                | "message_deny"
                | "message_allow"
                | "message_reply"
                | "wall_reply_new"
                | "market_comment_new"
        );
        Ok(Parsed {
            inbound: self.event_to_inbound(&ev).into_iter().collect(),
            reply: WebhookReply::Text("ok".into()),
            // Keep what we never handle, so a new event kind is visible rather than lost.
            unparsed: if known {
                Vec::new()
            } else {
                vec![(
                    ev.to_string(),
                    format!("event type {} is not handled", ev["type"]),
                )]
            },
        })
    }

    fn send<'a>(&'a self, out: &'a Outbound) -> BoxFuture<'a, Result<Sent, SendError>> {
        Box::pin(async move {
            let peer: i64 = out.recipient.parse().map_err(|_| {
                SendError::permanent(format!("\"{}\" is not a VK peer id", out.recipient))
            })?;
            let text = super::common::signed_text(out, self.show_operator_name);
            let mut attachments = Vec::new();
            for f in &out.files {
                attachments.push(self.upload(peer, f).await?);
            }
            let mut parts = crate::domain::text::split_text(&text, MAX_TEXT_CHARS);
            if parts.is_empty() {
                parts.push(String::new());
            }
            let count = parts.len();
            let mut last = None;
            for (i, part) in parts.into_iter().enumerate() {
                let last_part = i + 1 == count;
                // random_id makes VK drop a repeat of the same send: derived from the outbox
                // row (and the part), so a retry after a lost answer is not delivered twice.
                let random_id =
                    (out.delivery_id.wrapping_mul(16).wrapping_add(i as i64)) & 0x7fff_ffff;
                let mut params = vec![
                    ("peer_id", peer.to_string()),
                    ("random_id", random_id.to_string()),
                    ("message", part),
                ];
                if last_part && !attachments.is_empty() {
                    params.push(("attachment", attachments.join(",")));
                }
                if last_part
                    && let Some(k) = &out.keyboard
                    && !k.rows.is_empty()
                {
                    params.push(("keyboard", keyboard_json(k)));
                }
                last = Some(self.call("messages.send", &params).await?);
            }
            Ok(Sent {
                platform_id: last.map(|v| v.to_string()),
            })
        })
    }

    /// Sets up the Callback API through VK's own API (the community token must have the
    /// "manage" right): our address with the channel's secret, the events we read, our API
    /// version. VK confirms the address by calling it, so the channel is running by now.
    fn subscribe<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            let group = self.group_id.to_string();
            let added = self
                .call(
                    "groups.addCallbackServer",
                    &[
                        ("group_id", group.clone()),
                        ("url", url.to_string()),
                        ("title", "perepiska".into()),
                        ("secret_key", self.secret.clone()),
                    ],
                )
                .await?;
            let server = added["server_id"]
                .as_i64()
                .ok_or_else(|| SendError::permanent("VK returned no server_id"))?;
            let mut settings = vec![
                ("group_id", group),
                ("server_id", server.to_string()),
                ("api_version", self.api_version.clone()),
            ];
            for event in [
                "message_new",
                "message_event",
                "message_allow",
                "message_deny",
                "wall_reply_new",
            ] {
                settings.push((event, "1".into()));
            }
            self.call("groups.setCallbackSettings", &settings).await?;
            Ok(())
        })
    }

    /// Removes the callback servers with our address.
    fn unsubscribe<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            let group = self.group_id.to_string();
            let servers = self
                .call("groups.getCallbackServers", &[("group_id", group.clone())])
                .await?;
            for s in servers["items"].as_array().into_iter().flatten() {
                if s["url"].as_str() == Some(url)
                    && let Some(id) = s["id"].as_i64()
                {
                    self.call(
                        "groups.deleteCallbackServer",
                        &[("group_id", group.clone()), ("server_id", id.to_string())],
                    )
                    .await?;
                }
            }
            Ok(())
        })
    }

    fn identity(&self) -> BoxFuture<'_, Result<AccountInfo, SendError>> {
        Box::pin(async move {
            let r = self.call("groups.getById", &[]).await?;
            // 5.199 answers {"groups": [...]}; older versions a bare array.
            let g = if r.get("groups").is_some() {
                &r["groups"][0]
            } else {
                &r[0]
            };
            let name = g["name"]
                .as_str()
                .ok_or_else(|| SendError::permanent("VK returned no community"))?;
            Ok(AccountInfo {
                name: name.to_string(),
                id: g["id"].to_string(),
                username: g["screen_name"].as_str().map(str::to_string),
            })
        })
    }

    fn typing<'a>(&'a self, recipient: &'a str) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            let params = [
                ("peer_id", recipient.to_string()),
                ("type", "typing".to_string()),
                ("group_id", self.group_id.to_string()),
            ];
            self.call("messages.setActivity", &params).await.map(|_| ())
        })
    }

    fn acknowledge<'a>(&'a self, inbound: &'a Inbound) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            // Stops the spinner on a callback button; losing this is harmless.
            let Some(rest) = inbound
                .platform_message_id
                .as_deref()
                .and_then(|p| p.strip_prefix("cb:"))
            else {
                return;
            };
            let mut it = rest.split(':');
            let (Some(event_id), Some(user), Some(peer)) = (it.next(), it.next(), it.next()) else {
                return;
            };
            let params = [
                ("event_id", event_id.to_string()),
                ("user_id", user.to_string()),
                ("peer_id", peer.to_string()),
            ];
            if let Err(e) = self.call("messages.sendMessageEventAnswer", &params).await {
                tracing::debug!(error = %e, "sendMessageEventAnswer failed");
            }
        })
    }

    fn download<'a>(
        &'a self,
        file: &'a RemoteFile,
        files: &'a super::download::Downloader,
    ) -> BoxFuture<'a, Result<Vec<u8>, SendError>> {
        Box::pin(async move {
            // VK attachments come with direct URLs.
            files.get(&file.id, None).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_map_to_blocked_retry_or_permanent() {
        assert!(classify(901, "Can't send messages for users without permission").blocked);
        assert!(classify(9, "Flood control").retryable);
        assert!(!classify(914, "Message is too long").retryable);
    }

    #[test]
    fn button_payloads_may_be_strings_or_objects() {
        assert_eq!(
            button_data(&json!("{\"cmd\":\"new\"}")).as_deref(),
            Some("new")
        );
        assert_eq!(
            button_data(&json!({"cmd": "status"})).as_deref(),
            Some("status")
        );
        assert_eq!(button_data(&json!("not json")), None);
    }
}
