//! Settings from the command line and environment, and channels declared in channels.toml.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::domain::ChannelKind;
use crate::inbox::registry::build_adapter;

#[derive(Clone, Debug)]
pub struct Settings {
    pub bind: String,
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    /// Redis for live events between instances (several instances on PostgreSQL).
    pub redis_url: Option<String>,
    pub channels_path: PathBuf,
    pub public_url: Option<String>,
    pub admin_email: Option<String>,
    pub admin_password: Option<String>,
    pub max_attachment_bytes: u64,
    pub outbox_backoff: Duration,
    pub outbox_max_attempts: i32,
    /// Mark cookies Secure (set when the console is served over HTTPS).
    pub secure_cookies: bool,
    pub workers: usize,
    /// The time automation runs on (tests set it by hand).
    pub clock: crate::clock::Clock,
    /// How often due timers are looked for.
    pub scheduler_tick: Duration,
    /// How often an instance reads settings other instances may have changed (channels,
    /// automation).
    pub settings_reload: Duration,
    /// Fetch files from (and, later, deliver webhooks to) loopback and private addresses:
    /// tests and on-premise platforms. Off by default (SSRF).
    pub allow_private_targets: bool,
    /// The bearer token /metrics asks for; without one /metrics is off.
    pub metrics_token: Option<String>,
    /// 64 hex characters sealing stored channel secrets (PEREPISKA_SECRET_KEY); without it the
    /// key lives in `<data dir>/secret.key`, created on first start.
    pub secret_key: Option<String>,
    /// Our own reverse proxies: behind them the client address is taken from X-Forwarded-For.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Messages a minute one widget visitor (or API channel user) may send; 0 is no limit.
    pub rate_per_visitor: u32,
    /// Messages a minute one address may send through the widget or an API channel; 0 is no
    /// limit (a load test from one machine needs that).
    pub rate_per_address: u32,
    /// Where letters go out (invitations, password resets); none: links are passed on by hand.
    pub smtp_url: Option<String>,
    /// The sender of those letters.
    pub smtp_from: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            bind: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("data"),
            database_url: None,
            redis_url: None,
            channels_path: PathBuf::from("channels.toml"),
            public_url: None,
            admin_email: None,
            admin_password: None,
            max_attachment_bytes: 20 * 1024 * 1024,
            outbox_backoff: Duration::from_secs(2),
            outbox_max_attempts: 10,
            secure_cookies: false,
            workers: 0,
            clock: crate::clock::Clock::System,
            scheduler_tick: Duration::from_secs(1),
            settings_reload: Duration::from_secs(10),
            allow_private_targets: false,
            metrics_token: None,
            secret_key: None,
            trusted_proxies: Vec::new(),
            rate_per_visitor: 30,
            rate_per_address: 600,
            smtp_url: None,
            smtp_from: None,
        }
    }
}

/// One channel from channels.toml, validated.
#[derive(Clone, Debug)]
pub struct ChannelDecl {
    pub id: String,
    pub kind: ChannelKind,
    pub name: String,
    /// Project slug; the first project when absent.
    pub project: Option<String>,
    /// The name of the team its new conversations start in (it must exist in the project).
    pub team: Option<String>,
    /// Every other key, with ${ENV} secrets expanded.
    pub config: serde_json::Value,
}

#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ConfigError {
    pub path: String,
    pub message: String,
}

/// Reads channels.toml; a missing file means no file-declared channels.
pub fn load_channels(path: &Path) -> Result<Vec<ChannelDecl>, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(ConfigError {
                path: path.display().to_string(),
                message: format!("cannot read: {e}"),
            });
        }
    };
    parse_channels(&text, |k| std::env::var(k).ok()).map_err(|message| ConfigError {
        path: path.display().to_string(),
        message,
    })
}

pub fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// A string key of one `[[channels]]` or `[[integrations]]` table (`at` names the table).
fn string_key(table: &toml::Table, at: &str, k: &str) -> Result<Option<String>, String> {
    match table.get(k) {
        None => Ok(None),
        Some(toml::Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("{at}.{k} must be a string")),
    }
}

