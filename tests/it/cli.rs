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
    assert!(!ok && out.contains("unknown role"), "{out}");
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
