//! Data at scale: `perepiska seed`, keyset pages, capped counters, full-text search, and the
//! plans of the inbox's queries (no full scan of conversations or messages, either backend).

use reqwest::Method;
use serde_json::Value;

use crate::support::TestApp;
use perepiska::domain::{ChannelId, ProjectId, Status};
use perepiska::store::conversations::{Cursor, Filter, Tab};

/// Runs `perepiska seed` against the app's database, as an admin would.
pub(crate) fn seed(app: &TestApp, args: &[&str]) -> (bool, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_perepiska"));
    cmd.current_dir(app.dir.path())
        .env_remove("DATABASE_URL")
        .env("PEREPISKA_DATA_DIR", &app.settings.data_dir)
        .arg("seed")
        .args(args);
    if let Some(url) = &app.settings.database_url {
        cmd.env("DATABASE_URL", url);
    }
    let out = cmd.output().expect("run perepiska seed");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[tokio::test]
async fn seeded_conversations_page_through_by_cursor_and_counters_stop_at_999() {
    let app = TestApp::spawn().await;
    let (ok, out) = seed(
        &app,
        &[
            "--conversations",
            "1200",
            "--messages-per-conversation",
            "2",
        ],
    );
    assert!(ok, "{out}");
    assert!(out.contains("1200 conversations, 2400 messages"), "{out}");
    // A second run would mix demo data into real data: refused, nothing added.
    let (ok, out) = seed(&app, &["--conversations", "10"]);
    assert!(!ok && out.contains("--force"), "{out}");

    let token = app.api_token(crate::support::ADMIN_EMAIL).await;
    let mut seen = std::collections::HashSet::new();
    let mut numbers = std::collections::HashSet::new();
    let mut last: Option<(String, i64)> = None;
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/conversations?per_page=100&cursor={c}"),
            None => "/conversations?per_page=100".to_string(),
        };
        let page = app.api_ok(&token, Method::GET, &path, None).await;
        assert_eq!(page["total"], 1200, "{}", page["total"]);
        assert_eq!(page["total_exact"], true);
        for c in page["data"].as_array().expect("data") {
            let key = (
                c["last_message_at"].as_str().unwrap().to_string(),
                c["id"].as_i64().unwrap(),
            );
            if let Some(prev) = &last {
                assert!(key < *prev, "not newest first: {key:?} after {prev:?}");
            }
            last = Some(key);
            assert!(seen.insert(c["id"].as_i64().unwrap()), "a row came twice");
            assert!(
                numbers.insert(c["number"].as_i64().unwrap()),
                "a number twice"
            );
        }
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
        assert!(pages <= 12, "more pages than rows");
    }
    assert_eq!(seen.len(), 1200);
    assert_eq!(numbers, (1..=1200).collect());
    // The next real conversation takes the next number.
    assert_eq!(
        app.widget_send("visitor-token-after-seed-01", "m1", "после сида")
            .await
            .status(),
        200
    );
    let found = app
        .api_ok(&token, Method::GET, "/conversations?q=%231201", None)
        .await;
    assert!(found["data"][0]["contact"]["name"].is_string());
    assert_eq!(found["total"], 1, "{found}");

    // A cursor this server never gave, and page with cursor, are refused in JSON.
    for bad in [
        "/conversations?cursor=yesterday",
        "/conversations?cursor=1.2&page=2",
    ] {
        let (status, body) = app.api(&token, Method::GET, bad, None).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body["error"]["message"].is_string(), "{body}");
    }
    let (status, body) = app
        .api(
            &token,
            Method::GET,
            "/conversations?per_page=100&page=101",
            None,
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cursor"),
        "{body}"
    );

    // The console: most seeded conversations are closed, so that counter stops at 999+;
    // "older" continues exactly where the first page ended.
    let admin = app.admin().await;
    let (status, html) = admin.get("/console?tab=closed").await;
    assert_eq!(status, 200);
    assert!(html.contains("<b>999+</b>"), "closed counter not capped");
    let more = crate::support::attr(&html, "data-more href=\"").or_else(|| {
        html.split("href=\"")
            .find(|s| s.contains("cursor="))
            .map(|s| s.split('"').next().unwrap_or("").to_string())
    });
    let more = more.expect("an 'older' link").replace("&amp;", "&");
    let first_ids = ids_in(&html);
    assert_eq!(first_ids.len(), 50);
    let (status, older) = admin.get(&more).await;
    assert_eq!(status, 200, "{more}");
    let next_ids = ids_in(&older);
    assert_eq!(next_ids.len(), 50);
    assert!(
        first_ids.iter().all(|i| !next_ids.contains(i)),
        "pages overlap"
    );
    let (status, _) = admin.get("/console?tab=closed&cursor=nonsense").await;
    assert_eq!(status, 400);
}

