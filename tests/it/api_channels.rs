//! The channels API: what each channel is bound to, and a credentials check that saves nothing.

use reqwest::Method;
use serde_json::json;

use crate::support::fake_telegram::{FakeTelegram, TOKEN};
use crate::support::{ADMIN_EMAIL, TestApp};

async fn app_with_bot(tg: &FakeTelegram) -> TestApp {
    let toml = format!(
        "[[channels]]\nid = \"tg\"\nkind = \"telegram\"\nname = \"Бот поддержки\"\ntoken = \"{TOKEN}\"\napi_base = \"{}\"\npoll_timeout = 1\n",
        tg.url
    );
    TestApp::spawn_with(|s| std::fs::write(&s.channels_path, &toml).unwrap()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_channel_list_names_the_account_each_channel_is_bound_to() {
    let tg = FakeTelegram::start().await;
    let app = app_with_bot(&tg).await;
    let token = app.api_token(ADMIN_EMAIL).await;
    let list = app.api_ok(&token, Method::GET, "/channels", None).await;
    let tgc = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "tg")
        .unwrap()
        .clone();
    assert_eq!(tgc["kind"], "telegram");
    assert_eq!(tgc["source"], "file");
    assert_eq!(tgc["running"], true);
    assert_eq!(tgc["account"]["name"], "Поддержка (@support_test_bot)");
    assert!(
        tgc.get("config").is_none() && !list.to_string().contains(TOKEN),
        "no secrets"
    );
    let web = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "widget")
        .unwrap()
        .clone();
    assert_eq!(web["source"], "builtin");
    // Operators do not see channels.
    let op = app.operator_token().await;
    let (s, e) = app.api(&op, Method::GET, "/channels", None).await;
    assert_eq!(s, 403, "{e}");
    assert_eq!(e["error"]["code"], "forbidden");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_are_checked_before_anything_is_saved() {
    let tg = FakeTelegram::start().await;
    let app = app_with_bot(&tg).await;
    let token = app.api_token(ADMIN_EMAIL).await;
    let count = || async {
        app.store()
            .read(perepiska::store::channels::all_enabled)
            .await
            .unwrap()
            .len()
    };
    let before = count().await;
    let good = app
        .api_ok(
            &token,
            Method::POST,
            "/channels/verify",
            Some(json!({"kind": "telegram", "config": {"token": TOKEN, "api_base": tg.url}})),
        )
        .await;
    assert_eq!(good["account"]["name"], "Поддержка (@support_test_bot)");
    for (body, code, needle) in [
        (
            json!({"kind": "telegram", "config": {"token": "999:WRONG", "api_base": tg.url}}),
            "platform_refused",
            "Telegram answered",
        ),
        (
            json!({"kind": "telegram", "config": {"api_base": tg.url}}),
            "invalid_config",
            "token is required",
        ),
        (
            json!({"kind": "telegram", "config": {"token": TOKEN, "mode": "pigeon"}}),
            "invalid_config",
            "mode",
        ),
        (
            json!({"kind": "icq", "config": {}}),
            "invalid_config",
            "telegram",
        ),
    ] {
        let (s, e) = app
            .api(&token, Method::POST, "/channels/verify", Some(body.clone()))
            .await;
        assert_eq!(s, 422, "{body} → {e}");
        assert_eq!(e["error"]["code"], code, "{e}");
        assert!(
            e["error"]["message"].as_str().unwrap().contains(needle),
            "{body} → {e}"
        );
    }
    assert_eq!(count().await, before, "nothing was saved");
    let op = app.operator_token().await;
    let (s, _) = app
        .api(
            &op,
            Method::POST,
            "/channels/verify",
            Some(json!({"kind": "telegram", "config": {"token": TOKEN, "api_base": tg.url}})),
        )
        .await;
    assert_eq!(s, 403);
}

/// A form must not make the server call its own network unless the operator of the server
/// allowed it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inside_api_base_is_refused_unless_allowed() {
    let tg = FakeTelegram::start().await;
    let toml = format!(
        "[[channels]]\nid = \"tg\"\nkind = \"telegram\"\ntoken = \"{TOKEN}\"\napi_base = \"{}\"\npoll_timeout = 1\n",
        tg.url
    );
    let app = TestApp::spawn_with(|s| {
        std::fs::write(&s.channels_path, &toml).unwrap();
        s.allow_private_targets = false;
    })
    .await;
    let token = app.api_token(ADMIN_EMAIL).await;
    // A platform only this check could reach.
    let probe = FakeTelegram::start().await;
    let (s, e) = app
        .api(
            &token,
            Method::POST,
            "/channels/verify",
            Some(json!({"kind": "telegram", "config": {"token": TOKEN, "api_base": probe.url}})),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("inside this network"),
        "{e}"
    );
    assert_eq!(
        probe.calls("getMe"),
        0,
        "the inside address was never called"
    );
}

