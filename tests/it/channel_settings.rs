//! Channels connected, changed, paused and disconnected while the server runs, through the
//! settings pages and the channels API, each against its fake platform on 127.0.0.1.

use reqwest::Method;
use serde_json::{Value, json};
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::fake_telegram::{FakeTelegram, TOKEN};
use crate::support::{ADMIN_EMAIL, TestApp};

const PUBLIC: &str = "https://support.example.com";

async fn app_with_public_url() -> TestApp {
    TestApp::spawn_with(|s| s.public_url = Some(PUBLIC.into())).await
}

/// A polling Telegram bot "bot" connected through the API.
async fn connect_bot(app: &TestApp, token: &str, tg: &FakeTelegram) -> Value {
    app.api_ok(
        token,
        Method::POST,
        "/channels",
        Some(json!({"id": "bot", "kind": "telegram", "name": "Бот",
            "config": {"token": TOKEN, "api_base": tg.url, "poll_timeout": 1}})),
    )
    .await
}

async fn webhook_post(app: &TestApp, key: &str, secret: &str, update: &Value) -> u16 {
    app.http
        .post(format!("{}/webhooks/{key}", app.url))
        .header("X-Telegram-Bot-Api-Secret-Token", secret)
        .json(update)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_bot_is_registered_paused_and_disconnected_at_the_platform() {
    let tg = FakeTelegram::start().await;
    let app = app_with_public_url().await;
    let token = app.api_token(ADMIN_EMAIL).await;
    let created = app
        .api_ok(
            &token,
            Method::POST,
            "/channels",
            Some(json!({"id": "shop", "kind": "telegram", "name": "Магазин",
                "config": {"token": TOKEN, "api_base": tg.url}})),
        )
        .await;
    // With a public address Telegram is told where to post, with a secret, instead of polling.
    let (url, secret) = tg.webhook().expect("setWebhook was called on connect");
    assert_eq!(url, format!("{PUBLIC}/webhooks/shop"));
    assert!(secret.len() >= 32);
    assert_eq!(created["receiving"]["mode"], "webhook");
    assert_eq!(created["receiving"]["registered"], true);
    assert_eq!(created["account"]["username"], "support_test_bot");

    let mut update = FakeTelegram::text_update(777, 1, "Вы работаете в субботу?");
    update["update_id"] = json!(5001);
    assert_eq!(webhook_post(&app, "shop", &secret, &update).await, 200);
    let (_, list) = app
        .api(&token, Method::GET, "/conversations?channel=shop", None)
        .await;
    let conv = list["data"][0]["id"]
        .as_i64()
        .expect("the customer's conversation");
    let item = app
        .api_ok(&token, Method::GET, "/channels/shop", None)
        .await;
    assert!(item["last_received_at"].is_string(), "{item}");

    // Paused: Telegram is told to stop posting (updates wait there).
    app.api_ok(
        &token,
        Method::PATCH,
        "/channels/shop",
        Some(json!({"enabled": false})),
    )
    .await;
    assert!(tg.webhook().is_none(), "the webhook was removed on pause");
    let item = app
        .api_ok(&token, Method::GET, "/channels/shop", None)
        .await;
    assert_eq!(item["receiving"]["mode"], "stopped");
    assert_eq!(item["enabled"], false);
    app.api_ok(
        &token,
        Method::PATCH,
        "/channels/shop",
        Some(json!({"enabled": true})),
    )
    .await;
    let (_, secret) = tg.webhook().expect("set again on resume");

    // Disconnected: the webhook goes, the channel leaves the list, the history stays.
    let gone = app
        .api_ok(&token, Method::DELETE, "/channels/shop", None)
        .await;
    assert_eq!(gone["platform_error"], Value::Null);
    assert!(
        tg.webhook().is_none(),
        "the webhook was removed on disconnect"
    );
    let channels = app.api_ok(&token, Method::GET, "/channels", None).await;
    assert!(
        !channels["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == "shop"),
        "{channels}"
    );
    let (s, _) = app.api(&token, Method::GET, "/channels/shop", None).await;
    assert_eq!(s, 404);
    let (s, _) = app
        .api(&token, Method::DELETE, "/channels/shop", None)
        .await;
    assert_eq!(s, 404);
    assert_eq!(
        app.customer_texts(&token, conv).await,
        vec!["Вы работаете в субботу?"]
    );
    update["update_id"] = json!(5002);
    assert_ne!(
        webhook_post(&app, "shop", &secret, &update).await,
        200,
        "a disconnected channel takes nothing"
    );
    // Its id stays taken: old webhook calls never reach a new channel.
    let (s, e) = app
        .api(
            &token,
            Method::POST,
            "/channels",
            Some(json!({"id": "shop", "kind": "telegram", "name": "Снова",
                "config": {"token": TOKEN, "api_base": tg.url}})),
        )
        .await;
    assert_eq!(s, 409, "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edited_credentials_are_checked_again_and_secrets_never_come_back() {
    let tg = FakeTelegram::start().await;
    let app = TestApp::spawn().await;
    let token = app.api_token(ADMIN_EMAIL).await;
    connect_bot(&app, &token, &tg).await;
    let stored = || async {
        app.store()
            .read(|c| perepiska::store::channels::by_key(c, "bot"))
            .await
            .unwrap()
            .unwrap()
            .config
    };
    let before = stored().await;
    assert!(before.starts_with("sealed:v1:") && !before.contains(TOKEN));

    // A new token the platform refuses: named, and nothing changes.
    let (s, e) = app
        .api(
            &token,
            Method::PATCH,
            "/channels/bot",
            Some(json!({"config": {"token": "999:WRONG"}})),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(e["error"]["code"], "platform_refused");
    assert_eq!(stored().await, before, "nothing was stored");
    // A change that leaves the token out keeps it.
    let item = app
        .api_ok(
            &token,
            Method::PATCH,
            "/channels/bot",
            Some(json!({"name": "Бот поддержки", "config": {"routing": "helpdesk"}})),
        )
        .await;
    assert_eq!(item["name"], "Бот поддержки");
    assert_eq!(item["account"]["name"], "Поддержка (@support_test_bot)");
    assert_ne!(stored().await, before);
    // The helpdesk bot now answers the bot's customers.
    tg.push(FakeTelegram::text_update(4242, 1, "/start"));
    app.eventually("the helpdesk bot greeted the customer", || async {
        tg.sent()
            .iter()
            .any(|m| m.chat_id == 4242 && !m.buttons.is_empty())
    })
    .await;
    for path in ["/channels", "/channels/bot"] {
        let v = app.api_ok(&token, Method::GET, path, None).await;
        assert!(!v.to_string().contains(TOKEN), "{path} shows no token");
    }
    let admin = app.admin().await;
    let (s, page) = admin.get("/console/settings/channels/bot").await;
    assert_eq!(s, 200);
    assert!(!page.contains(TOKEN), "the page shows no token");
    assert!(page.contains("Поддержка (@support_test_bot)"));

    // Operators neither see nor change channels, on the pages or through the API.
    let op_token = app.operator_token().await;
    for (m, p) in [
        (Method::GET, "/channels/bot"),
        (Method::DELETE, "/channels/bot"),
    ] {
        let (s, _) = app.api(&op_token, m, p, None).await;
        assert_eq!(s, 403);
    }
    let (s, _) = app
        .api(
            &op_token,
            Method::PATCH,
            "/channels/bot",
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(s, 403);
    let op = app.login("op@example.com", "password-3333").await;
    for p in [
        "/console/settings/channels",
        "/console/settings/channels/bot",
        "/console/settings/channels/new?kind=telegram",
        "/console/settings/channels/bot/disconnect",
    ] {
        let (s, _) = op.get(p).await;
        assert_eq!(s, 403, "{p}");
    }
    let csrf = op.csrf.clone();
    for p in [
        "/console/settings/channels/bot/pause",
        "/console/settings/channels/bot/disconnect",
        "/console/settings/channels/bot",
    ] {
        let (s, _) = op.post_form(p, &[("csrf", &csrf), ("name", "x")]).await;
        assert_eq!(s, 403, "{p}");
    }
    let item = app.api_ok(&token, Method::GET, "/channels/bot", None).await;
    assert_eq!(item["enabled"], true, "the operator changed nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viber_connected_on_the_settings_page_sets_its_webhook_and_removes_it_on_disconnect() {
    let viber = crate::viber::fake_viber().await;
    let app = app_with_public_url().await;
    let admin = app.admin().await;
    let (s, page) = admin.get("/console/settings/channels/new?kind=viber").await;
    assert_eq!(s, 200);
    assert!(
        page.contains("partners.viber.com"),
        "each field says where it is found"
    );
    let base = viber.uri();
    let form = |step: &'static str| {
        vec![
            ("csrf", admin.csrf.clone()),
            ("kind", "viber".to_string()),
            ("name", "Пекарня в Viber".to_string()),
            ("cfg.token", crate::viber::TOKEN.to_string()),
            ("cfg.api_base", base.clone()),
            ("show_operator_name", "on".to_string()),
            ("step", step.to_string()),
        ]
    };
    let pairs = |f: &Vec<(&'static str, String)>| -> Vec<(&'static str, String)> { f.clone() };
    let post = |f: Vec<(&'static str, String)>| {
        let admin = &admin;
        async move {
            let refs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
            admin
                .post_form("/console/settings/channels/new", &refs)
                .await
        }
    };
    let (s, checked) = post(pairs(&form("check"))).await;
    assert_eq!(s, 200, "{checked}");
    assert!(
        checked.contains("Бот: Пекарня"),
        "the account is shown before saving"
    );
    let token = app.api_token(ADMIN_EMAIL).await;
    let list = app.api_ok(&token, Method::GET, "/channels", None).await;
    assert!(!list.to_string().contains("viber"), "a check saves nothing");

    let (s, connected) = post(pairs(&form("save"))).await;
    assert_eq!(s, 201, "{connected}");
    assert!(connected.contains("Канал подключён"));
    let list = app.api_ok(&token, Method::GET, "/channels", None).await;
    let key = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "viber")
        .map(|c| c["id"].as_str().unwrap().to_string())
        .expect("the Viber channel is listed");
    let set_webhook = || async {
        viber
            .received_requests()
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.url.path() == "/pa/set_webhook")
            .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap()["url"].clone())
            .collect::<Vec<_>>()
    };
    let hook = format!("{PUBLIC}/webhooks/{key}");
    app.eventually("Viber was given the webhook", || async {
        set_webhook().await.contains(&json!(hook))
    })
    .await;

    let (s, confirm) = admin
        .get(&format!("/console/settings/channels/{key}/disconnect"))
        .await;
    assert_eq!(s, 200);
    assert!(confirm.contains("Переписка и обращения сохранятся"));
    let (s, listed) = admin
        .post_form(
            &format!("/console/settings/channels/{key}/disconnect"),
            &[("csrf", &admin.csrf)],
        )
        .await;
    assert_eq!(s, 200);
    assert!(
        listed.contains("Канал отключён: «Пекарня в Viber»"),
        "{listed}"
    );
    assert!(
        set_webhook().await.contains(&json!("")),
        "Viber was told to remove the webhook"
    );
    let (_, page) = admin.get("/console/settings/channels").await;
    assert!(!page.contains("Пекарня в Viber"), "gone from the list");
}

async fn fake_ok() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(path("/graph/me/info"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"name": "Группа «Сад и огород»", "group_id": "group:57"})),
        )
        .mount(&server)
        .await;
    for p in ["/graph/me/subscribe", "/graph/me/unsubscribe"] {
        Mock::given(path(p))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
            .mount(&server)
            .await;
    }
    server
}

