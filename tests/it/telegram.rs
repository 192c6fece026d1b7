//! Telegram against a fake Bot API on 127.0.0.1, in polling and in webhook mode.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::fake_telegram::{FakeTelegram, TOKEN};
use crate::support::{ADMIN_EMAIL, TestApp};

const CHAT: i64 = 777_000_111;

fn channel_toml(tg: &FakeTelegram, extra: &str) -> String {
    format!(
        "[[channels]]\nid = \"tg\"\nkind = \"telegram\"\nname = \"Бот поддержки\"\ntoken = \"{TOKEN}\"\napi_base = \"{}\"\nrouting = \"chat\"\npoll_timeout = 1\n{extra}",
        tg.url
    )
}

async fn app_with_bot(tg: &FakeTelegram) -> TestApp {
    let toml = channel_toml(tg, "");
    TestApp::spawn_with(|s| std::fs::write(&s.channels_path, &toml).unwrap()).await
}

/// The Telegram conversation's id once it exists.
async fn tg_conversation(app: &TestApp, token: &str) -> i64 {
    for _ in 0..250 {
        let (_, v) = app
            .api(token, Method::GET, "/conversations?channel=tg", None)
            .await;
        if let Some(id) = v["data"][0]["id"].as_i64() {
            return id;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("no Telegram conversation appeared");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_customer_message_in_and_console_reply_out() {
    let tg = FakeTelegram::start().await;
    let app = app_with_bot(&tg).await;
    tg.push(FakeTelegram::text_update(
        CHAT,
        1,
        "Здравствуйте, не могу оплатить заказ",
    ));
    let token = app.api_token(ADMIN_EMAIL).await;
    let id = tg_conversation(&app, &token).await;
    let (_, c) = app
        .api(&token, Method::GET, &format!("/conversations/{id}"), None)
        .await;
    assert_eq!(c["contact"]["name"], "Ирина Ким");
    assert_eq!(c["channel"]["kind"], "telegram");
    assert_eq!(
        app.customer_texts(&token, id).await,
        vec!["Здравствуйте, не могу оплатить заказ"]
    );
    assert!(
        tg.calls("deleteWebhook") >= 1,
        "polling removes a webhook first"
    );

    let op = app.admin().await;
    assert_eq!(op.reply(id, "Проверим платёж и напишем", false).await, 303);
    let sent = tg.wait_sent(1).await;
    assert_eq!(sent[0].chat_id, CHAT);
    assert_eq!(sent[0].text, "Admin:\nПроверим платёж и напишем");
    app.eventually("delivery state sent", || async {
        app.thread(&token, id)
            .await
            .iter()
            .any(|m| m["kind"] == "operator" && m["delivery"] == "sent")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_updates_and_unknown_kinds_never_duplicate_or_stall() {
    let tg = FakeTelegram::start().await;
    let app = app_with_bot(&tg).await;
    let mut first = FakeTelegram::text_update(CHAT, 10, "Первое");
    let first_id = tg.push(first.clone());
    first["update_id"] = json!(first_id);
    tg.push_again(first.clone());
    // A kind of update nobody knows yet must not block the ones after it.
    tg.push(json!({ "brand_new_kind": { "something": true } }));
    // The same message delivered under a new update_id.
    tg.push(FakeTelegram::text_update(CHAT, 10, "Первое"));
    tg.push(FakeTelegram::text_update(CHAT, 11, "Второе"));
    let token = app.api_token(ADMIN_EMAIL).await;
    let id = tg_conversation(&app, &token).await;
    app.eventually("second message", || async {
        app.customer_texts(&token, id).await.len() >= 2
    })
    .await;
    assert_eq!(
        app.customer_texts(&token, id).await,
        vec!["Первое", "Второе"]
    );
    let raw = app
        .store()
        .read(|c| {
            let ch = perepiska::store::channels::by_key(c, "tg")?.expect("tg channel");
            perepiska::store::channels::raw_count(c, ch.id)
        })
        .await
        .unwrap();
    assert_eq!(raw, 1, "the unknown update is kept raw");
    // The offset moved past everything, the unknown update included.
    let last = first_id + 3;
    app.eventually("offset past the last update", || async {
        tg.offsets().iter().any(|o| *o == last + 1)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photos_documents_voice_and_descriptions_arrive() {
    let tg = FakeTelegram::start().await;
    let app = app_with_bot(&tg).await;
    tg.add_file("big-photo", "photos/file_1.jpg", b"\xff\xd8\xffJPEGDATA");
    tg.add_file("doc-1", "documents/file_2.pdf", b"%PDF-1.7 act");
    tg.add_file("voice-1", "voice/file_3.oga", b"OggS voice");
    tg.push(FakeTelegram::message_update(CHAT, 20, json!({
        "photo": [
            { "file_id": "small-photo", "file_unique_id": "s", "width": 90, "height": 60, "file_size": 100 },
            { "file_id": "big-photo", "file_unique_id": "b", "width": 1280, "height": 853, "file_size": 11 }
        ],
        "caption": "Вот чек"
    })));
    tg.push(FakeTelegram::message_update(CHAT, 21, json!({
        "document": { "file_id": "doc-1", "file_unique_id": "d", "file_name": "Акт сверки.pdf", "mime_type": "application/pdf", "file_size": 12 }
    })));
    tg.push(FakeTelegram::message_update(CHAT, 22, json!({
        "voice": { "file_id": "voice-1", "file_unique_id": "v", "duration": 3, "mime_type": "audio/ogg", "file_size": 10 }
    })));
    tg.push(FakeTelegram::message_update(CHAT, 23, json!({
        "sticker": { "file_id": "st", "file_unique_id": "st", "type": "regular", "width": 512, "height": 512, "is_animated": false, "is_video": false, "emoji": "👍" }
    })));
    tg.push(FakeTelegram::message_update(
        CHAT,
        24,
        json!({ "location": { "latitude": 55.751244, "longitude": 37.618423 } }),
    ));
    tg.push(FakeTelegram::message_update(CHAT, 25, json!({ "contact": { "phone_number": "79001234567", "first_name": "Ирина", "user_id": CHAT } })));
    // A file larger than a bot may download is named, not lost.
    tg.push(FakeTelegram::message_update(CHAT, 26, json!({
        "document": { "file_id": "huge", "file_unique_id": "h", "file_name": "video.mov", "file_size": 300_000_000 }
    })));
    let mut edited = FakeTelegram::text_update(CHAT, 27, "Исправленный текст");
    edited["edited_message"] = edited["message"].take();
    edited["edited_message"]["edit_date"] = json!(1_763_700_100);
    edited.as_object_mut().unwrap().remove("message");
    tg.push(edited);

    let token = app.api_token(ADMIN_EMAIL).await;
    let id = tg_conversation(&app, &token).await;
    app.eventually("all eight messages", || async {
        app.customer_texts(&token, id).await.len() >= 8
    })
    .await;
    let thread = app.thread_with_files(&token, id).await;
    let customer: Vec<&Value> = thread.iter().filter(|m| m["kind"] == "customer").collect();
    assert_eq!(customer[0]["text"], "Вот чек");
    assert_eq!(customer[0]["attachments"][0]["file_name"], "photo_20.jpg");
    assert_eq!(customer[1]["attachments"][0]["file_name"], "Акт сверки.pdf");
    assert_eq!(customer[2]["attachments"][0]["file_name"], "voice_22.ogg");
    assert_eq!(customer[3]["text"], "[Стикер 👍]");
    assert!(
        customer[4]["text"]
            .as_str()
            .unwrap()
            .contains("55.751244, 37.618423")
    );
    assert!(
        customer[5]["text"]
            .as_str()
            .unwrap()
            .contains("+79001234567")
    );
    let huge = &customer[6]["attachments"][0];
    assert_eq!(huge["file_name"], "video.mov");
    assert_eq!(huge["state"], "failed");
    assert!(huge["error"].as_str().unwrap().contains("20 MB"), "{huge}");
    assert_eq!(customer[7]["text"], "✏️ Исправленный текст");
    // The largest photo size was fetched, byte for byte.
    let op = app.admin().await;
    let photo = customer[0]["attachments"][0]["id"].as_i64().unwrap();
    let r = op
        .http
        .get(format!("{}/console/attachments/{photo}", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.bytes().await.unwrap().to_vec(),
        b"\xff\xd8\xffJPEGDATA".to_vec()
    );
    // A customer sharing their own number fills the contact's phone.
    let (_, c) = app
        .api(&token, Method::GET, &format!("/conversations/{id}"), None)
        .await;
    assert_eq!(c["contact"]["phone"], "+79001234567");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_replies_are_split_and_files_are_uploaded_with_their_names() {
    let tg = FakeTelegram::start().await;
    let app = app_with_bot(&tg).await;
    tg.push(FakeTelegram::text_update(CHAT, 1, "Пришлите инструкцию"));
    let token = app.api_token(ADMIN_EMAIL).await;
    let id = tg_conversation(&app, &token).await;
    let long: String = (0..500)
        .map(|i| format!("Шаг {i:04}. "))
        .collect::<String>();
    assert_eq!(long.chars().count(), 5000);
    let op = app.admin().await;
    assert_eq!(op.reply(id, &long, false).await, 303);
    let sent = tg.wait_sent(2).await;
    assert_eq!(sent.len(), 2);
    assert!(sent.iter().all(|m| m.text.chars().count() <= 4096));
    let joined = format!("{} {}", sent[0].text, sent[1].text);
    assert_eq!(joined, format!("Admin:\n{}", long.trim()));

    assert_eq!(
        op.send_file(
            id,
            "",
            "Инструкция.pdf",
            "application/pdf",
            b"%PDF-1.4 guide"
        )
        .await,
        303
    );
    let sent = tg.wait_sent(3).await;
    assert_eq!(sent[2].method, "sendDocument");
    assert_eq!(sent[2].file_name.as_deref(), Some("Инструкция.pdf"));
    assert_eq!(sent[2].file_len, 14);
    // Pictures go as photos.
    assert_eq!(
        op.send_file(id, "", "Схема.png", "image/png", b"\x89PNG\r\n\x1a\nschema")
            .await,
        303
    );
    let sent = tg.wait_sent(4).await;
    assert_eq!(sent[3].method, "sendPhoto");
    assert_eq!(sent[3].file_name.as_deref(), Some("Схема.png"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_who_blocked_the_bot_is_shown_and_not_retried() {
    let tg = FakeTelegram::start().await;
    let app = app_with_bot(&tg).await;
    tg.push(FakeTelegram::text_update(CHAT, 1, "Привет"));
    let token = app.api_token(ADMIN_EMAIL).await;
    let id = tg_conversation(&app, &token).await;
    // Telegram answers 403 when the customer has blocked the bot.
    tg.fail_next_send(403, json!({"ok": false, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}));
    app.api_ok(
        &token,
        Method::POST,
        &format!("/conversations/{id}/messages"),
        Some(json!({"text": "Вы тут?"})),
    )
    .await;
    app.eventually("failure shown", || async {
        app.thread(&token, id).await.iter().any(|m| {
            m["kind"] == "system" && m["text"].as_str().unwrap().contains("bot was blocked")
        })
    })
    .await;
    assert_eq!(
        tg.calls("sendMessage"),
        1,
        "a blocked customer is not retried"
    );
    // Later replies are not even attempted.
    app.api_ok(
        &token,
        Method::POST,
        &format!("/conversations/{id}/messages"),
        Some(json!({"text": "Ещё раз"})),
    )
    .await;
    app.eventually("second reply failed", || async {
        app.thread(&token, id)
            .await
            .iter()
            .filter(|m| m["kind"] == "operator" && m["delivery"] == "failed")
            .count()
            == 2
    })
    .await;
    assert_eq!(tg.calls("sendMessage"), 1);

    // my_chat_member "kicked" tells us before any send fails.
    tg.push(json!({ "my_chat_member": {
        "chat": { "id": CHAT + 1, "type": "private", "first_name": "Олег" },
        "from": { "id": CHAT + 1, "is_bot": false, "first_name": "Олег" }, "date": 1_763_700_000,
        "old_chat_member": { "status": "member", "user": { "id": 123456, "is_bot": true, "first_name": "Bot" } },
        "new_chat_member": { "status": "kicked", "user": { "id": 123456, "is_bot": true, "first_name": "Bot" }, "until_date": 0 }
    }}));
    tg.push(FakeTelegram::text_update(CHAT + 2, 1, "после"));
    app.eventually("later update processed", || async {
        let (_, v) = app
            .api(&token, Method::GET, "/conversations?channel=tg", None)
            .await;
        v["total"] == 2
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_sends_wait_for_retry_after_and_succeed() {
    let tg = FakeTelegram::start().await;
    let app = app_with_bot(&tg).await;
    tg.push(FakeTelegram::text_update(CHAT, 1, "Алло"));
    let token = app.api_token(ADMIN_EMAIL).await;
    let id = tg_conversation(&app, &token).await;
    tg.fail_next_send(429, json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 1", "parameters": {"retry_after": 1}}));
    let started = std::time::Instant::now();
    app.api_ok(
        &token,
        Method::POST,
        &format!("/conversations/{id}/messages"),
        Some(json!({"text": "Ответ"})),
    )
    .await;
    let sent = tg.wait_sent(1).await;
    assert_eq!(sent[0].text, "Admin:\nОтвет");
    assert_eq!(tg.calls("sendMessage"), 2, "one 429, then the retry");
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(1),
        "retry_after was respected"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_mode_registers_checks_the_secret_and_deduplicates() {
    let tg = FakeTelegram::start().await;
    let toml = channel_toml(&tg, "mode = \"webhook\"\n");
    let app = TestApp::spawn_with(|s| {
        std::fs::write(&s.channels_path, &toml).unwrap();
        s.public_url = Some("https://support.example.com".into());
    })
    .await;
    let (url, secret) = tg.webhook().expect("setWebhook was called");
    assert_eq!(url, "https://support.example.com/webhooks/tg");
    assert!(secret.len() >= 32);
    assert_eq!(tg.calls("getUpdates"), 0, "no polling in webhook mode");

    let mut update = FakeTelegram::text_update(CHAT, 5, "Через вебхук");
    update["update_id"] = json!(9001);
    let post = |secret: Option<&str>| {
        let mut r = app
            .http
            .post(format!("{}/webhooks/tg", app.url))
            .json(&update);
        if let Some(s) = secret {
            r = r.header("X-Telegram-Bot-Api-Secret-Token", s.to_string());
        }
        r.send()
    };
    assert_eq!(post(None).await.unwrap().status(), 401);
    assert_eq!(post(Some("forged-secret")).await.unwrap().status(), 401);
    let token = app.api_token(ADMIN_EMAIL).await;
    let (_, v) = app.api(&token, Method::GET, "/conversations", None).await;
    assert_eq!(v["total"], 0, "forged updates store nothing");
    assert_eq!(post(Some(&secret)).await.unwrap().status(), 200);
    assert_eq!(post(Some(&secret)).await.unwrap().status(), 200);
    let id = tg_conversation(&app, &token).await;
    assert_eq!(app.customer_texts(&token, id).await, vec!["Через вебхук"]);
    // An update we cannot read is acknowledged (so Telegram does not retry it forever).
    let r = app
        .http
        .post(format!("{}/webhooks/tg", app.url))
        .header("X-Telegram-Bot-Api-Secret-Token", secret.clone())
        .json(&json!({"update_id": 9002, "future_update": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_poll_offset_survives_a_restart() {
    let tg = FakeTelegram::start().await;
    let mut app = app_with_bot(&tg).await;
    let last = tg.push(FakeTelegram::text_update(CHAT, 1, "До перезапуска"));
    let token = app.api_token(ADMIN_EMAIL).await;
    tg_conversation(&app, &token).await;
    app.eventually("offset saved", || async {
        tg.offsets().contains(&(last + 1))
    })
    .await;
    let polls_before = tg.offsets().len();
    app.restart().await;
    app.eventually("first poll after restart", || async {
        tg.calls("deleteWebhook") >= 2 && tg.offsets().len() > polls_before
    })
    .await;
    // The first poll of the new process confirms nothing twice and skips nothing: it starts
    // where the old one stopped, not from 0.
    let first_after = tg.offsets()[polls_before];
    assert_eq!(first_after, last + 1, "offsets polled: {:?}", tg.offsets());
    // A message written while the server was away arrives once.
    let next = tg.push(FakeTelegram::text_update(CHAT, 2, "После перезапуска"));
    app.eventually("polled past the new update", || async {
        tg.offsets().contains(&(next + 1))
    })
    .await;
    let (_, list) = app
        .api(&token, reqwest::Method::GET, "/conversations", None)
        .await;
    let id = list["data"][0]["id"].as_i64().unwrap();
    let texts: Vec<String> = app
        .thread(&token, id)
        .await
        .iter()
        .filter(|m| m["kind"] == "customer")
        .map(|m| m["text"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(texts, ["До перезапуска", "После перезапуска"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_config_online_names_the_bot_or_says_not_found() {
    let tg = FakeTelegram::start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("channels.toml"), channel_toml(&tg, "")).unwrap();
    let run = |dir: std::path::PathBuf| {
        std::process::Command::new(env!("CARGO_BIN_EXE_perepiska"))
            .current_dir(&dir)
            .args(["check-config", "--online"])
            .output()
            .unwrap()
    };
    let d = dir.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || run(d)).await.unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success() && text.contains("Поддержка (@support_test_bot)"),
        "{text}"
    );
    let wrong = channel_toml(&tg, "").replace(TOKEN, "999:WRONG");
    std::fs::write(dir.path().join("channels.toml"), wrong).unwrap();
    let d = dir.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || run(d)).await.unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        !out.status.success() && text.contains("not found"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_telegram_settings_are_refused_with_the_key_named() {
    for (extra, needle) in [
        ("mode = \"carrier-pigeon\"\n", "mode"),
        ("routing = \"everything\"\n", "routing"),
        ("poll_timeout = 99\n", "poll_timeout"),
    ] {
        let toml =
            format!("[[channels]]\nid = \"tg\"\nkind = \"telegram\"\ntoken = \"{TOKEN}\"\n{extra}");
        let e = perepiska::config::parse_channels(&toml, |_| None)
            .err()
            .unwrap_or_default();
        assert!(e.contains("channel \"tg\"") && e.contains(needle), "{e}");
    }
    let e = perepiska::config::parse_channels(
        "[[channels]]\nid = \"tg\"\nkind = \"telegram\"\ntoken = \"not-a-token\"\n",
        |_| None,
    )
    .err()
    .unwrap_or_default();
    assert!(e.contains("token"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_postgresql_only_one_instance_polls_a_bot() {
    // Several instances exist only on PostgreSQL; the SQLite run has nothing to elect.
    if crate::support::several_instances("only one instance polls").is_none() {
        return;
    }
    let tg = FakeTelegram::start().await;
    let app = app_with_bot(&tg).await;
    app.eventually("the first instance polls", || async {
        tg.calls("getUpdates") >= 1
    })
    .await;
    let second = perepiska::start(app.settings.clone())
        .await
        .expect("second instance");
    let before = tg.calls("getUpdates");
    app.eventually("three more polls", || async {
        tg.calls("getUpdates") >= before + 3
    })
    .await;
    assert_eq!(tg.polling_clients(), 1, "the second instance stands by");
    tg.push(FakeTelegram::text_update(CHAT, 1, "Один раз"));
    let token = app.api_token(ADMIN_EMAIL).await;
    let id = tg_conversation(&app, &token).await;
    assert_eq!(app.customer_texts(&token, id).await, vec!["Один раз"]);
    second.stop().await;
}

/// A database dump alone reveals no channel token: configs are sealed with a key kept outside
/// the database, and a missing or wrong key stops start-up with what to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_tokens_are_sealed_at_rest_with_a_key_kept_outside_the_database() {
    let tg = FakeTelegram::start().await;
    let mut app = app_with_bot(&tg).await;
    tg.push(FakeTelegram::text_update(CHAT, 1, "Токен в базе?"));
    let token = app.api_token(ADMIN_EMAIL).await;
    tg_conversation(&app, &token).await;
    let stored = app
        .store()
        .read(|c| perepiska::store::channels::by_key(c, "tg"))
        .await
        .unwrap()
        .unwrap();
    assert!(!stored.config.contains(TOKEN), "{}", stored.config);
    assert!(perepiska::crypto::SecretKey::is_sealed(&stored.config));
    let data = app.settings.data_dir.clone();
    if app.settings.database_url.is_none() {
        // The SQLite file and its log, byte for byte.
        app.stop().await;
        for f in ["perepiska.db", "perepiska.db-wal"] {
            let bytes = std::fs::read(data.join(f)).unwrap_or_default();
            assert!(
                !bytes.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()),
                "{f} holds the token"
            );
        }
    } else {
        app.stop().await;
    }
    let key_file = data.join(perepiska::crypto::SECRET_KEY_FILE);
    let key = std::fs::read_to_string(&key_file).unwrap();
    // A wrong key: refused, naming the channel and the key.
    let mut wrong = app.settings.clone();
    wrong.secret_key = Some("ab".repeat(32));
    let e = perepiska::start(wrong).await.err().unwrap().to_string();
    assert!(e.contains("\"tg\"") && e.contains("secret key"), "{e}");
    // The key file lost: refused before a new key is made.
    std::fs::remove_file(&key_file).unwrap();
    let e = perepiska::start(app.settings.clone())
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("secret.key"), "{e}");
    assert!(!key_file.exists(), "no new key replaces the lost one");
    // The same key from the environment works as well as the file.
    let mut from_env = app.settings.clone();
    from_env.secret_key = Some(key.clone());
    let running = perepiska::start(from_env)
        .await
        .expect("starts with the key");
    running.stop().await;
    std::fs::write(&key_file, key).unwrap();
    app.restart().await;
    tg.push(FakeTelegram::text_update(CHAT, 2, "После"));
    app.eventually("the bot still receives", || async {
        app.customer_texts(&token, tg_conversation(&app, &token).await)
            .await
            .iter()
            .any(|t| t == "После")
    })
    .await;
}