const CHAT: i64 = 777_001;

/// The conversation of the new channel's customer, once it exists.
async fn conversation_in(app: &TestApp, token: &str, channel: &str) -> i64 {
    let path = format!("/conversations?channel={channel}");
    app.eventually("the new channel's conversation", || async {
        let (_, v) = app.api(token, Method::GET, &path, None).await;
        v["data"][0]["id"].is_i64()
    })
    .await;
    let (_, v) = app.api(token, Method::GET, &path, None).await;
    v["data"][0]["id"].as_i64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_connected_through_the_api_works_at_once_and_pauses_without_losing_anything() {
    let tg = FakeTelegram::start().await;
    let app = app_with_bot(&tg).await;
    let token = app.api_token(ADMIN_EMAIL).await;
    // A second bot, connected while the server runs.
    let second = FakeTelegram::start().await;
    let body = json!({"id": "sales", "kind": "telegram", "name": "Продажи",
        "config": {"token": TOKEN, "api_base": second.url, "poll_timeout": 1}});
    let (s, created) = app
        .api(&token, Method::POST, "/channels", Some(body.clone()))
        .await;
    assert_eq!(s, 201, "{created}");
    assert_eq!(created["account"]["name"], "Поддержка (@support_test_bot)");
    assert_eq!(created["source"], "web");
    let (s, e) = app.api(&token, Method::POST, "/channels", Some(body)).await;
    assert_eq!(s, 409, "the id is taken: {e}");
    second.push(FakeTelegram::text_update(
        CHAT,
        1,
        "Есть доставка в Казань?",
    ));
    let id = conversation_in(&app, &token, "sales").await;
    app.api_ok(
        &token,
        Method::POST,
        &format!("/conversations/{id}/messages"),
        Some(json!({"text": "Да, 2 дня"})),
    )
    .await;
    app.eventually("the reply reached the new bot", || async {
        second.sent().iter().any(|m| m.text.contains("Да, 2 дня"))
    })
    .await;

    // Paused: nothing received or sent; a reply waits and says why.
    let paused = app
        .api_ok(
            &token,
            Method::PATCH,
            "/channels/sales",
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(paused["running"], false);
    app.api_ok(
        &token,
        Method::POST,
        &format!("/conversations/{id}/messages"),
        Some(json!({"text": "Уточню у склада"})),
    )
    .await;
    app.eventually("the reply waits for the channel", || async {
        app.thread(&token, id).await.iter().any(|m| {
            m["text"] == "Уточню у склада"
                && m["delivery"] == "pending"
                && m["error"] == "the channel is paused"
        })
    })
    .await;
    second.push(FakeTelegram::text_update(CHAT, 2, "Алло?"));
    assert!(
        !second.sent().iter().any(|m| m.text.contains("Уточню")),
        "nothing is sent while paused"
    );

    // Resumed: the waiting reply goes, the message written meanwhile arrives.
    app.api_ok(
        &token,
        Method::PATCH,
        "/channels/sales",
        Some(json!({"enabled": true})),
    )
    .await;
    app.eventually("the waiting reply went", || async {
        second
            .sent()
            .iter()
            .any(|m| m.text.contains("Уточню у склада"))
    })
    .await;
    app.eventually("the message written while paused arrived", || async {
        app.customer_texts(&token, id)
            .await
            .iter()
            .any(|t| t == "Алло?")
    })
    .await;
    // A file's channel changes in the file.
    let (s, e) = app
        .api(
            &token,
            Method::PATCH,
            "/channels/tg",
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(s, 409, "{e}");
}
