//! Distribution of new conversations (round-robin, least-busy with a limit, one member, the
//! queue), operators going offline, and transfers with a note: what each operator finds
//! assigned to them and in their bell.

use std::time::Duration;

use perepiska::clock::Clock;
use perepiska::domain::Role;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{ADMIN_EMAIL, Operator, TestApp};

const PASSWORD: &str = "password-5555";

/// A widget channel "web" with these distribution keys, a fast scheduler and `clock`.
async fn app_with(keys: &str, clock: Option<Clock>) -> TestApp {
    let toml = format!("[[channels]]\nid = \"web\"\nkind = \"widget\"\nname = \"Сайт\"\n{keys}");
    TestApp::spawn_with(move |s| {
        std::fs::write(&s.channels_path, &toml).unwrap();
        s.scheduler_tick = Duration::from_millis(20);
        if let Some(c) = clock {
            s.clock = c;
        }
    })
    .await
}

/// An operator who signed in and switched themselves online.
async fn online(app: &TestApp, email: &str, name: &str) -> (i64, Operator) {
    app.add_member(email, name, PASSWORD, Role::Operator).await;
    let op = app.login(email, PASSWORD).await;
    set_online(&op, true).await;
    (app.user_id(email).await, op)
}

async fn set_online(op: &Operator, on: bool) {
    let (status, _) = op
        .post_form(
            "/console/presence",
            &[("csrf", &op.csrf), ("online", if on { "1" } else { "0" })],
        )
        .await;
    assert_eq!(status, 303, "presence changed");
}

/// A new visitor's first message; returns the conversation's id.
async fn new_conversation(app: &TestApp, visitor: &str) -> i64 {
    let v: Value = app
        .widget_send(visitor, "m1", "Здравствуйте, вопрос по заказу")
        .await
        .json()
        .await
        .unwrap();
    v["conversation_id"].as_i64().expect("a conversation")
}

async fn assignee(app: &TestApp, token: &str, id: i64) -> Option<i64> {
    let v = app
        .api_ok(token, Method::GET, &format!("/conversations/{id}"), None)
        .await;
    v["assignee"]["id"].as_i64()
}

async fn wait_assignee(app: &TestApp, token: &str, id: i64, want: Option<i64>) {
    app.eventually(&format!("conversation {id} held by {want:?}"), || async {
        assignee(app, token, id).await == want
    })
    .await;
}

async fn bell(op: &Operator) -> String {
    let (status, n) = op.get("/console/partials/bell").await;
    assert_eq!(status, 200);
    n
}

