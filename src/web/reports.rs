//! The reports page (Analytics and Administrator levels): a period and filters, the figures,
//! charts drawn on the server, the tables, and their CSV exports (the journal streamed).

use actix_web::{HttpResponse, web};
use askama::Template;

use super::State;
use super::auth::Console;
use super::charts;
use super::errors::HtmlError;
use crate::domain::Can;
use crate::i18n::Tr;
use crate::inbox::reports::export::{self, Lookup, Table};
use crate::inbox::reports::figures::Row;
use crate::inbox::reports::{Period, Report};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/console/reports", web::get().to(page))
        .route("/console/reports/journal.csv", web::get().to(journal))
        .route("/console/reports/{table}.csv", web::get().to(table_csv));
}

/// A duration as people read it: "45 с", "12 мин 5 с", "3 ч 20 мин", "2 д 4 ч".
pub fn human(tr: Tr, secs: Option<i64>) -> String {
    let Some(s) = secs else {
        return "—".to_string();
    };
    let (d, h, m, sec) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60, s % 60);
    let u = |k: &str| tr.t(k);
    if d > 0 {
        format!("{d} {} {h} {}", u("unit_d"), u("unit_h"))
    } else if h > 0 {
        format!("{h} {} {m} {}", u("unit_h"), u("unit_min"))
    } else if m > 0 {
        format!("{m} {} {sec} {}", u("unit_min"), u("unit_s"))
    } else {
        format!("{sec} {}", u("unit_s"))
    }
}

fn pct(v: Option<f64>) -> String {
    v.map(|p| format!("{p:.1} %")).unwrap_or_else(|| "—".into())
}

fn avg(v: Option<f64>) -> String {
    v.map(|a| format!("{a:.2}")).unwrap_or_else(|| "—".into())
}

/// One figure of the summary.
pub struct Card {
    pub label: &'static str,
    pub value: String,
    pub hint: String,
}

/// A table row as shown.
pub struct Line {
    pub name: String,
    pub handled: i64,
    pub done: i64,
    pub answered: i64,
    pub first_response: String,
    pub resolution: String,
    pub rating: String,
    pub online: Option<String>,
}

pub struct Section {
    pub key: &'static str,
    pub title: &'static str,
    pub lines: Vec<Line>,
    pub online: bool,
}

/// A day of the period as shown.
pub struct DayLine {
    pub date: String,
    pub opened: i64,
    pub closed: i64,
    pub backlog: i64,
    pub messages: String,
    pub first_response: String,
}

pub struct Choice {
    pub id: i64,
    pub name: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "console/reports.html")]
struct ReportsPage {
    tr: Tr,
    project_name: String,
    periods: Vec<(&'static str, &'static str, bool)>,
    from: String,
    to: String,
    channels: Vec<Choice>,
    teams: Vec<Choice>,
    operators: Vec<Choice>,
    tags: Vec<Choice>,
    error: String,
    timezone: String,
    cards: Vec<Card>,
    charts: Vec<(&'static str, String)>,
    sections: Vec<Section>,
    days: Vec<DayLine>,
    query: String,
    empty: bool,
}

fn lines(tr: Tr, rows: &[Row]) -> Vec<Line> {
    rows.iter()
        .map(|r| Line {
            name: r.name.clone(),
            handled: r.handled,
            done: r.done,
            answered: r.answered,
            first_response: human(tr, r.first_response_median_s),
            resolution: human(tr, r.resolution_median_s),
            rating: if r.rated > 0 {
                format!("{} ({})", avg(r.rating_average), r.rated)
            } else {
                "—".into()
            },
            online: r.online_s.map(|s| human(tr, Some(s))),
        })
        .collect()
}

fn cards(tr: Tr, r: &Report) -> Vec<Card> {
    let s = &r.summary;
    let card = |label: &'static str, value: String, hint: String| Card {
        label: tr.t(label),
        value,
        hint,
    };
    let mut out = vec![
        card("report_opened", s.opened.to_string(), String::new()),
        card("report_closed", s.closed.to_string(), String::new()),
        card(
            "report_first_response",
            human(tr, s.first_response_median_s),
            format!(
                "{}: {} · {}: {}",
                tr.t("report_p90"),
                human(tr, s.first_response_p90_s),
                tr.t("report_working_time"),
                human(tr, s.first_response_work_median_s)
            ),
        ),
        card(
            "report_resolution",
            human(tr, s.resolution_median_s),
            format!(
                "{}: {} · {}: {}",
                tr.t("report_p90"),
                human(tr, s.resolution_p90_s),
                tr.t("report_working_time"),
                human(tr, s.resolution_work_median_s)
            ),
        ),
    ];
    out.push(match &s.sla {
        Some(sla) => card(
            "report_sla",
            pct(sla.share_pct),
            format!(
                "{} {} ({}) · {} / {}",
                tr.t("report_sla_within"),
                human(tr, Some(sla.target_s)),
                tr.t(if sla.working_time {
                    "sla_working"
                } else {
                    "sla_calendar"
                }),
                sla.within,
                sla.of
            ),
        ),
        None => card("report_sla", "—".into(), tr.t("report_sla_unset").into()),
    });
    out.extend([
        card(
            "report_rating",
            avg(s.rating_average),
            format!(
                "{}: {} ({})",
                tr.t("report_rated"),
                s.rated,
                pct(s.rated_pct)
            ),
        ),
        card(
            "report_reopen_rate",
            pct(s.reopen_rate_pct),
            format!("{} / {}", s.reopened, s.resolved),
        ),
        card(
            "report_messages",
            format!("{} / {}", s.messages_in, s.messages_out),
            tr.t("report_messages_hint").into(),
        ),
        card(
            "report_unanswered_now",
            s.unanswered_now.to_string(),
            format!("{}: {}", tr.t("report_open_now"), s.open_now),
        ),
    ]);
    out
}

