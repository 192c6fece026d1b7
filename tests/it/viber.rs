//! Viber against a fake Viber REST API on 127.0.0.1 (wiremock speaking Viber's JSON).

use reqwest::Method;
use serde_json::{Value, json};
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{ADMIN_EMAIL, TestApp};

pub(crate) const TOKEN: &str = "4453b6ac12345678-e02c5f12174805f9-daec9cbb5448c51f";
const USER: &str = "01234567890A=";

pub(crate) async fn fake_viber() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(path("/pa/get_account_info"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"status": 0, "id": "pa:75346594275468546724", "name": "Пекарня"}),
        ))
        .mount(&server)
        .await;
    Mock::given(path("/pa/set_webhook"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"status": 0, "status_message": "ok"})),
        )
        .mount(&server)
        .await;
    Mock::given(path("/media/pic.jpg"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(b"\xff\xd8VIBER".to_vec()))
        .mount(&server)
        .await;
    server
}

async fn sends_ok(server: &MockServer) {
    Mock::given(path("/pa/send_message"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"status": 0, "status_message": "ok", "message_token": 5098034272017990123u64}),
        ))
        .mount(server)
        .await;
}

async fn viber_app(server: &MockServer, extra: &str) -> TestApp {
    let toml = format!(
        "[[channels]]\nid = \"viber\"\nkind = \"viber\"\nname = \"Пекарня\"\ntoken = \"{TOKEN}\"\napi_base = \"{}\"\n{extra}",
        server.uri()
    );
    TestApp::spawn_with(|s| {
        std::fs::write(&s.channels_path, &toml).unwrap();
        s.public_url = Some("https://support.example.com".into());
    })
    .await
}

/// Viber stamps every callback with the time it sends it.
fn stamped(body: &Value) -> Value {
    let mut b = body.clone();
    b["timestamp"] = json!(chrono::Utc::now().timestamp_millis());
    b
}

