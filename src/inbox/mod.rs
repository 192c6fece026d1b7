//! Use cases: what happens when a customer writes and when an operator acts.

pub mod manage;
pub mod receive;
pub mod reply;

use std::sync::Arc;

use tokio::sync::{Notify, mpsc};

use crate::bus::Bus;
use crate::channels::Registry;
use crate::files::FileStore;
use crate::metrics::Metrics;
use crate::store::Store;

pub use receive::Received;

#[derive(Clone)]
pub struct Inbox {
    pub store: Store,
    pub bus: Bus,
    pub registry: Arc<Registry>,
    pub files: FileStore,
    pub metrics: Arc<Metrics>,
    pub automation: Arc<crate::automation::Automation>,
    ingest: mpsc::Sender<receive::Job>,
    pub outbox_wake: Arc<Notify>,
}

impl Inbox {
    /// Builds the inbox and the receiver half its committer task consumes.
    pub fn new(
        store: Store,
        bus: Bus,
        registry: Arc<Registry>,
        files: FileStore,
        metrics: Arc<Metrics>,
        automation: Arc<crate::automation::Automation>,
    ) -> (Inbox, mpsc::Receiver<receive::Job>) {
        let (tx, rx) = mpsc::channel(16_384);
        (
            Inbox {
                store,
                bus,
                registry,
                files,
                metrics,
                automation,
                ingest: tx,
                outbox_wake: Arc::new(Notify::new()),
            },
            rx,
        )
    }
}
