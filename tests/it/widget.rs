use std::time::Duration;

use serde_json::Value;

use crate::support::{TestApp, next_event};

const VISITOR: &str = "visitor-token-0000000001";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visitor_message_reaches_api_and_console_and_reply_comes_back_live() {
    let app = TestApp::spawn().await;
    let r = app
        .widget_send(VISITOR, "m1", "Здравствуйте, где мой заказ 4411?")
        .await;
    assert_eq!(r.status(), 200);
    let rec: Value = r.json().await.unwrap();
    let conv_id = rec["conversation_id"].as_i64().unwrap();
    assert_eq!(rec["conversation_number"], 1);
    assert_eq!(rec["new_conversation"], true);

    // Visible through the API…
    let token = app.api_token(crate::support::ADMIN_EMAIL).await;
    let msgs = app.thread(&token, conv_id).await;
    let texts: Vec<&str> = msgs
        .iter()
        .filter(|m| m["kind"] == "customer")
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, vec!["Здравствуйте, где мой заказ 4411?"]);

    // …and in the console.
    let op = app.admin().await;
    let (s, html) = op.get("/console").await;
    assert_eq!(s, 200);
    assert!(
        html.contains("Здравствуйте, где мой заказ 4411?"),
        "list shows the preview"
    );
    let (_, html) = op.get(&format!("/console?c={conv_id}")).await;
    assert!(html.contains("#1"));

    // The visitor listens live; the operator answers from the console.
    let mut live = app
        .http
        .get(format!("{}/widget/web/live?visitor={VISITOR}", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200);
    assert_eq!(
        op.reply(conv_id, "Заказ уже в пути, прибудет завтра", false)
            .await,
        303
    );
    let ev = next_event(&mut live, Duration::from_secs(5), |e| {
        e["kind"] == "delivery"
    })
    .await;
    assert!(
        ev.is_some(),
        "the visitor's stream announces the operator's answer"
    );
    let history = app.widget_messages(VISITOR).await;
    let last = history.last().unwrap();
    assert_eq!(last["kind"], "operator");
    assert_eq!(last["text"], "Заказ уже в пути, прибудет завтра");
    assert_eq!(last["author"], "Admin");
    assert_eq!(last["delivery"], "sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_submission_creates_one_message() {
    let app = TestApp::spawn().await;
    let a: Value = app
        .widget_send(VISITOR, "same-id", "Повтор")
        .await
        .json()
        .await
        .unwrap();
    let b: Value = app
        .widget_send(VISITOR, "same-id", "Повтор")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(a["message_id"], b["message_id"]);
    assert_eq!(b["duplicate"], true);
    let msgs = app.widget_messages(VISITOR).await;
    assert_eq!(msgs.len(), 1);
    // The same client id from another visitor is another message.
    let c: Value = app
        .widget_send("other-visitor-0000000002", "same-id", "Повтор")
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(c["message_id"], a["message_id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_survives_and_second_message_joins_the_conversation() {
    let app = TestApp::spawn().await;
    let a: Value = app
        .widget_send(VISITOR, "a", "Первое")
        .await
        .json()
        .await
        .unwrap();
    let b: Value = app
        .widget_send(VISITOR, "b", "Второе")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(a["conversation_id"], b["conversation_id"]);
    assert_eq!(b["new_conversation"], false);
    let texts: Vec<String> = app
        .widget_messages(VISITOR)
        .await
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(texts, vec!["Первое", "Второе"]);
    // Another visitor sees none of it.
    assert!(
        app.widget_messages("stranger-token-000000000")
            .await
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_widget_input_is_refused_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let cases = [
        (r#"{"visitor":"short","client_id":"x","text":"hi"}"#, 401),
        (
            r#"{"visitor":"visitor-token-0000000001","client_id":"x","text":"   "}"#,
            400,
        ),
        (
            r#"{"visitor":"visitor-token-0000000001","client_id":"bad id!","text":"hi"}"#,
            400,
        ),
        (r#"not json"#, 400),
        (
            r#"{"visitor":"visitor-token-0000000001","client_id":"x","text":"hi","email":"nope"}"#,
            400,
        ),
    ];
    for (body, status) in cases {
        let r = app
            .http
            .post(format!("{}/widget/web/messages", app.url))
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), status, "{body}");
        let v: Value = r.json().await.unwrap();
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "clear error for {body}"
        );
    }
    let long = "я".repeat(10_001);
    let r = app.widget_send(VISITOR, "long", &long).await;
    assert_eq!(r.status(), 400);
    assert!(app.widget_messages(VISITOR).await.is_empty());
    let r = app
        .http
        .post(format!("{}/widget/nope/messages", app.url))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visitor_attaches_a_file_and_the_operator_downloads_it() {
    let app = TestApp::spawn().await;
    let png: Vec<u8> = b"\x89PNG\r\n\x1a\nfake-image-bytes".to_vec();
    let r = app
        .http
        .post(format!(
            "{}/widget/web/files?visitor={VISITOR}&client_id=f1&name=screen%20shot.png",
            app.url
        ))
        .header("Content-Type", "image/png")
        .body(png.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let rec: Value = r.json().await.unwrap();
    let msgs = app.widget_messages(VISITOR).await;
    let att = &msgs[0]["attachments"][0];
    assert_eq!(att["file_name"], "screen shot.png");
    assert_eq!(att["image"], true);

    let op = app.admin().await;
    let (_, html) = op
        .get(&format!("/console?c={}", rec["conversation_id"]))
        .await;
    assert!(html.contains("screen shot.png"));
    let id = att["id"].as_i64().unwrap();
    let r = op
        .http
        .get(format!("{}/console/attachments/{id}", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(r.bytes().await.unwrap().to_vec(), png);
    // The visitor can fetch their own file; a stranger cannot.
    let mine = app
        .http
        .get(format!(
            "{}/widget/web/attachments/{id}?visitor={VISITOR}",
            app.url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(mine.status(), 200);
    let other = app
        .http
        .get(format!(
            "{}/widget/web/attachments/{id}?visitor=stranger-token-000000000",
            app.url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 404);

    // An HTML upload is never served as HTML.
    app.http
        .post(format!(
            "{}/widget/web/files?visitor={VISITOR}&client_id=f2&name=x.html",
            app.url
        ))
        .header("Content-Type", "text/html")
        .body("<script>alert(1)</script>")
        .send()
        .await
        .unwrap();
    let msgs = app.widget_messages(VISITOR).await;
    let html_id = msgs[1]["attachments"][0]["id"].as_i64().unwrap();
    let r = op
        .http
        .get(format!("{}/console/attachments/{html_id}", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "application/octet-stream");
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_empty_files_are_refused() {
    let app = TestApp::spawn_with(|s| s.max_attachment_bytes = 1024).await;
    let r = app
        .http
        .post(format!(
            "{}/widget/web/files?visitor={VISITOR}&client_id=big&name=big.bin",
            app.url
        ))
        .body(vec![7u8; 2048])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = app
        .http
        .post(format!(
            "{}/widget/web/files?visitor={VISITOR}&client_id=empty&name=e.txt",
            app.url
        ))
        .body(Vec::<u8>::new())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(app.widget_messages(VISITOR).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internal_notes_never_reach_the_visitor() {
    let app = TestApp::spawn().await;
    let rec: Value = app
        .widget_send(VISITOR, "n1", "Вопрос")
        .await
        .json()
        .await
        .unwrap();
    let op = app.admin().await;
    assert_eq!(
        op.reply(
            rec["conversation_id"].as_i64().unwrap(),
            "клиент VIP, ответить быстро",
            true
        )
        .await,
        303
    );
    let (_, html) = op
        .get(&format!("/console?c={}", rec["conversation_id"]))
        .await;
    assert!(html.contains("клиент VIP, ответить быстро"));
    let texts: Vec<String> = app
        .widget_messages(VISITOR)
        .await
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(texts, vec!["Вопрос"]);
}

/// Sets the site widget's keys through the channels API, as the settings page does.
async fn widget_settings(app: &crate::support::TestApp, config: serde_json::Value) -> Value {
    let token = app.api_token(crate::support::ADMIN_EMAIL).await;
    app.api_ok(
        &token,
        reqwest::Method::PATCH,
        "/channels/web",
        Some(serde_json::json!({ "config": config })),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widget_runs_only_on_the_listed_sites_and_not_for_blocked_addresses() {
    let app = TestApp::spawn().await;
    widget_settings(
        &app,
        serde_json::json!({"allowed_domains": ["shop.ru", "*.shop.org"], "color": "#ff5500", "side": "left", "language": "en"}),
    )
    .await;
    let from = |origin: &'static str| {
        let http = app.http.clone();
        let url = app.url.clone();
        async move {
            let r = http
                .post(format!("{url}/widget/web/messages"))
                .header("Origin", origin)
                .json(&serde_json::json!({"visitor": "visitor-token-0123456789", "client_id": "c1", "text": "Привет"}))
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap_or_default())
        }
    };
    let (s, e) = from("https://evil.example").await;
    assert_eq!(s, 403, "{e}");
    assert_eq!(e["error"]["code"], "origin_not_allowed");
    let token = app.api_token(crate::support::ADMIN_EMAIL).await;
    let (_, list) = app
        .api(&token, reqwest::Method::GET, "/conversations", None)
        .await;
    assert_eq!(list["total"], 0, "a refused site stores nothing");
    let (s, e) = from("https://www.shop.org").await;
    assert_eq!(s, 200, "{e}");
    // The look the widget is told to take.
    let r = app
        .http
        .get(format!("{}/widget/web/config", app.url))
        .header("Origin", "https://shop.ru")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let c: Value = r.json().await.unwrap();
    assert_eq!(
        (&c["color"], &c["side"], &c["language"]),
        (
            &serde_json::json!("#ff5500"),
            &serde_json::json!("left"),
            &serde_json::json!("en")
        )
    );
    let r = app
        .http
        .get(format!("{}/widget/web/config", app.url))
        .header("Origin", "https://shop.ru.evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // This test's client is 127.0.0.1: blocking its network refuses it, whatever the site.
    widget_settings(
        &app,
        serde_json::json!({"blocked_ips": "203.0.113.7\n127.0.0.0/8"}),
    )
    .await;
    let (s, e) = from("https://shop.ru").await;
    assert_eq!(s, 403, "{e}");
    assert_eq!(e["error"]["code"], "blocked");
    // Bad settings are refused with the reason and change nothing.
    let (s, e) = app
        .api(
            &token,
            reqwest::Method::PATCH,
            "/channels/web",
            Some(serde_json::json!({"config": {"blocked_ips": ["10.0.0.0/99"], "color": "blue"}})),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(e["error"]["code"], "invalid_config");
    let (s, _) = from("https://shop.ru").await;
    assert_eq!(s, 403, "still blocked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_nobody_online_the_visitor_leaves_a_message_in_the_offline_form() {
    let app = TestApp::spawn().await;
    widget_settings(&app, serde_json::json!({"offline_form": true})).await;
    let admin = app.admin().await;
    let (s, _) = admin
        .post_form(
            "/console/presence",
            &[("csrf", &admin.csrf), ("online", "0")],
        )
        .await;
    assert_eq!(s, 303);
    let config = || async {
        app.http
            .get(format!("{}/widget/web/config", app.url))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    assert_eq!(config().await["offline_form"], true, "nobody is online");
    let post = |body: Value| {
        let http = app.http.clone();
        let url = app.url.clone();
        async move {
            http.post(format!("{url}/widget/web/messages"))
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let visitor = "offline-visitor-0123456789";
    let r = post(
        serde_json::json!({"visitor": visitor, "client_id": "o1", "offline": true,
        "name": "Пётр", "text": "Перезвоните, пожалуйста"}),
    )
    .await;
    assert_eq!(r.status(), 400, "a phone or an e-mail is needed");
    let r = post(
        serde_json::json!({"visitor": visitor, "client_id": "o1", "offline": true,
        "name": "Пётр", "phone": "+7 912 345-67-89", "text": "Перезвоните, пожалуйста"}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let token = app.api_token(crate::support::ADMIN_EMAIL).await;
    let (_, list) = app
        .api(&token, reqwest::Method::GET, "/conversations", None)
        .await;
    let conv = &list["data"][0];
    assert_eq!(conv["contact"]["name"], "Пётр", "{conv}");
    let id = conv["id"].as_i64().unwrap();
    let thread = app.thread(&token, id).await;
    assert!(
        thread
            .iter()
            .any(|m| m["kind"] == "system"
                && m["text"].as_str().unwrap_or("").contains("offline form")),
        "the conversation says it was left offline: {thread:?}"
    );
    // The operator's answer reaches the visitor when they come back.
    app.api_ok(
        &token,
        reqwest::Method::POST,
        &format!("/conversations/{id}/messages"),
        Some(serde_json::json!({"text": "Перезвоним в 10:00"})),
    )
    .await;
    app.eventually("the answer is in the visitor's chat", || async {
        app.widget_messages(visitor)
            .await
            .iter()
            .any(|m| m["text"] == "Перезвоним в 10:00")
    })
    .await;
    // Someone online: the chat again.
    let (s, _) = admin
        .post_form(
            "/console/presence",
            &[("csrf", &admin.csrf), ("online", "1")],
        )
        .await;
    assert_eq!(s, 303);
    assert_eq!(config().await["offline_form"], false);
}
