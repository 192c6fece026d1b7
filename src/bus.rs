//! Live events for the console and the widget. In-process broadcast on one machine; with
//! REDIS_URL every event is also published on a Redis channel, and each instance re-broadcasts
//! what the others published, so a console sees events whichever instance handled them.

use std::time::Duration;

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc, watch};

/// The Redis pub/sub channel events travel on.
pub const REDIS_CHANNEL: &str = "perepiska:events";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A message was added (customer, operator, note or system).
    Message,
    /// Status, assignee, priority, due date or read state changed.
    Updated,
    /// An operator message's delivery state changed (also: the visitor read it).
    Delivery,
    /// An operator is typing an answer (nothing stored; the widget shows it for a while).
    Typing,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Event {
    pub project_id: crate::domain::ProjectId,
    pub conversation_id: crate::domain::ConversationId,
    pub contact_id: crate::domain::ContactId,
    pub message_id: Option<i64>,
    pub kind: EventKind,
    /// True when a customer wrote: the console plays its sound only then.
    #[serde(default)]
    pub from_customer: bool,
    /// The customer's message opened a new conversation (its own sound in the console).
    #[serde(default)]
    pub new_conversation: bool,
    /// Whether a customer may see the message (widget streams skip notes and system events).
    #[serde(default)]
    pub public: bool,
}

/// An event as the streams receive it: written as JSON once, however many streams send it.
#[derive(Clone, Debug)]
pub struct Live {
    pub event: Event,
    pub json: std::sync::Arc<str>,
}

impl Live {
    fn of(event: Event) -> Live {
        let json = serde_json::to_string(&event).unwrap_or_else(|_| "{}".into());
        Live {
            event,
            json: json.into(),
        }
    }
}

#[derive(Clone)]
pub struct Bus {
    tx: broadcast::Sender<Live>,
    /// User ids whose access changed (switched off, removed, new levels): their open streams
    /// check again at once, on every instance.
    access: broadcast::Sender<i64>,
    /// This instance's name on the Redis channel (its own messages come back and are skipped).
    me: String,
    /// Set with Redis: what to publish for the other instances.
    out: Option<mpsc::Sender<Envelope>>,
}

/// What travels between instances: a live event or a user whose access changed.
#[derive(Clone, Serialize, Deserialize)]
struct Envelope {
    from: String,
    #[serde(default)]
    event: Option<Event>,
    #[serde(default)]
    access: Option<i64>,
}

impl Default for Bus {
    fn default() -> Self {
        Self::new()
    }
}

impl Bus {
    pub fn new() -> Bus {
        let (tx, _) = broadcast::channel(4096);
        let (access, _) = broadcast::channel(256);
        Bus {
            tx,
            access,
            me: String::new(),
            out: None,
        }
    }

    /// A bus shared with the other instances through Redis. Fails at start when Redis cannot
    /// be reached; later outages are retried in the background (events meanwhile stay local).
    pub async fn with_redis(url: &str, shutdown: watch::Receiver<bool>) -> anyhow::Result<Bus> {
        let client = redis::Client::open(url)
            .map_err(|e| anyhow::anyhow!("REDIS_URL \"{url}\" is not usable: {e}"))?;
        let unreachable = |e: String| anyhow::anyhow!("cannot connect to Redis at {url}: {e}");
        // One plain attempt first: the connection manager would retry for a while.
        tokio::time::timeout(
            Duration::from_secs(5),
            client.get_multiplexed_async_connection(),
        )
        .await
        .map_err(|_| unreachable("no answer in 5 s".into()))?
        .map_err(|e| unreachable(e.to_string()))?;
        let conn = client
            .get_connection_manager()
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        let me = crate::crypto::random_hex(8)?;
        let (out_tx, out_rx) = mpsc::channel(4096);
        let mut bus = Bus::new();
        tokio::spawn(publisher(conn, out_rx));
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        tokio::spawn(subscriber(
            client,
            me.clone(),
            bus.clone(),
            shutdown,
            Some(ready_tx),
        ));
        // Start serving only once this instance hears the others.
        let _ = tokio::time::timeout(Duration::from_secs(10), ready_rx).await;
        bus.out = Some(out_tx);
        bus.me = me;
        Ok(bus)
    }

    fn relay(&self, envelope: Envelope) {
        if let Some(out) = &self.out
            && out.try_send(envelope).is_err()
        {
            tracing::warn!("live event not sent to other instances: Redis publishing is behind");
        }
    }

    pub fn publish(&self, e: Event) {
        if self.out.is_some() {
            self.relay(Envelope {
                from: self.me.clone(),
                event: Some(e.clone()),
                access: None,
            });
        }
        // No subscribers is normal (nobody has the console open).
        let _ = self.tx.send(Live::of(e));
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Live> {
        self.tx.subscribe()
    }

    /// Tells every instance that this user's access changed: their streams check again.
    pub fn access_changed(&self, user_id: i64) {
        self.relay(Envelope {
            from: self.me.clone(),
            event: None,
            access: Some(user_id),
        });
        let _ = self.access.send(user_id);
    }

    pub fn access_changes(&self) -> broadcast::Receiver<i64> {
        self.access.subscribe()
    }
}

async fn publisher(mut conn: redis::aio::ConnectionManager, mut rx: mpsc::Receiver<Envelope>) {
    while let Some(envelope) = rx.recv().await {
        let Ok(payload) = serde_json::to_string(&envelope) else {
            continue;
        };
        let sent: redis::RedisResult<i64> = redis::cmd("PUBLISH")
            .arg(REDIS_CHANNEL)
            .arg(payload)
            .query_async(&mut conn)
            .await;
        if let Err(e) = sent {
            tracing::warn!(error = %e, "live event not published to Redis");
        }
    }
}

/// Re-broadcasts the other instances' events; resubscribes after a lost connection.
async fn subscriber(
    client: redis::Client,
    me: String,
    bus: Bus,
    mut shutdown: watch::Receiver<bool>,
    mut ready: Option<tokio::sync::oneshot::Sender<()>>,
) {
    let mut backoff = Duration::from_millis(200);
    loop {
        let mut pubsub = match client.get_async_pubsub().await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(retry_in = ?backoff, error = %e, "Redis subscription failed");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.changed() => return,
                }
                backoff = (backoff * 2).min(Duration::from_secs(10));
                continue;
            }
        };
        if let Err(e) = pubsub.subscribe(REDIS_CHANNEL).await {
            tracing::warn!(error = %e, "Redis subscription failed");
            continue;
        }
        backoff = Duration::from_millis(200);
        if let Some(r) = ready.take() {
            let _ = r.send(());
        }
        let mut messages = pubsub.on_message();
        loop {
            tokio::select! {
                m = messages.next() => {
                    let Some(m) = m else { break };
                    let Ok(payload) = m.get_payload::<String>() else { continue };
                    match serde_json::from_str::<Envelope>(&payload) {
                        Ok(env) if env.from != me => {
                            if let Some(e) = env.event {
                                let _ = bus.tx.send(Live::of(e));
                            }
                            if let Some(user) = env.access {
                                let _ = bus.access.send(user);
                            }
                        }
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "unreadable live event from Redis"),
                    }
                }
                _ = shutdown.changed() => return,
            }
        }
        tracing::warn!("Redis subscription lost; resubscribing");
    }
}
