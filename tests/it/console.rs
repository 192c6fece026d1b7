use std::time::Duration;

use serde_json::Value;

use crate::support::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp, next_event};

async fn conversation(app: &TestApp, visitor: &str, text: &str) -> i64 {
    let v: Value = app
        .widget_send(visitor, &format!("c{}", text.len()), text)
        .await
        .json()
        .await
        .unwrap();
    v["conversation_id"].as_i64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customer_html_is_shown_escaped() {
    let app = TestApp::spawn().await;
    let id = conversation(
        &app,
        "visitor-token-0000000001",
        "<script>alert(1)</script>",
    )
    .await;
    let op = app.admin().await;
    for path in [
        "/console".to_string(),
        format!("/console?c={id}"),
        format!("/console/partials/thread/{id}"),
    ] {
        let (_, html) = op.get(&path).await;
        assert!(
            !html.contains("<script>alert(1)</script>"),
            "{path} must escape customer text"
        );
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;")
                || html.contains("&#60;script&#62;"),
            "{path} shows the text"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_is_refused() {
    let app = TestApp::spawn().await;
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = c
        .get(format!("{}/login", app.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = crate::support::attr(&page, "name=\"csrf\" value=\"").unwrap();
    let r = c
        .post(format!("{}/login", app.url))
        .form(&[
            ("email", ADMIN_EMAIL),
            ("password", "not-the-password"),
            ("csrf", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.text().await.unwrap().contains("class=\"error\""));
    // Still not signed in.
    let r = c.get(format!("{}/console", app.url)).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/login");
    // Unknown email: the same answer.
    let r = c
        .post(format!("{}/login", app.url))
        .form(&[
            ("email", "nobody@example.com"),
            ("password", ADMIN_PASSWORD),
            ("csrf", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_without_csrf_token_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let id = conversation(&app, "visitor-token-0000000001", "Помогите").await;
    let op = app.admin().await;
    let (s, _) = op
        .post_form(&format!("/console/c/{id}/update"), &[("status", "closed")])
        .await;
    assert_eq!(s, 403);
    let (s, _) = op
        .post_form(
            &format!("/console/c/{id}/update"),
            &[("status", "closed"), ("csrf", "forged")],
        )
        .await;
    assert_eq!(s, 403);
    let form = reqwest::multipart::Form::new().text("text", "forged reply");
    let r = op
        .http
        .post(format!("{}/console/c/{id}/reply", app.url))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // Login itself needs its token too.
    let r = app
        .http
        .post(format!("{}/login", app.url))
        .form(&[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    let token = app.api_token(ADMIN_EMAIL).await;
    let (_, conv) = app
        .api(
            &token,
            reqwest::Method::GET,
            &format!("/conversations/{id}"),
            None,
        )
        .await;
    assert_eq!(conv["status"], "new");
    let msgs = app.thread(&token, id).await;
    assert!(msgs.iter().all(|m| m["text"] != "forged reply"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_assignee_priority_and_due_changes_are_recorded_in_the_thread() {
    let app = TestApp::spawn().await;
    let id = conversation(&app, "visitor-token-0000000001", "Не работает оплата").await;
    let op = app.admin().await;
    let (s, _) = op
        .update(
            id,
            &[
                ("status", "pending"),
                ("priority", "urgent"),
                ("due", "2027-01-15T18:00"),
            ],
        )
        .await;
    assert_eq!(s, 303);
    let (s, _) = op.update(id, &[("status", "resolved")]).await;
    assert_eq!(s, 303);
    // A move the status machine forbids is refused with a reason.
    let (s, body) = op.update(id, &[("status", "cancelled")]).await;
    assert_eq!(s, 400);
    assert!(body.contains("cannot change the status"), "{body}");

    let token = app.api_token(ADMIN_EMAIL).await;
    let (_, conv) = app
        .api(
            &token,
            reqwest::Method::GET,
            &format!("/conversations/{id}"),
            None,
        )
        .await;
    assert_eq!(conv["status"], "resolved");
    assert_eq!(conv["priority"], "urgent");
    // 18:00 in Europe/Moscow is 15:00 UTC.
    assert_eq!(conv["due_at"], "2027-01-15T15:00:00Z");
    let msgs = app.thread(&token, id).await;
    let events: Vec<String> = msgs
        .iter()
        .filter(|m| m["kind"] == "system")
        .map(|m| m["text"].as_str().unwrap().to_string())
        .collect();
    assert!(
        events.iter().any(|e| e == "Status: new → pending (Admin)"),
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| e == "Status: pending → resolved (Admin)"),
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| e == "Priority: normal → urgent (Admin)"),
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| e.starts_with("Due date: 2027-01-15 15:00")),
        "{events:?}"
    );
    // The console shows the same events in Russian by default.
    let (_, html) = op.get(&format!("/console?c={id}")).await;
    assert!(
        html.contains("Статус: Новое → Ждёт клиента (Admin)")
            || html.contains("Status: new → pending"),
        "console lists events"
    );

    // The customer writes again: a resolved conversation is reopened, and it is recorded.
    app.widget_send("visitor-token-0000000001", "again", "Опять не работает")
        .await;
    let (_, conv) = app
        .api(
            &token,
            reqwest::Method::GET,
            &format!("/conversations/{id}"),
            None,
        )
        .await;
    assert_eq!(conv["status"], "reopened");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tabs_counters_search_and_close() {
    let app = TestApp::spawn().await;
    let a = conversation(
        &app,
        "visitor-token-000000000a",
        "Вопрос про ДОСТАВКУ в Казань",
    )
    .await;
    let b = conversation(&app, "visitor-token-000000000b", "Возврат товара").await;
    let op = app.admin().await;
    // Replying assigns the conversation to the operator: it moves to Mine.
    assert_eq!(op.reply(a, "Смотрю", false).await, 303);
    let (_, html) = op.get("/console?tab=mine").await;
    assert!(html.contains("Вопрос про ДОСТАВКУ") && !html.contains("Возврат товара"));
    assert!(
        html.contains("data-counts=\"1,1,2,0,0\""),
        "mine 1, unassigned 1, all 2, closed 0"
    );
    // Case-insensitive Cyrillic search over message text, and #number.
    let (_, html) = op
        .get("/console?q=%D0%B4%D0%BE%D1%81%D1%82%D0%B0%D0%B2%D0%BA%D1%83")
        .await; // "доставку"
    assert!(html.contains("Вопрос про ДОСТАВКУ") && !html.contains("Возврат товара"));
    let (_, html) = op.get("/console?q=%232").await; // "#2"
    assert!(html.contains("Возврат товара") && !html.contains("Вопрос про ДОСТАВКУ"));
    // Close moves it to the Closed tab.
    let (s, _) = op.update(b, &[("status", "closed")]).await;
    assert_eq!(s, 303);
    let (_, html) = op.get("/console?tab=closed").await;
    assert!(html.contains("Возврат товара"));
    assert!(html.contains("data-counts=\"1,0,1,1,0\""));
    // The closed conversation's customer writes again: a new conversation #3 starts.
    let v: Value = app
        .widget_send("visitor-token-000000000b", "later", "Ещё вопрос")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["conversation_number"], 3);
    // Unknown filter values get a clear error.
    let (s, body) = op.get("/console?status=done").await;
    assert_eq!(s, 400);
    assert!(body.contains("unknown status"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_receives_new_messages_live() {
    let app = TestApp::spawn().await;
    let op = app.admin().await;
    let mut live = op
        .http
        .get(format!("{}/console/live", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200);
    assert_eq!(live.headers()["content-type"], "text/event-stream");
    let v: Value = app
        .widget_send("visitor-token-0000000001", "live1", "Есть кто?")
        .await
        .json()
        .await
        .unwrap();
    let ev = next_event(&mut live, Duration::from_secs(5), |e| {
        e["kind"] == "message" && e["from_customer"] == true
    })
    .await
    .expect("live event");
    assert_eq!(ev["conversation_id"], v["conversation_id"]);
    // The list fragment the page fetches on that event shows the message as unread.
    let (_, list) = op.get("/console/partials/list").await;
    assert!(list.contains("Есть кто?") && list.contains("row unread"));
    // Without a session there is no stream.
    let r = app
        .http
        .get(format!("{}/console/live", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_see_only_their_projects() {
    let app = TestApp::spawn().await;
    let id = conversation(&app, "visitor-token-0000000001", "Секрет первого проекта").await;
    let store = app.store();
    store
        .write(|c| {
            let p = perepiska::store::projects::create(
                c,
                "second",
                "Вторая компания",
                "Asia/Yekaterinburg",
            )?;
            perepiska::bootstrap::create_user(
                c,
                "ops2@example.com",
                "Ops Two",
                "password-2222",
                perepiska::domain::Access::of(&[perepiska::domain::Role::Operator]),
                p.id,
            )?;
            Ok(())
        })
        .await
        .unwrap();
    let other = app.login("ops2@example.com", "password-2222").await;
    let (_, html) = other.get("/console").await;
    assert!(html.contains("Вторая компания"));
    assert!(!html.contains("Секрет первого проекта"));
    let (s, _) = other.get(&format!("/console?c={id}")).await;
    assert_eq!(s, 404);
    let (s, _) = other.update(id, &[("status", "closed")]).await;
    assert_eq!(s, 404);
    let token = app.api_token("ops2@example.com").await;
    let (s, _) = app
        .api(
            &token,
            reqwest::Method::GET,
            &format!("/conversations/{id}"),
            None,
        )
        .await;
    assert_eq!(s, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_edits_the_contact_and_bad_values_are_refused() {
    let app = TestApp::spawn().await;
    let id = conversation(&app, "visitor-token-0000000001", "Нужен счёт").await;
    let op = app.admin().await;
    let form = |phone: &'static str, email: &'static str| {
        vec![
            ("name", "Ольга Смирнова"),
            ("phone", phone),
            ("email", email),
            ("vip", "1"),
            ("organization", "ООО Ромашка"),
            ("organization_vip", "1"),
            ("manager", "1"),
        ]
    };
    let mut bad = vec![("csrf", op.csrf.as_str())];
    bad.extend(form("call me", "olga@example.com"));
    let (s, body) = op
        .post_form(&format!("/console/c/{id}/contact"), &bad)
        .await;
    assert_eq!(s, 400);
    assert!(body.contains("phone"), "{body}");
    let mut bad = vec![("csrf", op.csrf.as_str())];
    bad.extend(form("+7 912 000-11-22", "olga@"));
    let (s, _) = op
        .post_form(&format!("/console/c/{id}/contact"), &bad)
        .await;
    assert_eq!(s, 400);
    let (_, html) = op.get(&format!("/console?c={id}")).await;
    assert!(!html.contains("Ольга Смирнова"), "nothing changed");

    let mut good = vec![("csrf", op.csrf.as_str())];
    good.extend(form("+7 912 000-11-22", "Olga@Example.com"));
    let (s, _) = op
        .post_form(&format!("/console/c/{id}/contact"), &good)
        .await;
    assert_eq!(s, 303);
    let (_, html) = op.get(&format!("/console?c={id}")).await;
    assert!(
        html.contains("Ольга Смирнова")
            && html.contains("+7 912 000-11-22")
            && html.contains("olga@example.com")
    );
    assert!(html.contains("ООО Ромашка") && html.contains("VIP org"));
    // Search finds the conversation by the contact's new name, any case.
    let (_, html) = op.get("/console?q=%D0%BE%D0%BB%D1%8C%D0%B3%D0%B0").await; // "ольга"
    assert!(html.contains("Нужен счёт"));
    let token = app.api_token(ADMIN_EMAIL).await;
    let (_, c) = app
        .api(
            &token,
            reqwest::Method::GET,
            &format!("/conversations/{id}"),
            None,
        )
        .await;
    assert_eq!(c["contact"]["vip"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_sends_a_file_and_the_visitor_downloads_it() {
    let app = TestApp::spawn().await;
    let visitor = "visitor-token-0000000001";
    let id = conversation(&app, visitor, "Пришлите договор").await;
    let op = app.admin().await;
    let pdf = b"%PDF-1.4 fake contract".to_vec();
    assert_eq!(
        op.send_file(
            id,
            "Договор во вложении",
            "Договор №5.pdf",
            "application/pdf",
            &pdf
        )
        .await,
        303
    );
    let msgs = app.widget_messages(visitor).await;
    let reply = msgs.iter().find(|m| m["kind"] == "operator").unwrap();
    assert_eq!(reply["attachments"][0]["file_name"], "Договор №5.pdf");
    let att = reply["attachments"][0]["id"].as_i64().unwrap();
    let r = app
        .http
        .get(format!(
            "{}/widget/web/attachments/{att}?visitor={visitor}",
            app.url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("filename*=UTF-8''%D0%94")
    );
    assert_eq!(r.bytes().await.unwrap().to_vec(), pdf);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_wrong_passwords_lock_that_email_for_a_while() {
    let app = TestApp::spawn().await;
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = c
        .get(format!("{}/login", app.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = crate::support::attr(&page, "name=\"csrf\" value=\"").unwrap();
    let attempt = |password: &'static str| {
        c.post(format!("{}/login", app.url))
            .form(&[
                ("email", ADMIN_EMAIL),
                ("password", password),
                ("csrf", csrf.as_str()),
            ])
            .send()
    };
    for _ in 0..10 {
        assert_eq!(attempt("guess").await.unwrap().status(), 401);
    }
    // Now even the right password is refused for this email, with a hint when to retry.
    let r = attempt(ADMIN_PASSWORD).await.unwrap();
    assert_eq!(r.status(), 429);
    assert!(
        r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 0
    );
    // Other accounts are not affected.
    app.add_member(
        "ops@example.com",
        "Ops",
        "password-3333",
        perepiska::domain::Role::Operator,
    )
    .await;
    app.login("ops@example.com", "password-3333").await;
}
