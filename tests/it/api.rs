use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{ADMIN_EMAIL, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_without_or_with_a_wrong_token_is_401() {
    let app = TestApp::spawn().await;
    let r = app
        .http
        .get(format!("{}/api/v1/conversations", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "unauthorized");
    assert!(v["error"]["message"].as_str().unwrap().contains("Bearer"));
    let (s, _) = app
        .api("ppk_wrong", Method::GET, "/conversations", None)
        .await;
    assert_eq!(s, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_filter_page_reply_and_patch() {
    let app = TestApp::spawn().await;
    for i in 0..3 {
        app.widget_send(
            &format!("visitor-token-00000000{i:02}"),
            "x",
            &format!("Вопрос номер {i}"),
        )
        .await;
    }
    let token = app.api_token(ADMIN_EMAIL).await;
    let (s, v) = app
        .api(&token, Method::GET, "/conversations?per_page=2", None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(v["total"], 3);
    assert_eq!(v["data"].as_array().unwrap().len(), 2);
    let (_, v2) = app
        .api(
            &token,
            Method::GET,
            "/conversations?per_page=2&page=2",
            None,
        )
        .await;
    assert_eq!(v2["data"].as_array().unwrap().len(), 1);
    let first = &v["data"][0];
    let id = first["id"].as_i64().unwrap();
    assert_eq!(first["channel"]["id"], "web");
    assert_eq!(first["status"], "new");

    // Reply and note through the API.
    let (s, m) = app
        .api(
            &token,
            Method::POST,
            &format!("/conversations/{id}/messages"),
            Some(json!({"text": "Ответ из CRM"})),
        )
        .await;
    assert_eq!(s, 201);
    assert_eq!(m["kind"], "operator");
    let (s, n) = app
        .api(
            &token,
            Method::POST,
            &format!("/conversations/{id}/messages"),
            Some(json!({"text": "для своих", "private": true})),
        )
        .await;
    assert_eq!(s, 201);
    assert_eq!(n["kind"], "note");

    // PATCH: status, priority, due date, assignee, then unassign and clear the due date.
    let (s, c) = app
        .api(&token, Method::PATCH, &format!("/conversations/{id}"), Some(json!({"status": "pending", "priority": "high", "due_at": "2027-02-01T12:00:00+03:00"})))
        .await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["status"], "pending");
    assert_eq!(c["priority"], "high");
    assert_eq!(c["due_at"], "2027-02-01T09:00:00Z");
    assert_eq!(c["assignee"]["name"], "Admin", "replying assigned it");
    let (s, c) = app
        .api(
            &token,
            Method::PATCH,
            &format!("/conversations/{id}"),
            Some(json!({"assignee_id": null, "due_at": null})),
        )
        .await;
    assert_eq!(s, 200);
    assert!(c["assignee"].is_null());
    assert!(c["due_at"].is_null());

    // Filters.
    let (_, v) = app
        .api(&token, Method::GET, "/conversations?status=pending", None)
        .await;
    assert_eq!(v["total"], 1);
    let (_, v) = app
        .api(&token, Method::GET, "/conversations?assignee=none", None)
        .await;
    assert_eq!(v["total"], 3);
    let (_, v) = app
        .api(
            &token,
            Method::GET,
            "/conversations?q=%D0%BD%D0%BE%D0%BC%D0%B5%D1%80%202",
            None,
        )
        .await; // "номер 2"
    assert_eq!(v["total"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_api_input_gets_clear_json_errors_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let v: Value = app
        .widget_send("visitor-token-0000000001", "x", "Вопрос")
        .await
        .json()
        .await
        .unwrap();
    let id = v["conversation_id"].as_i64().unwrap();
    let token = app.api_token(ADMIN_EMAIL).await;
    let cases = [
        (json!({"status": "done"}), 400, "unknown status"),
        (json!({"priority": "asap"}), 400, "unknown priority"),
        (json!({"due_at": "tomorrow"}), 400, "RFC 3339"),
        (json!({"assignee_id": 999}), 400, "not a member"),
        (json!({"colour": "red"}), 400, "unknown field"),
        (
            json!({"status": "reopened"}),
            400,
            "cannot change the status",
        ),
    ];
    for (body, status, needle) in cases {
        let (s, e) = app
            .api(
                &token,
                Method::PATCH,
                &format!("/conversations/{id}"),
                Some(body.clone()),
            )
            .await;
        assert_eq!(s, status, "{body}");
        assert!(
            e["error"]["message"]
                .as_str()
                .unwrap_or("")
                .contains(needle),
            "{body} → {e}"
        );
    }
    let (s, e) = app
        .api(
            &token,
            Method::POST,
            &format!("/conversations/{id}/messages"),
            Some(json!({"text": "  "})),
        )
        .await;
    assert_eq!(s, 400);
    assert!(e["error"]["message"].as_str().unwrap().contains("empty"));
    let (s, _) = app
        .api(&token, Method::GET, "/conversations/999999", None)
        .await;
    assert_eq!(s, 404);
    let (s, _) = app
        .api(&token, Method::GET, "/conversations?per_page=1000", None)
        .await;
    assert_eq!(s, 400);
    let r = app
        .http
        .patch(format!("{}/api/v1/conversations/{id}", app.url))
        .bearer_auth(&token)
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "invalid");

    let (_, c) = app
        .api(&token, Method::GET, &format!("/conversations/{id}"), None)
        .await;
    assert_eq!(c["status"], "new");
    assert_eq!(c["priority"], "normal");
    let msgs = app.thread(&token, id).await;
    assert_eq!(
        msgs.iter().filter(|m| m["kind"] == "system").count(),
        1,
        "only the creation event"
    );
}

async fn openapi(app: &TestApp) -> Value {
    app.http
        .get(format!("{}/api/v1/openapi.json", app.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_health_and_metrics() {
    let app = TestApp::spawn().await;
    let doc = openapi(&app).await;
    assert_eq!(doc["openapi"], "3.1.0");
    for p in [
        "/conversations",
        "/conversations/{id}",
        "/conversations/{id}/messages",
    ] {
        assert!(doc["paths"][p].is_object(), "{p} documented");
    }
    let r = app
        .http
        .get(format!("{}/healthz", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    app.widget_send("visitor-token-0000000001", "m", "Привет")
        .await;
    let m = app.metrics().await;
    assert!(
        m.contains("perepiska_messages_received_total{channel=\"widget\"} 1"),
        "{m}"
    );
    assert!(m.contains("perepiska_outbox_depth 0"));
    assert!(m.contains("perepiska_live_connections 0"));
}

/// The document is made from the same registration as the router: every operation in it is
/// served (a wrong token gets the API's 401, not its "no such endpoint" 404), and what the API
/// answers carries the fields the document promises.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_describes_what_is_served() {
    let app = TestApp::spawn().await;
    let doc = openapi(&app).await;
    assert_eq!(doc["servers"][0]["url"], "/api/v1");
    let mut operations = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            operations.push(format!("{} {path}", method.to_uppercase()));
            assert!(
                op["responses"]
                    .as_object()
                    .unwrap()
                    .values()
                    .all(|r| r["description"].is_string()),
                "{method} {path}: every response is described"
            );
            let url = format!("{}/api/v1{}", app.url, path.replace("{id}", "1"));
            // A body of the described shape, so only the token can be wrong.
            let mut body = serde_json::Map::new();
            if let Some(r) =
                op["requestBody"]["content"]["application/json"]["schema"]["$ref"].as_str()
            {
                let name = r.rsplit('/').next().unwrap();
                for f in doc["components"]["schemas"][name]["required"]
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    body.insert(f.as_str().unwrap().to_string(), json!("x"));
                }
            }
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let r = app
                .http
                .request(m, &url)
                .bearer_auth("not-a-token")
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 401, "{method} {path} is routed and guarded");
        }
    }
    operations.sort();
    assert_eq!(
        operations,
        [
            "DELETE /blacklist/{id}",
            "DELETE /canned_responses/{id}",
            "DELETE /canned_responses/{id}/files/{file_id}",
            "DELETE /channels/{id}",
            "DELETE /integrations/{id}",
            "DELETE /tags/{id}",
            "DELETE /teams/{id}",
            "DELETE /users/{id}",
            "GET /blacklist",
            "GET /blacklist/{id}/messages",
            "GET /canned_responses",
            "GET /canned_responses/{id}",
            "GET /channels",
            "GET /channels/{id}",
            "GET /contacts",
            "GET /contacts/{id}",
            "GET /conversations",
            "GET /conversations/{id}",
            "GET /conversations/{id}/messages",
            "GET /integrations",
            "GET /integrations/{id}",
            "GET /integrations/{id}/deliveries",
            "GET /me/notifications",
            "GET /reports/operators",
            "GET /reports/settings",
            "GET /reports/summary",
            "GET /reports/timeseries",
            "GET /tags",
            "GET /teams",
            "GET /users",
            "GET /users/{id}",
            "PATCH /canned_responses/{id}",
            "PATCH /channels/{id}",
            "PATCH /contacts/{id}",
            "PATCH /conversations/{id}",
            "PATCH /tags/{id}",
            "PATCH /teams/{id}",
            "PATCH /users/{id}",
            "POST /blacklist",
            "POST /canned_responses",
            "POST /canned_responses/{id}/files",
            "POST /channels",
            "POST /channels/verify",
            "POST /contacts",
            "POST /contacts/import",
            "POST /contacts/{id}/merge",
            "POST /conversations/{id}/messages",
            "POST /conversations/{id}/template",
            "POST /integrations",
            "POST /integrations/{id}/deliveries/{delivery}/retry",
            "POST /integrations/{id}/pause",
            "POST /integrations/{id}/resume",
            "POST /tags",
            "POST /teams",
            "POST /users",
            "PUT /channels/{id}/distribution",
            "PUT /integrations/{id}",
            "PUT /me/notifications",
            "PUT /reports/settings",
        ]
    );
    // What is served matches what is described.
    app.widget_send("visitor-token-0000000002", "m1", "Где мой заказ?")
        .await;
    let token = app.api_token(ADMIN_EMAIL).await;
    let (_, page) = app
        .api(&token, reqwest::Method::GET, "/conversations", None)
        .await;
    let schemas = &doc["components"]["schemas"];
    for (schema, value) in [
        ("ConversationPage", &page),
        ("Conversation", &page["data"][0]),
    ] {
        let s = &schemas[schema];
        for field in s["required"].as_array().unwrap() {
            let f = field.as_str().unwrap();
            assert!(
                !value[f].is_null(),
                "{schema}.{f} is in the answer: {value}"
            );
        }
        for key in value.as_object().unwrap().keys() {
            assert!(
                s["properties"][key].is_object(),
                "{schema}.{key} is answered but not described"
            );
        }
    }
    let status = page["data"][0]["status"].as_str().unwrap();
    assert!(
        schemas["Conversation"]["properties"]["status"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v == status)
    );
}

/// A support request quoting the X-Request-Id finds the request's log lines.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_names_its_request() {
    let app = TestApp::spawn().await;
    let mut ids = Vec::new();
    for path in ["/healthz", "/api/v1/conversations", "/no-such-page"] {
        let r = app
            .http
            .get(format!("{}{path}", app.url))
            .send()
            .await
            .unwrap();
        let id = r
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        assert!(
            id.as_ref().is_some_and(|i| i.len() == 36),
            "{path} ({}) has a request id: {id:?}",
            r.status()
        );
        ids.push(id);
    }
    ids.dedup();
    assert_eq!(ids.len(), 3, "each request has its own id");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conversations_can_be_given_to_a_team() {
    let app = TestApp::spawn().await;
    let v: Value = app
        .widget_send("visitor-token-0000000001", "x", "Вопрос по счёту")
        .await
        .json()
        .await
        .unwrap();
    let id = v["conversation_id"].as_i64().unwrap();
    let team = app
        .store()
        .write(|c| {
            perepiska::store::teams::create(c, perepiska::domain::ProjectId(1), "Бухгалтерия")
        })
        .await
        .unwrap();
    let token = app.api_token(ADMIN_EMAIL).await;
    let (s, c) = app
        .api(
            &token,
            Method::PATCH,
            &format!("/conversations/{id}"),
            Some(json!({"team_id": team.id})),
        )
        .await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["team"]["name"], "Бухгалтерия");
    let (s, e) = app
        .api(
            &token,
            Method::PATCH,
            &format!("/conversations/{id}"),
            Some(json!({"team_id": 9999})),
        )
        .await;
    assert_eq!(s, 400);
    assert!(e["error"]["message"].as_str().unwrap().contains("team"));
    let events: Vec<String> = app
        .thread(&token, id)
        .await
        .iter()
        .filter(|m| m["kind"] == "system")
        .map(|m| m["text"].as_str().unwrap().to_string())
        .collect();
    assert!(
        events.contains(&"Team: Бухгалтерия (Admin)".to_string()),
        "{events:?}"
    );
    // The console offers the team and can take it away.
    let op = app.admin().await;
    let (_, html) = op.get(&format!("/console?c={id}")).await;
    assert!(html.contains("name=\"team\"") && html.contains("Бухгалтерия"));
    let (s, _) = op.update(id, &[("team", "0")]).await;
    assert_eq!(s, 303);
    let (_, c) = app
        .api(&token, Method::GET, &format!("/conversations/{id}"), None)
        .await;
    assert!(c["team"].is_null());
}
