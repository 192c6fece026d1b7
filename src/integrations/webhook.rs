//! Outgoing webhooks: the settings' one validator (web form, REST API and channels.toml all
//! go through `Config::from_config`) and how a call is signed.

use serde_json::Value;

use crate::domain::WebhookEvent;

pub const EVENT_HEADER: &str = "X-Perepiska-Event";
pub const DELIVERY_HEADER: &str = "X-Perepiska-Delivery";
pub const TIMESTAMP_HEADER: &str = "X-Perepiska-Timestamp";
pub const SIGNATURE_HEADER: &str = "X-Perepiska-Signature";
/// What a webhook's settings hold.
pub const KEYS: &[&str] = &["url", "secret", "events", "channels"];
/// The shortest signing secret accepted.
pub const MIN_SECRET: usize = 16;

#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub url: reqwest::Url,
    pub secret: String,
    /// Empty: every event.
    pub events: Vec<WebhookEvent>,
    /// Channel keys it applies to; empty: every channel.
    pub channels: Vec<String>,
}

pub(super) fn strings(v: &Value, key: &str) -> Result<Option<Vec<String>>, String> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(
            s.split([',', '\n'])
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .map(str::to_string)
                .collect(),
        )),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(|s| s.trim().to_string())
                    .ok_or(format!("{key} must be a list of names"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(format!("{key} must be a list of names")),
    }
}

impl Config {
    /// `allow_private`: PEREPISKA_ALLOW_PRIVATE_TARGETS (tests, on-premise receivers), which
    /// also allows plain http:// to such addresses and to nothing else.
    pub fn from_config(v: &Value, allow_private: bool) -> Result<Config, String> {
        if !v.is_object() {
            return Err("config must be an object with url, secret and events".into());
        }
        for key in v.as_object().into_iter().flat_map(|m| m.keys()) {
            if !KEYS.contains(&key.as_str()) {
                return Err(format!(
                    "unknown key \"{key}\" for a webhook (expected url, secret, events, channels)"
                ));
            }
        }
        let raw = v["url"]
            .as_str()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or("url is required: the address events are POSTed to")?;
        let url = super::target(raw, "url", allow_private)?;
        let secret = v["secret"].as_str().map(str::trim).unwrap_or_default();
        if secret.chars().count() < MIN_SECRET {
            return Err(format!(
                "secret must be at least {MIN_SECRET} characters: the receiver checks the signature with it"
            ));
        }
        let events = match strings(v, "events")? {
            None => Vec::new(),
            Some(list) if list.is_empty() => {
                return Err(
                    "events: choose at least one event (or leave the key out for all)".into(),
                );
            }
            Some(list) => {
                let mut out = Vec::new();
                for name in list {
                    let e = WebhookEvent::parse(&name).map_err(|e| format!("events: {e}"))?;
                    if !out.contains(&e) {
                        out.push(e);
                    }
                }
                out
            }
        };
        let channels = strings(v, "channels")?.unwrap_or_default();
        Ok(Config {
            url,
            secret: secret.to_string(),
            events,
            channels,
        })
    }
}

/// The signature a receiver recomputes: HMAC-SHA256 of "<timestamp>.<body>" with the secret,
/// hex, as `sha256=<hex>`. The timestamp (Unix seconds, in its own header) is signed with the
/// body, so a replayed call is seen by its age.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut signed = timestamp.to_string().into_bytes();
    signed.push(b'.');
    signed.extend_from_slice(body);
    format!(
        "sha256={}",
        crate::crypto::hmac_sha256_hex(secret.as_bytes(), &signed)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_validator_refuses_inside_and_plain_targets_unless_allowed() {
        let ok = |v: Value, allow: bool| Config::from_config(&v, allow);
        let s = "a-long-enough-secret";
        assert!(
            ok(
                json!({"url": "https://crm.example.com/hook", "secret": s}),
                false
            )
            .is_ok()
        );
        let e = ok(
            json!({"url": "http://crm.example.com/hook", "secret": s}),
            false,
        )
        .err();
        assert!(e.is_some_and(|e| e.contains("https://")));
        for inside in [
            "https://127.0.0.1/x",
            "https://10.0.0.5/x",
            "https://169.254.169.254/x",
            "https://[::1]/x",
            "https://localhost/x",
        ] {
            let e = ok(json!({"url": inside, "secret": s}), false).err();
            assert!(e.is_some_and(|e| e.contains("inside")), "{inside}");
        }
        assert!(ok(json!({"url": "http://127.0.0.1:8080/x", "secret": s}), true).is_ok());
        assert!(
            ok(
                json!({"url": "http://crm.example.com/x", "secret": s}),
                true
            )
            .is_err()
        );
        assert!(
            ok(
                json!({"url": "https://crm.example.com/x", "secret": "short"}),
                false
            )
            .is_err()
        );
        let e = ok(json!({"url": "https://crm.example.com/x", "secret": s, "events": ["message_incoming", "nope"]}), false).err();
        assert!(e.is_some_and(|e| e.contains("nope")));
        assert!(
            ok(
                json!({"url": "https://crm.example.com/x", "secret": s, "events": []}),
                false
            )
            .is_err()
        );
        assert!(
            ok(
                json!({"url": "https://crm.example.com/x", "secret": s, "colour": 1}),
                false
            )
            .is_err()
        );
        let c = ok(
            json!({"url": "https://crm.example.com/x", "secret": s, "events": "message_incoming, contact_updated", "channels": ["tg"]}),
            false,
        );
        assert_eq!(
            c.map(|c| (c.events, c.channels)).ok(),
            Some((
                vec![WebhookEvent::MessageIncoming, WebhookEvent::ContactUpdated],
                vec!["tg".to_string()]
            ))
        );
    }

    #[test]
    fn the_signature_covers_the_timestamp_and_the_body() {
        let a = signature("secret-secret-secret", 1_700_000_000, b"{}");
        assert_ne!(a, signature("secret-secret-secret", 1_700_000_001, b"{}"));
        assert_ne!(a, signature("secret-secret-secret", 1_700_000_000, b"{ }"));
        assert_eq!(
            a,
            format!(
                "sha256={}",
                crate::crypto::hmac_sha256_hex(b"secret-secret-secret", b"1700000000.{}")
            )
        );
    }
}
