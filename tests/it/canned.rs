//! Canned replies: the project's and a member's own, variables filled for the conversation,
//! who may change which, their files copied into the message, uses counted.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{ADMIN_EMAIL, TestApp};

async fn conversation(app: &TestApp, visitor: &str, text: &str) -> i64 {
    let sent: Value = app
        .widget_send(visitor, "c1", text)
        .await
        .json()
        .await
        .expect("json");
    sent["conversation_id"].as_i64().expect("conversation id")
}

/// Posts the console's "new canned reply" form with this token.
async fn new_canned(
    op: &crate::support::Operator,
    csrf: &str,
    form: reqwest::multipart::Form,
) -> reqwest::Response {
    op.http
        .post(format!("{}/console/canned?csrf={csrf}", op.url))
        .multipart(form)
        .send()
        .await
        .expect("canned form")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canned_reply_is_sent_by_shortcut_with_its_variables_filled() {
    let app = TestApp::spawn().await;
    let admin = app.api_token(ADMIN_EMAIL).await;
    let op = app.operator_token().await;
    let id = conversation(&app, "visitor-token-canned-0001", "Где мой заказ?").await;
    let conv = app
        .api_ok(&admin, Method::GET, &format!("/conversations/{id}"), None)
        .await;
    let (number, customer) = (
        conv["number"].as_i64().unwrap(),
        conv["contact"]["name"].as_str().unwrap().to_string(),
    );

    let made = app
        .api_ok(
            &admin,
            Method::POST,
            "/canned_responses",
            Some(json!({
                "shortcut": "/Delivery",
                "title": "Доставка",
                "text": "Здравствуйте, {name}! По обращению №{number} отвечает {operator}, {project}."
            })),
        )
        .await;
    assert_eq!(made["shortcut"], "delivery");
    assert_eq!(made["personal"], false);

    let sent = app
        .api_ok(
            &op,
            Method::POST,
            &format!("/conversations/{id}/messages"),
            Some(json!({"canned": "delivery"})),
        )
        .await;
    let project = app
        .store()
        .read(|c| perepiska::store::projects::by_id(c, perepiska::domain::ProjectId(1)))
        .await
        .unwrap()
        .name;
    assert_eq!(
        sent["text"],
        format!("Здравствуйте, {customer}! По обращению №{number} отвечает Оператор, {project}.")
    );
    assert_eq!(sent["kind"], "operator");
    let one = app
        .api_ok(
            &op,
            Method::GET,
            &format!("/canned_responses/{}", made["id"]),
            None,
        )
        .await;
    assert_eq!(one["used"], 1, "{one}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn project_replies_are_the_admins_and_own_replies_are_private() {
    let app = TestApp::spawn().await;
    let admin = app.api_token(ADMIN_EMAIL).await;
    let op = app.operator_token().await;
    app.add_member(
        "an@example.com",
        "Аналитик",
        "password-4444",
        perepiska::domain::Role::Analytics,
    )
    .await;
    let analyst = app.api_token("an@example.com").await;
    let id = conversation(&app, "visitor-token-canned-0002", "Добрый день").await;

    let body = json!({"shortcut": "hi", "title": "Привет", "text": "Здравствуйте!"});
    let (s, e) = app
        .api(&op, Method::POST, "/canned_responses", Some(body.clone()))
        .await;
    assert_eq!(
        s, 403,
        "an operator does not change the project's replies: {e}"
    );
    let (s, _) = app
        .api(&analyst, Method::GET, "/canned_responses", None)
        .await;
    assert_eq!(s, 403, "analytics does not answer customers");
    app.api_ok(&admin, Method::POST, "/canned_responses", Some(body))
        .await;

    // The operator's own /hi, same shortcut: theirs wins for them, and nobody else sees it.
    let mine = app
        .api_ok(
            &op,
            Method::POST,
            "/canned_responses",
            Some(json!({"shortcut": "hi", "title": "Моё", "text": "Привет, {name}, это я", "personal": true})),
        )
        .await;
    let sent = app
        .api_ok(
            &op,
            Method::POST,
            &format!("/conversations/{id}/messages"),
            Some(json!({"canned": "HI"})),
        )
        .await;
    assert!(sent["text"].as_str().unwrap().ends_with("это я"), "{sent}");
    let sent = app
        .api_ok(
            &admin,
            Method::POST,
            &format!("/conversations/{id}/messages"),
            Some(json!({"canned": "hi"})),
        )
        .await;
    assert_eq!(sent["text"], "Здравствуйте!");
    let (s, _) = app
        .api(
            &admin,
            Method::GET,
            &format!("/canned_responses/{}", mine["id"]),
            None,
        )
        .await;
    assert_eq!(s, 404, "another member's own reply is not shown");
    let (s, _) = app
        .api(
            &admin,
            Method::DELETE,
            &format!("/canned_responses/{}", mine["id"]),
            None,
        )
        .await;
    assert_eq!(s, 404);
    let listed = app
        .api_ok(&admin, Method::GET, "/canned_responses", None)
        .await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1, "{listed}");
    let listed = app
        .api_ok(&op, Method::GET, "/canned_responses", None)
        .await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 2, "{listed}");

    // The operator changes their own; deleting it leaves the project's /hi for them.
    app.api_ok(
        &op,
        Method::PATCH,
        &format!("/canned_responses/{}", mine["id"]),
        Some(json!({"title": "Моё приветствие"})),
    )
    .await;
    app.api_ok(
        &op,
        Method::DELETE,
        &format!("/canned_responses/{}", mine["id"]),
        None,
    )
    .await;
    let sent = app
        .api_ok(
            &op,
            Method::POST,
            &format!("/conversations/{id}/messages"),
            Some(json!({"canned": "hi"})),
        )
        .await;
    assert_eq!(sent["text"], "Здравствуйте!");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_canned_replies_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.api_token(ADMIN_EMAIL).await;
    let id = conversation(&app, "visitor-token-canned-0003", "Вопрос").await;
    app.api_ok(
        &admin,
        Method::POST,
        "/canned_responses",
        Some(json!({"shortcut": "thanks", "title": "Спасибо", "text": "Спасибо, {name}!"})),
    )
    .await;
    for (body, status, says) in [
        (
            json!({"shortcut": "x", "title": "t", "text": "Привет, {nmae}"}),
            400,
            "{nmae}",
        ),
        (
            json!({"shortcut": "two words", "title": "t", "text": "x"}),
            400,
            "no spaces",
        ),
        (
            json!({"shortcut": "y", "title": "", "text": "x"}),
            400,
            "title",
        ),
        (
            json!({"shortcut": "z", "title": "t", "text": " "}),
            400,
            "text",
        ),
        (
            json!({"shortcut": "/Thanks", "title": "t", "text": "x"}),
            409,
            "/thanks",
        ),
        (
            json!({"shortcut": "w", "title": "t", "text": "x", "colour": "red"}),
            400,
            "colour",
        ),
    ] {
        let (s, e) = app
            .api(
                &admin,
                Method::POST,
                "/canned_responses",
                Some(body.clone()),
            )
            .await;
        assert_eq!(s, status, "{body}: {e}");
        assert!(
            e["error"]["message"].as_str().unwrap().contains(says),
            "{e}"
        );
    }
    let listed = app
        .api_ok(&admin, Method::GET, "/canned_responses", None)
        .await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);

    let path = format!("/conversations/{id}/messages");
    for (body, status) in [
        (json!({"canned": "nope"}), 404),
        (json!({"canned": "thanks", "text": "и текст"}), 400),
        (json!({}), 400),
    ] {
        let (s, e) = app.api(&admin, Method::POST, &path, Some(body)).await;
        assert_eq!(s, status, "{e}");
    }
    assert!(
        app.thread(&admin, id)
            .await
            .iter()
            .all(|m| m["kind"] != "operator"),
        "nothing was sent"
    );
    let listed = app
        .api_ok(&admin, Method::GET, "/canned_responses", None)
        .await;
    assert_eq!(listed["data"][0]["used"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canned_reply_with_a_file_from_the_console_sends_a_copy_of_it() {
    let app = TestApp::spawn().await;
    let token = app.api_token(ADMIN_EMAIL).await;
    let visitor = "visitor-token-canned-0004";
    let id = conversation(&app, visitor, "Пришлите прайс").await;
    let op = app.admin().await;
    let price = b"%PDF-1.4 price list".to_vec();
    let form = reqwest::multipart::Form::new()
        .text("scope", "project")
        .text("title", "Прайс")
        .text("shortcut", "price")
        .text("text", "{name}, прайс во вложении")
        .part(
            "file",
            reqwest::multipart::Part::bytes(price.clone())
                .file_name("Прайс 2027.pdf")
                .mime_str("application/pdf")
                .unwrap(),
        );
    let r = new_canned(&op, &op.csrf, form).await;
    assert_eq!(r.status(), 303);
    let (s, page) = op.get("/console/canned?done=saved").await;
    assert_eq!(s, 200);
    assert!(
        page.contains("/price") && page.contains("Прайс 2027.pdf"),
        "{page}"
    );
    let canned = app
        .api_ok(&token, Method::GET, "/canned_responses", None)
        .await["data"][0]
        .clone();
    assert_eq!(canned["files"][0]["name"], "Прайс 2027.pdf");
    assert_eq!(canned["files"][0]["size"], price.len());

    // The `/` list offers it filled for this conversation.
    let (s, choices) = op.get(&format!("/console/c/{id}/canned")).await;
    assert_eq!(s, 200);
    let choices: Value = serde_json::from_str(&choices).unwrap();
    let customer = app
        .api_ok(&token, Method::GET, &format!("/conversations/{id}"), None)
        .await["contact"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(choices[0]["text"], format!("{customer}, прайс во вложении"));

    // Sent from the reply box as the operator edited it, with the file.
    let form = reqwest::multipart::Form::new()
        .text("text", "Вот прайс, смотрите вторую страницу")
        .text("canned", canned["id"].to_string());
    let r = op
        .http
        .post(format!("{}/console/c/{id}/reply?csrf={}", op.url, op.csrf))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    // Deleting the canned reply takes its file, not the copy the customer got.
    let (s, _) = app
        .api(
            &token,
            Method::DELETE,
            &format!("/canned_responses/{}", canned["id"]),
            None,
        )
        .await;
    assert_eq!(s, 200);
    let reply = widget_reply(&app, visitor).await;
    assert_eq!(reply["text"], "Вот прайс, смотрите вторую страницу");
    assert_eq!(reply["attachments"][0]["file_name"], "Прайс 2027.pdf");
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
    assert_eq!(r.bytes().await.unwrap().to_vec(), price);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_keeps_own_replies_on_the_page_but_cannot_open_the_projects() {
    let app = TestApp::spawn().await;
    let admin = app.api_token(ADMIN_EMAIL).await;
    app.operator_token().await;
    let project = app
        .api_ok(
            &admin,
            Method::POST,
            "/canned_responses",
            Some(json!({"shortcut": "bye", "title": "Прощание", "text": "До свидания!"})),
        )
        .await;
    let op = app.login("op@example.com", "password-3333").await;
    let (s, page) = op.get("/console/canned").await;
    assert_eq!(s, 200);
    assert!(page.contains("/bye"), "the project's replies are listed");
    let (s, _) = op.get(&format!("/console/canned/{}", project["id"])).await;
    assert_eq!(s, 403, "but only admins open them to change");
    // Trying to add one for the whole project anyway: refused, the form keeps the input.
    let form = reqwest::multipart::Form::new()
        .text("scope", "project")
        .text("title", "Моё")
        .text("shortcut", "mine")
        .text("text", "Текст шаблона");
    let r = new_canned(&op, &op.csrf, form).await;
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("Текст шаблона"));
    let form = reqwest::multipart::Form::new()
        .text("scope", "personal")
        .text("title", "Моё")
        .text("shortcut", "mine")
        .text("text", "Текст шаблона");
    let r = new_canned(&op, &op.csrf, form).await;
    assert_eq!(r.status(), 303);
    let (_, page) = op.get("/console/canned").await;
    assert!(page.contains("/mine"), "{page}");
    let listed = app
        .api_ok(&admin, Method::GET, "/canned_responses", None)
        .await;
    assert_eq!(
        listed["data"].as_array().unwrap().len(),
        1,
        "the admin sees only the project's"
    );
    // A form without its token changes nothing.
    let r = new_canned(
        &op,
        "wrong",
        reqwest::multipart::Form::new()
            .text("title", "x")
            .text("shortcut", "x")
            .text("text", "x"),
    )
    .await;
    assert_eq!(r.status(), 403);
    let (_, page) = op.get("/console/canned").await;
    assert!(!page.contains("/x<"), "{page}");
}

/// The first operator message the visitor's widget shows, once it is there.
async fn widget_reply(app: &TestApp, visitor: &str) -> Value {
    app.eventually("the reply reaches the widget", || async {
        app.widget_messages(visitor)
            .await
            .iter()
            .any(|m| m["kind"] == "operator")
    })
    .await;
    app.widget_messages(visitor)
        .await
        .into_iter()
        .find(|m| m["kind"] == "operator")
        .unwrap()
}

fn file_part(name: &str, bytes: &[u8]) -> reqwest::multipart::Part {
    reqwest::multipart::Part::bytes(bytes.to_vec())
        .file_name(name.to_string())
        .mime_str("application/pdf")
        .unwrap()
}

async fn post_files(
    app: &TestApp,
    token: &str,
    id: i64,
    form: reqwest::multipart::Form,
) -> (u16, Value) {
    let r = app
        .http
        .post(format!("{}/api/v1/canned_responses/{id}/files", app.url))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_adds_and_removes_a_canned_replys_files_and_sends_them() {
    let app = TestApp::spawn().await;
    let token = app.api_token(ADMIN_EMAIL).await;
    let made = app
        .api_ok(
            &token,
            Method::POST,
            "/canned_responses",
            Some(json!({"shortcut": "menu", "title": "Меню", "text": "{name}, меню во вложении"})),
        )
        .await;
    let id = made["id"].as_i64().unwrap();
    assert_eq!(made["files"], json!([]));

    let menu = b"%PDF-1.4 menu".to_vec();
    let form = reqwest::multipart::Form::new()
        .part("file", file_part("Меню.pdf", &menu))
        .part("file", file_part("Доставка.pdf", b"%PDF-1.4 delivery"));
    let (s, v) = post_files(&app, &token, id, form).await;
    assert_eq!(s, 200, "{v}");
    let names: Vec<&str> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Меню.pdf", "Доставка.pdf"]);

    // Bad uploads are refused in JSON and change nothing.
    let (s, e) = post_files(
        &app,
        &token,
        id,
        reqwest::multipart::Form::new().text("note", "no file"),
    )
    .await;
    assert_eq!(s, 400);
    assert!(e["error"]["message"].as_str().unwrap().contains("file"));
    let mut many = reqwest::multipart::Form::new();
    for n in 0..perepiska::domain::canned::MAX_FILES {
        many = many.part("file", file_part(&format!("{n}.pdf"), b"%PDF"));
    }
    let (s, e) = post_files(&app, &token, id, many).await;
    assert_eq!(s, 400, "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("at most"));
    let (s, e) = app
        .api(
            &token,
            Method::DELETE,
            &format!("/canned_responses/{id}/files/no-such-file"),
            None,
        )
        .await;
    assert_eq!(s, 404, "{e}");
    let now = app
        .api_ok(
            &token,
            Method::GET,
            &format!("/canned_responses/{id}"),
            None,
        )
        .await;
    assert_eq!(now["files"].as_array().unwrap().len(), 2);

    // One removed; the other goes with the reply sent by shortcut through the API.
    let delivery = now["files"][1]["id"].as_str().unwrap().to_string();
    let v = app
        .api_ok(
            &token,
            Method::DELETE,
            &format!("/canned_responses/{id}/files/{delivery}"),
            None,
        )
        .await;
    assert_eq!(v["files"].as_array().unwrap().len(), 1);
    let visitor = "visitor-token-canned-0009";
    let conv = conversation(&app, visitor, "Покажите меню").await;
    let (s, _) = app
        .api(
            &token,
            Method::POST,
            &format!("/conversations/{conv}/messages"),
            Some(json!({"canned": "menu"})),
        )
        .await;
    assert_eq!(s, 201);
    let reply = widget_reply(&app, visitor).await;
    assert!(
        reply["text"]
            .as_str()
            .unwrap()
            .ends_with("меню во вложении")
    );
    let files = reply["attachments"].as_array().unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0]["file_name"], "Меню.pdf");
    let att = files[0]["id"].as_i64().unwrap();
    let r = app
        .http
        .get(format!(
            "{}/widget/web/attachments/{att}?visitor={visitor}",
            app.url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.bytes().await.unwrap().to_vec(), menu);
}
