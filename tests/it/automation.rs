//! Automation with a clock the test sets by hand: auto-replies, off-hours replies, inactivity
//! auto-close with the closing message and the rating request, unanswered alerts, and timers
//! that survive a restart. Customers write through the fake Telegram Bot API.

use std::time::Duration;

use chrono::NaiveDateTime;
use perepiska::clock::Clock;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::fake_telegram::{FakeTelegram, SentMessage, TOKEN};
use crate::support::{ADMIN_EMAIL, TestApp};

const CHAT: i64 = 700_100_200;

/// Monday 2026-11-23, 11:00 in Moscow (08:00 UTC).
fn monday_11_moscow() -> NaiveDateTime {
    utc("2026-11-23 08:00:00")
}

pub(crate) fn utc(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
}

pub(crate) const SCHEDULE: &str = "[schedule]\ntimezone = \"Europe/Moscow\"\nmon = [\"09:00-13:00\", \"14:00-18:00\"]\ntue = [\"09:00-18:00\"]\nwed = [\"09:00-18:00\"]\nthu = [\"09:00-18:00\"]\nfri = [\"09:00-18:00\"]\nholidays = [\"2027-01-01\", \"2027-01-07\"]\n\n";

pub(crate) async fn app(tg: &FakeTelegram, clock: &Clock, rules: &str, top: &str) -> TestApp {
    let toml = format!(
        "{top}[[channels]]\nid = \"tg\"\nkind = \"telegram\"\nname = \"Поддержка\"\ntoken = \"{TOKEN}\"\napi_base = \"{}\"\npoll_timeout = 1\n{rules}",
        tg.url
    );
    let clock = clock.clone();
    TestApp::spawn_with(move |s| {
        std::fs::write(&s.channels_path, &toml).unwrap();
        s.clock = clock;
        s.scheduler_tick = Duration::from_millis(20);
    })
    .await
}

/// Everything sent to this chat.
pub(crate) fn to_chat(tg: &FakeTelegram, chat: i64) -> Vec<SentMessage> {
    tg.sent()
        .into_iter()
        .filter(|m| m.chat_id == chat)
        .collect()
}

pub(crate) async fn wait_to_chat(
    app: &TestApp,
    tg: &FakeTelegram,
    chat: i64,
    n: usize,
) -> Vec<SentMessage> {
    app.eventually(&format!("{n} messages to {chat}"), || async {
        to_chat(tg, chat).len() >= n
    })
    .await;
    to_chat(tg, chat)
}

