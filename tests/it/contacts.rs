//! Contacts: the contacts page and `/api/v1/contacts` (search, filters, keyset pages),
//! create and edit with one set of checks, merging two contacts into one history, CSV import
//! with a per-row report and export, and an imported customer signing in to the Telegram bot
//! by sharing their phone.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::fake_telegram::{FakeTelegram, SentMessage, TOKEN};
use crate::support::{ADMIN_EMAIL, Operator, TestApp, attr};

async fn conversation(app: &TestApp, visitor: &str, text: &str) -> i64 {
    let sent: Value = app
        .widget_send(visitor, "t1", text)
        .await
        .json()
        .await
        .expect("json");
    sent["conversation_id"].as_i64().expect("conversation id")
}

async fn contact_of(app: &TestApp, token: &str, conversation: i64) -> i64 {
    let c = app
        .api_ok(
            token,
            Method::GET,
            &format!("/conversations/{conversation}"),
            None,
        )
        .await;
    c["contact"]["id"].as_i64().expect("contact id")
}

fn names(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|c| c["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn import(op: &Operator, file: &[u8]) -> (u16, String) {
    let part = reqwest::multipart::Part::bytes(file.to_vec())
        .file_name("contacts.csv")
        .mime_str("text/csv")
        .expect("mime");
    let form = reqwest::multipart::Form::new().part("file", part);
    let r = op
        .http
        .post(format!(
            "{}/console/contacts/import?csrf={}",
            op.url, op.csrf
        ))
        .multipart(form)
        .send()
        .await
        .expect("import");
    (r.status().as_u16(), r.text().await.unwrap_or_default())
}

/// The number shown in the import report's element with this id.
fn reported(html: &str, id: &str) -> usize {
    attr(html, &format!("id=\"{id}\">"))
        .and_then(|v| v.split('<').next().map(str::to_string))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {id} in the report: {html}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contacts_are_created_found_paged_and_changed_through_the_api() {
    let app = TestApp::spawn().await;
    let token = app.api_token(ADMIN_EMAIL).await;
    app.api_ok(&token, Method::POST, "/tags", Some(json!({"name": "Опт"})))
        .await;
    let manager = app.user_id(ADMIN_EMAIL).await;
    let anna = app
        .api_ok(
            &token,
            Method::POST,
            "/contacts",
            Some(json!({
                "name": " Анна Смирнова ",
                "phone": "8 (916) 123-45-67",
                "email": "Anna@Example.com",
                "vip": true,
                "organization": "ООО Ромашка",
                "organization_vip": true,
                "manager_id": manager,
                "tags": ["опт"],
            })),
        )
        .await;
    assert_eq!(anna["name"], "Анна Смирнова");
    assert_eq!(anna["email"], "anna@example.com");
    assert_eq!(anna["organization"]["name"], "ООО Ромашка");
    assert_eq!(anna["organization"]["manager_id"], manager);
    assert_eq!(anna["tags"], json!(["Опт"]));
    assert_eq!(anna["identities"], json!([]));
    let anna_id = anna["id"].as_i64().expect("id");
    for (i, name) in ["Борис", "Вера", "Григорий", "Дарья"].iter().enumerate()
    {
        app.api_ok(
            &token,
            Method::POST,
            "/contacts",
            Some(json!({"name": name, "phone": format!("+7 903 000-00-0{i}")})),
        )
        .await;
    }

    // The same person twice is refused, and says where the first is; nothing is added.
    let (s, e) = app
        .api(
            &token,
            Method::POST,
            "/contacts",
            Some(json!({"name": "Аня", "phone": "+79161234567"})),
        )
        .await;
    assert_eq!(s, 409, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains(&anna_id.to_string()),
        "{e}"
    );
    for (body, field) in [
        (json!({"name": "X", "phone": "позвоните"}), "phone"),
        (json!({"name": "X", "email": "x@"}), "email"),
        (json!({"name": ""}), "name"),
        (json!({"phone": "+7 903 111-11-11"}), "name"),
        (json!({"name": "X", "manager_id": 999}), "manager"),
        (json!({"name": "X", "tags": ["нет такой"]}), "tag"),
        (json!({"name": "X", "colour": "red"}), "colour"),
    ] {
        let (s, e) = app.api(&token, Method::POST, "/contacts", Some(body)).await;
        assert_eq!(s, 400, "{field}: {e}");
        assert!(
            e["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains(field),
            "{field}: {e}"
        );
    }

    // Keyset pages: newest first, each page starting where the last ended.
    let first = app
        .api_ok(&token, Method::GET, "/contacts?per_page=2", None)
        .await;
    assert_eq!(names(&first), ["Дарья", "Григорий"]);
    let before = first["next_before"].as_i64().expect("a next page");
    let second = app
        .api_ok(
            &token,
            Method::GET,
            &format!("/contacts?per_page=2&before={before}"),
            None,
        )
        .await;
    assert_eq!(names(&second), ["Вера", "Борис"]);
    let last_before = second["next_before"].as_i64().expect("a third page");
    let third = app
        .api_ok(
            &token,
            Method::GET,
            &format!("/contacts?per_page=2&before={last_before}"),
            None,
        )
        .await;
    assert_eq!(names(&third), ["Анна Смирнова"]);
    assert_eq!(third["next_before"], Value::Null);

    // Found by any way of writing the phone, by the e-mail, by the organisation's word, by tag
    // and VIP.
    for q in [
        "89161234567",
        "%2B7%20916%20123",
        "anna",
        "ромашка",
        "смирн",
    ] {
        let found = app
            .api_ok(&token, Method::GET, &format!("/contacts?q={q}"), None)
            .await;
        assert_eq!(names(&found), ["Анна Смирнова"], "q={q}");
    }
    let tagged = app
        .api_ok(
            &token,
            Method::GET,
            "/contacts?tag=%D0%BE%D0%BF%D1%82",
            None,
        )
        .await;
    assert_eq!(names(&tagged), ["Анна Смирнова"]);
    let vip = app
        .api_ok(&token, Method::GET, "/contacts?vip=true", None)
        .await;
    assert_eq!(names(&vip), ["Анна Смирнова"]);
    let org = anna["organization"]["id"].as_i64().expect("org id");
    let of_org = app
        .api_ok(
            &token,
            Method::GET,
            &format!("/contacts?organization_id={org}"),
            None,
        )
        .await;
    assert_eq!(names(&of_org), ["Анна Смирнова"]);
    let (s, e) = app
        .api(&token, Method::GET, "/contacts?per_page=0", None)
        .await;
    assert_eq!(s, 400, "{e}");
    let (s, e) = app
        .api(&token, Method::GET, "/contacts?sort=name", None)
        .await;
    assert_eq!(s, 400, "{e}");

    // A change sends only what changes; the rest stays.
    let changed = app
        .api_ok(
            &token,
            Method::PATCH,
            &format!("/contacts/{anna_id}"),
            Some(json!({"email": "", "tags": []})),
        )
        .await;
    assert_eq!(changed["email"], Value::Null);
    assert_eq!(changed["phone"], "8 (916) 123-45-67");
    assert_eq!(changed["organization"]["name"], "ООО Ромашка");
    assert_eq!(changed["tags"], json!([]));
    let (s, _) = app
        .api(
            &token,
            Method::PATCH,
            &format!("/contacts/{anna_id}"),
            Some(json!({"phone": "+7 903 000-00-01"})),
        )
        .await;
    assert_eq!(s, 409, "Вера's phone");
    let still = app
        .api_ok(&token, Method::GET, &format!("/contacts/{anna_id}"), None)
        .await;
    assert_eq!(still["phone"], "8 (916) 123-45-67");
    let (s, _) = app.api(&token, Method::GET, "/contacts/999999", None).await;
    assert_eq!(s, 404);

    // The contacts page lists and finds the same.
    let admin = app.admin().await;
    let (s, page) = admin
        .get("/console/contacts?q=%D1%80%D0%BE%D0%BC%D0%B0%D1%88%D0%BA%D0%B0")
        .await;
    assert_eq!(s, 200);
    assert!(
        page.contains("Анна Смирнова") && !page.contains("Борис"),
        "{page}"
    );
    let (s, page) = admin.get(&format!("/console/contacts/{anna_id}")).await;
    assert_eq!(s, 200);
    assert!(page.contains("ООО Ромашка"), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merging_two_contacts_makes_one_person_with_one_history() {
    let app = TestApp::spawn().await;
    let token = app.api_token(ADMIN_EMAIL).await;
    app.api_ok(&token, Method::POST, "/tags", Some(json!({"name": "Опт"})))
        .await;
    let first = conversation(&app, "visitor-token-merge-00000001", "Где мой заказ?").await;
    let second = conversation(
        &app,
        "visitor-token-merge-00000002",
        "Это снова я, с телефона",
    )
    .await;
    let keep = contact_of(&app, &token, first).await;
    let gone = contact_of(&app, &token, second).await;
    assert_ne!(keep, gone);
    app.api_ok(
        &token,
        Method::PATCH,
        &format!("/contacts/{gone}"),
        Some(json!({"name": "Ольга", "phone": "+7 999 123-45-67", "tags": ["Опт"]})),
    )
    .await;

    let (s, e) = app
        .api(
            &token,
            Method::POST,
            &format!("/contacts/{keep}/merge"),
            Some(json!({"from": keep})),
        )
        .await;
    assert_eq!(s, 400, "{e}");
    let (s, _) = app
        .api(
            &token,
            Method::POST,
            &format!("/contacts/{keep}/merge"),
            Some(json!({"from": 987654})),
        )
        .await;
    assert_eq!(s, 404);

    let admin = app.admin().await;
    let (s, page) = admin
        .post_form(
            &format!("/console/contacts/{keep}/merge"),
            &[("csrf", &admin.csrf), ("other", &gone.to_string())],
        )
        .await;
    assert_eq!(s, 303, "{page}");
    let merged = app
        .api_ok(&token, Method::GET, &format!("/contacts/{keep}"), None)
        .await;
    // The visitor's default name gave way to the one the team typed; phone and tags came along.
    assert_eq!(merged["name"], "Ольга");
    assert_eq!(merged["phone"], "+7 999 123-45-67");
    assert_eq!(merged["tags"], json!(["Опт"]));
    assert_eq!(
        merged["identities"].as_array().map(Vec::len),
        Some(2),
        "{merged}"
    );
    assert_eq!(contact_of(&app, &token, second).await, keep);
    let (s, _) = app
        .api(&token, Method::GET, &format!("/contacts/{gone}"), None)
        .await;
    assert_eq!(s, 404);

    // The card lists both conversations; the next message from either visitor lands on it.
    let (_, card) = admin.get(&format!("/console/contacts/{keep}")).await;
    assert_eq!(
        card.matches("class=\"contact-conversation\"").count(),
        2,
        "{card}"
    );
    let ids = &card[card.find("contact-identities").unwrap()..];
    let ids = &ids[..ids.find("</section>").unwrap()];
    assert!(
        !ids.contains("<code>"),
        "a widget visitor's hash is no reading: {ids}"
    );
    // Each of the person's conversations says in its thread that the contacts were merged.
    for c in [first, second] {
        let (_, thread) = admin.get(&format!("/console?tab=all&c={c}")).await;
        assert!(
            thread.contains("объединил(а) контакт клиента с «"),
            "{c}: {thread}"
        );
    }
    conversation(&app, "visitor-token-merge-00000002", "Ещё вопрос").await;
    let list = app
        .api_ok(&token, Method::GET, "/contacts?q=ольга", None)
        .await;
    assert_eq!(list["data"].as_array().map(Vec::len), Some(1), "{list}");
    let (_, audit) = admin.get("/console/settings/audit").await;
    assert!(
        audit.contains(&format!("contact {gone} (Ольга) merged into {keep}")),
        "{audit}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_csv_import_reports_each_broken_row_and_an_export_reads_back() {
    let app = TestApp::spawn().await;
    let token = app.api_token(ADMIN_EMAIL).await;
    let existing = app
        .api_ok(
            &token,
            Method::POST,
            "/contacts",
            Some(json!({"name": "Пётр", "email": "petr@example.com"})),
        )
        .await;
    let admin = app.admin().await;
    let file = format!(
        "Имя;Телефон;E-mail;Организация;VIP;Теги;Менеджер\n\
         Анна Смирнова;8 916 123-45-67;anna@example.com;Ромашка;да;опт, новые;{ADMIN_EMAIL}\n\
         ;+7 916 000-00-00;;;;;\n\
         Борис;позвоните;;;;;\n\
         Пётр Иванов;;petr@example.com;;нет;;\n\
         Вера;+7 903 555-55-55;;Ромашка;;;nobody@example.com\n\
         Галина;;galina@;;;;\n\
         \n\
         Дмитрий;+7 903 777-77-77;;;;;\n"
    );
    let (s, report) = import(&admin, file.as_bytes()).await;
    assert_eq!(s, 200, "{report}");
    assert_eq!(reported(&report, "imported-created"), 2, "Анна, Дмитрий");
    assert_eq!(reported(&report, "imported-updated"), 1, "Пётр by e-mail");
    assert_eq!(reported(&report, "imported-refused"), 4);
    for (line, why) in [
        ("3", "name"),
        ("4", "позвоните"),
        ("6", "nobody@example.com"),
        ("7", "galina@"),
    ] {
        let row = format!("<tr><td>{line}</td><td>");
        let at = report
            .find(&row)
            .unwrap_or_else(|| panic!("line {line} not reported: {report}"));
        assert!(
            report[at..]
                .split("</tr>")
                .next()
                .unwrap_or_default()
                .contains(why),
            "line {line}: {report}"
        );
    }
    // The refused manager left nothing of Вера behind.
    let vera = app
        .api_ok(&token, Method::GET, "/contacts?q=%2B79035555555", None)
        .await;
    assert_eq!(names(&vera), Vec::<String>::new());
    let petr = app
        .api_ok(
            &token,
            Method::GET,
            &format!("/contacts/{}", existing["id"]),
            None,
        )
        .await;
    assert_eq!(petr["name"], "Пётр Иванов");
    let anna = app
        .api_ok(&token, Method::GET, "/contacts?q=anna", None)
        .await;
    assert_eq!(
        anna["data"][0]["tags"],
        json!(["новые", "опт"]),
        "tags the project lacked were added"
    );
    assert_eq!(anna["data"][0]["organization"]["name"], "Ромашка");
    assert_eq!(anna["data"][0]["vip"], true);

    // The same file again updates and adds nobody twice.
    let (_, again) = import(&admin, file.as_bytes()).await;
    assert_eq!(reported(&again, "imported-created"), 0, "{again}");
    assert_eq!(reported(&again, "imported-updated"), 3);

    // Not a contacts file at all: refused whole, nothing changes.
    let (s, page) = import(&admin, b"foo,bar\n1,2\n").await;
    assert_eq!(s, 422, "{page}");
    assert!(page.contains("name"), "{page}");
    let all = app
        .api_ok(&token, Method::GET, "/contacts?per_page=100", None)
        .await;
    assert_eq!(all["data"].as_array().map(Vec::len), Some(3));

    // The export: every contact, the same columns, readable back; Excel gets its BOM.
    let r = admin
        .http
        .get(format!("{}/console/contacts/export", admin.url))
        .send()
        .await
        .expect("export");
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap_or_default()
            .starts_with("text/csv")
    );
    let bytes = r.bytes().await.expect("body");
    assert!(bytes.starts_with(&[0xEF, 0xBB, 0xBF]));
    let text = String::from_utf8_lossy(&bytes[3..]).to_string();
    assert!(
        text.starts_with("name,phone,email,organization,vip,tags,manager\n"),
        "{text}"
    );
    assert!(text.contains(&format!("Анна Смирнова,8 916 123-45-67,anna@example.com,Ромашка,yes,\"новые, опт\",{ADMIN_EMAIL}")), "{text}");
    assert_eq!(text.lines().count(), 4, "{text}");
    let (_, back) = import(&admin, &bytes).await;
    assert_eq!(reported(&back, "imported-created"), 0, "{back}");
    assert_eq!(reported(&back, "imported-refused"), 0, "{back}");

    // The API takes the same file; operators may not import or export.
    let r = app
        .http
        .post(format!("{}/api/v1/contacts/import", app.url))
        .bearer_auth(&token)
        .header("Content-Type", "text/csv")
        .body("name,phone\nЕлена,+7 903 888-88-88\nбез телефона,12\n")
        .send()
        .await
        .expect("api import");
    assert_eq!(r.status(), 200);
    let out: Value = r.json().await.expect("json");
    assert_eq!(out["created"], 1);
    assert_eq!(out["refused"][0]["line"], 3, "{out}");
    app.add_member(
        "op@example.com",
        "Оператор",
        "password-1111",
        perepiska::domain::Role::Operator,
    )
    .await;
    let op = app.login("op@example.com", "password-1111").await;
    let (s, _) = op.get("/console/contacts/export").await;
    assert_eq!(s, 403);
    let (s, _) = import(&op, file.as_bytes()).await;
    assert_eq!(s, 403);
    let (s, _) = op.get("/console/contacts").await;
    assert_eq!(s, 200, "operators see the contacts");
}

async fn replies(tg: &FakeTelegram, seen: &mut usize, n: usize) -> Vec<SentMessage> {
    let all = tg.wait_sent(*seen + n).await;
    let new = all[*seen..].to_vec();
    *seen = all.len();
    new
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imported_customer_signs_in_to_the_telegram_bot_by_sharing_their_phone() {
    const CHAT: i64 = 555_000_777;
    let tg = FakeTelegram::start().await;
    let toml = format!(
        "[[channels]]\nid = \"tg\"\nkind = \"telegram\"\nname = \"Бот\"\ntoken = \"{TOKEN}\"\napi_base = \"{}\"\nrouting = \"helpdesk\"\npoll_timeout = 1\nregistration = \"phone\"\nsupport_phone = \"+7 800 555-35-35\"\n",
        tg.url
    );
    let app = TestApp::spawn_with(|s| std::fs::write(&s.channels_path, &toml).unwrap()).await;
    let admin = app.admin().await;
    let (s, report) = import(
        &admin,
        "name,phone,organization\nИрина Ким,8 (900) 123-45-67,Ромашка\n".as_bytes(),
    )
    .await;
    assert_eq!(s, 200, "{report}");
    assert_eq!(reported(&report, "imported-created"), 1);
    let token = app.api_token(ADMIN_EMAIL).await;
    let imported = app
        .api_ok(
            &token,
            Method::GET,
            "/contacts?q=%D0%B8%D1%80%D0%B8%D0%BD%D0%B0",
            None,
        )
        .await;
    let irina = imported["data"][0]["id"]
        .as_i64()
        .expect("imported contact");

    let mut seen = 0;
    tg.push(FakeTelegram::text_update(CHAT, 1, "Здравствуйте"));
    let r = replies(&tg, &mut seen, 1).await;
    assert!(r[0].request_phone, "asks for the phone with a share button");
    tg.push(FakeTelegram::message_update(CHAT, 2, json!({ "contact": { "phone_number": "+79001234567", "first_name": "Ира", "user_id": CHAT } })));
    let r = replies(&tg, &mut seen, 2).await;
    assert_eq!(r[0].text, "Спасибо, Ирина Ким! Номер подтверждён.");
    tg.push(FakeTelegram::text_update(CHAT, 3, "Нужен счёт за ноябрь"));
    let r = replies(&tg, &mut seen, 2).await;
    assert_eq!(r[0].text, "✔️ Ваша заявка зарегистрирована под номером #1");

    // The request is the imported contact's, and the card shows the Telegram chat.
    let list = app
        .api_ok(&token, Method::GET, "/conversations?channel=tg", None)
        .await;
    assert_eq!(list["data"][0]["contact"]["id"], irina, "{list}");
    let card = app
        .api_ok(&token, Method::GET, &format!("/contacts/{irina}"), None)
        .await;
    assert_eq!(
        card["identities"],
        json!([{"channel": "tg", "external_id": CHAT.to_string(), "blocked": false}])
    );
    assert_eq!(card["organization"]["name"], "Ромашка");
}

#[tokio::test]
async fn what_the_contacts_page_reads_uses_its_indexes() {
    let app = TestApp::spawn().await;
    let plans = app
        .store()
        .read(perepiska::store::explain::contacts)
        .await
        .expect("plans");
    // PostgreSQL may walk the project's newest contacts for VIPs when most are (its
    // statistics say so); SQLite has none, and must be pointed at the VIP index.
    for (name, want) in [
        ("tag", &["contact_tags"][..]),
        ("organization", &["contacts_organization"]),
        (
            "vip",
            &["contacts_vip", "Index Scan Backward using contacts_newest"],
        ),
        ("by phone", &["contacts_phone"]),
    ] {
        let plan = plans
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, l)| l.join("\n"))
            .unwrap_or_else(|| panic!("no plan for {name}"));
        assert!(want.iter().any(|w| plan.contains(w)), "{name}: {plan}");
    }
    for (name, lines) in &plans {
        let plan = lines.join("\n");
        assert!(
            !plan.contains("SCAN contacts\n")
                && !plan.ends_with("SCAN contacts")
                && !plan.contains("Seq Scan"),
            "{name}: {plan}"
        );
    }
}
