//! Outgoing webhooks against a receiver on 127.0.0.1 that checks nothing itself: the tests
//! verify the signature the way a receiver would, script failures, and move the clock.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{ADMIN_EMAIL, TestApp};

#[derive(Clone, Debug)]
struct Call {
    event: String,
    delivery: String,
    timestamp: String,
    signature: String,
    body: String,
}

#[derive(Clone, Default)]
struct Receiver {
    url: String,
    calls: Arc<Mutex<Vec<Call>>>,
    /// Statuses to answer next (then 200).
    script: Arc<Mutex<VecDeque<u16>>>,
}

impl Receiver {
    async fn start() -> Receiver {
        let r = Receiver::default();
        let r2 = r.clone();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(r2.clone()))
                .route("/hook", web::post().to(hook))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        Receiver {
            url: format!("http://127.0.0.1:{port}/hook"),
            ..r
        }
    }

    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    fn fail_next(&self, statuses: &[u16]) {
        self.script.lock().unwrap().extend(statuses);
    }

    /// The events delivered (answered 200), in order.
    fn delivered(&self) -> Vec<Value> {
        self.calls()
            .iter()
            .map(|c| serde_json::from_str(&c.body).unwrap())
            .filter(|v: &Value| v["_status"].is_null())
            .collect()
    }
}

async fn hook(req: HttpRequest, r: web::Data<Receiver>, body: web::Bytes) -> HttpResponse {
    let h = |k: &str| {
        req.headers()
            .get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let status = r.script.lock().unwrap().pop_front().unwrap_or(200);
    let mut text = String::from_utf8_lossy(&body).to_string();
    if status != 200 {
        // Kept in the log with the status, so `delivered` skips it.
        let mut v: Value = serde_json::from_str(&text).unwrap_or(json!({}));
        v["_status"] = json!(status);
        text = v.to_string();
    }
    r.calls.lock().unwrap().push(Call {
        event: h("x-perepiska-event"),
        delivery: h("x-perepiska-delivery"),
        timestamp: h("x-perepiska-timestamp"),
        signature: h("x-perepiska-signature"),
        body: text,
    });
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap()).body(
        if status == 200 {
            "ok"
        } else {
            "down for maintenance"
        },
    )
}

