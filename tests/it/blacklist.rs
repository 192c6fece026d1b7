//! The blacklist: a blacklisted contact's messages are acknowledged and kept, but open no
//! conversation and wake no auto-reply; taking them off restores normal handling. The widget's
//! blocked addresses from the blacklist page, and the rate limits (429, nothing stored).

use perepiska::clock::Clock;
use reqwest::Method;
use serde_json::{Value, json};

use crate::automation::{SCHEDULE, app, conversation_of, say, to_chat, utc, wait_to_chat};
use crate::support::fake_telegram::FakeTelegram;
use crate::support::{ADMIN_EMAIL, TestApp};

const SPAMMER: i64 = 700_900_001;
const DECENT: i64 = 700_900_002;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blacklisted_contact_is_kept_out_of_the_inbox_until_taken_off() {
    let tg = FakeTelegram::start().await;
    // Night in Moscow: every new message gets the off-hours reply at once.
    let clock = Clock::manual(utc("2026-11-23 20:00:00"));
    let app = app(
        &tg,
        &clock,
        "off_hours = \"auto_reply\"\noff_hours_replies = [ { after = \"0s\", text = \"Мы ответим утром.\" } ]\n",
        SCHEDULE,
    )
    .await;
    let token = app.api_token(ADMIN_EMAIL).await;
    tg.push(say(SPAMMER, 1, "Спамер", "Купите слона"));
    assert_eq!(wait_to_chat(&app, &tg, SPAMMER, 1).await.len(), 1);
    let conv = conversation_of(&app, &token, "Спамер").await;
    let (conv_id, contact) = (
        conv["id"].as_i64().unwrap(),
        conv["contact"]["id"].as_i64().unwrap(),
    );

    // An operator blacklists him from the conversation's sidebar; a reason is required.
    let admin = app.admin().await;
    let path = format!("/console/c/{conv_id}/blacklist");
    let (s, page) = admin
        .post_form(&path, &[("csrf", &admin.csrf), ("reason", " ")])
        .await;
    assert_eq!(s, 400, "{page}");
    let (s, _) = admin
        .post_form(
            &path,
            &[("csrf", &admin.csrf), ("reason", "Рассылает рекламу")],
        )
        .await;
    assert_eq!(s, 303);
    let (_, page) = admin.get(&format!("/console?c={conv_id}")).await;
    assert!(page.contains("В чёрном списке") && page.contains("Рассылает рекламу"));

    // He writes again: acknowledged and kept, shown only in the blacklist.
    tg.push(say(SPAMMER, 2, "Спамер", "Слоны со скидкой"));
    app.eventually("the message is withheld", || async {
        let list = app.api_ok(&token, Method::GET, "/blacklist", None).await;
        list["data"][0]["withheld"] == 1
    })
    .await;
    let kept = app
        .api_ok(
            &token,
            Method::GET,
            &format!("/blacklist/{contact}/messages"),
            None,
        )
        .await;
    assert_eq!(kept["data"][0]["text"], "Слоны со скидкой");
    let (_, view) = admin
        .get(&format!("/console/settings/blacklist/{contact}"))
        .await;
    assert!(view.contains("Слоны со скидкой"));
    let (_, list) = admin.get("/console/settings/blacklist").await;
    assert!(list.contains("Рассылает рекламу") && list.contains("Admin"));
    // Someone else writes after him and gets the off-hours reply: by then any reply to the
    // blacklisted contact would have gone out too.
    tg.push(say(DECENT, 1, "Покупатель", "Вы открыты?"));
    wait_to_chat(&app, &tg, DECENT, 1).await;
    assert_eq!(
        to_chat(&tg, SPAMMER).len(),
        1,
        "no auto-reply to the blacklisted contact"
    );
    let thread = app.thread(&token, conv_id).await;
    assert!(
        !thread.iter().any(|m| m["text"] == "Слоны со скидкой"),
        "not in the inbox"
    );
    let convs = app
        .api_ok(&token, Method::GET, "/conversations?channel=tg", None)
        .await;
    assert_eq!(
        convs["data"].as_array().unwrap().len(),
        2,
        "no new conversation"
    );
    // The platform's repeat of the same update is kept once.
    tg.push_again(say(SPAMMER, 2, "Спамер", "Слоны со скидкой"));

    // Taken off the list (the settings page), he is heard as before.
    let (s, page) = admin
        .post_form(
            &format!("/console/settings/blacklist/{contact}/unblock"),
            &[("csrf", &admin.csrf)],
        )
        .await;
    assert_eq!(s, 200);
    assert!(page.contains("Убран(а) из чёрного списка: Спамер"));
    tg.push(say(SPAMMER, 3, "Спамер", "Извините, больше не буду"));
    app.eventually("his message reaches the inbox again", || async {
        app.thread(&token, conv_id)
            .await
            .iter()
            .any(|m| m["text"] == "Извините, больше не буду")
    })
    .await;
    let kept = app
        .api_ok(
            &token,
            Method::GET,
            &format!("/blacklist/{contact}/messages"),
            None,
        )
        .await;
    assert_eq!(
        kept["data"].as_array().unwrap().len(),
        1,
        "the repeat was kept once"
    );
    let (s, e) = app
        .api(
            &token,
            Method::DELETE,
            &format!("/blacklist/{contact}"),
            None,
        )
        .await;
    assert_eq!(s, 404, "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_blacklists_with_a_reason_and_refuses_twice() {
    let app = TestApp::spawn().await;
    let token = app.api_token(ADMIN_EMAIL).await;
    let sent: Value = app
        .widget_send("visitor-token-bl-00000001", "b1", "Привет")
        .await
        .json()
        .await
        .unwrap();
    let conv = sent["conversation_id"].as_i64().unwrap();
    let contact = app
        .api_ok(&token, Method::GET, &format!("/conversations/{conv}"), None)
        .await["contact"]["id"]
        .as_i64()
        .unwrap();
    for (body, status) in [
        (json!({"contact_id": contact, "reason": ""}), 400),
        (json!({"contact_id": 999_999, "reason": "x"}), 404),
        (json!({"contact_id": contact}), 400),
    ] {
        let (s, e) = app
            .api(&token, Method::POST, "/blacklist", Some(body))
            .await;
        assert_eq!(s, status, "{e}");
    }
    let list = app.api_ok(&token, Method::GET, "/blacklist", None).await;
    assert_eq!(list["data"], json!([]), "nothing was added");
    let added = app
        .api_ok(
            &token,
            Method::POST,
            "/blacklist",
            Some(json!({"contact_id": contact, "reason": "грубит"})),
        )
        .await;
    assert_eq!(added["reason"], "грубит");
    let (s, _) = app
        .api(
            &token,
            Method::POST,
            "/blacklist",
            Some(json!({"contact_id": contact, "reason": "ещё раз"})),
        )
        .await;
    assert_eq!(s, 409);
    // The widget visitor's next message is acknowledged, and kept out of the inbox.
    let r = app
        .widget_send("visitor-token-bl-00000001", "b2", "Ну ответьте")
        .await;
    assert_eq!(r.status(), 200);
    let kept = app
        .api_ok(
            &token,
            Method::GET,
            &format!("/blacklist/{contact}/messages"),
            None,
        )
        .await;
    assert_eq!(kept["data"][0]["text"], "Ну ответьте");
    assert!(
        !app.thread(&token, conv)
            .await
            .iter()
            .any(|m| m["text"] == "Ну ответьте")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_blacklist_page_blocks_widget_addresses_with_the_widget_rules() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let save = |lines: &'static str| {
        let admin = &admin;
        async move {
            admin
                .post_form(
                    "/console/settings/blacklist/networks",
                    &[("csrf", &admin.csrf), ("blocked_ips", lines)],
                )
                .await
        }
    };
    let (s, page) = save("10.0.0.0/33").await;
    assert_eq!(s, 422);
    assert!(
        page.contains("blocked_ips") && page.contains("10.0.0.0/33"),
        "{page}"
    );
    let config = || async {
        app.http
            .get(format!("{}/widget/web/config", app.url))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(config().await, 200, "the refused setting changed nothing");
    let (s, page) = save("203.0.113.7\n127.0.0.0/8").await;
    assert_eq!(s, 200, "{page}");
    assert!(page.contains("127.0.0.0/8"));
    app.eventually("the widget refuses this address", || async {
        config().await == 403
    })
    .await;
    // The widget's own page shows the same setting.
    let (_, widget) = admin.get("/console/settings/channels/web").await;
    assert!(widget.contains("127.0.0.0/8"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn widget_visitors_over_the_rate_limit_are_told_to_wait_and_nothing_is_stored() {
    let app = TestApp::spawn_with(|s| {
        s.rate_per_visitor = 3;
        s.rate_per_address = 5;
    })
    .await;
    let visitor = "visitor-token-rate-00000001";
    for i in 0..3 {
        assert_eq!(
            app.widget_send(visitor, &format!("r{i}"), "раз")
                .await
                .status(),
            200
        );
    }
    let r = app.widget_send(visitor, "r3", "и ещё").await;
    assert_eq!(r.status(), 429);
    let wait: u64 = r.headers()["Retry-After"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait));
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "rate_limited");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nothing was stored")
    );
    assert_eq!(
        app.widget_messages(visitor).await.len(),
        3,
        "the refused one was not kept"
    );
    // Other visitors from the same address, until the address's own limit.
    assert_eq!(
        app.widget_send("visitor-token-rate-00000002", "a", "привет")
            .await
            .status(),
        200
    );
    let r = app
        .widget_send("visitor-token-rate-00000003", "b", "привет")
        .await;
    assert_eq!(r.status(), 429, "the sixth message from one address");
    let e: Value = r.json().await.unwrap();
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("from your address")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_offers_blacklisting_to_those_who_answer() {
    let app = TestApp::spawn().await;
    let sent: Value = app
        .widget_send("visitor-token-bl-00000009", "l1", "Реклама")
        .await
        .json()
        .await
        .unwrap();
    let conv = sent["conversation_id"].as_i64().unwrap();
    let action = format!("action=\"/console/c/{conv}/blacklist\"");
    let admin = app.admin().await;
    let (_, list) = admin.get("/console/partials/list").await;
    assert!(
        list.contains(&action),
        "the row's menu blacklists its contact"
    );
    let (s, _) = admin
        .post_form(
            &format!("/console/c/{conv}/blacklist"),
            &[("csrf", &admin.csrf), ("reason", "реклама из списка")],
        )
        .await;
    assert_eq!(s, 303);
    let token = app.api_token(ADMIN_EMAIL).await;
    let listed = app.api_ok(&token, Method::GET, "/blacklist", None).await;
    assert_eq!(listed["data"][0]["reason"], "реклама из списка");
    app.add_member(
        "reader@example.com",
        "Аналитик",
        "reader-pass-1",
        perepiska::domain::Role::Analytics,
    )
    .await;
    let reader = app.login("reader@example.com", "reader-pass-1").await;
    let (_, list) = reader.get("/console/partials/list").await;
    assert!(
        list.contains("Реклама") && !list.contains("row-menu"),
        "analysts read only"
    );
}
