//! A fake MAX Bot API on 127.0.0.1 speaking the schema's JSON (max-messenger/api-schema):
//! GET /me, /subscriptions (GET, POST, DELETE), GET /updates with a marker (updates before a
//! passed marker are confirmed and forgotten), POST /messages (`user_id` or `chat_id`),
//! POST /uploads and the upload URL it hands out (multipart `data`), POST /answers, and files
//! to download. Errors come as `{"code", "message"}` with the HTTP status; tests script
//! failures for the next sends.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_multipart::Multipart;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::sync::Notify;

pub const TOKEN: &str = "f9LHodD0cOJf4_DkJGeq8BkDgc5vgSwZocVrn44oirfMzUQ4mv5k";
pub const BOT_ID: i64 = 229_229_229;
pub const BOT_USERNAME: &str = "zerno_support_bot";

#[derive(Clone, Debug)]
pub struct SentMessage {
    /// ("user_id" | "chat_id", the id).
    pub to: (String, i64),
    pub text: String,
    /// Callback buttons as (label, payload).
    pub buttons: Vec<(String, String)>,
    pub request_contact: bool,
    /// Attachments other than the keyboard, as (type, token).
    pub files: Vec<(String, String)>,
}

#[derive(Clone, Debug)]
pub struct Uploaded {
    pub kind: String,
    pub name: String,
    pub len: usize,
}

#[derive(Default)]
struct State {
    /// (sequence number, update); the marker answered is the next sequence number.
    updates: Vec<(i64, Value)>,
    next_seq: i64,
    markers: Vec<Option<i64>>,
    sent: Vec<SentMessage>,
    fail_next: VecDeque<(u16, Value)>,
    subscriptions: Vec<(String, String)>,
    uploads: Vec<Uploaded>,
    answers: Vec<String>,
    calls: Vec<String>,
    files: HashMap<String, Vec<u8>>,
    /// A file upload is "not ready" for this many sends that attach it.
    not_ready: u32,
    poll_peers: Vec<u16>,
    /// POST /subscriptions answers 503 this many times.
    subscriptions_down: u32,
}

#[derive(Clone)]
pub struct FakeMax {
    pub url: String,
    state: Arc<Mutex<State>>,
    news: Arc<Notify>,
}

fn error(status: u16, code: &str, message: &str) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
        .json(json!({ "code": code, "message": message }))
}

