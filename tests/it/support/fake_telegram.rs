//! A fake Telegram Bot API on 127.0.0.1 that speaks the real JSON: getMe, getUpdates (long
//! poll over a queue the test fills), setWebhook/deleteWebhook, sendMessage, sendPhoto,
//! sendDocument (multipart), getFile and file download, answerCallbackQuery. Tests script
//! failures (429 with retry_after, 403 blocked, 5xx) for the next sends.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_multipart::Multipart;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::sync::Notify;

pub const TOKEN: &str = "123456:TEST-token_abc";
pub const BOT_ID: i64 = 123456;

#[derive(Clone, Debug)]
pub struct SentMessage {
    pub method: String,
    pub chat_id: i64,
    pub text: String,
    pub file_name: Option<String>,
    pub file_len: usize,
    /// Inline buttons as (label, callback_data).
    pub buttons: Vec<(String, String)>,
    /// A "share phone" reply-keyboard button was shown.
    pub request_phone: bool,
}

#[derive(Default)]
struct State {
    updates: Vec<Value>,
    next_update_id: i64,
    next_message_id: i64,
    sent: Vec<SentMessage>,
    fail_next: VecDeque<(u16, Value)>,
    files: HashMap<String, (String, Vec<u8>)>,
    webhook: Option<(String, String)>,
    offsets: Vec<i64>,
    calls: Vec<String>,
    /// Client ports of getUpdates calls: one polling client keeps one connection.
    poll_peers: Vec<u16>,
}

#[derive(Clone)]
pub struct FakeTelegram {
    pub url: String,
    state: Arc<Mutex<State>>,
    news: Arc<Notify>,
    handle: actix_web::dev::ServerHandle,
}

fn ok(result: Value) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "ok": true, "result": result }))
}

fn err(code: u16, description: &str) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(code).unwrap())
        .json(json!({ "ok": false, "error_code": code, "description": description }))
}

