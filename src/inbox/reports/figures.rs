//! The figures of a report, folded from a period's conversations one page at a time. Medians
//! and 90th percentiles are nearest-rank: the value below which that share of conversations
//! fall, always a time one conversation really took.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, NaiveDate, NaiveDateTime, TimeZone, Timelike};
use serde::Serialize;

use crate::store::reports::Fact;

/// The p-th percentile (0-100) of `v` by nearest rank; reorders `v` (a selection, not a
/// sort: a year's half a million durations take linear time).
pub fn percentile(v: &mut [i64], p: u32) -> Option<i64> {
    if v.is_empty() {
        return None;
    }
    let rank = (v.len() * p as usize).div_ceil(100).clamp(1, v.len());
    Some(*v.select_nth_unstable(rank - 1).1)
}

/// Hashes the small integer keys of the report's groups (operators, channels, teams, tags)
/// with one multiplication: they come from us, not from an attacker, and a year's report
/// looks them up millions of times.
#[derive(Default, Clone, Copy)]
struct GroupHasher(u64);

impl std::hash::Hasher for GroupHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 =
                (self.0.rotate_left(5) ^ u64::from(*b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_i64(&mut self, n: i64) {
        self.write_u64(n as u64);
    }

    fn write_isize(&mut self, n: isize) {
        self.write_u64(n as u64);
    }
}

type Groups = HashMap<Option<i64>, GroupTally, std::hash::BuildHasherDefault<GroupHasher>>;

/// UTC to the project's local date and hour, with the offset kept for a UTC day that has no
/// clock change in it (the same offset at its start and its end): a year's report converts a
/// million instants, and the zone's table is searched twice a day instead.
struct Local {
    tz: chrono_tz::Tz,
    day: std::cell::Cell<Option<(NaiveDate, Option<Steady>)>>,
}

/// A UTC day's offset, and the local dates before, on and after it.
#[derive(Clone, Copy)]
struct Steady {
    offset_secs: i64,
    dates: [NaiveDate; 3],
}

impl Local {
    fn offset(&self, t: NaiveDateTime) -> chrono::FixedOffset {
        use chrono::Offset;
        self.tz.offset_from_utc_datetime(&t).fix()
    }

    /// The local date and hour of a UTC instant.
    fn of(&self, t: NaiveDateTime) -> (NaiveDate, u32) {
        let day = t.date();
        let steady = match self.day.get() {
            Some((d, o)) if d == day => o,
            _ => {
                let start = day.and_time(chrono::NaiveTime::MIN);
                let (a, b) = (
                    self.offset(start),
                    self.offset(start + chrono::Duration::seconds(86_399)),
                );
                let o = (a == b).then(|| Steady {
                    offset_secs: i64::from(a.local_minus_utc()),
                    dates: [day.pred_opt(), Some(day), day.succ_opt()].map(|d| d.unwrap_or(day)),
                });
                self.day.set(Some((day, o)));
                o
            }
        };
        match steady {
            Some(o) => {
                let secs = i64::from(t.num_seconds_from_midnight()) + o.offset_secs;
                let shift = secs.div_euclid(86_400).clamp(-1, 1);
                let date = o.dates[(shift + 1) as usize];
                (date, (secs.rem_euclid(86_400) / 3600) as u32)
            }
            None => {
                let local = t + self.offset(t);
                (local.date(), local.hour())
            }
        }
    }
}

/// Median and 90th percentile of a set of durations, in seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Spread {
    pub median_s: Option<i64>,
    pub p90_s: Option<i64>,
}

impl Spread {
    fn of(v: &mut [i64]) -> Spread {
        Spread {
            median_s: percentile(v, 50),
            p90_s: percentile(v, 90),
        }
    }
}

/// What a group of conversations adds up to (the whole period, one operator, one channel…).
#[derive(Clone, Debug, Default)]
struct Tally {
    opened: i64,
    done: i64,
    messages_in: i64,
    messages_out: i64,
    first_response: Vec<i64>,
    first_response_work: Vec<i64>,
    resolution: Vec<i64>,
    resolution_work: Vec<i64>,
    reopened: i64,
    ratings: [i64; 5],
    within_sla: i64,
    sla_of: i64,
}

