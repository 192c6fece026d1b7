//! The live signals that are not messages: an operator typing reaches the widget (and the
//! messengers' typing action), the visitor's reading reaches the console.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::fake_telegram::{FakeTelegram, TOKEN};
use crate::support::{ADMIN_EMAIL, TestApp, next_event};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_visitor_sees_an_operator_typing_and_the_operator_sees_the_answer_read() {
    let app = TestApp::spawn().await;
    let token = app.api_token(ADMIN_EMAIL).await;
    let visitor = "visitor-token-typing-000001";
    let sent: Value = app
        .widget_send(visitor, "t1", "Есть размер M?")
        .await
        .json()
        .await
        .unwrap();
    let id = sent["conversation_id"].as_i64().unwrap();
    let mut widget = app
        .http
        .get(format!("{}/widget/web/live?visitor={visitor}", app.url))
        .send()
        .await
        .unwrap();
    let op = app.admin().await;
    let (status, _) = op
        .post_form(&format!("/console/c/{id}/typing"), &[("csrf", &op.csrf)])
        .await;
    assert_eq!(status, 204);
    next_event(&mut widget, Duration::from_secs(5), |e| {
        e["kind"] == "typing" && e["conversation_id"] == id
    })
    .await
    .expect("the visitor's stream hears the operator typing");
    // Without the session's token it is refused and nothing is said.
    let (status, _) = op
        .post_form(&format!("/console/c/{id}/typing"), &[("csrf", "forged")])
        .await;
    assert_eq!(status, 403);

    // The answer reaches the widget; the visitor, chat open, reads it.
    let answer = app
        .api_ok(
            &token,
            Method::POST,
            &format!("/conversations/{id}/messages"),
            Some(json!({"text": "Да, есть"})),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    app.eventually("the answer is in the widget", || async {
        app.widget_messages(visitor)
            .await
            .iter()
            .any(|m| m["id"] == answer)
    })
    .await;
    let read = |body: Value| {
        let http = app.http.clone();
        let url = format!("{}/widget/web/read", app.url);
        async move {
            let r = http.post(url).json(&body).send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.text().await.unwrap_or_default())
        }
    };
    // Bad input: refused as JSON, nothing read.
    let (status, body) = read(json!({"visitor": visitor})).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("\"error\""), "{body}");
    let (status, _) =
        read(json!({"visitor": "visitor-token-typing-unknown", "up_to": answer})).await;
    assert_eq!(status, 404);
    let delivery = |thread: Vec<Value>| {
        thread
            .into_iter()
            .find(|m| m["id"] == answer)
            .map(|m| m["delivery"].as_str().unwrap_or_default().to_string())
    };
    assert_ne!(
        delivery(app.thread(&token, id).await).as_deref(),
        Some("read")
    );
    let mut console = op
        .http
        .get(format!("{}/console/live", app.url))
        .send()
        .await
        .unwrap();
    let (status, _) = read(json!({"visitor": visitor, "up_to": answer})).await;
    assert_eq!(status, 204);
    assert_eq!(
        delivery(app.thread(&token, id).await).as_deref(),
        Some("read")
    );
    next_event(&mut console, Duration::from_secs(5), |e| {
        e["kind"] == "delivery" && e["conversation_id"] == id
    })
    .await
    .expect("the console hears it was read");
    let (_, html) = op.get(&format!("/console/partials/thread/{id}")).await;
    assert!(html.contains("dl-read"), "the thread shows it read");
    drop((widget, console));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_telegram_customer_sees_the_typing_action() {
    let tg = FakeTelegram::start().await;
    let toml = format!(
        "[[channels]]\nid = \"tg\"\nkind = \"telegram\"\nname = \"Поддержка\"\ntoken = \"{TOKEN}\"\napi_base = \"{}\"\npoll_timeout = 1\n",
        tg.url
    );
    let app = TestApp::spawn_with(|s| std::fs::write(&s.channels_path, &toml).unwrap()).await;
    let token = app.api_token(ADMIN_EMAIL).await;
    tg.push(FakeTelegram::text_update(777_000_333, 1, "Добрый день"));
    app.eventually("the conversation exists", || async {
        let (_, v) = app
            .api(&token, Method::GET, "/conversations?channel=tg", None)
            .await;
        v["data"].as_array().is_some_and(|d| !d.is_empty())
    })
    .await;
    let (_, v) = app
        .api(&token, Method::GET, "/conversations?channel=tg", None)
        .await;
    let id = v["data"][0]["id"].as_i64().unwrap();
    let op = app.admin().await;
    let (status, _) = op
        .post_form(&format!("/console/c/{id}/typing"), &[("csrf", &op.csrf)])
        .await;
    assert_eq!(status, 204);
    app.eventually("Telegram is told the bot is typing", || async {
        tg.sent()
            .iter()
            .any(|m| m.method == "sendChatAction" && m.chat_id == 777_000_333 && m.text == "typing")
    })
    .await;
    tg.stop().await;
}