/// Parses the file text; `env` resolves `${VAR}` (injected so tests need no real environment).
pub fn parse_channels(
    text: &str,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Vec<ChannelDecl>, String> {
    let doc: toml::Table = toml::from_str(text).map_err(|e| format!("not valid TOML: {e}"))?;
    for key in doc.keys() {
        if !["channels", "integrations", "schedule", "alerts", "reports"].contains(&key.as_str()) {
            return Err(format!(
                "unknown top-level key \"{key}\" (expected [[channels]], [[integrations]], [schedule], [alerts] or [reports])"
            ));
        }
    }
    let automation = automation_of(&doc, &env)?;
    let Some(list) = doc.get("channels") else {
        if automation.alerts.is_some() {
            return Err("alerts.channel must name a telegram channel declared in this file".into());
        }
        return Ok(Vec::new());
    };
    let list = list
        .as_array()
        .ok_or("\"channels\" must be an array of tables: write [[channels]]")?;
    let http = reqwest::Client::new();
    let mut out: Vec<ChannelDecl> = Vec::new();
    for (i, item) in list.iter().enumerate() {
        let at = format!("channels[{i}]");
        let table = item.as_table().ok_or(format!("{at} must be a table"))?;
        let get = |k: &str| string_key(table, &at, k);
        let id = get("id")?.ok_or(format!("{at}.id is required"))?;
        if !valid_id(&id) {
            return Err(format!(
                "{at}.id \"{id}\" must be 1-64 characters of a-z, 0-9, '-' or '_' (it becomes the webhook path)"
            ));
        }
        if out.iter().any(|c| c.id == id) {
            return Err(format!("{at}.id \"{id}\" is declared twice"));
        }
        let at = format!("channel \"{id}\"");
        let kind = get("kind")?.ok_or(format!("{at}: kind is required"))?;
        let kind = ChannelKind::parse(&kind).map_err(|_| {
            let names: Vec<&str> = ChannelKind::ALL.iter().map(|k| k.as_str()).collect();
            format!(
                "{at}: kind \"{kind}\" is not supported; expected one of: {}",
                names.join(", ")
            )
        })?;
        let name = get("name")?.unwrap_or_else(|| id.clone());
        let project = get("project")?;
        let team = get("team")?;
        let mut config = serde_json::Map::new();
        for (k, v) in table {
            if ["id", "kind", "name", "project", "team"].contains(&k.as_str()) {
                continue;
            }
            config.insert(
                k.clone(),
                toml_to_json(v, &|s| {
                    expand_env(s, &env).map_err(|e| format!("{at}: {k}: {e}"))
                })?,
            );
        }
        let config = serde_json::Value::Object(config);
        build_adapter(kind, &name, &config, &http).map_err(|e| format!("{at}: {e}"))?;
        out.push(ChannelDecl {
            id,
            kind,
            name,
            project,
            team,
            config,
        });
    }
    if let Some(a) = &automation.alerts
        && !out
            .iter()
            .any(|c| c.id == a.channel && c.kind == crate::domain::ChannelKind::Telegram)
    {
        return Err(format!(
            "alerts.channel \"{}\" must name a telegram channel declared in this file",
            a.channel
        ));
    }
    Ok(out)
}

/// One `[[integrations]]` of channels.toml, checked with the same validator as the settings
/// page and the API (`integrations::apply` checks it again against the project's channels).
#[derive(Clone, Debug)]
pub struct IntegrationDecl {
    /// Project slug; the first project when absent.
    pub project: Option<String>,
    pub declared: crate::integrations::Declared,
}

/// The `[[integrations]]` of channels.toml; a missing file declares none.
pub fn load_integrations(
    path: &Path,
    allow_private: bool,
) -> Result<Vec<IntegrationDecl>, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(ConfigError {
                path: path.display().to_string(),
                message: format!("cannot read: {e}"),
            });
        }
    };
    parse_integrations(&text, |k| std::env::var(k).ok(), allow_private).map_err(|message| {
        ConfigError {
            path: path.display().to_string(),
            message,
        }
    })
}