impl Tally {
    fn add(&mut self, f: &Fact, sla: &Sla, waited: Option<Waited>) {
        self.opened += 1;
        if f.status.is_done() {
            self.done += 1;
        }
        self.messages_in += i64::from(f.messages_in);
        self.messages_out += i64::from(f.messages_out);
        if let Some(s) = f.first_response_secs {
            self.first_response.push(s);
        }
        if let Some(s) = f.first_response_work_secs {
            self.first_response_work.push(s);
        }
        if let Some(s) = f.resolution_secs {
            self.resolution.push(s);
        }
        if let Some(s) = f.resolution_work_secs {
            self.resolution_work.push(s);
        }
        if f.reopens > 0 {
            self.reopened += 1;
        }
        if let Some(r) = f.rating
            && (1..=5).contains(&r)
        {
            self.ratings[(r - 1) as usize] += 1;
        }
        if let Some(within) = sla.judge(f, waited) {
            self.sla_of += 1;
            if within {
                self.within_sla += 1;
            }
        }
    }

    fn merge(&mut self, o: Tally) {
        let Tally {
            opened,
            done,
            messages_in,
            messages_out,
            first_response,
            first_response_work,
            resolution,
            resolution_work,
            reopened,
            ratings,
            within_sla,
            sla_of,
        } = o;
        self.opened += opened;
        self.done += done;
        self.messages_in += messages_in;
        self.messages_out += messages_out;
        self.first_response.extend(first_response);
        self.first_response_work.extend(first_response_work);
        self.resolution.extend(resolution);
        self.resolution_work.extend(resolution_work);
        self.reopened += reopened;
        for (a, b) in self.ratings.iter_mut().zip(ratings) {
            *a += b;
        }
        self.within_sla += within_sla;
        self.sla_of += sla_of;
    }

    fn rated(&self) -> i64 {
        rated(&self.ratings)
    }

    fn rating_average(&self) -> Option<f64> {
        rating_average(&self.ratings)
    }
}

fn rated(ratings: &[i64; 5]) -> i64 {
    ratings.iter().sum()
}

fn rating_average(ratings: &[i64; 5]) -> Option<f64> {
    let n = rated(ratings);
    (n > 0).then(|| {
        let sum: i64 = ratings
            .iter()
            .enumerate()
            .map(|(i, c)| (i as i64 + 1) * c)
            .sum();
        round2(sum as f64 / n as f64)
    })
}

/// What one row of a table adds up (a subset of `Tally`: a year's report adds each
/// conversation to four or more of them).
#[derive(Clone, Debug, Default)]
struct GroupTally {
    opened: i64,
    done: i64,
    first_response: Vec<i64>,
    resolution: Vec<i64>,
    ratings: [i64; 5],
}

impl GroupTally {
    fn add(&mut self, f: &Fact) {
        self.opened += 1;
        if f.status.is_done() {
            self.done += 1;
        }
        if let Some(s) = f.first_response_secs {
            self.first_response.push(s);
        }
        if let Some(s) = f.resolution_secs {
            self.resolution.push(s);
        }
        if let Some(r) = f.rating
            && (1..=5).contains(&r)
        {
            self.ratings[(r - 1) as usize] += 1;
        }
    }

