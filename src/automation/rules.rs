//! Per-channel automation rules: auto-replies, off-hours handling, inactivity auto-close,
//! the closing message, the rating request and unanswered alerts. Read from the channel's
//! keys (channels.toml) or from the settings page, validated the same way for both.

use chrono::Duration;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::channels::common as keys;

pub const CLOSING_MESSAGE_CHARS: usize = 250;
pub const AUTO_REPLY_CHARS: usize = 1000;
pub const MAX_AUTO_REPLIES: usize = 10;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AutoReply {
    /// Seconds the customer's last message stays unanswered before this is sent.
    pub after_secs: i64,
    pub text: String,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OffHours {
    /// Outside working hours the usual auto-replies apply.
    #[default]
    Same,
    /// Outside working hours `off_hours_replies` are sent instead.
    AutoReply,
    /// Outside working hours the customer bot answers (no auto-replies then).
    Bot,
}

/// How the contact request asks for one detail.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ask {
    #[default]
    Hidden,
    Optional,
    Required,
}

/// A small form under widget messages asking for the visitor's name, phone and email.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContactRequest {
    pub name: Ask,
    pub phone: Ask,
    pub email: Ask,
    /// Which widget messages carry it: greeting, unread_message, unanswered_message.
    pub with: Vec<String>,
}

pub const WIDGET_MESSAGES: [&str; 3] = ["greeting", "unread_message", "unanswered_message"];

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChannelRules {
    pub auto_close_after_secs: Option<i64>,
    pub closing_message: Option<String>,
    /// Ask for a 1-5 rating when resolved or closed; unset: on for helpdesk channels.
    pub rating: Option<bool>,
    pub unanswered_alert_after_secs: Option<i64>,
    pub auto_replies: Vec<AutoReply>,
    /// Keep auto-replying after an operator has answered in the conversation (default: stop).
    pub auto_reply_after_operator: bool,
    pub off_hours: OffHours,
    pub off_hours_replies: Vec<AutoReply>,
    /// Widget: shown when the visitor opens the chat.
    pub greeting: Option<String>,
    /// Widget: sent when no operator has read the visitor's message in time.
    pub unread_message: Option<AutoReply>,
    /// Widget: sent when an operator has read it but not answered in time.
    pub unanswered_message: Option<AutoReply>,
    pub contact_request: Option<ContactRequest>,
    /// Who gets new conversations (see `distribution`).
    pub distribution: super::distribution::Distribution,
}

/// "90s", "15m", "24h", "3d" → seconds. Refuses anything else, zero and negatives included
/// where `positive` is asked for.
pub fn parse_duration(s: &str, positive: bool) -> Result<i64, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '-')
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: i64 = num.parse().map_err(|_| {
        format!("\"{s}\" is not a duration: write a number and a unit, e.g. 90m, 24h or 3d")
    })?;
    let secs = match unit.trim() {
        "s" => Some(n),
        "m" => n.checked_mul(60),
        "h" => n.checked_mul(3600),
        "d" => n.checked_mul(86_400),
        _ => None,
    }
    .ok_or_else(|| format!("\"{s}\" is not a duration: the unit must be s, m, h or d"))?;
    if secs < 0 || (positive && secs == 0) {
        return Err(format!("\"{s}\" must be greater than zero"));
    }
    if secs > 366 * 86_400 {
        return Err(format!("\"{s}\" is longer than a year"));
    }
    Ok(secs)
}

/// Seconds back as the shortest exact form ("2m", "24h", "3d").
pub fn format_duration(secs: i64) -> String {
    match secs {
        0 => "0s".into(),
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

fn duration_key(config: &Value, key: &str, positive: bool) -> Result<Option<i64>, String> {
    match config.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => parse_duration(s, positive)
            .map(Some)
            .map_err(|e| format!("{key}: {e}")),
        Some(_) => Err(format!("{key} must be a duration such as \"24h\"")),
    }
}

/// One `{ after, text }` table; `at` names it in errors. Widget messages need a delay above
/// zero, auto-replies may go at once ("0s").
fn auto_reply(v: &Value, at: &str, positive: bool) -> Result<AutoReply, String> {
    let after = v["after"]
        .as_str()
        .ok_or(format!("{at}.after is required, e.g. \"2m\""))?;
    let after_secs = parse_duration(after, positive).map_err(|e| format!("{at}.after: {e}"))?;
    let text = v["text"]
        .as_str()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(format!("{at}.text is required"))?;
    if text.chars().count() > AUTO_REPLY_CHARS {
        return Err(format!(
            "{at}.text is longer than {AUTO_REPLY_CHARS} characters"
        ));
    }
    Ok(AutoReply {
        after_secs,
        text: text.to_string(),
    })
}

fn timed_message(config: &Value, key: &str) -> Result<Option<AutoReply>, String> {
    match config.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => auto_reply(v, key, true).map(Some),
    }
}

