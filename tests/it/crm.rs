//! Bitrix24 and amoCRM against fake portals on 127.0.0.1: a conversation becomes a lead (or a
//! contact with a deal), found customers are not duplicated, the responsible person follows
//! the assignee by e-mail, the thread goes to the timeline or notes, a CRM that is down loses
//! and duplicates nothing, and a refused connection is refused on save.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::fake_amocrm::{self, FakeAmo};
use crate::support::fake_bitrix::FakeBitrix;
use crate::support::{ADMIN_EMAIL, TestApp};

/// A widget that asks for a name, a phone and an e-mail, so contacts carry them.
const WIDGET: &str = "[[channels]]\nid = \"web\"\nkind = \"widget\"\nname = \"Сайт\"\ngreeting = \"Здравствуйте!\"\ncontact_request = { name = \"optional\", phone = \"optional\", email = \"optional\", with = [\"greeting\"] }\n";

async fn introduce(app: &TestApp, visitor: &str, contact: Value) {
    let mut body = contact;
    body["visitor"] = json!(visitor);
    let r = app
        .http
        .post(format!("{}/widget/web/contact", app.url))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

async fn write(app: &TestApp, visitor: &str, client_id: &str, text: &str) {
    assert_eq!(
        app.widget_send(visitor, client_id, text).await.status(),
        200
    );
}

async fn newest_conversation(app: &TestApp, token: &str) -> i64 {
    let (_, list) = app.api(token, Method::GET, "/conversations", None).await;
    list["data"][0]["id"].as_i64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bitrix24_makes_a_lead_for_a_known_contact_and_writes_the_timeline() {
    let portal = FakeBitrix::start().await;
    portal.with(|p| {
        p.contacts.push(json!({"ID": "50", "NAME": "Анна", "PHONE": [{"VALUE": "+79123456789", "VALUE_TYPE": "MOBILE"}]}));
    });
    let app = TestApp::spawn_with(|s| {
        std::fs::write(&s.channels_path, WIDGET).unwrap();
        s.public_url = Some("https://inbox.example.com".into());
    })
    .await;
    let token = app.api_token(ADMIN_EMAIL).await;

    // A webhook the portal refuses is refused on save, in the portal's words; nothing is kept.
    let wrong = portal.webhook_url.replace("k3y5ecr3tabc", "wrongkey");
    let (s, v) = app
        .api(
            &token,
            Method::POST,
            "/integrations",
            Some(json!({"id": "b24", "kind": "bitrix24", "config": {"webhook_url": wrong}})),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains("Invalid request credentials"), "{msg}");
    let (_, list) = app.api(&token, Method::GET, "/integrations", None).await;
    assert_eq!(list["data"], json!([]));

    let (s, v) = app
        .api(
            &token,
            Method::POST,
            "/integrations",
            Some(
                json!({"id": "b24", "kind": "bitrix24", "name": "Битрикс24", "config": {
                    "webhook_url": portal.webhook_url, "default_responsible": 1, "source_id": "WEB"
                }}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert!(
        v["integration"]["connected_as"]
            .as_str()
            .unwrap()
            .contains("Иван Петров"),
        "{v}"
    );
    assert_eq!(v["integration"]["config"]["portal"], portal.origin);
    let (_, listed) = app.api(&token, Method::GET, "/integrations", None).await;
    assert!(
        !listed.to_string().contains("k3y5ecr3tabc"),
        "the webhook's key is never shown: {listed}"
    );

    introduce(
        &app,
        "visitor-token-0000000101",
        json!({"name": "Анна", "phone": "8 (912) 345-67-89"}),
    )
    .await;
    write(
        &app,
        "visitor-token-0000000101",
        "a1",
        "Нужна доставка в Тверь",
    )
    .await;
    app.eventually("the lead is made", || async {
        portal.with(|p| p.leads.len()) == 1
    })
    .await;
    let lead = portal.with(|p| p.leads[0].clone());
    let lead_id: i64 = lead["ID"].as_str().unwrap().parse().unwrap();
    assert_eq!(lead["TITLE"], "Анна — Сайт");
    assert_eq!(
        lead["CONTACT_ID"], 50,
        "the customer is found by phone, not made again"
    );
    assert_eq!(lead["SOURCE_ID"], "WEB");
    assert_eq!(
        lead["ASSIGNED_BY_ID"], 1,
        "nobody is assigned yet: the default"
    );
    let comments = lead["COMMENTS"].as_str().unwrap().to_string();
    assert!(comments.contains("Нужна доставка в Тверь"), "{comments}");
    let lookup = portal.with(|p| {
        p.calls
            .iter()
            .find(|(m, _)| m == "crm.duplicate.findbycomm")
            .map(|(_, v)| v.clone())
    });
    assert_eq!(lookup.unwrap()["values"], json!(["+79123456789"]));
    assert_eq!(portal.with(|p| p.contacts.len()), 1);

    // The operator's answer assigns the conversation: the lead follows them by e-mail.
    let id = newest_conversation(&app, &token).await;
    assert!(
        comments.contains(&format!("https://inbox.example.com/console?c={id}")),
        "the lead links back to the conversation: {comments}"
    );
    app.api_ok(
        &token,
        Method::POST,
        &format!("/conversations/{id}/messages"),
        Some(json!({"text": "Доставим завтра, 300 ₽"})),
    )
    .await;
    write(&app, "visitor-token-0000000101", "a2", "Отлично, жду").await;
    app.eventually("the thread is on the timeline", || async {
        portal.with(|p| p.comments.len()) >= 2
    })
    .await;
    app.eventually("the responsible person follows the assignee", || async {
        portal.with(|p| p.leads[0]["ASSIGNED_BY_ID"] == 7)
    })
    .await;
    let comments: Vec<String> = portal.with(|p| p.comments.iter().map(|c| c.2.clone()).collect());
    assert!(comments[0].starts_with("Оператор"), "{comments:?}");
    assert!(
        comments[0].ends_with("Доставим завтра, 300 ₽"),
        "{comments:?}"
    );
    assert_eq!(comments[1], "Клиент: Отлично, жду");
    assert!(
        portal.with(|p| p.comments.iter().all(|c| c.0 == "lead" && c.1 == lead_id)),
        "on the lead's timeline"
    );

    // Closing writes the transcript once.
    app.api_ok(
        &token,
        Method::PATCH,
        &format!("/conversations/{id}"),
        Some(json!({"status": "closed"})),
    )
    .await;
    app.eventually("the transcript", || async {
        portal.with(|p| p.comments.iter().any(|c| c.2.contains("закрыто")))
    })
    .await;
    let transcript = portal.with(|p| p.comments.last().unwrap().2.clone());
    for line in [
        "Нужна доставка в Тверь",
        "Доставим завтра, 300 ₽",
        "Отлично, жду",
    ] {
        assert!(transcript.contains(line), "{transcript}");
    }
    assert_eq!(
        portal.with(|p| p.leads.len()),
        1,
        "one conversation, one lead"
    );

    // The conversation's sidebar links to the lead.
    let admin = app.admin().await;
    let (_, page) = admin.get(&format!("/console?c={id}")).await;
    let link = format!("{}/crm/lead/details/{lead_id}/", portal.origin);
    assert!(page.contains(&link), "{page}");
    let (_, conv) = app
        .api(&token, Method::GET, &format!("/conversations/{id}"), None)
        .await;
    assert_eq!(conv["crm"][0]["url"], link, "{conv}");
    assert_eq!(conv["crm"][0]["entity"], "lead");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bitrix24_portal_down_for_a_minute_gets_one_contact_and_one_deal() {
    let portal = FakeBitrix::start().await;
    let clock = perepiska::clock::Clock::manual(
        chrono::NaiveDate::from_ymd_opt(2026, 12, 1)
            .unwrap()
            .and_hms_opt(9, 0, 0)
            .unwrap(),
    );
    // Declared as a file, as an admin provisions it.
    let toml = format!(
        "{WIDGET}\n[[integrations]]\nid = \"b24\"\nkind = \"bitrix24\"\nname = \"Битрикс24\"\nwebhook_url = \"{}\"\nentity = \"deal\"\ntitle = \"Заявка {{number}}: {{name|Клиент}}\"\n",
        portal.webhook_url
    );
    let c2 = clock.clone();
    let app = TestApp::spawn_with(move |s| {
        std::fs::write(&s.channels_path, toml).unwrap();
        s.clock = c2;
    })
    .await;
    let token = app.api_token(ADMIN_EMAIL).await;
    let (_, v) = app
        .api(&token, Method::GET, "/integrations/b24", None)
        .await;
    assert_eq!(v["source"], "file", "{v}");
    assert_eq!(v["config"]["entity"], "deal");

    portal.with(|p| p.down = true);
    introduce(
        &app,
        "visitor-token-0000000102",
        json!({"name": "Борис", "email": "boris@mail.ru"}),
    )
    .await;
    write(
        &app,
        "visitor-token-0000000102",
        "b1",
        "Сколько стоит монтаж?",
    )
    .await;
    app.failure_recorded(&token, "b24", &clock).await;
    let (_, log) = app
        .api(&token, Method::GET, "/integrations/b24/deliveries", None)
        .await;
    let first = log["data"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(first["event"], "conversation_created");
    assert_eq!(first["last_status"], 503, "{log}");
    write(&app, "visitor-token-0000000102", "b2", "И сроки?").await;
    clock.advance(chrono::Duration::seconds(30));
    app.eventually("tried again after 30 s", || async {
        portal.with(|p| p.calls.len()) >= 2
    })
    .await;
    app.failure_recorded(&token, "b24", &clock).await;

    // Back after a minute, but the deal fails once after its contact was made: the retry
    // carries on with that contact instead of making a second one.
    portal.with(|p| {
        p.down = false;
        p.fail_once.push("crm.deal.add".into());
    });
    clock.advance(chrono::Duration::seconds(60));
    app.failure_recorded(&token, "b24", &clock).await;
    assert_eq!(portal.with(|p| p.contacts.len()), 1);
    assert_eq!(portal.with(|p| p.deals.len()), 0);
    clock.advance(chrono::Duration::seconds(120));
    app.eventually("the deal and the later message", || async {
        portal.with(|p| p.deals.len() == 1 && !p.comments.is_empty())
    })
    .await;
    let (contacts, deals, comments) =
        portal.with(|p| (p.contacts.clone(), p.deals.clone(), p.comments.clone()));
    assert_eq!(contacts.len(), 1, "{contacts:?}");
    assert_eq!(contacts[0]["NAME"], "Борис");
    assert_eq!(contacts[0]["EMAIL"][0]["VALUE"], "boris@mail.ru");
    assert_eq!(deals.len(), 1, "{deals:?}");
    assert_eq!(
        deals[0]["CONTACT_ID"].to_string(),
        contacts[0]["ID"].as_str().unwrap()
    );
    assert!(
        deals[0]["TITLE"].as_str().unwrap().ends_with(": Борис"),
        "{deals:?}"
    );
    assert!(
        deals[0]["COMMENTS"]
            .as_str()
            .unwrap()
            .contains("Сколько стоит монтаж?")
    );
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert_eq!(comments[0].0, "deal");
    assert_eq!(comments[0].2, "Клиент: И сроки?");
    // The portal sees a call before the worker writes its outcome down.
    app.eventually("every delivery delivered", || async {
        let (_, log) = app
            .api(&token, Method::GET, "/integrations/b24/deliveries", None)
            .await;
        log["data"]
            .as_array()
            .is_some_and(|a| a.len() == 3 && a.iter().all(|d| d["status"] == "delivered"))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amocrm_makes_a_lead_in_the_chosen_stage_and_notes_the_thread() {
    let amo = FakeAmo::start().await;
    amo.with(|a| {
        a.contacts.push(
            json!({"id": 4000, "name": "Павел", "custom_fields_values": [
                {"field_code": "EMAIL", "values": [{"value": "pavel@mail.ru", "enum_code": "WORK"}]}
            ]}),
        );
    });
    let app = TestApp::spawn_with(|s| std::fs::write(&s.channels_path, WIDGET).unwrap()).await;
    let token = app.api_token(ADMIN_EMAIL).await;
    let config = |token: &str| {
        json!({"subdomain": "romashka", "token": token, "pipeline_id": 77, "status_id": 88,
               "api_base": amo.api_base, "default_responsible": "9001"})
    };
    let (s, v) = app
        .api(
            &token,
            Method::POST,
            "/integrations",
            Some(json!({"id": "amo", "kind": "amocrm", "config": config("eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.revoked")})),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Invalid access token"),
        "{v}"
    );
    let (s, v) = app
        .api(
            &token,
            Method::POST,
            "/integrations",
            Some(json!({"id": "amo", "kind": "amocrm", "name": "amoCRM", "config": config(fake_amocrm::TOKEN)})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert!(
        v["integration"]["connected_as"]
            .as_str()
            .unwrap()
            .contains("ООО Ромашка"),
        "{v}"
    );
    assert!(
        !v.to_string().contains(fake_amocrm::TOKEN),
        "the token is never shown"
    );
    // An edit that leaves the token out keeps it.
    let (s, v) = app
        .api(
            &token,
            Method::PUT,
            "/integrations/amo",
            Some(
                json!({"kind": "amocrm", "config": {"subdomain": "romashka", "pipeline_id": 77,
                "status_id": 88, "api_base": amo.api_base, "default_responsible": 9001}}),
            ),
        )
        .await;
    assert_eq!(s, 200, "{v}");

    // A known customer (by e-mail) is linked, not duplicated.
    introduce(
        &app,
        "visitor-token-0000000103",
        json!({"name": "Павел", "email": "pavel@mail.ru"}),
    )
    .await;
    write(
        &app,
        "visitor-token-0000000103",
        "p1",
        "Хочу заказать 10 коробок",
    )
    .await;
    app.eventually("the lead and its first note", || async {
        amo.with(|a| a.leads.len() == 1 && a.notes.len() == 1)
    })
    .await;
    let (lead, notes) = amo.with(|a| (a.leads[0].clone(), a.notes.clone()));
    assert_eq!(lead["name"], "Павел — Сайт");
    assert_eq!(
        (lead["pipeline_id"].clone(), lead["status_id"].clone()),
        (json!(77), json!(88))
    );
    assert_eq!(lead["responsible_user_id"], 9001);
    assert_eq!(lead["_embedded"]["contacts"][0], json!({"id": 4000}));
    assert_eq!(amo.with(|a| a.contacts.len()), 1);
    assert!(notes[0].1.contains("Хочу заказать 10 коробок"), "{notes:?}");
    let lead_id = lead["id"].as_i64().unwrap();

    // A new customer gets a contact with the phone written +7….
    introduce(
        &app,
        "visitor-token-0000000104",
        json!({"name": "Вера", "phone": "8 916 000-11-22"}),
    )
    .await;
    write(&app, "visitor-token-0000000104", "v1", "Есть самовывоз?").await;
    app.eventually("the second lead", || async {
        amo.with(|a| a.leads.len()) == 2
    })
    .await;
    let second = amo.with(|a| a.leads[1].clone());
    let contact = &second["_embedded"]["contacts"][0];
    assert_eq!(contact["name"], "Вера");
    assert_eq!(contact["custom_fields_values"][0]["field_code"], "PHONE");
    assert_eq!(
        contact["custom_fields_values"][0]["values"][0]["value"],
        "+79160001122"
    );

    // Pavel's conversation: answered (assigned to the admin, amoCRM user 9002), then closed.
    let (_, list) = app.api(&token, Method::GET, "/conversations", None).await;
    let pavel = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["contact"]["name"] == "Павел" || c["contact_name"] == "Павел")
        .map(|c| c["id"].as_i64().unwrap())
        .unwrap_or_else(|| list["data"][1]["id"].as_i64().unwrap());
    app.api_ok(
        &token,
        Method::POST,
        &format!("/conversations/{pavel}/messages"),
        Some(json!({"text": "Оформили, счёт на почте"})),
    )
    .await;
    app.eventually("the responsible user follows the assignee", || async {
        amo.with(|a| a.leads[0]["responsible_user_id"] == 9002)
    })
    .await;
    app.api_ok(
        &token,
        Method::PATCH,
        &format!("/conversations/{pavel}"),
        Some(json!({"status": "closed"})),
    )
    .await;
    app.eventually("the transcript note", || async {
        amo.with(|a| {
            a.notes
                .iter()
                .any(|n| n.0 == lead_id && n.1.contains("закрыто"))
        })
    })
    .await;
    let transcript = amo.with(|a| a.notes.last().unwrap().1.clone());
    assert!(
        transcript.contains("Хочу заказать 10 коробок"),
        "{transcript}"
    );
    assert!(
        transcript.contains("Оформили, счёт на почте"),
        "{transcript}"
    );
    let admin = app.admin().await;
    let (_, page) = admin.get(&format!("/console?c={pavel}")).await;
    assert!(
        page.contains(&format!(
            "https://romashka.amocrm.ru/leads/detail/{lead_id}"
        )),
        "{page}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amocrm_is_connected_and_changed_on_the_settings_page_without_showing_its_token() {
    let amo = FakeAmo::start().await;
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (s, page) = admin.get("/console/settings/integrations?new=amocrm").await;
    assert_eq!(s, 200);
    assert!(page.contains("name=\"subdomain\""), "{page}");
    let form = |token: &'static str| {
        vec![
            ("csrf", admin.csrf.as_str()),
            ("kind", "amocrm"),
            ("key", "amo"),
            ("name", "Продажи"),
            ("subdomain", "romashka"),
            ("token", token),
            ("pipeline_id", "77"),
            ("status_id", "88"),
            ("api_base", amo.api_base.as_str()),
            ("title", "{name|Клиент} из {channel}"),
            ("enabled", "on"),
        ]
    };
    let (s, page) = admin
        .post_form(
            "/console/settings/integrations",
            &form("eyJ0eXAiOiJKV1QiLCJhbGciOi.revoked"),
        )
        .await;
    assert_eq!(s, 422, "{page}");
    assert!(page.contains("Invalid access token"), "{page}");
    assert!(page.contains("value=\"romashka\""), "what was typed stays");
    let (s, page) = admin
        .post_form("/console/settings/integrations", &form(fake_amocrm::TOKEN))
        .await;
    assert_eq!(s, 200, "{page}");
    assert!(page.contains("ООО Ромашка"), "{page}");
    assert!(
        !page.contains(fake_amocrm::TOKEN),
        "the token is not shown back"
    );
    assert!(page.contains("value=\"77\""), "{page}");
    // Changed without the token: the stored one is kept (and checked again).
    let mut change = form("");
    change.retain(|(k, _)| *k != "key" && *k != "kind");
    change.retain(|(k, _)| *k != "status_id" && *k != "subdomain");
    change.push(("status_id", ""));
    change.push(("subdomain", "Romashka.amocrm.ru"));
    let (s, page) = admin
        .post_form("/console/settings/integrations/amo", &change)
        .await;
    assert_eq!(s, 200, "{page}");
    assert!(page.contains("ООО Ромашка"), "{page}");
    let token = app.api_token(ADMIN_EMAIL).await;
    let (_, v) = app
        .api(&token, Method::GET, "/integrations/amo", None)
        .await;
    assert_eq!(v["kind"], "amocrm");
    assert_eq!(v["config"]["pipeline_id"], "77");
    assert!(v["config"]["status_id"].is_null(), "{v}");
    assert!(v["config"]["token"].is_null(), "{v}");
    assert_eq!(
        v["config"]["subdomain"], "romashka",
        "kept as the account's name"
    );
    assert_eq!(v["url"], "https://romashka.amocrm.ru");
    assert_eq!(
        amo.calls()
            .iter()
            .filter(|c| c.ends_with("/api/v4/account"))
            .count(),
        3,
        "each save asks amoCRM"
    );
    // An operator cannot reach it.
    let op_token = app.operator_token().await;
    let (s, _) = app
        .api(&op_token, Method::GET, "/integrations/amo", None)
        .await;
    assert_eq!(s, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_config_online_asks_each_crm_and_names_a_bad_key() {
    let portal = FakeBitrix::start().await;
    let amo = FakeAmo::start().await;
    let dir = tempfile::tempdir().unwrap();
    let run = |dir: std::path::PathBuf| {
        std::process::Command::new(env!("CARGO_BIN_EXE_perepiska"))
            .current_dir(&dir)
            .env("PEREPISKA_ALLOW_PRIVATE_TARGETS", "1")
            .args(["check-config", "--online"])
            .output()
            .unwrap()
    };
    let file = |b24: &str, amo_token: &str| {
        format!(
            "[[integrations]]\nid = \"b24\"\nkind = \"bitrix24\"\nwebhook_url = \"{b24}\"\n\n[[integrations]]\nid = \"amo\"\nkind = \"amocrm\"\nsubdomain = \"romashka\"\ntoken = \"{amo_token}\"\napi_base = \"{}\"\n",
            amo.api_base
        )
    };
    std::fs::write(
        dir.path().join("channels.toml"),
        file(&portal.webhook_url, fake_amocrm::TOKEN),
    )
    .unwrap();
    let d = dir.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || run(d)).await.unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{text}");
    assert!(text.contains("2 integration(s) OK"), "{text}");
    assert!(text.contains("Иван Петров (ID 1)"), "{text}");
    assert!(text.contains("ООО Ромашка"), "{text}");
    std::fs::write(
        dir.path().join("channels.toml"),
        file(
            &portal.webhook_url,
            "eyJ0eXAiOiJKV1QiLCJhbGciOi.revoked-token",
        ),
    )
    .unwrap();
    let d = dir.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || run(d)).await.unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        !out.status.success()
            && text.contains("amo (amocrm): amo — refused")
            && text.contains("Invalid access token"),
        "{text}"
    );
    std::fs::write(
        dir.path().join("channels.toml"),
        file("https://firm.bitrix24.ru/crm/", fake_amocrm::TOKEN),
    )
    .unwrap();
    let d = dir.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || run(d)).await.unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !out.status.success()
            && text.contains("integration \"b24\"")
            && text.contains("webhook_url"),
        "{text}"
    );
}
