//! What an attacker or a careless client tries from outside: sign-in floods and guessing,
//! hostile headers and bodies. Each test asserts what they would see.

use std::net::IpAddr;
use std::time::Duration;

use serde_json::json;

use crate::support::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp, attr};

/// A browser-like client whose connections come from `ip` (any 127.x address reaches the
/// server), holding the login page's CSRF pair.
async fn visitor_from(app: &TestApp, ip: &str) -> (reqwest::Client, String) {
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .local_address(ip.parse::<IpAddr>().unwrap())
        .timeout(Duration::from_secs(30))
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
    let csrf = attr(&page, "name=\"csrf\" value=\"").unwrap();
    (c, csrf)
}

async fn sign_in(app: &TestApp, v: &(reqwest::Client, String), email: &str, pw: &str) -> u16 {
    v.0.post(format!("{}/login", app.url))
        .form(&[("email", email), ("password", pw), ("csrf", v.1.as_str())])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_guesses_cannot_race_past_the_limit() {
    let app = TestApp::spawn().await;
    let v = visitor_from(&app, "127.0.0.1").await;
    let tries = (0..40).map(|_| sign_in(&app, &v, ADMIN_EMAIL, "guess"));
    let statuses = futures_util::future::join_all(tries).await;
    let evaluated = statuses.iter().filter(|s| **s == 401).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(evaluated + refused, 40, "{statuses:?}");
    assert!(
        evaluated <= 10,
        "at most 10 passwords checked, got {evaluated}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_guessing_cannot_lock_the_owner_out() {
    let app = TestApp::spawn().await;
    let stranger = visitor_from(&app, "127.0.0.2").await;
    for _ in 0..10 {
        assert_eq!(sign_in(&app, &stranger, ADMIN_EMAIL, "guess").await, 401);
    }
    // The stranger is stopped, even with the right password…
    assert_eq!(
        sign_in(&app, &stranger, ADMIN_EMAIL, ADMIN_PASSWORD).await,
        429
    );
    // …while the owner, from their own address, signs in.
    let owner = visitor_from(&app, "127.0.0.1").await;
    assert_eq!(
        sign_in(&app, &owner, ADMIN_EMAIL, ADMIN_PASSWORD).await,
        303
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spraying_one_password_over_many_accounts_is_stopped() {
    let app = TestApp::spawn().await;
    let sprayer = visitor_from(&app, "127.0.0.3").await;
    for i in 0..50 {
        let email = format!("user{i}@example.com");
        assert_eq!(sign_in(&app, &sprayer, &email, "Summer2026!").await, 401);
    }
    assert_eq!(
        sign_in(&app, &sprayer, "another@example.com", "Summer2026!").await,
        429
    );
    // Another address is not affected.
    let other = visitor_from(&app, "127.0.0.4").await;
    assert_eq!(
        sign_in(&app, &other, ADMIN_EMAIL, ADMIN_PASSWORD).await,
        303
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_sign_in_form_is_refused_before_anything_is_done() {
    let app = TestApp::spawn().await;
    let v = visitor_from(&app, "127.0.0.1").await;
    let email = format!("{}@example.com", "a".repeat(100_000));
    assert_eq!(sign_in(&app, &v, &email, "x").await, 413);
    // Nothing was counted for it: the owner still has all ten tries.
    for _ in 0..9 {
        assert_eq!(sign_in(&app, &v, ADMIN_EMAIL, "guess").await, 401);
    }
    assert_eq!(sign_in(&app, &v, ADMIN_EMAIL, ADMIN_PASSWORD).await, 303);
}

fn set_cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap_or_default().to_string())
        .filter(|v| !v.is_empty())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_replaces_the_session_it_was_given() {
    let app = TestApp::spawn().await;
    let c = &app.http;
    let page = c.get(format!("{}/login", app.url)).send().await.unwrap();
    let login_csrf = set_cookie(&page, "perepiska_login_csrf").unwrap();
    let csrf = attr(&page.text().await.unwrap(), "name=\"csrf\" value=\"").unwrap();
    let sign_in = |session: Option<String>| {
        let mut cookies = format!("perepiska_login_csrf={login_csrf}");
        if let Some(s) = session {
            cookies.push_str(&format!("; perepiska_session={s}"));
        }
        c.post(format!("{}/login", app.url))
            .header("Cookie", cookies)
            .form(&[
                ("email", ADMIN_EMAIL),
                ("password", ADMIN_PASSWORD),
                ("csrf", csrf.as_str()),
            ])
            .send()
    };
    let first = set_cookie(&sign_in(None).await.unwrap(), "perepiska_session").unwrap();
    let second = set_cookie(
        &sign_in(Some(first.clone())).await.unwrap(),
        "perepiska_session",
    )
    .unwrap();
    assert_ne!(first, second);
    let console = |s: String| {
        c.get(format!("{}/console", app.url))
            .header("Cookie", format!("perepiska_session={s}"))
            .send()
    };
    assert_eq!(console(second).await.unwrap().status(), 200);
    let old = console(first).await.unwrap();
    assert_eq!(
        old.status(),
        303,
        "the session brought to the sign-in is over"
    );
}

/// The server as its own process, so its memory can be read alone.
struct Process {
    child: std::process::Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve() -> Process {
    serve_in(tempfile::tempdir().unwrap())
}

fn serve_in(dir: tempfile::TempDir) -> Process {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_perepiska"))
        .current_dir(dir.path())
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .env("PEREPISKA_DATA_DIR", dir.path().join("data"))
        .env("PEREPISKA_ADMIN_EMAIL", ADMIN_EMAIL)
        .env("PEREPISKA_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("RUST_LOG", "warn")
        // The load tests here write faster than any person: no widget rate limits.
        .env("PEREPISKA_RATE_PER_VISITOR", "0")
        .env("PEREPISKA_RATE_PER_ADDRESS", "0")
        .args(["serve", "--bind", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let mut lines = std::io::BufReader::new(out).lines();
    let mut url = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(u) = line.strip_prefix("perepiska is listening on ") {
            url = u.trim().to_string();
            break;
        }
    }
    // Keep reading: a server whose stdout is closed fails on its next line.
    std::thread::spawn(move || lines.for_each(drop));
    assert!(!url.is_empty(), "the server printed its address");
    Process {
        child,
        url,
        _dir: dir,
    }
}

/// Peak resident memory of a process, in MiB.
fn peak_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap()
        / 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_anonymous_sign_ins_does_not_eat_memory() {
    let server = serve();
    let app_url = server.url.clone();
    let c = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    // The attacker makes up the CSRF pair; every e-mail is new, so no throttle stops them and
    // every request asks for a password check (~19 MiB each while it runs).
    let tries = (0..48).map(|i| {
        c.post(format!("{app_url}/login"))
            .header("Cookie", "perepiska_login_csrf=made-up")
            .form(&[
                ("email", format!("nobody{i}@example.com")),
                ("password", "x".into()),
                ("csrf", "made-up".into()),
            ])
            .send()
    });
    let answers = futures_util::future::join_all(tries).await;
    assert!(
        answers
            .iter()
            .all(|r| r.as_ref().is_ok_and(|r| r.status() == 401)),
        "each attempt is answered"
    );
    let peak = peak_mib(server.child.id());
    assert!(
        peak < 200,
        "48 concurrent sign-ins peaked at {peak} MiB (unbounded: ~1 GiB)"
    );
}

fn files_on_disk(app: &TestApp) -> usize {
    let root = app.settings.data_dir.join("attachments");
    std::fs::read_dir(root)
        .map(|dirs| {
            dirs.map(|d| std::fs::read_dir(d.unwrap().path()).unwrap().count())
                .sum()
        })
        .unwrap_or(0)
}

const VISITOR: &str = "visitor-token-0000000077";

async fn widget_file(app: &TestApp, client_id: &str, bytes: &[u8]) -> u16 {
    app.http
        .post(format!(
            "{}/widget/web/files?visitor={VISITOR}&client_id={client_id}&name=scan.png",
            app.url
        ))
        .header("Content-Type", "image/png")
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_or_repeated_uploads_leave_no_files_behind() {
    let app = TestApp::spawn().await;
    let png = b"\x89PNG\r\n\x1a\nscan";
    assert_eq!(widget_file(&app, "bad id with spaces", png).await, 400);
    assert_eq!(files_on_disk(&app), 0, "a refused upload writes nothing");
    // The widget retries an upload it got no answer for: one message, one file.
    assert_eq!(widget_file(&app, "f1", png).await, 200);
    assert_eq!(widget_file(&app, "f1", png).await, 200);
    assert_eq!(files_on_disk(&app), 1);
    // A console reply to a conversation that does not exist keeps nothing either.
    let op = app.admin().await;
    assert_eq!(
        op.send_file(999_999, "", "menu.pdf", "application/pdf", b"%PDF-1.4")
            .await,
        404
    );
    assert_eq!(files_on_disk(&app), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_form_is_bounded_and_its_token_checked_first() {
    let app = TestApp::spawn().await;
    let r = app.widget_send(VISITOR, "m1", "Здравствуйте").await;
    let id = r.json::<serde_json::Value>().await.unwrap()["conversation_id"]
        .as_i64()
        .unwrap();
    let op = app.admin().await;
    let mut form = reqwest::multipart::Form::new().text("text", "много файлов");
    for i in 0..11 {
        form = form.part(
            "file",
            reqwest::multipart::Part::bytes(b"%PDF-1.4".to_vec()).file_name(format!("{i}.pdf")),
        );
    }
    let r = op
        .http
        .post(format!("{}/console/c/{id}/reply?csrf={}", app.url, op.csrf))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("10"));
    assert_eq!(files_on_disk(&app), 0);
    // The token in the body alone no longer counts: it must be in the form's URL.
    let form = reqwest::multipart::Form::new()
        .text("csrf", op.csrf.clone())
        .text("text", "без токена в адресе");
    let r = op
        .http
        .post(format!("{}/console/c/{id}/reply", app.url))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_carry_security_headers_and_get_changes_nothing() {
    let app = TestApp::spawn().await;
    let r = app.widget_send(VISITOR, "m1", "Есть кто?").await;
    let id = r.json::<serde_json::Value>().await.unwrap()["conversation_id"]
        .as_i64()
        .unwrap();
    let op = app.admin().await;
    for path in ["/login", "/console", "/demo"] {
        let r = op
            .http
            .get(format!("{}{path}", app.url))
            .send()
            .await
            .unwrap();
        let h = r.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            !csp.split(';')
                .any(|d| d.trim().starts_with("script-src") && d.contains("unsafe")),
            "{path}: {csp}"
        );
        // /demo is the widget settings page's preview: framed by our own pages only.
        let (ancestors, frame) = match path {
            "/demo" => ("frame-ancestors 'self'", "SAMEORIGIN"),
            _ => ("frame-ancestors 'none'", "DENY"),
        };
        assert!(csp.contains(ancestors), "{path}: {csp}");
        assert_eq!(h["x-frame-options"], frame, "{path}");
        assert_eq!(h["referrer-policy"], "same-origin");
        assert_eq!(h["x-content-type-options"], "nosniff");
    }
    // A link followed from anywhere (a GET) leaves the conversation unread…
    let (s, _) = op.get(&format!("/console?c={id}")).await;
    assert_eq!(s, 200);
    let (_, _) = op.get(&format!("/console/partials/thread/{id}")).await;
    let token = app.api_token(ADMIN_EMAIL).await;
    assert!(unread(&app, &token, id).await);
    // …the console's own POST reads it.
    let (s, _) = op
        .post_form(&format!("/console/c/{id}/read"), &[("csrf", &op.csrf)])
        .await;
    assert_eq!(s, 204);
    assert!(!unread(&app, &token, id).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachments_are_not_cached_and_metrics_need_their_token() {
    let app = TestApp::spawn().await;
    assert_eq!(widget_file(&app, "f1", b"\x89PNG\r\n\x1a\nscan").await, 200);
    let token = app.api_token(ADMIN_EMAIL).await;
    let (_, list) = app
        .api(&token, reqwest::Method::GET, "/conversations", None)
        .await;
    let id = list["data"][0]["id"].as_i64().unwrap();
    let thread = app.thread(&token, id).await;
    let file = thread
        .iter()
        .find_map(|m| m["attachments"][0]["id"].as_i64())
        .unwrap();
    let op = app.admin().await;
    let r = op
        .http
        .get(format!("{}/console/attachments/{file}", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "private, no-store");

    let metrics = |bearer: Option<&'static str>| {
        let mut r = app.http.get(format!("{}/metrics", app.url));
        if let Some(b) = bearer {
            r = r.bearer_auth(b);
        }
        r.send()
    };
    let r = metrics(None).await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.json::<serde_json::Value>().await.unwrap()["error"]["message"].is_string());
    assert_eq!(metrics(Some("guess")).await.unwrap().status(), 401);
    assert!(app.metrics().await.contains("perepiska_outbox_depth"));
    let off = TestApp::spawn_with(|s| s.metrics_token = None).await;
    let r = off
        .http
        .get(format!("{}/metrics", off.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_take_post_and_api_query_errors_are_json() {
    let app = TestApp::spawn().await;
    for m in [
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
        reqwest::Method::PATCH,
    ] {
        let r = app
            .http
            .request(m.clone(), format!("{}/webhooks/anything", app.url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 405, "{m}");
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], "method_not_allowed");
    }
    // A webhook body is a platform event, not an upload.
    let r = app
        .http
        .post(format!("{}/webhooks/anything", app.url))
        .body(vec![b' '; 3 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let token = app.api_token(ADMIN_EMAIL).await;
    let r = app
        .http
        .get(format!("{}/api/v1/conversations?limit=200", app.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let v: serde_json::Value = r.json().await.unwrap();
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("unknown parameter") && msg.contains("limit"),
        "{msg}"
    );
    let r = app
        .http
        .get(format!("{}/api/v1/conversations?page=first", app.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: serde_json::Value = r.json().await.unwrap();
    assert!(
        v["error"]["message"].as_str().unwrap().contains("page"),
        "{v}"
    );
}

async fn unread(app: &TestApp, token: &str, id: i64) -> bool {
    let (_, c) = app
        .api(
            token,
            reqwest::Method::GET,
            &format!("/conversations/{id}"),
            None,
        )
        .await;
    c["unread"].as_bool().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_requests_in_flight_ends_streams_and_exits_quickly() {
    let mut server = serve();
    let url = server.url.clone();
    let c = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let visitor = "visitor-token-0000000099";
    // A visitor who has written holds a live stream open, as a browser tab would.
    let first = c
        .post(format!("{url}/widget/web/messages"))
        .json(&serde_json::json!({"visitor": visitor, "client_id": "m0", "text": "Первое"}))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    let mut live = c
        .get(format!("{url}/widget/web/live?visitor={visitor}"))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200);
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let sender = {
        let (c, url, count) = (c.clone(), url.clone(), count.clone());
        tokio::spawn(async move {
            let mut acked = Vec::new();
            for i in 1..400 {
                let r = c
                    .post(format!("{url}/widget/web/messages"))
                    .json(&serde_json::json!({"visitor": visitor, "client_id": format!("m{i}"), "text": format!("Сообщение {i}")}))
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status() == 200 => {
                        acked.push(format!("Сообщение {i}"));
                        count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                    _ => break,
                }
            }
            acked
        })
    };
    // Signal while messages are arriving.
    let waiting = std::time::Instant::now();
    while count.load(std::sync::atomic::Ordering::SeqCst) < 20 {
        assert!(
            waiting.elapsed() < Duration::from_secs(20),
            "messages are being acknowledged"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let pid = server.child.id().to_string();
    let signalled = std::time::Instant::now();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    // The live stream ends instead of holding the shutdown up.
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while let Ok(Some(_)) = live.chunk().await {}
    })
    .await;
    assert!(ended.is_ok(), "the live stream was closed");
    let status = loop {
        if let Some(s) = server.child.try_wait().unwrap() {
            break s;
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(10),
            "exited within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "a clean exit: {status}");
    let acked = sender.await.unwrap();
    assert!(!acked.is_empty());
    // Every acknowledged message is there after a restart.
    let dir = std::mem::replace(&mut server._dir, tempfile::tempdir().unwrap());
    drop(server);
    let again = serve_in(dir);
    let history: serde_json::Value = c
        .get(format!(
            "{}/widget/web/messages?visitor={visitor}",
            again.url
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let texts: Vec<&str> = history["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "customer")
        .filter_map(|m| m["text"].as_str())
        .collect();
    for a in &acked {
        assert!(texts.contains(&a.as_str()), "{a} was acknowledged and kept");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_live_streams_are_bounded() {
    let app = TestApp::spawn().await;
    let open = |visitor: &'static str| {
        app.http
            .get(format!("{}/widget/web/live?visitor={visitor}", app.url))
            .send()
    };
    // Nobody to follow before a first message: nothing is held open.
    let r = open("visitor-token-0000000123").await.unwrap();
    assert_eq!(r.status(), 204);
    app.widget_send(VISITOR, "m1", "Привет").await;
    let mut held = Vec::new();
    for _ in 0..5 {
        let r = open(VISITOR).await.unwrap();
        assert_eq!(r.status(), 200);
        held.push(r);
    }
    let r = open(VISITOR).await.unwrap();
    assert_eq!(r.status(), 429);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "too_many_streams");
    drop(held);
}

fn cli(data_dir: &std::path::Path, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_perepiska"))
        .env_remove("DATABASE_URL")
        .env("PEREPISKA_DATA_DIR", data_dir)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_load_restores_every_acknowledged_message() {
    let server = serve();
    let url = server.url.clone();
    let data = server._dir.path().join("data");
    let c = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let visitor = "visitor-token-0000000055";
    let scan = b"\x89PNG\r\n\x1a\nthe scan".to_vec();
    let r = c
        .post(format!(
            "{url}/widget/web/files?visitor={visitor}&client_id=f1&name=scan.png"
        ))
        .header("Content-Type", "image/png")
        .body(scan.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sender = {
        let (c, url, acked, stop) = (c.clone(), url.clone(), acked.clone(), stop.clone());
        tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) && i < 5_000 {
                i += 1;
                let text = format!("Под нагрузкой {i}");
                let r = c
                    .post(format!("{url}/widget/web/messages"))
                    .json(&serde_json::json!({"visitor": visitor, "client_id": format!("m{i}"), "text": text}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
                acked.lock().unwrap().push(text);
            }
        })
    };
    let waiting = std::time::Instant::now();
    while acked.lock().unwrap().len() < 30 {
        assert!(
            waiting.elapsed() < Duration::from_secs(20) && !sender.is_finished(),
            "messages are being acknowledged"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let before: Vec<String> = acked.lock().unwrap().clone();
    let kept = tempfile::tempdir().unwrap();
    let archive = kept.path().join("backup.tar");
    let (ok, out) = cli(&data, &["backup", "--to", archive.to_str().unwrap()]);
    assert!(ok, "{out}");
    assert!(out.contains("1 attachments"), "{out}");
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    sender.await.unwrap();
    assert!(
        acked.lock().unwrap().len() > before.len(),
        "messages kept arriving during the backup"
    );
    drop(server);

    let fresh = tempfile::tempdir().unwrap();
    let target = fresh.path().join("data");
    let (ok, out) = cli(&target, &["restore", "--from", archive.to_str().unwrap()]);
    assert!(ok, "{out}");
    let (ok, out) = cli(&target, &["restore", "--from", archive.to_str().unwrap()]);
    assert!(
        !ok && out.contains("--force"),
        "a second restore asks first: {out}"
    );
    let restored = serve_in(fresh);
    let history: serde_json::Value = c
        .get(format!(
            "{}/widget/web/messages?visitor={visitor}",
            restored.url
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let msgs = history["messages"].as_array().unwrap();
    let texts: Vec<&str> = msgs.iter().filter_map(|m| m["text"].as_str()).collect();
    for t in &before {
        assert!(
            texts.contains(&t.as_str()),
            "{t} was acknowledged before the backup"
        );
    }
    let file = msgs
        .iter()
        .find_map(|m| m["attachments"][0]["id"].as_i64())
        .unwrap();
    let bytes = c
        .get(format!(
            "{}/widget/web/attachments/{file}?visitor={visitor}",
            restored.url
        ))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(bytes.to_vec(), scan);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_left_behind_by_a_crash_are_swept() {
    let mut app = TestApp::spawn().await;
    assert_eq!(widget_file(&app, "f1", b"\x89PNG\r\n\x1a\nkept").await, 200);
    let root = app.settings.data_dir.join("attachments");
    let two_hours_ago = std::time::SystemTime::now() - Duration::from_secs(2 * 3600);
    // Every file there looks old, the one a message refers to as well.
    for dir in std::fs::read_dir(&root).unwrap() {
        for f in std::fs::read_dir(dir.unwrap().path()).unwrap() {
            let f = std::fs::File::options()
                .write(true)
                .open(f.unwrap().path())
                .unwrap();
            f.set_modified(two_hours_ago).unwrap();
        }
    }
    // Written for a message whose commit never happened (the server died in between).
    std::fs::create_dir_all(root.join("ab")).unwrap();
    let stray = root.join("ab").join("ab0123456789abcdef0123456789abcd");
    std::fs::write(&stray, b"orphan").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&stray)
        .unwrap()
        .set_modified(two_hours_ago)
        .unwrap();
    assert_eq!(files_on_disk(&app), 2);
    app.restart().await;
    app.eventually("the orphan is removed", || async { !stray.exists() })
        .await;
    assert_eq!(files_on_disk(&app), 1, "the file a message refers to stays");
}

async fn sign_in_via(
    app: &TestApp,
    v: &(reqwest::Client, String),
    forwarded_for: &str,
    pw: &str,
) -> u16 {
    v.0.post(format!("{}/login", app.url))
        .header("X-Forwarded-For", forwarded_for)
        .form(&[
            ("email", ADMIN_EMAIL),
            ("password", pw),
            ("csrf", v.1.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_our_proxy_the_forwarded_address_counts_and_elsewhere_it_does_not() {
    // Directly reachable: a made-up X-Forwarded-For does not buy new tries.
    let app = TestApp::spawn().await;
    let v = visitor_from(&app, "127.0.0.1").await;
    for i in 0..10 {
        assert_eq!(
            sign_in_via(&app, &v, &format!("203.0.113.{i}"), "guess").await,
            401
        );
    }
    assert_eq!(sign_in_via(&app, &v, "203.0.113.99", "guess").await, 429);
    // Behind our reverse proxy on 127.0.0.1: each client is its forwarded address.
    let proxied =
        TestApp::spawn_with(|s| s.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]).await;
    let v = visitor_from(&proxied, "127.0.0.1").await;
    for _ in 0..10 {
        assert_eq!(sign_in_via(&proxied, &v, "203.0.113.1", "guess").await, 401);
    }
    assert_eq!(
        sign_in_via(&proxied, &v, "203.0.113.1", ADMIN_PASSWORD).await,
        429
    );
    // The owner, behind the same proxy, is not locked out by the stranger.
    assert_eq!(
        sign_in_via(&proxied, &v, "1.2.3.4, 198.51.100.2", ADMIN_PASSWORD).await,
        303
    );
}

/// NUL is no text: PostgreSQL refuses to store it. A customer's message keeps everything else,
/// a visitor's message of nothing but NUL is refused as empty, and an operator's NUL is a 400.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_characters_never_reach_the_database_as_a_server_error() {
    let app = TestApp::spawn().await;
    let r = app
        .http
        .post(format!("{}/widget/web/messages", app.url))
        .json(&json!({"visitor": "visitor-token-0000000077", "client_id": "n1", "text": "\u{0}"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "{}", r.text().await.unwrap());
    let r = app
        .http
        .post(format!("{}/widget/web/messages", app.url))
        .json(&json!({"visitor": "visitor-token-0000000077", "client_id": "n2", "text": "При\u{0}вет"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let token = app.api_token(ADMIN_EMAIL).await;
    let (_, list) = app
        .api(&token, reqwest::Method::GET, "/conversations", None)
        .await;
    let id = list["data"][0]["id"].as_i64().unwrap();
    assert_eq!(app.customer_texts(&token, id).await, ["Привет"]);
    let (s, v) = app
        .api(
            &token,
            reqwest::Method::POST,
            &format!("/conversations/{id}/messages"),
            Some(json!({"text": "ок\u{0}", "private": true})),
        )
        .await;
    // SQLite stores it; PostgreSQL cannot, and the operator is told why instead of a 500.
    if app.settings.database_url.is_some() {
        assert_eq!(s, 400, "{v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains("NUL"),
            "{v}"
        );
    } else {
        assert!((200..300).contains(&s), "{s} {v}");
    }
}