fn contact_request(config: &Value) -> Result<Option<ContactRequest>, String> {
    let v = match config.get("contact_request") {
        None | Some(Value::Null) => return Ok(None),
        Some(v) if v.is_object() => v,
        Some(_) => {
            return Err(
                "contact_request must be a table like { name = \"required\", with = [\"greeting\"] }"
                    .into(),
            );
        }
    };
    let ask = |k: &str| -> Result<Ask, String> {
        match v[k].as_str() {
            None | Some("hidden") => Ok(Ask::Hidden),
            Some("optional") => Ok(Ask::Optional),
            Some("required") => Ok(Ask::Required),
            Some(o) => Err(format!(
                "contact_request.{k} \"{o}\" must be \"hidden\", \"optional\" or \"required\""
            )),
        }
    };
    let with: Vec<String> = match &v["with"] {
        Value::Array(a) => a
            .iter()
            .map(|x| x.as_str().map(str::to_string))
            .collect::<Option<_>>()
            .ok_or("contact_request.with must list message names")?,
        Value::Null => Vec::new(),
        _ => return Err("contact_request.with must be a list".into()),
    };
    let r = ContactRequest {
        name: ask("name")?,
        phone: ask("phone")?,
        email: ask("email")?,
        with,
    };
    if [r.name, r.phone, r.email].iter().all(|a| *a == Ask::Hidden) {
        return Err("contact_request asks for nothing: set name, phone or email".into());
    }
    if r.with.is_empty() {
        return Err("contact_request.with must name the messages that carry it".into());
    }
    Ok(Some(r))
}

fn replies_key(config: &Value, key: &str) -> Result<Vec<AutoReply>, String> {
    let list = match config.get(key) {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(a)) => a,
        Some(_) => {
            return Err(format!(
                "{key} must be a list like [{{ after = \"2m\", text = \"…\" }}]"
            ));
        }
    };
    if list.len() > MAX_AUTO_REPLIES {
        return Err(format!("{key}: at most {MAX_AUTO_REPLIES} replies"));
    }
    let mut out = list
        .iter()
        .enumerate()
        .map(|(i, item)| auto_reply(item, &format!("{key}[{i}]"), false))
        .collect::<Result<Vec<_>, _>>()?;
    out.sort_by_key(|r| r.after_secs);
    Ok(out)
}

impl ChannelRules {
    pub fn from_config(config: &Value) -> Result<ChannelRules, String> {
        let closing_message = keys::opt_text(config, "closing_message")?;
        let rules = ChannelRules {
            auto_close_after_secs: duration_key(config, "auto_close_after", true)?,
            closing_message,
            rating: keys::opt_flag(config, "rating")?,
            unanswered_alert_after_secs: duration_key(config, "unanswered_alert_after", true)?,
            auto_replies: replies_key(config, "auto_replies")?,
            auto_reply_after_operator: keys::flag(config, "auto_reply_after_operator", false)?,
            off_hours: keys::choice(
                config,
                "off_hours",
                &[("auto_reply", OffHours::AutoReply), ("bot", OffHours::Bot)],
            )?
            .unwrap_or(OffHours::Same),
            off_hours_replies: replies_key(config, "off_hours_replies")?,
            greeting: keys::opt_text(config, "greeting")?,
            unread_message: timed_message(config, "unread_message")?,
            unanswered_message: timed_message(config, "unanswered_message")?,
            contact_request: contact_request(config)?,
            distribution: super::distribution::Distribution::from_config(config)?,
        };
        rules.validate()?;
        Ok(rules)
    }

