//! Background work some channels need: Telegram's long polling (or registering its webhook).
//! Each poller feeds the same path as webhooks: parse, fetch files, commit, and only then
//! move the platform's offset, so nothing accepted is lost and a crash replays at most the
//! last batch (which the platform message ids de-duplicate).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use std::collections::HashMap;

use crate::channels::telegram::{Mode, Telegram};
use crate::channels::{ChannelAdapter, ChannelKind};
use crate::domain::ChannelId;
use crate::inbox::{ChannelEntry, Inbox};
use crate::store::channels;

const OFFSET_KEY: &str = "telegram.offset";

/// What runs for each channel (a poller, a registered webhook), kept in step with the
/// registry: at start-up, and whenever channels are added, changed or paused, on this instance
/// (the settings' handlers) or another (the scheduler's reload).
pub struct Pollers {
    /// The adapter each channel's background work was started for.
    started: std::sync::Mutex<HashMap<ChannelId, Arc<dyn ChannelAdapter>>>,
    /// What this instance last heard registering each channel's webhook: the URL, or why not.
    registered: Registrations,
    public_url: Option<String>,
    shutdown: watch::Receiver<bool>,
}

impl Pollers {
    pub fn new(public_url: Option<String>, shutdown: watch::Receiver<bool>) -> Arc<Pollers> {
        Arc::new(Pollers {
            started: Default::default(),
            registered: Default::default(),
            public_url,
            shutdown,
        })
    }

    /// Starts what the registry's channels need and have not got yet. A poller whose channel
    /// was paused, removed or given new settings stops by itself (it sees the registry). The
    /// first failure to register a webhook is returned, naming the channel.
    pub async fn reconcile(
        &self,
        inbox: &Inbox,
    ) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
        let entries = inbox.registry.all();
        let todo: Vec<Arc<ChannelEntry>> = {
            let mut started = self.started.lock().unwrap_or_else(|e| e.into_inner());
            started.retain(|id, adapter| {
                entries
                    .iter()
                    .any(|e| e.channel.id == *id && Arc::ptr_eq(&e.adapter, adapter))
            });
            let new: Vec<Arc<ChannelEntry>> = entries
                .into_iter()
                .filter(|e| !started.contains_key(&e.channel.id))
                .collect();
            for e in &new {
                started.insert(e.channel.id, e.adapter.clone());
            }
            new
        };
        let mut tasks = Vec::new();
        for entry in todo {
            if let Some(t) = self.start_one(inbox, &entry).await? {
                tasks.push(t);
            }
        }
        Ok(tasks)
    }

    /// The server's public address, where one is set.
    pub fn public_url(&self) -> Option<&str> {
        self.public_url.as_deref()
    }

    /// The address the platform must call for this channel; None without a public URL.
    pub fn webhook_url(&self, adapter: &dyn ChannelAdapter, key: &str) -> Option<String> {
        self.public_url.as_deref().map(|base| {
            format!(
                "{}{}",
                base.trim_end_matches('/'),
                adapter.webhook_path(key)
            )
        })
    }

    /// For platforms whose webhook is set through their API once (OK, Avito, VK's callback
    /// server): done when a channel has been connected (VK calls the address to confirm it).
    /// Nothing to do without a public URL (the settings page then says what to paste) or for
    /// kinds registered at start (Telegram, Viber). The outcome is noted for `registration`.
    pub async fn subscribe(
        &self,
        adapter: &dyn ChannelAdapter,
        key: &str,
        id: Option<ChannelId>,
    ) -> Result<Option<String>, crate::channels::SendError> {
        if !matches!(
            adapter.kind(),
            ChannelKind::Ok | ChannelKind::Avito | ChannelKind::Vk
        ) {
            return Ok(None);
        }
        let Some(url) = self.webhook_url(adapter, key) else {
            return Ok(None);
        };
        let done = adapter.subscribe(&url).await;
        if let Some(id) = id {
            self.note_registration(
                id,
                done.as_ref()
                    .map(|_| url.clone())
                    .map_err(|e| e.message.clone()),
            );
        }
        done?;
        Ok(Some(url))
    }

    /// How the last webhook registration for this channel went here: its URL, or the error.
    pub fn registration(&self, id: ChannelId) -> Option<Result<String, String>> {
        lock(&self.registered).get(&id).cloned()
    }

    fn note_registration(&self, id: ChannelId, r: Result<String, String>) {
        note(&self.registered, id, r);
    }

    /// Tells the platform to stop calling (a paused or disconnected channel): updates then
    /// wait on the platform where it keeps them.
    pub async fn release(&self, entry: &ChannelEntry) -> Result<(), crate::channels::SendError> {
        let url = self
            .webhook_url(entry.adapter.as_ref(), &entry.channel.key)
            .unwrap_or_default();
        lock(&self.registered).remove(&entry.channel.id);
        entry.adapter.unsubscribe(&url).await
    }

    async fn start_one(
        &self,
        inbox: &Inbox,
        entry: &Arc<ChannelEntry>,
    ) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
        let public_url = self.public_url.as_deref();
        if entry.channel.kind == ChannelKind::Viber {
            return Ok(Some(tokio::spawn(register_viber(
                entry.clone(),
                public_url.map(str::to_string),
                self.registered.clone(),
                self.shutdown.clone(),
            ))));
        }
        if entry.channel.kind != ChannelKind::Telegram {
            return Ok(None);
        }
        // The registry's own instance: webhooks and the poller share what it learns (getMe).
        let Some(tg) = entry.adapter.as_any().downcast_ref::<Telegram>() else {
            return Ok(None);
        };
        match tg.mode {
            Mode::Webhook => {
                let base = public_url.ok_or_else(|| {
                    anyhow::anyhow!(
                        "channel \"{}\": mode = \"webhook\" needs PEREPISKA_PUBLIC_URL (the https address Telegram can reach)",
                        entry.channel.key
                    )
                })?;
                learn_identity(tg, &entry.channel.key).await;
                let url = format!(
                    "{}/webhooks/{}",
                    base.trim_end_matches('/'),
                    entry.channel.key
                );
                let set = tg.set_webhook(&url).await;
                self.note_registration(
                    entry.channel.id,
                    set.as_ref()
                        .map(|_| url.clone())
                        .map_err(|e| e.message.clone()),
                );
                set.map_err(|e| {
                    anyhow::anyhow!("channel \"{}\": setWebhook failed: {e}", entry.channel.key)
                })?;
                tracing::info!(channel = %entry.channel.key, url = %url, "Telegram webhook set");
                Ok(None)
            }
            Mode::Polling => Ok(Some(tokio::spawn(poll_telegram(
                inbox.clone(),
                entry.clone(),
                self.shutdown.clone(),
            )))),
        }
    }
}

