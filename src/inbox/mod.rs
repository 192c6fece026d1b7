//! Use cases: what happens when a customer writes and when an operator acts, and the
//! registry that joins each channel's adapter to its bot and automation settings.

pub mod blacklist;
pub mod canned;
pub mod commit_queue;
pub mod contacts;
pub mod distribute;
pub mod integrations;
pub mod manage;
pub mod receive;
pub mod registry;
pub mod reply;
pub mod reports;
pub mod staff_link;
pub mod tags;
pub mod team;
pub mod typing;

use std::sync::Arc;

use tokio::sync::{Notify, mpsc};

use crate::bus::Bus;
use crate::files::FileStore;
use crate::metrics::Metrics;
use crate::store::Store;
pub use registry::{ChannelEntry, Registry};

pub use crate::domain::Received;

#[derive(Clone)]
pub struct Inbox {
    pub store: Store,
    pub bus: Bus,
    pub registry: Arc<Registry>,
    pub files: FileStore,
    /// Fetches files that platform payloads point at.
    pub downloads: crate::channels::download::Downloader,
    pub metrics: Arc<Metrics>,
    pub automation: Arc<crate::automation::Automation>,
    /// One queue per committer; a customer's messages always take the same one, so they
    /// commit in the order the platform sent them whatever the number of committers.
    ingest: Arc<Vec<mpsc::Sender<commit_queue::Job>>>,
    pub outbox_wake: Arc<Notify>,
    /// Wakes the mail worker when a notice was queued as a letter.
    pub letters_wake: Arc<Notify>,
    /// Wakes the webhooks worker when events may have been queued.
    pub webhooks_wake: Arc<Notify>,
    /// Wakes the fetcher when a message arrived with files still on the platform.
    pub fetch_wake: Arc<Notify>,
    /// When each conversation last told its customer an operator is typing.
    typing: Arc<
        std::sync::Mutex<
            std::collections::HashMap<crate::domain::ConversationId, std::time::Instant>,
        >,
    >,
}

impl Inbox {
    /// After a write that may have queued deliveries (a reply, a notice for a member): the
    /// outbox and the mail worker look now instead of at their next round.
    pub fn wake_deliveries(&self) {
        self.outbox_wake.notify_one();
        self.letters_wake.notify_one();
        self.webhooks_wake.notify_one();
    }

    /// Builds the inbox and one receiver per committer task.
    pub fn new(
        store: Store,
        bus: Bus,
        registry: Arc<Registry>,
        files: FileStore,
        downloads: crate::channels::download::Downloader,
        metrics: Arc<Metrics>,
        automation: Arc<crate::automation::Automation>,
    ) -> (Inbox, Vec<mpsc::Receiver<commit_queue::Job>>) {
        let committers = commit_queue::committers(store.backend);
        let (txs, rxs): (Vec<_>, Vec<_>) = (0..committers)
            .map(|_| mpsc::channel(16_384 / committers))
            .unzip();
        (
            Inbox {
                store,
                bus,
                registry,
                files,
                downloads,
                metrics,
                automation,
                ingest: Arc::new(txs),
                outbox_wake: Arc::new(Notify::new()),
                letters_wake: Arc::new(Notify::new()),
                webhooks_wake: Arc::new(Notify::new()),
                fetch_wake: Arc::new(Notify::new()),
                typing: Arc::default(),
            },
            rxs,
        )
    }
}

impl Inbox {
    /// What automation needs of this conversation's channel now.
    pub fn auto_ctx(&self, channel_id: crate::domain::ChannelId) -> crate::automation::Ctx {
        registry::auto_ctx(&self.automation, self.registry.by_id(channel_id).as_deref())
    }
}