    /// The checks shared by the file and the settings page.
    pub fn validate(&self) -> Result<(), String> {
        self.distribution.validate()?;
        if let Some(m) = &self.closing_message
            && m.chars().count() > CLOSING_MESSAGE_CHARS
        {
            return Err(format!(
                "closing_message is {} characters; at most {CLOSING_MESSAGE_CHARS}",
                m.chars().count()
            ));
        }
        if self.auto_close_after_secs.is_some_and(|s| s <= 0) {
            return Err("auto_close_after must be greater than zero".into());
        }
        if self.unanswered_alert_after_secs.is_some_and(|s| s <= 0) {
            return Err("unanswered_alert_after must be greater than zero".into());
        }
        if self
            .greeting
            .as_ref()
            .is_some_and(|g| g.chars().count() > AUTO_REPLY_CHARS)
        {
            return Err(format!(
                "greeting is longer than {AUTO_REPLY_CHARS} characters"
            ));
        }
        if let Some(c) = &self.contact_request {
            for w in &c.with {
                let configured = match w.as_str() {
                    "greeting" => self.greeting.is_some(),
                    "unread_message" => self.unread_message.is_some(),
                    "unanswered_message" => self.unanswered_message.is_some(),
                    other => {
                        return Err(format!(
                            "contact_request.with: \"{other}\" is not one of {}",
                            WIDGET_MESSAGES.join(", ")
                        ));
                    }
                };
                if !configured {
                    return Err(format!("contact_request.with names {w}, which is not set"));
                }
            }
        }
        match self.off_hours {
            OffHours::Bot if !self.off_hours_replies.is_empty() => Err(
                "off_hours = \"bot\" and off_hours_replies cannot both be set: outside working hours either the bot answers or the auto-replies do".into(),
            ),
            OffHours::AutoReply if self.off_hours_replies.is_empty() => {
                Err("off_hours = \"auto_reply\" needs off_hours_replies".into())
            }
            OffHours::Same if !self.off_hours_replies.is_empty() => {
                Err("off_hours_replies are used only with off_hours = \"auto_reply\"".into())
            }
            _ => Ok(()),
        }
    }

    /// Whether anything here needs timers at all (most channels: no).
    pub fn any(&self) -> bool {
        self.auto_close_after_secs.is_some()
            || self.unanswered_alert_after_secs.is_some()
            || !self.auto_replies.is_empty()
            || !self.off_hours_replies.is_empty()
            || self.unread_message.is_some()
            || self.unanswered_message.is_some()
    }

    /// Rules only the chat widget can carry out.
    pub fn widget_only(&self) -> bool {
        self.greeting.is_some()
            || self.unread_message.is_some()
            || self.unanswered_message.is_some()
            || self.contact_request.is_some()
    }

    /// The contact request, if the message named `which` carries it.
    pub fn contact_request_with(&self, which: &str) -> Option<&ContactRequest> {
        self.contact_request
            .as_ref()
            .filter(|c| c.with.iter().any(|w| w == which))
    }

    pub fn auto_close_after(&self) -> Option<Duration> {
        self.auto_close_after_secs.map(Duration::seconds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn durations_take_units_and_refuse_zero_where_it_makes_no_sense() {
        assert_eq!(parse_duration("90m", true), Ok(5400));
        assert_eq!(parse_duration("24h", true), Ok(86_400));
        assert_eq!(parse_duration("3d", true), Ok(259_200));
        assert_eq!(parse_duration("0s", false), Ok(0));
        assert!(
            parse_duration("0h", true)
                .err()
                .unwrap_or_default()
                .contains("greater than zero")
        );
        assert!(parse_duration("-2h", true).is_err());
        assert!(parse_duration("2 weeks", true).is_err());
        assert!(parse_duration("h", true).is_err());
        assert_eq!(format_duration(5400), "90m");
        assert_eq!(format_duration(86_400), "1d");
    }

    #[test]
    fn the_file_keys_are_validated_with_the_key_named() {
        let err = |v: Value| ChannelRules::from_config(&v).err().unwrap_or_default();
        assert!(err(json!({"auto_close_after": "0h"})).starts_with("auto_close_after"));
        assert!(err(json!({"closing_message": "ы".repeat(251)})).contains("251 characters"));
        assert!(ChannelRules::from_config(&json!({"closing_message": "ы".repeat(250)})).is_ok());
        assert!(
            err(json!({"off_hours": "bot", "off_hours_replies": [{"after": "0s", "text": "x"}]}))
                .contains("cannot both")
        );
        assert!(err(json!({"auto_replies": [{"after": "2m"}]})).contains("auto_replies[0].text"));
        let Ok(r) = ChannelRules::from_config(&json!({
            "auto_replies": [{"after": "5m", "text": "b"}, {"after": "2m", "text": "a"}],
            "rating": true
        })) else {
            panic!("valid rules refused");
        };
        assert_eq!(r.auto_replies[0].text, "a", "sorted by delay");
        assert!(r.rating == Some(true) && r.any());
    }
}