impl FakeMax {
    pub async fn start() -> FakeMax {
        let state = Arc::new(Mutex::new(State {
            next_seq: 25_493_970,
            ..State::default()
        }));
        let news = Arc::new(Notify::new());
        let (s2, n2) = (state.clone(), news.clone());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let base = format!("http://127.0.0.1:{port}");
        let b2 = base.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new((s2.clone(), n2.clone(), b2.clone())))
                .app_data(web::PayloadConfig::new(64 * 1024 * 1024))
                .route("/upload/{n}", web::post().to(upload))
                .route("/files/{name}", web::get().to(file))
                .default_service(web::to(api))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        FakeMax {
            url: base,
            state,
            news,
        }
    }

    /// Queues an update; it waits until a poll confirms it with a later marker.
    pub fn push(&self, update: Value) {
        let mut s = self.state.lock().unwrap();
        let seq = s.next_seq;
        s.next_seq += 1;
        s.updates.push((seq, update));
        drop(s);
        self.news.notify_waiters();
    }

    /// A customer's message in their dialog with the bot.
    pub fn message(user: i64, mid: &str, text: &str, attachments: Value) -> Value {
        json!({
            "update_type": "message_created", "timestamp": 1_775_053_255_737i64, "user_locale": "ru",
            "message": {
                "recipient": { "chat_id": 182_182_182, "chat_type": "dialog", "user_id": BOT_ID },
                "timestamp": 1_775_053_255_737i64,
                "body": { "mid": mid, "seq": 116_327_994_376_978_687i64, "text": text, "attachments": attachments },
                "sender": { "user_id": user, "first_name": "Ирина", "last_name": "Ким", "is_bot": false,
                            "last_activity_time": 1_775_053_249_000i64, "name": "Ирина Ким" }
            }
        })
    }

    /// A press on one of the bot's callback buttons.
    pub fn press(user: i64, callback_id: &str, payload: &str) -> Value {
        json!({
            "update_type": "message_callback", "timestamp": 1_775_025_604_499i64, "user_locale": "ru",
            "callback": {
                "timestamp": 1_775_026_702_210i64, "callback_id": callback_id, "payload": payload,
                "user": { "user_id": user, "first_name": "Ирина", "last_name": "Ким", "is_bot": false,
                          "last_activity_time": 1_775_026_693_000i64, "name": "Ирина Ким" }
            },
            "message": {
                "recipient": { "chat_id": 182_182_182, "chat_type": "dialog", "user_id": user },
                "timestamp": 1_775_026_671_403i64,
                "body": { "mid": "mid.000000000adf429c", "seq": 1, "text": "…" },
                "sender": { "user_id": BOT_ID, "first_name": "Зерно", "username": BOT_USERNAME, "is_bot": true,
                            "last_activity_time": 1_775_026_702_261i64, "name": "Зерно" }
            }
        })
    }

    pub fn bot_started(user: i64, timestamp: i64, payload: Option<&str>) -> Value {
        json!({
            "update_type": "bot_started", "timestamp": timestamp, "chat_id": 182_182_182, "user_id": user,
            "user_locale": "ru", "payload": payload,
            "user": { "user_id": user, "first_name": "Ирина", "last_name": "Ким", "is_bot": false,
                      "last_activity_time": 1_775_025_580_000i64, "name": "Ирина Ким" }
        })
    }

    pub fn bot_stopped(user: i64) -> Value {
        json!({
            "update_type": "bot_stopped", "timestamp": 1_775_025_604_499i64, "chat_id": 182_182_182, "user_locale": "ru",
            "user": { "user_id": user, "first_name": "Олег", "is_bot": false,
                      "last_activity_time": 1_775_025_580_000i64, "name": "Олег" }
        })
    }

    pub fn add_file(&self, name: &str, bytes: &[u8]) -> String {
        self.state
            .lock()
            .unwrap()
            .files
            .insert(name.into(), bytes.to_vec());
        format!("{}/files/{name}", self.url)
    }

    pub fn add_subscription(&self, url: &str) {
        self.state
            .lock()
            .unwrap()
            .subscriptions
            .push((url.into(), "old-secret".into()));
    }

    pub fn fail_next_send(&self, status: u16, code: &str, message: &str) {
        self.state
            .lock()
            .unwrap()
            .fail_next
            .push_back((status, json!({ "code": code, "message": message })));
    }

    /// MAX is down for the next `n` subscription calls.
    pub fn subscriptions_down(&self, n: u32) {
        self.state.lock().unwrap().subscriptions_down = n;
    }

    /// The next `n` sends that attach an uploaded file answer "attachment.not.ready".
    pub fn files_not_ready(&self, n: u32) {
        self.state.lock().unwrap().not_ready = n;
    }

    pub fn sent(&self) -> Vec<SentMessage> {
        self.state.lock().unwrap().sent.clone()
    }

    pub fn uploads(&self) -> Vec<Uploaded> {
        self.state.lock().unwrap().uploads.clone()
    }

    pub fn answers(&self) -> Vec<String> {
        self.state.lock().unwrap().answers.clone()
    }

    pub fn subscriptions(&self) -> Vec<(String, String)> {
        self.state.lock().unwrap().subscriptions.clone()
    }

    /// Markers passed to GET /updates, in order (None: no marker).
    pub fn markers(&self) -> Vec<Option<i64>> {
        self.state.lock().unwrap().markers.clone()
    }

    /// The marker that confirms every update queued so far.
    pub fn head(&self) -> i64 {
        self.state.lock().unwrap().next_seq
    }

    pub fn calls(&self, call: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .calls
            .iter()
            .filter(|c| *c == call)
            .count()
    }

    pub fn polling_clients(&self) -> usize {
        let mut p = self.state.lock().unwrap().poll_peers.clone();
        p.sort_unstable();
        p.dedup();
        p.len()
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
            "fake MAX: expected {n} sent messages, got {:?}",
            self.sent()
        );
    }
}

type Shared = web::Data<(Arc<Mutex<State>>, Arc<Notify>, String)>;

fn query(req: &HttpRequest) -> HashMap<String, String> {
    serde_urlencoded::from_str(req.query_string()).unwrap_or_default()
}

