//! WhatsApp Cloud API against a fake Graph API on 127.0.0.1 (wiremock speaking Meta's JSON).

use reqwest::Method;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{ADMIN_EMAIL, TestApp};

const PNID: &str = "1122334455667";
const SECRET: &str = "meta-app-secret";
const CUSTOMER: &str = "79161234567";

async fn fake_graph() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/v25.0/{PNID}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"verified_name": "Цветочная лавка", "display_phone_number": "+7 999 000-00-00", "id": PNID})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{PNID}/media")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "MEDIA-OUT-1"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v25.0/MEDIA-IN-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"url": format!("{}/dl/media-in-1", server.uri()), "mime_type": "image/jpeg"}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/dl/media-in-1"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(b"\xff\xd8WAIMG".to_vec()))
        .mount(&server)
        .await;
    server
}

async fn sends_ok(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{PNID}/messages")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"messaging_product": "whatsapp", "contacts": [{"input": CUSTOMER, "wa_id": CUSTOMER}], "messages": [{"id": "wamid.OUT1"}]})))
        .mount(server)
        .await;
}

async fn wa_app(server: &MockServer, extra: &str) -> TestApp {
    let toml = format!(
        "[[channels]]\nid = \"wa\"\nkind = \"whatsapp\"\nname = \"WhatsApp\"\nphone_number_id = \"{PNID}\"\naccess_token = \"EAAG-token\"\napp_secret = \"{SECRET}\"\nverify_token = \"verify-me\"\napi_base = \"{}\"\n{extra}",
        server.uri()
    );
    TestApp::spawn_with(|s| std::fs::write(&s.channels_path, &toml).unwrap()).await
}

fn notification(value: Value) -> Value {
    json!({ "object": "whatsapp_business_account", "entry": [{ "id": "WABA1", "changes": [{ "field": "messages", "value": value }] }] })
}

fn messages(msgs: Value) -> Value {
    notification(json!({
        "messaging_product": "whatsapp",
        "metadata": { "display_phone_number": "79990000000", "phone_number_id": PNID },
        "contacts": [{ "profile": { "name": "Светлана" }, "wa_id": CUSTOMER }],
        "messages": msgs
    }))
}

fn statuses(list: Value) -> Value {
    notification(
        json!({ "messaging_product": "whatsapp", "metadata": { "display_phone_number": "79990000000", "phone_number_id": PNID }, "statuses": list }),
    )
}

