//! Live events for the console and the widget. In-process broadcast on one machine; the
//! event is plain serde data so a Redis pub/sub transport can carry it between instances.

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A message was added (customer, operator, note or system).
    Message,
    /// Status, assignee, priority, due date or read state changed.
    Updated,
    /// An operator message's delivery state changed.
    Delivery,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Event {
    pub project_id: i64,
    pub conversation_id: i64,
    pub contact_id: i64,
    pub message_id: Option<i64>,
    pub kind: EventKind,
    /// True when a customer wrote: the console plays its sound only then.
    #[serde(default)]
    pub from_customer: bool,
    /// Whether a customer may see the message (widget streams skip notes and system events).
    #[serde(default)]
    pub public: bool,
}

#[derive(Clone)]
pub struct Bus {
    tx: broadcast::Sender<Event>,
}

impl Default for Bus {
    fn default() -> Self {
        Self::new()
    }
}

impl Bus {
    pub fn new() -> Bus {
        let (tx, _) = broadcast::channel(4096);
        Bus { tx }
    }

    pub fn publish(&self, e: Event) {
        // No subscribers is normal (nobody has the console open).
        let _ = self.tx.send(e);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }
}
