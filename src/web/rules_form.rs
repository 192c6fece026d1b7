//! A channel's automation form as one type: read from the rules in effect, parsed from the
//! posted form, turned into the same keys channels.toml takes (so one validator judges both),
//! and shown again as typed when refused. Field names are the form's input names.

use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};

use crate::automation::OffHours;
use crate::automation::rules::{Ask, AutoReply, ChannelRules, WIDGET_MESSAGES, format_duration};

/// A checkbox: present (whatever its value) means ticked.
fn checkbox<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    String::deserialize(d).map(|_| true)
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct RulesForm {
    pub csrf: String,
    pub auto_replies: String,
    #[serde(deserialize_with = "checkbox")]
    pub auto_reply_after_operator: bool,
    /// same, auto_reply or bot.
    pub off_hours: String,
    pub off_hours_replies: String,
    pub auto_close_after: String,
    #[serde(deserialize_with = "checkbox")]
    pub closing_on: bool,
    pub closing_message: String,
    /// default, on or off.
    pub rating: String,
    pub unanswered_alert_after: String,
    pub greeting: String,
    pub unread_after: String,
    pub unread_text: String,
    pub unanswered_after: String,
    pub unanswered_text: String,
    /// hidden, optional or required.
    pub ask_name: String,
    pub ask_phone: String,
    pub ask_email: String,
    #[serde(deserialize_with = "checkbox")]
    pub with_greeting: bool,
    #[serde(deserialize_with = "checkbox")]
    pub with_unread_message: bool,
    #[serde(deserialize_with = "checkbox")]
    pub with_unanswered_message: bool,
    /// queue, round_robin or least_busy.
    pub distribution: String,
    /// A member's e-mail: every new conversation is theirs.
    pub assign_to: String,
    pub assign_limit: String,
    pub away_after: String,
    #[serde(deserialize_with = "checkbox")]
    pub offline_returns: bool,
}

fn ask_str(a: Ask) -> String {
    match a {
        Ask::Hidden => "hidden",
        Ask::Optional => "optional",
        Ask::Required => "required",
    }
    .into()
}

fn replies_text(list: &[AutoReply]) -> String {
    list.iter()
        .map(|r| format!("{} | {}", format_duration(r.after_secs), r.text))
        .collect::<Vec<_>>()
        .join("\n")
}

/// "2m | text" lines as the file's `[{after, text}]`.
fn replies_json(text: &str, key: &str) -> Result<Value, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (after, body) = line
            .split_once('|')
            .ok_or(format!("{key}, line {}: write \"2m | text\"", i + 1))?;
        out.push(json!({ "after": after.trim(), "text": body.trim() }));
    }
    Ok(Value::Array(out))
}

fn timed(m: Option<&AutoReply>) -> (String, String) {
    m.map(|m| (format_duration(m.after_secs), m.text.clone()))
        .unwrap_or_default()
}

impl RulesForm {
    /// The form as the rules in effect fill it.
    pub fn from_rules(rules: &ChannelRules) -> RulesForm {
        let (unread_after, unread_text) = timed(rules.unread_message.as_ref());
        let (unanswered_after, unanswered_text) = timed(rules.unanswered_message.as_ref());
        let asks = rules
            .contact_request
            .as_ref()
            .map(|c| [ask_str(c.name), ask_str(c.phone), ask_str(c.email)])
            .unwrap_or_else(|| ["hidden".into(), "hidden".into(), "hidden".into()]);
        let [ask_name, ask_phone, ask_email] = asks;
        let [with_greeting, with_unread_message, with_unanswered_message] =
            WIDGET_MESSAGES.map(|w| rules.contact_request_with(w).is_some());
        RulesForm {
            csrf: String::new(),
            auto_replies: replies_text(&rules.auto_replies),
            auto_reply_after_operator: rules.auto_reply_after_operator,
            off_hours: match rules.off_hours {
                OffHours::Same => "same",
                OffHours::AutoReply => "auto_reply",
                OffHours::Bot => "bot",
            }
            .into(),
            off_hours_replies: replies_text(&rules.off_hours_replies),
            auto_close_after: rules
                .auto_close_after_secs
                .map(format_duration)
                .unwrap_or_default(),
            closing_on: rules.closing_message.is_some(),
            closing_message: rules.closing_message.clone().unwrap_or_default(),
            rating: match rules.rating {
                None => "default",
                Some(true) => "on",
                Some(false) => "off",
            }
            .into(),
            unanswered_alert_after: rules
                .unanswered_alert_after_secs
                .map(format_duration)
                .unwrap_or_default(),
            greeting: rules.greeting.clone().unwrap_or_default(),
            unread_after,
            unread_text,
            unanswered_after,
            unanswered_text,
            ask_name,
            ask_phone,
            ask_email,
            with_greeting,
            with_unread_message,
            with_unanswered_message,
            distribution: rules.distribution.mode.as_str().into(),
            assign_to: rules.distribution.assign_to.clone().unwrap_or_default(),
            assign_limit: rules
                .distribution
                .limit
                .map(|n| n.to_string())
                .unwrap_or_default(),
            away_after: rules
                .distribution
                .away_after_secs
                .map(format_duration)
                .unwrap_or_default(),
            offline_returns: rules.distribution.offline_returns,
        }
    }

