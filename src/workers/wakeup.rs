//! How a claiming worker (outbox, fetcher) waits between rounds: until its next row is due,
//! until someone wakes it with new work, or at most 5 s (another instance may have queued
//! work), and never past shutdown.

use std::time::Duration;

use chrono::NaiveDateTime;
use tokio::sync::{Notify, watch};

const AT_MOST: Duration = Duration::from_secs(5);

pub async fn until_due(
    next_due: Option<NaiveDateTime>,
    wake: &Notify,
    shutdown: &mut watch::Receiver<bool>,
) {
    let wait = match next_due {
        Some(at) => (at - crate::store::now())
            .to_std()
            .unwrap_or(Duration::ZERO)
            .min(AT_MOST),
        None => AT_MOST,
    };
    tokio::select! {
        _ = wake.notified() => {}
        _ = tokio::time::sleep(wait.max(Duration::from_millis(5))) => {}
        _ = shutdown.changed() => {}
    }
}