    fn merge(&mut self, o: GroupTally) {
        let GroupTally {
            opened,
            done,
            first_response,
            resolution,
            ratings,
        } = o;
        self.opened += opened;
        self.done += done;
        self.first_response.extend(first_response);
        self.resolution.extend(resolution);
        for (a, b) in self.ratings.iter_mut().zip(ratings) {
            *a += b;
        }
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn share(part: i64, of: i64) -> Option<f64> {
    (of > 0).then(|| round2(part as f64 / of as f64 * 100.0))
}

/// The first-response target.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sla {
    pub target_secs: Option<i64>,
    pub working: bool,
}

/// How long an unanswered conversation has waited so far: one that has already waited past
/// the target missed it.
#[derive(Clone, Copy, Debug)]
pub struct Waited {
    pub secs: i64,
    pub work_secs: i64,
}

impl Sla {
    /// Some(true) answered in time, Some(false) missed, None: no customer question, or still
    /// within the target.
    fn judge(&self, f: &Fact, waited: Option<Waited>) -> Option<bool> {
        let target = self.target_secs?;
        f.first_customer_at?;
        let took = if self.working {
            f.first_response_work_secs.or(f.first_response_secs)
        } else {
            f.first_response_secs
        };
        match took {
            Some(t) => Some(t <= target),
            None => {
                let w = waited?;
                let so_far = if self.working { w.work_secs } else { w.secs };
                (so_far > target).then_some(false)
            }
        }
    }
}

#[derive(Clone, Debug, Serialize, PartialEq, utoipa::ToSchema)]
pub struct SlaFigures {
    pub target_s: i64,
    pub working_time: bool,
    pub within: i64,
    pub of: i64,
    pub share_pct: Option<f64>,
}

#[derive(Clone, Debug, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Summary {
    pub opened: i64,
    pub closed: i64,
    pub messages_in: i64,
    pub messages_out: i64,
    pub answered: i64,
    pub first_response_median_s: Option<i64>,
    pub first_response_p90_s: Option<i64>,
    pub first_response_work_median_s: Option<i64>,
    pub first_response_work_p90_s: Option<i64>,
    pub resolved: i64,
    pub resolution_median_s: Option<i64>,
    pub resolution_p90_s: Option<i64>,
    pub resolution_work_median_s: Option<i64>,
    pub resolution_work_p90_s: Option<i64>,
    pub sla: Option<SlaFigures>,
    pub reopened: i64,
    pub reopen_rate_pct: Option<f64>,
    pub rating_average: Option<f64>,
    /// Ratings 1 to 5.
    pub ratings: [i64; 5],
    pub rated: i64,
    /// Of the period's resolved or closed conversations.
    pub rated_pct: Option<f64>,
    pub open_now: i64,
    pub unanswered_now: i64,
}

#[derive(Clone, Debug, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Day {
    #[schema(value_type = String, format = Date)]
    pub date: NaiveDate,
    pub opened: i64,
    pub closed: i64,
    /// Not closed at the end of the day.
    pub backlog: i64,
    pub messages_in: i64,
    pub messages_out: i64,
    pub first_response_median_s: Option<i64>,
}

/// One row of a per-operator, per-channel, per-team or per-tag table.
#[derive(Clone, Debug, Serialize, PartialEq, utoipa::ToSchema)]
#[schema(as = ReportRow)]
pub struct Row {
    pub id: Option<i64>,
    pub name: String,
    pub handled: i64,
    pub done: i64,
    pub answered: i64,
    pub first_response_median_s: Option<i64>,
    pub resolution_median_s: Option<i64>,
    pub rating_average: Option<f64>,
    pub rated: i64,
    /// Operators only: seconds online in the period.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub online_s: Option<i64>,
}

/// The whole report.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Report {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub timezone: String,
    pub summary: Summary,
    pub days: Vec<Day>,
    /// Conversations started per weekday (Monday first) and hour, in the project's zone.
    pub heatmap: [[i64; 24]; 7],
    pub operators: Vec<Row>,
    pub channels: Vec<Row>,
    pub teams: Vec<Row>,
    pub tags: Vec<Row>,
}

#[derive(Default)]
struct DayTally {
    opened: i64,
    closed: i64,
    messages_in: i64,
    messages_out: i64,
    first_response: Vec<i64>,
}

/// Folds pages of facts into a report.
pub struct Fold {
    tz: chrono_tz::Tz,
    local: Local,
    sla: Sla,
    all: Tally,
    days: BTreeMap<NaiveDate, DayTally>,
    heatmap: [[i64; 24]; 7],
    operators: Groups,
    channels: Groups,
    teams: Groups,
    tags: Groups,
    closed: i64,
}

impl Fold {
    pub fn new(tz: chrono_tz::Tz, from: NaiveDate, to: NaiveDate, sla: Sla) -> Fold {
        let days = from
            .iter_days()
            .take_while(|d| *d <= to)
            .map(|d| (d, DayTally::default()))
            .collect();
        Fold {
            tz,
            local: Local {
                tz,
                day: std::cell::Cell::new(None),
            },
            sla,
            all: Tally::default(),
            days,
            heatmap: [[0; 24]; 7],
            operators: Groups::default(),
            channels: Groups::default(),
            teams: Groups::default(),
            tags: Groups::default(),
            closed: 0,
        }
    }