async fn urls_sent_to(server: &MockServer, p: &str) -> Vec<String> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == p)
        .map(|r| {
            serde_json::from_slice::<Value>(&r.body).unwrap()["url"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ok_is_subscribed_on_connect_with_a_made_up_secret_shown_once() {
    let ok = fake_ok().await;
    let app = app_with_public_url().await;
    let token = app.api_token(ADMIN_EMAIL).await;
    let created = app
        .api_ok(
            &token,
            Method::POST,
            "/channels",
            Some(json!({"id": "garden", "kind": "ok", "name": "ОК",
                "config": {"access_token": "tkn1.ok", "api_base": ok.uri()}})),
        )
        .await;
    assert_eq!(created["account"]["name"], "Группа «Сад и огород»");
    let secret = created["generated"]["webhook_secret"]
        .as_str()
        .expect("the webhook secret was made up")
        .to_string();
    assert!(secret.len() >= 32);
    let hook = format!("{PUBLIC}/webhooks/garden/{secret}");
    assert_eq!(
        urls_sent_to(&ok, "/graph/me/subscribe").await,
        vec![hook.clone()]
    );
    let item = app
        .api_ok(&token, Method::GET, "/channels/garden", None)
        .await;
    assert!(!item.to_string().contains(&secret), "shown once: {item}");
    assert_eq!(item["receiving"]["mode"], "webhook");

    let message = json!({ "webhookType": "MESSAGE_CREATED", "sender": { "user_id": "user:5500", "name": "Галина" },
        "recipient": { "chat_id": "chat:C3ecb9d02a600" }, "message": { "text": "Есть рассада томатов?", "mid": "mid.1" },
        "timestamp": 1_763_700_000_000u64 });
    let r = app
        .http
        .post(format!("{}/webhooks/garden/{secret}", app.url))
        .json(&message)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (_, list) = app
        .api(&token, Method::GET, "/conversations?channel=garden", None)
        .await;
    assert_eq!(list["total"], 1, "{list}");

    // Paused: OK stops posting; resumed: subscribed again.
    app.api_ok(
        &token,
        Method::PATCH,
        "/channels/garden",
        Some(json!({"enabled": false})),
    )
    .await;
    assert_eq!(
        urls_sent_to(&ok, "/graph/me/unsubscribe").await,
        vec![hook.clone()]
    );
    app.api_ok(
        &token,
        Method::PATCH,
        "/channels/garden",
        Some(json!({"enabled": true})),
    )
    .await;
    assert_eq!(urls_sent_to(&ok, "/graph/me/subscribe").await.len(), 2);
    // Saved unchanged: nothing is re-registered.
    app.api_ok(
        &token,
        Method::PATCH,
        "/channels/garden",
        Some(json!({"config": {"access_token": ""}})),
    )
    .await;
    assert_eq!(urls_sent_to(&ok, "/graph/me/subscribe").await.len(), 2);

    app.api_ok(&token, Method::DELETE, "/channels/garden", None)
        .await;
    assert_eq!(urls_sent_to(&ok, "/graph/me/unsubscribe").await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_delivery_is_shown_on_the_channel() {
    let tg = FakeTelegram::start().await;
    let app = TestApp::spawn().await;
    let token = app.api_token(ADMIN_EMAIL).await;
    connect_bot(&app, &token, &tg).await;
    tg.push(FakeTelegram::text_update(31337, 1, "Здравствуйте"));
    let path = "/conversations?channel=bot";
    app.eventually("the customer's conversation", || async {
        let (_, v) = app.api(&token, Method::GET, path, None).await;
        v["total"] == 1
    })
    .await;
    let (_, v) = app.api(&token, Method::GET, path, None).await;
    let id = v["data"][0]["id"].as_i64().unwrap();
    let item = app.api_ok(&token, Method::GET, "/channels/bot", None).await;
    assert_eq!(item["last_delivery_error"], Value::Null);
    tg.fail_next_send(
        400,
        json!({"ok": false, "error_code": 400, "description": "Bad Request: chat not found"}),
    );
    app.api_ok(
        &token,
        Method::POST,
        &format!("/conversations/{id}/messages"),
        Some(json!({"text": "Добрый день!"})),
    )
    .await;
    app.eventually("the failure is on the channel", || async {
        let item = app.api_ok(&token, Method::GET, "/channels/bot", None).await;
        item["last_delivery_error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("chat not found"))
    })
    .await;
    let admin = app.admin().await;
    let (_, page) = admin.get("/console/settings/channels").await;
    assert!(page.contains("chat not found"), "the list shows it too");
}

/// The form fields VK's API was called with (it takes application/x-www-form-urlencoded).
async fn vk_calls(
    server: &MockServer,
    method: &str,
) -> Vec<std::collections::HashMap<String, String>> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == format!("/method/{method}"))
        .map(|r| serde_urlencoded::from_bytes(&r.body).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vk_callback_server_is_set_up_through_vk_and_removed_on_disconnect() {
    let vk = crate::vk::fake_vk().await;
    let ok = |v: Value| ResponseTemplate::new(200).set_body_json(json!({ "response": v }));
    Mock::given(path("/method/groups.getCallbackConfirmationCode"))
        .respond_with(ok(json!({"code": "f00dcafe"})))
        .mount(&vk)
        .await;
    Mock::given(path("/method/groups.addCallbackServer"))
        .respond_with(ok(json!({"server_id": 7})))
        .mount(&vk)
        .await;
    Mock::given(path("/method/groups.setCallbackSettings"))
        .respond_with(ok(json!(1)))
        .mount(&vk)
        .await;
    let hook = format!("{PUBLIC}/webhooks/coffee");
    Mock::given(path("/method/groups.getCallbackServers"))
        .respond_with(ok(json!({"count": 1, "items": [{"id": 7, "url": hook, "title": "perepiska", "status": "ok"}]})))
        .mount(&vk)
        .await;
    Mock::given(path("/method/groups.deleteCallbackServer"))
        .respond_with(ok(json!(1)))
        .mount(&vk)
        .await;
    let app = app_with_public_url().await;
    let token = app.api_token(ADMIN_EMAIL).await;
    let created = app
        .api_ok(
            &token,
            Method::POST,
            "/channels",
            Some(json!({"id": "coffee", "kind": "vk", "name": "ВКонтакте",
                "config": {"group_id": crate::vk::GROUP, "access_token": "vk1.a.token", "api_base": vk.uri()}})),
        )
        .await;
    assert_eq!(created["account"]["name"], "Кофейня «Зерно»");
    assert_eq!(created["warning"], Value::Null, "{created}");
    assert_eq!(created["receiving"]["registered"], true, "{created}");
    let secret = created["generated"]["secret"].as_str().unwrap().to_string();
    let added = vk_calls(&vk, "groups.addCallbackServer").await;
    assert_eq!(added.len(), 1);
    assert_eq!(added[0]["url"], hook);
    assert_eq!(added[0]["secret_key"], secret);
    let settings = vk_calls(&vk, "groups.setCallbackSettings").await;
    assert_eq!(settings[0]["server_id"], "7");
    assert_eq!(settings[0]["message_new"], "1");
    // VK's confirmation call gets the code VK gave.
    let r = app
        .http
        .post(format!("{}/webhooks/coffee", app.url))
        .json(&json!({"type": "confirmation", "group_id": crate::vk::GROUP, "secret": secret}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "f00dcafe");

    app.api_ok(&token, Method::DELETE, "/channels/coffee", None)
        .await;
    let deleted = vk_calls(&vk, "groups.deleteCallbackServer").await;
    assert_eq!(deleted.len(), 1, "the callback server was removed");
    assert_eq!(deleted[0]["server_id"], "7");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_conversations_start_in_the_channels_default_team() {
    let tg = FakeTelegram::start().await;
    let mut app = TestApp::spawn().await;
    let pid = app
        .store()
        .read(perepiska::store::projects::ensure_default)
        .await
        .unwrap()
        .id;
    let sales = app
        .store()
        .write(move |c| perepiska::store::teams::create(c, pid, "Продажи"))
        .await
        .unwrap();
    let token = app.api_token(ADMIN_EMAIL).await;
    let (s, e) = app
        .api(
            &token,
            Method::POST,
            "/channels",
            Some(
                json!({"id": "bot", "kind": "telegram", "name": "Бот", "team_id": 999_999,
                "config": {"token": TOKEN, "api_base": tg.url, "poll_timeout": 1}}),
            ),
        )
        .await;
    assert_eq!(s, 400, "an unknown team is refused: {e}");
    let created = app
        .api_ok(
            &token,
            Method::POST,
            "/channels",
            Some(
                json!({"id": "bot", "kind": "telegram", "name": "Бот", "team_id": sales.id,
                "config": {"token": TOKEN, "api_base": tg.url, "poll_timeout": 1}}),
            ),
        )
        .await;
    assert_eq!(created["team_id"], sales.id);
    tg.push(FakeTelegram::text_update(
        5150,
        1,
        "Сколько стоит доставка?",
    ));
    let path = "/conversations?channel=bot";
    app.eventually("the conversation", || async {
        app.api(&token, Method::GET, path, None).await.1["total"] == 1
    })
    .await;
    let (_, v) = app.api(&token, Method::GET, path, None).await;
    assert_eq!(v["data"][0]["team"]["name"], "Продажи", "{v}");
    // The settings page offers the project's teams, the channel's one chosen.
    let admin = app.admin().await;
    let (_, page) = admin.get("/console/settings/channels/bot").await;
    assert!(page.contains(&format!(
        "<option value=\"{}\" selected>Продажи</option>",
        sales.id
    )));

    // channels.toml names the team; a team that does not exist stops start-up, naming it.
    let toml = "[[channels]]\nid = \"site2\"\nkind = \"widget\"\nteam = \"Продажи\"\n";
    std::fs::write(&app.settings.channels_path, toml).unwrap();
    app.restart().await;
    let site2 = app
        .store()
        .read(|c| perepiska::store::channels::by_key(c, "site2"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(site2.default_team_id, Some(sales.id));
    app.stop().await;
    let toml = "[[channels]]\nid = \"site2\"\nkind = \"widget\"\nteam = \"Склад\"\n";
    std::fs::write(&app.settings.channels_path, toml).unwrap();
    let e = perepiska::start(app.settings.clone())
        .await
        .err()
        .expect("an unknown team stops start-up")
        .to_string();
    assert!(e.contains("\"site2\"") && e.contains("Склад"), "{e}");
}

/// A fake platform that knows one credential: `good` answers `ok`, anything else `refused`.
async fn one_credential(
    server: &MockServer,
    route: &str,
    good: impl wiremock::Match + 'static,
    ok: Value,
    refused: ResponseTemplate,
) {
    Mock::given(path(route))
        .and(good)
        .respond_with(ResponseTemplate::new(200).set_body_json(ok))
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(path(route))
        .respond_with(refused)
        .with_priority(2)
        .mount(server)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_names_its_account_and_a_refused_credential_stores_nothing() {
    use wiremock::matchers::{body_string_contains, header, query_param};
    let app = TestApp::spawn().await;
    let token = app.api_token(ADMIN_EMAIL).await;
    let server = MockServer::start().await;
    let base = server.uri();
    one_credential(
        &server,
        "/method/groups.getById",
        body_string_contains("access_token=vk-good"),
        json!({"response": {"groups": [{"id": 77, "name": "Кофейня «Зерно»", "screen_name": "zerno"}]}}),
        ResponseTemplate::new(200).set_body_json(
            json!({"error": {"error_code": 5, "error_msg": "User authorization failed: invalid access_token"}}),
        ),
    )
    .await;
    one_credential(
        &server,
        "/pa/get_account_info",
        header("X-Viber-Auth-Token", "viber-good"),
        json!({"status": 0, "id": "pa:1", "name": "Пекарня", "uri": "bakery"}),
        ResponseTemplate::new(200)
            .set_body_json(json!({"status": 2, "status_message": "invalidAuthToken"})),
    )
    .await;
    one_credential(
        &server,
        "/v25.0/1065",
        header("Authorization", "Bearer wa-good"),
        json!({"verified_name": "Цветы на Садовой", "display_phone_number": "+7 495 000-00-00"}),
        ResponseTemplate::new(401).set_body_json(
            json!({"error": {"message": "Invalid OAuth access token", "type": "OAuthException", "code": 190}}),
        ),
    )
    .await;
    one_credential(
        &server,
        "/graph/me/info",
        query_param("access_token", "ok-good"),
        json!({"name": "Группа «Сад и огород»", "group_id": "group:57"}),
        ResponseTemplate::new(200)
            .set_body_json(json!({"error_code": 102, "error_msg": "PARAM_SESSION_EXPIRED"})),
    )
    .await;
    one_credential(
        &server,
        "/token",
        body_string_contains("client_secret=avito-good"),
        json!({"access_token": "AVITO-T", "expires_in": 86400, "token_type": "Bearer"}),
        ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_client"})),
    )
    .await;
    Mock::given(path("/core/v1/accounts/self"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": 42, "name": "Магазин велосипедов"})),
        )
        .mount(&server)
        .await;
    let cases = [
        (
            "vk",
            json!({"group_id": 77, "access_token": "vk-good", "confirmation": "abc"}),
            "access_token",
            "vk-bad",
            "Кофейня «Зерно»",
            "invalid access_token",
        ),
        (
            "viber",
            json!({"token": "viber-good"}),
            "token",
            "viber-bad",
            "Пекарня",
            "invalidAuthToken",
        ),
        (
            "whatsapp",
            json!({"phone_number_id": "1065", "access_token": "wa-good", "app_secret": "s3cret"}),
            "access_token",
            "wa-bad",
            "Цветы на Садовой (+7 495 000-00-00)",
            "Invalid OAuth access token",
        ),
        (
            "ok",
            json!({"access_token": "ok-good"}),
            "access_token",
            "ok-bad",
            "Группа «Сад и огород»",
            "PARAM_SESSION_EXPIRED",
        ),
        (
            "avito",
            json!({"client_id": "cid", "client_secret": "avito-good", "user_id": 42}),
            "client_secret",
            "avito-bad",
            "Магазин велосипедов",
            "invalid_client",
        ),
        (
            "api",
            json!({"callback_url": "https://crm.example.com/hook"}),
            "",
            "",
            "CRM",
            "",
        ),
    ];
    let stored = || async {
        app.store()
            .read(perepiska::store::channels::all_enabled)
            .await
            .unwrap()
            .len()
    };
    for (kind, good, key, bad, account, refusal) in cases {
        let mut config = good.clone();
        config["api_base"] = json!(base);
        if !key.is_empty() {
            let mut wrong = config.clone();
            wrong[key] = json!(bad);
            let before = stored().await;
            let body = json!({"kind": kind, "name": "CRM", "config": wrong});
            let (s, e) = app.api(&token, Method::POST, "/channels", Some(body)).await;
            assert_eq!(s, 422, "{kind}: {e}");
            assert_eq!(e["error"]["code"], "platform_refused", "{kind}: {e}");
            assert!(
                e["error"]["message"].as_str().unwrap().contains(refusal),
                "{kind}: the platform's refusal is named: {e}"
            );
            assert_eq!(stored().await, before, "{kind}: nothing stored");
        }
        if kind == "api" {
            config.as_object_mut().unwrap().remove("api_base");
        }
        // A check sees the settings as connecting completes them (made-up secrets included).
        let verified = app
            .api_ok(
                &token,
                Method::POST,
                "/channels/verify",
                Some(json!({"kind": kind, "config": config})),
            )
            .await;
        if kind != "api" {
            // (an API channel's account is its own name, which verify is not given)
            assert_eq!(verified["account"]["name"], account, "{kind}: {verified}");
        }
        let created = app
            .api_ok(
                &token,
                Method::POST,
                "/channels",
                Some(json!({"kind": kind, "name": "CRM", "config": config})),
            )
            .await;
        assert_eq!(created["account"]["name"], account, "{kind}: {created}");
        assert_eq!(created["running"], true, "{kind}");
    }
    // The settings page says it in words an admin reads.
    let admin = app.admin().await;
    let (s, page) = admin
        .post_form(
            "/console/settings/channels/new",
            &[
                ("csrf", &admin.csrf),
                ("kind", "vk"),
                ("name", "ВК"),
                ("cfg.group_id", "77"),
                ("cfg.access_token", "vk-bad"),
                ("cfg.confirmation", "abc"),
                ("cfg.api_base", &base),
                ("step", "save"),
            ],
        )
        .await;
    assert_eq!(s, 422);
    assert!(page.contains("Сообщество не найдено"), "{page}");
}
