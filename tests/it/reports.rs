//! Reports on a clock the test sets: a known set of conversations (in and out of working
//! hours, across midnight in Moscow, answered, resolved, closed, rated) gives exactly the
//! expected figures; random traffic gives what a direct computation from what happened gives;
//! the exports carry their columns and defuse formulas; the settings are checked like the file.

use chrono::{Duration, NaiveDateTime};
use perepiska::clock::Clock;
use reqwest::Method;
use serde_json::{Value, json};

use crate::automation::{SCHEDULE, app, conversation_of, say, utc, wait_to_chat};
use crate::support::fake_telegram::FakeTelegram;
use crate::support::{ADMIN_EMAIL, TestApp};

const A: i64 = 710_000_001;
const B: i64 = 710_000_002;
const C: i64 = 710_000_003;

async fn reply(app: &TestApp, token: &str, id: i64, text: &str) {
    app.api_ok(
        token,
        Method::POST,
        &format!("/conversations/{id}/messages"),
        Some(json!({ "text": text })),
    )
    .await;
}

async fn set_status(app: &TestApp, token: &str, id: i64, status: &str) {
    app.api_ok(
        token,
        Method::PATCH,
        &format!("/conversations/{id}"),
        Some(json!({ "status": status })),
    )
    .await;
}

