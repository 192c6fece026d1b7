//! The binary's subcommands, run as a user would run them.

use std::process::Command;

fn perepiska(dir: &std::path::Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_perepiska"))
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .env("PEREPISKA_DATA_DIR", dir.join("data"))
        .args(args)
        .output()
        .expect("run perepiska");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn check_config_accepts_a_good_file_and_names_the_bad_key() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out) = perepiska(dir.path(), &["check-config"]);
    assert!(ok, "a missing channels.toml is fine: {out}");
    std::fs::write(
        dir.path().join("channels.toml"),
        "[[channels]]\nid = \"site\"\nkind = \"widget\"\nname = \"Сайт\"\n",
    )
    .unwrap();
    let (ok, out) = perepiska(dir.path(), &["check-config"]);
    assert!(ok && out.contains("site (widget)"), "{out}");
    std::fs::write(dir.path().join("channels.toml"), "[[channels]]\nid = \"crm\"\nkind = \"api\"\ncallback_url = \"ftp://x\"\nsecret = \"0123456789abcdef\"\n").unwrap();
    let (ok, out) = perepiska(dir.path(), &["check-config"]);
    assert!(
        !ok && out.contains("channel \"crm\"") && out.contains("callback_url"),
        "{out}"
    );
    // The server refuses to start on the same file.
    let (ok, out) = perepiska(dir.path(), &["serve", "--bind", "127.0.0.1:0"]);
    assert!(!ok && out.contains("callback_url"), "{out}");
}

#[test]
fn admin_and_token_commands() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out) = perepiska(dir.path(), &["migrate"]);
    assert!(ok, "{out}");
    let (ok, out) = perepiska(
        dir.path(),
        &[
            "admin",
            "create",
            "--email",
            "Anna@Example.com",
            "--password",
            "short",
            "--role",
            "operator",
        ],
    );
    assert!(!ok && out.contains("at least 8"), "{out}");
    let (ok, out) = perepiska(
        dir.path(),
        &[
            "admin",
            "create",
            "--email",
            "anna@example.com",
            "--password",
            "long-enough-1",
            "--role",
            "boss",
        ],
    );
    assert!(!ok && out.contains("unknown access level"), "{out}");
    let (ok, out) = perepiska(
        dir.path(),
        &[
            "admin",
            "create",
            "--email",
            "Anna@Example.com",
            "--password",
            "long-enough-1",
            "--role",
            "operator",
        ],
    );
    assert!(ok && out.contains("anna@example.com is operator"), "{out}");
    let (ok, out) = perepiska(
        dir.path(),
        &["token", "create", "--email", "anna@example.com"],
    );
    assert!(ok && out.trim().starts_with("ppk_"), "{out}");
    let (ok, out) = perepiska(
        dir.path(),
        &["token", "create", "--email", "ghost@example.com"],
    );
    assert!(!ok && out.contains("no user"), "{out}");
    // Access levels combine, as in the team settings.
    let (ok, out) = perepiska(
        dir.path(),
        &[
            "admin",
            "create",
            "--email",
            "boris@example.com",
            "--password",
            "long-enough-2",
            "--role",
            "operator,analytics",
        ],
    );
    assert!(
        ok && out.contains("boris@example.com is analytics,operator"),
        "{out}"
    );
}

#[test]
fn projects_are_created_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out) = perepiska(
        dir.path(),
        &[
            "project",
            "create",
            "--slug",
            "romashka",
            "--name",
            "ООО Ромашка",
            "--timezone",
            "Asia/Novosibirsk",
        ],
    );
    assert!(ok && out.contains("project \"romashka\""), "{out}");
    let (ok, out) = perepiska(
        dir.path(),
        &["project", "create", "--slug", "romashka", "--name", "Again"],
    );
    assert!(!ok && out.contains("already exists"), "{out}");
    let (ok, out) = perepiska(
        dir.path(),
        &["project", "create", "--slug", "Bad Slug", "--name", "X"],
    );
    assert!(!ok && out.contains("slug"), "{out}");
    let (ok, out) = perepiska(
        dir.path(),
        &[
            "project",
            "create",
            "--slug",
            "mars",
            "--name",
            "X",
            "--timezone",
            "Mars/Olympus",
        ],
    );
    assert!(!ok && out.contains("time zone"), "{out}");
    // People join it by role; a token for its API works there.
    let (ok, out) = perepiska(
        dir.path(),
        &[
            "admin",
            "create",
            "--email",
            "olga@example.com",
            "--password",
            "long-enough-2",
            "--role",
            "admin",
            "--project",
            "romashka",
        ],
    );
    assert!(ok && out.contains("in project \"romashka\""), "{out}");
    let (ok, out) = perepiska(
        dir.path(),
        &[
            "token",
            "create",
            "--email",
            "olga@example.com",
            "--project",
            "romashka",
        ],
    );
    assert!(ok && out.trim().starts_with("ppk_"), "{out}");
}

