//! The customer-bot keys every messenger channel shares (channels.toml and, later, settings).

use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Registration {
    /// Anyone who writes becomes a contact.
    Open,
    /// The customer shares a phone that must match a known contact.
    Phone,
}

#[derive(Clone, Debug, PartialEq)]
pub struct BotConfig {
    pub registration: Registration,
    /// Told to customers whose phone is unknown.
    pub support_phone: Option<String>,
}

impl Default for BotConfig {
    fn default() -> Self {
        BotConfig {
            registration: Registration::Open,
            support_phone: None,
        }
    }
}

impl BotConfig {
    /// None when the channel routes every message to the open conversation ("chat", the
    /// default); the bot is switched on per channel with routing = "helpdesk".
    pub fn from_config(config: &Value) -> Result<Option<BotConfig>, String> {
        let s = |k: &str| -> Result<Option<String>, String> {
            match config.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(v)) => Ok(Some(v.clone())),
                Some(_) => Err(format!("{k} must be a string")),
            }
        };
        let helpdesk = match s("routing")?.as_deref() {
            Some("helpdesk") => true,
            None | Some("chat") => false,
            Some(other) => {
                return Err(format!(
                    "routing \"{other}\" must be \"helpdesk\" or \"chat\""
                ));
            }
        };
        let registration = match s("registration")?.as_deref() {
            None | Some("open") => Registration::Open,
            Some("phone") => Registration::Phone,
            Some(other) => {
                return Err(format!(
                    "registration \"{other}\" must be \"open\" or \"phone\""
                ));
            }
        };
        let support_phone = s("support_phone")?;
        if registration == Registration::Phone && support_phone.is_none() {
            return Err("registration = \"phone\" needs support_phone (told to customers whose number is unknown)".into());
        }
        Ok(helpdesk.then_some(BotConfig {
            registration,
            support_phone,
        }))
    }
}
