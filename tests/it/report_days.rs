//! Reports over long periods read packed days: on two years of seeded conversations, changed
//! at random afterwards (statuses, assignees, teams, tags, answers), every report, with every
//! filter, equals the one computed directly from the rows, before and after the packer has
//! caught up, and after the horizon moves on.

use chrono::{Duration, NaiveDate, TimeZone};
use perepiska::automation::ProjectAutomation;
use perepiska::clock::Clock;
use perepiska::domain::{ChannelId, ProjectId};
use perepiska::i18n::Lang;
use perepiska::inbox::reports::{self, Params, Period, Report, Source};
use perepiska::store::{self, project_settings, projects, report_days};
use reqwest::Method;
use serde_json::json;

use crate::automation::{SCHEDULE, app};
use crate::reports::Lcg;
use crate::support::fake_telegram::FakeTelegram;
use crate::support::{ADMIN_EMAIL, TestApp};

struct Project {
    id: ProjectId,
    settings: ProjectAutomation,
    channels: Vec<i64>,
    teams: Vec<i64>,
    operators: Vec<i64>,
    tags: Vec<i64>,
}

async fn project(app: &TestApp) -> Project {
    app.store()
        .read(|c| {
            let p = projects::all(c)?.remove(0);
            let row = project_settings::all(c)?
                .into_iter()
                .find(|r| r.project_id == p.id)
                .expect("the project's settings");
            Ok(Project {
                id: p.id,
                settings: ProjectAutomation::from_row(&row),
                channels: store::channels::of_project(c, p.id)?
                    .into_iter()
                    .map(|ch| ch.id.0)
                    .collect(),
                teams: store::teams::of_project(c, p.id)?
                    .into_iter()
                    .map(|t| t.id)
                    .collect(),
                operators: store::members::members(c, p.id)?
                    .into_iter()
                    .map(|u| u.id)
                    .collect(),
                tags: store::tags::of_project(c, p.id)?
                    .into_iter()
                    .map(|t| t.id)
                    .collect(),
            })
        })
        .await
        .expect("the project")
}

fn without_online(mut r: Report) -> Report {
    // Time online is read from presence with the wall clock, not from conversations.
    for row in &mut r.operators {
        row.online_s = None;
    }
    r
}

/// Every period and filter the packed days must answer exactly as the rows do.
async fn packed_equals_rows(app: &TestApp, p: &Project, now: chrono::NaiveDateTime, when: &str) {
    let today = chrono_tz::Europe::Moscow
        .from_utc_datetime(&now)
        .naive_local()
        .date();
    let periods: [(NaiveDate, NaiveDate); 4] = [
        (today - Duration::days(729), today),
        (today - Duration::days(365), today),
        (today - Duration::days(400), today - Duration::days(370)),
        (today - Duration::days(2), today),
    ];
    type Filter = (Option<i64>, Option<i64>, Option<i64>, Option<i64>);
    let mut filters: Vec<Filter> = vec![(None, None, None, None)];
    filters.extend(p.channels.iter().map(|c| (Some(*c), None, None, None)));
    filters.extend(p.teams.iter().take(2).map(|t| (None, Some(*t), None, None)));
    filters.extend(
        p.operators
            .iter()
            .take(3)
            .map(|o| (None, None, Some(*o), None)),
    );
    filters.extend(p.tags.iter().map(|t| (None, None, None, Some(*t))));
    for (from, to) in periods {
        for (channel, team, operator, tag) in &filters {
            let params = Params {
                period: Period::Custom,
                from,
                to,
                channel: channel.map(ChannelId),
                team: *team,
                operator: *operator,
                tag: *tag,
            };
            let (pid, settings, q) = (p.id, p.settings.clone(), params.clone());
            let (packed, rows) = app
                .store()
                .read(move |c| {
                    let mut at = |s| reports::compute_from(c, pid, &settings, &q, now, Lang::En, s);
                    Ok((at(Source::Packed)?, at(Source::Rows)?))
                })
                .await
                .expect("both reports");
            let what = format!(
                "{when}: {from}..{to}, channel {channel:?} team {team:?} operator {operator:?} tag {tag:?}"
            );
            same(&without_online(packed), &without_online(rows), &what);
        }
    }
}

/// Equal reports, or the first part (and day) in which they differ.
fn same(packed: &Report, rows: &Report, what: &str) {
    assert_eq!(packed.summary, rows.summary, "{what}: summary");
    for (p, r) in packed.days.iter().zip(&rows.days) {
        assert_eq!(p, r, "{what}: a day");
    }
    assert_eq!(packed.days.len(), rows.days.len(), "{what}: days");
    assert_eq!(packed.heatmap, rows.heatmap, "{what}: heatmap");
    assert_eq!(packed.operators, rows.operators, "{what}: operators");
    assert_eq!(packed.channels, rows.channels, "{what}: channels");
    assert_eq!(packed.teams, rows.teams, "{what}: teams");
    assert_eq!(packed.tags, rows.tags, "{what}: tags");
    assert_eq!(packed, rows, "{what}");
}

