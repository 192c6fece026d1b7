//! What each member is told under the bell is their choice (the profile), and an @mention in
//! a note reaches the one named.

use perepiska::domain::Role;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{ADMIN_EMAIL, Operator, TestApp};

const PASSWORD: &str = "password-7777";

async fn member(app: &TestApp, email: &str, name: &str) -> (i64, Operator) {
    app.add_member(email, name, PASSWORD, Role::Operator).await;
    (app.user_id(email).await, app.login(email, PASSWORD).await)
}

async fn bell(op: &Operator) -> String {
    op.get("/console/partials/bell").await.1
}

async fn new_conversation(app: &TestApp, visitor: &str) -> i64 {
    let v: Value = app
        .widget_send(visitor, "n1", "Нужна помощь с заказом")
        .await
        .json()
        .await
        .unwrap();
    v["conversation_id"].as_i64().unwrap()
}

#[tokio::test]
async fn each_member_chooses_what_the_bell_tells_them() {
    let app = TestApp::spawn().await;
    let token = app.api_token(ADMIN_EMAIL).await;
    let (anna, anna_op) = member(&app, "anna@example.com", "Анна Крылова").await;
    let (boris, boris_op) = member(&app, "boris@example.com", "Борис Петров").await;
    // Anna does not want to hear of conversations given to her.
    let (status, _) = anna_op
        .post_form(
            "/console/profile/preferences",
            &[
                ("csrf", &anna_op.csrf),
                ("notify_team", "1"),
                ("notify_comment", "1"),
                ("notify_mention", "1"),
                ("notify_unanswered", "1"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    let (_, page) = anna_op.get("/console/profile").await;
    assert!(
        page.contains("name=\"notify_assigned\" value=\"1\">"),
        "unticked"
    );
    assert!(page.contains("name=\"notify_mention\" value=\"1\" checked>"));

    for (who, visitor) in [
        (anna, "visitor-notify-00000001"),
        (boris, "visitor-notify-00000002"),
    ] {
        let id = new_conversation(&app, visitor).await;
        app.api_ok(
            &token,
            Method::PATCH,
            &format!("/conversations/{id}"),
            Some(json!({"assignee_id": who})),
        )
        .await;
    }
    assert_eq!(bell(&boris_op).await, "1", "Boris keeps the default");
    assert_eq!(bell(&anna_op).await, "0", "Anna chose not to be told");

    // Notes: "@Анна" (the only Анна) and "@Борис Петров" reach them; the author hears
    // nothing of their own note, "@Аннабель" is nobody.
    let id = new_conversation(&app, "visitor-notify-00000003").await;
    let admin = app.admin().await;
    assert_eq!(
        admin
            .reply(
                id,
                "@Анна, посмотри, пожалуйста. @Аннабель не в курсе",
                true
            )
            .await,
        303
    );
    assert_eq!(bell(&anna_op).await, "1");
    let (_, page) = anna_op.get("/console/notifications").await;
    assert!(page.contains("упомянул(а) вас в заметке"), "{page}");
    assert_eq!(bell(&boris_op).await, "1", "not named");
    assert_eq!(admin.reply(id, "Передаю @Борис Петров", true).await, 303);
    assert_eq!(bell(&boris_op).await, "2");
    assert_eq!(bell(&admin).await, "0");
}

#[tokio::test]
async fn the_assignee_hears_once_when_the_customer_answers_after_them() {
    let app = TestApp::spawn().await;
    let token = app.api_token(ADMIN_EMAIL).await;
    let (boris, boris_op) = member(&app, "boris@example.com", "Борис Петров").await;
    let visitor = "visitor-replied-0000001";
    let id = new_conversation(&app, visitor).await;
    // Waiting for the team's first answer: a new line is no "reply" yet.
    app.api_ok(
        &token,
        Method::PATCH,
        &format!("/conversations/{id}"),
        Some(json!({"assignee_id": boris})),
    )
    .await;
    assert_eq!(bell(&boris_op).await, "1", "assigned");
    app.widget_send(visitor, "r0", "Алло?").await;
    assert_eq!(bell(&boris_op).await, "1", "nobody had answered yet");

    assert_eq!(
        boris_op
            .reply(id, "Здравствуйте! Какой номер заказа?", false)
            .await,
        303
    );
    // Three lines in a row after the answer: told once, with the first line.
    for (n, text) in ["Заказ 4471", "он пришёл без крышки", "что делать?"]
        .iter()
        .enumerate()
    {
        let r = app.widget_send(visitor, &format!("r{}", n + 1), text).await;
        assert_eq!(r.status(), 200);
    }
    assert_eq!(bell(&boris_op).await, "2");
    let (_, page) = boris_op.get("/console/notifications").await;
    assert!(page.contains("ответил(а) в #"), "{page}");
    assert!(page.contains("Заказ 4471"), "{page}");

    // An unassigned conversation tells nobody, and Boris may turn the topic off.
    let (status, _) = boris_op
        .post_form(
            "/console/profile/preferences",
            &[("csrf", &boris_op.csrf), ("notify_assigned", "1")],
        )
        .await;
    assert_eq!(status, 303);
    let (_, profile) = boris_op.get("/console/profile").await;
    assert!(profile.contains("name=\"notify_replied\" value=\"1\">"));
    let before = bell(&boris_op).await;
    assert_eq!(
        boris_op.reply(id, "Пришлите фото, пожалуйста", false).await,
        303
    );
    app.widget_send(visitor, "r9", "Отправил").await;
    assert_eq!(bell(&boris_op).await, before, "turned off");
}

/// A letter's text: quoted-printable undone.
fn plain(letter: &crate::support::fake_smtp::Letter) -> String {
    let raw = letter.data.replace("=\n", "");
    let mut bytes = Vec::new();
    let b = raw.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'='
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&raw[i + 1..i + 3], 16)
        {
            bytes.push(v);
            i += 3;
            continue;
        }
        bytes.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

async fn wait_letters(smtp: &crate::support::fake_smtp::FakeSmtp, n: usize) -> Vec<String> {
    for _ in 0..500 {
        let letters = smtp.letters();
        if letters.len() >= n {
            return letters.iter().map(plain).collect();
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("expected {n} letters, got {:?}", smtp.letters());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_is_told_by_email_and_in_the_telegram_chat_they_linked() {
    use crate::support::fake_telegram::{FakeTelegram, TOKEN};
    let smtp = crate::support::fake_smtp::FakeSmtp::start().await;
    let tg = FakeTelegram::start().await;
    let toml = format!(
        "[[channels]]\nid = \"tg\"\nkind = \"telegram\"\nname = \"Поддержка\"\ntoken = \"{TOKEN}\"\napi_base = \"{}\"\npoll_timeout = 1\n",
        tg.url
    );
    let url = smtp.url.clone();
    let app = TestApp::spawn_with(move |s| {
        std::fs::write(&s.channels_path, &toml).unwrap();
        s.smtp_url = Some(url);
        s.smtp_from = Some("help@example.com".into());
        s.public_url = Some("https://help.example.com".into());
    })
    .await;
    let admin_token = app.api_token(ADMIN_EMAIL).await;
    let (anna, anna_op) = member(&app, "anna@example.com", "Анна Крылова").await;
    let anna_token = app.api_token("anna@example.com").await;

    // The API face: what she is told and where; a wrong topic changes nothing.
    let v = app
        .api_ok(&anna_token, Method::GET, "/me/notifications", None)
        .await;
    assert_eq!(v["email"], json!([]));
    assert_eq!(v["email_available"], true);
    assert!(v["messenger_channel"].is_null());
    assert!(v["bell"].as_array().unwrap().contains(&json!("replied")));
    let (s, e) = app
        .api(
            &anna_token,
            Method::PUT,
            "/me/notifications",
            Some(json!({"email": ["assigned", "weather"]})),
        )
        .await;
    assert_eq!(s, 400);
    assert!(e["error"]["message"].as_str().unwrap().contains("weather"));
    let v = app
        .api_ok(
            &anna_token,
            Method::PUT,
            "/me/notifications",
            Some(json!({"email": ["assigned"], "messenger": ["replied", "assigned"]})),
        )
        .await;
    assert_eq!(v["email"], json!(["assigned"]));
    assert_eq!(v["messenger"], json!(["assigned", "replied"]));

    // The profile gives a one-time code; the bot links the chat that sends it, once.
    let (s, page) = anna_op
        .post_form(
            "/console/profile/messenger/code",
            &[("csrf", &anna_op.csrf)],
        )
        .await;
    assert_eq!(s, 200);
    let at = page.find("/start staff_").expect("the command on the page");
    let command = page[at..at + "/start staff_".len() + 10].to_string();
    assert!(page.contains("Поддержка"), "the bot is named");
    tg.push(FakeTelegram::text_update(555_000_111, 1, &command));
    let sent = tg.wait_sent(1).await;
    assert_eq!(sent[0].chat_id, 555_000_111);
    assert!(sent[0].text.contains("Готово, Анна Крылова"), "{sent:?}");
    tg.push(FakeTelegram::text_update(555_000_222, 2, &command));
    let sent = tg.wait_sent(2).await;
    assert_eq!(sent[1].chat_id, 555_000_222);
    assert!(sent[1].text.contains("Код не подходит"), "spent: {sent:?}");
    let (_, list) = app
        .api(&admin_token, Method::GET, "/conversations?channel=tg", None)
        .await;
    assert_eq!(list["data"], json!([]), "a staff link is no customer");
    let v = app
        .api_ok(&anna_token, Method::GET, "/me/notifications", None)
        .await;
    assert_eq!(v["messenger_channel"], "Поддержка");
    let (_, profile) = anna_op.get("/console/profile").await;
    assert!(
        profile.contains("через бота канала «Поддержка»"),
        "{profile}"
    );

    // A conversation given to her: under the bell, by letter with its address, in Telegram.
    // The mail server is busy at first: the letter waits and goes on the next try.
    smtp.refuse_next(1);
    let id = new_conversation(&app, "visitor-ways-0000001").await;
    app.api_ok(
        &admin_token,
        Method::PATCH,
        &format!("/conversations/{id}"),
        Some(json!({"assignee_id": anna})),
    )
    .await;
    assert_eq!(bell(&anna_op).await, "1");
    let letters = wait_letters(&smtp, 1).await;
    assert_eq!(smtp.letters()[0].to, ["anna@example.com"]);
    assert!(letters[0].contains("передал(а) вам #"), "{}", letters[0]);
    assert!(
        letters[0].contains(&format!("https://help.example.com/console?c={id}")),
        "{}",
        letters[0]
    );
    let sent = tg.wait_sent(3).await;
    assert_eq!(sent[2].chat_id, 555_000_111);
    assert!(sent[2].text.contains("передал(а) вам #"), "{sent:?}");

    // The customer answers after her reply: Telegram only (no letter chosen for it).
    assert_eq!(
        anna_op.reply(id, "Добрый день! Смотрю заказ", false).await,
        303
    );
    app.widget_send("visitor-ways-0000001", "w2", "Спасибо, жду")
        .await;
    let sent = tg.wait_sent(4).await;
    assert!(sent[3].text.contains("ответил(а) в #"), "{sent:?}");
    assert!(sent[3].text.contains("Спасибо, жду"));
    assert_eq!(smtp.letters().len(), 1);

    // Unlinked: the API says so, and the profile offers a new code.
    let (s, _) = anna_op
        .post_form(
            "/console/profile/messenger/unlink",
            &[("csrf", &anna_op.csrf)],
        )
        .await;
    assert_eq!(s, 303);
    let v = app
        .api_ok(&anna_token, Method::GET, "/me/notifications", None)
        .await;
    assert!(v["messenger_channel"].is_null());
    let (_, profile) = anna_op.get("/console/profile").await;
    assert!(profile.contains("/console/profile/messenger/code"));
}

#[tokio::test]
async fn what_notices_read_uses_indexes() {
    let app = TestApp::spawn().await;
    let plans = app
        .store()
        .read(perepiska::store::explain::notices)
        .await
        .expect("plans");
    for (name, want) in [
        ("letters due", "letters_due"),
        ("letters next", "letters_due"),
        ("link code", "memberships_link_code"),
    ] {
        let plan = plans
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, l)| l.join("\n"))
            .unwrap_or_else(|| panic!("no plan for {name}"));
        assert!(plan.contains(want), "{name}: {plan}");
    }
    for (name, lines) in &plans {
        let plan = lines.join("\n");
        let scans = plan
            .lines()
            .any(|l| l.trim_start().starts_with("SCAN ") && !l.contains("USING"));
        assert!(!scans && !plan.contains("Seq Scan"), "{name}: {plan}");
    }
}