fn chart_set(tr: Tr, r: &Report) -> Vec<(&'static str, String)> {
    let labels: Vec<String> = r
        .days
        .iter()
        .map(|d| d.date.format("%d.%m").to_string())
        .collect();
    let opened: Vec<i64> = r.days.iter().map(|d| d.opened).collect();
    let closed: Vec<i64> = r.days.iter().map(|d| d.closed).collect();
    let fr: Vec<Option<i64>> = r.days.iter().map(|d| d.first_response_median_s).collect();
    let units = [tr.t("unit_s"), tr.t("unit_min"), tr.t("unit_h")];
    let days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].map(|k| tr.t(k));
    vec![
        (
            "chart-days",
            charts::day_bars(
                tr.t("report_chart_days"),
                &labels,
                [
                    (tr.t("report_opened"), &opened),
                    (tr.t("report_closed"), &closed),
                ],
            ),
        ),
        (
            "chart-first-response",
            charts::day_line(tr.t("report_chart_first_response"), &labels, &fr, units),
        ),
        (
            "chart-ratings",
            charts::ratings(tr.t("report_chart_ratings"), &r.summary.ratings),
        ),
        (
            "chart-heatmap",
            charts::heatmap(tr.t("report_chart_heatmap"), &days, &r.heatmap),
        ),
    ]
}

type Query = web::Query<Vec<(String, String)>>;

async fn page(
    state: web::Data<State>,
    console: Console,
    q: Query,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Reports)?;
    let tr = console.tr;
    let pid = console.project.id;
    let pairs = q.into_inner();
    let parsed = state.inbox.report_params(pid, pairs.clone()).await;
    let (params, error) = match parsed {
        Ok(p) => (p, String::new()),
        // A bad period or filter: the default report, and what was wrong.
        Err(e) => (
            state.inbox.report_params(pid, Vec::new()).await?,
            e.to_string(),
        ),
    };
    let report = state.inbox.report(pid, params.clone(), tr.lang).await?;
    let (chans, teams, members, tags) = state
        .inbox
        .store
        .read(move |c| {
            Ok((
                crate::store::channels::of_project(c, pid)?,
                crate::store::teams::of_project(c, pid)?,
                crate::store::members::everyone(c, pid)?,
                crate::store::tags::of_project(c, pid)?,
            ))
        })
        .await?;
    let choose = |id: i64, name: String, sel: Option<i64>| Choice {
        id,
        name,
        selected: sel == Some(id),
    };
    let sections = vec![
        Section {
            key: "operators",
            title: tr.t("report_by_operator"),
            lines: lines(tr, &report.operators),
            online: true,
        },
        Section {
            key: "channels",
            title: tr.t("report_by_channel"),
            lines: lines(tr, &report.channels),
            online: false,
        },
        Section {
            key: "teams",
            title: tr.t("report_by_team"),
            lines: lines(tr, &report.teams),
            online: false,
        },
        Section {
            key: "tags",
            title: tr.t("report_by_tag"),
            lines: lines(tr, &report.tags),
            online: false,
        },
    ];
    let body = ReportsPage {
        tr,
        project_name: console.project.name.clone(),
        periods: Period::ALL
            .iter()
            .map(|p| {
                (
                    p.as_str(),
                    tr.t(match p {
                        Period::Today => "period_today",
                        Period::Yesterday => "period_yesterday",
                        Period::Week => "period_7d",
                        Period::Month => "period_30d",
                        Period::Custom => "period_custom",
                    }),
                    *p == params.period,
                )
            })
            .collect(),
        from: params.from.to_string(),
        to: params.to.to_string(),
        channels: chans
            .into_iter()
            .map(|c| choose(c.id.0, c.name, params.channel.map(|c| c.0)))
            .collect(),
        teams: teams
            .into_iter()
            .map(|t| choose(t.id, t.name, params.team))
            .collect(),
        operators: members
            .into_iter()
            .map(|m| choose(m.user.id, m.user.name, params.operator))
            .collect(),
        tags: tags
            .into_iter()
            .map(|t| choose(t.id, t.name, params.tag))
            .collect(),
        error,
        timezone: report.timezone.clone(),
        cards: cards(tr, &report),
        charts: chart_set(tr, &report),
        sections,
        days: report
            .days
            .iter()
            .map(|d| DayLine {
                date: d.date.format("%d.%m.%Y").to_string(),
                opened: d.opened,
                closed: d.closed,
                backlog: d.backlog,
                messages: format!("{} / {}", d.messages_in, d.messages_out),
                first_response: human(tr, d.first_response_median_s),
            })
            .collect(),
        query: params.query(),
        empty: report.summary.opened == 0 && report.summary.closed == 0,
    }
    .render()?;
    Ok(super::page(actix_web::http::StatusCode::OK).body(body))
}

