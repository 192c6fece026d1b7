//! Everyone's own profile: the display name and a password change that signs out the rest.

use crate::support::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_changes_their_password_and_their_other_sessions_end() {
    let app = TestApp::spawn().await;
    let email = "olga@example.com";
    app.add_member(
        email,
        "Ольга",
        "first-password-1",
        perepiska::domain::Role::Operator,
    )
    .await;
    let here = app.login(email, "first-password-1").await;
    let elsewhere = app.login(email, "first-password-1").await;
    let (s, page) = here.get("/console/profile").await;
    assert_eq!(s, 200);
    assert!(page.contains(email));
    let change = |current: &'static str, new: &'static str, repeat: &'static str| {
        let here = &here;
        async move {
            here.post_form(
                "/console/profile/password",
                &[
                    ("csrf", &here.csrf),
                    ("current", current),
                    ("new", new),
                    ("repeat", repeat),
                ],
            )
            .await
        }
    };
    for (current, new, repeat, says) in [
        (
            "not-my-password",
            "second-password-2",
            "second-password-2",
            "current password is wrong",
        ),
        (
            "first-password-1",
            "second-password-2",
            "second-password-3",
            "differ",
        ),
        ("first-password-1", "short", "short", "at least 8"),
    ] {
        let (s, page) = change(current, new, repeat).await;
        assert_eq!(s, 400, "{says}");
        assert!(page.contains(says), "{says}: {page}");
    }
    assert_eq!(
        elsewhere.get("/console").await.0,
        200,
        "refused changes sign nobody out"
    );
    assert_eq!(
        app.sign_in_status(email, "first-password-1").await,
        303,
        "and change nothing"
    );

    let (s, _) = change("first-password-1", "second-password-2", "second-password-2").await;
    assert_eq!(s, 303);
    assert_eq!(here.get("/console").await.0, 200, "this session goes on");
    assert_eq!(
        elsewhere.get("/console").await.0,
        303,
        "the other one is signed out"
    );
    assert_ne!(app.sign_in_status(email, "first-password-1").await, 303);
    assert_eq!(app.sign_in_status(email, "second-password-2").await, 303);

    // A form without the page's token changes nothing.
    let (s, _) = here
        .post_form(
            "/console/profile/password",
            &[
                ("current", "second-password-2"),
                ("new", "third-password-3"),
                ("repeat", "third-password-3"),
            ],
        )
        .await;
    assert_eq!(s, 403);
    assert_eq!(app.sign_in_status(email, "second-password-2").await, 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_renames_themselves() {
    let app = TestApp::spawn().await;
    let op = app.admin().await;
    let (s, page) = op
        .post_form(
            "/console/profile/name",
            &[("csrf", &op.csrf), ("name", "  ")],
        )
        .await;
    assert_eq!(s, 400);
    assert!(page.contains("1-100 characters"));
    let (s, _) = op
        .post_form(
            "/console/profile/name",
            &[("csrf", &op.csrf), ("name", "Анна Петрова")],
        )
        .await;
    assert_eq!(s, 303);
    let (_, console) = op.get("/console").await;
    assert!(
        console.contains("Анна Петрова"),
        "the console shows the new name"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_api_tokens_are_shown_once_listed_with_their_last_use_and_revoked() {
    let app = TestApp::spawn().await;
    app.add_member(
        "olga@example.com",
        "Ольга",
        "first-password-1",
        perepiska::domain::Role::Operator,
    )
    .await;
    let olga = app.login("olga@example.com", "first-password-1").await;
    let (s, page) = olga
        .post_form(
            "/console/profile/tokens",
            &[("csrf", &olga.csrf), ("name", "  ")],
        )
        .await;
    assert_eq!(s, 400, "a name is needed");
    assert!(page.contains("1-100 characters"));
    let (s, page) = olga
        .post_form(
            "/console/profile/tokens",
            &[("csrf", &olga.csrf), ("name", "CRM")],
        )
        .await;
    assert_eq!(s, 201);
    let token = crate::support::attr(&page, "<pre class=\"snippet\" id=\"new-token\">")
        .map(|t| t.split('<').next().unwrap().to_string())
        .expect("the new token is shown");
    assert!(token.starts_with("ppk_"));
    let (_, again) = olga.get("/console/profile").await;
    assert!(!again.contains(&token), "shown once");
    assert!(
        again.contains("CRM") && again.contains("ещё не было"),
        "listed, never used"
    );
    let (s, _) = app
        .api(&token, reqwest::Method::GET, "/conversations", None)
        .await;
    assert_eq!(s, 200, "it acts as Ольга");
    let (_, listed) = olga.get("/console/profile").await;
    assert!(!listed.contains("ещё не было"), "its last use is shown");
    // Someone else cannot revoke it; she can, and it stops at once.
    let id = crate::support::attr(&listed, "<tr class=\"token\" data-id=\"").unwrap();
    let admin = app.admin().await;
    let (s, _) = admin
        .post_form(
            &format!("/console/profile/tokens/{id}/revoke"),
            &[("csrf", &admin.csrf)],
        )
        .await;
    assert_eq!(s, 404);
    let (s, _) = app
        .api(&token, reqwest::Method::GET, "/conversations", None)
        .await;
    assert_eq!(s, 200, "still valid");
    let (s, _) = olga
        .post_form(
            &format!("/console/profile/tokens/{id}/revoke"),
            &[("csrf", &olga.csrf)],
        )
        .await;
    assert_eq!(s, 303);
    let (s, _) = app
        .api(&token, reqwest::Method::GET, "/conversations", None)
        .await;
    assert_eq!(s, 401, "revoked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_sets_their_language_time_zone_sounds_and_phone() {
    let app = TestApp::spawn().await;
    let me = app.admin().await;
    let save = |fields: Vec<(&'static str, &'static str)>| {
        let me = &me;
        async move {
            let mut form = vec![("csrf", me.csrf.as_str())];
            form.extend(fields);
            me.post_form("/console/profile/preferences", &form).await
        }
    };
    let (s, page) = save(vec![
        ("timezone", "Mars/Base"),
        ("phone", "+7 900 000-00-00"),
    ])
    .await;
    assert_eq!(s, 400);
    assert!(page.contains("unknown time zone"));
    let (s, page) = save(vec![("phone", "call me")]).await;
    assert_eq!(s, 400);
    assert!(page.contains("not a phone number"));
    let (_, page) = me.get("/console").await;
    assert!(
        page.contains("data-sounds=\"conversation,message\""),
        "both sound by default"
    );
    let (s, _) = save(vec![
        ("language", "en"),
        ("timezone", "Asia/Vladivostok"),
        ("phone", "+7 900 000-00-00"),
        ("sound_message", "1"),
    ])
    .await;
    assert_eq!(s, 303);
    let (_, page) = me.get("/console").await;
    assert!(
        page.contains("<html lang=\"en\""),
        "the console speaks their language"
    );
    assert!(page.contains("data-sounds=\"message\""));
    let (_, profile) = me.get("/console/profile").await;
    assert!(profile.contains("value=\"Asia/Vladivostok\"") && profile.contains("+7 900 000-00-00"));
    // Times are shown in their zone: a message written now reads Vladivostok's hour.
    let sent: serde_json::Value = app
        .widget_send("visitor-token-prefs-0000001", "p", "Который час?")
        .await
        .json()
        .await
        .unwrap();
    let (_, page) = me
        .get(&format!("/console?c={}", sent["conversation_id"]))
        .await;
    let vladivostok = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Vladivostok)
        .format("%H:")
        .to_string();
    assert!(
        page.contains(&vladivostok),
        "a time in Vladivostok ({vladivostok}..)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operators_picture_is_shown_in_the_widget_beside_their_answers() {
    let app = TestApp::spawn().await;
    let me = app.admin().await;
    let upload = |bytes: Vec<u8>, name: &'static str| {
        let me = &me;
        async move {
            let part = reqwest::multipart::Part::bytes(bytes).file_name(name);
            let form = reqwest::multipart::Form::new().part("avatar", part);
            let r = me
                .http
                .post(format!(
                    "{}/console/profile/avatar?csrf={}",
                    me.url, me.csrf
                ))
                .multipart(form)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap_or_default())
        }
    };
    // A script named like a picture is not a picture.
    let (s, page) = upload(b"<script>alert(1)</script>".to_vec(), "me.png").await;
    assert_eq!(s, 400);
    assert!(page.contains("PNG, JPEG or WebP"));
    let png = b"\x89PNG\r\n\x1a\nme-in-pixels".to_vec();
    let (s, _) = upload(png.clone(), "me.png").await;
    assert_eq!(s, 303);
    let (_, profile) = me.get("/console/profile").await;
    let src = crate::support::attr(&profile, "<img src=\"").expect("the picture is shown");
    assert!(src.starts_with("/avatars/"), "{src}");
    let r = app
        .http
        .get(format!("{}{src}", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["Content-Type"], "image/png");
    assert_eq!(r.bytes().await.unwrap().to_vec(), png);
    // The visitor sees it next to the answer.
    let visitor = "visitor-token-avatar-000001";
    let sent: serde_json::Value = app
        .widget_send(visitor, "a1", "Кто мне отвечает?")
        .await
        .json()
        .await
        .unwrap();
    let conv = sent["conversation_id"].as_i64().unwrap();
    assert_eq!(me.reply(conv, "Это я", false).await, 303);
    let msgs = app.widget_messages(visitor).await;
    let answer = msgs.iter().find(|m| m["text"] == "Это я").unwrap();
    assert_eq!(answer["author_avatar"], src.as_str());
    // Removed, it is gone for everyone.
    let (s, _) = me
        .post_form("/console/profile/avatar/remove", &[("csrf", &me.csrf)])
        .await;
    assert_eq!(s, 303);
    let r = app
        .http
        .get(format!("{}{src}", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let msgs = app.widget_messages(visitor).await;
    assert!(msgs.iter().find(|m| m["text"] == "Это я").unwrap()["author_avatar"].is_null());
}