    /// The project's date at a UTC instant.
    pub fn local_date(&self, t: NaiveDateTime) -> NaiveDate {
        self.local.of(t).0
    }

    /// The conversation opened in the period, with its tags' ids.
    pub fn opened(&mut self, f: &Fact, tags: &[i64], waited: Option<Waited>) {
        let sla = self.sla;
        self.all.add(f, &sla, waited);
        if let Some(d) = self.days.get_mut(&self.local_date(f.created_at)) {
            d.opened += 1;
            d.messages_in += i64::from(f.messages_in);
            d.messages_out += i64::from(f.messages_out);
            if let Some(s) = f.first_response_secs {
                d.first_response.push(s);
            }
        }
        let (date, hour) = self.local.of(f.first_customer_at.unwrap_or(f.created_at));
        let (wd, h) = (
            date.weekday().num_days_from_monday() as usize,
            hour as usize,
        );
        self.heatmap[wd][h] += 1;
        self.operators.entry(f.assignee_id).or_default().add(f);
        self.channels
            .entry(Some(f.channel_id.0))
            .or_default()
            .add(f);
        self.teams.entry(f.team_id).or_default().add(f);
        for t in tags {
            self.tags.entry(Some(*t)).or_default().add(f);
        }
        if tags.is_empty() {
            self.tags.entry(None).or_default().add(f);
        }
    }

    /// Adds what another fold of the same period has folded (a year is folded on two
    /// threads).
    pub fn merge(&mut self, other: Fold) {
        self.all.merge(other.all);
        for (date, d) in other.days {
            if let Some(mine) = self.days.get_mut(&date) {
                mine.opened += d.opened;
                mine.closed += d.closed;
                mine.messages_in += d.messages_in;
                mine.messages_out += d.messages_out;
                mine.first_response.extend(d.first_response);
            }
        }
        for (row, hours) in self.heatmap.iter_mut().zip(other.heatmap) {
            for (mine, n) in row.iter_mut().zip(hours) {
                *mine += n;
            }
        }
        for (mine, theirs) in [
            (&mut self.operators, other.operators),
            (&mut self.channels, other.channels),
            (&mut self.teams, other.teams),
            (&mut self.tags, other.tags),
        ] {
            for (k, g) in theirs {
                mine.entry(k).or_default().merge(g);
            }
        }
        self.closed += other.closed;
    }

    /// How many conversations were closed (or cancelled) on a day of the period.
    pub fn closed_on(&mut self, day: NaiveDate, n: i64) {
        self.closed += n;
        if let Some(d) = self.days.get_mut(&day) {
            d.closed += n;
        }
    }