/// `kind = "webhook"` (`url`, `secret`, `events`), `"bitrix24"` (`webhook_url`, `entity`,
/// `source_id`) or `"amocrm"` (`subdomain`, `token`, `pipeline_id`, `status_id`, `api_base`),
/// CRMs also `title` and `default_responsible`; all `channels`; `id`, `name`, `project` and
/// `enabled` as for channels.
pub fn parse_integrations(
    text: &str,
    env: impl Fn(&str) -> Option<String>,
    allow_private: bool,
) -> Result<Vec<IntegrationDecl>, String> {
    let doc: toml::Table = toml::from_str(text).map_err(|e| format!("not valid TOML: {e}"))?;
    let Some(list) = doc.get("integrations") else {
        return Ok(Vec::new());
    };
    let list = list
        .as_array()
        .ok_or("\"integrations\" must be an array of tables: write [[integrations]]")?;
    let mut out: Vec<IntegrationDecl> = Vec::new();
    for (i, item) in list.iter().enumerate() {
        let at = format!("integrations[{i}]");
        let table = item.as_table().ok_or(format!("{at} must be a table"))?;
        let get = |k: &str| string_key(table, &at, k);
        let id = get("id")?.ok_or(format!("{at}.id is required"))?;
        if !valid_id(&id) {
            return Err(format!(
                "{at}.id \"{id}\" must be 1-64 characters of a-z, 0-9, '-' or '_'"
            ));
        }
        let project = get("project")?;
        if out
            .iter()
            .any(|d| d.declared.key == id && d.project == project)
        {
            return Err(format!("{at}.id \"{id}\" is declared twice"));
        }
        let at = format!("integration \"{id}\"");
        let kind = get("kind")?.ok_or(format!("{at}: kind is required"))?;
        let kind =
            crate::domain::IntegrationKind::parse(&kind).map_err(|e| format!("{at}: {e}"))?;
        let enabled = match table.get("enabled") {
            None => true,
            Some(toml::Value::Boolean(b)) => *b,
            Some(_) => return Err(format!("{at}: enabled must be true or false")),
        };
        let mut config = serde_json::Map::new();
        for (k, v) in table {
            if ["id", "kind", "name", "project", "enabled"].contains(&k.as_str()) {
                continue;
            }
            config.insert(
                k.clone(),
                toml_to_json(v, &|s| {
                    expand_env(s, &env).map_err(|e| format!("{at}: {k}: {e}"))
                })?,
            );
        }
        let config = serde_json::Value::Object(config);
        crate::integrations::Settings::from_config(kind, &config, allow_private)
            .map_err(|e| format!("{at}: {e}"))?;
        out.push(IntegrationDecl {
            project,
            declared: crate::integrations::Declared {
                name: get("name")?.unwrap_or_else(|| id.clone()),
                key: id,
                kind,
                enabled,
                config,
            },
        });
    }
    Ok(out)
}

/// Project-wide automation declared in channels.toml: `[schedule]` and `[alerts]`.
#[derive(Clone, Debug, Default)]
pub struct FileAutomation {
    /// Project slug; the first project when absent.
    pub project: Option<String>,
    pub schedule: Option<crate::automation::Schedule>,
    pub alerts: Option<crate::automation::StaffAlerts>,
    pub reports: Option<crate::automation::ReportSettings>,
}

fn automation_of(
    doc: &toml::Table,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<FileAutomation, String> {
    let json = |key: &str| -> Result<Option<serde_json::Value>, String> {
        doc.get(key)
            .map(|v| {
                toml_to_json(v, &|s| {
                    expand_env(s, env).map_err(|e| format!("{key}: {e}"))
                })
            })
            .transpose()
    };
    let schedule = json("schedule")?;
    let project = schedule
        .as_ref()
        .and_then(|s| s["project"].as_str().map(str::to_string));
    let schedule = schedule
        .map(|s| crate::automation::Schedule::from_config(&s))
        .transpose()?;
    let alerts = match json("alerts")? {
        None => None,
        Some(a) => {
            let field = |k: &str| {
                a[k].as_str()
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .or_else(|| a[k].as_i64().map(|n| n.to_string()))
                    .ok_or(format!("alerts.{k} is required"))
            };
            Some(crate::automation::StaffAlerts {
                channel: field("channel")?,
                chat_id: field("chat_id")?,
            })
        }
    };
    let reports = json("reports")?;
    let project = project.or_else(|| {
        reports
            .as_ref()
            .and_then(|r| r["project"].as_str().map(str::to_string))
    });
    let reports = reports
        .map(|r| crate::automation::ReportSettings::from_config(&r))
        .transpose()?;
    Ok(FileAutomation {
        project,
        schedule,
        alerts,
        reports,
    })
}

/// The `[schedule]` and `[alerts]` of channels.toml (validated with the channels).
pub fn load_automation(path: &Path) -> Result<FileAutomation, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileAutomation::default()),
        Err(e) => {
            return Err(ConfigError {
                path: path.display().to_string(),
                message: format!("cannot read: {e}"),
            });
        }
    };
    let doc: toml::Table = toml::from_str(&text).map_err(|e| ConfigError {
        path: path.display().to_string(),
        message: format!("not valid TOML: {e}"),
    })?;
    automation_of(&doc, &|k| std::env::var(k).ok()).map_err(|message| ConfigError {
        path: path.display().to_string(),
        message,
    })
}