async fn stale_marks(app: &TestApp, pid: ProjectId) -> usize {
    app.store()
        .read(move |c| {
            use diesel::RunQueryDsl;
            Ok(report_days::stale_query(pid, 1000).load::<String>(c)?.len())
        })
        .await
        .expect("stale marks")
}

async fn packed_days(app: &TestApp, pid: ProjectId, from: NaiveDate, to: NaiveDate) -> usize {
    app.store()
        .read(move |c| Ok(report_days::fresh(c, pid, from, to)?.len()))
        .await
        .expect("packed days")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packed_days_report_what_the_rows_say_through_random_changes() {
    let tg = FakeTelegram::start().await;
    let start = store::now();
    let clock = Clock::manual(start);
    let top = format!("{SCHEDULE}[reports]\nsla = \"15m\"\nsla_time = \"working\"\n\n");
    let app = app(&tg, &clock, "", &top).await;
    let token = app.api_token(ADMIN_EMAIL).await;
    for name in ["Доставка", "Возврат"] {
        app.api_ok(&token, Method::POST, "/tags", Some(json!({ "name": name })))
            .await;
    }
    let (ok, out) = crate::scale::seed(&app, &["--conversations", "2500"]);
    assert!(ok, "{out}");
    let p = project(&app).await;
    let yesterday = start.date() - Duration::days(1);
    // The seed packs the two years it wrote, up to the horizon (yesterday, UTC).
    let two_years = start.date() - Duration::days(730);
    assert!(
        packed_days(&app, p.id, two_years, yesterday).await >= 700,
        "the seeded days are packed"
    );
    packed_equals_rows(&app, &p, start, "as seeded").await;

    // Changes to old conversations, through the API as operators make them.
    let pid = p.id;
    let ids: Vec<i64> = app
        .store()
        .read(move |c| {
            let before_yesterday = store::reports::Scope {
                project_id: pid,
                from: report_days::start(two_years),
                to: report_days::start(yesterday),
                channel: None,
                team: None,
                operator: None,
                tag: None,
            };
            Ok(store::reports::opened(c, &before_yesterday, None, 5000)?
                .into_iter()
                .map(|f| f.id.0)
                .collect())
        })
        .await
        .expect("old conversations");
    let tag_names = ["Доставка", "Возврат"];
    let mut rng = Lcg(20_261_204);
    let mut changed = 0;
    for _ in 0..60 {
        let id = ids[rng.below(ids.len() as u64) as usize];
        let body = match rng.below(6) {
            0 => json!({ "status": "closed" }),
            1 => json!({ "status": "open" }),
            2 => {
                json!({ "assignee_id": p.operators[rng.below(p.operators.len() as u64) as usize] })
            }
            3 => json!({ "team_id": p.teams[rng.below(p.teams.len() as u64) as usize] }),
            4 => json!({ "tags": [tag_names[rng.below(2) as usize]] }),
            _ => json!({ "tags": [] }),
        };
        let (status, answer) = app
            .api(
                &token,
                Method::PATCH,
                &format!("/conversations/{id}"),
                Some(body),
            )
            .await;
        assert!(status == 200 || status == 409, "{status} {answer}");
        if status == 200 {
            changed += 1;
        }
        if rng.below(4) == 0 {
            app.api_ok(
                &token,
                Method::POST,
                &format!("/conversations/{id}/messages"),
                Some(json!({ "text": "Вернулись к обращению" })),
            )
            .await;
        }
    }
    assert!(changed > 30, "{changed} of 60 changes taken");
    // Right after: whatever the packer has or has not rebuilt yet.
    packed_equals_rows(&app, &p, start, "just changed").await;
    app.eventually("the packer rebuilds the changed days", || async {
        stale_marks(&app, p.id).await == 0
    })
    .await;
    assert!(packed_days(&app, p.id, two_years, yesterday).await >= 700);
    packed_equals_rows(&app, &p, start, "rebuilt").await;

    // A clock run ahead of the wall (tests do that) leaves the horizon at the wall's
    // yesterday: writes the server stamps by the wall must not all land on packed days. The
    // packer keeps rebuilding, and reports over the days past the horizon read their rows.
    let later = start + Duration::days(2);
    clock.set(later);
    tg.push(crate::automation::say(
        730_000_001,
        1,
        "Новый клиент",
        "Здравствуйте",
    ));
    crate::automation::conversation_of(&app, &token, "Новый клиент").await;
    let old = ids[0];
    app.api_ok(
        &token,
        Method::PATCH,
        &format!("/conversations/{old}"),
        Some(json!({ "tags": ["Доставка", "Возврат"] })),
    )
    .await;
    app.eventually(
        "the packer rebuilds the day after the clock moved",
        || async { stale_marks(&app, p.id).await == 0 },
    )
    .await;
    let horizon = app
        .store()
        .read(move |c| report_days::horizon(c, pid))
        .await
        .expect("horizon")
        .map(|(until, _)| until);
    let wall_yesterday = store::now().date() - Duration::days(1);
    assert!(
        horizon.is_some_and(|h| h <= wall_yesterday && h < later.date() - Duration::days(1)),
        "the horizon {horizon:?} follows the wall, not the clock"
    );
    packed_equals_rows(&app, &p, later, "two days on").await;
}
