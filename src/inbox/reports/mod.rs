//! Reports: how fast the team answers, how customers rate it, who does the work. Computed
//! from the measures each conversation keeps (see `automation::measures`), reading a period's
//! conversations in pages along an index; nothing scans messages.

pub mod export;
pub mod figures;
pub mod packing;
pub mod params;

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime, TimeZone};

use super::Inbox;
use crate::automation::ProjectAutomation;
use crate::domain::ProjectId;
use crate::error::Result;
use crate::i18n::Lang;
use crate::store::reports::{self, Fact, Scope};
use crate::store::{DbConn, channels, projects, report_days, tags, teams};
pub use figures::Report;
use figures::{End, Fold, Names, Sla, Waited};
pub use params::{Params, Period};

/// Conversations read per page.
const PAGE: i64 = 5000;
/// Packed days from which a report folds on two threads.
const SPLIT: usize = 32;

/// The UTC instant a local date starts at in `tz`.
pub fn day_start(tz: chrono_tz::Tz, d: NaiveDate) -> NaiveDateTime {
    let local = d.and_time(chrono::NaiveTime::MIN);
    tz.from_local_datetime(&local)
        .earliest()
        .map(|t| t.naive_utc())
        .unwrap_or(local)
}

/// The project's zone and today's date in it.
pub fn project_today(
    conn: &mut DbConn,
    project_id: ProjectId,
    now: NaiveDateTime,
) -> Result<(chrono_tz::Tz, NaiveDate)> {
    let tz = projects::by_id(conn, project_id)?.zone();
    Ok((tz, tz.from_utc_datetime(&now).naive_local().date()))
}

/// What a report reads: the scope of its conversations in UTC.
pub fn scope(project_id: ProjectId, tz: chrono_tz::Tz, p: &Params) -> Scope {
    Scope {
        project_id,
        from: day_start(tz, p.from),
        to: day_start(tz, p.to + chrono::Duration::days(1)),
        channel: p.channel,
        team: p.team,
        operator: p.operator,
        tag: p.tag,
    }
}

/// Where a report's conversations are read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The packed days (`store::report_days`) that are fresh, the rows for the rest.
    Packed,
    /// The rows only: the direct computation the packed days must agree with.
    Rows,
}

/// The whole report for a period, on the automation clock's `now`.
pub fn compute(
    conn: &mut DbConn,
    project_id: ProjectId,
    settings: &ProjectAutomation,
    p: &Params,
    now: NaiveDateTime,
    lang: Lang,
) -> Result<Report> {
    compute_from(conn, project_id, settings, p, now, lang, Source::Packed)
}

/// What a report folds its conversations into, and what it needs to judge them.
struct Reading<'a> {
    s: Scope,
    tz: chrono_tz::Tz,
    p: &'a Params,
    settings: &'a ProjectAutomation,
    sla: Sla,
    now: NaiveDateTime,
    fold: Fold,
    users: Vec<i64>,
}