#[tokio::test]
async fn round_robin_gives_new_conversations_in_turn_to_the_operators_online() {
    let app = app_with("distribution = \"round_robin\"\n", None).await;
    let token = app.api_token(ADMIN_EMAIL).await;
    let (anna, anna_op) = online(&app, "anna@example.com", "Анна").await;
    let (boris, _) = online(&app, "boris@example.com", "Борис").await;
    // The admin could answer too, but is offline: they get none.
    let mut got = Vec::new();
    for i in 0..4 {
        let id = new_conversation(&app, &format!("visitor-round-robin-{i:05}")).await;
        got.push(assignee(&app, &token, id).await);
    }
    assert_eq!(
        got,
        vec![Some(anna), Some(boris), Some(anna), Some(boris)],
        "in turn, at arrival"
    );
    // Each is told, and the thread says how it got there.
    assert_eq!(bell(&anna_op).await, "2");
    let (_, page) = anna_op.get("/console/notifications").await;
    assert!(page.contains("Вам назначено #"), "{page}");
    let first = app
        .api_ok(&token, Method::GET, "/conversations?per_page=10", None)
        .await;
    let id = first["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["assignee"]["id"] == anna)
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let thread = app.thread(&token, id).await;
    assert!(
        thread
            .iter()
            .any(|m| m["text"] == "Assigned automatically to Анна"),
        "{thread:?}"
    );
}

#[tokio::test]
async fn least_busy_keeps_the_limit_and_the_queue_waits_for_room() {
    let app = app_with("distribution = \"least_busy\"\nassign_limit = 1\n", None).await;
    let token = app.api_token(ADMIN_EMAIL).await;
    // Nobody online: the first conversation waits in the queue.
    let first = new_conversation(&app, "visitor-least-busy-00001").await;
    assert_eq!(assignee(&app, &token, first).await, None);
    // Anna comes online: the pass gives it to her.
    let (anna, _) = online(&app, "anna@example.com", "Анна").await;
    wait_assignee(&app, &token, first, Some(anna)).await;
    // She is at her limit: the next one waits until someone has room.
    let second = new_conversation(&app, "visitor-least-busy-00002").await;
    assert_eq!(assignee(&app, &token, second).await, None);
    let (boris, _) = online(&app, "boris@example.com", "Борис").await;
    wait_assignee(&app, &token, second, Some(boris)).await;
    let third = new_conversation(&app, "visitor-least-busy-00003").await;
    assert_eq!(assignee(&app, &token, third).await, None, "both are full");
    // Anna closes hers: the third is hers now.
    let (status, _) = app
        .api(
            &token,
            Method::PATCH,
            &format!("/conversations/{first}"),
            Some(json!({"status": "closed"})),
        )
        .await;
    assert_eq!(status, 200);
    wait_assignee(&app, &token, third, Some(anna)).await;
    assert_eq!(assignee(&app, &token, second).await, Some(boris));
}

#[tokio::test]
async fn one_member_takes_every_conversation_of_the_channel() {
    let app = app_with("assign_to = \"anna@example.com\"\n", None).await;
    let token = app.api_token(ADMIN_EMAIL).await;
    app.add_member("anna@example.com", "Анна", PASSWORD, Role::Operator)
        .await;
    let anna = app.user_id("anna@example.com").await;
    // Offline or not, they are hers.
    let id = new_conversation(&app, "visitor-assign-to-000001").await;
    assert_eq!(assignee(&app, &token, id).await, Some(anna));
}

#[tokio::test]
async fn an_operator_going_offline_gives_their_conversations_back_where_the_channel_says_so() {
    let clock = Clock::manual(chrono::Utc::now().naive_utc());
    let app = app_with(
        "distribution = \"round_robin\"\noffline_returns = true\naway_after = \"10m\"\n",
        Some(clock.clone()),
    )
    .await;
    let token = app.api_token(ADMIN_EMAIL).await;
    let (anna, anna_op) = online(&app, "anna@example.com", "Анна").await;
    let id = new_conversation(&app, "visitor-offline-000000001").await;
    assert_eq!(assignee(&app, &token, id).await, Some(anna));
    let (boris, _) = online(&app, "boris@example.com", "Борис").await;
    // Anna switches herself off: hers goes back and on to Boris, the one online.
    set_online(&anna_op, false).await;
    wait_assignee(&app, &token, id, Some(boris)).await;
    let thread = app.thread(&token, id).await;
    assert!(
        thread
            .iter()
            .any(|m| m["text"] == "Back to the queue: Анна went offline"),
        "{thread:?}"
    );
    // Boris's console closed for longer than away_after: away too; nobody is left, so it
    // waits in the queue.
    clock.advance(chrono::Duration::minutes(11));
    wait_assignee(&app, &token, id, None).await;
}

#[tokio::test]
async fn without_offline_returns_an_operator_keeps_their_conversations() {
    let app = app_with("distribution = \"round_robin\"\n", None).await;
    let token = app.api_token(ADMIN_EMAIL).await;
    let (anna, anna_op) = online(&app, "anna@example.com", "Анна").await;
    let id = new_conversation(&app, "visitor-keeps-0000000001").await;
    assert_eq!(assignee(&app, &token, id).await, Some(anna));
    set_online(&anna_op, false).await;
    // Passes run; hers stays hers, and a new one now waits (nobody online).
    app.settle().await;
    assert_eq!(assignee(&app, &token, id).await, Some(anna));
    let next = new_conversation(&app, "visitor-keeps-0000000002").await;
    assert_eq!(assignee(&app, &token, next).await, None);
}

#[tokio::test]
async fn a_transfer_with_a_note_reaches_the_receiver_and_a_bad_one_changes_nothing() {
    let app = app_with("", None).await;
    let token = app.api_token(ADMIN_EMAIL).await;
    let admin = app.admin().await;
    app.add_member("anna@example.com", "Анна", PASSWORD, Role::Operator)
        .await;
    let anna = app.user_id("anna@example.com").await;
    let anna_op = app.login("anna@example.com", PASSWORD).await;
    let id = new_conversation(&app, "visitor-transfer-00000001").await;
    assert_eq!(
        assignee(&app, &token, id).await,
        None,
        "the queue by default"
    );

    // The console's transfer form: to Anna, with a note.
    let (status, _) = admin
        .update(
            id,
            &[
                ("transfer", &format!("m:{anna}")),
                ("note", "Постоянный клиент, перезвонить после обеда"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    assert_eq!(assignee(&app, &token, id).await, Some(anna));
    assert_eq!(bell(&anna_op).await, "1");
    let (_, page) = anna_op.get("/console/notifications").await;
    assert!(
        page.contains("передал(а) вам #") && page.contains("Постоянный клиент, перезвонить"),
        "{page}"
    );
    let thread = app.thread(&token, id).await;
    assert!(
        thread
            .iter()
            .any(|m| m["kind"] == "note"
                && m["text"] == "Постоянный клиент, перезвонить после обеда"),
        "the note stays in the thread: {thread:?}"
    );

    // A team's queue: the team is set, nobody holds it, its members hear with the note.
    let team = app
        .api_ok(
            &token,
            Method::POST,
            "/teams",
            Some(json!({"name": "Возвраты", "members": [anna]})),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let v = app
        .api_ok(
            &token,
            Method::PATCH,
            &format!("/conversations/{id}"),
            Some(json!({"team_id": team, "assignee_id": null, "note": "Оформить возврат"})),
        )
        .await;
    assert_eq!(v["team"]["name"], "Возвраты");
    assert!(v["assignee"].is_null());
    assert_eq!(
        bell(&anna_op).await,
        "1",
        "the notifications page marked the first seen"
    );
    let (_, page) = anna_op.get("/console/notifications").await;
    assert!(
        page.contains("передано группе «Возвраты»: Оформить возврат"),
        "{page}"
    );

    // A note without anyone to receive it, or to someone who is not a member: refused,
    // nothing written.
    let before = app.thread(&token, id).await.len();
    let (status, body) = app
        .api(
            &token,
            Method::PATCH,
            &format!("/conversations/{id}"),
            Some(json!({"note": "кому?"})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("transfer"),
        "{body}"
    );
    let (status, _) = admin
        .update(id, &[("transfer", "m:999999"), ("note", "никому")])
        .await;
    assert_eq!(status, 400);
    let (status, _) = admin.update(id, &[("transfer", "x:1")]).await;
    assert_eq!(status, 400);
    assert_eq!(app.thread(&token, id).await.len(), before);
}

#[tokio::test]
async fn distribution_is_set_in_the_settings_the_api_and_the_file_with_one_validator() {
    let app = app_with("", None).await;
    let token = app.api_token(ADMIN_EMAIL).await;
    // The API: refused values say what is wrong and change nothing.
    for (body, says) in [
        (json!({"mode": "random"}), "distribution"),
        (json!({"mode": "queue", "assign_limit": 5}), "assign_limit"),
        (
            json!({"mode": "least_busy", "assign_limit": 0}),
            "assign_limit",
        ),
        (
            json!({"mode": "round_robin", "away_after": "30s"}),
            "away_after",
        ),
        (json!({"assign_to": "nobody@example.com"}), "assign_to"),
        (json!({"mode": "least_busy", "shout": true}), "shout"),
    ] {
        let (status, v) = app
            .api(
                &token,
                Method::PUT,
                "/channels/web/distribution",
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, 400, "{body} → {v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains(says),
            "{v}"
        );
    }
    let v = app.api_ok(&token, Method::GET, "/channels/web", None).await;
    assert_eq!(v["distribution"]["mode"], "queue", "{v}");
    let saved = app
        .api_ok(
            &token,
            Method::PUT,
            "/channels/web/distribution",
            Some(json!({"mode": "least_busy", "assign_limit": 4, "offline_returns": true})),
        )
        .await;
    assert_eq!(saved["assign_limit"], 4);
    let v = app.api_ok(&token, Method::GET, "/channels/web", None).await;
    assert_eq!(v["distribution"]["mode"], "least_busy");
    assert_eq!(v["distribution"]["offline_returns"], true);

    // The settings page shows it, and refuses what the API refuses.
    let admin = app.admin().await;
    let (_, page) = admin.get("/console/settings").await;
    assert!(
        page.contains("<option value=\"least_busy\" selected>"),
        "settings page"
    );
    assert!(page.contains("name=\"assign_limit\" value=\"4\""));
    let channel_id = crate::support::attr(&page, "action=\"/console/settings/rules/")
        .expect("a channel's rules form");
    let (status, page) = admin
        .post_form(
            &format!("/console/settings/rules/{channel_id}"),
            &[
                ("csrf", &admin.csrf),
                ("distribution", "queue"),
                ("assign_limit", "3"),
            ],
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        page.contains("assign_limit applies to round_robin"),
        "{page}"
    );
    let v = app.api_ok(&token, Method::GET, "/channels/web", None).await;
    assert_eq!(v["distribution"]["assign_limit"], 4, "nothing changed");

    // channels.toml: a bad key stops start-up, naming it.
    let mut app = app;
    app.stop().await;
    std::fs::write(
        &app.settings.channels_path,
        "[[channels]]\nid = \"site3\"\nkind = \"widget\"\ndistribution = \"least_busy\"\nassign_limit = 0\n",
    )
    .unwrap();
    let e = perepiska::start(app.settings.clone())
        .await
        .err()
        .expect("a bad limit stops start-up")
        .to_string();
    assert!(e.contains("assign_limit"), "{e}");
}

/// Every conversation of the channel, with who holds it.
async fn holders(app: &TestApp, token: &str) -> Vec<(i64, Option<i64>)> {
    let v = app
        .api_ok(token, Method::GET, "/conversations?per_page=100", None)
        .await;
    v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].as_i64().unwrap(), c["assignee"]["id"].as_i64()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_never_give_a_conversation_twice_nor_past_the_limit() {
    let Some(redis) = crate::support::several_instances("distribution on two instances") else {
        return;
    };
    let toml = "[[channels]]\nid = \"web\"\nkind = \"widget\"\nname = \"Сайт\"\ndistribution = \"least_busy\"\nassign_limit = 3\n";
    let app = TestApp::spawn_with(|s| {
        std::fs::write(&s.channels_path, toml).unwrap();
        s.redis_url = Some(redis.clone());
        s.scheduler_tick = Duration::from_millis(20);
    })
    .await;
    let second = perepiska::start(app.settings.clone())
        .await
        .expect("second instance");
    let token = app.api_token(ADMIN_EMAIL).await;
    let mut ops = Vec::new();
    for (email, name) in [
        ("anna@example.com", "Анна"),
        ("boris@example.com", "Борис"),
        ("vera@example.com", "Вера"),
    ] {
        ops.push(online(&app, email, name).await.0);
    }
    // 30 new visitors at once, half through each instance: room for 9.
    let send = |url: String, i: usize| {
        let http = app.http.clone();
        async move {
            let r = http
                .post(format!("{url}/widget/web/messages"))
                .json(&json!({
                    "visitor": format!("visitor-two-instances-{i:05}"),
                    "client_id": "m1",
                    "text": "Добрый день",
                }))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
        }
    };
    let urls = [app.url.clone(), second.url.clone()];
    futures_util::future::join_all((0..30).map(|i| send(urls[i % 2].clone(), i))).await;
    app.settle().await;
    let held = holders(&app, &token).await;
    assert_eq!(held.len(), 30);
    for op in &ops {
        let n = held.iter().filter(|(_, a)| *a == Some(*op)).count();
        assert_eq!(n, 3, "each operator is given exactly their limit: {held:?}");
    }
    // Given once each: one record per assigned conversation, none for the rest.
    for (id, a) in &held {
        let thread = app.thread(&token, *id).await;
        let given = thread
            .iter()
            .filter(|m| {
                m["text"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("Assigned automatically"))
            })
            .count();
        assert_eq!(
            given,
            usize::from(a.is_some()),
            "conversation {id}: {thread:?}"
        );
    }

    // Round-robin without a limit: the 21 waiting go out in turn across both instances'
    // passes, 7 each.
    app.api_ok(
        &token,
        Method::PUT,
        "/channels/web/distribution",
        Some(json!({"mode": "round_robin"})),
    )
    .await;
    app.eventually("every conversation handed out", || async {
        holders(&app, &token).await.iter().all(|(_, a)| a.is_some())
    })
    .await;
    let held = holders(&app, &token).await;
    for op in &ops {
        let n = held.iter().filter(|(_, a)| *a == Some(*op)).count();
        assert_eq!(n, 10, "3 + 7 each: {held:?}");
    }
    second.stop().await;
}

#[tokio::test]
async fn what_distribution_reads_uses_its_indexes() {
    let app = app_with("distribution = \"least_busy\"\n", None).await;
    new_conversation(&app, "visitor-plans-0000000001").await;
    let plans = app
        .store()
        .read(perepiska::store::explain::distribution)
        .await
        .expect("plans");
    for (name, want) in [
        ("waiting", "conversations_waiting"),
        ("open counts", "conversations_open_assignee"),
    ] {
        let plan = plans
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, l)| l.join("\n"))
            .unwrap_or_else(|| panic!("no plan for {name}"));
        assert!(plan.contains(want), "{name}: {plan}");
        assert!(
            !plan.contains("SCAN conversations\n") && !plan.contains("Seq Scan"),
            "{name}: {plan}"
        );
    }
}
