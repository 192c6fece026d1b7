//! Background work some channels need: long polling (Telegram, MAX) or registering a webhook.
//! Each poller feeds the same path as webhooks: parse, fetch files, commit, and only then
//! move the platform's offset, so nothing accepted is lost and a crash replays at most the
//! last batch (which the platform message ids de-duplicate).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use std::collections::HashMap;

use crate::channels::{ChannelAdapter, ChannelKind};
use crate::domain::ChannelId;
use crate::inbox::{ChannelEntry, Inbox};
use crate::store::channels;

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
    /// kinds registered at each start (Telegram, MAX, Viber). The outcome is noted for `registration`.
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
        if entry.adapter.long_poll().is_some() {
            return Ok(Some(tokio::spawn(poll(
                inbox.clone(),
                entry.clone(),
                self.shutdown.clone(),
            ))));
        }
        if !entry.adapter.subscribes_at_start() {
            return Ok(None);
        }
        let Some(url) = self.webhook_url(entry.adapter.as_ref(), &entry.channel.key) else {
            let why = format!(
                "set PEREPISKA_PUBLIC_URL (the https address {} can reach) so the webhook can be registered",
                entry.channel.kind
            );
            tracing::warn!(channel = %entry.channel.key, "{why}");
            self.note_registration(entry.channel.id, Err(why));
            return Ok(None);
        };
        // Tried here first, so connecting in the settings says at once whether it worked.
        if register_once(entry, &url, &self.registered).await {
            return Ok(None);
        }
        Ok(Some(tokio::spawn(register(
            inbox.clone(),
            entry.clone(),
            url,
            self.registered.clone(),
            self.shutdown.clone(),
        ))))
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

/// Long polling for any platform that offers it. Such platforms allow one consumer per bot
/// (Telegram answers others 409), so with several instances one polls, elected by a database
/// lock, and the rest stand by.
async fn poll(inbox: Inbox, entry: Arc<ChannelEntry>, mut shutdown: watch::Receiver<bool>) {
    let Some(source) = entry.adapter.long_poll() else {
        return;
    };
    let key = entry.channel.key.clone();
    let channel_id = entry.channel.id;
    let platform = source.platform();
    let _lock = loop {
        match inbox
            .store
            .try_exclusive(&format!("{platform}-poll:{key}"))
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
    let cursor_key = source.cursor_key();
    let mut cursor: Option<i64> = match inbox
        .store
        .read(move |c| channels::state(c, channel_id, cursor_key))
        .await
    {
        Ok(v) => v.and_then(|s| s.parse().ok()),
        Err(e) => {
            tracing::error!(channel = %key, error = %e, "cannot read the poll cursor");
            None
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
        if let Err(e) = source.prepare().await {
            tracing::warn!(channel = %key, error = %e, "{platform}: getting ready to poll failed");
        }
        let polled = tokio::select! {
            r = source.poll(cursor) => r,
            _ = shutdown.changed() => break,
        };
        let wait = match polled {
            Ok(p) if p.count == 0 => {
                // Nothing new, but the platform may have moved its cursor (MAX's marker).
                if p.next.is_some() {
                    cursor = p.next;
                }
                None
            }
            // Paused (or changed) while the poll was open: leave the updates on the platform,
            // they come with the first poll after resuming.
            Ok(_) if !still_current(&inbox, &entry) => continue,
            Ok(p) => match inbox.receive_parsed(&entry, p.parsed).await {
                Ok(_) => {
                    if let Some(next) = p.next {
                        cursor = Some(next);
                        let value = next.to_string();
                        if let Err(e) = inbox
                            .store
                            .write(move |c| channels::set_state(c, channel_id, cursor_key, &value))
                            .await
                        {
                            tracing::error!(channel = %key, error = %e, "cannot save the poll cursor");
                        }
                    }
                    backoff = Duration::from_secs(1);
                    None
                }
                // Not committed: keep the cursor, the platform gives the same updates again.
                Err(e) => {
                    tracing::error!(channel = %key, error = %e, "updates not stored, will retry");
                    Some(backoff)
                }
            },
            Err(e) => {
                if e.conflict {
                    tracing::error!(
                        channel = %key,
                        error = %e,
                        "another process is polling this bot (or a webhook is set); only one may"
                    );
                } else {
                    tracing::warn!(channel = %key, error = %e, "{platform}: polling failed");
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

/// One attempt to register a channel's webhook (Telegram's setWebhook, MAX's subscription,
/// Viber's set_webhook), after learning the bot's identity (group chats need its name to see
/// mentions of it); the outcome is noted for the channel's settings page.
async fn register_once(entry: &ChannelEntry, url: &str, registered: &Registrations) -> bool {
    let key = &entry.channel.key;
    let adapter = entry.adapter.as_ref();
    if let Err(e) = adapter.identity().await {
        tracing::warn!(channel = %key, error = %e, "the bot's identity is unknown; group chats wait for it");
    }
    match adapter.subscribe(url).await {
        Ok(()) => {
            tracing::info!(channel = %key, url = %url, "webhook registered");
            note(registered, entry.channel.id, Ok(url.to_string()));
            true
        }
        Err(e) => {
            tracing::warn!(channel = %key, error = %e, "registering the webhook failed; retrying in the background");
            note(registered, entry.channel.id, Err(e.message));
            false
        }
    }
}

/// Retries a registration that failed at start in the background: a platform that is down
/// keeps nothing else from starting, and Viber, which checks the address by calling it while
/// the request is in flight, succeeds once the server answers. The wait grows to 10 minutes;
/// it stops when it succeeds, the channel changes or the server stops.
async fn register(
    inbox: Inbox,
    entry: Arc<ChannelEntry>,
    url: String,
    registered: Registrations,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut wait = Duration::from_millis(200);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => return,
        }
        if !still_current(&inbox, &entry) || register_once(&entry, &url, &registered).await {
            return;
        }
        wait = (wait * 4).min(Duration::from_secs(600));
    }
}