fn csv_response(name: &str) -> actix_web::HttpResponseBuilder {
    let mut b = HttpResponse::Ok();
    b.content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{name}\""),
        ))
        .insert_header(("Cache-Control", "no-store"));
    b
}

/// A byte-order mark first: without it Excel reads UTF-8 as the local code page.
fn with_bom(mut bytes: Vec<u8>) -> Vec<u8> {
    bytes.splice(0..0, [0xEF, 0xBB, 0xBF]);
    bytes
}

async fn table_csv(
    state: web::Data<State>,
    console: Console,
    path: web::Path<String>,
    q: Query,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Reports)?;
    let which = Table::parse(&path.into_inner())?;
    let pid = console.project.id;
    let params = state.inbox.report_params(pid, q.into_inner()).await?;
    let name = format!("{}-{}-{}.csv", which.as_str(), params.from, params.to);
    let report = state.inbox.report(pid, params, console.tr.lang).await?;
    let bytes = export::table(&report, which, console.tr.lang)?;
    Ok(csv_response(&name).body(with_bom(bytes)))
}

/// Every conversation of the period with its times, streamed a page at a time.
async fn journal(
    state: web::Data<State>,
    console: Console,
    q: Query,
) -> Result<HttpResponse, HtmlError> {
    console.require(Can::Reports)?;
    let pid = console.project.id;
    let params = state.inbox.report_params(pid, q.into_inner()).await?;
    let name = format!("journal-{}-{}.csv", params.from, params.to);
    let lang = console.tr.lang;
    let now = state.inbox.automation.clock.now();
    // The first page is read before answering, so a failure is an error page, not a cut file.
    let (look, scope, first, next) = state
        .inbox
        .store
        .read(move |c| {
            let (tz, _) = crate::inbox::reports::project_today(c, pid, now)?;
            let scope = crate::inbox::reports::scope(pid, tz, &params);
            let look = Lookup::new(c, &scope, tz, lang)?;
            let (bytes, next) = export::journal_page(c, &scope, &look, None)?;
            Ok((look, scope, bytes, next))
        })
        .await?;
    let store = state.inbox.store.clone();
    let look = std::sync::Arc::new(look);
    let rest = futures_util::stream::unfold(next, move |after| {
        let (store, scope, look) = (store.clone(), scope.clone(), look.clone());
        async move {
            let after = after?;
            match store
                .read(move |c| export::journal_page(c, &scope, &look, after))
                .await
            {
                Ok((bytes, next)) => Some((Ok(web::Bytes::from(bytes)), next)),
                Err(e) => {
                    tracing::error!("journal export stopped: {e}");
                    Some((Err(actix_web::error::ErrorInternalServerError(e)), None))
                }
            }
        }
    });
    let first = web::Bytes::from(with_bom(first));
    let body = futures_util::StreamExt::chain(
        futures_util::stream::once(async move { Ok::<_, actix_web::Error>(first) }),
        rest,
    );
    Ok(csv_response(&name).streaming(body))
}