type Registrations = Arc<std::sync::Mutex<HashMap<ChannelId, Result<String, String>>>>;

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn note(registered: &Registrations, id: ChannelId, r: Result<String, String>) {
    lock(registered).insert(id, r);
}

/// Whether this poller's channel is still running with the adapter it was started for.
fn still_current(inbox: &Inbox, entry: &ChannelEntry) -> bool {
    inbox
        .registry
        .by_id(entry.channel.id)
        .is_some_and(|now| Arc::ptr_eq(&now.adapter, &entry.adapter))
}

/// getMe, so that mentions of the bot in groups can be recognised. Without it private chats
/// still work; the poller tries again on every round.
async fn learn_identity(tg: &Telegram, key: &str) {
    if tg.knows_itself() {
        return;
    }
    match tg.identity().await {
        Ok(me) => tracing::info!(channel = %key, bot = %me.name, "Telegram bot found"),
        Err(e) => {
            tracing::warn!(channel = %key, error = %e, "getMe failed; group chats wait for it")
        }
    }
}

async fn poll_telegram(
    inbox: Inbox,
    entry: Arc<ChannelEntry>,
    mut shutdown: watch::Receiver<bool>,
) {
    let Some(tg) = entry.adapter.as_any().downcast_ref::<Telegram>() else {
        return;
    };
    let key = entry.channel.key.clone();
    let channel_id = entry.channel.id;
    // Telegram allows one getUpdates consumer per bot; with several instances the others get
    // 409. So one instance polls, elected by a database lock, and the rest stand by.
    let _lock = loop {
        match inbox
            .store
            .try_exclusive(&format!("telegram-poll:{key}"))
            .await
        {
            Ok(Some(lock)) => break lock,
            Ok(None) => tracing::debug!(channel = %key, "another poller holds this bot"),
            Err(e) => tracing::warn!(channel = %key, error = %e, "cannot take the poll lock"),
        }
        if !still_current(&inbox, &entry) {
            return;
        }
        // Short: the holder may be this instance's previous poller, finishing its last long
        // poll after the channel was resumed or changed.
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            _ = shutdown.changed() => return,
        }
    };
    // getUpdates does not work while a webhook is set.
    let mut webhook_removed = false;
    let mut offset: i64 = match inbox
        .store
        .read(move |c| channels::state(c, channel_id, OFFSET_KEY))
        .await
    {
        Ok(v) => v.and_then(|s| s.parse().ok()).unwrap_or(0),
        Err(e) => {
            tracing::error!(channel = %key, error = %e, "cannot read the poll offset");
            0
        }
    };
    let mut backoff = Duration::from_secs(1);
    loop {
        if *shutdown.borrow() || shutdown.has_changed().is_err() {
            break;
        }
        if !still_current(&inbox, &entry) {
            tracing::info!(channel = %key, "poller stopped: the channel was paused or changed");
            break;
        }
        learn_identity(tg, &key).await;
        if !webhook_removed {
            match tg.delete_webhook().await {
                Ok(()) => webhook_removed = true,
                Err(e) => tracing::warn!(channel = %key, error = %e, "deleteWebhook failed"),
            }
        }
        let polled = tokio::select! {
            r = tg.get_updates(offset) => r,
            _ = shutdown.changed() => break,
        };
        let wait = match polled {
            Ok(updates) if updates.is_empty() => None,
            // Paused (or changed) while the poll was open: leave the updates on Telegram, they
            // come with the first poll after resuming.
            Ok(_) if !still_current(&inbox, &entry) => continue,
            Ok(updates) => {
                let last = updates.iter().filter_map(|u| u["update_id"].as_i64()).max();
                let parsed = tg.parse_updates(&updates);
                match inbox.receive_parsed(&entry, parsed).await {
                    Ok(_) => {
                        if let Some(last) = last {
                            offset = last + 1;
                            let value = offset.to_string();
                            if let Err(e) = inbox
                                .store
                                .write(move |c| {
                                    channels::set_state(c, channel_id, OFFSET_KEY, &value)
                                })
                                .await
                            {
                                tracing::error!(
                                    channel = %key,
                                    error = %e,
                                    "cannot save the poll offset"
                                );
                            }
                        }
                        backoff = Duration::from_secs(1);
                        None
                    }
                    // Not committed: keep the offset, Telegram gives the same updates again.
                    Err(e) => {
                        tracing::error!(channel = %key, error = %e, "updates not stored, will retry");
                        Some(backoff)
                    }
                }
            }
            Err(e) => {
                if e.conflict {
                    tracing::error!(
                        channel = %key,
                        error = %e,
                        "another process is polling this bot (or a webhook is set); only one may"
                    );
                } else {
                    tracing::warn!(channel = %key, error = %e, "getUpdates failed");
                }
                Some(e.retry_after.unwrap_or(backoff).max(backoff))
            }
        };
        if let Some(w) = wait {
            backoff = (backoff * 2).min(Duration::from_secs(60));
            tokio::select! {
                _ = tokio::time::sleep(w) => {}
                _ = shutdown.changed() => break,
            }
        }
    }
}