async fn api(req: HttpRequest, data: Shared, body: web::Bytes) -> HttpResponse {
    let (state, news, base) = (&data.0, &data.1, &data.2);
    let call = format!("{} {}", req.method(), req.path());
    state.lock().unwrap().calls.push(call.clone());
    let auth = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if auth != TOKEN {
        return error(401, "verify.token", "Invalid access_token");
    }
    let q = query(&req);
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    match call.as_str() {
        "GET /me" => HttpResponse::Ok().json(json!({
            "user_id": BOT_ID, "first_name": "Кофейня Зерно", "username": BOT_USERNAME, "is_bot": true,
            "last_activity_time": 1_774_677_196_913i64, "name": "Кофейня Зерно"
        })),
        "GET /subscriptions" => {
            let subs: Vec<Value> = state
                .lock()
                .unwrap()
                .subscriptions
                .iter()
                .map(|(url, _)| json!({ "url": url, "time": 1_775_000_000_000i64, "update_types": [] }))
                .collect();
            HttpResponse::Ok().json(json!({ "subscriptions": subs }))
        }
        "POST /subscriptions" => {
            let url = body["url"].as_str().unwrap_or_default().to_string();
            let secret = body["secret"].as_str().unwrap_or_default().to_string();
            if !url.starts_with("https://") {
                return error(400, "proto.payload", "url must be https");
            }
            let mut s = state.lock().unwrap();
            if s.subscriptions_down > 0 {
                s.subscriptions_down -= 1;
                return error(503, "service.unavailable", "Service temporarily unavailable");
            }
            s.subscriptions.retain(|(u, _)| *u != url);
            s.subscriptions.push((url, secret));
            HttpResponse::Ok().json(json!({ "success": true }))
        }
        "DELETE /subscriptions" => {
            let url = q.get("url").cloned().unwrap_or_default();
            state
                .lock()
                .unwrap()
                .subscriptions
                .retain(|(u, _)| *u != url);
            HttpResponse::Ok().json(json!({ "success": true }))
        }
        "GET /updates" => {
            let marker = q.get("marker").and_then(|m| m.parse::<i64>().ok());
            let timeout = q
                .get("timeout")
                .and_then(|t| t.parse::<u64>().ok())
                .unwrap_or(30)
                .min(2);
            {
                let mut s = state.lock().unwrap();
                if !s.subscriptions.is_empty() {
                    // MAX gives nothing to a poller while a webhook is subscribed.
                    return error(
                        405,
                        "method.not.allowed",
                        "Long polling is not available while a webhook subscription exists",
                    );
                }
                s.markers.push(marker);
                // Passing a marker confirms what came before it.
                if let Some(m) = marker {
                    s.updates.retain(|(seq, _)| *seq >= m);
                }
                let port = req.peer_addr().map(|a| a.port()).unwrap_or(0);
                s.poll_peers.push(port);
            }
            let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
            loop {
                let notified = news.notified();
                let (ready, head): (Vec<(i64, Value)>, i64) = {
                    let s = state.lock().unwrap();
                    (s.updates.clone(), s.next_seq)
                };
                if !ready.is_empty() {
                    let last = ready.last().map(|(seq, _)| *seq).unwrap_or(head);
                    let updates: Vec<Value> = ready.into_iter().map(|(_, u)| u).collect();
                    return HttpResponse::Ok()
                        .json(json!({ "updates": updates, "marker": last + 1 }));
                }
                if tokio::time::timeout_at(deadline, notified).await.is_err() {
                    return HttpResponse::Ok().json(json!({ "updates": [], "marker": head }));
                }
            }
        }
        "POST /uploads" => {
            let kind = q.get("type").cloned().unwrap_or_default();
            if !matches!(kind.as_str(), "image" | "video" | "audio" | "file") {
                return error(400, "proto.payload", "type must be image, video, audio or file");
            }
            let n = state.lock().unwrap().uploads.len();
            HttpResponse::Ok().json(json!({ "url": format!("{base}/upload/{n}?type={kind}") }))
        }
        "POST /messages" => {
            let to = match (q.get("user_id"), q.get("chat_id")) {
                (Some(u), None) => ("user_id".to_string(), u.parse().unwrap_or(0)),
                (None, Some(c)) => ("chat_id".to_string(), c.parse().unwrap_or(0)),
                _ => return error(400, "proto.payload", "user_id or chat_id is required"),
            };
            let text = body["text"].as_str().unwrap_or_default().to_string();
            if text.chars().count() > 4000 {
                return error(400, "proto.payload", "text: size must be between 0 and 4000");
            }
            let mut buttons = Vec::new();
            let mut request_contact = false;
            let mut files = Vec::new();
            for a in body["attachments"].as_array().into_iter().flatten() {
                match a["type"].as_str().unwrap_or_default() {
                    "inline_keyboard" => {
                        for b in a["payload"]["buttons"].as_array().into_iter().flatten().flat_map(|r| r.as_array().cloned().unwrap_or_default()) {
                            match b["type"].as_str().unwrap_or_default() {
                                "callback" => buttons.push((
                                    b["text"].as_str().unwrap_or_default().to_string(),
                                    b["payload"].as_str().unwrap_or_default().to_string(),
                                )),
                                "request_contact" => request_contact = true,
                                _ => {}
                            }
                        }
                    }
                    kind => files.push((
                        kind.to_string(),
                        a["payload"]["token"].as_str().unwrap_or_default().to_string(),
                    )),
                }
            }
            let mut s = state.lock().unwrap();
            if !files.is_empty() && s.not_ready > 0 {
                s.not_ready -= 1;
                return error(400, "attachment.not.ready", "Key: errors.process.attachment.file.not.processed");
            }
            if let Some((status, body)) = s.fail_next.pop_front() {
                return HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
                    .json(body);
            }
            let n = s.sent.len();
            let mut recipient = json!({ "chat_id": 182_182_182, "chat_type": "dialog" });
            recipient[to.0.as_str()] = json!(to.1);
            s.sent.push(SentMessage {
                to,
                text: text.clone(),
                buttons,
                request_contact,
                files,
            });
            HttpResponse::Ok().json(json!({ "message": {
                "recipient": recipient,
                "timestamp": 1_775_053_255_737i64,
                "body": { "mid": format!("mid.sent{n}"), "seq": n, "text": text },
                "sender": { "user_id": BOT_ID, "first_name": "Кофейня Зерно", "is_bot": true, "last_activity_time": 0 }
            }}))
        }
        "POST /answers" => {
            let Some(id) = q.get("callback_id").filter(|i| !i.is_empty()) else {
                return error(400, "proto.payload", "callback_id is required");
            };
            if body["notification"].is_null() && body["message"].is_null() {
                return error(400, "proto.payload", "message or notification is required");
            }
            state.lock().unwrap().answers.push(id.clone());
            HttpResponse::Ok().json(json!({ "success": true }))
        }
        _ => error(404, "not.found", &format!("no such method: {call}")),
    }
}