async fn id_of(app: &TestApp, token: &str, name: &str) -> i64 {
    conversation_of(app, token, name).await["id"]
        .as_i64()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn figures_of_a_known_day_in_moscow_with_working_time_and_ratings() {
    let tg = FakeTelegram::start().await;
    // Monday 2026-11-23, 10:00 in Moscow.
    let clock = Clock::manual(utc("2026-11-23 07:00:00"));
    let top = format!("{SCHEDULE}[reports]\nsla = \"15m\"\n\n");
    let app = app(&tg, &clock, "rating = true\n", &top).await;
    let token = app.api_token(ADMIN_EMAIL).await;

    // A: asked at 10:00, answered at 10:04, resolved at 10:30, rated 5 at 10:31.
    tg.push(say(A, 1, "Анна", "Не приходит чек"));
    let a = id_of(&app, &token, "Анна").await;
    clock.set(utc("2026-11-23 07:04:00"));
    reply(&app, &token, a, "Проверяем, минуту").await;
    clock.set(utc("2026-11-23 07:30:00"));
    set_status(&app, &token, a, "resolved").await;
    let sent = wait_to_chat(&app, &tg, A, 2).await;
    let five = sent
        .iter()
        .find(|m| m.text.starts_with("Оцените"))
        .expect("a rating request")
        .buttons[4]
        .1
        .clone();
    clock.set(utc("2026-11-23 07:31:00"));
    tg.push(FakeTelegram::press(A, "r1", &five, "ru"));
    app.eventually("A rated and closed", || async {
        let (_, c) = app
            .api(&token, Method::GET, &format!("/conversations/{a}"), None)
            .await;
        c["status"] == "closed" && c["rating"] == 5
    })
    .await;

    // B: asked Monday 23:00, answered Tuesday 09:05 (five working minutes), closed 09:20.
    clock.set(utc("2026-11-23 20:00:00"));
    tg.push(say(B, 1, "Борис", "Срочно нужен счёт"));
    let b = id_of(&app, &token, "Борис").await;
    // C: Tuesday 00:30 in Moscow (still Monday in UTC), never answered. Its name would be a
    // formula in a spreadsheet.
    clock.set(utc("2026-11-23 21:30:00"));
    tg.push(say(C, 1, "=Вера", "Где мой заказ?"));
    id_of(&app, &token, "=Вера").await;
    clock.set(utc("2026-11-24 06:05:00"));
    reply(&app, &token, b, "Счёт во вложении").await;
    clock.set(utc("2026-11-24 06:20:00"));
    set_status(&app, &token, b, "closed").await;
    // Tuesday noon.
    clock.set(utc("2026-11-24 09:00:00"));

    let period = "from=2026-11-23&to=2026-11-24";
    let s = app
        .api_ok(
            &token,
            Method::GET,
            &format!("/reports/summary?{period}"),
            None,
        )
        .await;
    let expected = json!({
        "from": "2026-11-23", "to": "2026-11-24", "timezone": "Europe/Moscow",
        "opened": 3, "closed": 2, "messages_in": 3, "messages_out": 2,
        "answered": 2,
        "first_response_median_s": 240, "first_response_p90_s": 36300,
        "first_response_work_median_s": 240, "first_response_work_p90_s": 300,
        "resolved": 2,
        "resolution_median_s": 1800, "resolution_p90_s": 37200,
        "resolution_work_median_s": 1200, "resolution_work_p90_s": 1800,
        "sla": { "target_s": 900, "working_time": false, "within": 1, "of": 3, "share_pct": 33.33 },
        "reopened": 0, "reopen_rate_pct": 0.0,
        "rating_average": 5.0, "ratings": [0, 0, 0, 0, 1], "rated": 1, "rated_pct": 50.0,
        "open_now": 1, "unanswered_now": 1
    });
    assert_eq!(s, expected);
    // What is answered is what the OpenAPI document describes.
    let doc: Value = app
        .http
        .get(format!("{}/api/v1/openapi.json", app.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let schemas = &doc["components"]["schemas"];
    for key in s.as_object().unwrap().keys() {
        assert!(
            schemas["Summary"]["properties"][key].is_object()
                || schemas["SummaryOut"]["allOf"][1]["properties"][key].is_object(),
            "summary.{key} is answered but not described"
        );
    }

    // Monday alone in Moscow: C wrote after midnight there, so it belongs to Tuesday.
    let mon = app
        .api_ok(
            &token,
            Method::GET,
            "/reports/summary?from=2026-11-23&to=2026-11-23",
            None,
        )
        .await;
    assert_eq!(
        (mon["opened"].as_i64(), mon["closed"].as_i64()),
        (Some(2), Some(1))
    );

    let days = app
        .api_ok(
            &token,
            Method::GET,
            &format!("/reports/timeseries?{period}"),
            None,
        )
        .await;
    assert_eq!(
        days["data"],
        json!([
            { "date": "2026-11-23", "opened": 2, "closed": 1, "backlog": 1,
              "messages_in": 2, "messages_out": 2, "first_response_median_s": 240 },
            { "date": "2026-11-24", "opened": 1, "closed": 1, "backlog": 1,
              "messages_in": 1, "messages_out": 0, "first_response_median_s": null }
        ])
    );
    let ops = app
        .api_ok(
            &token,
            Method::GET,
            &format!("/reports/operators?{period}"),
            None,
        )
        .await;
    let admin = app.user_id(ADMIN_EMAIL).await;
    let rows = ops["data"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{ops}");
    assert_eq!(
        (
            rows[0]["id"].as_i64(),
            rows[0]["handled"].as_i64(),
            rows[0]["answered"].as_i64(),
            rows[0]["first_response_median_s"].as_i64(),
            rows[0]["rating_average"].as_f64()
        ),
        (Some(admin), Some(2), Some(2), Some(240), Some(5.0))
    );
    assert_eq!(
        (rows[1]["id"].clone(), rows[1]["handled"].as_i64()),
        (Value::Null, Some(1))
    );
    // Filters: one operator; a channel that does not exist has nothing.
    let mine = app
        .api_ok(
            &token,
            Method::GET,
            &format!("/reports/summary?{period}&operator={admin}"),
            None,
        )
        .await;
    assert_eq!(mine["opened"], 2);
    let none = app
        .api_ok(
            &token,
            Method::GET,
            &format!("/reports/summary?{period}&channel=999"),
            None,
        )
        .await;
    assert_eq!(
        (none["opened"].as_i64(), none["open_now"].as_i64()),
        (Some(0), Some(0))
    );

    // The target in working time: B's five working minutes are in time, C still misses it.
    let (st, v) = app
        .api(
            &token,
            Method::PUT,
            "/reports/settings",
            Some(json!({"sla": "15m", "sla_time": "working", "daily_summary": "09:00"})),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let s = app
        .api_ok(
            &token,
            Method::GET,
            &format!("/reports/summary?{period}"),
            None,
        )
        .await;
    assert_eq!(
        s["sla"],
        json!({ "target_s": 900, "working_time": true, "within": 2, "of": 3, "share_pct": 66.67 })
    );
    // A bad value is refused with its key named, and changes nothing.
    let (st, v) = app
        .api(
            &token,
            Method::PUT,
            "/reports/settings",
            Some(json!({"sla": "soon"})),
        )
        .await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (400, Some("invalid")),
        "{v}"
    );
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("reports.sla"),
        "{v}"
    );
    let (_, now) = app
        .api(&token, Method::GET, "/reports/settings", None)
        .await;
    assert_eq!(now["sla_time"], "working");
    // Bad report parameters are refused in JSON.
    let (st, v) = app
        .api(
            &token,
            Method::GET,
            "/reports/summary?from=2026-13-01",
            None,
        )
        .await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (400, Some("invalid")),
        "{v}"
    );
    // An operator has no reports.
    let op_token = app.operator_token().await;
    let (st, v) = app
        .api(&op_token, Method::GET, "/reports/summary", None)
        .await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (403, Some("forbidden")),
        "{v}"
    );

    // The page and the exports.
    let console = app.admin().await;
    let (st, html) = console.get(&format!("/console/reports?{period}")).await;
    assert_eq!(st, 200);
    for id in [
        "chart-days",
        "chart-first-response",
        "chart-ratings",
        "chart-heatmap",
    ] {
        assert!(html.contains(&format!("id=\"{id}\"")), "{id} drawn");
    }
    assert!(html.contains("66.7 %"), "the SLA share is on the page");
    let (st, csv) = console
        .get(&format!("/console/reports/journal.csv?{period}"))
        .await;
    assert_eq!(st, 200);
    let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines.len(), 4, "a header and three conversations: {csv}");
    assert!(
        lines[0].starts_with("Номер,Открыто,Канал,Клиент,Статус"),
        "{}",
        lines[0]
    );
    assert!(
        csv.contains(",'=Вера,"),
        "a formula-like name is defused: {csv}"
    );
    assert!(
        lines[1].starts_with("1,2026-11-23 10:00:00,Поддержка,Анна,Закрыто,Admin"),
        "{}",
        lines[1]
    );
    assert!(lines[1].contains(",240,240,1800,1800,"), "{}", lines[1]);
    let (_, ops_csv) = console
        .get(&format!("/console/reports/operators.csv?{period}"))
        .await;
    let header = ops_csv
        .trim_start_matches('\u{feff}')
        .lines()
        .next()
        .unwrap_or("");
    assert_eq!(
        header,
        "Название,Обращений,Решено,С ответом,\"Первый ответ, медиана, с\",\"Решение, медиана, с\",Средняя оценка,Оценено,\"В сети, с\""
    );
    let (st, _) = console
        .get(&format!("/console/reports/nothing.csv?{period}"))
        .await;
    assert_eq!(st, 404);
}

