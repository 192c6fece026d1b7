//! How fast one visitor, and one address, may write through the widget and the API channel.
//! Counted per instance in one-minute windows; over the limit the caller is answered 429 with
//! when to try again, and nothing is stored (never a silent drop).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::errors::ApiError;

const WINDOW: Duration = Duration::from_secs(60);
/// Windows kept before the stale ones are swept out.
const SWEEP_AT: usize = 100_000;

pub struct RateLimits {
    per_visitor: u32,
    per_address: u32,
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimits {
    /// Messages a minute; 0 turns a limit off.
    pub fn new(per_visitor: u32, per_address: u32) -> RateLimits {
        RateLimits {
            per_visitor,
            per_address,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one message; refused with the seconds to wait when a limit is reached.
    fn take(&self, key: String, limit: u32) -> Option<u64> {
        if limit == 0 {
            return None;
        }
        let now = Instant::now();
        let mut w = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if w.len() >= SWEEP_AT {
            w.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        let slot = w.entry(key).or_insert((now, 0));
        if now.duration_since(slot.0) >= WINDOW {
            *slot = (now, 0);
        }
        if slot.1 >= limit {
            let left = WINDOW.saturating_sub(now.duration_since(slot.0));
            return Some(left.as_secs().max(1));
        }
        slot.1 += 1;
        None
    }

    /// One message from this address to this channel.
    pub fn address(&self, channel: &str, ip: Option<IpAddr>) -> Result<(), ApiError> {
        match ip.and_then(|ip| self.take(format!("a {channel} {ip}"), self.per_address)) {
            Some(wait) => Err(refused(wait, "from your address")),
            None => Ok(()),
        }
    }

    /// One message from this visitor (the widget's visitor, the API channel's user).
    pub fn visitor(&self, channel: &str, visitor: &str) -> Result<(), ApiError> {
        match self.take(format!("v {channel} {visitor}"), self.per_visitor) {
            Some(wait) => Err(refused(wait, "from this visitor")),
            None => Ok(()),
        }
    }
}

fn refused(wait: u64, whose: &str) -> ApiError {
    ApiError::new(
        actix_web::http::StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!("too many messages {whose}; nothing was stored, try again in {wait} s"),
    )
    .retry_after(wait)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_visitor_over_the_limit_is_told_when_to_come_back() {
        let r = RateLimits::new(2, 0);
        assert!(r.visitor("web", "a").is_ok() && r.visitor("web", "a").is_ok());
        let e = r.visitor("web", "a").err();
        assert_eq!(e.as_ref().map(|e| e.status.as_u16()), Some(429));
        assert!(
            e.and_then(|e| e.retry_after)
                .is_some_and(|s| (1..=60).contains(&s))
        );
        assert!(
            r.visitor("web", "b").is_ok(),
            "another visitor is not affected"
        );
        assert!(
            r.address("web", "127.0.0.1".parse().ok()).is_ok(),
            "0 is off"
        );
    }
}