fn toml_to_json(
    v: &toml::Value,
    expand: &dyn Fn(&str) -> Result<String, String>,
) -> Result<serde_json::Value, String> {
    Ok(match v {
        toml::Value::String(s) => serde_json::Value::String(expand(s)?),
        toml::Value::Integer(i) => serde_json::Value::from(*i),
        toml::Value::Float(f) => serde_json::Value::from(*f),
        toml::Value::Boolean(b) => serde_json::Value::Bool(*b),
        toml::Value::Datetime(d) => serde_json::Value::String(d.to_string()),
        toml::Value::Array(a) => serde_json::Value::Array(
            a.iter()
                .map(|x| toml_to_json(x, expand))
                .collect::<Result<_, _>>()?,
        ),
        toml::Value::Table(t) => {
            let mut m = serde_json::Map::new();
            for (k, x) in t {
                m.insert(k.clone(), toml_to_json(x, expand)?);
            }
            serde_json::Value::Object(m)
        }
    })
}

/// Replaces every `${VAR}` with the variable's value; an unset variable is an error.
pub fn expand_env(s: &str, env: &impl Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or("unclosed ${ in value")?;
        let var = &after[..end];
        let value = env(var).ok_or(format!("environment variable {var} is not set"))?;
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_kind_names_the_channel_and_key() {
        let e = parse_channels("[[channels]]\nid = \"x\"\nkind = \"icq\"\n", |_| None)
            .err()
            .unwrap_or_default();
        assert!(e.contains("channel \"x\"") && e.contains("icq"), "{e}");
    }

    #[test]
    fn env_secrets_expand_and_missing_ones_are_named() {
        let toml = "[[channels]]\nid = \"crm\"\nkind = \"api\"\ncallback_url = \"http://127.0.0.1:9/cb\"\nsecret = \"${CRM_SECRET}\"\n";
        let ok = parse_channels(toml, |k| {
            (k == "CRM_SECRET").then(|| "0123456789abcdef".to_string())
        });
        assert_eq!(
            ok.map(|v| v[0].config["secret"].clone()).ok(),
            Some(serde_json::json!("0123456789abcdef"))
        );
        let e = parse_channels(toml, |_| None).err().unwrap_or_default();
        assert!(e.contains("secret") && e.contains("CRM_SECRET"), "{e}");
    }

    #[test]
    fn bad_id_is_refused() {
        let e = parse_channels("[[channels]]\nid = \"Bad Id\"\nkind = \"widget\"\n", |_| {
            None
        })
        .err()
        .unwrap_or_default();
        assert!(e.contains("channels[0].id"), "{e}");
    }

    #[test]
    fn the_reports_table_is_checked_with_the_channels() {
        let e = parse_channels("[reports]\nsla = \"quick\"\n", |_| None)
            .err()
            .unwrap_or_default();
        assert!(e.contains("reports.sla"), "{e}");
        let e = parse_channels("[reports]\nsla_time = \"business\"\n", |_| None)
            .err()
            .unwrap_or_default();
        assert!(e.contains("reports.sla_time"), "{e}");
        assert!(
            parse_channels(
                "[reports]\nsla = \"15m\"\ndaily_summary = \"09:00\"\n",
                |_| None
            )
            .is_ok()
        );
    }
}
