//! The live set of channels: each one's adapter joined to its bot and automation settings,
//! looked up by webhook key or by id.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::automation::{Automation, ChannelRules, Ctx};
use crate::bot::{BotConfig, BotCtx, Registration};
use crate::channels::{self, ChannelAdapter, ChannelKind};
use crate::domain::ChannelId;
use crate::store::channels::Channel;

/// Checks everything a channel's config says (the platform's keys, the bot's, automation's)
/// and builds its adapter: the one validator behind channels.toml, the CLI and start-up.
pub fn build_adapter(
    kind: ChannelKind,
    name: &str,
    config: &serde_json::Value,
    http: &reqwest::Client,
) -> Result<Arc<dyn ChannelAdapter>, String> {
    let bot = if kind != ChannelKind::Widget {
        BotConfig::from_config(config)?
    } else {
        None
    };
    let rules = ChannelRules::from_config(config)?;
    if kind != ChannelKind::Widget && rules.widget_only() {
        return Err(
            "greeting, unread_message, unanswered_message and contact_request are for widget channels"
                .into(),
        );
    }
    let adapter = channels::adapter(kind, name, config, http)?;
    if bot.is_some_and(|b| b.registration == Registration::Phone)
        && !adapter.capabilities().verified_phone
    {
        return Err(format!(
            "registration = \"phone\" is not available for kind \"{kind}\": the platform does not prove that a shared number is the sender's own (Telegram and WhatsApp do); use registration = \"open\""
        ));
    }
    Ok(adapter)
}

pub struct ChannelEntry {
    pub channel: Channel,
    pub adapter: Arc<dyn ChannelAdapter>,
    /// Set when customers talk to the helpdesk bot here (routing = "helpdesk").
    pub bot: Option<BotConfig>,
    /// Automation rules: the settings page's if saved, else the channel's keys.
    pub rules: Arc<ChannelRules>,
    /// The channel's keys, opened (`channel.config` stays sealed, as stored).
    pub config: Arc<serde_json::Value>,
}

impl ChannelEntry {
    pub fn bot_ctx(&self) -> Option<BotCtx> {
        self.bot.clone().map(|config| BotCtx {
            project_id: self.channel.project_id,
            channel_id: self.channel.id,
            channel_name: self.channel.name.clone(),
            team: self.channel.default_team_id,
            config,
            buttons: self.adapter.capabilities().buttons,
            rules: self.rules.clone(),
            now: crate::store::now(),
            project: Default::default(),
        })
    }

    /// The bot for customers of a chat channel outside working hours (off_hours = "bot").
    pub fn off_hours_bot(&self) -> BotCtx {
        BotCtx {
            project_id: self.channel.project_id,
            channel_id: self.channel.id,
            channel_name: self.channel.name.clone(),
            team: self.channel.default_team_id,
            config: BotConfig::default(),
            buttons: self.adapter.capabilities().buttons,
            rules: self.rules.clone(),
            now: crate::store::now(),
            project: Default::default(),
        }
    }

    /// What automation needs of this channel at this moment.
    pub fn auto_ctx(&self, automation: &Automation) -> Ctx {
        automation.ctx(
            self.channel.project_id,
            self.rules.clone(),
            self.bot.is_some(),
            self.adapter.capabilities().buttons,
            self.channel.kind == ChannelKind::Widget,
        )
    }
}

/// Automation's view of a channel that may have gone (removed since): no rules then.
pub fn auto_ctx(automation: &Automation, entry: Option<&ChannelEntry>) -> Ctx {
    match entry {
        Some(e) => e.auto_ctx(automation),
        None => automation.ctx_without_channel(),
    }
}

pub struct Registry {
    by_id: RwLock<HashMap<ChannelId, Arc<ChannelEntry>>>,
    http: reqwest::Client,
    /// Opens the stored (sealed) channel configs.
    key: crate::crypto::SecretKey,
    /// The rows the set was last built from (a broken one included, so it is not retried
    /// until it changes).
    loaded: RwLock<Vec<RowSig>>,
}

/// What of a stored channel decides how it runs.
type RowSig = (ChannelId, String, String, Option<String>, Option<i64>);

fn sig(c: &Channel) -> RowSig {
    (
        c.id,
        c.config.clone(),
        c.name.clone(),
        c.automation.clone(),
        c.default_team_id,
    )
}

impl Registry {
    pub fn new(http: reqwest::Client, key: crate::crypto::SecretKey) -> Registry {
        Registry {
            by_id: RwLock::new(HashMap::new()),
            http,
            key,
            loaded: RwLock::new(Vec::new()),
        }
    }