    /// Whether the distribution select shows `mode` (the queue when unset).
    pub fn distributes(&self, mode: &str) -> bool {
        match self.distribution.as_str() {
            "" => mode == "queue",
            d => d == mode,
        }
    }

    /// Whether the contact-request select for `field` shows `choice`.
    pub fn asks(&self, field: &str, choice: &str) -> bool {
        let current = match field {
            "name" => &self.ask_name,
            "phone" => &self.ask_phone,
            "email" => &self.ask_email,
            _ => return false,
        };
        match current.as_str() {
            "" => choice == "hidden",
            c => c == choice,
        }
    }

    /// The keys channels.toml would have for these answers; `ChannelRules::from_config`
    /// judges them.
    pub fn to_config(&self) -> Result<Value, String> {
        let mut v = json!({});
        for (key, s) in [
            ("auto_close_after", &self.auto_close_after),
            ("unanswered_alert_after", &self.unanswered_alert_after),
        ] {
            if !s.trim().is_empty() {
                v[key] = json!(s.trim());
            }
        }
        if self.closing_on {
            let m = self.closing_message.trim();
            if m.is_empty() {
                return Err("closing_message: write the message or switch it off".into());
            }
            v["closing_message"] = json!(m);
        }
        match self.rating.as_str() {
            "on" => v["rating"] = json!(true),
            "off" => v["rating"] = json!(false),
            _ => {}
        }
        v["auto_replies"] = replies_json(&self.auto_replies, "auto_replies")?;
        v["auto_reply_after_operator"] = json!(self.auto_reply_after_operator);
        if matches!(self.off_hours.as_str(), "auto_reply" | "bot") {
            v["off_hours"] = json!(self.off_hours);
        }
        v["off_hours_replies"] = replies_json(&self.off_hours_replies, "off_hours_replies")?;
        if !self.greeting.trim().is_empty() {
            v["greeting"] = json!(self.greeting.trim());
        }
        for (key, after, text) in [
            ("unread_message", &self.unread_after, &self.unread_text),
            (
                "unanswered_message",
                &self.unanswered_after,
                &self.unanswered_text,
            ),
        ] {
            let (a, t) = (after.trim(), text.trim());
            if !a.is_empty() || !t.is_empty() {
                v[key] = json!({ "after": a, "text": t });
            }
        }
        let ask = |s: &str| {
            if s.is_empty() {
                "hidden".to_string()
            } else {
                s.to_string()
            }
        };
        let asks = [
            ask(&self.ask_name),
            ask(&self.ask_phone),
            ask(&self.ask_email),
        ];
        if asks.iter().any(|a| a != "hidden") {
            let with: Vec<&str> = WIDGET_MESSAGES
                .into_iter()
                .zip([
                    self.with_greeting,
                    self.with_unread_message,
                    self.with_unanswered_message,
                ])
                .filter_map(|(w, on)| on.then_some(w))
                .collect();
            v["contact_request"] =
                json!({ "name": asks[0], "phone": asks[1], "email": asks[2], "with": with });
        }
        for (key, s) in [
            ("distribution", &self.distribution),
            ("assign_to", &self.assign_to),
            ("assign_limit", &self.assign_limit),
            ("away_after", &self.away_after),
        ] {
            if !s.trim().is_empty() {
                v[key] = json!(s.trim());
            }
        }
        if self.offline_returns {
            v["offline_returns"] = json!(true);
        }
        Ok(v)
    }
}
