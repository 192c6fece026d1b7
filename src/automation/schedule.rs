//! The project's work schedule: a time zone, working intervals per weekday, holidays and
//! one-off exceptions. Outside it, off-hours handling applies.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interval {
    pub from: NaiveTime,
    pub to: NaiveTime,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    pub timezone: String,
    /// Monday first; an empty day is a day off.
    pub week: [Vec<Interval>; 7],
    pub holidays: Vec<NaiveDate>,
    /// Dates with their own hours (an empty list: closed that day).
    pub exceptions: BTreeMap<NaiveDate, Vec<Interval>>,
}

/// "09:00-13:00" → an interval; "24:00" is allowed as the end of the day.
pub fn parse_interval(s: &str) -> Result<Interval, String> {
    let (a, b) = s
        .split_once('-')
        .ok_or_else(|| format!("\"{s}\" is not an interval such as \"09:00-18:00\""))?;
    let time = |t: &str| -> Result<NaiveTime, String> {
        let t = t.trim();
        if t == "24:00" {
            return NaiveTime::from_hms_opt(23, 59, 59).ok_or_else(|| "bad time".to_string());
        }
        NaiveTime::parse_from_str(t, "%H:%M")
            .map_err(|_| format!("\"{t}\" is not a time such as 09:00"))
    };
    let (from, to) = (time(a)?, time(b)?);
    if from >= to {
        return Err(format!("\"{s}\": the end must be after the start"));
    }
    Ok(Interval { from, to })
}

fn format_interval(i: &Interval) -> String {
    let to = if i.to == NaiveTime::from_hms_opt(23, 59, 59).unwrap_or_default() {
        "24:00".to_string()
    } else {
        i.to.format("%H:%M").to_string()
    };
    format!("{}-{to}", i.from.format("%H:%M"))
}

/// "09:00-13:00, 14:00-18:00".
pub fn intervals_text(list: &[Interval]) -> String {
    list.iter()
        .map(format_interval)
        .collect::<Vec<_>>()
        .join(", ")
}

fn intervals(v: &Value, at: &str) -> Result<Vec<Interval>, String> {
    let list: Vec<&str> = match v {
        Value::Null => return Ok(Vec::new()),
        Value::String(s) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect(),
        Value::Array(a) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .ok_or(format!("{at}: write intervals as \"09:00-18:00\""))
            })
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(format!(
                "{at}: write intervals as [\"09:00-13:00\", \"14:00-18:00\"]"
            ));
        }
    };
    let mut out: Vec<Interval> = list
        .into_iter()
        .map(|s| parse_interval(s).map_err(|e| format!("{at}: {e}")))
        .collect::<Result<_, _>>()?;
    out.sort_by_key(|i| i.from);
    if out.windows(2).any(|w| w[0].to > w[1].from) {
        return Err(format!("{at}: intervals overlap"));
    }
    Ok(out)
}

fn date(s: &str, at: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| format!("{at}: \"{s}\" is not a date such as 2027-01-01"))
}

