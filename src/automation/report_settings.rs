//! What the reports measure against and when the daily summary goes: the one validator for
//! the settings page, the API and `[reports]` in channels.toml.

use chrono::NaiveTime;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::rules::{format_duration, parse_duration};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportSettings {
    /// The first-response target ("answered within 15 minutes"), in seconds.
    pub sla_secs: Option<i64>,
    /// The target counts working time (the schedule), not calendar time.
    pub sla_working: bool,
    /// When yesterday's summary goes out, in the project's time zone.
    pub summary_at: Option<NaiveTime>,
}

const KEYS: [&str; 4] = ["sla", "sla_time", "daily_summary", "project"];

impl ReportSettings {
    /// From `{ "sla": "15m", "sla_time": "working" | "calendar", "daily_summary": "09:00" }`.
    pub fn from_config(v: &Value) -> Result<ReportSettings, String> {
        let obj = v.as_object().ok_or("[reports] must be a table")?;
        if let Some(k) = obj.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(format!(
                "reports: unknown key \"{k}\" (expected sla, sla_time, daily_summary)"
            ));
        }
        let text = |k: &str| -> Result<Option<String>, String> {
            match &v[k] {
                Value::Null => Ok(None),
                Value::String(s) if s.trim().is_empty() => Ok(None),
                Value::String(s) => Ok(Some(s.trim().to_string())),
                _ => Err(format!("reports.{k} must be a string")),
            }
        };
        let sla_secs = text("sla")?
            .map(|s| parse_duration(&s, true).map_err(|e| format!("reports.sla: {e}")))
            .transpose()?;
        let sla_working = match text("sla_time")?.as_deref() {
            None | Some("calendar") => false,
            Some("working") => true,
            Some(other) => {
                return Err(format!(
                    "reports.sla_time \"{other}\": expected \"calendar\" or \"working\""
                ));
            }
        };
        let summary_at = text("daily_summary")?
            .map(|s| {
                NaiveTime::parse_from_str(&s, "%H:%M").map_err(|_| {
                    format!("reports.daily_summary \"{s}\" is not a time such as 09:00")
                })
            })
            .transpose()?;
        Ok(ReportSettings {
            sla_secs,
            sla_working,
            summary_at,
        })
    }

    /// The same keys back, as the API shows them and `from_config` reads them.
    pub fn to_config(&self) -> Value {
        serde_json::json!({
            "sla": self.sla_secs.map(format_duration),
            "sla_time": if self.sla_working { "working" } else { "calendar" },
            "daily_summary": self.summary_at.map(|t| t.format("%H:%M").to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn settings_round_trip_and_bad_values_name_their_key() {
        let s = ReportSettings::from_config(
            &json!({"sla": "15m", "sla_time": "working", "daily_summary": "09:30"}),
        )
        .unwrap_or_default();
        assert_eq!(s.sla_secs, Some(900));
        assert!(s.sla_working);
        assert_eq!(ReportSettings::from_config(&s.to_config()), Ok(s));
        let err = |v: Value| ReportSettings::from_config(&v).err().unwrap_or_default();
        assert!(err(json!({"sla": "fast"})).contains("reports.sla"));
        assert!(err(json!({"sla": "0m"})).contains("reports.sla"));
        assert!(err(json!({"sla_time": "business"})).contains("reports.sla_time"));
        assert!(err(json!({"daily_summary": "9am"})).contains("reports.daily_summary"));
        assert!(err(json!({"target": "15m"})).contains("unknown key"));
        assert_eq!(
            ReportSettings::from_config(&json!({})),
            Ok(ReportSettings::default())
        );
    }
}
