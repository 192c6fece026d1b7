//! The customer-bot keys every messenger channel shares (channels.toml and, later, settings).

use serde_json::Value;

use crate::channels::common as keys;

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
        let helpdesk = keys::choice(config, "routing", &[("helpdesk", true), ("chat", false)])?
            .unwrap_or(false);
        let registration = keys::choice(
            config,
            "registration",
            &[("open", Registration::Open), ("phone", Registration::Phone)],
        )?
        .unwrap_or(Registration::Open);
        let support_phone = keys::opt_str(config, "support_phone")?;
        if registration == Registration::Phone && support_phone.is_none() {
            return Err("registration = \"phone\" needs support_phone (told to customers whose number is unknown)".into());
        }
        Ok(helpdesk.then_some(BotConfig {
            registration,
            support_phone,
        }))
    }
}
