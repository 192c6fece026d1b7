//! Fetching files a platform payload points at. The URL comes from a request anyone can make
//! look like a platform's, so it is treated as hostile: only public addresses (checked after
//! DNS resolution and on every redirect), at most `max_bytes` read (never buffered past it),
//! and bounded in time.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use super::SendError;

const REDIRECTS: usize = 5;

#[derive(Clone)]
pub struct Downloader {
    client: reqwest::Client,
    allow_private: bool,
    pub max_bytes: u64,
}

/// Loopback, private, link-local, shared (CGNAT), unspecified, multicast and broadcast
/// addresses: where a server's own or its neighbours' services live.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1]))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
        }
    }
}

/// Resolves names to public addresses only, so a name that points inside is refused even
/// when it is reached through a redirect or changes between two lookups.
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0))
                .await?
                .filter(|a| !is_private(a.ip()))
                .collect();
            if found.is_empty() {
                return Err(format!("{} has no public address", name.as_str()).into());
            }
            let addrs: reqwest::dns::Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

/// Whether a URL names an inside address literally (an IP of `is_private`, or localhost);
/// other names are checked when they are resolved.
pub fn points_inside(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else {
        return true;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match host.parse::<IpAddr>() {
        Ok(ip) => is_private(ip),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

/// Refuses a URL whose host is a literal private address (names are checked by PublicOnly).
fn literal_ok(url: &reqwest::Url, allow_private: bool) -> Result<(), String> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("{} URLs are not fetched", url.scheme()));
    }
    let Some(host) = url.host_str() else {
        return Err("the URL has no host".into());
    };
    let literal = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .ok();
    match literal {
        Some(ip) if !allow_private && is_private(ip) => {
            Err(format!("{ip} is not a public address"))
        }
        _ => Ok(()),
    }
}

impl Downloader {
    /// `allow_private` lets files come from loopback and private networks (tests, on-premise
    /// platforms: PEREPISKA_ALLOW_PRIVATE_TARGETS).
    pub fn new(allow_private: bool, max_bytes: u64) -> Result<Downloader, String> {
        let policy = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= REDIRECTS {
                attempt.error("too many redirects")
            } else if let Err(e) = literal_ok(attempt.url(), allow_private) {
                attempt.error(e)
            } else {
                attempt.follow()
            }
        });
        let mut b = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .redirect(policy)
            .user_agent(concat!("perepiska/", env!("CARGO_PKG_VERSION")));
        if !allow_private {
            b = b.dns_resolver(Arc::new(PublicOnly));
        }
        Ok(Downloader {
            client: b.build().map_err(|e| e.to_string())?,
            allow_private,
            max_bytes,
        })
    }

    /// Whether inside addresses are allowed (PEREPISKA_ALLOW_PRIVATE_TARGETS).
    pub fn allows_private(&self) -> bool {
        self.allow_private
    }

    /// A POST to an address given by a person (an outgoing webhook), under the same guard:
    /// public addresses only (after resolution and on every redirect) unless allowed.
    pub fn post(&self, url: &str) -> Result<reqwest::RequestBuilder, SendError> {
        self.request(reqwest::Method::POST, url)
    }

    /// Any request to an address given by a person (a CRM), under the same guard.
    pub fn request(
        &self,
        method: reqwest::Method,
        url: &str,
    ) -> Result<reqwest::RequestBuilder, SendError> {
        let parsed =
            reqwest::Url::parse(url).map_err(|e| SendError::permanent(format!("bad URL: {e}")))?;
        literal_ok(&parsed, self.allow_private).map_err(SendError::permanent)?;
        Ok(self.client.request(method, parsed))
    }

    /// A transport error of a request made here: refused by the guard (final), or the usual.
    pub fn failure(e: &reqwest::Error) -> SendError {
        refused_or(e)
    }

    /// The file at `url` (with the platform's token where it wants one).
    pub async fn get(&self, url: &str, bearer: Option<&str>) -> Result<Vec<u8>, SendError> {
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| SendError::permanent(format!("bad file URL: {e}")))?;
        literal_ok(&parsed, self.allow_private).map_err(SendError::permanent)?;
        let mut req = self.client.get(parsed);
        if let Some(t) = bearer {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.map_err(|e| refused_or(&e))?;
        read_capped(resp, self.max_bytes).await
    }
}

/// A request we refused ourselves (an inside address, found by the resolver or on a
/// redirect) says so and is final; anything else is the usual network error.
fn refused_or(e: &reqwest::Error) -> SendError {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        let text = c.to_string();
        if text.contains("public address") || text.contains("too many redirects") {
            return SendError::permanent(text);
        }
        cause = c.source();
    }
    SendError::from_reqwest(e)
}

/// The body of a 2xx answer, read piece by piece and given up as soon as it passes `max`.
pub async fn read_capped(resp: reqwest::Response, max: u64) -> Result<Vec<u8>, SendError> {
    if !resp.status().is_success() {
        return Err(SendError::from_status(resp.status().as_u16(), ""));
    }
    read_answer(resp, max).await
}

/// The body of any answer (an error's too), given up as soon as it passes `max`.
pub async fn read_answer(mut resp: reqwest::Response, max: u64) -> Result<Vec<u8>, SendError> {
    let too_big = || {
        SendError::permanent(format!(
            "the file is larger than the limit of {} MB",
            max / (1024 * 1024)
        ))
    };
    if resp.content_length().is_some_and(|n| n > max) {
        return Err(too_big());
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| SendError::from_reqwest(&e))?
    {
        if (body.len() + chunk.len()) as u64 > max {
            return Err(too_big());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inside_addresses_are_private() {
        for a in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(
                is_private(a.parse().unwrap_or(IpAddr::from([8, 8, 8, 8]))),
                "{a}"
            );
        }
        for a in ["93.184.216.34", "2a00:1450:4001::1", "87.240.190.72"] {
            assert!(
                !is_private(a.parse().unwrap_or(IpAddr::from([127, 0, 0, 1]))),
                "{a}"
            );
        }
    }

    #[tokio::test]
    async fn a_name_is_refused_when_it_resolves_inside() -> Result<(), String> {
        use reqwest::dns::Resolve;
        let name: reqwest::dns::Name = "localhost".parse().map_err(|_| "name")?;
        let refused = match PublicOnly.resolve(name).await {
            Ok(_) => return Err("localhost resolved to a public address".into()),
            Err(e) => e.to_string(),
        };
        assert!(refused.contains("no public address"), "{refused}");
        // Through the client, a name (not a literal) passes the first check and is refused
        // by the resolver, as it would be after a redirect.
        let d = Downloader::new(false, 1024)?;
        match d.get("http://localhost:9/file", None).await {
            Ok(_) => Err("fetched from inside".into()),
            Err(e) => {
                assert!(e.message.contains("public address"), "{}", e.message);
                Ok(())
            }
        }
    }

    #[test]
    fn literal_private_urls_are_refused_unless_allowed() {
        let ok = |s: &str, allow: bool| {
            reqwest::Url::parse(s)
                .map_err(|e| e.to_string())
                .and_then(|u| literal_ok(&u, allow))
                .is_ok()
        };
        assert!(!ok("http://127.0.0.1:9/secret", false));
        assert!(!ok("http://[::1]/x", false));
        assert!(!ok("file:///etc/passwd", true));
        assert!(ok("http://127.0.0.1:9/secret", true));
        assert!(ok("https://sun9-1.userapi.com/a.jpg", false));
    }
}
