use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{ADMIN_EMAIL, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_everything() {
    let mut app = TestApp::spawn().await;
    let v: Value = app
        .widget_send("visitor-token-0000000001", "before", "До перезапуска")
        .await
        .json()
        .await
        .unwrap();
    let id = v["conversation_id"].as_i64().unwrap();
    let token = app.api_token(ADMIN_EMAIL).await;
    app.api_ok(
        &token,
        Method::POST,
        &format!("/conversations/{id}/messages"),
        Some(json!({"text": "Ответ до перезапуска"})),
    )
    .await;
    app.api_ok(
        &token,
        Method::PATCH,
        &format!("/conversations/{id}"),
        Some(json!({"priority": "high"})),
    )
    .await;
    let op = app.admin().await;

    app.restart().await;

    // Same data, same tokens, same sessions, same visitor identity.
    let (s, c) = app
        .api(&token, Method::GET, &format!("/conversations/{id}"), None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(c["priority"], "high");
    let texts: Vec<String> = app
        .widget_messages("visitor-token-0000000001")
        .await
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(texts, vec!["До перезапуска", "Ответ до перезапуска"]);
    let op2 = crate::support::Operator {
        http: op.http,
        url: app.url.clone(),
        csrf: op.csrf,
    };
    let (s, html) = op2.get(&format!("/console?c={id}")).await;
    assert_eq!(s, 200, "the session survives a restart");
    assert!(html.contains("До перезапуска"));
    // The same client id after the restart is still recognised.
    let again: Value = app
        .widget_send("visitor-token-0000000001", "before", "До перезапуска")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["duplicate"], true);
    // Numbers continue.
    let v: Value = app
        .widget_send("visitor-token-0000000002", "new", "Новый")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["conversation_number"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undelivered_messages_are_delivered_after_a_restart() {
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    let toml = format!(
        "[[channels]]\nid = \"crm\"\nkind = \"api\"\ncallback_url = \"{}/cb\"\nsecret = \"crm-shared-secret-123\"\n",
        server.uri()
    );
    // A long backoff: the retry would not happen before the restart on its own.
    let mut app = TestApp::spawn_with(|s| {
        std::fs::write(&s.channels_path, &toml).unwrap();
        s.outbox_backoff = std::time::Duration::from_secs(3600);
    })
    .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let body = serde_json::to_vec(
        &json!({"contact": {"id": "c1"}, "message": {"id": "1", "text": "Привет"}}),
    )
    .unwrap();
    app.http
        .post(format!("{}/webhooks/crm", app.url))
        .header(
            "X-Perepiska-Signature",
            perepiska::channels::api::signature("crm-shared-secret-123", &body),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    let token = app.api_token(ADMIN_EMAIL).await;
    let (_, list) = app.api(&token, Method::GET, "/conversations", None).await;
    let id = list["data"][0]["id"].as_i64().unwrap();
    app.api_ok(
        &token,
        Method::POST,
        &format!("/conversations/{id}/messages"),
        Some(json!({"text": "Ответ"})),
    )
    .await;
    app.eventually("first attempt failed", || async {
        server.received_requests().await.unwrap().len() == 1
    })
    .await;
    app.stop().await;
    // While it is down, the retry becomes due (as if the hour had passed).
    let store = app.store();
    store
        .write(|c| {
            use diesel::prelude::*;
            use perepiska::store::schema::outbox;
            diesel::update(outbox::table)
                .set(outbox::next_attempt_at.eq(perepiska::store::now()))
                .execute(c)?;
            Ok(())
        })
        .await
        .unwrap();
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    app.restart().await;
    app.eventually("delivered after restart", || async {
        app.thread(&token, id)
            .await
            .iter()
            .any(|m| m["kind"] == "operator" && m["delivery"] == "sent")
    })
    .await;
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_visitors_are_all_committed() {
    let app = TestApp::spawn().await;
    let mut tasks = Vec::new();
    for v in 0..20 {
        let http = app.http.clone();
        let url = app.url.clone();
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for m in 0..10 {
                let r: Value = http
                    .post(format!("{url}/widget/web/messages"))
                    .json(&json!({"visitor": format!("concurrent-visitor-{v:06}"), "client_id": format!("m{m}"), "text": format!("сообщение {m}")}))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                ids.push(r["message_id"].as_i64().unwrap());
            }
            ids
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 200, "every acknowledged message has its own id");
    let token = app.api_token(ADMIN_EMAIL).await;
    let (_, v) = app.api(&token, Method::GET, "/conversations", None).await;
    assert_eq!(v["total"], 20);
    let numbers: std::collections::BTreeSet<i64> = {
        let (_, p1) = app
            .api(&token, Method::GET, "/conversations?per_page=100", None)
            .await;
        p1["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["number"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(
        numbers,
        (1..=20).collect(),
        "numbers are unique and gapless"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_message_sent_concurrently_is_stored_once() {
    let app = TestApp::spawn().await;
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let http = app.http.clone();
        let url = app.url.clone();
        tasks.push(tokio::spawn(async move {
            let r: Value = http
                .post(format!("{url}/widget/web/messages"))
                .json(&json!({"visitor": "impatient-visitor-000001", "client_id": "once", "text": "Алло?"}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            r["message_id"].as_i64().unwrap()
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "every answer names the same message");
    assert_eq!(
        app.widget_messages("impatient-visitor-000001").await.len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_sessions_are_deleted() {
    use diesel::prelude::*;
    use perepiska::store::schema::sessions;
    let mut app = TestApp::spawn().await;
    app.admin().await;
    app.store()
        .write(|c| {
            perepiska::store::users::create_session(
                c,
                "expired-token-hash",
                1,
                perepiska::domain::ProjectId(1),
                "csrf",
                chrono::Duration::days(-1),
            )
        })
        .await
        .unwrap();
    let count = |app: &TestApp| {
        let store = app.store();
        async move {
            store
                .read(|c| {
                    Ok(sessions::table
                        .filter(sessions::token_hash.eq("expired-token-hash"))
                        .count()
                        .get_result::<i64>(c)?)
                })
                .await
                .unwrap()
        }
    };
    assert_eq!(count(&app).await, 1);
    // The sweep runs when the server starts (and hourly after).
    app.restart().await;
    app.eventually("the expired session is gone", || async {
        count(&app).await == 0
    })
    .await;
    let live = app
        .store()
        .read(|c| Ok(sessions::table.count().get_result::<i64>(c)?))
        .await
        .unwrap();
    assert!(live >= 1, "the admin's live session stays");
}