    /// The report, given what is open now, what was opened and closed after the period (for
    /// the backlog), and the names of what the tables list.
    pub fn finish(self, end: &End, names: &Names) -> Report {
        let Fold {
            tz,
            local: _,
            sla,
            mut all,
            days,
            heatmap,
            operators,
            channels,
            teams,
            tags,
            closed,
        } = self;
        let from = days.keys().next().copied().unwrap_or_default();
        let to = days.keys().next_back().copied().unwrap_or_default();
        // Not closed at the end of day D = open now − opened after D + closed after D.
        let mut opened_after = end.opened_since;
        let mut closed_after = end.closed_since;
        let mut out_days: Vec<Day> = days
            .into_iter()
            .rev()
            .map(|(date, mut d)| {
                let day = Day {
                    date,
                    opened: d.opened,
                    closed: d.closed,
                    backlog: (end.open_now - opened_after + closed_after).max(0),
                    messages_in: d.messages_in,
                    messages_out: d.messages_out,
                    first_response_median_s: percentile(&mut d.first_response, 50),
                };
                opened_after += d.opened;
                closed_after += d.closed;
                day
            })
            .collect();
        out_days.reverse();
        let fr = Spread::of(&mut all.first_response);
        let frw = Spread::of(&mut all.first_response_work);
        let rs = Spread::of(&mut all.resolution);
        let rsw = Spread::of(&mut all.resolution_work);
        let sla = sla.target_secs.map(|target_s| SlaFigures {
            target_s,
            working_time: sla.working,
            within: all.within_sla,
            of: all.sla_of,
            share_pct: share(all.within_sla, all.sla_of),
        });
        let summary = Summary {
            opened: all.opened,
            closed,
            messages_in: all.messages_in,
            messages_out: all.messages_out,
            answered: all.first_response.len() as i64,
            first_response_median_s: fr.median_s,
            first_response_p90_s: fr.p90_s,
            first_response_work_median_s: frw.median_s,
            first_response_work_p90_s: frw.p90_s,
            resolved: all.resolution.len() as i64,
            resolution_median_s: rs.median_s,
            resolution_p90_s: rs.p90_s,
            resolution_work_median_s: rsw.median_s,
            resolution_work_p90_s: rsw.p90_s,
            sla,
            reopened: all.reopened,
            reopen_rate_pct: share(all.reopened, all.resolution.len() as i64),
            rating_average: all.rating_average(),
            ratings: all.ratings,
            rated: all.rated(),
            rated_pct: share(all.rated(), all.done),
            open_now: end.open_now,
            unanswered_now: end.unanswered_now,
        };
        Report {
            from,
            to,
            timezone: tz.name().to_string(),
            summary,
            days: out_days,
            heatmap,
            operators: rows(operators, &names.users, &names.nobody, Some(&names.online)),
            channels: rows(channels, &names.channels, &names.nobody, None),
            teams: rows(teams, &names.teams, &names.no_team, None),
            tags: rows(tags, &names.tags, &names.no_tag, None),
        }
    }
}

/// The state after the period that the backlog is counted back from.
#[derive(Clone, Debug, Default)]
pub struct End {
    pub open_now: i64,
    pub unanswered_now: i64,
    pub opened_since: i64,
    pub closed_since: i64,
}

/// Names for the tables' rows, and what to call the rows without one.
#[derive(Clone, Debug, Default)]
pub struct Names {
    pub users: HashMap<i64, String>,
    pub channels: HashMap<i64, String>,
    pub teams: HashMap<i64, String>,
    pub tags: HashMap<i64, String>,
    pub online: HashMap<i64, i64>,
    pub nobody: String,
    pub no_team: String,
    pub no_tag: String,
}

fn rows(
    groups: Groups,
    names: &HashMap<i64, String>,
    none: &str,
    online: Option<&HashMap<i64, i64>>,
) -> Vec<Row> {
    let mut out: Vec<Row> = groups
        .into_iter()
        .map(|(id, mut t)| Row {
            id,
            name: id
                .map(|i| names.get(&i).cloned().unwrap_or_else(|| format!("#{i}")))
                .unwrap_or_else(|| none.to_string()),
            handled: t.opened,
            done: t.done,
            answered: t.first_response.len() as i64,
            first_response_median_s: percentile(&mut t.first_response, 50),
            resolution_median_s: percentile(&mut t.resolution, 50),
            rating_average: rating_average(&t.ratings),
            rated: rated(&t.ratings),
            online_s: online.and_then(|o| id.map(|i| o.get(&i).copied().unwrap_or(0))),
        })
        .collect();
    // Busiest first; the rows without an operator, team or tag last.
    out.sort_by(|a, b| {
        a.id.is_none()
            .cmp(&b.id.is_none())
            .then(b.handled.cmp(&a.handled))
            .then(a.name.cmp(&b.name))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        assert_eq!(percentile(&mut [], 50), None);
        assert_eq!(percentile(&mut [7], 90), Some(7));
        assert_eq!(percentile(&mut [4, 1, 3, 2], 50), Some(2));
        assert_eq!(percentile(&mut [5, 1, 4, 2, 3], 50), Some(3));
        let mut v: Vec<i64> = (1..=10).rev().collect();
        assert_eq!(percentile(&mut v, 90), Some(9));
        assert_eq!(percentile(&mut v, 100), Some(10));
    }
}