pub(crate) async fn conversation_of(app: &TestApp, token: &str, chat_name: &str) -> Value {
    for _ in 0..250 {
        let (_, v) = app
            .api(token, Method::GET, "/conversations?channel=tg", None)
            .await;
        if let Some(c) = v["data"]
            .as_array()
            .and_then(|l| l.iter().find(|c| c["contact"]["name"] == chat_name))
        {
            return c.clone();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no conversation of {chat_name}");
}

pub(crate) fn say(chat: i64, id: i64, name: &str, text: &str) -> Value {
    json!({ "message": {
        "message_id": id, "date": 1_763_700_000,
        "chat": { "id": chat, "type": "private", "first_name": name },
        "from": { "id": chat, "is_bot": false, "first_name": name, "language_code": "ru" },
        "text": text } })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_replies_wait_for_their_delay_and_stop_once_an_operator_answers() {
    let tg = FakeTelegram::start().await;
    let clock = Clock::manual(monday_11_moscow());
    let app = app(
        &tg,
        &clock,
        "auto_replies = [ { after = \"2m\", text = \"{NAME} уже смотрит ваш вопрос.\" }, { after = \"10m\", text = \"Извините за ожидание!\" } ]\n",
        SCHEDULE,
    )
    .await;
    let token = app.api_token(ADMIN_EMAIL).await;
    tg.push(say(CHAT, 1, "Ольга", "Где мой заказ 1542?"));
    let c = conversation_of(&app, &token, "Ольга").await;
    let id = c["id"].as_i64().unwrap();

    clock.advance(chrono::Duration::seconds(119));
    app.settle().await;
    assert!(to_chat(&tg, CHAT).is_empty(), "nothing before two minutes");
    clock.advance(chrono::Duration::seconds(1));
    let sent = wait_to_chat(&app, &tg, CHAT, 1).await;
    assert_eq!(sent[0].text, "Наш специалист уже смотрит ваш вопрос.");
    // The auto-reply is in the thread, without an author, and is not an operator's answer.
    let thread = app.thread(&token, id).await;
    let auto = thread
        .iter()
        .find(|m| m["kind"] == "operator")
        .expect("auto-reply in the thread");
    assert!(auto["author_id"].is_null());

    // The customer writes again: the 10-minute reply moves, the 2-minute one does not repeat.
    clock.advance(chrono::Duration::minutes(5));
    tg.push(say(CHAT, 2, "Ольга", "Алло?"));
    app.eventually("second message", || async {
        app.customer_texts(&token, id).await.len() == 2
    })
    .await;
    clock.advance(chrono::Duration::minutes(9));
    app.settle().await;
    assert_eq!(
        to_chat(&tg, CHAT).len(),
        1,
        "10 minutes from the last message, not the first"
    );
    clock.advance(chrono::Duration::minutes(1));
    let sent = wait_to_chat(&app, &tg, CHAT, 2).await;
    assert_eq!(sent[1].text, "Извините за ожидание!");

    // An operator answers; from now on this conversation gets no auto-replies.
    let (s, _) = app
        .api(
            &token,
            Method::POST,
            &format!("/conversations/{id}/messages"),
            Some(json!({"text": "Заказ уже в пути"})),
        )
        .await;
    assert_eq!(s, 201);
    wait_to_chat(&app, &tg, CHAT, 3).await;
    tg.push(say(CHAT, 3, "Ольга", "Спасибо!"));
    app.eventually("thanks stored", || async {
        app.customer_texts(&token, id).await.len() == 3
    })
    .await;
    clock.advance(chrono::Duration::hours(1));
    app.settle().await;
    assert_eq!(
        to_chat(&tg, CHAT).len(),
        3,
        "no auto-reply after an operator answered"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn off_hours_replies_at_night_and_on_holidays_but_not_in_working_hours() {
    let tg = FakeTelegram::start().await;
    // Monday 23:00 in Moscow.
    let clock = Clock::manual(utc("2026-11-23 20:00:00"));
    let app = app(
        &tg,
        &clock,
        "auto_replies = [ { after = \"10m\", text = \"Скоро ответим\" } ]\noff_hours = \"auto_reply\"\noff_hours_replies = [ { after = \"0s\", text = \"Мы работаем с 9:00 до 18:00 по Москве.\" } ]\n",
        SCHEDULE,
    )
    .await;
    tg.push(say(CHAT, 1, "Ночной", "Вы работаете?"));
    let sent = wait_to_chat(&app, &tg, CHAT, 1).await;
    assert_eq!(sent[0].text, "Мы работаем с 9:00 до 18:00 по Москве.");

    // 11:00 the next day (Tuesday): working hours, the usual auto-reply only.
    clock.set(utc("2026-11-24 08:00:00"));
    tg.push(say(CHAT + 1, 1, "Дневной", "Вы работаете?"));
    let token = app.api_token(ADMIN_EMAIL).await;
    conversation_of(&app, &token, "Дневной").await;
    app.settle().await;
    assert!(
        to_chat(&tg, CHAT + 1).is_empty(),
        "no off-hours reply at 11:00"
    );
    clock.advance(chrono::Duration::minutes(10));
    let sent = wait_to_chat(&app, &tg, CHAT + 1, 1).await;
    assert_eq!(sent[0].text, "Скоро ответим");

    // 11:00 on a holiday (a Friday): off hours.
    clock.set(utc("2027-01-01 08:00:00"));
    tg.push(say(CHAT + 2, 1, "Праздничный", "Вы работаете?"));
    let sent = wait_to_chat(&app, &tg, CHAT + 2, 1).await;
    assert_eq!(sent[0].text, "Мы работаем с 9:00 до 18:00 по Москве.");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inactivity_closes_with_the_closing_message_and_a_rating_request() {
    let tg = FakeTelegram::start().await;
    let clock = Clock::manual(monday_11_moscow());
    let app = app(
        &tg,
        &clock,
        "auto_close_after = \"24h\"\nclosing_message = \"Спасибо за обращение! Диалог закрыт.\"\nrating = true\n",
        "",
    )
    .await;
    let token = app.api_token(ADMIN_EMAIL).await;
    tg.push(say(CHAT, 1, "Пётр", "Как оформить возврат?"));
    let id = conversation_of(&app, &token, "Пётр").await["id"]
        .as_i64()
        .unwrap();
    clock.advance(chrono::Duration::hours(2));
    app.api_ok(
        &token,
        Method::POST,
        &format!("/conversations/{id}/messages"),
        Some(json!({"text": "Через личный кабинет, раздел «Заказы»"})),
    )
    .await;
    wait_to_chat(&app, &tg, CHAT, 1).await;

    // 24 hours after the operator's answer, not after the customer's message.
    clock.advance(chrono::Duration::hours(23));
    app.settle().await;
    let (_, c) = app
        .api(&token, Method::GET, &format!("/conversations/{id}"), None)
        .await;
    assert_eq!(c["status"], "open");
    clock.advance(chrono::Duration::hours(1));
    let sent = wait_to_chat(&app, &tg, CHAT, 3).await;
    assert_eq!(sent[1].text, "Спасибо за обращение! Диалог закрыт.");
    assert!(
        sent[2].text.starts_with("Оцените работу по заявке #1"),
        "{}",
        sent[2].text
    );
    assert_eq!(sent[2].buttons.len(), 5);
    let (_, c) = app
        .api(&token, Method::GET, &format!("/conversations/{id}"), None)
        .await;
    assert_eq!(c["status"], "closed");

    // The customer rates with a button, then adds a comment.
    let five = sent[2].buttons[4].1.clone();
    tg.push(FakeTelegram::press(CHAT, "r1", &five, "ru"));
    let sent = wait_to_chat(&app, &tg, CHAT, 4).await;
    assert!(
        sent[3].text.starts_with("Спасибо за оценку!"),
        "{}",
        sent[3].text
    );
    tg.push(say(CHAT, 2, "Пётр", "Быстро помогли"));
    let sent = wait_to_chat(&app, &tg, CHAT, 5).await;
    assert_eq!(sent[4].text, "Спасибо за отзыв!");
    let (_, c) = app
        .api(&token, Method::GET, &format!("/conversations/{id}"), None)
        .await;
    assert_eq!(c["rating"], 5);
    assert_eq!(c["rating_comment"], "Быстро помогли");
    let (_, list) = app
        .api(&token, Method::GET, "/conversations?channel=tg", None)
        .await;
    assert_eq!(list["total"], 1, "rating answers open no new conversation");
    let op = app.admin().await;
    let (_, html) = op.get(&format!("/console?c={id}")).await;
    assert!(html.contains("★★★★★"), "the console shows the rating");
    assert!(
        html.contains("🤖 Автоматически"),
        "the closing message is shown as automatic, not as the customer's"
    );
    // A second press of an old button changes nothing.
    tg.push(FakeTelegram::press(CHAT, "r2", &sent[2].buttons[0].1, "ru"));
    app.settle().await;
    let (_, c) = app
        .api(&token, Method::GET, &format!("/conversations/{id}"), None)
        .await;
    assert_eq!(c["rating"], 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rating_closes_a_resolved_conversation_and_operators_closing_sends_the_message() {
    let tg = FakeTelegram::start().await;
    let clock = Clock::manual(monday_11_moscow());
    let app = app(
        &tg,
        &clock,
        "closing_message = \"Спасибо за обращение! Диалог закрыт.\"\nrating = true\n",
        "",
    )
    .await;
    let token = app.api_token(ADMIN_EMAIL).await;
    tg.push(say(CHAT, 1, "Анна", "Не приходит чек"));
    let id = conversation_of(&app, &token, "Анна").await["id"]
        .as_i64()
        .unwrap();
    app.api_ok(
        &token,
        Method::PATCH,
        &format!("/conversations/{id}"),
        Some(json!({"status": "resolved"})),
    )
    .await;
    let sent = wait_to_chat(&app, &tg, CHAT, 1).await;
    assert!(
        sent[0].text.starts_with("Оцените работу"),
        "{}",
        sent[0].text
    );
    tg.push(FakeTelegram::press(CHAT, "r1", &sent[0].buttons[3].1, "ru"));
    // Closing by the rating sends the closing message and no second rating request.
    let sent = wait_to_chat(&app, &tg, CHAT, 3).await;
    let texts: Vec<&str> = sent.iter().map(|m| m.text.as_str()).collect();
    assert!(
        texts.contains(&"Спасибо за обращение! Диалог закрыт."),
        "{texts:?}"
    );
    let (_, c) = app
        .api(&token, Method::GET, &format!("/conversations/{id}"), None)
        .await;
    assert_eq!(
        (c["status"].as_str(), c["rating"].as_i64()),
        (Some("closed"), Some(4))
    );
    // Credited to the operator it was assigned to.
    app.api_ok(
        &token,
        Method::PATCH,
        &format!("/conversations/{id}"),
        Some(json!({"assignee_id": 1})),
    )
    .await;
    let op = app.admin().await;
    let (_, html) = op.get("/console/settings").await;
    assert!(
        html.contains("4.0 ★ (1)"),
        "the admin's average rating is shown"
    );
    app.settle().await;
    assert_eq!(
        to_chat(&tg, CHAT)
            .iter()
            .filter(|m| m.text.starts_with("Оцените"))
            .count(),
        1
    );
    // "Skip" ends the comment window: the next message is a new question, not a comment.
    let thanks = to_chat(&tg, CHAT)
        .into_iter()
        .find(|m| m.text.starts_with("Спасибо за оценку!"))
        .expect("thanks for the rating");
    let skip = thanks
        .buttons
        .iter()
        .find(|(_, d)| d.starts_with("rating_skip:"))
        .expect("a skip button")
        .1
        .clone();
    let before = to_chat(&tg, CHAT).len();
    tg.push(FakeTelegram::press(CHAT, "r2", &skip, "ru"));
    let sent = wait_to_chat(&app, &tg, CHAT, before + 1).await;
    assert_eq!(sent[before].text, "Спасибо за отзыв!");
    tg.push(say(CHAT, 2, "Анна", "И ещё: как сменить тариф?"));
    app.eventually("a new conversation", || async {
        let (_, list) = app
            .api(&token, Method::GET, "/conversations?channel=tg", None)
            .await;
        list["total"] == 2
    })
    .await;
    let (_, c) = app
        .api(&token, Method::GET, &format!("/conversations/{id}"), None)
        .await;
    assert!(
        c["rating_comment"].is_null(),
        "the question is not a rating comment"
    );

    // An operator closing another conversation: the closing message, then the rating request.
    tg.push(say(CHAT + 1, 1, "Борис", "Вопрос по доставке"));
    let id2 = conversation_of(&app, &token, "Борис").await["id"]
        .as_i64()
        .unwrap();
    app.api_ok(
        &token,
        Method::PATCH,
        &format!("/conversations/{id2}"),
        Some(json!({"status": "closed"})),
    )
    .await;
    let sent = wait_to_chat(&app, &tg, CHAT + 1, 2).await;
    assert_eq!(sent[0].text, "Спасибо за обращение! Диалог закрыт.");
    assert!(sent[1].text.starts_with("Оцените работу по заявке #3"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unanswered_alerts_reach_the_console_and_the_staff_chat() {
    let tg = FakeTelegram::start().await;
    let clock = Clock::manual(monday_11_moscow());
    let app = app(
        &tg,
        &clock,
        "unanswered_alert_after = \"15m\"\n",
        "[alerts]\nchannel = \"tg\"\nchat_id = \"-100777\"\n\n",
    )
    .await;
    let token = app.api_token(ADMIN_EMAIL).await;
    tg.push(say(CHAT, 1, "Вера", "Спасибо!"));
    conversation_of(&app, &token, "Вера").await;
    clock.advance(chrono::Duration::minutes(14));
    app.settle().await;
    assert!(to_chat(&tg, -100_777).is_empty());
    clock.advance(chrono::Duration::minutes(1));
    let staff = wait_to_chat(&app, &tg, -100_777, 1).await;
    assert_eq!(staff[0].text, "⏰ #1: Вера ждёт ответа больше 15 мин");
    let op = app.admin().await;
    let (_, html) = op.get("/console/notifications").await;
    assert!(html.contains("Вера ждёт ответа больше 15 мин"), "{html}");
    // It fires once, however long the customer waits.
    clock.advance(chrono::Duration::hours(3));
    app.settle().await;
    assert_eq!(to_chat(&tg, -100_777).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timers_survive_a_restart_and_fire_once() {
    let tg = FakeTelegram::start().await;
    let clock = Clock::manual(monday_11_moscow());
    let mut app = app(
        &tg,
        &clock,
        "auto_replies = [ { after = \"30m\", text = \"Мы скоро ответим\" } ]\n",
        SCHEDULE,
    )
    .await;
    let token = app.api_token(ADMIN_EMAIL).await;
    tg.push(say(CHAT, 1, "Олег", "Здравствуйте"));
    conversation_of(&app, &token, "Олег").await;
    app.restart().await;
    clock.advance(chrono::Duration::minutes(30));
    let sent = wait_to_chat(&app, &tg, CHAT, 1).await;
    assert_eq!(sent[0].text, "Мы скоро ответим");
    app.restart().await;
    app.settle().await;
    assert_eq!(to_chat(&tg, CHAT).len(), 1, "fired once");
}

#[test]
fn check_config_refuses_zero_hours_and_long_closing_messages() {
    let dir = tempfile::tempdir().unwrap();
    let check = |rules: &str| {
        std::fs::write(
            dir.path().join("channels.toml"),
            format!("[[channels]]\nid = \"tg\"\nkind = \"telegram\"\ntoken = \"1:x\"\n{rules}"),
        )
        .unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_perepiska"))
            .current_dir(dir.path())
            .arg("check-config")
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).to_string()
                + &String::from_utf8_lossy(&out.stdout),
        )
    };
    let (ok, text) = check("auto_close_after = \"0h\"\n");
    assert!(
        !ok && text.contains("auto_close_after") && text.contains("greater than zero"),
        "{text}"
    );
    let (ok, text) = check("auto_close_after = \"-3d\"\n");
    assert!(!ok && text.contains("auto_close_after"), "{text}");
    let (ok, text) = check(&format!("closing_message = \"{}\"\n", "я".repeat(251)));
    assert!(
        !ok && text.contains("closing_message") && text.contains("251"),
        "{text}"
    );
    let (ok, text) = check(&format!("closing_message = \"{}\"\n", "я".repeat(250)));
    assert!(ok, "250 characters (500 bytes) are fine: {text}");
    let (ok, text) =
        check("off_hours = \"bot\"\noff_hours_replies = [ { after = \"0s\", text = \"Ночь\" } ]\n");
    assert!(!ok && text.contains("cannot both"), "{text}");
    let (ok, text) = check("[schedule]\ntimezone = \"Moscow\"\n");
    assert!(!ok, "{text}");
    let (ok, text) = check("greeting = \"Привет\"\n");
    assert!(!ok && text.contains("widget channels"), "{text}");
}

/// Posts a settings form as the logged-in user; returns (status, page).
async fn post_settings(
    op: &crate::support::Operator,
    path: &str,
    fields: &[(&str, &str)],
) -> (u16, String) {
    let mut form: Vec<(&str, &str)> = vec![("csrf", &op.csrf)];
    form.extend_from_slice(fields);
    op.post_form(path, &form).await
}

async fn tg_channel_id(app: &TestApp) -> perepiska::domain::ChannelId {
    app.store()
        .read(|c| perepiska::store::channels::by_key(c, "tg"))
        .await
        .unwrap()
        .unwrap()
        .id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_pages_validate_like_the_file_and_take_effect_at_once() {
    let tg = FakeTelegram::start().await;
    let clock = Clock::manual(monday_11_moscow());
    let app = app(&tg, &clock, "", "").await;
    let op = app.admin().await;
    let (s, html) = op.get("/console/settings").await;
    assert_eq!(s, 200);
    assert!(html.contains("name=\"h_0_9\"") && html.contains("Поддержка"));
    let (_, inbox) = op.get("/console").await;
    assert!(
        inbox.contains("href=\"/console/settings\""),
        "admins see the link"
    );
    let ch = tg_channel_id(&app).await;
    let path = format!("/console/settings/rules/{ch}");

    // Refused forms: a clear message, the input kept, nothing saved.
    let (s, html) = post_settings(&op, &path, &[("auto_close_after", "0h")]).await;
    assert_eq!(s, 400);
    assert!(
        html.contains("auto_close_after") && html.contains("greater than zero"),
        "{html}"
    );
    assert!(html.contains("value=\"0h\""), "the input is shown again");
    let long = "я".repeat(251);
    let (s, html) = post_settings(
        &op,
        &path,
        &[("closing_on", "on"), ("closing_message", &long)],
    )
    .await;
    assert_eq!(s, 400);
    assert!(html.contains("251 characters"), "{html}");
    let (s, html) = post_settings(
        &op,
        &path,
        &[("off_hours", "bot"), ("off_hours_replies", "0s | Ночь")],
    )
    .await;
    assert_eq!(s, 400);
    assert!(html.contains("cannot both"), "{html}");
    let saved = app
        .store()
        .read(move |c| perepiska::store::channels::by_id(c, ch))
        .await
        .unwrap();
    assert!(saved.automation.is_none(), "nothing saved");

    // A valid form: the auto-reply works for the next customer at once.
    let (s, _) = post_settings(
        &op,
        &path,
        &[
            ("auto_replies", "1m | {NAME} скоро ответит"),
            ("closing_on", "on"),
            ("closing_message", &"я".repeat(250)),
            ("rating", "off"),
        ],
    )
    .await;
    assert_eq!(s, 303);
    let (_, html) = op.get("/console/settings").await;
    assert!(html.contains("1m | {NAME} скоро ответит"));
    tg.push(say(CHAT, 1, "Лида", "Добрый день"));
    let token = app.api_token(ADMIN_EMAIL).await;
    conversation_of(&app, &token, "Лида").await;
    clock.advance(chrono::Duration::minutes(1));
    let sent = wait_to_chat(&app, &tg, CHAT, 1).await;
    assert_eq!(sent[0].text, "Наш специалист скоро ответит");

    // The schedule grid: Monday 9-18 only; then Monday 23:00 is off hours.
    let mut grid: Vec<(String, String)> = (9..18)
        .map(|h| (format!("h_0_{h}"), "on".to_string()))
        .collect();
    grid.push(("timezone".into(), "Europe/Moscow".into()));
    grid.push(("holidays".into(), "2027-01-01".into()));
    grid.push((
        "exceptions".into(),
        "2026-12-31 09:00-15:00\n2027-01-02 -".into(),
    ));
    let fields: Vec<(&str, &str)> = grid.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (s, _) = post_settings(&op, "/console/settings/schedule", &fields).await;
    assert_eq!(s, 303);
    let (_, html) = op.get("/console/settings").await;
    assert!(
        html.contains("name=\"h_0_9\" aria-label=\"Пн 9:00\" checked"),
        "ticked hours stay ticked"
    );
    assert!(!html.contains("name=\"h_0_18\" aria-label=\"Пн 18:00\" checked"));
    assert!(html.contains("2026-12-31 09:00-15:00"));
    let (s, html) = post_settings(
        &op,
        "/console/settings/schedule",
        &[("timezone", "Mars/Olympus")],
    )
    .await;
    assert_eq!(s, 400);
    assert!(html.contains("schedule.timezone"), "{html}");
    let (s, html) = post_settings(
        &op,
        "/console/settings/alerts",
        &[("channel", "tg"), ("chat_id", "not a chat")],
    )
    .await;
    assert_eq!(s, 400);
    assert!(html.contains("chat id"), "{html}");

    // Operators cannot open the settings.
    app.add_member(
        "op@example.com",
        "Оператор",
        "password-3333",
        perepiska::domain::Role::Operator,
    )
    .await;
    let plain = app.login("op@example.com", "password-3333").await;
    let (s, _) = plain.get("/console/settings").await;
    assert_eq!(s, 403);
    let (_, inbox) = plain.get("/console").await;
    assert!(!inbox.contains("href=\"/console/settings\""));
    // The "settings" role may.
    app.add_member(
        "set@example.com",
        "Настройщик",
        "password-4444",
        perepiska::domain::Role::Settings,
    )
    .await;
    let settings_role = app.login("set@example.com", "password-4444").await;
    let (s, _) = settings_role.get("/console/settings").await;
    assert_eq!(s, 200);
}

async fn online(app: &TestApp, email: &'static str) -> bool {
    app.store()
        .read(move |c| perepiska::store::users::by_email(c, email))
        .await
        .unwrap()
        .unwrap()
        .online
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_go_online_and_offline_with_their_working_hours() {
    let tg = FakeTelegram::start().await;
    // Monday 08:00 in Moscow.
    let clock = Clock::manual(utc("2026-11-23 05:00:00"));
    let app = app(&tg, &clock, "", SCHEDULE).await;
    let op = app.admin().await;
    let (s, html) = post_settings(
        &op,
        "/console/settings/members/1",
        &[("hours", "mon 09:00-18:00\nfriday 10:00")],
    )
    .await;
    assert_eq!(s, 400);
    assert!(html.contains("line 2"), "{html}");
    let (s, _) = post_settings(
        &op,
        "/console/settings/members/1",
        &[("hours", "mon 09:00-18:00\ntue 09:00-18:00")],
    )
    .await;
    assert_eq!(s, 303);
    let (_, html) = op.get("/console/settings").await;
    assert!(html.contains("mon 09:00-18:00\ntue 09:00-18:00"));
    app.eventually("offline before 9:00", || async {
        !online(&app, ADMIN_EMAIL).await
    })
    .await;
    clock.set(utc("2026-11-23 06:00:00"));
    app.eventually("online at 9:00", || async {
        online(&app, ADMIN_EMAIL).await
    })
    .await;
    // A manual "offline" holds until the next boundary.
    let (status, _) = op
        .post_form("/console/presence", &[("csrf", &op.csrf), ("online", "0")])
        .await;
    assert_eq!(status, 303, "presence changed");
    clock.set(utc("2026-11-23 10:00:00"));
    app.settle().await;
    assert!(
        !online(&app, ADMIN_EMAIL).await,
        "the manual toggle holds within the hours"
    );
    // Tuesday 09:00: a new start puts them online again; 18:00 takes them offline.
    clock.set(utc("2026-11-24 06:00:00"));
    app.eventually("online on Tuesday", || async {
        online(&app, ADMIN_EMAIL).await
    })
    .await;
    clock.set(utc("2026-11-24 15:00:00"));
    app.eventually("offline at 18:00", || async {
        !online(&app, ADMIN_EMAIL).await
    })
    .await;
}

const VISITOR: &str = "0123456789abcdef0123456789abcdef0123456789abcdef";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn widget_greeting_unread_and_unanswered_messages_with_a_contact_request() {
    let clock = Clock::manual(monday_11_moscow());
    let toml = "[[channels]]\nid = \"web\"\nkind = \"widget\"\nname = \"Сайт\"\ngreeting = \"Здравствуйте! Чем помочь?\"\nunread_message = { after = \"60s\", text = \"Все операторы заняты, ответим через пару минут.\" }\nunanswered_message = { after = \"2m\", text = \"Оператор уже читает ваше сообщение.\" }\ncontact_request = { name = \"required\", phone = \"optional\", with = [\"greeting\", \"unread_message\"] }\n";
    let c2 = clock.clone();
    let app = TestApp::spawn_with(move |s| {
        std::fs::write(&s.channels_path, toml).unwrap();
        s.clock = c2;
        s.scheduler_tick = Duration::from_millis(20);
    })
    .await;
    let config: Value = app
        .http
        .get(format!("{}/widget/web/config", app.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(config["greeting"], "Здравствуйте! Чем помочь?");
    assert_eq!(config["greeting_contact_form"]["name"], "required");
    assert_eq!(config["greeting_contact_form"]["email"], "hidden");

    // The contact form checks what the channel asks for; the visitor need not have written.
    let contact = |body: Value| {
        let http = app.http.clone();
        let url = format!("{}/widget/web/contact", app.url);
        async move {
            let r = http.post(url).json(&body).send().await.unwrap();
            let s = r.status().as_u16();
            (s, r.text().await.unwrap())
        }
    };
    let (s, body) = contact(json!({"visitor": VISITOR, "phone": "+7 999 123-45-67"})).await;
    assert_eq!(s, 400);
    assert!(body.contains("name is required"), "{body}");
    let (s, body) = contact(json!({"visitor": VISITOR, "name": "Ника", "phone": "abc"})).await;
    assert_eq!(s, 400, "{body}");
    let (s, _) =
        contact(json!({"visitor": VISITOR, "name": "Ника", "phone": "+7 999 123-45-67"})).await;
    assert_eq!(s, 200);

    assert_eq!(
        app.widget_send(VISITOR, "c1", "Есть доставка в Тверь?")
            .await
            .status(),
        200
    );
    let token = app.api_token(ADMIN_EMAIL).await;
    let (_, list) = app
        .api(&token, Method::GET, "/conversations?channel=web", None)
        .await;
    assert_eq!(list["data"][0]["contact"]["name"], "Ника");
    assert_eq!(list["data"][0]["contact"]["phone"], "+79991234567");
    let id = list["data"][0]["id"].as_i64().unwrap();

    clock.advance(chrono::Duration::seconds(59));
    app.settle().await;
    assert_eq!(app.widget_messages(VISITOR).await.len(), 1);
    clock.advance(chrono::Duration::seconds(1));
    app.eventually("unread message", || async {
        app.widget_messages(VISITOR).await.len() == 2
    })
    .await;
    let m = &app.widget_messages(VISITOR).await[1];
    assert_eq!(m["text"], "Все операторы заняты, ответим через пару минут.");
    assert_eq!(m["contact_form"]["phone"], "optional");

    // An operator opens it: two minutes later, the "read but unanswered" message.
    let op = app.admin().await;
    let (s, _) = op
        .post_form(&format!("/console/c/{id}/read"), &[("csrf", &op.csrf)])
        .await;
    assert!(s < 400, "{s}");
    clock.advance(chrono::Duration::minutes(2));
    app.eventually("unanswered message", || async {
        app.widget_messages(VISITOR).await.len() == 3
    })
    .await;
    let m = &app.widget_messages(VISITOR).await[2];
    assert_eq!(m["text"], "Оператор уже читает ваше сообщение.");
    assert!(m["contact_form"].is_null());
    clock.advance(chrono::Duration::hours(1));
    app.settle().await;
    assert_eq!(app.widget_messages(VISITOR).await.len(), 3, "each once");

    // The settings page shows and edits the widget's messages.
    let (_, html) = op.get("/console/settings").await;
    assert!(html.contains("Здравствуйте! Чем помочь?") && html.contains("name=\"ask_name\""));
    let web = app
        .store()
        .read(|c| perepiska::store::channels::by_key(c, "web"))
        .await
        .unwrap()
        .unwrap()
        .id;
    let path = format!("/console/settings/rules/{web}");
    let (s, html) = post_settings(
        &op,
        &path,
        &[("greeting", "Добрый день!"), ("ask_email", "required")],
    )
    .await;
    assert_eq!(s, 400, "a contact request must say which messages carry it");
    assert!(html.contains("contact_request.with"), "{html}");
    let (s, _) = post_settings(
        &op,
        &path,
        &[
            ("greeting", "Добрый день!"),
            ("ask_email", "required"),
            ("with_greeting", "on"),
        ],
    )
    .await;
    assert_eq!(s, 303);
    let config: Value = app
        .http
        .get(format!("{}/widget/web/config", app.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(config["greeting"], "Добрый день!");
    assert_eq!(config["greeting_contact_form"]["email"], "required");
    assert_eq!(config["greeting_contact_form"]["name"], "hidden");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn off_hours_the_bot_answers_a_chat_channel() {
    let tg = FakeTelegram::start().await;
    // Monday 23:00 in Moscow.
    let clock = Clock::manual(utc("2026-11-23 20:00:00"));
    let app = app(&tg, &clock, "off_hours = \"bot\"\n", SCHEDULE).await;
    tg.push(say(CHAT, 1, "Ночной", "Не могу войти в личный кабинет"));
    let sent = wait_to_chat(&app, &tg, CHAT, 1).await;
    assert_eq!(
        sent[0].text,
        "✔️ Ваша заявка зарегистрирована под номером #1"
    );
    // In working hours the same channel is a plain chat: no bot.
    clock.set(monday_11_moscow() + chrono::Duration::days(1));
    tg.push(say(
        CHAT + 1,
        1,
        "Дневной",
        "Не могу войти в личный кабинет",
    ));
    let token = app.api_token(ADMIN_EMAIL).await;
    conversation_of(&app, &token, "Дневной").await;
    app.settle().await;
    assert!(to_chat(&tg, CHAT + 1).is_empty(), "no bot in working hours");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn widget_visitors_rate_with_a_digit_in_the_chat() {
    let clock = Clock::manual(monday_11_moscow());
    let toml = "[[channels]]\nid = \"web\"\nkind = \"widget\"\nname = \"Сайт\"\nrating = true\n";
    let c2 = clock.clone();
    let app = TestApp::spawn_with(move |s| {
        std::fs::write(&s.channels_path, toml).unwrap();
        s.clock = c2;
        s.scheduler_tick = Duration::from_millis(20);
    })
    .await;
    app.widget_send(VISITOR, "c1", "Спасибо, всё получилось")
        .await;
    let token = app.api_token(ADMIN_EMAIL).await;
    let (_, list) = app
        .api(&token, Method::GET, "/conversations?channel=web", None)
        .await;
    let id = list["data"][0]["id"].as_i64().unwrap();
    app.api_ok(
        &token,
        Method::PATCH,
        &format!("/conversations/{id}"),
        Some(json!({"status": "resolved"})),
    )
    .await;
    app.eventually("rating request in the chat", || async {
        app.widget_messages(VISITOR).await.iter().any(|m| {
            m["text"]
                .as_str()
                .unwrap_or("")
                .contains("Ответьте цифрой от 1 до 5")
        })
    })
    .await;
    app.widget_send(VISITOR, "c2", "4").await;
    app.eventually("rated", || async {
        let (_, c) = app
            .api(&token, Method::GET, &format!("/conversations/{id}"), None)
            .await;
        c["rating"] == 4 && c["status"] == "closed"
    })
    .await;
    app.eventually("thanks", || async {
        app.widget_messages(VISITOR).await.iter().any(|m| {
            m["text"]
                .as_str()
                .unwrap_or("")
                .starts_with("Спасибо за оценку!")
        })
    })
    .await;
    let (_, list) = app
        .api(&token, Method::GET, "/conversations?channel=web", None)
        .await;
    assert_eq!(list["total"], 1, "the digit opened no new conversation");
}
