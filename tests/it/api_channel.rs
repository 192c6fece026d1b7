//! The "api" channel: a business system posts customer messages to /webhooks/{id} and gets
//! operator replies at its callback URL; both signed. A fake callback server on 127.0.0.1
//! stands in for it, so the outbox's retries and failures are real HTTP.

use reqwest::Method;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{ADMIN_EMAIL, TestApp};

const SECRET: &str = "crm-shared-secret-123";

async fn app_with_callback(server: &MockServer) -> TestApp {
    let toml = format!(
        "[[channels]]\nid = \"crm\"\nkind = \"api\"\nname = \"CRM\"\ncallback_url = \"{}/callback\"\nsecret = \"{SECRET}\"\n",
        server.uri()
    );
    TestApp::spawn_with(|s| std::fs::write(&s.channels_path, &toml).unwrap()).await
}

async fn post_signed(app: &TestApp, body: &Value, signature: Option<String>) -> reqwest::Response {
    let bytes = serde_json::to_vec(body).unwrap();
    let sig = signature.unwrap_or_else(|| perepiska::channels::api::signature(SECRET, &bytes));
    app.http
        .post(format!("{}/webhooks/crm", app.url))
        .header("Content-Type", "application/json")
        .header("X-Perepiska-Signature", sig)
        .body(bytes)
        .send()
        .await
        .unwrap()
}

fn customer_message(id: &str, text: &str) -> Value {
    json!({ "contact": { "id": "cust-42", "name": "Иван Петров", "email": "ivan@example.com" }, "message": { "id": id, "text": text } })
}