impl Reading<'_> {
    fn opened(&mut self, f: &Fact, tags: &[i64]) {
        let waited = match (
            f.first_response_secs,
            f.first_customer_at,
            self.sla.target_secs,
        ) {
            (None, Some(asked), Some(target)) => {
                let secs = (self.now - asked).num_seconds().max(0);
                // Working time never exceeds calendar time: within the target by the calendar
                // is within it by the schedule too, and a year of schedule is not walked.
                let work_secs = if self.sla.working && secs > target {
                    self.settings.working_secs(asked, self.now)
                } else {
                    secs
                };
                Some(Waited { secs, work_secs })
            }
            _ => None,
        };
        self.fold.opened(f, tags, waited);
        if let Some(a) = f.assignee_id
            && !self.users.contains(&a)
        {
            self.users.push(a);
        }
    }

    /// The same reading with nothing folded yet, for another thread.
    fn fork(&self) -> Self {
        Reading {
            s: self.s.clone(),
            fold: Fold::new(self.tz, self.p.from, self.p.to, self.sla),
            users: Vec::new(),
            ..*self
        }
    }

    fn merge(&mut self, other: Reading) {
        self.fold.merge(other.fold);
        for u in other.users {
            if !self.users.contains(&u) {
                self.users.push(u);
            }
        }
    }

    /// Packed days, folded; those that cannot be read are returned, to be read from rows.
    fn packed_days(&mut self, days: &[report_days::Packed]) -> Vec<NaiveDate> {
        let mut unread = Vec::new();
        for d in days {
            match (d.opened(), d.closed()) {
                (Ok(opened), Ok(closed)) => self.packed(&opened, &closed),
                _ => unread.push(d.day),
            }
        }
        unread
    }

    /// A packed UTC day: its conversations and closings that the scope holds.
    fn packed(&mut self, opened: &[(Fact, Vec<i64>)], closed: &[reports::Closing]) {
        for (f, tags) in opened {
            if self
                .s
                .holds(f.created_at, f.channel_id, f.team_id, f.assignee_id, tags)
            {
                self.opened(f, tags);
            }
        }
        for c in closed {
            if self
                .s
                .holds(c.closed_at, c.channel_id, c.team_id, c.assignee_id, &c.tags)
            {
                let day = self.fold.local_date(c.closed_at);
                self.fold.closed_on(day, 1);
            }
        }
    }

    /// The UTC days [a, b) read from their rows.
    fn rows(&mut self, conn: &mut DbConn, a: NaiveDate, b: NaiveDate) -> Result<()> {
        let mut s = self.s.clone();
        s.from = s.from.max(report_days::start(a));
        s.to = s.to.min(report_days::start(b));
        if s.from >= s.to {
            return Ok(());
        }
        let mut after = None;
        loop {
            let page = reports::opened(conn, &s, after, PAGE)?;
            let Some(last) = page.last() else { break };
            after = Some((last.created_at, last.id));
            let ids: Vec<_> = page.iter().map(|f| f.id).collect();
            let mut tags_of: HashMap<i64, Vec<i64>> = HashMap::new();
            for (c, t) in reports::tags_of(conn, &ids)? {
                tags_of.entry(c.0).or_default().push(t);
            }
            for f in &page {
                let tags = tags_of.get(&f.id.0).map(Vec::as_slice).unwrap_or(&[]);
                self.opened(f, tags);
            }
            if (page.len() as i64) < PAGE {
                break;
            }
        }
        for day in self.p.from.iter_days().take_while(|d| *d <= self.p.to) {
            let (da, db) = (
                day_start(self.tz, day).max(s.from),
                day_start(self.tz, day + chrono::Duration::days(1)).min(s.to),
            );
            if da < db {
                self.fold
                    .closed_on(day, reports::closed_between(conn, &s, da, db)?);
            }
        }
        Ok(())
    }
}

