//! The time automation runs on. Tests set it by hand, so no test waits for a timer to fire.

use std::sync::{Arc, Mutex};

use chrono::NaiveDateTime;
use tokio::sync::Notify;

#[derive(Clone, Debug, Default)]
pub enum Clock {
    #[default]
    System,
    /// A time that moves only when told to; waiters hear when it moves.
    Manual(Arc<Mutex<NaiveDateTime>>, Arc<Notify>),
}

impl Clock {
    pub fn manual(at: NaiveDateTime) -> Clock {
        Clock::Manual(Arc::new(Mutex::new(at)), Arc::new(Notify::new()))
    }

    /// Now, in UTC.
    pub fn now(&self) -> NaiveDateTime {
        match self {
            Clock::System => chrono::Utc::now().naive_utc(),
            Clock::Manual(t, _) => *t.lock().unwrap_or_else(|e| e.into_inner()),
        }
    }

    pub fn set(&self, at: NaiveDateTime) {
        if let Clock::Manual(t, moved) = self {
            *t.lock().unwrap_or_else(|e| e.into_inner()) = at;
            moved.notify_waiters();
        }
    }

    pub fn advance(&self, by: chrono::Duration) {
        if let Clock::Manual(t, moved) = self {
            *t.lock().unwrap_or_else(|e| e.into_inner()) += by;
            moved.notify_waiters();
        }
    }

    /// Waits at most `wait` of real time for `at` on this clock: a manual clock is waited
    /// on until it is moved (or the wait is over), the system clock by sleeping.
    pub async fn sleep_until(&self, at: Option<NaiveDateTime>, wait: std::time::Duration) {
        match self {
            Clock::System => {
                let until = at
                    .and_then(|a| (a - self.now()).to_std().ok())
                    .unwrap_or(wait)
                    .min(wait);
                tokio::time::sleep(until).await;
            }
            Clock::Manual(_, moved) => {
                // Registered before looking at the time, so a move in between is not missed.
                let notified = moved.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if at.is_some_and(|a| a <= self.now()) {
                    return;
                }
                let _ = tokio::time::timeout(wait, notified).await;
            }
        }
    }
}