fn ids_in(html: &str) -> Vec<i64> {
    html.split("data-id=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next()?.parse().ok())
        .collect()
}

#[tokio::test]
async fn search_finds_word_forms_contacts_phones_and_numbers_case_insensitively() {
    let app = TestApp::spawn().await;
    let token = app.api_token(crate::support::ADMIN_EMAIL).await;
    let send = |v: &'static str, text: &'static str| {
        let app = &app;
        async move {
            assert_eq!(app.widget_send(v, "m1", text).await.status(), 200);
        }
    };
    send("visitor-token-scale-000001", "Когда будет доставка заказа?").await;
    send("visitor-token-scale-000002", "Payment failed twice").await;
    send("visitor-token-scale-000003", "Просто вопрос").await;
    let list = app
        .api_ok(&token, Method::GET, "/conversations?per_page=10", None)
        .await;
    let id_of = |text: &str| -> i64 {
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["subject"].as_str().unwrap_or("").contains(text))
            .and_then(|c| c["id"].as_i64())
            .expect("conversation")
    };
    let (delivery, payment, question) = (id_of("доставка"), id_of("Payment"), id_of("вопрос"));
    // The third customer leaves a name, an e-mail and a phone (the operator's contact form).
    let admin = app.admin().await;
    let (status, _) = admin
        .post_form(
            &format!("/console/c/{question}/contact"),
            &[
                ("csrf", &admin.csrf),
                ("name", "Ксения Соловьёва"),
                ("email", "k.solovyova@example.ru"),
                ("phone", "+7 916 555-12-34"),
            ],
        )
        .await;
    assert!(status == 303 || status == 200, "{status}");

    let search = |q: &str| {
        let q = q.to_string();
        let app = &app;
        let token = token.clone();
        async move {
            let path = format!("/conversations?per_page=10&q={}", url_escape(&q));
            let v: Value = app.api_ok(&token, Method::GET, &path, None).await;
            let mut ids: Vec<i64> = v["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_i64().unwrap())
                .collect();
            ids.sort();
            ids
        }
    };
    for (q, want) in [
        ("доставку", vec![delivery]),
        ("ДОСТАВКОЙ", vec![delivery]),
        ("заказ", vec![delivery]),
        ("payment", vec![payment]),
        ("FAIL", vec![payment]),
        ("соловьёва", vec![question]),
        ("Ксения", vec![question]),
        ("k.solovyova", vec![question]),
        ("solovyova@example", vec![question]),
        ("+7 (916) 555-12-34", vec![question]),
        ("89165551234", vec![question]),
        ("5551234", vec![question]),
        ("курьер", vec![]),
    ] {
        assert_eq!(search(q).await, want, "search {q:?}");
    }
    let number = app
        .api_ok(
            &token,
            Method::GET,
            &format!("/conversations/{payment}"),
            None,
        )
        .await["number"]
        .as_i64()
        .unwrap();
    assert_eq!(search(&format!("#{number}")).await, vec![payment]);
    // The console's search box reads the same.
    let (status, html) = admin
        .get(&format!("/console?q={}", url_escape("доставки")))
        .await;
    assert_eq!(status, 200);
    assert_eq!(ids_in(&html), vec![delivery]);
}

fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Plan lines that read a whole table of conversations, messages or contacts.
pub(crate) fn full_scans(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter(|l| {
            let l = l.trim_start_matches(|c: char| {
                c == ' ' || c == '-' || c == '>' || c == '|' || c == '`'
            });
            let sqlite = [
                "SCAN conversations",
                "SCAN messages",
                "SCAN contacts",
                "SCAN m",
                "SCAN c",
            ]
            .iter()
            .any(|p| l == *p || l.starts_with(&format!("{p} ")));
            let pg = l.contains("Seq Scan on conversations")
                || l.contains("Seq Scan on messages")
                || l.contains("Seq Scan on contacts");
            (sqlite && !l.contains("VIRTUAL TABLE")) || pg
        })
        .cloned()
        .collect()
}

#[tokio::test]
async fn every_list_the_console_and_api_read_uses_an_index() {
    let app = TestApp::spawn().await;
    let (ok, out) = seed(&app, &["--conversations", "300"]);
    assert!(ok, "{out}");
    let admin = app.user_id(crate::support::ADMIN_EMAIL).await;
    // A tag on a few conversations, for the tag filter's shapes.
    let token = app.api_token(crate::support::ADMIN_EMAIL).await;
    let tag = app
        .api_ok(
            &token,
            Method::POST,
            "/tags",
            Some(serde_json::json!({"name": "Доставка"})),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let page = app
        .api_ok(&token, Method::GET, "/conversations?per_page=3", None)
        .await;
    for c in page["data"].as_array().unwrap() {
        app.api_ok(
            &token,
            Method::PATCH,
            &format!("/conversations/{}", c["id"]),
            Some(serde_json::json!({"tags": ["доставка"]})),
        )
        .await;
    }
    let store = app.store();
    let plans = store
        .read(move |conn| {
            let base = Filter {
                project_id: ProjectId(1),
                tab: Tab::All,
                user_id: admin,
                channel_id: None,
                status: None,
                assignee: None,
                q: None,
                tag: None,
                after: None,
                offset: 0,
                limit: 50,
            };
            let cursor = Some(Cursor {
                at: chrono::Utc::now().naive_utc(),
                id: perepiska::domain::ConversationId(i64::MAX),
            });
            let mut shapes = Vec::new();
            for tab in [
                Tab::Mine,
                Tab::Teams,
                Tab::Unassigned,
                Tab::All,
                Tab::Closed,
                Tab::Any,
            ] {
                for channel in [None, Some(ChannelId(1))] {
                    for status in [None, Some(Status::Open), Some(Status::Closed)] {
                        for after in [None, cursor] {
                            shapes.push(Filter {
                                tab,
                                channel_id: channel,
                                status,
                                after,
                                ..base.clone()
                            });
                        }
                    }
                }
            }
            for assignee in [Some(None), Some(Some(admin))] {
                shapes.push(Filter {
                    tab: Tab::Any,
                    assignee,
                    ..base.clone()
                });
            }
            for tab in [Tab::All, Tab::Closed, Tab::Any, Tab::Mine] {
                for q in [None, Some("доставка".to_string())] {
                    shapes.push(Filter {
                        tab,
                        tag: Some(tag),
                        q,
                        ..base.clone()
                    });
                }
            }
            for q in ["доставка", "Иванова", "kettle", "+7 916 123", "#42", "42"] {
                for tab in [Tab::All, Tab::Closed, Tab::Any] {
                    shapes.push(Filter {
                        tab,
                        q: Some(q.to_string()),
                        channel_id: Some(ChannelId(1)),
                        ..base.clone()
                    });
                }
            }
            let mut out = Vec::new();
            for f in shapes {
                let what = format!(
                    "{:?} channel {:?} status {:?} assignee {:?} q {:?} tag {:?} cursor {}",
                    f.tab,
                    f.channel_id,
                    f.status,
                    f.assignee,
                    f.q,
                    f.tag,
                    f.after.is_some()
                );
                for (name, lines) in perepiska::store::explain::list(conn, &f)? {
                    let narrowed = f.q.is_some() || f.tag.is_some();
                    out.push((format!("{what}: {name}"), narrowed, lines));
                }
            }
            Ok(out)
        })
        .await
        .expect("plans");
    assert!(plans.len() > 150, "{} plans", plans.len());
    for (what, searching, lines) in &plans {
        let bad = full_scans(lines);
        assert!(
            bad.is_empty(),
            "{what} scans a whole table: {bad:?}\n{lines:#?}"
        );
        // A search or a tag reads its conversations by primary key (or, for open lists, the
        // small open-conversation index), not a walk of the project; a tag's conversations
        // come from its own index.
        if what.ends_with(": tagged") {
            assert!(
                lines.iter().any(|l| l.contains("conversation_tags_tag")),
                "{what}: {lines:#?}"
            );
        }
        if *searching && what.ends_with(": page") {
            assert!(
                lines.iter().any(|l| l.contains("PRIMARY KEY")
                    || l.contains("conversations_pkey")
                    || l.contains("conversations_open")),
                "{what}: {lines:#?}"
            );
        }
    }
}

#[tokio::test]
async fn timers_are_read_by_due_time_or_by_their_conversation() {
    let app = TestApp::spawn().await;
    let (ok, out) = seed(
        &app,
        &[
            "--conversations",
            "1200",
            "--open-conversations",
            "900",
            "--due-auto-close",
            "10",
        ],
    );
    assert!(ok, "{out}");
    // The ten due auto-closes fire; the other open conversations, seeded over two years,
    // wait for their own time (a benchmark of the scheduler with many pending timers).
    let admin = app.user_id(crate::support::ADMIN_EMAIL).await;
    let open = |store: perepiska::store::Store| async move {
        store
            .read(move |conn| {
                let f = Filter {
                    project_id: ProjectId(1),
                    tab: Tab::All,
                    user_id: admin,
                    channel_id: None,
                    status: None,
                    assignee: None,
                    q: None,
                    tag: None,
                    after: None,
                    offset: 0,
                    limit: 50,
                };
                perepiska::store::conversations::count(conn, &f, 1000)
            })
            .await
            .expect("count")
    };
    app.eventually("the due auto-closes fired", || async {
        open(app.store()).await == 890
    })
    .await;
    app.settle().await;
    assert_eq!(open(app.store()).await, 890);
    let plans = app
        .store()
        .read(perepiska::store::explain::timers)
        .await
        .expect("plans");
    let named = |name: &str| -> String {
        plans
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, lines)| lines.join("\n"))
            .unwrap_or_else(|| panic!("no plan for {name}"))
    };
    // The scheduler's tick reads only pending timers, in due order.
    let due = named("due");
    assert!(due.contains("timers_pending"), "{due}");
    // Closing a conversation, and a customer's answer to a rating request, look at that
    // conversation's timers, not at every pending timer there is.
    for name in ["pending of a conversation", "pending of a contact"] {
        let plan = named(name);
        assert!(
            !plan.contains("timers_pending") && !plan.contains("Seq Scan on timers"),
            "{name}: {plan}"
        );
        assert!(
            plan.lines()
                .any(|l| l.contains("conversation_id") && !l.contains("SCAN")),
            "{name}: {plan}"
        );
    }
}
