//! How a widget looks and who may use it: colour, side, texts, language, auto-open, the sites
//! it may be embedded on, blocked visitor networks, and the offline form. Read from the widget
//! channel's keys, the same in channels.toml, the settings page and the API.

use std::net::IpAddr;

use serde::Serialize;
use serde_json::Value;

use super::common;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Right,
    Left,
}

/// The widget's language: fixed, or the visitor's browser's (Russian when it is neither).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WidgetLang {
    Auto,
    Ru,
    En,
}

/// An address or a network ("203.0.113.7", "10.0.0.0/8", "2001:db8::/32").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    pub fn parse(s: &str) -> Result<Network, String> {
        let s = s.trim();
        let (a, p) = s.split_once('/').unwrap_or((s, ""));
        let addr: IpAddr = a
            .parse()
            .map_err(|_| format!("\"{s}\" is not an IP address or network"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = if p.is_empty() {
            max
        } else {
            p.parse::<u8>()
                .ok()
                .filter(|n| *n <= max)
                .ok_or_else(|| format!("\"{s}\": the prefix must be 0-{max}"))?
        };
        Ok(Network { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Look {
    /// "#rrggbb".
    pub color: String,
    pub side: Side,
    /// The panel's heading; the project's name when None.
    pub title: Option<String>,
    /// Words beside the launcher's icon ("Напишите нам"); an icon only when None.
    pub launcher_text: Option<String>,
    pub language: WidgetLang,
    /// Opens by itself this many seconds after the page loads, once per visit.
    pub auto_open_after: Option<u32>,
    pub auto_open_on_mobile: bool,
    /// Site domains the widget may run on ("shop.ru", "*.shop.ru"); any when empty.
    pub allowed_domains: Vec<String>,
    pub blocked_networks: Vec<Network>,
    /// While no operator is online, visitors get a form (name, phone or e-mail, message)
    /// instead of the chat.
    pub offline_form: bool,
}

impl Default for Look {
    fn default() -> Look {
        Look {
            color: "#2563eb".into(),
            side: Side::Right,
            title: None,
            launcher_text: None,
            language: WidgetLang::Auto,
            auto_open_after: None,
            auto_open_on_mobile: false,
            allowed_domains: Vec::new(),
            blocked_networks: Vec::new(),
            offline_form: false,
        }
    }
}

/// A list key: an array of strings, or one string of lines or commas (as a form sends it).
fn list(config: &Value, key: &str) -> Result<Vec<String>, String> {
    let items: Vec<String> = match config.get(key) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => s.split(['\n', ',']).map(str::to_string).collect(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("{key} must be a list of strings"))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(format!("{key} must be a list of strings")),
    };
    Ok(items
        .into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect())
}

fn domain(s: &str) -> Result<String, String> {
    let d = s
        .trim()
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_ascii_lowercase();
    let bare = d.strip_prefix("*.").unwrap_or(&d);
    let (host, port) = bare.split_once(':').unwrap_or((bare, ""));
    let ok = !host.is_empty()
        && host.len() <= 253
        && host
            .split('.')
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        && port.chars().all(|c| c.is_ascii_digit());
    if ok {
        Ok(d)
    } else {
        Err(format!(
            "allowed_domains: \"{s}\" is not a site domain (shop.ru, *.shop.ru, localhost:8080)"
        ))
    }
}

impl Look {
    pub fn from_config(config: &Value) -> Result<Look, String> {
        let d = Look::default();
        let color = match common::opt_str(config, "color")? {
            None => d.color,
            Some(c) => {
                let c = c.trim().to_ascii_lowercase();
                let hex = c.strip_prefix('#').unwrap_or("");
                if hex.len() != 6 || !hex.chars().all(|ch| ch.is_ascii_hexdigit()) {
                    return Err(format!("color \"{c}\" must look like #2563eb"));
                }
                c
            }
        };
        let text = |key: &str, max: usize| -> Result<Option<String>, String> {
            match common::opt_str(config, key)? {
                Some(t) if t.chars().count() > max => {
                    Err(format!("{key} must be at most {max} characters"))
                }
                Some(t) if t.trim().is_empty() => Ok(None),
                t => Ok(t.map(|t| t.trim().to_string())),
            }
        };
        let auto_open_after = match config.get("auto_open_after") {
            None | Some(Value::Null) => None,
            Some(v) => {
                let n = v
                    .as_u64()
                    .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
                    .filter(|n| *n <= 3600)
                    .ok_or("auto_open_after must be 0-3600 seconds")?;
                (n > 0).then_some(n as u32)
            }
        };
        Ok(Look {
            color,
            side: common::choice(
                config,
                "side",
                &[("right", Side::Right), ("left", Side::Left)],
            )?
            .unwrap_or(d.side),
            title: text("title", 60)?,
            launcher_text: text("launcher_text", 40)?,
            language: common::choice(
                config,
                "language",
                &[
                    ("auto", WidgetLang::Auto),
                    ("ru", WidgetLang::Ru),
                    ("en", WidgetLang::En),
                ],
            )?
            .unwrap_or(d.language),
            auto_open_after,
            auto_open_on_mobile: common::flag(config, "auto_open_on_mobile", false)?,
            allowed_domains: list(config, "allowed_domains")?
                .iter()
                .map(|s| domain(s))
                .collect::<Result<_, _>>()?,
            blocked_networks: list(config, "blocked_ips")?
                .iter()
                .map(|s| Network::parse(s).map_err(|e| format!("blocked_ips: {e}")))
                .collect::<Result<_, _>>()?,
            offline_form: common::flag(config, "offline_form", false)?,
        })
    }

    /// Whether a page at `origin` ("https://www.shop.ru") may run this widget.
    pub fn allows_origin(&self, origin: &str) -> bool {
        if self.allowed_domains.is_empty() {
            return true;
        }
        let Ok(url) = reqwest::Url::parse(origin) else {
            return false;
        };
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let with_port = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.clone(),
        };
        self.allowed_domains
            .iter()
            .any(|d| match d.strip_prefix("*.") {
                Some(base) => host == base || host.ends_with(&format!(".{base}")),
                None => *d == host || *d == with_port,
            })
    }

    pub fn blocks(&self, ip: IpAddr) -> bool {
        self.blocked_networks.iter().any(|n| n.contains(ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn domains_and_networks_match_as_an_admin_means_them() {
        let look = Look::from_config(&json!({
            "allowed_domains": "shop.ru\n*.shop.org, localhost:8080",
            "blocked_ips": ["203.0.113.7", "10.0.0.0/8", "2001:db8::/32"],
        }))
        .unwrap_or_default();
        assert!(look.allows_origin("https://shop.ru"));
        assert!(!look.allows_origin("https://www.shop.ru"));
        assert!(look.allows_origin("https://a.b.shop.org"));
        assert!(look.allows_origin("https://shop.org"));
        assert!(look.allows_origin("http://localhost:8080"));
        assert!(!look.allows_origin("http://localhost:9090"));
        assert!(!look.allows_origin("https://evilshop.org"));
        assert!(!look.allows_origin("null"));
        let ip = |s: &str| s.parse::<IpAddr>().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        assert!(look.blocks(ip("203.0.113.7")));
        assert!(!look.blocks(ip("203.0.113.8")));
        assert!(look.blocks(ip("10.20.30.40")));
        assert!(look.blocks(ip("::ffff:10.1.1.1")));
        assert!(look.blocks(ip("2001:db8::1")));
        assert!(!look.blocks(ip("2001:db9::1")));
        for bad in [
            json!({"color": "blue"}),
            json!({"side": "top"}),
            json!({"blocked_ips": ["10.0.0.0/33"]}),
            json!({"allowed_domains": ["shop ru"]}),
            json!({"auto_open_after": 99999}),
            json!({"title": "x".repeat(61)}),
        ] {
            assert!(Look::from_config(&bad).is_err(), "{bad}");
        }
    }
}
