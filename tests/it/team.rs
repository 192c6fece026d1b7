//! Settings → Team and the team API: invitations, access levels, switching a member off (their
//! open console, token and sign-in stop at once), handing over, removing, the last admin, and
//! teams with "My teams".

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{ADMIN_EMAIL, Operator, TestApp, next_event};
use perepiska::domain::Role;
use perepiska::store::access_links::Purpose;

/// The text between `start` and the next `end`.
fn between(html: &str, start: &str, end: &str) -> Option<String> {
    let i = html.find(start)? + start.len();
    let j = html[i..].find(end)? + i;
    Some(html[i..j].to_string())
}

/// A browser-like client with no session yet.
fn visitor() -> reqwest::Client {
    crate::support::builder()
        .cookie_store(true)
        .timeout(Duration::from_secs(20))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Opens an invitation or reset link and chooses a password; the session it starts.
async fn accept(app: &TestApp, link: &str, password: &str) -> Operator {
    let c = visitor();
    let page = c.get(link).send().await.unwrap();
    assert_eq!(page.status(), 200, "{link}");
    let r = c
        .post(link)
        .form(&[("password", password), ("repeat", password)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "setting the password through {link}");
    assert_eq!(r.headers()["Location"], "/console");
    let profile = c
        .get(format!("{}/console/profile", app.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = crate::support::attr(&profile, "name=\"csrf\" value=\"").unwrap();
    Operator {
        http: c,
        url: app.url.clone(),
        csrf,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_adds_a_member_whose_invitation_works_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    // A refused form keeps what was typed and adds nobody.
    let (s, page) = admin
        .post_form(
            "/console/settings/team",
            &[
                ("csrf", &admin.csrf),
                ("email", "marina@example.com"),
                ("first_name", "Марина"),
                ("last_name", "Соколова"),
                ("phone", "+7 900 123-45-67"),
            ],
        )
        .await;
    assert_eq!(s, 422, "no access level chosen");
    assert!(page.contains("at least one access level") && page.contains("Соколова"));
    let (s, page) = admin
        .post_form(
            "/console/settings/team",
            &[
                ("csrf", &admin.csrf),
                ("email", "Marina@Example.com"),
                ("first_name", "Марина"),
                ("last_name", "Соколова"),
                ("phone", "+7 900 123-45-67"),
                ("role", "operator"),
                ("role", "analytics"),
            ],
        )
        .await;
    assert_eq!(s, 200, "{page}");
    let link =
        between(&page, "id=\"invite-url\">", "</pre>").expect("the invitation link is shown");
    assert!(
        link.starts_with(&app.url) && link.contains("/invite/"),
        "{link}"
    );
    let (_, list) = admin.get("/console/settings/team").await;
    let row = between(&list, "data-email=\"marina@example.com\"", "</tr>").expect("listed");
    assert!(
        row.contains("Марина Соколова") && row.contains("приглашён"),
        "{row}"
    );
    assert!(row.contains("Аналитика, Оператор"), "{row}");
    // Search finds her by part of the address, and not by something else.
    let (_, found) = admin.get("/console/settings/team?q=marina").await;
    assert!(found.contains("marina@example.com") && !found.contains(ADMIN_EMAIL));
    // Until she chooses a password nothing signs her in.
    assert_eq!(app.sign_in_status("marina@example.com", "").await, 401);
    // Two different passwords are refused and the link still works.
    let c = visitor();
    let r = c
        .post(&link)
        .form(&[("password", "marina-pass-1"), ("repeat", "marina-pass-2")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("differ"));
    let marina = accept(&app, &link, "marina-pass-1").await;
    let (s, _) = marina.get("/console").await;
    assert_eq!(s, 200, "she is signed in and works in the inbox");
    // Once used, the link is gone.
    let r = visitor().get(&link).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("already been used"));
    assert_eq!(
        app.sign_in_status("marina@example.com", "marina-pass-1")
            .await,
        303
    );
    // Adding her again is a conflict, not a second account.
    let (s, page) = admin
        .post_form(
            "/console/settings/team",
            &[
                ("csrf", &admin.csrf),
                ("email", "marina@example.com"),
                ("first_name", "М"),
                ("role", "operator"),
            ],
        )
        .await;
    assert_eq!(s, 422);
    assert!(page.contains("already a member"));
}

/// A link of this kind for this user that expired a second ago, as a week-old one would have.
async fn expired_link(app: &TestApp, user: i64, purpose: Purpose, fill: &str) -> String {
    let secret = fill.repeat(24);
    let hash = perepiska::crypto::sha256_hex(secret.as_bytes());
    app.store()
        .write(move |c| {
            perepiska::store::access_links::create(
                c,
                &hash,
                user,
                perepiska::domain::ProjectId(1),
                purpose,
                chrono::Duration::seconds(-1),
            )
            .map(|_| ())
        })
        .await
        .unwrap();
    let path = match purpose {
        Purpose::Invite => "invite",
        Purpose::Reset => "reset",
    };
    format!("{}/{path}/{secret}", app.url)
}

/// Neither the page nor choosing a password works through this link.
async fn refused(link: &str, password: &str) {
    assert_eq!(visitor().get(link).send().await.unwrap().status(), 404);
    let r = visitor()
        .post(link)
        .form(&[("password", password), ("repeat", password)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_link_opens_nothing() {
    let app = TestApp::spawn().await;
    let token = app.api_token(ADMIN_EMAIL).await;
    let made = app
        .api_ok(
            &token,
            Method::POST,
            "/users",
            Some(json!({"email": "late@example.com", "name": "Опоздавший", "roles": ["operator"]})),
        )
        .await;
    let id = made["id"].as_i64().unwrap();
    refused(
        &expired_link(&app, id, Purpose::Invite, "ab").await,
        "late-pass-11",
    )
    .await;
    assert_eq!(
        app.sign_in_status("late@example.com", "late-pass-11").await,
        401
    );
    // A password-reset link a day old is refused the same way, and changes no password.
    app.add_member("old@example.com", "Давний", "old-pass-1111", Role::Operator)
        .await;
    let old = app.user_id("old@example.com").await;
    refused(
        &expired_link(&app, old, Purpose::Reset, "cd").await,
        "new-pass-2222",
    )
    .await;
    assert_eq!(
        app.sign_in_status("old@example.com", "old-pass-1111").await,
        303
    );
    // An invitation link is not a reset link, whatever it is sent to.
    let made = app
        .api_ok(
            &token,
            Method::POST,
            "/users",
            Some(json!({"email": "fresh@example.com", "name": "Новый", "roles": ["operator"]})),
        )
        .await;
    let invite = made["invite_url"]
        .as_str()
        .unwrap()
        .replace("/invite/", "/reset/");
    assert_eq!(visitor().get(&invite).send().await.unwrap().status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_switched_off_member_loses_their_open_console_token_and_sign_in_at_once() {
    let app = TestApp::spawn().await;
    app.add_member("ivan@example.com", "Иван", "ivan-pass-11", Role::Operator)
        .await;
    let ivan = app.login("ivan@example.com", "ivan-pass-11").await;
    let ivan_token = app.api_token("ivan@example.com").await;
    // Ivan answers a customer: what he wrote must stay.
    let sent: Value = app
        .widget_send("visitor-token-team-00000001", "t1", "Здравствуйте")
        .await
        .json()
        .await
        .unwrap();
    let conv = sent["conversation_id"].as_i64().unwrap();
    assert_eq!(ivan.reply(conv, "Добрый день, это Иван", false).await, 303);
    let mut live = ivan
        .http
        .get(format!("{}/console/live", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200);
    let (s, _) = app
        .api(&ivan_token, Method::GET, "/conversations", None)
        .await;
    assert_eq!(s, 200);

    let admin = app.admin().await;
    let id = app.user_id("ivan@example.com").await;
    let (s, page) = admin
        .post_form(
            &format!("/console/settings/team/{id}/active"),
            &[("csrf", &admin.csrf), ("active", "0")],
        )
        .await;
    assert_eq!(s, 200, "{page}");
    assert!(page.contains("отключён"));
    next_event(&mut live, Duration::from_secs(5), |e| {
        e["signed_out"] == true
    })
    .await
    .expect("his open console is told at once");
    let rest = tokio::time::timeout(Duration::from_secs(5), live.chunk()).await;
    assert!(
        matches!(rest, Ok(Ok(None)) | Ok(Err(_))),
        "and the stream ends"
    );
    let (s, _) = app
        .api(&ivan_token, Method::GET, "/conversations", None)
        .await;
    assert_eq!(s, 401, "his token is refused");
    let (s, body) = ivan.get("/console").await;
    assert_eq!((s, body.as_str()), (303, ""), "his session is over");
    assert_eq!(
        app.sign_in_status("ivan@example.com", "ivan-pass-11").await,
        403
    );
    // His history stays, under his name.
    let token = app.api_token(ADMIN_EMAIL).await;
    let thread = app.thread(&token, conv).await;
    assert!(
        thread
            .iter()
            .any(|m| m["text"] == "Добрый день, это Иван" && m["author"] == "Иван"),
        "{thread:?}"
    );
    // Switched on again, he signs in as before.
    let (s, _) = admin
        .post_form(
            &format!("/console/settings/team/{id}/active"),
            &[("csrf", &admin.csrf), ("active", "1")],
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        app.sign_in_status("ivan@example.com", "ivan-pass-11").await,
        303
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_adds_changes_and_removes_members_with_the_web_rules() {
    let app = TestApp::spawn().await;
    let token = app.api_token(ADMIN_EMAIL).await;
    let users = || async {
        app.api_ok(&token, Method::GET, "/users", None).await["data"]
            .as_array()
            .unwrap()
            .len()
    };
    let before = users().await;
    for (body, status, says) in [
        (
            json!({"email": "x@example.com", "name": "X", "roles": ["boss"]}),
            400,
            "unknown access level",
        ),
        (
            json!({"email": "x@example.com", "name": "X", "roles": []}),
            400,
            "at least one access level",
        ),
        (
            json!({"email": "not-an-address", "name": "X", "roles": ["operator"]}),
            400,
            "not an email",
        ),
        (
            json!({"email": "x@example.com", "name": " ", "roles": ["operator"]}),
            400,
            "name",
        ),
        (
            json!({"email": "x@example.com", "name": "X", "roles": ["operator"], "teams": [999]}),
            400,
            "team 999",
        ),
        (
            json!({"email": "x@example.com", "name": "X", "roles": ["operator"], "extra": 1}),
            400,
            "unknown field",
        ),
    ] {
        let (s, e) = app.api(&token, Method::POST, "/users", Some(body)).await;
        assert_eq!(s, status, "{e}");
        assert!(
            e["error"]["message"].as_str().unwrap().contains(says),
            "{e}"
        );
    }
    assert_eq!(users().await, before, "nothing was added");
    let made = app
        .api_ok(
            &token,
            Method::POST,
            "/users",
            Some(json!({"email": "pavel@example.com", "name": "Павел", "roles": ["analytics"]})),
        )
        .await;
    let id = made["id"].as_i64().unwrap();
    let link = made["invite_url"].as_str().unwrap().to_string();
    assert_eq!(made["user"]["roles"], json!(["analytics"]));
    assert_eq!(made["user"]["invited"], true);
    let pavel = accept(&app, &link, "pavel-pass-11").await;
    // Analytics reads conversations and does not answer them.
    let pavel_token = app.api_token("pavel@example.com").await;
    let sent: Value = app
        .widget_send("visitor-token-team-00000002", "t2", "Вопрос")
        .await
        .json()
        .await
        .unwrap();
    let conv = sent["conversation_id"].as_i64().unwrap();
    let (s, _) = app
        .api(
            &pavel_token,
            Method::GET,
            &format!("/conversations/{conv}"),
            None,
        )
        .await;
    assert_eq!(s, 200);
    let (s, e) = app
        .api(
            &pavel_token,
            Method::POST,
            &format!("/conversations/{conv}/messages"),
            Some(json!({"text": "нельзя"})),
        )
        .await;
    assert_eq!(s, 403, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("operators")
    );
    assert_eq!(pavel.reply(conv, "и здесь нельзя", false).await, 403);
    // Made an operator too, he may: the same token, read again on every request.
    let changed = app
        .api_ok(
            &token,
            Method::PATCH,
            &format!("/users/{id}"),
            Some(json!({"roles": ["analytics", "operator"]})),
        )
        .await;
    assert_eq!(changed["roles"], json!(["analytics", "operator"]));
    let (s, _) = app
        .api(
            &pavel_token,
            Method::POST,
            &format!("/conversations/{conv}/messages"),
            Some(json!({"text": "теперь можно"})),
        )
        .await;
    assert_eq!(s, 201);
    let off = app
        .api_ok(
            &token,
            Method::PATCH,
            &format!("/users/{id}"),
            Some(json!({"active": false})),
        )
        .await;
    assert_eq!(off["active"], false);
    let (s, _) = app
        .api(&pavel_token, Method::GET, "/conversations", None)
        .await;
    assert_eq!(s, 401);
    let removed = app
        .api_ok(&token, Method::DELETE, &format!("/users/{id}"), None)
        .await;
    assert_eq!(removed["id"], id);
    let (s, _) = app
        .api(&token, Method::GET, &format!("/users/{id}"), None)
        .await;
    assert_eq!(s, 404);
    assert_eq!(users().await, before);
    assert!(
        app.thread(&token, conv)
            .await
            .iter()
            .any(|m| m["text"] == "теперь можно"),
        "what he wrote stays"
    );
    // An operator's token may not manage the team.
    let op = app.operator_token().await;
    let (s, _) = app.api(&op, Method::GET, "/users", None).await;
    assert_eq!(s, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_admin_cannot_remove_or_demote_themselves() {
    let app = TestApp::spawn().await;
    let token = app.api_token(ADMIN_EMAIL).await;
    let me = app.api_ok(&token, Method::GET, "/users", None).await["data"][0]["id"]
        .as_i64()
        .unwrap();
    for (method, body) in [
        (Method::PATCH, Some(json!({"roles": ["operator"]}))),
        (Method::PATCH, Some(json!({"active": false}))),
        (Method::DELETE, None),
    ] {
        let (s, e) = app
            .api(&token, method.clone(), &format!("/users/{me}"), body)
            .await;
        assert_eq!(s, 409, "{method}: {e}");
        assert!(
            e["error"]["message"]
                .as_str()
                .unwrap()
                .contains("at least one active admin")
        );
    }
    let me_now = app
        .api_ok(&token, Method::GET, &format!("/users/{me}"), None)
        .await;
    assert_eq!(
        (me_now["roles"].clone(), me_now["active"].clone()),
        (json!(["admin"]), json!(true))
    );
    // The web page says the same.
    let admin = app.admin().await;
    let (s, page) = admin
        .post_form(
            &format!("/console/settings/team/{me}"),
            &[("csrf", &admin.csrf), ("role", "operator")],
        )
        .await;
    assert_eq!(s, 409);
    assert!(page.contains("at least one active admin"));
    // With a second admin, stepping down works.
    app.add_member("second@example.com", "Второй", "second-pass-1", Role::Admin)
        .await;
    let changed = app
        .api_ok(
            &token,
            Method::PATCH,
            &format!("/users/{me}"),
            Some(json!({"roles": ["operator"]})),
        )
        .await;
    assert_eq!(changed["roles"], json!(["operator"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leaving_members_conversations_are_handed_over() {
    let app = TestApp::spawn().await;
    let token = app.api_token(ADMIN_EMAIL).await;
    app.add_member(
        "leaving@example.com",
        "Уходящая",
        "leave-pass-11",
        Role::Operator,
    )
    .await;
    app.add_member(
        "staying@example.com",
        "Остающийся",
        "stay-pass-111",
        Role::Operator,
    )
    .await;
    let (leaving, staying) = (
        app.user_id("leaving@example.com").await,
        app.user_id("staying@example.com").await,
    );
    let mut convs = Vec::new();
    for i in 0..2 {
        let sent: Value = app
            .widget_send(&format!("visitor-token-handover-000{i}"), "h", "Помогите")
            .await
            .json()
            .await
            .unwrap();
        let c = sent["conversation_id"].as_i64().unwrap();
        app.api_ok(
            &token,
            Method::PATCH,
            &format!("/conversations/{c}"),
            Some(json!({"assignee_id": leaving})),
        )
        .await;
        convs.push(c);
    }
    let admin = app.admin().await;
    let (_, page) = admin
        .get(&format!("/console/settings/team/{leaving}"))
        .await;
    assert!(
        page.contains("<b class=\"open-count\">2</b>"),
        "the page counts her active conversations"
    );
    let (s, page) = admin
        .post_form(
            &format!("/console/settings/team/{leaving}/hand-over"),
            &[("csrf", &admin.csrf), ("to", &staying.to_string())],
        )
        .await;
    assert_eq!(s, 200);
    assert!(page.contains("Передано обращений: 2"), "{page}");
    for c in convs {
        let conv = app
            .api_ok(&token, Method::GET, &format!("/conversations/{c}"), None)
            .await;
        assert_eq!(conv["assignee"]["id"], staying, "{conv}");
    }
    // Not to someone who cannot answer.
    let (s, page) = admin
        .post_form(
            &format!("/console/settings/team/{leaving}/hand-over"),
            &[("csrf", &admin.csrf), ("to", &leaving.to_string())],
        )
        .await;
    assert_eq!(s, 422);
    assert!(page.contains("another active operator"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversation_given_to_a_team_reaches_its_members() {
    let app = TestApp::spawn().await;
    let token = app.api_token(ADMIN_EMAIL).await;
    app.add_member(
        "sales@example.com",
        "Продавец",
        "sales-pass-11",
        Role::Operator,
    )
    .await;
    app.add_member(
        "other@example.com",
        "Другой",
        "other-pass-11",
        Role::Operator,
    )
    .await;
    let admin = app.admin().await;
    let (s, _) = admin
        .post_form(
            "/console/settings/teams",
            &[("csrf", &admin.csrf), ("name", "Продажи")],
        )
        .await;
    assert_eq!(s, 200);
    let teams = app.api_ok(&token, Method::GET, "/teams", None).await;
    let team = teams["data"][0]["id"].as_i64().unwrap();
    let sales_id = app.user_id("sales@example.com").await;
    let (s, page) = admin
        .post_form(
            &format!("/console/settings/teams/{team}"),
            &[
                ("csrf", &admin.csrf),
                ("name", "Отдел продаж"),
                ("member", &sales_id.to_string()),
            ],
        )
        .await;
    assert_eq!(s, 200);
    assert!(page.contains("Отдел продаж"));
    let t = app.api_ok(&token, Method::GET, "/teams", None).await;
    assert_eq!(t["data"][0]["members"], json!([sales_id]));
    let sent: Value = app
        .widget_send("visitor-token-teams-0000001", "g", "Хочу купить")
        .await
        .json()
        .await
        .unwrap();
    let conv = sent["conversation_id"].as_i64().unwrap();
    app.api_ok(
        &token,
        Method::PATCH,
        &format!("/conversations/{conv}"),
        Some(json!({"team_id": team})),
    )
    .await;
    let sales = app.login("sales@example.com", "sales-pass-11").await;
    let (_, page) = sales.get("/console?tab=teams").await;
    assert!(
        page.contains("data-counts=\"0,1,1,0,1\""),
        "the My teams counter"
    );
    assert!(page.contains("Хочу купить"));
    let (_, notes) = sales.get("/console/notifications").await;
    assert!(notes.contains("передано группе «Отдел продаж»"), "{notes}");
    let other = app.login("other@example.com", "other-pass-11").await;
    let (_, page) = other.get("/console?tab=teams").await;
    assert!(
        page.contains("data-counts=\"0,1,1,0,0\""),
        "not in the team: nothing there"
    );
    let (_, notes) = other.get("/console/notifications").await;
    assert!(!notes.contains("Отдел продаж"));
    // A deleted team's conversations go back to the whole queue.
    let c = app
        .api_ok(&token, Method::GET, &format!("/conversations/{conv}"), None)
        .await;
    assert_eq!(c["team"]["id"], team, "{c}");
    let (s, _) = admin
        .post_form(
            &format!("/console/settings/teams/{team}/delete"),
            &[("csrf", &admin.csrf)],
        )
        .await;
    assert_eq!(s, 200);
    let c = app
        .api_ok(&token, Method::GET, &format!("/conversations/{conv}"), None)
        .await;
    assert_eq!(c["team"], Value::Null, "{c}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_link_from_the_admin_sets_a_new_password_and_signs_out_the_old_sessions() {
    let app = TestApp::spawn().await;
    app.add_member(
        "forgot@example.com",
        "Забывчивый",
        "old-pass-111",
        Role::Operator,
    )
    .await;
    let old = app.login("forgot@example.com", "old-pass-111").await;
    let mut live = old
        .http
        .get(format!("{}/console/live", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200);
    let id = app.user_id("forgot@example.com").await;
    let admin = app.admin().await;
    let (s, page) = admin
        .post_form(
            &format!("/console/settings/team/{id}/reset-link"),
            &[("csrf", &admin.csrf)],
        )
        .await;
    assert_eq!(s, 200);
    let link = between(&page, "id=\"link-url\">", "</pre>").expect("the link is shown");
    assert!(link.contains("/reset/"));
    let _new = accept(&app, &link, "new-pass-2222").await;
    next_event(&mut live, Duration::from_secs(5), |e| {
        e["signed_out"] == true
    })
    .await
    .expect("the old console is signed out");
    assert_eq!(
        app.sign_in_status("forgot@example.com", "old-pass-111")
            .await,
        401
    );
    assert_eq!(
        app.sign_in_status("forgot@example.com", "new-pass-2222")
            .await,
        303
    );
    assert_eq!(
        visitor().get(&link).send().await.unwrap().status(),
        404,
        "used once"
    );
    // Without a mail server the login page's "forgot" link says whom to ask.
    let r = visitor()
        .get(format!("{}/password/forgot", app.url))
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("Настройки → Команда"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_says_who_changed_what_and_when() {
    let app = TestApp::spawn().await;
    let token = app.api_token(ADMIN_EMAIL).await;
    let made = app
        .api_ok(
            &token,
            Method::POST,
            "/users",
            Some(json!({"email": "audited@example.com", "name": "Проверяемый", "roles": ["operator"]})),
        )
        .await;
    let id = made["id"].as_i64().unwrap();
    app.api_ok(
        &token,
        Method::PATCH,
        &format!("/users/{id}"),
        Some(json!({"roles": ["analytics"]})),
    )
    .await;
    app.api_ok(
        &token,
        Method::PATCH,
        &format!("/users/{id}"),
        Some(json!({"active": false})),
    )
    .await;
    app.api_ok(
        &token,
        Method::PATCH,
        "/channels/web",
        Some(json!({"enabled": false})),
    )
    .await;
    let admin = app.admin().await;
    let (s, page) = admin.get("/console/settings/audit").await;
    assert_eq!(s, 200);
    let rows: Vec<String> = page
        .split("<tr class=\"audit\">")
        .skip(1)
        .map(|r| r.split("</tr>").next().unwrap().to_string())
        .collect();
    assert_eq!(rows.len(), 4, "{rows:?}");
    // Newest first, each with who did it.
    assert!(
        rows[0].contains("Изменён канал")
            && rows[0].contains("(web)")
            && rows[0].contains("paused"),
        "{}",
        rows[0]
    );
    assert!(rows[1].contains("Участник отключён") && rows[1].contains("audited@example.com"));
    assert!(
        rows[2].contains("Изменён доступ") && rows[2].contains("operator → analytics"),
        "{}",
        rows[2]
    );
    assert!(rows[3].contains("Добавлен участник"));
    assert!(rows.iter().all(|r| r.contains("Admin")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_edits_the_project_and_the_owner_creates_another() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (s, page) = admin
        .post_form(
            "/console/settings/project",
            &[
                ("csrf", &admin.csrf),
                ("name", "Ромашка"),
                ("timezone", "Mars/Base"),
            ],
        )
        .await;
    assert_eq!(s, 422);
    assert!(page.contains("unknown time zone"));
    let (_, page) = admin.get("/console/settings/project").await;
    assert!(
        page.contains("Europe/Moscow") && !page.contains("Ромашка"),
        "nothing changed"
    );
    // A schedule in Moscow time, then the project moves to Yekaterinburg: the schedule too.
    let (s, _) = admin
        .post_form(
            "/console/settings/schedule",
            &[
                ("csrf", &admin.csrf),
                ("timezone", "Europe/Moscow"),
                ("h_0_9", "1"),
            ],
        )
        .await;
    assert_eq!(s, 303);
    let (s, page) = admin
        .post_form(
            "/console/settings/project",
            &[
                ("csrf", &admin.csrf),
                ("name", "Ромашка"),
                ("timezone", "Asia/Yekaterinburg"),
            ],
        )
        .await;
    assert_eq!(s, 200, "{page}");
    assert!(page.contains("Ромашка · "), "the header shows the new name");
    let (_, settings) = admin.get("/console/settings").await;
    assert!(
        settings.contains("value=\"Asia/Yekaterinburg\""),
        "the schedule uses the project's zone"
    );
    // The owner (the first admin) starts a second business from the project switcher.
    let (_, inbox) = admin.get("/console").await;
    assert!(inbox.contains("/console/projects/new"));
    let (s, r) = admin
        .post_form(
            "/console/projects",
            &[
                ("csrf", &admin.csrf),
                ("slug", "Bad Slug"),
                ("name", "Лютик"),
                ("timezone", "Europe/Moscow"),
            ],
        )
        .await;
    assert_eq!(s, 422, "{r}");
    let (s, r) = admin
        .post_form(
            "/console/projects",
            &[
                ("csrf", &admin.csrf),
                ("slug", "lyutik"),
                ("name", "Лютик"),
                ("timezone", "Europe/Moscow"),
            ],
        )
        .await;
    assert_eq!((s, r.as_str()), (303, ""));
    let (_, page) = admin.get("/console/settings/channels").await;
    assert!(
        page.contains("Лютик · "),
        "the console switched to the new project"
    );
    // Another admin is not the owner.
    app.add_member("second@example.com", "Второй", "second-pass-1", Role::Admin)
        .await;
    let second = app.login("second@example.com", "second-pass-1").await;
    let (_, inbox) = second.get("/console").await;
    assert!(!inbox.contains("/console/projects/new"));
    let (s, _) = second
        .post_form(
            "/console/projects",
            &[
                ("csrf", &second.csrf),
                ("slug", "mine"),
                ("name", "Моё"),
                ("timezone", "UTC"),
            ],
        )
        .await;
    assert_eq!(s, 403);
}

/// The link in a letter: the line that starts with this server's address.
fn link_in(letter: &crate::support::fake_smtp::Letter, base: &str) -> String {
    // Long lines may be soft-wrapped (quoted-printable): undo that first.
    let text = letter.data.replace("=\n", "").replace("=3D", "=");
    text.lines()
        .map(str::trim)
        .find(|l| l.starts_with(base))
        .unwrap_or_else(|| panic!("no link in {text}"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_mail_server_invitations_and_forgotten_passwords_go_by_letter() {
    let smtp = crate::support::fake_smtp::FakeSmtp::start().await;
    let url = smtp.url.clone();
    let app = TestApp::spawn_with(move |s| {
        s.smtp_url = Some(url);
        s.smtp_from = Some("help@example.com".into());
    })
    .await;
    let admin = app.admin().await;
    let (s, page) = admin
        .post_form(
            "/console/settings/team",
            &[
                ("csrf", &admin.csrf),
                ("email", "mailed@example.com"),
                ("first_name", "Письмо"),
                ("role", "operator"),
            ],
        )
        .await;
    assert_eq!(s, 200);
    assert!(
        page.contains("Приглашение отправлено на mailed@example.com"),
        "{page}"
    );
    let letters = smtp.letters();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].to, ["mailed@example.com"]);
    let link = link_in(&letters[0], &app.url);
    assert!(link.contains("/invite/"));
    accept(&app, &link, "mailed-pass-11").await;

    // She forgets it; the login page's link sends a new one to her address only.
    let c = visitor();
    let (s, body) = {
        let r = c
            .post(format!("{}/password/forgot", app.url))
            .form(&[("email", "nobody@example.com")])
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    };
    assert_eq!(s, 200);
    assert!(
        body.contains("Если такой адрес есть"),
        "the same answer for a stranger"
    );
    let r = c
        .post(format!("{}/password/forgot", app.url))
        .form(&[("email", "Mailed@Example.com")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let letters = smtp.letters();
    assert_eq!(letters.len(), 2, "one letter, to the member who exists");
    assert_eq!(letters[1].to, ["mailed@example.com"]);
    let reset = link_in(&letters[1], &app.url);
    assert!(reset.contains("/reset/"));
    accept(&app, &reset, "mailed-pass-22").await;
    assert_eq!(
        app.sign_in_status("mailed@example.com", "mailed-pass-11")
            .await,
        401
    );
    assert_eq!(
        app.sign_in_status("mailed@example.com", "mailed-pass-22")
            .await,
        303
    );
}