async fn conversation_id(app: &TestApp, token: &str) -> i64 {
    let (_, v) = app
        .api(token, Method::GET, "/conversations?channel=crm", None)
        .await;
    v["data"][0]["id"]
        .as_i64()
        .expect("a conversation in the crm channel")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_messages_are_accepted_once_and_forged_ones_store_nothing() {
    let server = MockServer::start().await;
    let app = app_with_callback(&server).await;
    let r = post_signed(
        &app,
        &customer_message("m-1", "Нужна помощь с заказом"),
        Some("sha256=00".into()),
    )
    .await;
    assert_eq!(r.status(), 401);
    let r = app
        .http
        .post(format!("{}/webhooks/crm", app.url))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let token = app.api_token(ADMIN_EMAIL).await;
    let (_, v) = app.api(&token, Method::GET, "/conversations", None).await;
    assert_eq!(v["total"], 0, "forged requests store nothing");

    for _ in 0..2 {
        let r = post_signed(
            &app,
            &customer_message("m-1", "Нужна помощь с заказом"),
            None,
        )
        .await;
        assert_eq!(r.status(), 200);
    }
    let id = conversation_id(&app, &token).await;
    let msgs = app.thread(&token, id).await;
    assert_eq!(msgs.iter().filter(|m| m["kind"] == "customer").count(), 1);
    let (_, c) = app
        .api(&token, Method::GET, &format!("/conversations/{id}"), None)
        .await;
    assert_eq!(c["contact"]["name"], "Иван Петров");
    assert_eq!(c["contact"]["email"], "ivan@example.com");

    let r = post_signed(
        &app,
        &json!({"event": "teleport", "contact": {"id": "x"}}),
        None,
    )
    .await;
    assert_eq!(r.status(), 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_delivery_is_retried_until_it_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/callback"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/callback"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "ext-77"})))
        .mount(&server)
        .await;
    let app = app_with_callback(&server).await;
    post_signed(&app, &customer_message("m-1", "Когда доставка?"), None).await;
    let token = app.api_token(ADMIN_EMAIL).await;
    let id = conversation_id(&app, &token).await;
    let (s, m) = app
        .api(
            &token,
            Method::POST,
            &format!("/conversations/{id}/messages"),
            Some(json!({"text": "Завтра до 18:00"})),
        )
        .await;
    assert_eq!(s, 201);
    let mid = m["id"].as_i64().unwrap();
    app.eventually("delivery after retries", || async {
        app.thread(&token, id)
            .await
            .iter()
            .any(|m| m["id"] == mid && m["delivery"] == "sent")
    })
    .await;
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 3, "two failures, then success");
    let last = requests.last().unwrap();
    let body: Value = serde_json::from_slice(&last.body).unwrap();
    assert_eq!(body["message"]["text"], "Завтра до 18:00");
    assert_eq!(body["contact"]["id"], "cust-42");
    assert_eq!(body["message"]["author"], "Admin");
    let sig = last
        .headers
        .get("x-perepiska-signature")
        .unwrap()
        .to_str()
        .unwrap();
    assert_eq!(sig, perepiska::channels::api::signature(SECRET, &last.body));
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("perepiska_send_errors_total{channel=\"api\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("perepiska_messages_sent_total{channel=\"api\"} 1"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_failure_is_shown_in_the_thread_and_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_string("unknown contact"))
        .mount(&server)
        .await;
    let app = app_with_callback(&server).await;
    post_signed(&app, &customer_message("m-1", "Алло"), None).await;
    let token = app.api_token(ADMIN_EMAIL).await;
    let id = conversation_id(&app, &token).await;
    app.api_ok(
        &token,
        Method::POST,
        &format!("/conversations/{id}/messages"),
        Some(json!({"text": "Здравствуйте"})),
    )
    .await;
    app.eventually("failure recorded", || async {
        app.thread(&token, id).await.iter().any(|m| {
            m["kind"] == "system"
                && m["text"]
                    .as_str()
                    .unwrap()
                    .contains("Message not delivered")
        })
    })
    .await;
    let msgs = app.thread(&token, id).await;
    let reply = msgs
        .iter()
        .find(|m| m["kind"] == "operator")
        .unwrap()
        .clone();
    assert_eq!(reply["delivery"], "failed");
    assert!(
        reply["error"]
            .as_str()
            .unwrap()
            .contains("HTTP 400: unknown contact")
    );
    // Nothing is left to deliver, so nothing can be retried.
    app.outbox_drained().await;
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "a permanent error is not retried"
    );
    // The console shows it too.
    let op = app.admin().await;
    let (_, html) = op.get(&format!("/console?c={id}")).await;
    assert!(html.contains("dl-failed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_who_blocked_us_is_not_sent_to() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let app = app_with_callback(&server).await;
    post_signed(&app, &customer_message("m-1", "Привет"), None).await;
    let r = post_signed(
        &app,
        &json!({"event": "blocked", "contact": {"id": "cust-42"}}),
        None,
    )
    .await;
    assert_eq!(r.status(), 200);
    let token = app.api_token(ADMIN_EMAIL).await;
    let id = conversation_id(&app, &token).await;
    app.api_ok(
        &token,
        Method::POST,
        &format!("/conversations/{id}/messages"),
        Some(json!({"text": "Вы тут?"})),
    )
    .await;
    app.eventually("blocked reply fails", || async {
        app.thread(&token, id)
            .await
            .iter()
            .any(|m| m["kind"] == "operator" && m["delivery"] == "failed")
    })
    .await;
    let msgs = app.thread(&token, id).await;
    assert!(msgs.iter().any(|m| {
        m["text"]
            .as_str()
            .unwrap()
            .contains("blocked the bot or unsubscribed")
    }));
    assert_eq!(server.received_requests().await.unwrap().len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_written_while_the_platform_is_down_arrive_once_and_in_order() {
    let server = MockServer::start().await;
    // Down for the first four deliveries, then back.
    Mock::given(method("POST"))
        .and(path("/callback"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(4)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/callback"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "ext-1"})))
        .mount(&server)
        .await;
    let app = app_with_callback(&server).await;
    post_signed(&app, &customer_message("m-1", "Статус заказа?"), None).await;
    let token = app.api_token(ADMIN_EMAIL).await;
    let id = conversation_id(&app, &token).await;
    let texts: Vec<String> = (1..=5).map(|i| format!("Ответ {i}")).collect();
    for t in &texts {
        let (s, _) = app
            .api(
                &token,
                Method::POST,
                &format!("/conversations/{id}/messages"),
                Some(json!({ "text": t })),
            )
            .await;
        assert_eq!(s, 201);
    }
    app.eventually("all five delivered", || async {
        app.thread(&token, id)
            .await
            .iter()
            .filter(|m| m["kind"] == "operator" && m["delivery"] == "sent")
            .count()
            == 5
    })
    .await;
    let requests = server.received_requests().await.unwrap();
    let delivered: Vec<String> = requests[4..]
        .iter()
        .map(|r| {
            let b: Value = serde_json::from_slice(&r.body).unwrap();
            b["message"]["text"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(delivered, texts, "each once, in the order written");
}