/// One conversation as the test made it happen.
struct Happened {
    opened: NaiveDateTime,
    /// Seconds to the first answer.
    answered: Option<i64>,
    /// Seconds from the first message to the resolution, and whether it was closed.
    done: Option<(i64, bool)>,
}

/// A small deterministic generator, so a failure can be replayed.
pub(crate) struct Lcg(pub(crate) u64);

impl Lcg {
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        (self.0 >> 33) % n
    }
    pub(crate) fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
}

fn nearest_rank(v: &mut [i64], p: usize) -> Value {
    if v.is_empty() {
        return Value::Null;
    }
    v.sort_unstable();
    let rank = (v.len() * p).div_ceil(100).max(1);
    json!(v[rank - 1])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_traffic_reports_what_a_direct_count_of_it_gives() {
    let tg = FakeTelegram::start().await;
    let start = utc("2026-11-23 05:00:00");
    let clock = Clock::manual(start);
    let app = app(&tg, &clock, "", "[reports]\nsla = \"30m\"\n\n").await;
    let token = app.api_token(ADMIN_EMAIL).await;
    let mut rng = Lcg(20_261_203);
    let mut opened_days: Vec<Happened> = Vec::new();
    let mut t = start;
    for i in 0..18 {
        t += Duration::seconds(600 + rng.below(4 * 3600) as i64);
        clock.set(t);
        let chat = 720_000_000 + i;
        let name = format!("Клиент {i}");
        tg.push(say(chat, 1, &name, "Вопрос"));
        let id = id_of(&app, &token, &name).await;
        let answered = rng.chance(70).then(|| 30 + rng.below(5400) as i64);
        let mut at = t;
        if let Some(after) = answered {
            at += Duration::seconds(after);
            clock.set(at);
            reply(&app, &token, id, "Ответ").await;
        }
        let done = rng
            .chance(60)
            .then(|| (60 + rng.below(20_000) as i64, rng.chance(50)));
        if let Some((after, close)) = done {
            clock.set(at + Duration::seconds(after));
            set_status(&app, &token, id, if close { "closed" } else { "resolved" }).await;
            // Resolution counts from the customer's first message.
            opened_days.push(Happened {
                opened: t,
                answered,
                done: Some(((at - t).num_seconds() + after, close)),
            });
        } else {
            opened_days.push(Happened {
                opened: t,
                answered,
                done: None,
            });
        }
    }
    let end = t + Duration::days(1);
    clock.set(end);
    let tz = chrono_tz::Europe::Moscow;
    use chrono::TimeZone;
    let local = |t: NaiveDateTime| tz.from_utc_datetime(&t).naive_local().date();
    let (from, to) = (local(start), local(end));
    let s = app
        .api_ok(
            &token,
            Method::GET,
            &format!("/reports/summary?from={from}&to={to}"),
            None,
        )
        .await;
    let mut fr: Vec<i64> = opened_days.iter().filter_map(|o| o.answered).collect();
    let mut res: Vec<i64> = opened_days
        .iter()
        .filter_map(|o| o.done.map(|d| d.0))
        .collect();
    let closed = opened_days
        .iter()
        .filter(|o| o.done.is_some_and(|d| d.1))
        .count();
    let within = fr.iter().filter(|s| **s <= 1800).count();
    // Unanswered ones have all waited a day by now: past the target.
    let of = fr.len() + opened_days.iter().filter(|o| o.answered.is_none()).count();
    let open_now = opened_days.len() - closed;
    let unanswered_now = opened_days
        .iter()
        .filter(|o| o.answered.is_none() && o.done.is_none_or(|d| !d.1))
        .count();
    assert_eq!(s["opened"], json!(opened_days.len()));
    assert_eq!(s["closed"], json!(closed));
    assert_eq!(s["answered"], json!(fr.len()));
    assert_eq!(s["first_response_median_s"], nearest_rank(&mut fr, 50));
    assert_eq!(s["first_response_p90_s"], nearest_rank(&mut fr, 90));
    assert_eq!(
        s["first_response_work_median_s"],
        nearest_rank(&mut fr, 50),
        "no schedule: all hours work"
    );
    assert_eq!(s["resolved"], json!(res.len()));
    assert_eq!(s["resolution_median_s"], nearest_rank(&mut res, 50));
    assert_eq!(s["resolution_p90_s"], nearest_rank(&mut res, 90));
    assert_eq!(
        (s["sla"]["within"].clone(), s["sla"]["of"].clone()),
        (json!(within), json!(of))
    );
    assert_eq!(s["open_now"], json!(open_now));
    assert_eq!(s["unanswered_now"], json!(unanswered_now));
    // Per day, in Moscow.
    let days = app
        .api_ok(
            &token,
            Method::GET,
            &format!("/reports/timeseries?from={from}&to={to}"),
            None,
        )
        .await;
    for d in days["data"].as_array().unwrap() {
        let date = d["date"].as_str().unwrap();
        let opened = opened_days
            .iter()
            .filter(|o| local(o.opened).to_string() == date)
            .count();
        assert_eq!(d["opened"], json!(opened), "{date}");
    }
    let total: i64 = days["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["closed"].as_i64().unwrap_or(0))
        .sum();
    assert_eq!(total, closed as i64);
}

#[tokio::test]
async fn what_reports_read_uses_indexes() {
    let app = TestApp::spawn().await;
    let (ok, out) = crate::scale::seed(&app, &["--conversations", "300"]);
    assert!(ok, "{out}");
    let plans = app
        .store()
        .read(perepiska::store::explain::reports)
        .await
        .expect("plans");
    assert_eq!(plans.len(), 16);
    for (name, lines) in &plans {
        let scans = crate::scale::full_scans(lines);
        assert!(scans.is_empty(), "{name}: {}", lines.join("\n"));
        // The packed days and their stale marks grow with the days: read by key too.
        let packed_scans: Vec<_> = lines
            .iter()
            .filter(|l| {
                let l = l.trim_start_matches([' ', '-', '>', '|', '`']);
                l.starts_with("SCAN report_") || l.contains("Seq Scan on report_")
            })
            .collect();
        assert!(packed_scans.is_empty(), "{name}: {}", lines.join("\n"));
    }
    let plan = |name: &str| {
        plans
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, l)| l.join("\n"))
            .unwrap_or_default()
    };
    assert!(
        plan("opened").contains("conversations_opened"),
        "{}",
        plan("opened")
    );
    assert!(
        plan("closed").contains("conversations_closed"),
        "{}",
        plan("closed")
    );
    // Seeded data carries the measures real traffic keeps.
    let token = app.api_token(ADMIN_EMAIL).await;
    let s = app
        .api_ok(
            &token,
            Method::GET,
            "/reports/summary?from=2024-12-01&to=2025-11-30",
            None,
        )
        .await;
    assert!(s["opened"].as_i64().unwrap_or(0) > 0, "{s}");
    assert!(s["first_response_median_s"].as_i64().is_some(), "{s}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_summary_goes_once_to_the_staff_chat_and_to_whoever_chose_it() {
    const STAFF: i64 = -100_500;
    let tg = FakeTelegram::start().await;
    // Monday 10:00 in Moscow.
    let clock = Clock::manual(utc("2026-11-23 07:00:00"));
    let top = format!(
        "{SCHEDULE}[alerts]\nchannel = \"tg\"\nchat_id = \"{STAFF}\"\n\n[reports]\ndaily_summary = \"09:00\"\n\n"
    );
    let app = app(&tg, &clock, "", &top).await;
    let token = app.api_token(ADMIN_EMAIL).await;
    // Started after 09:00: Sunday's summary goes at once.
    let sent = wait_to_chat(&app, &tg, STAFF, 1).await;
    assert!(
        sent[0]
            .text
            .starts_with("📊 Сводка за 22.11.2026: открыто 0"),
        "{}",
        sent[0].text
    );
    // The admin hears of it under the bell; nobody does by default.
    let mut ways = app
        .api_ok(&token, Method::GET, "/me/notifications", None)
        .await;
    assert!(!ways["bell"].as_array().unwrap().contains(&json!("summary")));
    ways["bell"].as_array_mut().unwrap().push(json!("summary"));
    app.api_ok(
        &token,
        Method::PUT,
        "/me/notifications",
        Some(json!({ "bell": ways["bell"] })),
    )
    .await;
    tg.push(say(A, 1, "Анна", "Не приходит чек"));
    let a = id_of(&app, &token, "Анна").await;
    clock.set(utc("2026-11-23 07:10:00"));
    reply(&app, &token, a, "Проверяем").await;

    // Tuesday 09:00 in Moscow: Monday's summary.
    clock.set(utc("2026-11-24 06:00:00"));
    let sent = wait_to_chat(&app, &tg, STAFF, 2).await;
    assert!(
        sent[1]
            .text
            .starts_with("📊 Сводка за 23.11.2026: открыто 1, закрыто 0, первый ответ (медиана) 10 мин, оценка —; ждут ответа сейчас: 0"),
        "{}",
        sent[1].text
    );
    let console = app.admin().await;
    assert_eq!(console.get("/console/partials/bell").await.1, "1");
    let (_, page) = console.get("/console/notifications").await;
    assert!(page.contains("Сводка за 23.11.2026"), "{page}");
    // Later passes of the scheduler the same day send nothing more.
    let passes = app.metric("perepiska_scheduler_passes_total").await;
    clock.set(utc("2026-11-24 10:00:00"));
    app.eventually("three more scheduler passes", || async {
        app.metric("perepiska_scheduler_passes_total").await >= passes + 3.0
    })
    .await;
    app.settle().await;
    assert_eq!(crate::automation::to_chat(&tg, STAFF).len(), 2);
}
