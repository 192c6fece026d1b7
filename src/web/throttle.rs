//! Slows password guessing and bounds what sign-in costs. Attempts are counted in the
//! database (every instance sees the same counts) before the password is checked, per account
//! and address (so a stranger elsewhere cannot lock the owner out) and per address (password
//! spraying over many accounts). Password checks run a few at a time: each holds ~19 MiB.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use std::sync::Mutex;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::crypto;
use crate::error::Result;
use crate::store::{Store, login_attempts};

/// Attempts for one account from one address within a window.
pub const PER_ACCOUNT: i64 = 10;
/// Failed attempts from one address, over all accounts, within a window.
pub const PER_ADDRESS: i64 = 50;
/// How long a sign-in waits for a free password check before it is told to come back.
const QUEUE_WAIT: Duration = Duration::from_secs(10);

pub struct LoginThrottle {
    checks: Arc<Semaphore>,
    /// One working memory per permit, reused (see crypto::verify_password_in).
    memory: Arc<Mutex<Vec<Vec<argon2::Block>>>>,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        let n = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            .clamp(2, 8);
        LoginThrottle {
            checks: Arc::new(Semaphore::new(n)),
            memory: Arc::new(Mutex::new(Vec::new())),
        }
    }
}

/// The right to run one password check now, with a working memory to run it in.
pub struct CheckSlot {
    _permit: OwnedSemaphorePermit,
    memory: Vec<argon2::Block>,
    pool: Arc<Mutex<Vec<Vec<argon2::Block>>>>,
}

impl CheckSlot {
    /// Blocking: run it off the async runtime.
    pub fn verify(&mut self, password: &str, hash: &str) -> bool {
        crypto::verify_password_in(&mut self.memory, password, hash)
    }
}

impl Drop for CheckSlot {
    fn drop(&mut self) {
        let memory = std::mem::take(&mut self.memory);
        self.pool
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(memory);
    }
}

/// The counters one sign-in attempt touches.
pub struct Keys {
    account: String,
    address: String,
}

impl Keys {
    pub fn new(email: &str, ip: Option<IpAddr>) -> Keys {
        let ip = ip.map(|a| a.to_string()).unwrap_or_default();
        Keys {
            account: format!(
                "a:{}",
                crypto::sha256_hex(format!("{email}|{ip}").as_bytes())
            ),
            address: format!("i:{ip}"),
        }
    }
}

/// The address a request came from (see [`client_address`]).
pub fn client_of(req: &actix_web::HttpRequest, trusted: &[IpAddr]) -> Option<IpAddr> {
    client_address(
        req.peer_addr().map(|a| a.ip()),
        req.headers()
            .get("X-Forwarded-For")
            .and_then(|v| v.to_str().ok()),
        trusted,
    )
}

/// The client's address: the TCP peer, or, when the peer is one of our own reverse proxies,
/// the nearest address in X-Forwarded-For that is not (a client can prepend anything to that
/// header, so only what our proxies appended counts).
pub fn client_address(
    peer: Option<IpAddr>,
    forwarded_for: Option<&str>,
    trusted: &[IpAddr],
) -> Option<IpAddr> {
    let peer = peer?;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let mut nearest = peer;
    for hop in forwarded_for.unwrap_or_default().rsplit(',') {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) if trusted.contains(&ip) => nearest = ip,
            Ok(ip) => return Some(ip),
            Err(_) => break,
        }
    }
    Some(nearest)
}

impl LoginThrottle {
    /// Counts this attempt; Some(wait) when it must not be tried now.
    pub async fn attempt(&self, store: &Store, keys: &Keys) -> Result<Option<Duration>> {
        let (account, address) = (keys.account.clone(), keys.address.clone());
        let (a, i) = store
            .write(move |conn| {
                Ok((
                    login_attempts::count(conn, &account)?,
                    login_attempts::count(conn, &address)?,
                ))
            })
            .await?;
        let now = crate::store::now();
        let over = [(a, PER_ACCOUNT), (i, PER_ADDRESS)]
            .into_iter()
            .filter(|((n, _), limit)| n > limit)
            .map(|((_, ends), _)| (ends - now).to_std().unwrap_or(Duration::from_secs(1)))
            .max();
        Ok(over.map(|d| d.max(Duration::from_secs(1))))
    }

    /// A good password: the account's count starts again and the address keeps only failures.
    pub async fn succeeded(&self, store: &Store, keys: &Keys) -> Result<()> {
        let (account, address) = (keys.account.clone(), keys.address.clone());
        store
            .write(move |conn| {
                login_attempts::clear(conn, &account)?;
                login_attempts::uncount(conn, &address)
            })
            .await
    }

    /// A slot for one password check, or None when the server is too busy to take one soon.
    pub async fn check_slot(&self) -> Option<CheckSlot> {
        let permit = tokio::time::timeout(QUEUE_WAIT, self.checks.clone().acquire_owned())
            .await
            .ok()?
            .ok()?;
        let memory = self
            .memory
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop()
            .unwrap_or_default();
        Some(CheckSlot {
            _permit: permit,
            memory,
            pool: self.memory.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::client_address;
    use std::net::IpAddr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    #[test]
    fn forwarded_addresses_count_only_behind_our_own_proxies() {
        let proxy = [ip("10.0.0.5")];
        // Straight from the internet: the header is the client's own invention.
        assert_eq!(
            client_address(Some(ip("203.0.113.7")), Some("1.2.3.4"), &proxy),
            Some(ip("203.0.113.7"))
        );
        // Through our proxy: the address it appended, not what the client prepended.
        assert_eq!(
            client_address(Some(ip("10.0.0.5")), Some("1.2.3.4, 198.51.100.9"), &proxy),
            Some(ip("198.51.100.9"))
        );
        assert_eq!(
            client_address(Some(ip("10.0.0.5")), None, &proxy),
            Some(ip("10.0.0.5"))
        );
        assert_eq!(
            client_address(Some(ip("10.0.0.5")), Some("garbage"), &proxy),
            Some(ip("10.0.0.5"))
        );
    }
}