impl Schedule {
    /// From the `[schedule]` table (as JSON): timezone, mon…sun, holidays, exceptions.
    pub fn from_config(v: &Value) -> Result<Schedule, String> {
        let obj = v.as_object().ok_or("[schedule] must be a table")?;
        for k in obj.keys() {
            let known = ["timezone", "holidays", "exceptions", "project"].contains(&k.as_str())
                || DAYS.contains(&k.as_str());
            if !known {
                return Err(format!(
                    "schedule: unknown key \"{k}\" (expected timezone, mon…sun, holidays, exceptions)"
                ));
            }
        }
        let timezone = v["timezone"]
            .as_str()
            .unwrap_or("Europe/Moscow")
            .trim()
            .to_string();
        timezone.parse::<chrono_tz::Tz>().map_err(|_| {
            format!(
                "schedule.timezone \"{timezone}\" is not an IANA time zone such as Europe/Moscow"
            )
        })?;
        let mut week: [Vec<Interval>; 7] = Default::default();
        for (i, d) in DAYS.iter().enumerate() {
            week[i] = intervals(&v[*d], &format!("schedule.{d}"))?;
        }
        let holidays = match &v["holidays"] {
            Value::Null => Vec::new(),
            Value::Array(a) => a
                .iter()
                .map(|x| date(x.as_str().unwrap_or_default(), "schedule.holidays"))
                .collect::<Result<_, _>>()?,
            Value::String(s) => s
                .split([',', '\n', ' '])
                .filter(|s| !s.trim().is_empty())
                .map(|x| date(x, "schedule.holidays"))
                .collect::<Result<_, _>>()?,
            _ => return Err("schedule.holidays must be a list of dates".into()),
        };
        let mut exceptions = BTreeMap::new();
        if let Some(map) = v["exceptions"].as_object() {
            for (d, hours) in map {
                let day = date(d, "schedule.exceptions")?;
                exceptions.insert(day, intervals(hours, &format!("schedule.exceptions.{d}"))?);
            }
        } else if !v["exceptions"].is_null() {
            return Err("schedule.exceptions must be a table of date = [intervals]".into());
        }
        Ok(Schedule {
            timezone,
            week,
            holidays,
            exceptions,
        })
    }

    pub fn tz(&self) -> chrono_tz::Tz {
        self.timezone.parse().unwrap_or(chrono_tz::Europe::Moscow)
    }

    /// The working hours of a local date: its exception, nothing on a holiday, else its
    /// weekday's.
    fn hours_of(&self, day: NaiveDate) -> &[Interval] {
        if let Some(h) = self.exceptions.get(&day) {
            h
        } else if self.holidays.contains(&day) {
            &[]
        } else {
            &self.week[day.weekday().num_days_from_monday() as usize]
        }
    }

    /// Seconds of working time between two UTC instants: a message at 23:00 answered at 09:05
    /// next morning waited five working minutes. Spans longer than a year count the first
    /// year's worth of days only (no real answer waits that long).
    pub fn working_secs(&self, from: NaiveDateTime, to: NaiveDateTime) -> i64 {
        if to <= from {
            return 0;
        }
        let tz = self.tz();
        let end_of_day = NaiveTime::from_hms_opt(23, 59, 59).unwrap_or_default();
        let utc = |local: NaiveDateTime| {
            tz.from_local_datetime(&local)
                .earliest()
                .map(|t| t.naive_utc())
                // A local time skipped by a clock change: an hour later exists.
                .or_else(|| {
                    tz.from_local_datetime(&(local + chrono::Duration::hours(1)))
                        .earliest()
                        .map(|t| t.naive_utc())
                })
        };
        let first = tz.from_utc_datetime(&from).naive_local().date();
        let last = tz.from_utc_datetime(&to).naive_local().date();
        let mut total = 0;
        let mut day = first;
        let mut n = 0;
        while day <= last && n < 400 {
            for i in self.hours_of(day) {
                let start = utc(day.and_time(i.from));
                // "24:00" is kept as 23:59:59: the interval runs to midnight.
                let stop = if i.to == end_of_day {
                    day.succ_opt().and_then(|d| utc(d.and_time(NaiveTime::MIN)))
                } else {
                    utc(day.and_time(i.to))
                };
                if let (Some(a), Some(b)) = (start, stop) {
                    let (a, b) = (a.max(from), b.min(to));
                    if b > a {
                        total += (b - a).num_seconds();
                    }
                }
            }
            match day.succ_opt() {
                Some(d) => day = d,
                None => break,
            }
            n += 1;
        }
        total
    }

    /// Whether `at` (UTC) falls in working hours.
    pub fn is_open(&self, at: NaiveDateTime) -> bool {
        self.interval_start(at).is_some()
    }

