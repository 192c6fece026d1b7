//! The time automation runs on. Tests set it by hand, so no test waits for a timer to fire.

use std::sync::{Arc, Mutex};

use chrono::NaiveDateTime;

#[derive(Clone, Debug, Default)]
pub enum Clock {
    #[default]
    System,
    /// A time that moves only when told to.
    Manual(Arc<Mutex<NaiveDateTime>>),
}

impl Clock {
    pub fn manual(at: NaiveDateTime) -> Clock {
        Clock::Manual(Arc::new(Mutex::new(at)))
    }

    /// Now, in UTC.
    pub fn now(&self) -> NaiveDateTime {
        match self {
            Clock::System => chrono::Utc::now().naive_utc(),
            Clock::Manual(t) => *t.lock().unwrap_or_else(|e| e.into_inner()),
        }
    }

    pub fn set(&self, at: NaiveDateTime) {
        if let Clock::Manual(t) = self {
            *t.lock().unwrap_or_else(|e| e.into_inner()) = at;
        }
    }

    pub fn advance(&self, by: chrono::Duration) {
        if let Clock::Manual(t) = self {
            let mut t = t.lock().unwrap_or_else(|e| e.into_inner());
            *t += by;
        }
    }
}
