//! OK.ru and Avito against fake APIs on 127.0.0.1: both sign nothing, so their webhook URLs
//! carry a secret segment, and both are subscribed through their API.

use reqwest::Method;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{ADMIN_EMAIL, TestApp};

const HOOK_SECRET: &str = "hook-secret-0123456789";

async fn app_with(kind_toml: &str) -> TestApp {
    let toml = kind_toml.to_string();
    TestApp::spawn_with(|s| std::fs::write(&s.channels_path, &toml).unwrap()).await
}

async fn post(app: &TestApp, path: &str, body: &Value) -> u16 {
    app.http
        .post(format!("{}{path}", app.url))
        .json(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn bodies(server: &MockServer, path_part: &str) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path().contains(path_part))
        .map(|r| serde_json::from_slice(&r.body).unwrap_or(Value::Null))
        .collect()
}

fn ok_message(mid: &str, text: &str) -> Value {
    json!({ "webhookType": "MESSAGE_CREATED", "sender": { "user_id": "user:5500", "name": "Галина" },
            "recipient": { "chat_id": "chat:C3ecb9d02a600" }, "message": { "text": text, "seq": 98211023614189660u64, "mid": mid },
            "timestamp": 1_763_700_000_000u64 })
}

async fn fake_ok() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(path_regex("^/graph/me/messages/.*"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"success": true, "message_id": "mid:out1"})),
        )
        .mount(&server)
        .await;
    Mock::given(path("/graph/me/info"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"name": "Группа «Сад и огород»", "group_id": "group:57"})),
        )
        .mount(&server)
        .await;
    Mock::given(path("/graph/me/subscribe"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .mount(&server)
        .await;
    server
}

fn ok_toml(server: &MockServer, routing: &str) -> String {
    format!(
        "[[channels]]\nid = \"ok\"\nkind = \"ok\"\nname = \"Одноклассники\"\naccess_token = \"tkn1.ok\"\nwebhook_secret = \"{HOOK_SECRET}\"\napi_base = \"{}\"\nrouting = \"{routing}\"\n",
        server.uri()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ok_messages_need_the_secret_url_and_replies_go_out() {
    let server = fake_ok().await;
    let app = app_with(&ok_toml(&server, "chat")).await;
    let hook = format!("/webhooks/ok/{HOOK_SECRET}");
    assert_eq!(
        post(&app, "/webhooks/ok", &ok_message("mid:1", "Привет")).await,
        401
    );
    assert_eq!(
        post(
            &app,
            "/webhooks/ok/guess-guess-guess-guess",
            &ok_message("mid:1", "Привет")
        )
        .await,
        401
    );
    let token = app.api_token(ADMIN_EMAIL).await;
    let (_, v) = app.api(&token, Method::GET, "/conversations", None).await;
    assert_eq!(v["total"], 0);
    assert_eq!(
        post(
            &app,
            &hook,
            &ok_message("mid:C3e.1", "Есть ли семена томатов?")
        )
        .await,
        200
    );
    assert_eq!(
        post(
            &app,
            &hook,
            &ok_message("mid:C3e.1", "Есть ли семена томатов?")
        )
        .await,
        200
    );
    let (_, list) = app
        .api(&token, Method::GET, "/conversations?channel=ok", None)
        .await;
    let id = list["data"][0]["id"].as_i64().unwrap();
    assert_eq!(list["data"][0]["contact"]["name"], "Галина");
    assert_eq!(app.customer_texts(&token, id).await.len(), 1);
    app.api_ok(
        &token,
        Method::POST,
        &format!("/conversations/{id}/messages"),
        Some(json!({"text": "Да, пять сортов"})),
    )
    .await;
    app.eventually("sent", || async {
        !bodies(&server, "/graph/me/messages/").await.is_empty()
    })
    .await;
    let req = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.url.path().starts_with("/graph/me/messages/"))
        .unwrap();
    assert_eq!(req.url.path(), "/graph/me/messages/chat:C3ecb9d02a600");
    assert!(
        req.url
            .query()
            .unwrap_or_default()
            .contains("access_token=tkn1.ok")
    );
    let body: Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(body["recipient"]["chat_id"], "chat:C3ecb9d02a600");
    assert_eq!(body["message"]["text"], "Admin:\nДа, пять сортов");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ok_bot_buttons_and_subscription_from_the_command_line() {
    let server = fake_ok().await;
    let app = app_with(&ok_toml(&server, "helpdesk")).await;
    let hook = format!("/webhooks/ok/{HOOK_SECRET}");
    post(&app, &hook, &ok_message("mid:1", "/start")).await;
    app.eventually("menu", || async {
        bodies(&server, "/graph/me/messages/").await.len() >= 2
    })
    .await;
    let menu = &bodies(&server, "/graph/me/messages/").await[1];
    let button = &menu["message"]["attachment"]["payload"]["keyboard"]["buttons"][0][0];
    assert_eq!(
        (button["type"].as_str(), button["payload"].as_str()),
        (Some("CALLBACK"), Some("new"))
    );
    post(&app, &hook, &json!({"webhookType": "MESSAGE_CALLBACK", "sender": {"user_id": "user:5500", "name": "Галина"},
        "recipient": {"chat_id": "chat:C3ecb9d02a600"}, "callbackId": "cb-1", "payload": "new", "timestamp": 1})).await;
    app.eventually("prompt", || async {
        bodies(&server, "/graph/me/messages/").await.len() >= 3
    })
    .await;
    assert!(
        bodies(&server, "/graph/me/messages/").await[2]["message"]["text"]
            .as_str()
            .unwrap()
            .starts_with("Опишите ваш вопрос")
    );

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("channels.toml"), ok_toml(&server, "chat")).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_perepiska"))
        .current_dir(dir.path())
        .env("PEREPISKA_PUBLIC_URL", "https://support.example.com")
        .args(["channels", "subscribe", "ok"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sub = &bodies(&server, "/graph/me/subscribe").await[0];
    assert_eq!(
        sub["url"],
        format!("https://support.example.com/webhooks/ok/{HOOK_SECRET}")
    );
}

async fn fake_avito() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": "AVITO-T", "expires_in": 86400, "token_type": "Bearer"}),
        ))
        .mount(&server)
        .await;
    Mock::given(path("/core/v1/accounts/self"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": 42, "name": "Магазин велосипедов"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/messenger/v2/accounts/42/chats/u2i-abc"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "u2i-abc",
            "context": { "type": "item", "value": { "id": 3_123_456_789i64, "title": "Велосипед Stels Navigator 500",
                "url": "https://www.avito.ru/moskva/velosipedy/stels_3123456789", "price_string": "15 000 ₽" } },
            "users": [ { "id": 42, "name": "Магазин велосипедов" }, { "id": 777, "name": "Пётр" } ] })))
        .mount(&server)
        .await;
    Mock::given(path("/messenger/v3/webhook"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true})))
        .mount(&server)
        .await;
    // The first send is refused as if the token had expired; the retry with a new one works.
    Mock::given(method("POST"))
        .and(path_regex("^/messenger/v1/accounts/42/chats/.*/messages$"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(json!({"error": {"code": 401, "message": "unauthorized"}})),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path_regex("^/messenger/v1/accounts/42/chats/.*/messages$"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": "out-1", "direction": "out", "type": "text"})),
        )
        .mount(&server)
        .await;
    server
}

fn avito_message(id: &str, author: i64, text: &str) -> Value {
    json!({ "id": "d-1", "version": "v3.0.0", "timestamp": 1_763_700_000,
            "payload": { "type": "message", "value": { "id": id, "chat_id": "u2i-abc", "user_id": 42, "author_id": author,
              "created": 1_763_700_000, "type": "text", "chat_type": "u2i", "content": { "text": text }, "item_id": 3_123_456_789i64 } } })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn avito_listing_chats_token_refresh_and_echoes() {
    let server = fake_avito().await;
    let toml = format!(
        "[[channels]]\nid = \"avito\"\nkind = \"avito\"\nname = \"Авито\"\nclient_id = \"cid\"\nclient_secret = \"csecret\"\nuser_id = 42\nwebhook_secret = \"{HOOK_SECRET}\"\napi_base = \"{}\"\n",
        server.uri()
    );
    let app = app_with(&toml).await;
    let hook = format!("/webhooks/avito/{HOOK_SECRET}");
    assert_eq!(
        post(&app, &hook, &json!({})).await,
        200,
        "Avito's empty check"
    );
    assert_eq!(
        post(
            &app,
            "/webhooks/avito/nope-nope-nope-nope",
            &avito_message("m1", 777, "Велосипед ещё продаётся?")
        )
        .await,
        401
    );
    assert_eq!(
        post(
            &app,
            &hook,
            &avito_message("m1", 777, "Велосипед ещё продаётся?")
        )
        .await,
        200
    );
    assert_eq!(
        post(
            &app,
            &hook,
            &avito_message("m1", 777, "Велосипед ещё продаётся?")
        )
        .await,
        200
    );
    // Our own message echoed back is not a customer message.
    assert_eq!(post(&app, &hook, &avito_message("m2", 42, "Да")).await, 200);
    let token = app.api_token(ADMIN_EMAIL).await;
    let (_, list) = app
        .api(&token, Method::GET, "/conversations?channel=avito", None)
        .await;
    let id = list["data"][0]["id"].as_i64().unwrap();
    let customer: Vec<Value> = app
        .thread(&token, id)
        .await
        .into_iter()
        .filter(|m| m["kind"] == "customer")
        .collect();
    assert_eq!(customer.len(), 1);
    assert_eq!(
        customer[0]["text"],
        "🏷 Объявление «Велосипед Stels Navigator 500» https://www.avito.ru/moskva/velosipedy/stels_3123456789\nВелосипед ещё продаётся?"
    );
    assert_eq!(
        list["data"][0]["contact"]["name"], "Пётр",
        "the buyer's name from the chat"
    );

    for text in ["Да, продаётся", "Можно посмотреть завтра"] {
        app.api_ok(
            &token,
            Method::POST,
            &format!("/conversations/{id}/messages"),
            Some(json!({"text": text})),
        )
        .await;
    }
    app.eventually("both sent", || async {
        app.thread(&token, id)
            .await
            .iter()
            .filter(|m| m["kind"] == "operator" && m["delivery"] == "sent")
            .count()
            == 2
    })
    .await;
    let tokens = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == "/token")
        .count();
    assert_eq!(
        tokens, 2,
        "one token, then one fresh token after the refusal, then reused"
    );
    let sends: Vec<_> = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path().ends_with("/messages"))
        .collect();
    assert_eq!(sends.len(), 3);
    assert_eq!(
        sends[2].headers.get("authorization").unwrap(),
        "Bearer AVITO-T"
    );
    assert_eq!(
        sends[2].url.path(),
        "/messenger/v1/accounts/42/chats/u2i-abc/messages"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ok_files_are_uploaded_and_sent_as_attachments() {
    let server = fake_ok().await;
    Mock::given(path("/graph/me/fileUploadUrl"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"url": format!("{}/upload/slot-1", server.uri()), "token": "FILE-TOKEN"}),
        ))
        .mount(&server)
        .await;
    // Photos answer with their own token; files keep the one from fileUploadUrl.
    Mock::given(method("POST"))
        .and(path("/upload/slot-1"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"photos": {"p1": {"token": "IMG-TOKEN"}}})),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/upload/slot-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&server)
        .await;
    let app = app_with(&ok_toml(&server, "chat")).await;
    let hook = format!("/webhooks/ok/{HOOK_SECRET}");
    post(
        &app,
        &hook,
        &ok_message("mid:F.1", "Пришлите схему посадки"),
    )
    .await;
    let token = app.api_token(ADMIN_EMAIL).await;
    let (_, list) = app
        .api(&token, Method::GET, "/conversations?channel=ok", None)
        .await;
    let id = list["data"][0]["id"].as_i64().unwrap();
    let op = app.admin().await;
    assert_eq!(
        op.send_file(id, "Схема", "схема.png", "image/png", b"\x89PNG scheme")
            .await,
        303
    );
    assert_eq!(
        op.send_file(id, "", "Инструкция.pdf", "application/pdf", b"%PDF guide")
            .await,
        303
    );
    app.eventually("two sent", || async {
        bodies(&server, "/graph/me/messages/").await.len() >= 2
    })
    .await;
    let sent = bodies(&server, "/graph/me/messages/").await;
    assert_eq!(sent[0]["message"]["text"], "Admin:\nСхема");
    assert_eq!(
        sent[0]["message"]["attachments"],
        json!([{"type": "IMAGE", "payload": {"token": "IMG-TOKEN"}}])
    );
    assert_eq!(
        sent[1]["message"]["attachments"],
        json!([{"type": "FILE", "payload": {"token": "FILE-TOKEN"}}])
    );
    let uploads: Vec<_> = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == "/upload/slot-1")
        .collect();
    assert_eq!(uploads.len(), 2);
    let body = String::from_utf8_lossy(&uploads[1].body);
    assert!(
        body.contains("name=\"file\"") && body.contains("%PDF guide"),
        "multipart field file with the bytes"
    );
    let kinds: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == "/graph/me/fileUploadUrl")
        .map(|r| r.url.query().unwrap_or_default().to_string())
        .collect();
    assert!(
        kinds[0].contains("type=IMAGE") && kinds[1].contains("type=FILE"),
        "{kinds:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn avito_images_go_out_and_other_files_are_refused_with_the_reason() {
    let server = fake_avito().await;
    Mock::given(method("POST"))
        .and(path("/messenger/v1/accounts/42/uploadImages"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"12345.abcdef": {"140x105": "https://img.avito.st/140x105/1.jpg"}}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(
            "/messenger/v1/accounts/42/chats/u2i-abc/messages/image",
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": "img-out-1", "type": "image"})),
        )
        .mount(&server)
        .await;
    let toml = format!(
        "[[channels]]\nid = \"avito\"\nkind = \"avito\"\nname = \"Авито\"\nclient_id = \"cid\"\nclient_secret = \"csecret\"\nuser_id = 42\nwebhook_secret = \"{HOOK_SECRET}\"\napi_base = \"{}\"\n",
        server.uri()
    );
    let app = app_with(&toml).await;
    let hook = format!("/webhooks/avito/{HOOK_SECRET}");
    post(&app, &hook, &avito_message("m1", 777, "Есть фото рамы?")).await;
    let token = app.api_token(ADMIN_EMAIL).await;
    let (_, list) = app
        .api(&token, Method::GET, "/conversations?channel=avito", None)
        .await;
    let id = list["data"][0]["id"].as_i64().unwrap();
    let op = app.admin().await;
    assert_eq!(
        op.send_file(id, "Вот рама", "рама.jpg", "image/jpeg", b"\xff\xd8frame")
            .await,
        303
    );
    assert_eq!(
        op.send_file(id, "Паспорт", "паспорт.pdf", "application/pdf", b"%PDF")
            .await,
        303
    );
    app.eventually("image sent, pdf failed", || async {
        let t = app.thread(&token, id).await;
        let ops: Vec<&Value> = t.iter().filter(|m| m["kind"] == "operator").collect();
        ops.len() == 2
            && ops[0]["delivery"] == "sent"
            && ops[1]["delivery"] == "failed"
            && ops[1]["error"]
                .as_str()
                .is_some_and(|e| e.contains("only images"))
    })
    .await;
    let images = bodies(&server, "/messages/image").await;
    assert_eq!(images, vec![json!({"image_id": "12345.abcdef"})]);
    let upload = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.url.path().ends_with("/uploadImages"))
        .unwrap();
    assert!(String::from_utf8_lossy(&upload.body).contains("name=\"uploadfile[]\""));
    let texts: Vec<Value> = bodies(&server, "/chats/u2i-abc/messages")
        .await
        .into_iter()
        .filter(|b| b.get("type") == Some(&json!("text")))
        .collect();
    assert!(
        texts
            .iter()
            .any(|b| b["message"]["text"] == "Admin:\nВот рама"),
        "the caption goes as text: {texts:?}"
    );
    assert!(
        !texts.iter().any(|b| b["message"]["text"]
            .as_str()
            .unwrap_or("")
            .contains("Паспорт")),
        "a refused message sends nothing"
    );
}

