//! MAX against a fake Bot API on 127.0.0.1 (support/fake_max.rs), by long polling and by
//! webhook: messages, files both ways, presses, the bot stopped, group chats, the journey.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::fake_max::{BOT_ID, BOT_USERNAME, FakeMax, TOKEN};
use crate::support::{ADMIN_EMAIL, TestApp};

const USER: i64 = 51_000_777;

fn channel_toml(max: &FakeMax, extra: &str) -> String {
    format!(
        "[[channels]]\nid = \"max\"\nkind = \"max\"\nname = \"MAX\"\ntoken = \"{TOKEN}\"\napi_base = \"{}\"\npoll_timeout = 1\n{extra}",
        max.url
    )
}

async fn app_with(max: &FakeMax, extra: &str) -> TestApp {
    let toml = channel_toml(max, extra);
    TestApp::spawn_with(|s| std::fs::write(&s.channels_path, &toml).unwrap()).await
}

/// The newest MAX conversation's id, once there is one.
async fn max_conversation(app: &TestApp, token: &str) -> i64 {
    for _ in 0..250 {
        let (_, v) = app
            .api(token, Method::GET, "/conversations?channel=max", None)
            .await;
        if let Some(id) = v["data"][0]["id"].as_i64() {
            return id;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("no MAX conversation appeared");
}

async fn total(app: &TestApp, token: &str) -> i64 {
    let (_, v) = app
        .api(token, Method::GET, "/conversations?channel=max", None)
        .await;
    v["total"].as_i64().unwrap_or(-1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_removes_a_webhook_then_messages_come_in_and_replies_go_out() {
    let max = FakeMax::start().await;
    // Left by an earlier setup: polling would get nothing while it exists.
    max.add_subscription("https://old.example.com/hook");
    let app = app_with(&max, "routing = \"chat\"\n").await;
    max.push(FakeMax::message(
        USER,
        "mid.1",
        "Здравствуйте, не могу оплатить заказ",
        json!([]),
    ));
    let token = app.api_token(ADMIN_EMAIL).await;
    let id = max_conversation(&app, &token).await;
    assert!(
        max.subscriptions().is_empty(),
        "polling removed the webhook"
    );
    let (_, c) = app
        .api(&token, Method::GET, &format!("/conversations/{id}"), None)
        .await;
    assert_eq!(c["contact"]["name"], "Ирина Ким");
    assert_eq!(c["channel"]["kind"], "max");
    assert_eq!(
        app.customer_texts(&token, id).await,
        vec!["Здравствуйте, не могу оплатить заказ"]
    );

    let op = app.admin().await;
    assert_eq!(op.reply(id, "Проверим платёж и напишем", false).await, 303);
    let sent = max.wait_sent(1).await;
    assert_eq!(sent[0].to, ("user_id".to_string(), USER));
    assert_eq!(sent[0].text, "Admin:\nПроверим платёж и напишем");
    app.eventually("delivery state sent", || async {
        app.thread(&token, id)
            .await
            .iter()
            .any(|m| m["kind"] == "operator" && m["delivery"] == "sent")
    })
    .await;
    // /metrics counts MAX like the other channels.
    app.eventually("the send is counted", || async {
        let m = app.metrics().await;
        m.contains("perepiska_messages_sent_total{channel=\"max\"} 1")
            && m.contains("perepiska_messages_received_total{channel=\"max\"} 1")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_mode_subscribes_checks_the_secret_and_ignores_repeats() {
    let max = FakeMax::start().await;
    let toml = channel_toml(
        &max,
        "mode = \"webhook\"\nsecret = \"hook-secret_42\"\nrouting = \"chat\"\n",
    );
    let app = TestApp::spawn_with(|s| {
        std::fs::write(&s.channels_path, &toml).unwrap();
        s.public_url = Some("https://support.example.com".into());
    })
    .await;
    assert_eq!(
        max.subscriptions(),
        vec![(
            "https://support.example.com/webhooks/max".to_string(),
            "hook-secret_42".to_string()
        )]
    );
    assert_eq!(max.calls("GET /updates"), 0, "no polling in webhook mode");

    let update = FakeMax::message(USER, "mid.hook1", "Через вебхук", json!([]));
    let post = |secret: Option<&str>, body: &Value| {
        let mut r = app
            .http
            .post(format!("{}/webhooks/max", app.url))
            .json(body);
        if let Some(s) = secret {
            r = r.header("X-Max-Bot-Api-Secret", s.to_string());
        }
        r.send()
    };
    assert_eq!(post(None, &update).await.unwrap().status(), 401);
    assert_eq!(
        post(Some("forged-secret"), &update).await.unwrap().status(),
        401
    );
    let token = app.api_token(ADMIN_EMAIL).await;
    assert_eq!(total(&app, &token).await, 0, "forged updates store nothing");
    // MAX redelivers until it gets a 200: the same message twice is stored once.
    assert_eq!(
        post(Some("hook-secret_42"), &update)
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        post(Some("hook-secret_42"), &update)
            .await
            .unwrap()
            .status(),
        200
    );
    let id = max_conversation(&app, &token).await;
    // A kind of update we do not know is acknowledged, so MAX does not retry it for 8 hours.
    let future = json!({"update_type": "message_reaction", "timestamp": 1});
    assert_eq!(
        post(Some("hook-secret_42"), &future)
            .await
            .unwrap()
            .status(),
        200
    );
    let bad = app
        .http
        .post(format!("{}/webhooks/max", app.url))
        .header("X-Max-Bot-Api-Secret", "hook-secret_42")
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert_eq!(app.customer_texts(&token, id).await, vec!["Через вебхук"]);
    assert_eq!(total(&app, &token).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_marker_survives_a_restart_and_nothing_is_read_twice() {
    let max = FakeMax::start().await;
    let mut app = app_with(&max, "routing = \"chat\"\n").await;
    max.push(FakeMax::message(USER, "mid.a", "До перезапуска", json!([])));
    let head = max.head();
    let token = app.api_token(ADMIN_EMAIL).await;
    max_conversation(&app, &token).await;
    app.eventually("marker saved", || async {
        max.markers().contains(&Some(head))
    })
    .await;
    let polls_before = max.markers().len();
    app.restart().await;
    app.eventually("first poll after restart", || async {
        max.markers().len() > polls_before
    })
    .await;
    // The new process starts where the old one stopped: with the saved marker, not without.
    assert_eq!(
        max.markers()[polls_before],
        Some(head),
        "markers polled: {:?}",
        max.markers()
    );
    max.push(FakeMax::message(
        USER,
        "mid.b",
        "После перезапуска",
        json!([]),
    ));
    let head = max.head();
    app.eventually("polled past the new update", || async {
        max.markers().contains(&Some(head))
    })
    .await;
    let id = max_conversation(&app, &token).await;
    assert_eq!(
        app.customer_texts(&token, id).await,
        ["До перезапуска", "После перезапуска"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photos_files_voice_contacts_and_locations_arrive() {
    let max = FakeMax::start().await;
    let app = app_with(&max, "routing = \"chat\"\n").await;
    let photo = max.add_file("photo.jpg", b"\xff\xd8\xffMAXPHOTO");
    let pdf = max.add_file("act.pdf", b"%PDF-1.7 act");
    let voice = max.add_file("voice.ogg", b"OggS voice");
    max.push(FakeMax::message(
        USER,
        "mid.p1",
        "Вот чек",
        json!([{ "type": "image", "payload": { "photo_id": 1, "token": "t", "url": photo } }]),
    ));
    max.push(FakeMax::message(
        USER,
        "mid.p2",
        "",
        json!([{ "type": "file", "payload": { "url": pdf, "token": "t" }, "filename": "Акт сверки.pdf", "size": 12 }]),
    ));
    max.push(FakeMax::message(
        USER,
        "mid.p3",
        "",
        json!([{ "type": "audio", "payload": { "url": voice, "token": "t" }, "transcription": "перезвоните мне" }]),
    ));
    max.push(FakeMax::message(
        USER,
        "mid.p4",
        "",
        json!([{ "type": "sticker", "payload": { "url": "https://i.max.ru/s.webp", "code": "abc" }, "width": 128, "height": 128 }]),
    ));
    max.push(FakeMax::message(
        USER,
        "mid.p5",
        "",
        json!([{ "type": "location", "latitude": 55.751244, "longitude": 37.618423 }]),
    ));
    // The customer's own card, from the "share my contact" button.
    max.push(FakeMax::message(
        USER,
        "mid.p6",
        "",
        json!([{ "type": "contact", "payload": {
            "vcf_info": "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ирина Ким\r\nTEL;TYPE=cell:+7 900 123-45-67\r\nEND:VCARD",
            "max_info": { "user_id": USER, "first_name": "Ирина", "is_bot": false, "last_activity_time": 0 } } }]),
    ));
    // Someone else's card is only data.
    max.push(FakeMax::message(
        USER,
        "mid.p7",
        "",
        json!([{ "type": "contact", "payload": {
            "vcf_info": "BEGIN:VCARD\r\nFN:Курьер\r\nTEL:89005550000\r\nEND:VCARD",
            "max_info": { "user_id": 999, "first_name": "Курьер", "is_bot": false, "last_activity_time": 0 } } }]),
    ));
    let mut edited = FakeMax::message(USER, "mid.p1", "Вот чек за июнь", json!([]));
    edited["update_type"] = json!("message_edited");
    edited["timestamp"] = json!(1_775_053_299_000i64);
    max.push(edited);

    let token = app.api_token(ADMIN_EMAIL).await;
    let id = max_conversation(&app, &token).await;
    app.eventually("all eight messages", || async {
        app.customer_texts(&token, id).await.len() >= 8
    })
    .await;
    let thread = app.thread_with_files(&token, id).await;
    let customer: Vec<&Value> = thread.iter().filter(|m| m["kind"] == "customer").collect();
    assert_eq!(customer[0]["text"], "Вот чек");
    assert_eq!(customer[0]["attachments"][0]["state"], "ready");
    assert_eq!(customer[1]["attachments"][0]["file_name"], "Акт сверки.pdf");
    assert!(
        customer[2]["attachments"][0]["file_name"]
            .as_str()
            .unwrap()
            .starts_with("voice_")
    );
    assert_eq!(customer[2]["text"], "🎤 перезвоните мне");
    assert_eq!(customer[3]["text"], "[Стикер]");
    assert!(
        customer[4]["text"]
            .as_str()
            .unwrap()
            .contains("55.751244, 37.618423")
    );
    assert!(
        customer[5]["text"]
            .as_str()
            .unwrap()
            .contains("+79001234567")
    );
    assert!(
        customer[6]["text"]
            .as_str()
            .unwrap()
            .contains("+79005550000")
    );
    assert_eq!(customer[7]["text"], "✏️ Вот чек за июнь");
    // The photo was fetched byte for byte.
    let op = app.admin().await;
    let file = customer[0]["attachments"][0]["id"].as_i64().unwrap();
    let r = op
        .http
        .get(format!("{}/console/attachments/{file}", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.bytes().await.unwrap().to_vec(),
        b"\xff\xd8\xffMAXPHOTO".to_vec()
    );
    // Only the customer's own card fills the contact's phone.
    let (_, c) = app
        .api(&token, Method::GET, &format!("/conversations/{id}"), None)
        .await;
    assert_eq!(c["contact"]["phone"], "+79001234567");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_replies_are_split_and_files_go_through_the_upload_flow() {
    let max = FakeMax::start().await;
    let app = app_with(&max, "routing = \"chat\"\n").await;
    max.push(FakeMax::message(
        USER,
        "mid.1",
        "Пришлите инструкцию",
        json!([]),
    ));
    let token = app.api_token(ADMIN_EMAIL).await;
    let id = max_conversation(&app, &token).await;
    let long: String = (0..500).map(|i| format!("Шаг {i:04}. ")).collect();
    let op = app.admin().await;
    assert_eq!(op.reply(id, &long, false).await, 303);
    let sent = max.wait_sent(2).await;
    assert_eq!(sent.len(), 2);
    assert!(sent.iter().all(|m| m.text.chars().count() <= 4000));
    assert_eq!(
        format!("{} {}", sent[0].text, sent[1].text),
        format!("Admin:\n{}", long.trim())
    );

    // A file MAX is still processing is sent again a moment later.
    max.files_not_ready(1);
    assert_eq!(
        op.send_file(
            id,
            "",
            "Инструкция.pdf",
            "application/pdf",
            b"%PDF-1.4 guide"
        )
        .await,
        303
    );
    let sent = max.wait_sent(3).await;
    assert_eq!(
        sent[2].files,
        vec![("file".to_string(), "file-token-0".to_string())]
    );
    assert_eq!(max.uploads()[0].name, "Инструкция.pdf");
    assert_eq!(max.uploads()[0].len, 14);
    assert_eq!(max.uploads()[0].kind, "file");
    assert_eq!(
        op.send_file(id, "", "Схема.png", "image/png", b"\x89PNG\r\n\x1a\nschema")
            .await,
        303
    );
    let sent = max.wait_sent(4).await;
    assert_eq!(
        sent[3].files,
        vec![("image".to_string(), "img-token-1".to_string())]
    );
    assert_eq!(max.uploads()[1].kind, "image");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outages_are_retried_but_a_refusal_to_write_is_not() {
    let max = FakeMax::start().await;
    let app = app_with(&max, "routing = \"chat\"\n").await;
    max.push(FakeMax::message(USER, "mid.1", "Алло", json!([])));
    let token = app.api_token(ADMIN_EMAIL).await;
    let id = max_conversation(&app, &token).await;
    max.fail_next_send(429, "too.many.requests", "Too many requests");
    max.fail_next_send(503, "service.unavailable", "Service unavailable");
    app.api_ok(
        &token,
        Method::POST,
        &format!("/conversations/{id}/messages"),
        Some(json!({"text": "Ответ"})),
    )
    .await;
    let sent = max.wait_sent(1).await;
    assert_eq!(sent[0].text, "Admin:\nОтвет");
    assert_eq!(
        max.calls("POST /messages"),
        3,
        "a 429, a 503, then delivered"
    );

    // The customer stopped the bot: MAX refuses, the thread says why, nothing is retried.
    max.fail_next_send(403, "chat.denied", "chat.denied");
    app.api_ok(
        &token,
        Method::POST,
        &format!("/conversations/{id}/messages"),
        Some(json!({"text": "Вы тут?"})),
    )
    .await;
    app.eventually("the refusal is explained", || async {
        app.thread(&token, id).await.iter().any(|m| {
            m["kind"] == "system"
                && m["text"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("write only to people who have written to it")
        })
    })
    .await;
    assert_eq!(max.calls("POST /messages"), 4);
    app.api_ok(
        &token,
        Method::POST,
        &format!("/conversations/{id}/messages"),
        Some(json!({"text": "Ещё раз"})),
    )
    .await;
    app.eventually("the second reply failed too", || async {
        app.thread(&token, id)
            .await
            .iter()
            .filter(|m| m["kind"] == "operator" && m["delivery"] == "failed")
            .count()
            == 2
    })
    .await;
    assert_eq!(
        max.calls("POST /messages"),
        4,
        "later replies are not attempted"
    );

    // bot_stopped tells us before any send fails.
    const OLEG: i64 = USER + 1;
    max.push(FakeMax::message(OLEG, "mid.o1", "Добрый день", json!([])));
    max.push(FakeMax::bot_stopped(OLEG));
    app.eventually("Oleg's conversation says he stopped the bot", || async {
        let (_, v) = app
            .api(&token, Method::GET, "/conversations?channel=max", None)
            .await;
        let Some(oleg) = v["data"]
            .as_array()
            .and_then(|l| l.iter().find(|c| c["id"].as_i64() != Some(id)))
            .and_then(|c| c["id"].as_i64())
        else {
            return false;
        };
        app.thread(&token, oleg).await.iter().any(|m| {
            m["kind"] == "system"
                && m["text"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("blocked the bot")
        })
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_chats_where_the_bot_is_an_admin_take_mentions_and_replies() {
    const CHAT: i64 = -70_801_090_403_050;
    let max = FakeMax::start().await;
    let app = app_with(&max, "routing = \"helpdesk\"\n").await;
    let token = app.api_token(ADMIN_EMAIL).await;
    let group = |mid: &str, from: i64, text: &str, markup: Value, link: Value| {
        json!({
            "update_type": "message_created", "timestamp": 1_775_053_255_737i64,
            "message": {
                "recipient": { "chat_id": CHAT, "chat_type": "chat" },
                "timestamp": 1_775_053_255_737i64,
                "body": { "mid": mid, "seq": 1, "text": text, "markup": markup },
                "sender": { "user_id": from, "first_name": "Ирина", "last_name": "Ким", "is_bot": false,
                            "last_activity_time": 0, "name": "Ирина Ким" },
                "link": link
            }
        })
    };
    // Chatter that does not address the bot is not ours.
    max.push(group(
        "mid.g0",
        USER,
        "Коллеги, кто брал ключ от переговорной?",
        json!([]),
        Value::Null,
    ));
    // Someone who has never written to the bot is sent to a private chat with it.
    let mention = json!([{ "type": "user_mention", "from": 0, "length": 18, "user_link": format!("@{BOT_USERNAME}") }]);
    max.push(group(
        "mid.g1",
        USER,
        &format!("@{BOT_USERNAME} не работает проектор в переговорной"),
        mention.clone(),
        Value::Null,
    ));
    let sent = max.wait_sent(1).await;
    assert_eq!(sent[0].to, ("chat_id".to_string(), CHAT));
    assert!(
        sent[0]
            .text
            .starts_with("Ирина Ким, чтобы оставлять заявки")
            && sent[0].text.ends_with(&format!("@{BOT_USERNAME}")),
        "{}",
        sent[0].text
    );
    // After «Начать» in a private chat, a mention makes a request.
    max.push(FakeMax::bot_started(USER, 1_775_053_300_000, None));
    let sent = max.wait_sent(3).await;
    assert_eq!(sent[1].to, ("user_id".to_string(), USER));
    max.push(group(
        "mid.g2",
        USER,
        &format!("@{BOT_USERNAME} не работает проектор в переговорной"),
        mention,
        Value::Null,
    ));
    app.eventually("the request is registered in the group", || async {
        max.sent()
            .iter()
            .any(|m| m.to.1 == CHAT && m.text == "✔️ Заявка #1 зарегистрирована (Ирина Ким)")
    })
    .await;
    // A reply to the bot's message counts as addressing it; a reply to a colleague's message
    // that mentions the bot makes that message the request.
    let colleague = json!({ "type": "reply", "sender": { "user_id": 31337, "first_name": "Коллега", "is_bot": false, "last_activity_time": 0 },
                             "message": { "mid": "mid.c", "seq": 2, "text": "Кондиционер течёт прямо на стол" } });
    max.push(group(
        "mid.g3",
        USER,
        &format!("@{BOT_USERNAME}"),
        json!([{ "type": "user_mention", "from": 0, "length": 18, "user_id": BOT_ID }]),
        colleague,
    ));
    app.eventually("request #2 from the replied-to message", || async {
        max.sent()
            .iter()
            .any(|m| m.to.1 == CHAT && m.text == "✔️ Заявка #2 зарегистрирована (Ирина Ким)")
    })
    .await;
    let (_, list) = app
        .api(&token, Method::GET, "/conversations?channel=max", None)
        .await;
    let subjects: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["subject"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        subjects,
        [
            "Кондиционер течёт прямо на стол",
            "не работает проектор в переговорной"
        ]
    );
}

struct MaxCustomer<'a> {
    max: &'a FakeMax,
}

impl crate::support::journey::Customer for MaxCustomer<'_> {
    async fn say(&mut self, _app: &TestApp, n: u32, text: &str) {
        // «Начать» is how a MAX customer starts; everything else is a message.
        if text == "/start" {
            self.max.push(FakeMax::bot_started(
                USER,
                1_775_000_000_000 + i64::from(n),
                None,
            ));
        } else {
            self.max.push(FakeMax::message(
                USER,
                &format!("mid.j{n}"),
                text,
                json!([]),
            ));
        }
    }

    async fn press(&mut self, _app: &TestApp, n: u32, data: &str) {
        self.max
            .push(FakeMax::press(USER, &format!("cb-{n}"), data));
    }

    async fn replies(&self) -> Vec<crate::support::journey::Reply> {
        self.max
            .sent()
            .into_iter()
            .map(|m| crate::support::journey::Reply {
                text: m.text,
                buttons: m.buttons,
            })
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_bot_journey_on_max_with_native_buttons() {
    let max = FakeMax::start().await;
    let app = app_with(&max, "routing = \"helpdesk\"\n").await;
    crate::support::journey::full_journey(&app, "max", &mut MaxCustomer { max: &max }).await;
    // Every press was answered, so no button spins in the customer's app.
    let answers = max.answers();
    assert!(answers.len() >= 6, "{answers:?}");
    assert!(answers.iter().all(|a| a.starts_with("cb-")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_config_online_names_the_bot_and_bad_settings_name_the_key() {
    let max = FakeMax::start().await;
    let dir = tempfile::tempdir().unwrap();
    let run = |dir: std::path::PathBuf| {
        std::process::Command::new(env!("CARGO_BIN_EXE_perepiska"))
            .current_dir(&dir)
            .args(["check-config", "--online"])
            .output()
            .unwrap()
    };
    std::fs::write(dir.path().join("channels.toml"), channel_toml(&max, "")).unwrap();
    let d = dir.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || run(d)).await.unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success() && text.contains(&format!("Кофейня Зерно (@{BOT_USERNAME})")),
        "{text}"
    );
    let wrong = channel_toml(&max, "").replace(TOKEN, "wrong-token-1234567890");
    std::fs::write(dir.path().join("channels.toml"), wrong).unwrap();
    let d = dir.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || run(d)).await.unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        !out.status.success() && text.contains("token was refused"),
        "{text}"
    );
    for (extra, needle) in [
        ("mode = \"pigeon\"\n", "mode"),
        ("secret = \"a b\"\n", "secret"),
        ("poll_timeout = 120\n", "poll_timeout"),
    ] {
        let toml = channel_toml(&max, extra).replace("poll_timeout = 1\n", "");
        let e = perepiska::config::parse_channels(&toml, |_| None)
            .err()
            .unwrap_or_default();
        assert!(e.contains("channel \"max\"") && e.contains(needle), "{e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_postgresql_only_one_instance_polls_a_max_bot() {
    // Several instances exist only on PostgreSQL; the SQLite run has nothing to elect.
    if crate::support::several_instances("only one instance polls MAX").is_none() {
        return;
    }
    let max = FakeMax::start().await;
    let app = app_with(&max, "routing = \"chat\"\n").await;
    app.eventually("the first instance polls", || async {
        max.calls("GET /updates") >= 1
    })
    .await;
    let second = perepiska::start(app.settings.clone())
        .await
        .expect("second instance");
    let before = max.calls("GET /updates");
    app.eventually("three more polls", || async {
        max.calls("GET /updates") >= before + 3
    })
    .await;
    assert_eq!(max.polling_clients(), 1, "the second instance stands by");
    max.push(FakeMax::message(USER, "mid.once", "Один раз", json!([])));
    let token = app.api_token(ADMIN_EMAIL).await;
    let id = max_conversation(&app, &token).await;
    assert_eq!(app.customer_texts(&token, id).await, vec!["Один раз"]);
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_down_at_start_keeps_the_server_up_and_the_webhook_is_registered_later() {
    let max = FakeMax::start().await;
    max.subscriptions_down(2);
    let toml = channel_toml(&max, "mode = \"webhook\"\nrouting = \"chat\"\n");
    let app = TestApp::spawn_with(|s| {
        std::fs::write(&s.channels_path, &toml).unwrap();
        s.public_url = Some("https://support.example.com".into());
    })
    .await;
    // The server answers while MAX is down, and the channel's page says why it waits.
    let token = app.api_token(ADMIN_EMAIL).await;
    let item = app.api_ok(&token, Method::GET, "/channels/max", None).await;
    assert_eq!(item["receiving"]["mode"], "webhook");
    app.eventually("registered once MAX is back", || async {
        let subs = max.subscriptions();
        subs.len() == 1
            && subs[0].0 == "https://support.example.com/webhooks/max"
            && subs[0].1.len() >= 32
    })
    .await;
    assert_eq!(
        max.calls("POST /subscriptions"),
        3,
        "two refusals, then set"
    );
    let item = app.api_ok(&token, Method::GET, "/channels/max", None).await;
    assert_eq!(item["receiving"]["registered"], true, "{item}");
}