/// The whole report, its conversations read from `source`.
pub fn compute_from(
    conn: &mut DbConn,
    project_id: ProjectId,
    settings: &ProjectAutomation,
    p: &Params,
    now: NaiveDateTime,
    lang: Lang,
    source: Source,
) -> Result<Report> {
    let (tz, _) = project_today(conn, project_id, now)?;
    let s = scope(project_id, tz, p);
    let sla = Sla {
        target_secs: settings.reports.sla_secs,
        working: settings.reports.sla_working,
    };
    let (first, last) = (
        s.from.date(),
        (s.to - chrono::Duration::microseconds(1)).date(),
    );
    let mut packed: HashMap<NaiveDate, report_days::Packed> = match source {
        Source::Packed => report_days::fresh(conn, project_id, first, last)?
            .into_iter()
            .map(|d| (d.day, d))
            .collect(),
        Source::Rows => HashMap::new(),
    };
    let mut r = Reading {
        s: s.clone(),
        tz,
        p,
        settings,
        sla,
        now,
        fold: Fold::new(tz, p.from, p.to, sla),
        users: Vec::new(),
    };
    // Runs of days without a fresh packing are read from rows, a run at a time; the packed
    // days are unpacked and folded on two threads.
    let mut run: Option<NaiveDate> = None;
    let mut days = Vec::new();
    for day in first.iter_days().take_while(|d| *d <= last) {
        match packed.remove(&day) {
            Some(d) => {
                if let Some(a) = run.take() {
                    r.rows(conn, a, day)?;
                }
                days.push(d);
            }
            None => {
                run.get_or_insert(day);
            }
        }
    }
    if let Some(a) = run {
        r.rows(conn, a, last + chrono::Duration::days(1))?;
    }
    let unread = if days.len() < SPLIT {
        r.packed_days(&days)
    } else {
        let (left, right) = days.split_at(days.len() / 2);
        let mut other = r.fork();
        let (mut unread, theirs) = std::thread::scope(|scope| {
            let them = scope.spawn(|| {
                let unread = other.packed_days(right);
                (other, unread)
            });
            let mine = r.packed_days(left);
            (mine, them.join())
        });
        let (other, more) =
            theirs.map_err(|_| crate::error::Error::internal("a report's thread stopped"))?;
        r.merge(other);
        unread.extend(more);
        unread
    };
    for day in unread {
        r.rows(conn, day, day + chrono::Duration::days(1))?;
    }
    let open = reports::open_now(conn, &s)?;
    let (opened_since, closed_since) = reports::since(conn, &s, s.to)?;
    let end = End {
        open_now: open.open,
        unanswered_now: open.unanswered,
        opened_since,
        closed_since,
    };
    let names = names(conn, project_id, &r.users, &s, lang)?;
    Ok(r.fold.finish(&end, &names))
}

fn names(
    conn: &mut DbConn,
    project_id: ProjectId,
    users: &[i64],
    s: &Scope,
    lang: Lang,
) -> Result<Names> {
    let tr = crate::i18n::console::Tr { lang };
    Ok(Names {
        users: reports::user_names(conn, users)?.into_iter().collect(),
        channels: channels::of_project(conn, project_id)?
            .into_iter()
            .map(|c| (c.id.0, c.name))
            .collect(),
        teams: teams::of_project(conn, project_id)?
            .into_iter()
            .map(|t| (t.id, t.name))
            .collect(),
        tags: tags::of_project(conn, project_id)?
            .into_iter()
            .map(|t| (t.id, t.name))
            .collect(),
        online: reports::online_secs(conn, users, s.from, s.to)?
            .into_iter()
            .collect(),
        nobody: tr.t("report_no_operator").to_string(),
        no_team: tr.t("report_no_team").to_string(),
        no_tag: tr.t("report_no_tag").to_string(),
    })
}

impl Inbox {
    /// The report of `project_id` for `p`, in `lang` for the names of what has none.
    pub async fn report(&self, project_id: ProjectId, p: Params, lang: Lang) -> Result<Report> {
        let settings = self.automation.project(project_id);
        let now = self.automation.clock.now();
        self.store
            .read(move |conn| compute(conn, project_id, &settings, &p, now, lang))
            .await
    }

    /// Reads a report's parameters against the project's today.
    pub async fn report_params(
        &self,
        project_id: ProjectId,
        pairs: Vec<(String, String)>,
    ) -> Result<Params> {
        let now = self.automation.clock.now();
        let (_, today) = self
            .store
            .read(move |conn| project_today(conn, project_id, now))
            .await?;
        Params::parse(&pairs, today)
    }
}

/// Saves the reports' settings: the one write the settings page, the API and the file share.
pub fn save_settings(
    conn: &mut DbConn,
    project_id: ProjectId,
    by: Option<i64>,
    s: &crate::automation::ReportSettings,
    source: &str,
) -> Result<()> {
    let json =
        serde_json::to_string(s).map_err(|e| crate::error::Error::internal(e.to_string()))?;
    crate::store::project_settings::save_reports(conn, project_id, &json, source)?;
    crate::store::audit::record(
        conn,
        project_id,
        by,
        crate::domain::audit::Action::SettingsChanged,
        "reports",
        &s.to_config().to_string(),
    )
}
