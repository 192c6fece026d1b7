//! Tags: the project's coloured tags, put on conversations from the thread and the API,
//! recorded in the thread, filtering the list; managed in Settings → Tags.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{ADMIN_EMAIL, TestApp};

async fn conversation(app: &TestApp, visitor: &str, text: &str) -> i64 {
    let sent: Value = app
        .widget_send(visitor, "t1", text)
        .await
        .json()
        .await
        .expect("json");
    sent["conversation_id"].as_i64().expect("conversation id")
}

fn texts(thread: &[Value]) -> Vec<String> {
    thread
        .iter()
        .filter(|m| m["kind"] == "system")
        .map(|m| m["text"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_go_on_through_the_api_are_recorded_and_filter_the_list() {
    let app = TestApp::spawn().await;
    let token = app.api_token(ADMIN_EMAIL).await;
    let vip = app
        .api_ok(
            &token,
            Method::POST,
            "/tags",
            Some(json!({"name": " VIP ", "colour": "red"})),
        )
        .await;
    assert_eq!(vip["name"], "VIP");
    assert_eq!(vip["colour"], "red");
    app.api_ok(
        &token,
        Method::POST,
        "/tags",
        Some(json!({"name": "Доставка"})),
    )
    .await;
    let first = conversation(&app, "visitor-token-tags-00000001", "Где курьер?").await;
    let second = conversation(&app, "visitor-token-tags-00000002", "Вопрос по оплате").await;

    let c = app
        .api_ok(
            &token,
            Method::PATCH,
            &format!("/conversations/{first}"),
            Some(json!({"tags": ["vip", "ДОСТАВКА"]})),
        )
        .await;
    assert_eq!(c["tags"], json!(["VIP", "Доставка"]));
    let events = texts(&app.thread(&token, first).await);
    assert!(
        events
            .iter()
            .any(|e| e.contains("+VIP") && e.contains("+Доставка")),
        "{events:?}"
    );

    let listed = app
        .api_ok(&token, Method::GET, "/conversations?tag=vip", None)
        .await;
    let ids: Vec<i64> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![first]);
    assert_eq!(listed["total"], 1);
    let (s, e) = app
        .api(&token, Method::GET, "/conversations?tag=nope", None)
        .await;
    assert_eq!(s, 400, "{e}");

    // An unknown tag refuses the whole change; nothing moves.
    let (s, e) = app
        .api(
            &token,
            Method::PATCH,
            &format!("/conversations/{second}"),
            Some(json!({"tags": ["VIP", "нет такой"], "priority": "high"})),
        )
        .await;
    assert_eq!(s, 400, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("нет такой"),
        "{e}"
    );
    let c = app
        .api_ok(
            &token,
            Method::GET,
            &format!("/conversations/{second}"),
            None,
        )
        .await;
    assert_eq!(c["tags"], json!([]));
    assert_eq!(c["priority"], "normal");

    // Renamed, the conversation shows the new name; [] takes every tag off.
    app.api_ok(
        &token,
        Method::PATCH,
        &format!("/tags/{}", vip["id"]),
        Some(json!({"name": "Важный"})),
    )
    .await;
    let c = app
        .api_ok(
            &token,
            Method::GET,
            &format!("/conversations/{first}"),
            None,
        )
        .await;
    assert_eq!(c["tags"], json!(["Важный", "Доставка"]));
    app.api_ok(
        &token,
        Method::PATCH,
        &format!("/conversations/{first}"),
        Some(json!({"tags": []})),
    )
    .await;
    let events = texts(&app.thread(&token, first).await);
    assert!(
        events
            .iter()
            .any(|e| e.contains("Tags removed: Важный, Доставка")),
        "{events:?}"
    );
    // Deleted, a tag leaves the conversations it was on.
    app.api_ok(
        &token,
        Method::PATCH,
        &format!("/conversations/{second}"),
        Some(json!({"tags": ["Важный"]})),
    )
    .await;
    app.api_ok(
        &token,
        Method::DELETE,
        &format!("/tags/{}", vip["id"]),
        None,
    )
    .await;
    let c = app
        .api_ok(
            &token,
            Method::GET,
            &format!("/conversations/{second}"),
            None,
        )
        .await;
    assert_eq!(c["tags"], json!([]));
    let all = app.api_ok(&token, Method::GET, "/tags", None).await;
    assert_eq!(all["data"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tags_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let token = app.api_token(ADMIN_EMAIL).await;
    let op = app.operator_token().await;
    app.api_ok(&token, Method::POST, "/tags", Some(json!({"name": "VIP"})))
        .await;
    for (who, body, status) in [
        (&token, json!({"name": "vip"}), 409),
        (&token, json!({"name": "a,b"}), 400),
        (&token, json!({"name": " "}), 400),
        (&token, json!({"name": "x", "colour": "black"}), 400),
        (&op, json!({"name": "Моя"}), 403),
    ] {
        let (s, e) = app
            .api(who, Method::POST, "/tags", Some(body.clone()))
            .await;
        assert_eq!(s, status, "{body}: {e}");
    }
    let all = app.api_ok(&op, Method::GET, "/tags", None).await;
    assert_eq!(all["data"].as_array().unwrap().len(), 1, "{all}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_tags_from_the_thread_and_filters_the_console_by_tag() {
    let app = TestApp::spawn().await;
    let token = app.api_token(ADMIN_EMAIL).await;
    let admin = app.admin().await;
    // Made in Settings → Tags, as an admin would.
    let (s, _) = admin
        .post_form(
            "/console/settings/tags",
            &[
                ("csrf", &admin.csrf),
                ("name", "Возврат"),
                ("colour", "orange"),
            ],
        )
        .await;
    assert_eq!(s, 303);
    let (s, page) = admin
        .post_form(
            "/console/settings/tags",
            &[
                ("csrf", &admin.csrf),
                ("name", "возврат"),
                ("colour", "green"),
            ],
        )
        .await;
    assert_eq!(s, 409);
    assert!(page.contains("Возврат"), "the refusal names the tag");
    let tag = app.api_ok(&token, Method::GET, "/tags", None).await["data"][0].clone();
    assert_eq!(tag["colour"], "orange");

    let tagged = conversation(&app, "visitor-token-tags-00000003", "Хочу вернуть чайник").await;
    let other = conversation(&app, "visitor-token-tags-00000004", "Какие часы работы?").await;
    app.add_member(
        "op2@example.com",
        "Оператор Два",
        "password-5555",
        perepiska::domain::Role::Operator,
    )
    .await;
    let op = app.login("op2@example.com", "password-5555").await;
    let (s, _) = op
        .post_form(
            &format!("/console/c/{tagged}/tags"),
            &[("csrf", &op.csrf), ("add", "ВОЗВРАТ")],
        )
        .await;
    assert_eq!(s, 303);
    let (_, page) = op.get(&format!("/console?c={tagged}")).await;
    assert!(
        page.contains("tag tag-orange\">Возврат"),
        "the chip is on the thread"
    );

    let (_, list) = op
        .get(&format!("/console/partials/list?tab=all&tag={}", tag["id"]))
        .await;
    assert!(list.contains(&format!("data-id=\"{tagged}\"")), "{list}");
    assert!(!list.contains(&format!("data-id=\"{other}\"")), "{list}");

    let (s, _) = op
        .post_form(
            &format!("/console/c/{tagged}/tags"),
            &[("csrf", &op.csrf), ("remove", "Возврат")],
        )
        .await;
    assert_eq!(s, 303);
    let c = app
        .api_ok(
            &token,
            Method::GET,
            &format!("/conversations/{tagged}"),
            None,
        )
        .await;
    assert_eq!(c["tags"], json!([]));
    let events = texts(&app.thread(&token, tagged).await);
    assert!(events.iter().any(|e| e.contains("+Возврат")), "{events:?}");

    // Settings → Tags shows how many conversations carry it; the operator may not open it.
    let (s, _) = op.get("/console/settings/tags").await;
    assert_eq!(s, 403);
    let (s, page) = admin.get("/console/settings/tags").await;
    assert_eq!(s, 200);
    assert!(page.contains("data-name=\"Возврат\""), "{page}");
}