    /// The local start of the working interval `at` (UTC) falls in, if any: it tells one
    /// working period from the next even when nobody looked in between.
    pub fn interval_start(&self, at: NaiveDateTime) -> Option<NaiveDateTime> {
        let local = self.tz().from_utc_datetime(&at).naive_local();
        let day = local.date();
        let t = local.time();
        self.hours_of(day)
            .iter()
            .find(|i| i.from <= t && t < i.to)
            .map(|i| day.and_time(i.from))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn utc(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap_or_default()
    }

    #[test]
    fn working_hours_in_moscow_with_holidays_and_exceptions() {
        let Ok(s) = Schedule::from_config(&json!({
            "timezone": "Europe/Moscow",
            "mon": ["09:00-13:00", "14:00-18:00"], "tue": "09:00-18:00",
            "holidays": ["2027-01-01"],
            "exceptions": { "2026-12-31": ["09:00-15:00"], "2026-12-27": ["10:00-12:00"] }
        })) else {
            panic!("valid schedule refused");
        };
        // Monday 2026-11-23: 11:00 Moscow is 08:00 UTC; 23:00 Moscow is 20:00 UTC.
        assert!(s.is_open(utc("2026-11-23 08:00")));
        assert!(!s.is_open(utc("2026-11-23 20:00")));
        assert!(!s.is_open(utc("2026-11-23 10:30")), "lunch 13:30 Moscow");
        assert!(
            !s.is_open(utc("2026-11-25 08:00")),
            "Wednesday has no hours"
        );
        assert!(!s.is_open(utc("2027-01-01 08:00")), "a holiday (a Friday)");
        assert!(
            s.is_open(utc("2026-12-27 07:30")),
            "a Sunday opened by exception"
        );
        assert!(!s.is_open(utc("2026-12-31 13:00")), "16:00 on a short day");
    }

    #[test]
    fn working_time_skips_nights_weekends_and_holidays() {
        let Ok(s) = Schedule::from_config(&json!({
            "timezone": "Europe/Moscow",
            "mon": "09:00-18:00", "tue": "09:00-18:00", "fri": "09:00-24:00",
            "holidays": ["2026-11-24"]
        })) else {
            panic!("valid schedule refused");
        };
        let secs = |a: &str, b: &str| s.working_secs(utc(a), utc(b));
        // Monday 23:00 Moscow to Wednesday 09:05: Tuesday is a holiday, Wednesday has no hours.
        assert_eq!(secs("2026-11-23 20:00", "2026-11-25 06:05"), 0);
        // Sunday 23:00 to Monday 09:05 Moscow: five working minutes.
        assert_eq!(secs("2026-11-22 20:00", "2026-11-23 06:05"), 300);
        // Inside one working day, 10:00 to 10:30.
        assert_eq!(secs("2026-11-23 07:00", "2026-11-23 07:30"), 1800);
        // Friday 23:30 to midnight counts to the end of the day ("24:00").
        assert_eq!(secs("2026-11-27 20:30", "2026-11-27 22:00"), 1800);
        // Monday 17:00 to the next Monday 10:00: 1 h, Friday 15 h, 1 h.
        assert_eq!(
            secs("2026-11-23 14:00", "2026-11-30 07:00"),
            (1 + 15 + 1) * 3600
        );
        assert_eq!(secs("2026-11-23 08:00", "2026-11-23 07:00"), 0);
    }

    #[test]
    fn bad_schedules_are_refused_with_the_key_named() {
        let err = |v: Value| Schedule::from_config(&v).err().unwrap_or_default();
        assert!(err(json!({"timezone": "Moscow"})).contains("schedule.timezone"));
        assert!(err(json!({"mon": ["18:00-09:00"]})).contains("schedule.mon"));
        assert!(err(json!({"mon": ["09:00-13:00", "12:00-18:00"]})).contains("overlap"));
        assert!(err(json!({"holidays": ["01.01.2027"]})).contains("schedule.holidays"));
        assert!(err(json!({"fri": ["9-18"]})).contains("schedule.fri"));
        assert!(err(json!({"weekend": []})).contains("unknown key"));
    }
}