/// Viber checks the webhook by calling it while set_webhook is in flight, so this runs in the
/// background once the server accepts requests, and retries a few times.
async fn register_viber(
    entry: Arc<ChannelEntry>,
    public_url: Option<String>,
    registered: Registrations,
    mut shutdown: watch::Receiver<bool>,
) {
    let key = entry.channel.key.clone();
    let Some(viber) = entry
        .adapter
        .as_any()
        .downcast_ref::<crate::channels::viber::Viber>()
    else {
        return;
    };
    let Some(base) = public_url else {
        tracing::warn!(
            channel = %key,
            "set PEREPISKA_PUBLIC_URL so Viber can be told where to send messages"
        );
        return;
    };
    let url = format!("{}/webhooks/{key}", base.trim_end_matches('/'));
    let mut wait = Duration::from_millis(200);
    for _ in 0..5 {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => return,
        }
        match viber.set_webhook(&url).await {
            Ok(()) => {
                tracing::info!(channel = %key, url = %url, "Viber webhook set");
                note(&registered, entry.channel.id, Ok(url));
                return;
            }
            Err(e) => {
                tracing::warn!(channel = %key, error = %e, "Viber set_webhook failed");
                note(&registered, entry.channel.id, Err(e.message));
            }
        }
        wait *= 4;
    }
}
