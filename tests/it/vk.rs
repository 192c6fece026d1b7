//! VK Callback API against a fake VK API on 127.0.0.1 (wiremock speaking VK's JSON).

use std::collections::HashMap;

use reqwest::Method;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{ADMIN_EMAIL, TestApp};

const SECRET: &str = "vk-callback-secret-1";
pub(crate) const GROUP: i64 = 229_000_111;
const CONFIRM: &str = "a1b2c3d4";
const USER: i64 = 51_000_777;

pub(crate) async fn fake_vk() -> MockServer {
    let server = MockServer::start().await;
    let ok = |v: Value| ResponseTemplate::new(200).set_body_json(json!({ "response": v }));
    Mock::given(path("/method/groups.getById"))
        .respond_with(ok(json!({"groups": [{"id": GROUP, "name": "Кофейня «Зерно»", "screen_name": "zerno"}], "profiles": []})))
        .mount(&server)
        .await;
    Mock::given(path("/method/messages.sendMessageEventAnswer"))
        .respond_with(ok(json!(1)))
        .mount(&server)
        .await;
    Mock::given(path("/method/docs.getMessagesUploadServer"))
        .respond_with(ok(
            json!({"upload_url": format!("{}/upload/doc", server.uri())}),
        ))
        .mount(&server)
        .await;
    Mock::given(path("/upload/doc"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"file": "file-token"})))
        .mount(&server)
        .await;
    Mock::given(path("/method/docs.save"))
        .respond_with(ok(
            json!({"type": "doc", "doc": {"id": 55, "owner_id": -GROUP}}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/files/photo.jpg"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(b"\xff\xd8\xffVKPHOTO".to_vec()))
        .mount(&server)
        .await;
    server
}

async fn send_ok(server: &MockServer) {
    Mock::given(path("/method/messages.send"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"response": 777})))
        .mount(server)
        .await;
}

async fn vk_app(server: &MockServer, extra: &str) -> TestApp {
    let toml = format!(
        "[[channels]]\nid = \"vk\"\nkind = \"vk\"\nname = \"ВКонтакте\"\ngroup_id = {GROUP}\naccess_token = \"vk1.a.token\"\nconfirmation = \"{CONFIRM}\"\nsecret = \"{SECRET}\"\napi_base = \"{}\"\n{extra}",
        server.uri()
    );
    TestApp::spawn_with(|s| std::fs::write(&s.channels_path, &toml).unwrap()).await
}

fn event(kind: &str, object: Value) -> Value {
    json!({ "type": kind, "event_id": perepiska::crypto::random_hex(8).unwrap(), "v": "5.199", "group_id": GROUP, "secret": SECRET, "object": object })
}

fn message(cmid: i64, text: &str, attachments: Value) -> Value {
    event(
        "message_new",
        json!({
            "message": { "id": 1000 + cmid, "date": 1_763_700_000, "peer_id": USER, "from_id": USER, "text": text,
                         "conversation_message_id": cmid, "out": 0, "attachments": attachments, "fwd_messages": [] },
            "client_info": { "button_actions": ["text", "callback"], "keyboard": true, "inline_keyboard": true, "lang_id": 0 }
        }),
    )
}

async fn post(app: &TestApp, ev: &Value) -> (u16, String) {
    let r = app
        .http
        .post(format!("{}/webhooks/vk", app.url))
        .json(ev)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The form parameters of every call to a method, in order.
async fn calls(server: &MockServer, method_name: &str) -> Vec<HashMap<String, String>> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == format!("/method/{method_name}"))
        .map(|r| serde_urlencoded::from_bytes(&r.body).unwrap())
        .collect()
}

async fn wait_calls(
    app: &TestApp,
    server: &MockServer,
    method_name: &str,
    n: usize,
) -> Vec<HashMap<String, String>> {
    app.eventually(&format!("{n} {method_name} calls"), || async {
        calls(server, method_name).await.len() >= n
    })
    .await;
    calls(server, method_name).await
}