    /// Replaces the set. A channel whose stored row is unchanged keeps its entry (its adapter,
    /// what that caches, and the poller started for it). A channel whose stored config no
    /// longer builds is skipped and logged, so one broken channel never stops the others.
    pub fn load(&self, channels: Vec<Channel>) {
        let old = self.by_id.read().unwrap_or_else(|e| e.into_inner()).clone();
        *self.loaded.write().unwrap_or_else(|e| e.into_inner()) =
            channels.iter().filter(|c| c.enabled).map(sig).collect();
        let mut map = HashMap::new();
        for ch in channels.into_iter().filter(|c| c.enabled) {
            if let Some(e) = old.get(&ch.id)
                && e.channel.config == ch.config
                && e.channel.name == ch.name
                && e.channel.automation == ch.automation
                && e.channel.default_team_id == ch.default_team_id
            {
                map.insert(ch.id, e.clone());
                continue;
            }
            let config: serde_json::Value = match self.key.open(&ch.config) {
                Ok(plain) => serde_json::from_str(&plain).unwrap_or(serde_json::Value::Null),
                Err(e) => {
                    tracing::error!(channel = %ch.key, error = %e, "channel not started");
                    continue;
                }
            };
            let bot = if ch.kind == ChannelKind::Widget {
                Ok(None)
            } else {
                BotConfig::from_config(&config)
            };
            let rules = match &ch.automation {
                Some(saved) => serde_json::from_str::<ChannelRules>(saved)
                    .map_err(|e| format!("saved automation settings: {e}")),
                None => ChannelRules::from_config(&config),
            };
            match build_adapter(ch.kind, &ch.name, &config, &self.http)
                .and_then(|a| Ok((a, bot?, rules?)))
            {
                Ok((adapter, bot, rules)) => {
                    map.insert(
                        ch.id,
                        Arc::new(ChannelEntry {
                            channel: ch,
                            adapter,
                            bot,
                            rules: Arc::new(rules),
                            config: Arc::new(config),
                        }),
                    );
                }
                Err(e) => tracing::error!(channel = %ch.key, error = %e, "channel not started"),
            }
        }
        *self.by_id.write().unwrap_or_else(|e| e.into_inner()) = map;
    }

    /// New automation rules for a running channel; the adapter (and what it caches, such as
    /// tokens) stays.
    pub fn update_rules(&self, id: ChannelId, saved: Option<String>, rules: ChannelRules) {
        let mut map = self.by_id.write().unwrap_or_else(|e| e.into_inner());
        if let Some(old) = map.get(&id).cloned() {
            let mut channel = old.channel.clone();
            channel.automation = saved;
            map.insert(
                id,
                Arc::new(ChannelEntry {
                    channel,
                    adapter: old.adapter.clone(),
                    bot: old.bot.clone(),
                    rules: Arc::new(rules),
                    config: old.config.clone(),
                }),
            );
        }
    }

    pub fn by_id(&self, id: ChannelId) -> Option<Arc<ChannelEntry>> {
        self.by_id
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
            .cloned()
    }

    pub fn by_key(&self, key: &str) -> Option<Arc<ChannelEntry>> {
        self.by_id
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .find(|e| e.channel.key == key)
            .cloned()
    }

    /// An adapter for settings not stored yet (a credentials check), with the registry's client.
    pub fn build(
        &self,
        kind: ChannelKind,
        name: &str,
        config: &serde_json::Value,
    ) -> Result<Arc<dyn ChannelAdapter>, String> {
        build_adapter(kind, name, config, &self.http)
    }

    /// The HTTP client channels talk to their platforms with.
    pub fn http(&self) -> reqwest::Client {
        self.http.clone()
    }

    /// Seals a channel's config for storing, with the key the registry opens it with.
    pub fn seal(&self, config: &str) -> crate::error::Result<String> {
        self.key.seal(config)
    }

    /// The key stored secrets are sealed with (integrations seal theirs with it too).
    pub fn secret_key(&self) -> &crate::crypto::SecretKey {
        &self.key
    }

    /// A sealed value (an integration's settings) opened with the server's key.
    pub fn open_sealed(&self, stored: &str) -> crate::error::Result<String> {
        self.key.open(stored)
    }

    /// A stored channel's keys, opened (to edit them; secrets stay on the server).
    pub fn open(&self, ch: &Channel) -> crate::error::Result<serde_json::Value> {
        let plain = self.key.open(&ch.config)?;
        serde_json::from_str(&plain)
            .map_err(|e| crate::error::Error::internal(format!("channel {}: {e}", ch.key)))
    }

    /// Whether these stored rows are what is running (ids, settings, names, rules).
    pub fn matches(&self, channels: &[Channel]) -> bool {
        let now: Vec<RowSig> = channels.iter().filter(|c| c.enabled).map(sig).collect();
        *self.loaded.read().unwrap_or_else(|e| e.into_inner()) == now
    }

    pub fn all(&self) -> Vec<Arc<ChannelEntry>> {
        let mut v: Vec<_> = self
            .by_id
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        v.sort_by_key(|e| e.channel.id);
        v
    }

    pub fn of_project(&self, project_id: crate::domain::ProjectId) -> Vec<Arc<ChannelEntry>> {
        let mut v: Vec<_> = self
            .by_id
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .filter(|e| e.channel.project_id == project_id)
            .cloned()
            .collect();
        v.sort_by_key(|e| e.channel.id);
        v
    }
}