async fn post(app: &TestApp, body: &Value, forge: bool) -> u16 {
    let bytes = serde_json::to_vec(body).unwrap();
    let key = if forge { "wrong" } else { SECRET };
    let sig = format!(
        "sha256={}",
        perepiska::crypto::hmac_sha256_hex(key.as_bytes(), &bytes)
    );
    app.http
        .post(format!("{}/webhooks/wa", app.url))
        .header("X-Hub-Signature-256", sig)
        .body(bytes)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn sent(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == format!("/v25.0/{PNID}/messages"))
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

async fn wa_conversation(app: &TestApp, token: &str) -> i64 {
    let (_, v) = app
        .api(token, Method::GET, "/conversations?channel=wa", None)
        .await;
    v["data"][0]["id"]
        .as_i64()
        .expect("a WhatsApp conversation")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verification_signature_messages_media_and_statuses() {
    let server = fake_graph().await;
    sends_ok(&server).await;
    let app = wa_app(&server, "routing = \"chat\"\n").await;
    let verify = |token: &str| {
        app.http.get(format!("{}/webhooks/wa?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444", app.url)).send()
    };
    let r = verify("verify-me").await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "1158201444");
    // Meta documents 403 for a wrong verify token.
    assert_eq!(verify("guess").await.unwrap().status(), 403);

    let hi = messages(
        json!([{ "from": CUSTOMER, "id": "wamid.IN1", "timestamp": "1763700000", "type": "text", "text": { "body": "Можно заказать букет к 18:00?" } }]),
    );
    assert_eq!(post(&app, &hi, true).await, 401);
    let token = app.api_token(ADMIN_EMAIL).await;
    let (_, v) = app.api(&token, Method::GET, "/conversations", None).await;
    assert_eq!(v["total"], 0, "forged notifications store nothing");
    assert_eq!(post(&app, &hi, false).await, 200);
    assert_eq!(post(&app, &hi, false).await, 200);
    // Two messages in one notification, one of them a photo behind a media id.
    post(&app, &messages(json!([
        { "from": CUSTOMER, "id": "wamid.IN2", "timestamp": "1763700001", "type": "image", "image": { "id": "MEDIA-IN-1", "mime_type": "image/jpeg", "caption": "Вот такой" } },
        { "from": CUSTOMER, "id": "wamid.IN3", "timestamp": "1763700002", "type": "location", "location": { "latitude": 55.75, "longitude": 37.61 } }
    ])), false).await;
    let id = wa_conversation(&app, &token).await;
    let (_, c) = app
        .api(&token, Method::GET, &format!("/conversations/{id}"), None)
        .await;
    assert_eq!(c["contact"]["name"], "Светлана");
    assert_eq!(c["contact"]["phone"], "+79161234567");
    let customer: Vec<Value> = app
        .thread(&token, id)
        .await
        .into_iter()
        .filter(|m| m["kind"] == "customer")
        .collect();
    assert_eq!(customer.len(), 3, "the duplicate was dropped");
    assert_eq!(customer[1]["text"], "Вот такой");
    assert_eq!(customer[1]["attachments"][0]["file_name"], "image_IN2.jpg");
    assert!(
        customer[2]["text"]
            .as_str()
            .unwrap()
            .contains("55.750000, 37.610000")
    );

    // Reply out; statuses move it forward; a late failure for another message explains itself.
    app.api_ok(
        &token,
        Method::POST,
        &format!("/conversations/{id}/messages"),
        Some(json!({"text": "Да, успеем"})),
    )
    .await;
    app.eventually("sent", || async { !sent(&server).await.is_empty() })
        .await;
    let out = &sent(&server).await[0];
    assert_eq!(out["to"], CUSTOMER);
    assert_eq!(out["text"]["body"], "Admin:\nДа, успеем");
    let auth = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.url.path().ends_with("/messages"))
        .unwrap();
    assert_eq!(
        auth.headers.get("authorization").unwrap(),
        "Bearer EAAG-token"
    );
    app.eventually("state sent", || async {
        app.thread(&token, id)
            .await
            .iter()
            .any(|m| m["kind"] == "operator" && m["delivery"] == "sent")
    })
    .await;
    post(&app, &statuses(json!([{ "id": "wamid.OUT1", "status": "delivered", "timestamp": "1763700010", "recipient_id": CUSTOMER }])), false).await;
    post(&app, &statuses(json!([{ "id": "wamid.OUT1", "status": "read", "timestamp": "1763700011", "recipient_id": CUSTOMER }])), false).await;
    let reply = app
        .thread(&token, id)
        .await
        .into_iter()
        .find(|m| m["kind"] == "operator")
        .unwrap();
    assert_eq!(reply["delivery"], "read");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_24_hour_window_and_send_errors() {
    let server = fake_graph().await;
    // A throttled first attempt, then success with a message the platform later fails.
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{PNID}/messages")))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {"message": "pair rate limit", "type": "OAuthException", "code": 131056}})))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    sends_ok(&server).await;
    let app = wa_app(&server, "routing = \"chat\"\n").await;
    post(&app, &messages(json!([{ "from": CUSTOMER, "id": "wamid.A", "timestamp": "1", "type": "text", "text": { "body": "Привет" } }])), false).await;
    let token = app.api_token(ADMIN_EMAIL).await;
    let id = wa_conversation(&app, &token).await;
    app.api_ok(
        &token,
        Method::POST,
        &format!("/conversations/{id}/messages"),
        Some(json!({"text": "Здравствуйте"})),
    )
    .await;
    app.eventually("sent after retry", || async {
        sent(&server).await.len() == 2
    })
    .await;
    app.eventually("state sent", || async {
        app.thread(&token, id)
            .await
            .iter()
            .any(|m| m["kind"] == "operator" && m["delivery"] == "sent")
    })
    .await;
    post(&app, &statuses(json!([{ "id": "wamid.OUT1", "status": "failed", "timestamp": "2", "recipient_id": CUSTOMER,
        "errors": [{ "code": 131047, "title": "Re-engagement message" }] }])), false).await;
    let reply = app
        .thread(&token, id)
        .await
        .into_iter()
        .find(|m| m["kind"] == "operator")
        .unwrap();
    assert_eq!(reply["delivery"], "failed");
    assert!(
        reply["error"].as_str().unwrap().contains("24 hours"),
        "the operator sees why: {reply}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_helpdesk_bot_with_reply_buttons_and_lists() {
    let server = fake_graph().await;
    sends_ok(&server).await;
    let app = wa_app(&server, "routing = \"helpdesk\"\n").await;
    let say = |id: &str, body: &str| {
        messages(
            json!([{ "from": CUSTOMER, "id": id, "timestamp": "1", "type": "text", "text": { "body": body } }]),
        )
    };
    post(&app, &say("wamid.S1", "/start"), false).await;
    app.eventually("menu", || async { sent(&server).await.len() >= 2 })
        .await;
    let menu = &sent(&server).await[1];
    assert_eq!(menu["type"], "interactive");
    assert_eq!(
        menu["interactive"]["type"], "button",
        "two choices fit reply buttons"
    );
    assert_eq!(
        menu["interactive"]["action"]["buttons"][0]["reply"]["id"],
        "new"
    );
    let press = messages(
        json!([{ "from": CUSTOMER, "id": "wamid.S2", "timestamp": "2", "type": "interactive",
        "context": { "from": "79990000000", "id": "wamid.OUT1" },
        "interactive": { "type": "button_reply", "button_reply": { "id": "new", "title": "➕ Новая заявка" } } }]),
    );
    post(&app, &press, false).await;
    app.eventually("prompt", || async { sent(&server).await.len() >= 3 })
        .await;
    assert!(
        sent(&server).await[2]["text"]["body"]
            .as_str()
            .unwrap()
            .starts_with("Опишите ваш вопрос")
    );
    post(
        &app,
        &say("wamid.S3", "Нужна доставка цветов в офис"),
        false,
    )
    .await;
    app.eventually("registered", || async { sent(&server).await.len() >= 5 })
        .await;
    let all = sent(&server).await;
    assert_eq!(
        all[3]["text"]["body"],
        "✔️ Ваша заявка зарегистрирована под номером #1"
    );
    // Four menu entries no longer fit three buttons: a list.
    assert_eq!(all[4]["interactive"]["type"], "list");
    assert_eq!(
        all[4]["interactive"]["action"]["sections"][0]["rows"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn templates_reach_customers_after_the_window() {
    let server = fake_graph().await;
    sends_ok(&server).await;
    let app = wa_app(&server, "routing = \"chat\"\n").await;
    post(&app, &messages(json!([{ "from": CUSTOMER, "id": "wamid.T1", "timestamp": "1", "type": "text", "text": { "body": "Где заказ?" } }])), false).await;
    let token = app.api_token(ADMIN_EMAIL).await;
    let id = wa_conversation(&app, &token).await;
    let (s, e) = app
        .api(
            &token,
            Method::POST,
            &format!("/conversations/{id}/template"),
            Some(json!({"name": "Order Update!", "language": "ru"})),
        )
        .await;
    assert_eq!(s, 400);
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("template name")
    );
    let (s, _) = app
        .api(&token, Method::POST, &format!("/conversations/{id}/template"), Some(json!({"name": "order_update", "language": "ru", "parameters": ["#4411", "завтра"]})))
        .await;
    assert_eq!(s, 201);
    app.eventually("template sent", || async {
        !sent(&server).await.is_empty()
    })
    .await;
    let t = &sent(&server).await[0];
    assert_eq!(t["type"], "template");
    assert_eq!(t["template"]["name"], "order_update");
    assert_eq!(t["template"]["language"]["code"], "ru");
    assert_eq!(
        t["template"]["components"][0]["parameters"][1]["text"],
        "завтра"
    );
    let m = app
        .thread(&token, id)
        .await
        .into_iter()
        .find(|m| m["kind"] == "operator")
        .unwrap();
    assert_eq!(m["text"], "📋 order_update (ru): #4411, завтра");
    // From the console too, one parameter per line.
    let op = app.admin().await;
    let (_, html) = op.get(&format!("/console?c={id}")).await;
    assert!(
        html.contains("/template\""),
        "the console offers the template form on WhatsApp"
    );
    let (s, _) = op
        .post_form(
            &format!("/console/c/{id}/template"),
            &[
                ("csrf", op.csrf.as_str()),
                ("name", "delivery_slot"),
                ("language", "ru"),
                ("parameters", "10:00\n14:00"),
            ],
        )
        .await;
    assert_eq!(s, 303);
    app.eventually("second template", || async {
        sent(&server).await.len() == 2
    })
    .await;
    assert_eq!(
        sent(&server).await[1]["template"]["components"][0]["parameters"][0]["text"],
        "10:00"
    );
    // Other channels have no templates.
    let v: Value = app
        .widget_send("visitor-token-0000000001", "w1", "Привет")
        .await
        .json()
        .await
        .unwrap();
    let (s, e) = app
        .api(
            &token,
            Method::POST,
            &format!("/conversations/{}/template", v["conversation_id"]),
            Some(json!({"name": "x", "language": "ru"})),
        )
        .await;
    assert_eq!(s, 400);
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("WhatsApp feature")
    );
}

struct WaCustomer<'a> {
    server: &'a MockServer,
}

impl crate::support::journey::Customer for WaCustomer<'_> {
    async fn say(&mut self, app: &TestApp, n: u32, text: &str) {
        let body = messages(
            json!([{ "from": CUSTOMER, "id": format!("wamid.J{n}"), "timestamp": "1", "type": "text", "text": { "body": text } }]),
        );
        assert_eq!(post(app, &body, false).await, 200);
    }

    async fn press(&mut self, app: &TestApp, n: u32, data: &str) {
        // Lists and reply buttons answer alike; the id is what we sent.
        let body = messages(
            json!([{ "from": CUSTOMER, "id": format!("wamid.J{n}"), "timestamp": "2", "type": "interactive",
                "interactive": { "type": "list_reply", "list_reply": { "id": data, "title": "…" } } }]),
        );
        assert_eq!(post(app, &body, false).await, 200);
    }

    async fn replies(&self) -> Vec<crate::support::journey::Reply> {
        sent(self.server)
            .await
            .into_iter()
            .map(|m| {
                let i = &m["interactive"];
                let mut buttons: Vec<(String, String)> = i["action"]["buttons"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|b| {
                        Some((
                            b["reply"]["title"].as_str()?.to_string(),
                            b["reply"]["id"].as_str()?.to_string(),
                        ))
                    })
                    .collect();
                for s in i["action"]["sections"].as_array().into_iter().flatten() {
                    for r in s["rows"].as_array().into_iter().flatten() {
                        buttons.push((
                            r["title"].as_str().unwrap_or_default().to_string(),
                            r["id"].as_str().unwrap_or_default().to_string(),
                        ));
                    }
                }
                let text = m["text"]["body"]
                    .as_str()
                    .or_else(|| i["body"]["text"].as_str())
                    .unwrap_or_default()
                    .to_string();
                crate::support::journey::Reply { text, buttons }
            })
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_bot_journey_on_whatsapp() {
    let server = fake_graph().await;
    sends_ok(&server).await;
    let app = wa_app(&server, "routing = \"helpdesk\"\n").await;
    crate::support::journey::full_journey(&app, "wa", &mut WaCustomer { server: &server }).await;
}
