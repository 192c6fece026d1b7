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
    /// Fetches files that platform payloads point at.
    pub downloads: crate::channels::download::Downloader,
    pub metrics: Arc<Metrics>,
    pub automation: Arc<crate::automation::Automation>,
    /// One queue per committer; a customer's messages always take the same one, so they
    /// commit in the order the platform sent them whatever the number of committers.
    ingest: Arc<Vec<mpsc::Sender<receive::Job>>>,
    pub outbox_wake: Arc<Notify>,
    /// Wakes the fetcher when a message arrived with files still on the platform.
    pub fetch_wake: Arc<Notify>,
}

impl Inbox {
    /// Builds the inbox and one receiver per committer task.
    pub fn new(
        store: Store,
        bus: Bus,
        registry: Arc<Registry>,
        files: FileStore,
        downloads: crate::channels::download::Downloader,
        metrics: Arc<Metrics>,
        automation: Arc<crate::automation::Automation>,
    ) -> (Inbox, Vec<mpsc::Receiver<receive::Job>>) {
        let committers = receive::committers(store.backend);
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
                fetch_wake: Arc::new(Notify::new()),
            },
            rxs,
        )
    }
}
