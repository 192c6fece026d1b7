//! What each member is told under the bell is their choice (the profile), and an @mention in
//! a note reaches the one named.

use perepiska::domain::Role;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{ADMIN_EMAIL, Operator, TestApp};

const PASSWORD: &str = "password-7777";

async fn member(app: &TestApp, email: &str, name: &str) -> (i64, Operator) {
    app.add_member(email, name, PASSWORD, Role::Operator).await;
    (app.user_id(email).await, app.login(email, PASSWORD).await)
}

async fn bell(op: &Operator) -> String {
    op.get("/console/partials/bell").await.1
}

async fn new_conversation(app: &TestApp, visitor: &str) -> i64 {
    let v: Value = app
        .widget_send(visitor, "n1", "Нужна помощь с заказом")
        .await
        .json()
        .await
        .unwrap();
    v["conversation_id"].as_i64().unwrap()
}

#[tokio::test]
async fn each_member_chooses_what_the_bell_tells_them() {
    let app = TestApp::spawn().await;
    let token = app.api_token(ADMIN_EMAIL).await;
    let (anna, anna_op) = member(&app, "anna@example.com", "Анна Крылова").await;
    let (boris, boris_op) = member(&app, "boris@example.com", "Борис Петров").await;
    // Anna does not want to hear of conversations given to her.
    let (status, _) = anna_op
        .post_form(
            "/console/profile/preferences",
            &[
                ("csrf", &anna_op.csrf),
                ("notify_team", "1"),
                ("notify_comment", "1"),
                ("notify_mention", "1"),
                ("notify_unanswered", "1"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    let (_, page) = anna_op.get("/console/profile").await;
    assert!(
        page.contains("name=\"notify_assigned\" value=\"1\">"),
        "unticked"
    );
    assert!(page.contains("name=\"notify_mention\" value=\"1\" checked>"));

    for (who, visitor) in [
        (anna, "visitor-notify-00000001"),
        (boris, "visitor-notify-00000002"),
    ] {
        let id = new_conversation(&app, visitor).await;
        app.api_ok(
            &token,
            Method::PATCH,
            &format!("/conversations/{id}"),
            Some(json!({"assignee_id": who})),
        )
        .await;
    }
    assert_eq!(bell(&boris_op).await, "1", "Boris keeps the default");
    assert_eq!(bell(&anna_op).await, "0", "Anna chose not to be told");

    // Notes: "@Анна" (the only Анна) and "@Борис Петров" reach them; the author hears
    // nothing of their own note, "@Аннабель" is nobody.
    let id = new_conversation(&app, "visitor-notify-00000003").await;
    let admin = app.admin().await;
    assert_eq!(
        admin
            .reply(
                id,
                "@Анна, посмотри, пожалуйста. @Аннабель не в курсе",
                true
            )
            .await,
        303
    );
    assert_eq!(bell(&anna_op).await, "1");
    let (_, page) = anna_op.get("/console/notifications").await;
    assert!(page.contains("упомянул(а) вас в заметке"), "{page}");
    assert_eq!(bell(&boris_op).await, "1", "not named");
    assert_eq!(admin.reply(id, "Передаю @Борис Петров", true).await, 303);
    assert_eq!(bell(&boris_op).await, "2");
    assert_eq!(bell(&admin).await, "0");
}