async fn upload(req: HttpRequest, data: Shared, payload: web::Payload) -> HttpResponse {
    let kind = query(&req).get("type").cloned().unwrap_or_default();
    let mut mp = Multipart::new(req.headers(), payload);
    let mut got = None;
    while let Some(Ok(mut field)) = mp.next().await {
        let name = field.name().unwrap_or("").to_string();
        let file_name = field
            .content_disposition()
            .and_then(|cd| cd.get_filename().map(str::to_string))
            .unwrap_or_default();
        let mut bytes = Vec::new();
        while let Some(Ok(chunk)) = field.next().await {
            bytes.extend_from_slice(&chunk);
        }
        if name == "data" {
            got = Some((file_name, bytes.len()));
        }
    }
    let Some((name, len)) = got else {
        return error(400, "upload.error", "no data field");
    };
    let mut s = data.0.lock().unwrap();
    let n = s.uploads.len();
    s.uploads.push(Uploaded {
        kind: kind.clone(),
        name,
        len,
    });
    if kind == "image" {
        HttpResponse::Ok()
            .json(json!({ "photos": { format!("p{n}"): { "token": format!("img-token-{n}") } } }))
    } else {
        HttpResponse::Ok().json(json!({ "token": format!("file-token-{n}") }))
    }
}

async fn file(data: Shared, name: web::Path<String>) -> HttpResponse {
    match data.0.lock().unwrap().files.get(name.as_str()) {
        Some(bytes) => HttpResponse::Ok().body(bytes.clone()),
        None => HttpResponse::NotFound().finish(),
    }
}
