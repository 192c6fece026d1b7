//! Customer journeys with the helpdesk bot, through the fake Telegram Bot API (buttons) and
//! through the signed API channel (a platform without buttons: numbered menus).

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::fake_telegram::{FakeTelegram, SentMessage, TOKEN};
use crate::support::{ADMIN_EMAIL, TestApp};

const CHAT: i64 = 555_000_222;

fn helpdesk_toml(tg: &FakeTelegram, extra: &str) -> String {
    format!(
        "[[channels]]\nid = \"tg\"\nkind = \"telegram\"\nname = \"Бот\"\ntoken = \"{TOKEN}\"\napi_base = \"{}\"\nrouting = \"helpdesk\"\npoll_timeout = 1\n{extra}",
        tg.url
    )
}

async fn bot_app(tg: &FakeTelegram, extra: &str) -> TestApp {
    let toml = helpdesk_toml(tg, extra);
    TestApp::spawn_with(|s| std::fs::write(&s.channels_path, &toml).unwrap()).await
}

/// Waits until the bot has sent `n` messages in total and returns the ones after `seen`.
async fn replies(tg: &FakeTelegram, seen: &mut usize, n: usize) -> Vec<SentMessage> {
    let all = tg.wait_sent(*seen + n).await;
    let new = all[*seen..].to_vec();
    *seen = all.len();
    new
}

fn button<'a>(m: &'a SentMessage, data_prefix: &str) -> &'a str {
    m.buttons
        .iter()
        .find(|(_, d)| d.starts_with(data_prefix))
        .map(|(_, d)| d.as_str())
        .unwrap_or_else(|| panic!("no button {data_prefix} in {:?}", m.buttons))
}