impl FakeTelegram {
    pub async fn start() -> FakeTelegram {
        let state = Arc::new(Mutex::new(State {
            next_update_id: 1000,
            next_message_id: 1,
            ..State::default()
        }));
        let news = Arc::new(Notify::new());
        let (s2, n2) = (state.clone(), news.clone());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new((s2.clone(), n2.clone())))
                .app_data(web::PayloadConfig::new(64 * 1024 * 1024))
                .route("/bot{token}/{method}", web::post().to(method))
                .route("/file/bot{token}/{path:.*}", web::get().to(download))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        FakeTelegram {
            url: format!("http://127.0.0.1:{port}"),
            state,
            news,
            handle,
        }
    }

    pub async fn stop(&self) {
        self.handle.stop(false).await;
    }

    /// Queues a raw update (its update_id is assigned here) and returns that id.
    pub fn push(&self, mut update: Value) -> i64 {
        let mut s = self.state.lock().unwrap();
        let id = s.next_update_id;
        s.next_update_id += 1;
        update["update_id"] = json!(id);
        s.updates.push(update);
        drop(s);
        self.news.notify_waiters();
        id
    }

    /// Queues the same update again, as Telegram does when it redelivers.
    pub fn push_again(&self, update: Value) {
        self.state.lock().unwrap().updates.push(update);
        self.news.notify_waiters();
    }

    pub fn text_update(chat_id: i64, message_id: i64, text: &str) -> Value {
        json!({ "message": {
            "message_id": message_id, "date": 1_763_700_000,
            "chat": { "id": chat_id, "type": "private", "first_name": "Ирина", "last_name": "Ким" },
            "from": { "id": chat_id, "is_bot": false, "first_name": "Ирина", "last_name": "Ким", "language_code": "ru" },
            "text": text
        }})
    }

    pub fn message_update(chat_id: i64, message_id: i64, extra: Value) -> Value {
        let mut m = json!({
            "message_id": message_id, "date": 1_763_700_000,
            "chat": { "id": chat_id, "type": "private", "first_name": "Ирина" },
            "from": { "id": chat_id, "is_bot": false, "first_name": "Ирина" }
        });
        for (k, v) in extra.as_object().unwrap() {
            m[k] = v.clone();
        }
        json!({ "message": m })
    }

    /// A file the bot can fetch with getFile.
    pub fn add_file(&self, file_id: &str, path: &str, bytes: &[u8]) {
        self.state
            .lock()
            .unwrap()
            .files
            .insert(file_id.into(), (path.into(), bytes.to_vec()));
    }

    /// A press on one of the bot's inline buttons.
    pub fn press(chat_id: i64, id: &str, data: &str, language: &str) -> Value {
        json!({ "callback_query": {
            "id": id,
            "from": { "id": chat_id, "is_bot": false, "first_name": "Ирина", "language_code": language },
            "message": { "message_id": 1, "date": 1_763_700_000, "chat": { "id": chat_id, "type": "private" } },
            "chat_instance": "-1", "data": data
        }})
    }

    pub fn fail_next_send(&self, code: u16, body: Value) {
        self.state.lock().unwrap().fail_next.push_back((code, body));
    }

    pub fn sent(&self) -> Vec<SentMessage> {
        self.state.lock().unwrap().sent.clone()
    }

    pub fn calls(&self, method: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .calls
            .iter()
            .filter(|c| *c == method)
            .count()
    }

    pub fn webhook(&self) -> Option<(String, String)> {
        self.state.lock().unwrap().webhook.clone()
    }

    /// How many different client connections have long-polled.
    pub fn polling_clients(&self) -> usize {
        let mut p = self.state.lock().unwrap().poll_peers.clone();
        p.sort_unstable();
        p.dedup();
        p.len()
    }

    pub fn offsets(&self) -> Vec<i64> {
        self.state.lock().unwrap().offsets.clone()
    }

    /// Waits (bounded) until `n` messages have been sent.
    pub async fn wait_sent(&self, n: usize) -> Vec<SentMessage> {
        for _ in 0..300 {
            let sent = self.sent();
            if sent.len() >= n {
                return sent;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!(
            "fake Telegram: expected {n} sent messages, got {:?}",
            self.sent()
        );
    }
}

type Shared = web::Data<(Arc<Mutex<State>>, Arc<Notify>)>;

async fn method(
    req: HttpRequest,
    data: Shared,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> HttpResponse {
    let (token, method) = path.into_inner();
    let (state, news) = (&data.0, &data.1);
    state.lock().unwrap().calls.push(method.clone());
    if token != TOKEN {
        return err(401, "Unauthorized");
    }
    let is_multipart = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/"));
    if is_multipart {
        return upload(req, state, &method, payload).await;
    }
    let bytes = payload.to_bytes().await.unwrap_or_default();
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(json!({}));
    match method.as_str() {
        "getMe" => ok(
            json!({ "id": BOT_ID, "is_bot": true, "first_name": "Поддержка", "username": "support_test_bot" }),
        ),
        "deleteWebhook" => {
            state.lock().unwrap().webhook = None;
            ok(json!(true))
        }
        "setWebhook" => {
            let url = body["url"].as_str().unwrap_or_default().to_string();
            let secret = body["secret_token"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            state.lock().unwrap().webhook = Some((url, secret));
            ok(json!(true))
        }
        "getUpdates" => {
            if state.lock().unwrap().webhook.is_some() {
                return err(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
                );
            }
            let offset = body["offset"].as_i64().unwrap_or(0);
            let timeout = body["timeout"].as_u64().unwrap_or(0).min(2);
            {
                let mut s = state.lock().unwrap();
                s.offsets.push(offset);
                // Telegram forgets an update once getUpdates is called with a higher offset.
                if offset > 0 {
                    s.updates
                        .retain(|u| u["update_id"].as_i64().unwrap_or(0) >= offset);
                }
                let port = req.peer_addr().map(|a| a.port()).unwrap_or(0);
                s.poll_peers.push(port);
            }
            let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
            loop {
                let notified = news.notified();
                let ready: Vec<Value> = state
                    .lock()
                    .unwrap()
                    .updates
                    .iter()
                    .filter(|u| u["update_id"].as_i64().unwrap_or(0) >= offset)
                    .cloned()
                    .collect();
                if !ready.is_empty() {
                    return ok(Value::Array(ready));
                }
                if tokio::time::timeout_at(deadline, notified).await.is_err() {
                    return ok(json!([]));
                }
            }
        }
        "sendMessage" => {
            let chat_id = body["chat_id"].as_i64().unwrap_or(0);
            let text = body["text"].as_str().unwrap_or_default().to_string();
            let markup = &body["reply_markup"];
            let buttons = markup["inline_keyboard"]
                .as_array()
                .map(|rows| {
                    rows.iter()
                        .flat_map(|r| r.as_array().cloned().unwrap_or_default())
                        .map(|b| {
                            (
                                b["text"].as_str().unwrap_or_default().to_string(),
                                b["callback_data"].as_str().unwrap_or_default().to_string(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            let request_phone = markup["keyboard"].as_array().is_some_and(|rows| {
                rows.iter()
                    .flat_map(|r| r.as_array().cloned().unwrap_or_default())
                    .any(|b| b["request_contact"] == json!(true))
            });
            // Recorded whole under one lock: a test reading `sent` never sees a message
            // without its buttons, and concurrent sends never get each other's.
            record(
                state,
                SentMessage {
                    method: "sendMessage".into(),
                    chat_id,
                    text,
                    file_name: None,
                    file_len: 0,
                    buttons,
                    request_phone,
                },
            )
        }
        "getFile" => {
            let id = body["file_id"].as_str().unwrap_or_default().to_string();
            match state.lock().unwrap().files.get(&id) {
                Some((path, bytes)) => ok(
                    json!({ "file_id": id, "file_unique_id": format!("u{id}"), "file_size": bytes.len(), "file_path": path }),
                ),
                None => err(400, "Bad Request: invalid file_id"),
            }
        }
        "answerCallbackQuery" => ok(json!(true)),
        // Recorded as a sent "message" whose text is the action.
        "sendChatAction" => match (body["chat_id"].as_i64(), body["action"].as_str()) {
            (Some(chat_id), Some(action)) => {
                state.lock().unwrap().sent.push(SentMessage {
                    method: "sendChatAction".into(),
                    chat_id,
                    text: action.to_string(),
                    file_name: None,
                    file_len: 0,
                    buttons: Vec::new(),
                    request_phone: false,
                });
                ok(json!(true))
            }
            _ => err(400, "Bad Request: chat_id and action are required"),
        },
        other => err(404, &format!("Not Found: method {other}")),
    }
}

fn record(state: &Arc<Mutex<State>>, sent: SentMessage) -> HttpResponse {
    let mut s = state.lock().unwrap();
    if let Some((code, body)) = s.fail_next.pop_front() {
        return HttpResponse::build(actix_web::http::StatusCode::from_u16(code).unwrap())
            .json(body);
    }
    let id = s.next_message_id;
    s.next_message_id += 1;
    let (chat_id, text) = (sent.chat_id, sent.text.clone());
    s.sent.push(sent);
    ok(
        json!({ "message_id": id, "date": 1_763_700_000, "chat": { "id": chat_id, "type": "private" }, "text": text }),
    )
}

async fn upload(
    req: HttpRequest,
    state: &Arc<Mutex<State>>,
    method: &str,
    payload: web::Payload,
) -> HttpResponse {
    let mut mp = Multipart::new(req.headers(), payload);
    let (mut chat_id, mut caption, mut name, mut len) = (0i64, String::new(), None, 0usize);
    while let Some(Ok(mut field)) = mp.next().await {
        let field_name = field.name().unwrap_or("").to_string();
        let file_name = field
            .content_disposition()
            .and_then(|cd| cd.get_filename().map(str::to_string));
        let mut data = Vec::new();
        while let Some(Ok(chunk)) = field.next().await {
            data.extend_from_slice(&chunk);
        }
        match field_name.as_str() {
            "chat_id" => chat_id = String::from_utf8_lossy(&data).parse().unwrap_or(0),
            "caption" => caption = String::from_utf8_lossy(&data).into_owned(),
            "photo" | "document" => {
                name = file_name;
                len = data.len();
            }
            _ => {}
        }
    }
    record(
        state,
        SentMessage {
            method: method.into(),
            chat_id,
            text: caption,
            file_name: name,
            file_len: len,
            buttons: Vec::new(),
            request_phone: false,
        },
    )
}

async fn download(data: Shared, path: web::Path<(String, String)>) -> HttpResponse {
    let (token, file_path) = path.into_inner();
    if token != TOKEN {
        return err(401, "Unauthorized");
    }
    let s = data.0.lock().unwrap();
    match s.files.values().find(|(p, _)| *p == file_path) {
        Some((_, bytes)) => HttpResponse::Ok().body(bytes.clone()),
        None => HttpResponse::NotFound().finish(),
    }
}