async fn vk_conversation(app: &TestApp, token: &str) -> i64 {
    let (_, v) = app
        .api(token, Method::GET, "/conversations?channel=vk", None)
        .await;
    v["data"][0]["id"].as_i64().expect("a VK conversation")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confirmation_handshake_and_forged_events() {
    let server = fake_vk().await;
    let app = vk_app(&server, "routing = \"chat\"\n").await;
    let (s, body) = post(
        &app,
        &json!({"type": "confirmation", "group_id": GROUP, "secret": SECRET}),
    )
    .await;
    assert_eq!((s, body.as_str()), (200, CONFIRM));
    let mut forged = message(1, "Привет", json!([]));
    forged["secret"] = json!("guess");
    assert_eq!(post(&app, &forged).await.0, 401);
    let mut other = message(1, "Привет", json!([]));
    other["group_id"] = json!(1);
    assert_eq!(post(&app, &other).await.0, 400);
    let token = app.api_token(ADMIN_EMAIL).await;
    let (_, v) = app.api(&token, Method::GET, "/conversations", None).await;
    assert_eq!(v["total"], 0, "nothing stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_in_once_and_replies_out_with_idempotent_random_id() {
    let server = fake_vk().await;
    // The first send fails with a 5xx, the retry succeeds.
    Mock::given(path("/method/messages.send"))
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    send_ok(&server).await;
    let app = vk_app(&server, "routing = \"chat\"\n").await;
    let (s, body) = post(
        &app,
        &message(
            7,
            "Здравствуйте, у вас есть безглютеновые булочки?",
            json!([]),
        ),
    )
    .await;
    assert_eq!((s, body.as_str()), (200, "ok"));
    // Redelivered with a new event_id: still one message. The community's own reply is ignored.
    post(
        &app,
        &message(
            7,
            "Здравствуйте, у вас есть безглютеновые булочки?",
            json!([]),
        ),
    )
    .await;
    post(&app, &event("message_reply", json!({"id": 9, "peer_id": USER, "from_id": -GROUP, "text": "Ответ сообщества", "conversation_message_id": 8}))).await;
    let token = app.api_token(ADMIN_EMAIL).await;
    let id = vk_conversation(&app, &token).await;
    let texts: Vec<String> = app
        .thread(&token, id)
        .await
        .iter()
        .filter(|m| m["kind"] == "customer")
        .map(|m| m["text"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        texts,
        vec!["Здравствуйте, у вас есть безглютеновые булочки?"]
    );

    app.api_ok(
        &token,
        Method::POST,
        &format!("/conversations/{id}/messages"),
        Some(json!({"text": "Да, по утрам"})),
    )
    .await;
    let sent = wait_calls(&app, &server, "messages.send", 2).await;
    assert_eq!(sent[1]["peer_id"], USER.to_string());
    assert_eq!(sent[1]["message"], "Admin:\nДа, по утрам");
    assert_eq!(sent[1]["access_token"], "vk1.a.token");
    assert_eq!(sent[1]["v"], "5.199");
    assert_eq!(
        sent[0]["random_id"], sent[1]["random_id"],
        "a retry reuses random_id so VK delivers once"
    );
    app.eventually("sent", || async {
        app.thread(&token, id)
            .await
            .iter()
            .any(|m| m["kind"] == "operator" && m["delivery"] == "sent")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photos_and_files_both_ways() {
    let server = fake_vk().await;
    send_ok(&server).await;
    let app = vk_app(&server, "routing = \"chat\"\n").await;
    let photo = json!([{ "type": "photo", "photo": { "id": 456, "owner_id": USER, "sizes": [
        { "type": "s", "url": format!("{}/files/small.jpg", server.uri()), "width": 75, "height": 50 },
        { "type": "x", "url": format!("{}/files/photo.jpg", server.uri()), "width": 604, "height": 403 } ] } },
        { "type": "sticker", "sticker": { "sticker_id": 1 } }]);
    post(&app, &message(1, "Вот чек", photo)).await;
    let token = app.api_token(ADMIN_EMAIL).await;
    let id = vk_conversation(&app, &token).await;
    let thread = app.thread(&token, id).await;
    let m = thread.iter().find(|m| m["kind"] == "customer").unwrap();
    assert_eq!(m["text"], "Вот чек\n[Стикер]");
    assert_eq!(m["attachments"][0]["file_name"], "photo_456.jpg");
    let op = app.admin().await;
    assert_eq!(
        op.send_file(id, "Меню", "Меню.pdf", "application/pdf", b"%PDF menu")
            .await,
        303
    );
    let sent = wait_calls(&app, &server, "messages.send", 1).await;
    assert_eq!(sent[0]["attachment"], format!("doc-{GROUP}_55"));
    assert_eq!(calls(&server, "docs.save").await[0]["title"], "Меню.pdf");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denied_and_permanently_failing_customers_are_not_retried() {
    let server = fake_vk().await;
    Mock::given(path("/method/messages.send"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"error": {"error_code": 901, "error_msg": "Can't send messages for users without permission"}})))
        .mount(&server)
        .await;
    let app = vk_app(&server, "routing = \"chat\"\n").await;
    post(&app, &message(1, "Привет", json!([]))).await;
    let token = app.api_token(ADMIN_EMAIL).await;
    let id = vk_conversation(&app, &token).await;
    app.api_ok(
        &token,
        Method::POST,
        &format!("/conversations/{id}/messages"),
        Some(json!({"text": "Добрый день"})),
    )
    .await;
    app.eventually("failure shown", || async {
        app.thread(&token, id)
            .await
            .iter()
            .any(|m| m["kind"] == "system" && m["text"].as_str().unwrap().contains("VK error 901"))
    })
    .await;
    // Nothing is left to deliver, so nothing can be retried.
    app.outbox_drained().await;
    assert_eq!(
        calls(&server, "messages.send").await.len(),
        1,
        "not retried"
    );
    // message_deny from another customer shows in their conversation.
    let mut hello = message(1, "Вопрос", json!([]));
    hello["object"]["message"]["peer_id"] = json!(USER + 1);
    hello["object"]["message"]["from_id"] = json!(USER + 1);
    post(&app, &hello).await;
    post(&app, &event("message_deny", json!({"user_id": USER + 1}))).await;
    let (_, list) = app
        .api(
            &token,
            Method::GET,
            "/conversations?channel=vk&q=%D0%92%D0%BE%D0%BF%D1%80%D0%BE%D1%81",
            None,
        )
        .await;
    let other = list["data"][0]["id"].as_i64().unwrap();
    assert!(app.thread(&token, other).await.iter().any(|m| {
        m["text"]
            .as_str()
            .unwrap()
            .contains("blocked the bot or unsubscribed")
    }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wall_comments_open_conversations_that_link_to_the_post() {
    let server = fake_vk().await;
    send_ok(&server).await;
    let app = vk_app(&server, "routing = \"chat\"\n").await;
    post(&app, &event("wall_reply_new", json!({"id": 31, "from_id": USER, "post_id": 12, "owner_id": -GROUP, "text": "А доставка есть?"}))).await;
    let token = app.api_token(ADMIN_EMAIL).await;
    let id = vk_conversation(&app, &token).await;
    let m = app
        .thread(&token, id)
        .await
        .into_iter()
        .find(|m| m["kind"] == "customer")
        .unwrap();
    assert_eq!(
        m["text"],
        format!(
            "💬 Комментарий к записи https://vk.com/wall-{GROUP}_12?reply=31\nА доставка есть?"
        )
    );
    // An unknown event type is kept, acknowledged, and stores no message.
    let (s, body) = post(&app, &event("poll_vote_new", json!({"poll_id": 1}))).await;
    assert_eq!((s, body.as_str()), (200, "ok"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_helpdesk_bot_works_with_vk_callback_buttons() {
    let server = fake_vk().await;
    send_ok(&server).await;
    let app = vk_app(&server, "routing = \"helpdesk\"\n").await;
    post(&app, &message(1, "/start", json!([]))).await;
    let sent = wait_calls(&app, &server, "messages.send", 2).await;
    let keyboard: Value = serde_json::from_str(&sent[1]["keyboard"]).unwrap();
    assert_eq!(keyboard["inline"], true);
    assert_eq!(keyboard["buttons"][0][0]["action"]["type"], "callback");
    assert_eq!(
        keyboard["buttons"][0][0]["action"]["label"],
        "➕ Новая заявка"
    );
    let payload = keyboard["buttons"][0][0]["action"]["payload"]
        .as_str()
        .unwrap()
        .to_string();
    let press = event(
        "message_event",
        json!({"user_id": USER, "peer_id": USER, "event_id": "ev-1", "payload": serde_json::from_str::<Value>(&payload).unwrap(), "conversation_message_id": 2}),
    );
    post(&app, &press).await;
    let sent = wait_calls(&app, &server, "messages.send", 3).await;
    assert!(sent[2]["message"].starts_with("Опишите ваш вопрос"));
    let answers = wait_calls(&app, &server, "messages.sendMessageEventAnswer", 1).await;
    assert_eq!(answers[0]["event_id"], "ev-1");
    post(
        &app,
        &message(3, "Хочу заказать торт на субботу", json!([])),
    )
    .await;
    let sent = wait_calls(&app, &server, "messages.send", 5).await;
    assert_eq!(
        sent[3]["message"],
        "✔️ Ваша заявка зарегистрирована под номером #1"
    );
    // Status through the menu's button, then cancel.
    let status = event(
        "message_event",
        json!({"user_id": USER, "peer_id": USER, "event_id": "ev-2", "payload": {"cmd": "status"}}),
    );
    post(&app, &status).await;
    let sent = wait_calls(&app, &server, "messages.send", 6).await;
    assert!(
        sent[5]["message"].contains("#1 Хочу заказать торт на субботу"),
        "{}",
        sent[5]["message"]
    );
    let token = app.api_token(ADMIN_EMAIL).await;
    let id = vk_conversation(&app, &token).await;
    post(&app, &event("message_event", json!({"user_id": USER, "peer_id": USER, "event_id": "ev-3", "payload": {"cmd": format!("x:{id}")}}))).await;
    let sent = wait_calls(&app, &server, "messages.send", 8).await;
    assert_eq!(sent[6]["message"], "🛑 Заявка #1 отменена");
    let (_, c) = app
        .api(&token, Method::GET, &format!("/conversations/{id}"), None)
        .await;
    assert_eq!(c["status"], "cancelled");
}

#[test]
fn check_config_online_names_the_community() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(fake_vk());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("channels.toml"),
        format!("[[channels]]\nid = \"vk\"\nkind = \"vk\"\ngroup_id = {GROUP}\naccess_token = \"t\"\nconfirmation = \"c\"\nsecret = \"s\"\napi_base = \"{}\"\n", server.uri()),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_perepiska"))
        .current_dir(dir.path())
        .args(["check-config", "--online"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("Кофейня «Зерно»"),
        "{text}"
    );
    let e = perepiska::config::parse_channels(
        "[[channels]]\nid = \"vk\"\nkind = \"vk\"\ngroup_id = 1\n",
        |_| None,
    )
    .err()
    .unwrap_or_default();
    assert!(e.contains("access_token"), "{e}");
}

struct VkCustomer<'a> {
    server: &'a MockServer,
}

impl crate::support::journey::Customer for VkCustomer<'_> {
    async fn say(&mut self, app: &TestApp, n: u32, text: &str) {
        let (s, body) = post(app, &message(100 + i64::from(n), text, json!([]))).await;
        assert_eq!((s, body.as_str()), (200, "ok"));
    }

    async fn press(&mut self, app: &TestApp, n: u32, data: &str) {
        let ev = event(
            "message_event",
            json!({"user_id": USER, "peer_id": USER, "event_id": format!("ev-{n}"), "payload": {"cmd": data}}),
        );
        let (s, _) = post(app, &ev).await;
        assert_eq!(s, 200);
    }

    async fn replies(&self) -> Vec<crate::support::journey::Reply> {
        calls(self.server, "messages.send")
            .await
            .into_iter()
            .map(|c| {
                let keyboard: Value = c
                    .get("keyboard")
                    .and_then(|k| serde_json::from_str(k).ok())
                    .unwrap_or(Value::Null);
                let buttons = keyboard["buttons"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .flat_map(|row| row.as_array().cloned().unwrap_or_default())
                    .filter_map(|b| {
                        let payload: Value =
                            serde_json::from_str(b["action"]["payload"].as_str()?).ok()?;
                        Some((
                            b["action"]["label"].as_str()?.to_string(),
                            payload["cmd"].as_str()?.to_string(),
                        ))
                    })
                    .collect();
                crate::support::journey::Reply {
                    text: c.get("message").cloned().unwrap_or_default(),
                    buttons,
                }
            })
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_bot_journey_on_vk() {
    let server = fake_vk().await;
    send_ok(&server).await;
    let app = vk_app(&server, "routing = \"helpdesk\"\n").await;
    crate::support::journey::full_journey(&app, "vk", &mut VkCustomer { server: &server }).await;
    assert!(
        calls(&server, "messages.sendMessageEventAnswer")
            .await
            .len()
            >= 5,
        "every press is answered"
    );
}

async fn vk_app_with(
    server: &MockServer,
    extra: &str,
    tweak: impl FnOnce(&mut perepiska::config::Settings),
) -> TestApp {
    let toml = format!(
        "[[channels]]\nid = \"vk\"\nkind = \"vk\"\nname = \"ВКонтакте\"\ngroup_id = {GROUP}\naccess_token = \"vk1.a.token\"\nconfirmation = \"{CONFIRM}\"\nsecret = \"{SECRET}\"\napi_base = \"{}\"\n{extra}",
        server.uri()
    );
    TestApp::spawn_with(|s| {
        std::fs::write(&s.channels_path, &toml).unwrap();
        tweak(s);
    })
    .await
}

fn photo_at(url: &str) -> Value {
    json!([{ "type": "photo", "photo": { "id": 456, "owner_id": USER, "sizes": [
        { "type": "x", "url": url, "width": 604, "height": 403 } ] } }])
}

async fn file_gets(server: &MockServer, file: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == file)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_urls_pointing_inside_are_never_fetched() {
    let server = fake_vk().await;
    // What a real server is: files only from public addresses.
    let app = vk_app_with(&server, "routing = \"chat\"\n", |s| {
        s.allow_private_targets = false
    })
    .await;
    let port = server.address().port();
    // A literal loopback address, and a name that resolves to one.
    for (n, url) in [
        format!("{}/files/photo.jpg", server.uri()),
        format!("http://localhost:{port}/files/photo.jpg"),
        format!("http://[::ffff:127.0.0.1]:{port}/files/photo.jpg"),
    ]
    .iter()
    .enumerate()
    {
        let (s, _) = post(&app, &message(n as i64 + 1, "Вот", photo_at(url))).await;
        assert_eq!(s, 200, "the message itself is accepted");
    }
    let token = app.api_token(ADMIN_EMAIL).await;
    let id = vk_conversation(&app, &token).await;
    let thread = app.thread_with_files(&token, id).await;
    let files: Vec<&Value> = thread
        .iter()
        .filter(|m| m["kind"] == "customer")
        .map(|m| &m["attachments"][0])
        .collect();
    assert_eq!(files.len(), 3, "{thread:?}");
    for f in files {
        assert_eq!(
            f["state"], "failed",
            "the thread says the file was not fetched: {f}"
        );
        let why = f["error"].as_str().unwrap();
        assert!(why.contains("public address"), "{f}");
    }
    assert_eq!(file_gets(&server, "/files/photo.jpg").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redelivered_files_are_fetched_once_and_big_ones_are_cut_off() {
    let server = fake_vk().await;
    Mock::given(method("GET"))
        .and(path("/files/big.jpg"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![7u8; 3 * 1024 * 1024]))
        .mount(&server)
        .await;
    let app = vk_app_with(&server, "routing = \"chat\"\n", |s| {
        s.max_attachment_bytes = 1024 * 1024
    })
    .await;
    let ev = message(
        1,
        "Чек",
        photo_at(&format!("{}/files/photo.jpg", server.uri())),
    );
    for _ in 0..3 {
        assert_eq!(post(&app, &ev).await.0, 200);
    }
    let token = app.api_token(ADMIN_EMAIL).await;
    let id = vk_conversation(&app, &token).await;
    app.thread_with_files(&token, id).await;
    assert_eq!(file_gets(&server, "/files/photo.jpg").await, 1);
    let stored = std::fs::read_dir(app.settings.data_dir.join("attachments"))
        .unwrap()
        .map(|d| std::fs::read_dir(d.unwrap().path()).unwrap().count())
        .sum::<usize>();
    assert_eq!(stored, 1, "one file on disk for three deliveries");
    post(
        &app,
        &message(
            2,
            "Большой",
            photo_at(&format!("{}/files/big.jpg", server.uri())),
        ),
    )
    .await;
    let thread = app.thread_with_files(&token, id).await;
    let big = thread
        .iter()
        .find(|m| m["text"] == "Большой")
        .map(|m| &m["attachments"][0])
        .unwrap();
    assert_eq!(big["state"], "failed");
    assert!(big["error"].as_str().unwrap().contains("1 MB"), "{big}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_answers_before_a_slow_file_arrives_and_a_flaky_one_is_retried() {
    let server = fake_vk().await;
    Mock::given(method("GET"))
        .and(path("/files/slow.jpg"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_bytes(b"\xff\xd8\xffSLOW".to_vec())
                .set_delay(std::time::Duration::from_secs(3)),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/files/flaky.jpg"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/files/flaky.jpg"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(b"\xff\xd8\xffFLAKY".to_vec()))
        .mount(&server)
        .await;
    let app = vk_app(&server, "routing = \"chat\"\n").await;
    let slow = message(
        1,
        "Медленный",
        photo_at(&format!("{}/files/slow.jpg", server.uri())),
    );
    assert_eq!(post(&app, &slow).await.0, 200);
    // Answered while the platform is still sending the file: it shows as loading.
    let token = app.api_token(ADMIN_EMAIL).await;
    let id = vk_conversation(&app, &token).await;
    let thread = app.thread(&token, id).await;
    let m = thread.iter().find(|m| m["text"] == "Медленный").unwrap();
    assert_eq!(m["attachments"][0]["state"], "pending");
    let op = app.admin().await;
    let (_, html) = op.get(&format!("/console/partials/thread/{id}")).await;
    assert!(html.contains("файл загружается с платформы"), "{html}");
    let flaky = message(
        2,
        "С третьей попытки",
        photo_at(&format!("{}/files/flaky.jpg", server.uri())),
    );
    assert_eq!(post(&app, &flaky).await.0, 200);
    let thread = app.thread_with_files(&token, id).await;
    for (text, bytes) in [
        ("Медленный", &b"\xff\xd8\xffSLOW"[..]),
        ("С третьей попытки", &b"\xff\xd8\xffFLAKY"[..]),
    ] {
        let a = &thread.iter().find(|m| m["text"] == text).unwrap()["attachments"][0];
        assert_eq!(a["state"], "ready", "{a}");
        let got = op
            .http
            .get(format!("{}/console/attachments/{}", app.url, a["id"]))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(got.to_vec(), bytes.to_vec());
    }
    assert_eq!(file_gets(&server, "/files/flaky.jpg").await, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vk_customer_sees_the_community_typing() {
    let server = fake_vk().await;
    Mock::given(path("/method/messages.setActivity"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"response": 1})))
        .mount(&server)
        .await;
    let app = vk_app(&server, "").await;
    let token = app.api_token(ADMIN_EMAIL).await;
    let (status, _) = post(&app, &message(1, "Здравствуйте", json!([]))).await;
    assert_eq!(status, 200);
    let id = vk_conversation(&app, &token).await;
    let op = app.admin().await;
    let (status, _) = op
        .post_form(&format!("/console/c/{id}/typing"), &[("csrf", &op.csrf)])
        .await;
    assert_eq!(status, 204);
    let sent = wait_calls(&app, &server, "messages.setActivity", 1).await;
    assert_eq!(sent[0]["peer_id"], USER.to_string());
    assert_eq!(sent[0]["type"], "typing");
    assert_eq!(sent[0]["group_id"], GROUP.to_string());
}