async fn conversation(app: &TestApp, token: &str, id: i64) -> Value {
    app.api(token, Method::GET, &format!("/conversations/{id}"), None)
        .await
        .1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_request_status_comment_resolution_and_rating() {
    let tg = FakeTelegram::start().await;
    let app = bot_app(&tg, "").await;
    let token = app.api_token(ADMIN_EMAIL).await;
    let mut seen = 0;

    tg.push(FakeTelegram::text_update(CHAT, 1, "/start"));
    let r = replies(&tg, &mut seen, 2).await;
    assert!(r[0].text.starts_with("Здравствуйте! Я бот поддержки"));
    let labels: Vec<&str> = r[1].buttons.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(
        labels,
        vec!["➕ Новая заявка", "📞 Я оставлял заявку, свяжитесь со мной"],
        "no requests yet"
    );

    tg.push(FakeTelegram::press(CHAT, "cb1", "new", "ru"));
    let r = replies(&tg, &mut seen, 1).await;
    assert!(r[0].text.starts_with("Опишите ваш вопрос"));
    assert!(
        tg.calls("answerCallbackQuery") >= 1,
        "the button press is answered"
    );

    let text = "Не работает принтер в бухгалтерии на третьем этаже, горит красная лампа";
    tg.push(FakeTelegram::text_update(CHAT, 2, text));
    let r = replies(&tg, &mut seen, 2).await;
    assert_eq!(r[0].text, "✔️ Ваша заявка зарегистрирована под номером #1");
    let labels: Vec<&str> = r[1].buttons.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(
        labels,
        vec![
            "➕ Новая заявка",
            "❓ Статус заявки",
            "💬 Добавить комментарий",
            "🛑 Отменить заявку"
        ]
    );
    let (_, list) = app
        .api(&token, Method::GET, "/conversations?channel=tg", None)
        .await;
    let id = list["data"][0]["id"].as_i64().unwrap();
    assert_eq!(
        list["data"][0]["subject"],
        "Не работает принтер в бухгалтерии на третьем этаже…"
    );
    assert_eq!(app.customer_texts(&token, id).await.len(), 1);

    // A message without the menu while a request is open: the bot asks where it belongs.
    tg.push(FakeTelegram::text_update(
        CHAT,
        3,
        "Модель HP LaserJet 1020",
    ));
    let r = replies(&tg, &mut seen, 1).await;
    assert!(r[0].text.starts_with("У вас есть заявки в работе"));
    let attach = button(&r[0], "attach:").to_string();
    tg.push(FakeTelegram::press(CHAT, "cb2", &attach, "ru"));
    let r = replies(&tg, &mut seen, 2).await;
    assert_eq!(r[0].text, "💬 Комментарий добавлен к заявке #1");
    let texts: Vec<String> = app
        .thread(&token, id)
        .await
        .iter()
        .filter(|m| m["kind"] == "customer")
        .map(|m| m["text"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        texts,
        vec![text.to_string(), "Модель HP LaserJet 1020".to_string()]
    );

    // Status of active requests.
    tg.push(FakeTelegram::text_update(CHAT, 4, "/tickets"));
    let r = replies(&tg, &mut seen, 1).await;
    assert!(
        r[0].text.contains("#1 Не работает принтер"),
        "{}",
        r[0].text
    );
    assert!(
        r[0].text.contains("Исполнитель: не назначен")
            && r[0].text.contains("Статус: Новое")
            && r[0].text.contains("Срок: не установлен"),
        "{}",
        r[0].text
    );
    tg.push(FakeTelegram::press(
        CHAT,
        "cb3",
        &format!("view:{id}"),
        "ru",
    ));
    let r = replies(&tg, &mut seen, 2).await;
    assert!(
        r[0].text.contains("Приоритет: обычный") && r[0].text.contains("Создана:"),
        "{}",
        r[0].text
    );

    // The operator takes it and resolves it: the customer is told and asked to rate.
    let (s, _) = app
        .api(
            &token,
            Method::PATCH,
            &format!("/conversations/{id}"),
            Some(json!({"assignee_id": 1})),
        )
        .await;
    assert_eq!(s, 200);
    let r = replies(&tg, &mut seen, 1).await;
    assert_eq!(r[0].text, "Заявка #1: исполнитель Admin.");
    app.api_ok(
        &token,
        Method::PATCH,
        &format!("/conversations/{id}"),
        Some(json!({"status": "resolved"})),
    )
    .await;
    let r = replies(&tg, &mut seen, 1).await;
    assert!(r[0].text.starts_with("✅ Заявка #1"));
    let rate = button(&r[0], "rate:").to_string();
    button(&r[0], "reopen:");
    button(&r[0], "view:");
    tg.push(FakeTelegram::press(CHAT, "cb4", &rate, "ru"));
    let r = replies(&tg, &mut seen, 1).await;
    assert_eq!(r[0].buttons.len(), 5, "1 to 5 stars");
    let five = r[0].buttons[4].1.clone();
    tg.push(FakeTelegram::press(CHAT, "cb5", &five, "ru"));
    let r = replies(&tg, &mut seen, 1).await;
    assert!(r[0].text.starts_with("Спасибо! Добавьте комментарий"));
    let c = conversation(&app, &token, id).await;
    assert_eq!(c["rating"], 5);
    assert_eq!(c["status"], "closed", "a rating closes a resolved request");
    tg.push(FakeTelegram::text_update(CHAT, 5, "Быстро и вежливо"));
    let r = replies(&tg, &mut seen, 2).await;
    assert_eq!(r[0].text, "Спасибо за оценку! Заявка #1 закрыта.");
    let c = conversation(&app, &token, id).await;
    assert_eq!(c["rating_comment"], "Быстро и вежливо");
    let op = app.admin().await;
    let (_, html) = op.get(&format!("/console?c={id}")).await;
    assert!(html.contains("★★★★★"), "the console shows the rating");
    // Closed requests allow a question about them from the menu.
    let labels: Vec<&str> = r[1].buttons.iter().map(|(l, _)| l.as_str()).collect();
    assert!(
        labels.contains(&"❔ Вопрос по выполненной заявке"),
        "{labels:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_and_return_to_work_with_a_reason() {
    let tg = FakeTelegram::start().await;
    let app = bot_app(&tg, "").await;
    let token = app.api_token(ADMIN_EMAIL).await;
    let mut seen = 0;
    // A first message without /start simply becomes a request.
    tg.push(FakeTelegram::text_update(CHAT, 1, "Первая заявка"));
    let r = replies(&tg, &mut seen, 2).await;
    assert_eq!(r[0].text, "✔️ Ваша заявка зарегистрирована под номером #1");
    tg.push(FakeTelegram::press(CHAT, "a1", "new", "ru"));
    replies(&tg, &mut seen, 1).await;
    tg.push(FakeTelegram::text_update(CHAT, 2, "Вторая заявка"));
    let r = replies(&tg, &mut seen, 2).await;
    assert_eq!(r[0].text, "✔️ Ваша заявка зарегистрирована под номером #2");
    let (_, list) = app
        .api(
            &token,
            Method::GET,
            "/conversations?channel=tg&per_page=10",
            None,
        )
        .await;
    let id_of = |n: i64| {
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["number"] == n)
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let (first, second) = (id_of(1), id_of(2));

    // Cancel #2, then #1: the customer is told when nothing is left.
    tg.push(FakeTelegram::press(CHAT, "a2", "cancel", "ru"));
    let r = replies(&tg, &mut seen, 1).await;
    assert_eq!(r[0].buttons.len(), 2);
    tg.push(FakeTelegram::press(
        CHAT,
        "a3",
        &format!("x:{second}"),
        "ru",
    ));
    let r = replies(&tg, &mut seen, 2).await;
    assert_eq!(r[0].text, "🛑 Заявка #2 отменена");
    // The same press delivered again does nothing more.
    tg.push(FakeTelegram::press(
        CHAT,
        "a3",
        &format!("x:{second}"),
        "ru",
    ));
    tg.push(FakeTelegram::press(CHAT, "a4", &format!("x:{first}"), "ru"));
    let r = replies(&tg, &mut seen, 3).await;
    assert_eq!(r[0].text, "🛑 Заявка #1 отменена");
    assert_eq!(r[1].text, "У вас больше нет заявок в работе.");
    assert_eq!(
        conversation(&app, &token, second).await["status"],
        "cancelled"
    );
    let events: Vec<String> = app
        .thread(&token, second)
        .await
        .iter()
        .filter(|m| m["kind"] == "system")
        .map(|m| m["text"].as_str().unwrap().to_string())
        .collect();
    assert!(
        events.iter().any(|e| e.contains("new → cancelled")),
        "{events:?}"
    );

    // A resolved request goes back to work with the customer's reason.
    tg.push(FakeTelegram::press(CHAT, "a5", "new", "ru"));
    replies(&tg, &mut seen, 1).await;
    tg.push(FakeTelegram::text_update(CHAT, 3, "Третья заявка"));
    replies(&tg, &mut seen, 2).await;
    let (_, list) = app
        .api(
            &token,
            Method::GET,
            "/conversations?status=new&channel=tg",
            None,
        )
        .await;
    let third = list["data"][0]["id"].as_i64().unwrap();
    app.api_ok(
        &token,
        Method::PATCH,
        &format!("/conversations/{third}"),
        Some(json!({"status": "resolved"})),
    )
    .await;
    let r = replies(&tg, &mut seen, 1).await;
    let reopen = button(&r[0], "reopen:").to_string();
    tg.push(FakeTelegram::press(CHAT, "a6", &reopen, "ru"));
    let r = replies(&tg, &mut seen, 1).await;
    assert_eq!(r[0].text, "Вернуть заявку #3 в работу?");
    let yes = button(&r[0], "reopen_yes:").to_string();
    tg.push(FakeTelegram::press(CHAT, "a7", &yes, "ru"));
    let r = replies(&tg, &mut seen, 1).await;
    assert!(r[0].text.starts_with("Опишите, пожалуйста"));
    tg.push(FakeTelegram::text_update(
        CHAT,
        4,
        "Принтер снова не печатает",
    ));
    let r = replies(&tg, &mut seen, 2).await;
    assert_eq!(r[0].text, "↩️ Заявка #3 возвращена в работу.");
    assert_eq!(
        conversation(&app, &token, third).await["status"],
        "reopened"
    );
    let last = app
        .thread(&token, third)
        .await
        .into_iter()
        .rfind(|m| m["kind"] == "customer")
        .unwrap();
    assert_eq!(last["text"], "Принтер снова не печатает");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_by_phone_links_known_customers_only() {
    let tg = FakeTelegram::start().await;
    let app = bot_app(
        &tg,
        "registration = \"phone\"\nsupport_phone = \"+7 800 555-35-35\"\n",
    )
    .await;
    // A customer the business already knows, with the number written its own way.
    app.store()
        .write(|c| {
            let (contact, _) = perepiska::store::contacts::find_or_create(
                c,
                perepiska::domain::ProjectId(1),
                perepiska::domain::ChannelId(1),
                "imported-1",
                &perepiska::store::contacts::ContactHint {
                    name: Some("Ирина Ким".into()),
                    phone: Some("+7 (900) 123-45-67".into()),
                    ..Default::default()
                },
            )?;
            Ok(contact.id)
        })
        .await
        .unwrap();
    let mut seen = 0;
    tg.push(FakeTelegram::text_update(CHAT, 1, "Здравствуйте"));
    let r = replies(&tg, &mut seen, 1).await;
    assert!(r[0].request_phone, "asks for the phone with a share button");
    // A stranger's card does not count.
    tg.push(FakeTelegram::message_update(CHAT, 2, json!({ "contact": { "phone_number": "79001234567", "first_name": "Кто-то", "user_id": 42 } })));
    let r = replies(&tg, &mut seen, 1).await;
    assert!(r[0].request_phone);
    // Their own number: linked to the known contact.
    tg.push(FakeTelegram::message_update(CHAT, 3, json!({ "contact": { "phone_number": "79001234567", "first_name": "Ирина", "user_id": CHAT } })));
    let r = replies(&tg, &mut seen, 2).await;
    assert_eq!(r[0].text, "Спасибо, Ирина Ким! Номер подтверждён.");
    tg.push(FakeTelegram::text_update(CHAT, 4, "Нужен счёт за ноябрь"));
    let r = replies(&tg, &mut seen, 2).await;
    assert_eq!(r[0].text, "✔️ Ваша заявка зарегистрирована под номером #1");
    let token = app.api_token(ADMIN_EMAIL).await;
    let (_, list) = app
        .api(&token, Method::GET, "/conversations?channel=tg", None)
        .await;
    assert_eq!(list["data"][0]["contact"]["name"], "Ирина Ким");
    // The contact has two identities here now (the imported one and Irina's chat): an
    // operator's answer goes to the chat she wrote from.
    let id = list["data"][0]["id"].as_i64().unwrap();
    let (s, _) = app
        .api(
            &token,
            Method::POST,
            &format!("/conversations/{id}/messages"),
            Some(json!({"text": "Счёт отправили на почту"})),
        )
        .await;
    assert_eq!(s, 201);
    let r = replies(&tg, &mut seen, 1).await;
    assert_eq!(r[0].chat_id, CHAT);
    assert!(
        r[0].text.ends_with("Счёт отправили на почту"),
        "{}",
        r[0].text
    );

    // An unknown number is told where to call.
    tg.push(FakeTelegram::message_update(CHAT + 1, 1, json!({ "contact": { "phone_number": "79990000000", "first_name": "Пётр", "user_id": CHAT + 1 } })));
    let r = replies(&tg, &mut seen, 1).await;
    assert_eq!(
        r[0].text,
        "Мы не нашли ваш номер среди клиентов. Позвоните нам: +7 800 555-35-35"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_speaks_english_to_english_speakers() {
    let tg = FakeTelegram::start().await;
    let app = bot_app(&tg, "").await;
    let mut seen = 0;
    let mut u = FakeTelegram::text_update(CHAT, 1, "My invoice is wrong");
    u["message"]["from"]["language_code"] = json!("en");
    tg.push(u);
    let r = replies(&tg, &mut seen, 2).await;
    assert_eq!(r[0].text, "✔️ Your request is registered as #1");
    assert_eq!(r[1].buttons[0].0, "➕ New request");
    let _ = app;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_mode_runs_the_same_bot() {
    let tg = FakeTelegram::start().await;
    let toml = helpdesk_toml(&tg, "mode = \"webhook\"\n");
    let app = TestApp::spawn_with(|s| {
        std::fs::write(&s.channels_path, &toml).unwrap();
        s.public_url = Some("https://support.example.com".into());
    })
    .await;
    let (_, secret) = tg.webhook().unwrap();
    let post = |update: Value| {
        app.http
            .post(format!("{}/webhooks/tg", app.url))
            .header("X-Telegram-Bot-Api-Secret-Token", secret.clone())
            .json(&update)
            .send()
    };
    let mut seen = 0;
    let mut start = FakeTelegram::text_update(CHAT, 1, "/start");
    start["update_id"] = json!(1);
    assert_eq!(post(start).await.unwrap().status(), 200);
    replies(&tg, &mut seen, 2).await;
    let mut press = FakeTelegram::press(CHAT, "w1", "new", "ru");
    press["update_id"] = json!(2);
    post(press.clone()).await.unwrap();
    // Telegram retries a webhook it thinks failed: the press counts once.
    post(press).await.unwrap();
    let r = replies(&tg, &mut seen, 1).await;
    assert!(r[0].text.starts_with("Опишите ваш вопрос"));
    let mut text = FakeTelegram::text_update(CHAT, 2, "Через вебхук");
    text["update_id"] = json!(3);
    post(text).await.unwrap();
    let r = replies(&tg, &mut seen, 2).await;
    assert_eq!(r[0].text, "✔️ Ваша заявка зарегистрирована под номером #1");
    assert_eq!(tg.sent().len(), seen, "nothing extra was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn platforms_without_buttons_get_numbered_menus() {
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let toml = format!(
        "[[channels]]\nid = \"crm\"\nkind = \"api\"\ncallback_url = \"{}/cb\"\nsecret = \"crm-shared-secret-123\"\nrouting = \"helpdesk\"\n",
        server.uri()
    );
    let app = TestApp::spawn_with(|s| std::fs::write(&s.channels_path, &toml).unwrap()).await;
    let send = |id: &str, text: &str| {
        let body = serde_json::to_vec(
            &json!({"contact": {"id": "c-1", "name": "Олег"}, "message": {"id": id, "text": text}}),
        )
        .unwrap();
        app.http
            .post(format!("{}/webhooks/crm", app.url))
            .header(
                "X-Perepiska-Signature",
                perepiska::channels::api::signature("crm-shared-secret-123", &body),
            )
            .body(body)
            .send()
    };
    let bot_texts = || async {
        server
            .received_requests()
            .await
            .unwrap()
            .iter()
            .map(|r| {
                serde_json::from_slice::<Value>(&r.body).unwrap()["message"]["text"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect::<Vec<String>>()
    };
    send("1", "/start").await.unwrap();
    app.eventually("menu", || async { bot_texts().await.len() >= 2 })
        .await;
    let menu = bot_texts().await[1].clone();
    assert!(
        menu.contains("1. ➕ Новая заявка") && menu.contains("Ответьте номером варианта"),
        "{menu}"
    );
    send("2", "1").await.unwrap();
    app.eventually("prompt", || async { bot_texts().await.len() >= 3 })
        .await;
    assert!(bot_texts().await[2].starts_with("Опишите ваш вопрос"));
    send("3", "Не приходит чек на почту").await.unwrap();
    app.eventually("registered", || async { bot_texts().await.len() >= 4 })
        .await;
    assert_eq!(
        bot_texts().await[3],
        "✔️ Ваша заявка зарегистрирована под номером #1"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_are_notified_of_vip_requests_comments_and_callback_requests() {
    let tg = FakeTelegram::start().await;
    let app = bot_app(&tg, "").await;
    let token = app.api_token(ADMIN_EMAIL).await;
    let mut seen = 0;
    tg.push(FakeTelegram::text_update(CHAT, 1, "/start"));
    replies(&tg, &mut seen, 2).await;
    // The customer belongs to a VIP organization managed by an operator.
    app.store()
        .write(|c| {
            let manager = perepiska::bootstrap::create_user(
                c,
                "manager@example.com",
                "Мария",
                "password-4444",
                perepiska::domain::Access::of(&[perepiska::domain::Role::Operator]),
                perepiska::domain::ProjectId(1),
            )?;
            let tg_channel = perepiska::store::channels::by_key(c, "tg")?.expect("tg");
            let contact =
                perepiska::store::contacts::by_identity(c, tg_channel.id, &CHAT.to_string())?
                    .expect("contact");
            let edit = perepiska::domain::contact::ContactInput {
                name: "Ирина Ким".into(),
                organization: Some("ООО Ромашка".into()),
                organization_vip: true,
                manager_id: Some(manager.id),
                ..Default::default()
            };
            perepiska::store::contacts::update(c, perepiska::domain::ProjectId(1), contact, &edit)?;
            Ok(())
        })
        .await
        .unwrap();
    tg.push(FakeTelegram::press(CHAT, "n1", "new", "ru"));
    replies(&tg, &mut seen, 1).await;
    tg.push(FakeTelegram::text_update(
        CHAT,
        2,
        "Срочно нужен доступ к отчётам",
    ));
    replies(&tg, &mut seen, 2).await;
    let manager = app.login("manager@example.com", "password-4444").await;
    let (_, html) = manager.get("/console").await;
    assert!(
        html.contains("id=\"bell-count\">1<"),
        "one notification for the manager"
    );
    let (_, page) = manager.get("/console/notifications").await;
    assert!(
        page.contains("Новая заявка #1 от VIP-организации ООО Ромашка"),
        "{page}"
    );
    let (_, n) = manager.get("/console/partials/bell").await;
    assert_eq!(n, "0", "seen once the page was opened");

    // A comment on a request assigned to someone notifies them.
    let (_, list) = app
        .api(&token, Method::GET, "/conversations?channel=tg", None)
        .await;
    let id = list["data"][0]["id"].as_i64().unwrap();
    app.api_ok(
        &token,
        Method::PATCH,
        &format!("/conversations/{id}"),
        Some(json!({"assignee_id": 1})),
    )
    .await;
    replies(&tg, &mut seen, 1).await;
    tg.push(FakeTelegram::press(CHAT, "n2", "comment", "ru"));
    let r = replies(&tg, &mut seen, 1).await;
    assert_eq!(
        r[0].text,
        "Напишите комментарий к заявке #1, можно приложить файлы."
    );
    tg.push(FakeTelegram::text_update(
        CHAT,
        3,
        "Нужны отчёты за октябрь",
    ));
    replies(&tg, &mut seen, 2).await;
    let admin = app.admin().await;
    let (_, n) = admin.get("/console/partials/bell").await;
    assert_eq!(n, "1");
    let (_, page) = admin.get("/console/notifications").await;
    assert!(
        page.contains("Ирина Ким добавил(а) комментарий к #1: Нужны отчёты за октябрь"),
        "{page}"
    );

    // "Please contact me" becomes a request for the manager.
    tg.push(FakeTelegram::press(CHAT, "n3", "contact_me", "ru"));
    let r = replies(&tg, &mut seen, 1).await;
    assert_eq!(r[0].text, "Мы передали просьбу менеджеру, с вами свяжутся.");
    let (_, page) = manager.get("/console/notifications").await;
    assert!(page.contains("Ирина Ким просит связаться (#2)"), "{page}");
    let (_, c) = app
        .api(&token, Method::GET, "/conversations?assignee=2", None)
        .await;
    assert_eq!(c["total"], 1);
}

fn group_update(
    group: i64,
    from: i64,
    name: &str,
    message_id: i64,
    text: &str,
    entities: Value,
    reply: Option<Value>,
) -> Value {
    let mut m = json!({
        "message_id": message_id, "date": 1_763_700_000,
        "chat": { "id": group, "type": "supergroup", "title": "Офис" },
        "from": { "id": from, "is_bot": false, "first_name": name, "language_code": "ru" },
        "text": text, "entities": entities
    });
    if let Some(r) = reply {
        m["reply_to_message"] = r;
    }
    json!({ "message": m })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_mode_binds_a_team_and_turns_mentions_into_requests() {
    const GROUP: i64 = -1_001_234_567_890;
    let tg = FakeTelegram::start().await;
    let app = bot_app(&tg, "").await;
    let token = app.api_token(ADMIN_EMAIL).await;
    let team = app
        .store()
        .write(|c| perepiska::store::teams::create(c, perepiska::domain::ProjectId(1), "Офис"))
        .await
        .unwrap();
    let mut seen = 0;
    // The author registers in a private chat first.
    tg.push(FakeTelegram::text_update(CHAT, 1, "/start"));
    replies(&tg, &mut seen, 2).await;

    // A member binds the group to a team.
    tg.push(group_update(
        GROUP,
        CHAT,
        "Ирина",
        10,
        "/config@support_test_bot",
        json!([{ "type": "bot_command", "offset": 0, "length": 24 }]),
        None,
    ));
    let r = replies(&tg, &mut seen, 1).await;
    assert_eq!(r[0].chat_id, GROUP);
    let choice = button(&r[0], "team:").to_string();
    assert_eq!(choice, format!("team:{GROUP}:{}", team.id));
    let mut press = FakeTelegram::press(CHAT, "g1", &choice, "ru");
    press["callback_query"]["message"]["chat"] =
        json!({ "id": GROUP, "type": "supergroup", "title": "Офис" });
    tg.push(press);
    let r = replies(&tg, &mut seen, 1).await;
    assert_eq!(
        (r[0].chat_id, r[0].text.as_str()),
        (GROUP, "Заявки из этой группы получает команда «Офис».")
    );

    // A mention of at least 10 characters makes a request for its author.
    let text = "@support_test_bot не работает проектор в переговорной";
    tg.push(group_update(
        GROUP,
        CHAT,
        "Ирина",
        11,
        text,
        json!([{ "type": "mention", "offset": 0, "length": 17 }]),
        None,
    ));
    let r = replies(&tg, &mut seen, 2).await;
    assert_eq!(
        (r[0].chat_id, r[0].text.as_str()),
        (GROUP, "✔️ Заявка #1 зарегистрирована (Ирина Ким)")
    );
    assert_eq!(
        (r[1].chat_id, r[1].text.as_str()),
        (CHAT, "✔️ Ваша заявка зарегистрирована под номером #1")
    );
    let (_, list) = app
        .api(&token, Method::GET, "/conversations?channel=tg", None)
        .await;
    let first = &list["data"][0];
    assert_eq!(first["subject"], "не работает проектор в переговорной");
    assert_eq!(first["team"]["name"], "Офис");
    let first_id = first["id"].as_i64().unwrap();

    // Too short: ignored. A reply that mentions the bot: the replied-to text is the body.
    tg.push(group_update(
        GROUP,
        CHAT,
        "Ирина",
        12,
        "@support_test_bot ок",
        json!([{ "type": "mention", "offset": 0, "length": 17 }]),
        None,
    ));
    let replied = json!({ "message_id": 5, "date": 1_763_700_000, "chat": { "id": GROUP, "type": "supergroup" },
        "from": { "id": 31337, "is_bot": false, "first_name": "Коллега" }, "text": "Кондиционер течёт прямо на стол" });
    tg.push(group_update(
        GROUP,
        CHAT,
        "Ирина",
        13,
        "@support_test_bot",
        json!([{ "type": "mention", "offset": 0, "length": 17 }]),
        Some(replied),
    ));
    let r = replies(&tg, &mut seen, 2).await;
    assert_eq!(r[0].text, "✔️ Заявка #2 зарегистрирована (Ирина Ким)");
    let (_, list) = app.api(&token, Method::GET, "/conversations?channel=tg&q=%D0%9A%D0%BE%D0%BD%D0%B4%D0%B8%D1%86%D0%B8%D0%BE%D0%BD%D0%B5%D1%80", None).await;
    assert_eq!(list["total"], 1, "the replied-to text became request #2");

    // Someone who never registered is sent to a private chat.
    tg.push(group_update(
        GROUP,
        4242,
        "Олег",
        14,
        "@support_test_bot сломался стул в кабинете",
        json!([{ "type": "mention", "offset": 0, "length": 17 }]),
        None,
    ));
    let r = replies(&tg, &mut seen, 1).await;
    assert_eq!(r[0].chat_id, GROUP);
    assert!(
        r[0].text.starts_with("Олег, чтобы оставлять заявки")
            && r[0].text.ends_with("@support_test_bot"),
        "{}",
        r[0].text
    );

    // Notices about a group request reach the author and the group.
    app.api_ok(
        &token,
        Method::PATCH,
        &format!("/conversations/{first_id}"),
        Some(json!({"status": "pending"})),
    )
    .await;
    let r = replies(&tg, &mut seen, 2).await;
    let mut chats: Vec<i64> = r.iter().map(|m| m.chat_id).collect();
    chats.sort_unstable();
    assert_eq!(chats, vec![GROUP, CHAT]);
    assert!(
        r.iter()
            .all(|m| m.text == "Заявка #1: статус «Ждёт клиента».")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_opened_requests_due_dates_files_and_questions_about_done_requests() {
    let tg = FakeTelegram::start().await;
    let app = bot_app(&tg, "").await;
    let token = app.api_token(ADMIN_EMAIL).await;
    let mut seen = 0;
    // Files only: the subject names the customer.
    tg.add_file("scan-1", "documents/scan.pdf", b"%PDF scan");
    tg.push(FakeTelegram::message_update(CHAT, 1, json!({
        "document": { "file_id": "scan-1", "file_unique_id": "s1", "file_name": "Скан.pdf", "mime_type": "application/pdf", "file_size": 9 }
    })));
    let r = replies(&tg, &mut seen, 2).await;
    assert_eq!(r[0].text, "✔️ Ваша заявка зарегистрирована под номером #1");
    let (_, list) = app
        .api(&token, Method::GET, "/conversations?channel=tg", None)
        .await;
    let first = list["data"][0]["id"].as_i64().unwrap();
    assert_eq!(list["data"][0]["subject"], "Файлы от Ирина");
    let files = app.thread(&token, first).await;
    assert_eq!(
        files.iter().find(|m| m["kind"] == "customer").unwrap()["attachments"][0]["file_name"],
        "Скан.pdf"
    );

    // A due date is announced in the project's time zone.
    app.api_ok(
        &token,
        Method::PATCH,
        &format!("/conversations/{first}"),
        Some(json!({"due_at": "2027-03-01T12:00:00Z"})),
    )
    .await;
    let r = replies(&tg, &mut seen, 1).await;
    assert_eq!(r[0].text, "Заявка #1: срок 01.03.2027 15:00.");

    // The operator opens another request for the same customer from the console.
    let op = app.admin().await;
    let (s, _) = op
        .post_form(
            &format!("/console/c/{first}/new"),
            &[
                ("csrf", op.csrf.as_str()),
                ("subject", "Замена картриджа"),
                ("text", "Привезём картридж завтра"),
            ],
        )
        .await;
    assert_eq!(s, 303);
    let r = replies(&tg, &mut seen, 2).await;
    assert_eq!(
        r[0].text,
        "📝 Для вас создана заявка #2 «Замена картриджа»."
    );
    assert_eq!(r[1].text, "Admin:\nПривезём картридж завтра");
    let (s, body) = op
        .post_form(
            &format!("/console/c/{first}/new"),
            &[("csrf", op.csrf.as_str()), ("subject", " ")],
        )
        .await;
    assert_eq!(s, 400);
    assert!(body.contains("subject"));

    // A question about a completed request makes a new one that names it.
    app.api_ok(
        &token,
        Method::PATCH,
        &format!("/conversations/{first}"),
        Some(json!({"status": "closed"})),
    )
    .await;
    replies(&tg, &mut seen, 1).await;
    tg.push(FakeTelegram::press(CHAT, "d1", "done_q", "ru"));
    let r = replies(&tg, &mut seen, 1).await;
    let about = button(&r[0], "q:").to_string();
    tg.push(FakeTelegram::press(CHAT, "d2", &about, "ru"));
    replies(&tg, &mut seen, 1).await;
    tg.push(FakeTelegram::text_update(
        CHAT,
        2,
        "Где закрывающие документы?",
    ));
    let r = replies(&tg, &mut seen, 2).await;
    assert_eq!(r[0].text, "✔️ Ваша заявка зарегистрирована под номером #3");
    let (_, list) = app
        .api(
            &token,
            Method::GET,
            "/conversations?channel=tg&status=new",
            None,
        )
        .await;
    assert_eq!(list["data"][0]["subject"], "#1: Где закрывающие документы?");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_bot_tells_a_customer_shows_in_the_thread_and_is_no_operator_answer() {
    let tg = FakeTelegram::start().await;
    let app = bot_app(&tg, "").await;
    let token = app.api_token(ADMIN_EMAIL).await;
    let mut seen = 0;
    tg.push(FakeTelegram::text_update(CHAT, 1, "/start"));
    replies(&tg, &mut seen, 2).await;
    tg.push(FakeTelegram::press(CHAT, "cb1", "new", "ru"));
    replies(&tg, &mut seen, 1).await;
    tg.push(FakeTelegram::text_update(CHAT, 2, "Сломался сканер"));
    replies(&tg, &mut seen, 2).await;
    let (_, list) = app
        .api(&token, Method::GET, "/conversations?channel=tg", None)
        .await;
    let id = list["data"][0]["id"].as_i64().unwrap();
    let bot = |thread: &[Value]| -> Vec<String> {
        thread
            .iter()
            .filter(|m| m["kind"] == "bot")
            .map(|m| {
                assert_eq!(m["author"], "🤖 Bot", "{m}");
                m["text"].as_str().unwrap().to_string()
            })
            .collect()
    };
    // The confirmation and the menu that followed it, with its buttons.
    let said = bot(&app.thread(&token, id).await);
    assert_eq!(said[0], "✔️ Ваша заявка зарегистрирована под номером #1");
    assert!(
        said[1].contains("[➕ Новая заявка]") && said[1].contains("[🛑 Отменить заявку]"),
        "{said:?}"
    );
    // A status answer, and the rating prompt after the operator resolves it.
    tg.push(FakeTelegram::text_update(CHAT, 3, "/tickets"));
    replies(&tg, &mut seen, 1).await;
    app.api_ok(
        &token,
        Method::PATCH,
        &format!("/conversations/{id}"),
        Some(json!({"status": "resolved"})),
    )
    .await;
    replies(&tg, &mut seen, 1).await;
    let said = bot(&app.thread(&token, id).await);
    assert!(
        said.iter().any(|t| t.contains("#1 Сломался сканер")),
        "{said:?}"
    );
    assert!(
        said.iter()
            .any(|t| t.starts_with("✅ Заявка #1") && t.contains("[")),
        "{said:?}"
    );
    // None of it is an answer by the team, and the console shows it as the bot's.
    assert!(conversation(&app, &token, id).await["last_operator_at"].is_null());
    let op = app.admin().await;
    let (_, html) = op.get(&format!("/console/partials/thread/{id}")).await;
    assert!(
        html.contains("class=\"msg bot\"") && html.contains("🤖 Бот"),
        "{html}"
    );
}
