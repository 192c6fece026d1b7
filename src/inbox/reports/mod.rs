//! Reports: how fast the team answers, how customers rate it, who does the work. Computed
//! from the measures each conversation keeps (see `automation::measures`), reading a period's
//! conversations in pages along an index; nothing scans messages.

pub mod export;
pub mod figures;
pub mod params;

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime, TimeZone};

use super::Inbox;
use crate::automation::ProjectAutomation;
use crate::domain::ProjectId;
use crate::error::Result;
use crate::i18n::Lang;
use crate::store::reports::{self, Scope};
use crate::store::{DbConn, channels, projects, tags, teams};
pub use figures::Report;
use figures::{End, Fold, Names, Sla, Waited};
pub use params::{Params, Period};

/// Conversations read per page.
const PAGE: i64 = 5000;

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

/// The whole report for a period, on the automation clock's `now`.
pub fn compute(
    conn: &mut DbConn,
    project_id: ProjectId,
    settings: &ProjectAutomation,
    p: &Params,
    now: NaiveDateTime,
    lang: Lang,
) -> Result<Report> {
    let (tz, _) = project_today(conn, project_id, now)?;
    let s = scope(project_id, tz, p);
    let sla = Sla {
        target_secs: settings.reports.sla_secs,
        working: settings.reports.sla_working,
    };
    let mut fold = Fold::new(tz, p.from, p.to, sla);
    let mut users: Vec<i64> = Vec::new();
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
            let waited = match (f.first_response_secs, f.first_customer_at) {
                (None, Some(asked)) if sla.target_secs.is_some() => Some(Waited {
                    secs: (now - asked).num_seconds().max(0),
                    work_secs: settings.working_secs(asked, now),
                }),
                _ => None,
            };
            let tags = tags_of.get(&f.id.0).map(Vec::as_slice).unwrap_or(&[]);
            fold.opened(f, tags, waited);
            if let Some(a) = f.assignee_id
                && !users.contains(&a)
            {
                users.push(a);
            }
        }
        if (page.len() as i64) < PAGE {
            break;
        }
    }
    for day in p.from.iter_days().take_while(|d| *d <= p.to) {
        let (a, b) = (
            day_start(tz, day),
            day_start(tz, day + chrono::Duration::days(1)),
        );
        fold.closed_on(day, reports::closed_between(conn, &s, a, b)?);
    }
    let open = reports::open_now(conn, &s)?;
    let (opened_since, closed_since) = reports::since(conn, &s, s.to)?;
    let end = End {
        open_now: open.open,
        unanswered_now: open.unanswered,
        opened_since,
        closed_since,
    };
    let names = names(conn, project_id, &users, &s, lang)?;
    Ok(fold.finish(&end, &names))
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
