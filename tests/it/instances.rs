//! Several instances on one PostgreSQL database and one Redis: what one instance handles, the
//! consoles and widgets connected to another see live. Needs TEST_DATABASE_URL and
//! TEST_REDIS_URL (./scripts/test starts both; see `support::several_instances`).

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{ADMIN_EMAIL, TestApp, next_event};

fn redis_url() -> Option<String> {
    crate::support::several_instances("several instances")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_events_cross_instances_through_redis() {
    let Some(redis) = redis_url() else {
        return;
    };
    let app = TestApp::spawn_with(|s| s.redis_url = Some(redis.clone())).await;
    let second = perepiska::start(app.settings.clone())
        .await
        .expect("second instance");
    let other = second.url.clone();

    // An operator's console is connected to the second instance (sessions are shared rows).
    let op = app.admin().await;
    let mut live = op
        .http
        .get(format!("{other}/console/live"))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200);

    // A visitor writes through the first instance.
    let visitor = "visitor-token-redis-0000001";
    let sent: Value = app
        .widget_send(visitor, "r1", "Через Redis видно?")
        .await
        .json()
        .await
        .unwrap();
    let ev = next_event(&mut live, Duration::from_secs(5), |e| {
        e["kind"] == "message" && e["from_customer"] == true
    })
    .await
    .expect("the second instance's console hears the first instance's message");
    assert_eq!(ev["conversation_id"], sent["conversation_id"]);

    // The visitor's widget stream is on the first instance; the answer goes through the second.
    let mut widget = app
        .http
        .get(format!("{}/widget/web/live?visitor={visitor}", app.url))
        .send()
        .await
        .unwrap();
    let token = app.api_token(ADMIN_EMAIL).await;
    let id = sent["conversation_id"].as_i64().unwrap();
    let r = app
        .http
        .post(format!("{other}/api/v1/conversations/{id}/messages"))
        .bearer_auth(&token)
        .json(&json!({"text": "Видно!"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    next_event(&mut widget, Duration::from_secs(5), |_| true)
        .await
        .expect("the visitor's stream on the first instance hears the answer");
    let thread = app.thread(&token, id).await;
    assert!(thread.iter().any(|m| m["text"] == "Видно!"));
    // Open streams would hold the graceful shutdown for its full timeout.
    drop((live, widget));
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_redis_stops_start_up_with_its_address() {
    let r = perepiska::start(perepiska::config::Settings {
        redis_url: Some("redis://127.0.0.1:9/".into()),
        data_dir: tempfile::tempdir().unwrap().keep().join("data"),
        bind: "127.0.0.1:0".into(),
        ..Default::default()
    })
    .await;
    let e = r.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(e.contains("Redis") && e.contains("127.0.0.1:9"), "{e}");
}

/// A channel connected, changed or paused through one instance works so on the others,
/// without a restart (each re-reads the channels on its scheduler's reload).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_changed_on_one_instance_is_changed_on_the_others() {
    let Some(redis) = redis_url() else {
        return;
    };
    let app = TestApp::spawn_with(|s| {
        s.redis_url = Some(redis.clone());
        s.settings_reload = Duration::from_millis(300);
    })
    .await;
    let second = perepiska::start(app.settings.clone())
        .await
        .expect("second instance");
    let other = second.url.clone();
    let token = app.api_token(ADMIN_EMAIL).await;
    let config_on = |base: String| {
        let http = app.http.clone();
        async move {
            let r = http
                .get(format!("{base}/widget/shop2/config"))
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap_or_default())
        }
    };
    app.api_ok(
        &token,
        reqwest::Method::POST,
        "/channels",
        Some(json!({"id": "shop2", "kind": "widget", "name": "Второй сайт", "config": {}})),
    )
    .await;
    app.eventually("the other instance serves the new widget", || async {
        config_on(other.clone()).await.0 == 200
    })
    .await;
    // Changed through the second instance, seen by the first.
    let r = app
        .http
        .patch(format!("{other}/api/v1/channels/shop2"))
        .bearer_auth(&token)
        .json(&json!({"config": {"color": "#ff5500"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    app.eventually("the first instance has the new colour", || async {
        config_on(app.url.clone()).await.1["color"] == "#ff5500"
    })
    .await;
    // Paused on the first: the second stops taking it too.
    app.api_ok(
        &token,
        reqwest::Method::PATCH,
        "/channels/shop2",
        Some(json!({"enabled": false})),
    )
    .await;
    app.eventually("the other instance stopped the paused widget", || async {
        config_on(other.clone()).await.0 == 404
    })
    .await;
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_switched_off_on_one_instance_loses_their_stream_on_another() {
    let Some(redis) = redis_url() else {
        return;
    };
    let app = TestApp::spawn_with(|s| s.redis_url = Some(redis.clone())).await;
    let second = perepiska::start(app.settings.clone())
        .await
        .expect("second instance");
    app.add_member(
        "far@example.com",
        "Далёкий",
        "far-pass-1111",
        perepiska::domain::Role::Operator,
    )
    .await;
    let far = app.login("far@example.com", "far-pass-1111").await;
    let mut live = far
        .http
        .get(format!("{}/console/live", second.url))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200);
    let token = app.api_token(ADMIN_EMAIL).await;
    let id = app.user_id("far@example.com").await;
    app.api_ok(
        &token,
        reqwest::Method::PATCH,
        &format!("/users/{id}"),
        Some(json!({"active": false})),
    )
    .await;
    next_event(&mut live, Duration::from_secs(5), |e| {
        e["signed_out"] == true
    })
    .await
    .expect("the stream on the other instance is told at once");
    drop(live);
    second.stop().await;
}
