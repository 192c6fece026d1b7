//! Slows password guessing: after too many failed sign-ins for one email within a window,
//! further attempts for it are refused until the window passes. Kept in memory, so each
//! instance counts on its own.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const MAX_FAILURES: u32 = 10;
pub const WINDOW: Duration = Duration::from_secs(15 * 60);

#[derive(Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl LoginThrottle {
    /// Some(wait) when this email may not try now.
    pub fn blocked(&self, email: &str) -> Option<Duration> {
        let map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(email) {
            Some((n, since)) if *n >= MAX_FAILURES && since.elapsed() < WINDOW => {
                Some(WINDOW.saturating_sub(since.elapsed()))
            }
            _ => None,
        }
    }

    pub fn failed(&self, email: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        // Forget stale entries so the map cannot grow without bound.
        map.retain(|_, (_, since)| since.elapsed() < WINDOW);
        let e = map.entry(email.to_string()).or_insert((0, Instant::now()));
        e.0 += 1;
    }

    pub fn succeeded(&self, email: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(email);
    }
}