async fn post(app: &TestApp, body: &Value, forge: bool) -> u16 {
    let bytes = serde_json::to_vec(&stamped(body)).unwrap();
    let key = if forge { "not-the-token" } else { TOKEN };
    let sig = perepiska::crypto::hmac_sha256_hex(key.as_bytes(), &bytes);
    app.http
        .post(format!("{}/webhooks/viber", app.url))
        .header("X-Viber-Content-Signature", sig)
        .body(bytes)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn message(token: u64, message: Value) -> Value {
    json!({ "event": "message", "timestamp": 1_763_700_000_000u64, "chat_hostname": "SN-CHAT-05_", "message_token": token,
            "sender": { "id": USER, "name": "Анна", "language": "ru", "api_version": 10 }, "message": message, "silent": false })
}

async fn sends(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == "/pa/send_message")
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

async fn viber_conversation(app: &TestApp, token: &str) -> i64 {
    let (_, v) = app
        .api(token, Method::GET, "/conversations?channel=viber", None)
        .await;
    v["data"][0]["id"].as_i64().expect("a Viber conversation")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_registration_signature_and_messages_once() {
    let server = fake_viber().await;
    sends_ok(&server).await;
    let app = viber_app(&server, "routing = \"chat\"\n").await;
    // The webhook is registered in the background once the server is up.
    app.eventually("set_webhook", || async {
        server
            .received_requests()
            .await
            .unwrap()
            .iter()
            .any(|r| r.url.path() == "/pa/set_webhook")
    })
    .await;
    let reg = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.url.path() == "/pa/set_webhook")
        .unwrap();
    assert_eq!(reg.headers.get("x-viber-auth-token").unwrap(), TOKEN);
    let body: Value = serde_json::from_slice(&reg.body).unwrap();
    assert_eq!(body["url"], "https://support.example.com/webhooks/viber");
    // Viber's check during set_webhook is answered 200.
    assert_eq!(
        post(
            &app,
            &json!({"event": "webhook", "timestamp": 1, "message_token": 1}),
            false
        )
        .await,
        200
    );

    let hi = message(
        4912661846655238145,
        json!({"type": "text", "text": "Есть ли сегодня круассаны?"}),
    );
    assert_eq!(post(&app, &hi, true).await, 401, "forged signature");
    let token = app.api_token(ADMIN_EMAIL).await;
    let (_, v) = app.api(&token, Method::GET, "/conversations", None).await;
    assert_eq!(v["total"], 0);
    assert_eq!(post(&app, &hi, false).await, 200);
    assert_eq!(post(&app, &hi, false).await, 200);
    let id = viber_conversation(&app, &token).await;
    let customer: Vec<Value> = app
        .thread(&token, id)
        .await
        .into_iter()
        .filter(|m| m["kind"] == "customer")
        .collect();
    assert_eq!(customer.len(), 1, "the same message_token is stored once");

    // A picture is fetched from its URL.
    post(&app, &message(4912661846655238146, json!({"type": "picture", "media": format!("{}/media/pic.jpg", server.uri()), "text": ""})), false).await;
    app.eventually("picture", || async {
        app.thread(&token, id)
            .await
            .iter()
            .any(|m| m["attachments"][0]["file_name"] == "photo_4912661846655238146.jpg")
    })
    .await;

    // The operator's reply, then Viber's delivery reports move its state forward.
    app.api_ok(
        &token,
        Method::POST,
        &format!("/conversations/{id}/messages"),
        Some(json!({"text": "Да, с 8 утра"})),
    )
    .await;
    app.eventually("sent", || async { !sends(&server).await.is_empty() })
        .await;
    let sent = sends(&server).await;
    assert_eq!(sent[0]["receiver"], USER);
    assert_eq!(sent[0]["text"], "Admin:\nДа, с 8 утра");
    assert_eq!(sent[0]["sender"]["name"], "Пекарня");
    app.eventually("state sent", || async {
        app.thread(&token, id)
            .await
            .iter()
            .any(|m| m["kind"] == "operator" && m["delivery"] == "sent")
    })
    .await;
    post(&app, &json!({"event": "seen", "timestamp": 2, "message_token": 5098034272017990123u64, "user_id": USER}), false).await;
    // A late "delivered" never undoes "seen".
    post(&app, &json!({"event": "delivered", "timestamp": 3, "message_token": 5098034272017990123u64, "user_id": USER}), false).await;
    let reply = app
        .thread(&token, id)
        .await
        .into_iter()
        .find(|m| m["kind"] == "operator")
        .unwrap();
    assert_eq!(reply["delivery"], "read");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsubscribed_customers_and_errors() {
    let server = fake_viber().await;
    // A transient 5xx, then "receiver not subscribed".
    Mock::given(path("/pa/send_message"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/pa/send_message"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"status": 6, "status_message": "receiverNotSubscribed"})),
        )
        .mount(&server)
        .await;
    let app = viber_app(&server, "routing = \"chat\"\n").await;
    post(
        &app,
        &message(1, json!({"type": "text", "text": "Здравствуйте"})),
        false,
    )
    .await;
    let token = app.api_token(ADMIN_EMAIL).await;
    let id = viber_conversation(&app, &token).await;
    app.api_ok(
        &token,
        Method::POST,
        &format!("/conversations/{id}/messages"),
        Some(json!({"text": "Добрый день"})),
    )
    .await;
    app.eventually("failure shown", || async {
        app.thread(&token, id).await.iter().any(|m| {
            m["kind"] == "system"
                && m["text"]
                    .as_str()
                    .unwrap()
                    .contains("receiverNotSubscribed")
        })
    })
    .await;
    assert_eq!(
        sends(&server).await.len(),
        2,
        "retried after 503, not after status 6"
    );
    // An unsubscribed event is shown in the thread.
    post(
        &app,
        &json!({"event": "unsubscribed", "timestamp": 5, "user_id": USER, "message_token": 9}),
        false,
    )
    .await;
    app.eventually("blocked shown", || async {
        app.thread(&token, id).await.iter().any(|m| {
            m["text"]
                .as_str()
                .unwrap()
                .contains("blocked the bot or unsubscribed")
        })
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_helpdesk_bot_on_viber_keyboards() {
    let server = fake_viber().await;
    sends_ok(&server).await;
    let app = viber_app(&server, "routing = \"helpdesk\"\n").await;
    post(
        &app,
        &message(1, json!({"type": "text", "text": "/start"})),
        false,
    )
    .await;
    app.eventually("menu", || async { sends(&server).await.len() >= 2 })
        .await;
    let menu = &sends(&server).await[1];
    let first = &menu["keyboard"]["Buttons"][0];
    assert_eq!(first["ActionType"], "reply");
    assert_eq!(first["Columns"], 6);
    assert_eq!(first["Text"], "➕ Новая заявка");
    // A button press comes back as a message whose text is the ActionBody.
    let body = first["ActionBody"].as_str().unwrap().to_string();
    post(
        &app,
        &message(2, json!({"type": "text", "text": body})),
        false,
    )
    .await;
    app.eventually("prompt", || async { sends(&server).await.len() >= 3 })
        .await;
    assert!(
        sends(&server).await[2]["text"]
            .as_str()
            .unwrap()
            .starts_with("Опишите ваш вопрос")
    );
    post(
        &app,
        &message(
            3,
            json!({"type": "text", "text": "Нужен торт на 20 человек"}),
        ),
        false,
    )
    .await;
    app.eventually("registered", || async { sends(&server).await.len() >= 4 })
        .await;
    assert_eq!(
        sends(&server).await[3]["text"],
        "✔️ Ваша заявка зарегистрирована под номером #1"
    );
    let token = app.api_token(ADMIN_EMAIL).await;
    let id = viber_conversation(&app, &token).await;
    let texts: Vec<String> = app
        .thread(&token, id)
        .await
        .iter()
        .filter(|m| m["kind"] == "customer")
        .map(|m| m["text"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        texts,
        vec!["Нужен торт на 20 человек"],
        "button presses are not stored as messages"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_go_out_by_public_url_and_opening_the_chat_gets_a_welcome() {
    let server = fake_viber().await;
    sends_ok(&server).await;
    let app = viber_app(
        &server,
        "routing = \"chat\"\nwelcome_message = \"Здравствуйте! Напишите, чем помочь.\"\n",
    )
    .await;
    // Opening the chat: Viber shows what the webhook answers.
    let started = json!({"event": "conversation_started", "timestamp": 1, "message_token": 7, "type": "open",
        "user": {"id": USER, "name": "Анна", "language": "ru", "api_version": 10}, "subscribed": false});
    let bytes = serde_json::to_vec(&stamped(&started)).unwrap();
    let resp = app
        .http
        .post(format!("{}/webhooks/viber", app.url))
        .header(
            "X-Viber-Content-Signature",
            perepiska::crypto::hmac_sha256_hex(TOKEN.as_bytes(), &bytes),
        )
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let welcome: Value = resp.json().await.unwrap();
    assert_eq!(welcome["type"], "text");
    assert_eq!(welcome["text"], "Здравствуйте! Напишите, чем помочь.");
    assert_eq!(welcome["sender"]["name"], "Пекарня");

    post(
        &app,
        &message(10, json!({"type": "text", "text": "Пришлите меню"})),
        false,
    )
    .await;
    let token = app.api_token(ADMIN_EMAIL).await;
    let id = viber_conversation(&app, &token).await;
    let op = app.admin().await;
    let jpeg = b"\xff\xd8\xff\xe0menu-photo".to_vec();
    assert_eq!(
        op.send_file(id, "Вот меню", "menu.jpg", "image/jpeg", &jpeg)
            .await,
        303
    );
    assert_eq!(
        op.send_file(id, "", "Прайс.pdf", "application/pdf", b"%PDF price")
            .await,
        303
    );
    app.eventually("three sends", || async { sends(&server).await.len() >= 3 })
        .await;
    let sent = sends(&server).await;
    assert_eq!(sent[0]["type"], "picture");
    assert_eq!(sent[1]["type"], "text", "the caption follows the picture");
    assert_eq!(sent[1]["text"], "Admin:\nВот меню");
    assert_eq!(sent[2]["type"], "file");
    assert_eq!(sent[2]["file_name"], "Прайс.pdf");
    assert_eq!(sent[2]["size"], 10);
    // Viber fetches the media from our public URL, which serves the operator's file.
    for (i, expected) in [(0, &jpeg[..]), (2, &b"%PDF price"[..])] {
        let url = sent[i]["media"].as_str().unwrap();
        let local = url.replace("https://support.example.com", &app.url);
        assert!(
            url.starts_with("https://support.example.com/media/"),
            "{url}"
        );
        let got = app.http.get(&local).send().await.unwrap();
        assert_eq!(got.status(), 200);
        assert_eq!(&got.bytes().await.unwrap()[..], expected);
    }
    // Customers' files and made-up ids are not served.
    for path in [
        "/media/0123456789abcdef0123456789abcdef/x.jpg",
        "/media/..%2F..%2Fetc/passwd",
    ] {
        let s = app
            .http
            .get(format!("{}{path}", app.url))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(s, 404, "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_public_url_a_file_fails_with_the_reason() {
    let server = fake_viber().await;
    sends_ok(&server).await;
    let toml = format!(
        "[[channels]]\nid = \"viber\"\nkind = \"viber\"\nname = \"Пекарня\"\ntoken = \"{TOKEN}\"\napi_base = \"{}\"\n",
        server.uri()
    );
    let app = TestApp::spawn_with(|s| std::fs::write(&s.channels_path, &toml).unwrap()).await;
    post(
        &app,
        &message(10, json!({"type": "text", "text": "Пришлите меню"})),
        false,
    )
    .await;
    let token = app.api_token(ADMIN_EMAIL).await;
    let id = viber_conversation(&app, &token).await;
    let op = app.admin().await;
    assert_eq!(
        op.send_file(id, "Вот меню", "menu.jpg", "image/jpeg", b"\xff\xd8jpg")
            .await,
        303
    );
    app.eventually("failed", || async {
        app.thread(&token, id).await.iter().any(|m| {
            m["kind"] == "operator"
                && m["delivery"] == "failed"
                && m["error"]
                    .as_str()
                    .is_some_and(|e| e.contains("public URL"))
        })
    })
    .await;
    assert!(sends(&server).await.is_empty(), "nothing half-sent");
}

struct ViberCustomer<'a> {
    server: &'a MockServer,
}

impl crate::support::journey::Customer for ViberCustomer<'_> {
    async fn say(&mut self, app: &TestApp, n: u32, text: &str) {
        let body = message(1000 + u64::from(n), json!({"type": "text", "text": text}));
        assert_eq!(post(app, &body, false).await, 200);
    }

    async fn press(&mut self, app: &TestApp, n: u32, data: &str) {
        // A reply button comes back as a message carrying its ActionBody.
        self.say(app, n, &format!("#cmd:{data}")).await;
    }

    async fn replies(&self) -> Vec<crate::support::journey::Reply> {
        sends(self.server)
            .await
            .into_iter()
            .filter(|b| b["type"] == "text")
            .map(|b| crate::support::journey::Reply {
                text: b["text"].as_str().unwrap_or_default().to_string(),
                buttons: b["keyboard"]["Buttons"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|k| {
                        Some((
                            k["Text"].as_str()?.to_string(),
                            k["ActionBody"].as_str()?.strip_prefix("#cmd:")?.to_string(),
                        ))
                    })
                    .collect(),
            })
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_bot_journey_on_viber() {
    let server = fake_viber().await;
    sends_ok(&server).await;
    let app = viber_app(&server, "routing = \"helpdesk\"\n").await;
    crate::support::journey::full_journey(&app, "viber", &mut ViberCustomer { server: &server })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_old_callback_is_refused_even_with_its_signature() {
    let server = fake_viber().await;
    sends_ok(&server).await;
    let app = viber_app(&server, "").await;
    // Captured yesterday, signed with the real token, sent again today.
    let mut old = message(77, json!({"type": "text", "text": "Отмените заказ"}));
    old["timestamp"] = json!(chrono::Utc::now().timestamp_millis() - 24 * 3600 * 1000);
    let bytes = serde_json::to_vec(&old).unwrap();
    let sig = perepiska::crypto::hmac_sha256_hex(TOKEN.as_bytes(), &bytes);
    let r = app
        .http
        .post(format!("{}/webhooks/viber", app.url))
        .header("X-Viber-Content-Signature", sig)
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.text().await.unwrap().contains("replayed"));
    let token = app.api_token(ADMIN_EMAIL).await;
    let (_, list) = app
        .api(&token, Method::GET, "/conversations?channel=viber", None)
        .await;
    assert_eq!(list["total"], 0, "nothing stored");
}