struct OkCustomer<'a> {
    server: &'a MockServer,
}

impl crate::support::journey::Customer for OkCustomer<'_> {
    async fn say(&mut self, app: &TestApp, n: u32, text: &str) {
        let hook = format!("/webhooks/ok/{HOOK_SECRET}");
        assert_eq!(
            post(app, &hook, &ok_message(&format!("mid:J{n}"), text)).await,
            200
        );
    }

    async fn press(&mut self, app: &TestApp, n: u32, data: &str) {
        let hook = format!("/webhooks/ok/{HOOK_SECRET}");
        let press = json!({"webhookType": "MESSAGE_CALLBACK", "sender": {"user_id": "user:5500", "name": "Галина"},
            "recipient": {"chat_id": "chat:C3ecb9d02a600"}, "callbackId": format!("cb-{n}"), "payload": data, "timestamp": n});
        assert_eq!(post(app, &hook, &press).await, 200);
    }

    async fn replies(&self) -> Vec<crate::support::journey::Reply> {
        bodies(self.server, "/graph/me/messages/")
            .await
            .into_iter()
            .map(|b| crate::support::journey::Reply {
                text: b["message"]["text"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                buttons: b["message"]["attachment"]["payload"]["keyboard"]["buttons"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .flat_map(|row| row.as_array().cloned().unwrap_or_default())
                    .filter_map(|k| {
                        Some((
                            k["text"].as_str()?.to_string(),
                            k["payload"].as_str()?.to_string(),
                        ))
                    })
                    .collect(),
            })
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_bot_journey_on_ok() {
    let server = fake_ok().await;
    let app = app_with(&ok_toml(&server, "helpdesk")).await;
    crate::support::journey::full_journey(&app, "ok", &mut OkCustomer { server: &server }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_avito_chat_lookup_does_not_hold_the_webhook() {
    let server = MockServer::start().await;
    Mock::given(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": "AVITO-T", "expires_in": 86400, "token_type": "Bearer"}),
        ))
        .mount(&server)
        .await;
    // Slower than Avito's 2-second patience.
    Mock::given(method("GET"))
        .and(path("/messenger/v2/accounts/42/chats/u2i-abc"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(std::time::Duration::from_secs(4))
                .set_body_json(
                    json!({"context": {"value": {"id": 3_123_456_789i64, "title": "Поздно"}}}),
                ),
        )
        .mount(&server)
        .await;
    let toml = format!(
        "[[channels]]\nid = \"avito\"\nkind = \"avito\"\nname = \"Авито\"\nclient_id = \"cid\"\nclient_secret = \"csecret\"\nuser_id = 42\nwebhook_secret = \"{HOOK_SECRET}\"\napi_base = \"{}\"\n",
        server.uri()
    );
    let app = app_with(&toml).await;
    let hook = format!("/webhooks/avito/{HOOK_SECRET}");
    assert_eq!(
        post(&app, &hook, &avito_message("m9", 777, "Ещё продаёте?")).await,
        200
    );
    let token = app.api_token(ADMIN_EMAIL).await;
    let (_, list) = app
        .api(&token, Method::GET, "/conversations?channel=avito", None)
        .await;
    let id = list["data"][0]["id"].as_i64().unwrap();
    let thread = app.thread(&token, id).await;
    let m = thread.iter().find(|m| m["kind"] == "customer").unwrap();
    assert_eq!(
        m["text"], "🏷 Объявление https://www.avito.ru/3123456789\nЕщё продаёте?",
        "stored with the plain link rather than waiting for the title"
    );
}