async fn add_hook(app: &TestApp, token: &str, url: &str, extra: Value) -> Value {
    let mut config = json!({ "url": url });
    for (k, v) in extra.as_object().unwrap() {
        config[k] = v.clone();
    }
    let (s, v) = app
        .api(
            token,
            Method::POST,
            "/integrations",
            Some(json!({ "id": "crm", "kind": "webhook", "name": "Наша CRM", "config": config })),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_arrive_signed_and_in_order_never_from_the_request() {
    let rx = Receiver::start().await;
    let app = TestApp::spawn().await;
    let token = app.api_token(ADMIN_EMAIL).await;
    let saved = add_hook(&app, &token, &rx.url, json!({})).await;
    let secret = saved["secret"]
        .as_str()
        .expect("a secret made up, shown once")
        .to_string();
    assert!(secret.len() >= 16);
    assert_eq!(saved["integration"]["url"], rx.url);
    let (_, listed) = app.api(&token, Method::GET, "/integrations", None).await;
    assert!(
        !listed.to_string().contains(&secret),
        "the secret is never listed"
    );

    assert_eq!(
        app.widget_send("visitor-token-0000000042", "w1", "Сколько стоит доставка?")
            .await
            .status(),
        200
    );
    let (_, list) = app.api(&token, Method::GET, "/conversations", None).await;
    let id = list["data"][0]["id"].as_i64().unwrap();
    app.api_ok(
        &token,
        Method::POST,
        &format!("/conversations/{id}/messages"),
        Some(json!({"text": "300 ₽ по городу"})),
    )
    .await;
    app.api_ok(
        &token,
        Method::PATCH,
        &format!("/conversations/{id}"),
        Some(json!({"status": "resolved"})),
    )
    .await;
    app.eventually("six events delivered", || async {
        rx.delivered().len() >= 6
    })
    .await;
    let events: Vec<String> = rx.calls().iter().map(|c| c.event.clone()).collect();
    assert_eq!(
        events,
        // The answer takes the conversation into work and to the operator who answered.
        [
            "conversation_created",
            "message_incoming",
            "conversation_status_changed",
            "conversation_assigned",
            "message_outgoing",
            "conversation_status_changed"
        ]
    );
    let first = &rx.delivered()[1];
    assert_eq!(first["event"], "message_incoming");
    assert_eq!(first["conversation"]["id"], id);
    assert_eq!(first["data"]["message"]["text"], "Сколько стоит доставка?");
    assert_eq!(
        rx.delivered()[4]["data"]["message"]["text"],
        "300 ₽ по городу"
    );
    assert_eq!(rx.delivered()[5]["data"]["to"], "resolved");
    assert_eq!(rx.delivered()[5]["conversation"]["status"], "resolved");
    // Every call is verifiable by the receiver: HMAC of "<timestamp>.<body>".
    for c in rx.calls() {
        let expected = format!(
            "sha256={}",
            perepiska::crypto::hmac_sha256_hex(
                secret.as_bytes(),
                format!("{}.{}", c.timestamp, c.body).as_bytes()
            )
        );
        assert_eq!(c.signature, expected, "{c:?}");
        let age = chrono::Utc::now().timestamp() - c.timestamp.parse::<i64>().unwrap();
        assert!(
            (0..60).contains(&age),
            "a fresh timestamp against replays: {age}"
        );
        assert!(c.delivery.parse::<i64>().is_ok());
    }
    // The log shows each delivery with the receiver's answer; "retry now" sends one again.
    let (_, log) = app
        .api(&token, Method::GET, "/integrations/crm/deliveries", None)
        .await;
    let rows = log["data"].as_array().unwrap();
    assert_eq!(rows.len(), 6);
    assert!(
        rows.iter()
            .all(|r| r["status"] == "delivered" && r["last_status"] == 200)
    );
    assert_eq!(rows[0]["last_response"], "ok");
    let again = rows[0]["id"].as_i64().unwrap();
    let (s, _) = app
        .api(
            &token,
            Method::POST,
            &format!("/integrations/crm/deliveries/{again}/retry"),
            None,
        )
        .await;
    assert_eq!(s, 202);
    app.eventually("sent again", || async { rx.calls().len() == 7 })
        .await;
    assert_eq!(rx.calls()[6].delivery, again.to_string());
    // The payload is described in the OpenAPI document.
    let doc: Value = app
        .http
        .get(format!("{}/api/v1/openapi.json", app.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["paths"]["/integrations"].is_object());
    assert!(doc["components"]["schemas"]["WebhookEventBody"]["properties"]["event"].is_object());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_receiver_is_retried_on_the_clock_paused_after_a_day_and_loses_nothing() {
    let rx = Receiver::start().await;
    let clock = perepiska::clock::Clock::manual(
        chrono::NaiveDate::from_ymd_opt(2026, 12, 1)
            .unwrap()
            .and_hms_opt(9, 0, 0)
            .unwrap(),
    );
    let c2 = clock.clone();
    let app = TestApp::spawn_with(move |s| s.clock = c2).await;
    let token = app.api_token(ADMIN_EMAIL).await;
    add_hook(
        &app,
        &token,
        &rx.url,
        json!({ "secret": "receiver-shared-secret", "events": ["message_incoming"] }),
    )
    .await;
    rx.fail_next(&[503; 100]);
    assert_eq!(
        app.widget_send("visitor-token-0000000043", "w1", "Первое")
            .await
            .status(),
        200
    );
    app.eventually("the first attempt", || async { rx.calls().len() == 1 })
        .await;
    app.failure_recorded(&token, "crm", &clock).await;
    // The next try waits 30 s on the clock, then a minute, then two.
    for (wait, tries) in [(29, 1), (1, 2), (60, 3), (120, 4)] {
        clock.advance(chrono::Duration::seconds(wait));
        app.eventually(&format!("{tries} tries"), || async {
            rx.calls().len() >= tries
        })
        .await;
        assert_eq!(rx.calls().len(), tries, "not before its time");
        app.failure_recorded(&token, "crm", &clock).await;
    }
    let (_, log) = app
        .api(&token, Method::GET, "/integrations/crm/deliveries", None)
        .await;
    assert_eq!(log["data"][0]["status"], "pending");
    assert_eq!(log["data"][0]["last_status"], 503);
    assert_eq!(log["data"][0]["last_response"], "down for maintenance");
    // A day of failures pauses it and tells the admins.
    for _ in 0..30 {
        // Counted before the clock moves: the worker may try again before this line runs.
        let before = rx.calls().len();
        clock.advance(chrono::Duration::hours(1));
        app.eventually("another try", || async { rx.calls().len() > before })
            .await;
        app.failure_recorded(&token, "crm", &clock).await;
        let (_, v) = app
            .api(&token, Method::GET, "/integrations/crm", None)
            .await;
        if v["paused_at"].is_string() {
            break;
        }
    }
    let (_, v) = app
        .api(&token, Method::GET, "/integrations/crm", None)
        .await;
    assert!(v["paused_at"].is_string(), "{v}");
    assert!(v["pause_reason"].as_str().unwrap().contains("503"), "{v}");
    let admin = app.admin().await;
    let (_, bell) = admin.get("/console/notifications").await;
    assert!(bell.contains("Наша CRM"), "{bell}");
    // Paused, events are kept, not sent.
    let tries = rx.calls().len();
    assert_eq!(
        app.widget_send("visitor-token-0000000043", "w2", "Второе")
            .await
            .status(),
        200
    );
    clock.advance(chrono::Duration::hours(2));
    let (_, log) = app
        .api(&token, Method::GET, "/integrations/crm/deliveries", None)
        .await;
    assert_eq!(log["data"].as_array().unwrap().len(), 2, "{log}");
    assert_eq!(rx.calls().len(), tries);
    // The receiver is back; resumed, both go, in order, once each.
    rx.script.lock().unwrap().clear();
    let (s, _) = app
        .api(&token, Method::POST, "/integrations/crm/resume", None)
        .await;
    assert_eq!(s, 200);
    app.eventually("both delivered", || async { rx.delivered().len() == 2 })
        .await;
    let texts: Vec<Value> = rx
        .delivered()
        .iter()
        .map(|v| v["data"]["message"]["text"].clone())
        .collect();
    assert_eq!(texts, [json!("Первое"), json!("Второе")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inside_targets_plain_http_and_bad_settings_are_refused() {
    let app = TestApp::spawn_with(|s| s.allow_private_targets = false).await;
    let token = app.api_token(ADMIN_EMAIL).await;
    for (config, needle) in [
        (json!({"url": "http://127.0.0.1:9/hook"}), "https://"),
        (json!({"url": "https://127.0.0.1:9/hook"}), "inside"),
        (json!({"url": "https://10.1.2.3/hook"}), "inside"),
        (json!({"url": "https://169.254.169.254/latest"}), "inside"),
        (json!({"url": "https://[::1]/hook"}), "inside"),
        (json!({"url": "https://localhost/hook"}), "inside"),
        (
            json!({"url": "https://crm.example.com/hook", "secret": "short"}),
            "secret",
        ),
        (
            json!({"url": "https://crm.example.com/hook", "events": ["message_incoming", "everything"]}),
            "everything",
        ),
        (
            json!({"url": "https://crm.example.com/hook", "channels": ["nope"]}),
            "nope",
        ),
        (
            json!({"url": "https://crm.example.com/hook", "colour": "red"}),
            "colour",
        ),
    ] {
        let (s, v) = app
            .api(
                &token,
                Method::POST,
                "/integrations",
                Some(json!({"id": "x", "kind": "webhook", "enabled": false, "config": config})),
            )
            .await;
        assert_eq!(s, 400, "{config}: {v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains(needle),
            "{config}: {v}"
        );
    }
    let (s, v) = app
        .api(
            &token,
            Method::POST,
            "/integrations",
            Some(json!({"id": "x", "kind": "zapier", "config": {}})),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    let (_, list) = app.api(&token, Method::GET, "/integrations", None).await;
    assert_eq!(list["data"], json!([]), "nothing was saved");
    // Only the settings level may see or change them.
    let op = app.operator_token().await;
    let (s, _) = app.api(&op, Method::GET, "/integrations", None).await;
    assert_eq!(s, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn integrations_declared_in_channels_toml_are_kept_there() {
    let rx = Receiver::start().await;
    let toml = format!(
        "[[channels]]\nid = \"api\"\nkind = \"api\"\ncallback_url = \"{url}\"\nsecret = \"api-shared-secret-123\"\n\n\
         [[integrations]]\nid = \"crm\"\nkind = \"webhook\"\nname = \"CRM\"\nurl = \"{url}\"\nsecret = \"file-shared-secret-1\"\n\
         events = [\"conversation_created\"]\nchannels = [\"web\"]\n",
        url = rx.url
    );
    let app = TestApp::spawn_with(|s| std::fs::write(&s.channels_path, &toml).unwrap()).await;
    let token = app.api_token(ADMIN_EMAIL).await;
    let v = app
        .api_ok(&token, Method::GET, "/integrations/crm", None)
        .await;
    assert_eq!(v["source"], "file");
    assert_eq!(v["events"], json!(["conversation_created"]));
    assert_eq!(v["channels"], json!(["web"]));
    let (s, e) = app
        .api(
            &token,
            Method::PUT,
            "/integrations/crm",
            Some(json!({"kind": "webhook", "config": {"url": rx.url}})),
        )
        .await;
    assert_eq!(s, 409, "{e}");
    // Only the widget's conversations, only their creation.
    assert_eq!(
        app.widget_send("visitor-token-0000000044", "w1", "Привет")
            .await
            .status(),
        200
    );
    app.eventually("created", || async { rx.calls().len() == 1 })
        .await;
    assert_eq!(rx.calls()[0].event, "conversation_created");
    let e = perepiska::config::parse_integrations(
        "[[integrations]]\nid = \"crm\"\nkind = \"webhook\"\nurl = \"ftp://x\"\nsecret = \"file-shared-secret-1\"\n",
        |_| None,
        true,
    )
    .err()
    .unwrap_or_default();
    assert!(
        e.contains("integration \"crm\"") && e.contains("url"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversations_events_wait_for_the_one_before() {
    let rx = Receiver::start().await;
    let clock = perepiska::clock::Clock::manual(
        chrono::NaiveDate::from_ymd_opt(2026, 12, 1)
            .unwrap()
            .and_hms_opt(9, 0, 0)
            .unwrap(),
    );
    let c2 = clock.clone();
    let app = TestApp::spawn_with(move |s| s.clock = c2).await;
    let token = app.api_token(ADMIN_EMAIL).await;
    add_hook(
        &app,
        &token,
        &rx.url,
        json!({ "secret": "receiver-shared-secret", "events": ["message_incoming"] }),
    )
    .await;
    rx.fail_next(&[500]);
    let send = |n: &str, text: &str| {
        let (n, text) = (n.to_string(), text.to_string());
        let app = &app;
        async move {
            app.widget_send("visitor-token-0000000045", &n, &text)
                .await
                .status()
        }
    };
    assert_eq!(send("w1", "Первое").await, 200);
    app.eventually("the first attempt failed", || async {
        rx.calls().len() == 1
    })
    .await;
    app.failure_recorded(&token, "crm", &clock).await;
    // Another visitor's conversation is not held up by this one.
    assert_eq!(
        app.widget_send("visitor-token-0000000046", "v1", "Другой разговор")
            .await
            .status(),
        200
    );
    assert_eq!(send("w2", "Второе").await, 200);
    app.eventually("the other conversation's event", || async {
        rx.delivered().len() == 1
    })
    .await;
    assert_eq!(
        rx.delivered()[0]["data"]["message"]["text"],
        "Другой разговор"
    );
    // "Второе" waits for "Первое", which waits for its 30 s.
    clock.advance(chrono::Duration::seconds(30));
    app.eventually("both of the first conversation", || async {
        rx.delivered().len() == 3
    })
    .await;
    let texts: Vec<Value> = rx
        .calls()
        .iter()
        .map(|c| serde_json::from_str::<Value>(&c.body).unwrap()["data"]["message"]["text"].clone())
        .collect();
    assert_eq!(
        texts,
        [
            json!("Первое"),
            json!("Другой разговор"),
            json!("Первое"),
            json!("Второе")
        ]
    );
}

#[tokio::test]
async fn what_webhooks_read_uses_indexes() {
    let app = TestApp::spawn().await;
    let plans = app
        .store()
        .read(perepiska::store::explain::webhooks)
        .await
        .expect("plans");
    for (name, want) in [
        ("active", "integrations_key"),
        ("due", "webhook_deliveries_due"),
        ("older", "webhook_deliveries_order"),
        ("next", "webhook_deliveries_due"),
        ("log", "webhook_deliveries_log"),
        ("crm progress", "crm_links_conversation"),
        ("crm sidebar", "crm_links_conversation"),
    ] {
        let plan = plans
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, l)| l.join("\n"))
            .unwrap_or_else(|| panic!("no plan for {name}"));
        assert!(plan.contains(want), "{name}: {plan}");
        let scans = plan
            .lines()
            .any(|l| l.trim_start().starts_with("SCAN ") && !l.contains("USING"));
        assert!(!scans && !plan.contains("Seq Scan"), "{name}: {plan}");
    }
}