#[test]
fn registration_by_phone_is_refused_where_the_platform_proves_no_number() {
    let dir = tempfile::tempdir().unwrap();
    let reg =
        "routing = \"helpdesk\"\nregistration = \"phone\"\nsupport_phone = \"+7 800 555-35-35\"\n";
    for (kind, keys) in [
        ("viber", "token = \"v-token\"\n"),
        (
            "ok",
            "access_token = \"tkn1\"\nwebhook_secret = \"0123456789abcdef\"\n",
        ),
    ] {
        std::fs::write(
            dir.path().join("channels.toml"),
            format!("[[channels]]\nid = \"c\"\nkind = \"{kind}\"\n{keys}{reg}"),
        )
        .unwrap();
        let (ok, out) = perepiska(dir.path(), &["check-config"]);
        assert!(
            !ok && out.contains("registration = \"phone\"") && out.contains(kind),
            "{kind}: {out}"
        );
    }
    // Telegram checks that a shared contact is the sender's own: allowed there.
    std::fs::write(
        dir.path().join("channels.toml"),
        format!("[[channels]]\nid = \"c\"\nkind = \"telegram\"\ntoken = \"1:abc\"\n{reg}"),
    )
    .unwrap();
    let (ok, out) = perepiska(dir.path(), &["check-config"]);
    assert!(ok, "{out}");
}

/// A channel's token, typed into the settings (right, then wrong), never reaches the log,
/// even at debug level.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_secrets_never_reach_the_log() {
    use crate::support::fake_telegram::{FakeTelegram, TOKEN};
    use std::io::{BufRead, BufReader};
    let tg = FakeTelegram::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (ok, out) = perepiska(dir.path(), &["migrate"]);
    assert!(ok, "{out}");
    let (ok, out) = perepiska(
        dir.path(),
        &[
            "admin",
            "create",
            "--email",
            "a@example.com",
            "--password",
            "long-enough-1",
            "--role",
            "admin",
        ],
    );
    assert!(ok, "{out}");
    let (ok, token) = perepiska(dir.path(), &["token", "create", "--email", "a@example.com"]);
    assert!(ok, "{token}");
    let token = token.trim().to_string();
    let log = dir.path().join("server.log");
    let mut server = Command::new(env!("CARGO_BIN_EXE_perepiska"))
        .current_dir(dir.path())
        .env_remove("DATABASE_URL")
        .env("PEREPISKA_DATA_DIR", dir.path().join("data"))
        .env("PEREPISKA_CHANNELS", dir.path().join("none.toml"))
        .env("PEREPISKA_ALLOW_PRIVATE_TARGETS", "1")
        .env("RUST_LOG", "debug")
        .args(["serve", "--bind", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("the server printed its address")
            .unwrap();
        if let Some(at) = line.find("listening on ") {
            break line[at + "listening on ".len()..].trim().to_string();
        }
    };
    let stdout =
        std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>().join("\n"));
    let http = reqwest::Client::new();
    let api = |m: reqwest::Method, p: &str, body: serde_json::Value| {
        http.request(m, format!("{base}/api/v1{p}"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let r = api(
        reqwest::Method::POST,
        "/channels",
        serde_json::json!({"id": "bot", "kind": "telegram", "name": "Бот",
            "config": {"token": TOKEN, "api_base": tg.url, "poll_timeout": 1}}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 201);
    let wrong = "777:WRONG-but-secret-all-the-same";
    let r = api(
        reqwest::Method::PATCH,
        "/channels/bot",
        serde_json::json!({"config": {"token": wrong}}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 422);
    tg.push(FakeTelegram::text_update(99, 1, "Здравствуйте"));
    let mut seen = false;
    for _ in 0..100 {
        let r = api(
            reqwest::Method::GET,
            "/conversations",
            serde_json::json!({}),
        )
        .await
        .unwrap();
        let v: serde_json::Value = r.json().await.unwrap();
        if v["total"] == 1 {
            seen = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(seen, "the bot's message arrived");
    Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    server.wait().unwrap();
    let text = format!(
        "{}\n{}",
        std::fs::read_to_string(&log).unwrap(),
        stdout.join().unwrap()
    );
    assert!(
        text.contains("/api/v1/channels"),
        "the log is there: {text}"
    );
    for secret in [TOKEN, wrong, TOKEN.split(':').nth(1).unwrap()] {
        assert!(
            !text.contains(secret),
            "\"{secret}\" is in the log:\n{text}"
        );
    }
}

#[test]
fn a_forgotten_password_is_reset_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out) = perepiska(dir.path(), &["migrate"]);
    assert!(ok, "{out}");
    let (ok, out) = perepiska(
        dir.path(),
        &[
            "admin",
            "create",
            "--email",
            "ivan@example.com",
            "--password",
            "first-password-1",
            "--role",
            "operator",
        ],
    );
    assert!(ok, "{out}");
    let (ok, out) = perepiska(
        dir.path(),
        &[
            "admin",
            "reset-password",
            "--email",
            "ghost@example.com",
            "--password",
            "new-password-2",
        ],
    );
    assert!(!ok && out.contains("no user ghost@example.com"), "{out}");
    let (ok, out) = perepiska(
        dir.path(),
        &[
            "admin",
            "reset-password",
            "--email",
            "Ivan@Example.com",
            "--password",
            "short",
        ],
    );
    assert!(!ok && out.contains("at least 8"), "{out}");
    let (ok, out) = perepiska(
        dir.path(),
        &[
            "admin",
            "reset-password",
            "--email",
            "Ivan@Example.com",
            "--password",
            "new-password-2",
        ],
    );
    assert!(
        ok && out.contains("ivan@example.com: new password set"),
        "{out}"
    );
}
