//! What a report is asked for, read the same way from the page's form and the API's query:
//! a period in the project's time zone and the filters.

use chrono::{Duration, NaiveDate};

use crate::domain::ChannelId;
use crate::error::{Error, Result};

/// The longest period one report covers.
pub const MAX_DAYS: i64 = 366;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Period {
    Today,
    Yesterday,
    Week,
    Month,
    Custom,
}

impl Period {
    pub const ALL: [Period; 5] = [
        Period::Today,
        Period::Yesterday,
        Period::Week,
        Period::Month,
        Period::Custom,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Period::Today => "today",
            Period::Yesterday => "yesterday",
            Period::Week => "7d",
            Period::Month => "30d",
            Period::Custom => "custom",
        }
    }

    fn parse(s: &str) -> Result<Period> {
        Period::ALL
            .into_iter()
            .find(|p| p.as_str() == s.trim())
            .ok_or_else(|| {
                Error::invalid(format!(
                    "period \"{s}\": expected today, yesterday, 7d, 30d or custom (with from and to)"
                ))
            })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Params {
    pub period: Period,
    /// First and last day, both included, in the project's time zone.
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub channel: Option<ChannelId>,
    pub team: Option<i64>,
    pub operator: Option<i64>,
    pub tag: Option<i64>,
}

fn date(key: &str, v: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d")
        .map_err(|_| Error::invalid(format!("{key} \"{v}\" is not a date such as 2026-12-01")))
}

fn id(key: &str, v: &str) -> Result<Option<i64>> {
    let v = v.trim();
    if v.is_empty() {
        return Ok(None);
    }
    v.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .map(Some)
        .ok_or_else(|| Error::invalid(format!("{key} \"{v}\" is not an id")))
}

impl Params {
    /// From query pairs: `period` (default 7d), or `from` and `to`; `channel`, `team`,
    /// `operator`, `tag` as ids. `today` is the project's local date.
    pub fn parse(pairs: &[(String, String)], today: NaiveDate) -> Result<Params> {
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(key, v)| key == k && !v.trim().is_empty())
                .map(|(_, v)| v.as_str())
        };
        if let Some((k, _)) = pairs.iter().find(|(k, _)| {
            ![
                "period", "from", "to", "channel", "team", "operator", "tag", "format",
            ]
            .contains(&k.as_str())
        }) {
            return Err(Error::invalid(format!(
                "unknown parameter \"{k}\" (expected period, from, to, channel, team, operator, tag)"
            )));
        }
        let explicit = get("from").is_some() || get("to").is_some();
        let period = match get("period") {
            Some(p) => Period::parse(p)?,
            None if explicit => Period::Custom,
            None => Period::Week,
        };
        let (from, to) = match period {
            Period::Today => (today, today),
            Period::Yesterday => (today - Duration::days(1), today - Duration::days(1)),
            Period::Week => (today - Duration::days(6), today),
            Period::Month => (today - Duration::days(29), today),
            Period::Custom => {
                let from = get("from")
                    .ok_or_else(|| Error::invalid("a custom period needs from (YYYY-MM-DD)"))?;
                let from = date("from", from)?;
                let to = get("to")
                    .map(|t| date("to", t))
                    .transpose()?
                    .unwrap_or(today);
                (from, to)
            }
        };
        if to < from {
            return Err(Error::invalid("to must not be before from"));
        }
        if (to - from).num_days() >= MAX_DAYS {
            return Err(Error::invalid(format!(
                "a report covers at most {MAX_DAYS} days; choose a shorter period"
            )));
        }
        Ok(Params {
            period,
            from,
            to,
            channel: get("channel")
                .map(|v| id("channel", v))
                .transpose()?
                .flatten()
                .map(ChannelId),
            team: get("team").map(|v| id("team", v)).transpose()?.flatten(),
            operator: get("operator")
                .map(|v| id("operator", v))
                .transpose()?
                .flatten(),
            tag: get("tag").map(|v| id("tag", v)).transpose()?.flatten(),
        })
    }

    /// The same parameters as a query string, for links (exports, the API).
    pub fn query(&self) -> String {
        let mut q = format!("from={}&to={}", self.from, self.to);
        if self.period != Period::Custom {
            q = format!("period={}&{q}", self.period.as_str());
        }
        for (k, v) in [
            ("channel", self.channel.map(|c| c.0)),
            ("team", self.team),
            ("operator", self.operator),
            ("tag", self.tag),
        ] {
            if let Some(v) = v {
                q.push_str(&format!("&{k}={v}"));
            }
        }
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn periods_filters_and_refusals() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap_or_default();
        let p = Params::parse(&pairs(&[]), today).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (p.from.to_string(), p.to.to_string()),
            ("2026-11-27".into(), "2026-12-03".into())
        );
        let p = Params::parse(&pairs(&[("period", "yesterday"), ("channel", "4")]), today)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.from, p.to);
        assert_eq!(p.channel, Some(ChannelId(4)));
        let p = Params::parse(
            &pairs(&[("from", "2026-01-01"), ("to", "2026-01-31")]),
            today,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.period, Period::Custom);
        assert_eq!(
            Params::parse(
                &pairs(&[("from", "2026-01-01"), ("to", "2026-01-31")]),
                today
            )
            .ok()
            .map(|p| p.query()),
            Some("from=2026-01-01&to=2026-01-31".to_string())
        );
        let err = |l: &[(&str, &str)]| {
            Params::parse(&pairs(l), today)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert!(err(&[("period", "week")]).contains("period"));
        assert!(err(&[("from", "01.01.2026")]).contains("from"));
        assert!(err(&[("from", "2026-02-01"), ("to", "2026-01-01")]).contains("before"));
        assert!(err(&[("from", "2024-01-01"), ("to", "2026-01-01")]).contains("at most"));
        assert!(err(&[("team", "x")]).contains("team"));
        assert!(err(&[("agent", "1")]).contains("unknown parameter"));
    }
}
