//! Boots the real server on 127.0.0.1:0 with a temp data dir (and, when TEST_DATABASE_URL is
//! set, a fresh PostgreSQL database), and talks to it over HTTP like a visitor, an operator,
//! a platform or an API client would.

#![allow(dead_code)]

pub mod fake_amocrm;
pub mod fake_bitrix;
pub mod fake_max;
pub mod fake_smtp;
pub mod fake_telegram;
pub mod journey;

use std::sync::Arc;
use std::time::Duration;

use perepiska::config::Settings;
use serde_json::{Value, json};

pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const ADMIN_PASSWORD: &str = "admin-password-1";
pub const METRICS_TOKEN: &str = "metrics-token-for-tests";

pub struct TestApp {
    pub url: String,
    pub settings: Settings,
    pub dir: Arc<tempfile::TempDir>,
    pub pg: Option<PgDb>,
    running: Option<perepiska::Running>,
    pub http: reqwest::Client,
}

/// A throw-away PostgreSQL database, dropped with the test.
pub struct PgDb {
    admin_url: String,
    name: String,
    pub url: String,
}

impl Drop for PgDb {
    fn drop(&mut self) {
        use diesel::Connection;
        use diesel::connection::SimpleConnection;
        if let Ok(mut c) = diesel::PgConnection::establish(&self.admin_url) {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// The Redis URL for tests of several instances on one PostgreSQL, or None where this run has
/// no PostgreSQL by design: ./scripts/test runs the suite on SQLite with
/// PEREPISKA_TEST_SERVICES=none, then on PostgreSQL + Redis with `postgres,redis`. A run that
/// promised the services (or any run in CI) fails here when they are missing, instead of
/// passing without having tested anything.
pub fn several_instances(test: &str) -> Option<String> {
    let pg = std::env::var("TEST_DATABASE_URL").unwrap_or_default();
    let redis = std::env::var("TEST_REDIS_URL").unwrap_or_default();
    if !pg.is_empty() && !redis.is_empty() {
        return Some(redis);
    }
    let declared = std::env::var("PEREPISKA_TEST_SERVICES").unwrap_or_default();
    if declared == "none" {
        eprintln!("{test}: runs in the PostgreSQL + Redis pass");
        return None;
    }
    if !declared.is_empty() || std::env::var("CI").is_ok_and(|v| !v.is_empty()) {
        panic!(
            "{test} needs TEST_DATABASE_URL and TEST_REDIS_URL (PEREPISKA_TEST_SERVICES={declared:?}); ./scripts/test starts both"
        );
    }
    eprintln!(
        "{test}: skipped, no TEST_DATABASE_URL and TEST_REDIS_URL (./scripts/test starts both)"
    );
    None
}

fn fresh_pg() -> Option<PgDb> {
    use diesel::Connection;
    use diesel::connection::SimpleConnection;
    let mut admin_url = std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())?;
    // Tests talk to 127.0.0.1: without TLS, no connection closing in a pool's thread can race
    // OpenSSL's clean-up at process exit (seen once as a "double free" after all tests passed).
    if !admin_url.contains("sslmode=") {
        admin_url.push_str(if admin_url.contains('?') {
            "&sslmode=disable"
        } else {
            "?sslmode=disable"
        });
    }
    let name = format!(
        "perepiska_test_{}",
        perepiska::crypto::random_hex(6).unwrap_or_default()
    );
    let mut c = diesel::PgConnection::establish(&admin_url)
        .unwrap_or_else(|e| panic!("TEST_DATABASE_URL is set but PostgreSQL is unreachable: {e}"));
    c.batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap_or_else(|e| panic!("cannot create test database: {e}"));
    let (without_query, query) = admin_url.split_once('?').unwrap_or((&admin_url, ""));
    let base = without_query
        .rsplit_once('/')
        .map(|(b, _)| b.to_string())
        .unwrap_or(without_query.to_string());
    Some(PgDb {
        url: format!("{base}/{name}?{query}"),
        admin_url,
        name,
    })
}

/// A client for the server under test. It forgets idle connections after 2 s, before the
/// server's 5 s keep-alive closes them: reusing a connection the server is closing at that
/// moment fails the request ("error sending request") under load.
pub fn builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder().pool_idle_timeout(Duration::from_secs(2))
}

pub fn client() -> reqwest::Client {
    builder()
        .timeout(Duration::from_secs(20))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// `tweak` may change settings, e.g. write a channels.toml into the data dir first.
    pub async fn spawn_with(tweak: impl FnOnce(&mut Settings)) -> TestApp {
        let dir = Arc::new(tempfile::tempdir().expect("tempdir"));
        let pg = fresh_pg();
        let mut settings = Settings {
            bind: "127.0.0.1:0".into(),
            data_dir: dir.path().join("data"),
            database_url: pg.as_ref().map(|p| p.url.clone()),
            channels_path: dir.path().join("channels.toml"),
            admin_email: Some(ADMIN_EMAIL.into()),
            admin_password: Some(ADMIN_PASSWORD.into()),
            outbox_backoff: Duration::from_millis(50),
            outbox_max_attempts: 5,
            workers: 2,
            // The fake platforms live on 127.0.0.1.
            allow_private_targets: true,
            metrics_token: Some(METRICS_TOKEN.into()),
            ..Settings::default()
        };
        tweak(&mut settings);
        let running = perepiska::start(settings.clone())
            .await
            .expect("server starts");
        TestApp {
            url: running.url.clone(),
            settings,
            dir,
            pg,
            running: Some(running),
            http: client(),
        }
    }

    pub fn write_channels(dir: &std::path::Path, toml: &str) {
        std::fs::write(dir.join("channels.toml"), toml).expect("write channels.toml");
    }

    /// Stops the server and starts it again on the same data (new port).
    pub async fn restart(&mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
        let running = perepiska::start(self.settings.clone())
            .await
            .expect("server restarts");
        self.url = running.url.clone();
        self.running = Some(running);
    }

    pub async fn stop(&mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
    }

    /// A store on the same database, for setting up what has no HTTP endpoint yet.
    pub fn store(&self) -> perepiska::store::Store {
        perepiska::bootstrap::open_store(&self.settings).expect("store")
    }

    /// /metrics as a Prometheus scraper with the token sees it.
    pub async fn metrics(&self) -> String {
        self.http
            .get(format!("{}/metrics", self.url))
            .bearer_auth(METRICS_TOKEN)
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("metrics body")
    }

    /// One figure from /metrics (labels included in `name`, e.g. `x{channel="vk"}`).
    pub async fn metric(&self, name: &str) -> f64 {
        let text = self.metrics().await;
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
            .unwrap_or(0.0)
    }

    /// Waits until every queued delivery has been attempted to the end (sent, or given up):
    /// after this, nothing more goes to a platform unless something new is queued.
    pub async fn outbox_drained(&self) {
        self.eventually("the outbox is empty", || async {
            self.metric("perepiska_outbox_depth").await == 0.0
        })
        .await;
    }

    /// Waits until the scheduler has made two whole passes from now (so one started after
    /// the caller's last change, e.g. moving the clock) and what they queued is delivered.
    pub async fn settle(&self) {
        let from = self.metric("perepiska_scheduler_passes_total").await;
        self.eventually("two scheduler passes", || async {
            self.metric("perepiska_scheduler_passes_total").await >= from + 2.0
        })
        .await;
        self.outbox_drained().await;
    }

    /// A member of the default project with this role.
    pub async fn add_member(
        &self,
        email: &str,
        name: &str,
        password: &str,
        role: perepiska::domain::Role,
    ) {
        let (email, name, password) = (email.to_string(), name.to_string(), password.to_string());
        self.store()
            .write(move |c| {
                perepiska::bootstrap::create_user(
                    c,
                    &email,
                    &name,
                    &password,
                    perepiska::domain::Access::of(&[role]),
                    perepiska::domain::ProjectId(1),
                )
                .map(|_| ())
            })
            .await
            .expect("member created");
    }

    /// The id of the user with this address.
    pub async fn user_id(&self, email: &str) -> i64 {
        let email = email.to_string();
        self.store()
            .read(move |c| perepiska::store::users::by_email(c, &email))
            .await
            .expect("read")
            .expect("such a user")
            .id
    }

    /// An operator (op@example.com) and their API token: for what operators may not do.
    pub async fn operator_token(&self) -> String {
        self.add_member(
            "op@example.com",
            "Оператор",
            "password-3333",
            perepiska::domain::Role::Operator,
        )
        .await;
        self.api_token("op@example.com").await
    }

    pub async fn api_token(&self, email: &str) -> String {
        let email = email.to_string();
        self.store()
            .write(move |c| perepiska::bootstrap::create_token(c, &email, None))
            .await
            .expect("token")
    }

    pub async fn widget_send(
        &self,
        visitor: &str,
        client_id: &str,
        text: &str,
    ) -> reqwest::Response {
        self.http
            .post(format!("{}/widget/web/messages", self.url))
            .json(&json!({ "visitor": visitor, "client_id": client_id, "text": text }))
            .send()
            .await
            .expect("widget post")
    }

    pub async fn widget_messages(&self, visitor: &str) -> Vec<Value> {
        let v: Value = self
            .http
            .get(format!(
                "{}/widget/web/messages?visitor={visitor}",
                self.url
            ))
            .send()
            .await
            .expect("history")
            .json()
            .await
            .expect("json");
        v["messages"].as_array().cloned().unwrap_or_default()
    }

    /// The status of one sign-in attempt through the login form (303 when it worked).
    pub async fn sign_in_status(&self, email: &str, password: &str) -> u16 {
        let c = builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let page = c
            .get(format!("{}/login", self.url))
            .send()
            .await
            .expect("login page")
            .text()
            .await
            .expect("body");
        let csrf = attr(&page, "name=\"csrf\" value=\"").expect("login csrf");
        c.post(format!("{}/login", self.url))
            .form(&[("email", email), ("password", password), ("csrf", &csrf)])
            .send()
            .await
            .expect("login")
            .status()
            .as_u16()
    }

    pub async fn login(&self, email: &str, password: &str) -> Operator {
        let c = builder()
            .cookie_store(true)
            .timeout(Duration::from_secs(20))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let page = c
            .get(format!("{}/login", self.url))
            .send()
            .await
            .expect("login page")
            .text()
            .await
            .expect("body");
        let csrf = attr(&page, "name=\"csrf\" value=\"").expect("login csrf");
        let r = c
            .post(format!("{}/login", self.url))
            .form(&[("email", email), ("password", password), ("csrf", &csrf)])
            .send()
            .await
            .expect("login");
        assert_eq!(r.status(), 303, "login as {email} should succeed");
        // The profile is everyone's, whatever their access levels.
        let profile = c
            .get(format!("{}/console/profile", self.url))
            .send()
            .await
            .expect("profile")
            .text()
            .await
            .expect("body");
        let csrf = attr(&profile, "name=\"csrf\" value=\"").expect("session csrf");
        Operator {
            http: c,
            url: self.url.clone(),
            csrf,
        }
    }

    pub async fn admin(&self) -> Operator {
        self.login(ADMIN_EMAIL, ADMIN_PASSWORD).await
    }

    #[must_use = "check the answer: a refused call would pass unnoticed"]
    pub async fn api(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut r = self
            .http
            .request(method, format!("{}/api/v1{path}", self.url))
            .bearer_auth(token);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await.expect("api call");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// An API call the scenario needs to succeed; a refusal stops the test there, not later.
    pub async fn api_ok(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        let what = format!("{method} {path}");
        let (status, v) = self.api(token, method, path, body).await;
        assert!(
            (200..300).contains(&status),
            "{what} answered {status}: {v}"
        );
        v
    }

    /// A conversation's messages through the REST API, oldest first.
    pub async fn thread(&self, token: &str, conversation_id: i64) -> Vec<Value> {
        let (status, v) = self
            .api(
                token,
                reqwest::Method::GET,
                &format!("/conversations/{conversation_id}/messages"),
                None,
            )
            .await;
        assert_eq!(
            status, 200,
            "messages of conversation {conversation_id}: {v}"
        );
        v["data"].as_array().cloned().unwrap_or_default()
    }

    /// The texts of a conversation's customer messages, in order.
    /// The thread once no attachment is still being fetched from its platform.
    pub async fn thread_with_files(&self, token: &str, conversation_id: i64) -> Vec<Value> {
        self.eventually("the files are fetched", || async {
            !self
                .thread(token, conversation_id)
                .await
                .iter()
                .flat_map(|m| m["attachments"].as_array().cloned().unwrap_or_default())
                .any(|a| a["state"] == "pending")
        })
        .await;
        self.thread(token, conversation_id).await
    }

    pub async fn customer_texts(&self, token: &str, conversation_id: i64) -> Vec<String> {
        self.thread(token, conversation_id)
            .await
            .iter()
            .filter(|m| m["kind"] == "customer")
            .map(|m| m["text"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// Waits (bounded) until `check` holds, polling every 20 ms.
    /// Waits until a failed delivery of integration `key` is recorded: one waits for a later
    /// try on the clock. (The receiver sees the call before the server has written down its
    /// answer; moving the clock in between would measure the wait from the wrong moment.)
    pub async fn failure_recorded(&self, token: &str, key: &str, clock: &perepiska::clock::Clock) {
        self.eventually("the failure is recorded", || async {
            let (_, log) = self
                .api(
                    token,
                    reqwest::Method::GET,
                    &format!("/integrations/{key}/deliveries"),
                    None,
                )
                .await;
            let now = clock.now().and_utc();
            log["data"].as_array().into_iter().flatten().any(|d| {
                d["next_attempt_at"]
                    .as_str()
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                    .is_some_and(|t| t > now)
            })
        })
        .await;
    }

    pub async fn eventually<F, Fut>(&self, what: &str, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        for _ in 0..250 {
            if check().await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("timed out waiting for: {what}");
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stop background tasks before the database goes away.
        if let Some(r) = self.running.take() {
            drop(r);
        }
    }
}

pub struct Operator {
    pub http: reqwest::Client,
    pub url: String,
    pub csrf: String,
}

impl Operator {
    #[must_use = "check the answer: a refused call would pass unnoticed"]
    pub async fn get(&self, path: &str) -> (u16, String) {
        let r = self
            .http
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .expect("get");
        (r.status().as_u16(), r.text().await.unwrap_or_default())
    }

    #[must_use = "check the answer: a refused call would pass unnoticed"]
    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> (u16, String) {
        let r = self
            .http
            .post(format!("{}{path}", self.url))
            .form(form)
            .send()
            .await
            .expect("post");
        (r.status().as_u16(), r.text().await.unwrap_or_default())
    }

    #[must_use = "check the answer: a refused call would pass unnoticed"]
    pub async fn reply(&self, conversation_id: i64, text: &str, private: bool) -> u16 {
        let mut form = reqwest::multipart::Form::new()
            .text("csrf", self.csrf.clone())
            .text("text", text.to_string());
        if private {
            form = form.text("private", "1");
        }
        self.http
            .post(format!(
                "{}/console/c/{conversation_id}/reply?csrf={}",
                self.url, self.csrf
            ))
            .multipart(form)
            .send()
            .await
            .expect("reply")
            .status()
            .as_u16()
    }

    /// Sends a file (with optional text) from the console's reply form.
    #[must_use = "check the answer: a refused call would pass unnoticed"]
    pub async fn send_file(
        &self,
        conversation_id: i64,
        text: &str,
        name: &str,
        mime: &str,
        bytes: &[u8],
    ) -> u16 {
        let part = reqwest::multipart::Part::bytes(bytes.to_vec())
            .file_name(name.to_string())
            .mime_str(mime)
            .expect("mime");
        let form = reqwest::multipart::Form::new()
            .text("csrf", self.csrf.clone())
            .text("text", text.to_string())
            .part("file", part);
        self.http
            .post(format!(
                "{}/console/c/{conversation_id}/reply?csrf={}",
                self.url, self.csrf
            ))
            .multipart(form)
            .send()
            .await
            .expect("reply with file")
            .status()
            .as_u16()
    }

    #[must_use = "check the answer: a refused call would pass unnoticed"]
    pub async fn update(&self, conversation_id: i64, fields: &[(&str, &str)]) -> (u16, String) {
        let mut form: Vec<(&str, &str)> = vec![("csrf", &self.csrf)];
        form.extend_from_slice(fields);
        self.post_form(&format!("/console/c/{conversation_id}/update"), &form)
            .await
    }
}

/// The value after `prefix` up to the next quote.
pub fn attr(html: &str, prefix: &str) -> Option<String> {
    let start = html.find(prefix)? + prefix.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_string())
}

/// Reads an SSE response until `pred` matches an event's data, bounded by `timeout`.
pub async fn next_event(
    resp: &mut reqwest::Response,
    timeout: Duration,
    pred: impl Fn(&Value) -> bool,
) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut buf = String::new();
    loop {
        let chunk = tokio::time::timeout_at(deadline, resp.chunk())
            .await
            .ok()?
            .ok()??;
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let frame: String = buf.drain(..end + 2).collect();
            for line in frame.lines() {
                if let Some(data) = line.strip_prefix("data: ")
                    && let Ok(v) = serde_json::from_str::<Value>(data)
                    && pred(&v)
                {
                    return Some(v);
                }
            }
        }
    }
}
