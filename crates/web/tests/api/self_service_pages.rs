//! The account page (`/account`), the password reset pages and the
//! invitation link's page, driven by form posts as a browser would.

use crate::support::{location, page};
use crate::{PASSWORD, TestApp, session_cookie};
use reqwest::StatusCode;
use sentra_domain::Role;

const NEW_PASSWORD: &str = "a brand new long password";

fn token_in(text: &str, prefix: &str) -> String {
    let at = text.find(prefix).expect("token in text");
    text[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect()
}

#[tokio::test]
async fn the_account_page_changes_profile_password_tokens_and_sessions() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let res = app.get("/account", None).await;
    assert_eq!(location(&res), "/login?next=%2Faccount");
    let me = app.seed_owner("me@account.test").await;
    let (elsewhere, cookie) = crate::audit_events::two_sessions(&app, &me).await;
    let (status, html) = page(&app, "/account", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("me@account.test"));
    assert_eq!(
        html.matches("this session").count(),
        1,
        "one current session"
    );
    assert_eq!(html.matches("/revoke\"").count(), 2, "both sessions listed");

    // Profile.
    let res = app
        .post_form("/account/profile", &[("name", "Mo Account")], Some(&cookie))
        .await;
    assert_eq!(location(&res), "/account?done=profile");
    let (_, html) = page(&app, "/account?done=profile", Some(&cookie)).await;
    assert!(html.contains(r#"value="Mo Account""#) && html.contains("Profile saved."));

    // Password: a wrong current one, a mismatch, then right.
    let events = app.count("audit_event").await;
    let res = app
        .post_form(
            "/account/password",
            &[
                ("current_password", "wrong password here"),
                ("new_password", NEW_PASSWORD),
                ("confirm_password", NEW_PASSWORD),
            ],
            Some(&cookie),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(
        res.text()
            .await
            .expect("html")
            .contains(r##"href="#current_password""##)
    );
    assert_eq!(
        app.count("audit_event").await,
        events + 1,
        "a failure is recorded, nothing changed"
    );
    let res = app
        .post_form(
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
                ("confirm_password", "something else entirely"),
            ],
            Some(&cookie),
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = app
        .post_form(
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
                ("confirm_password", NEW_PASSWORD),
            ],
            Some(&cookie),
        )
        .await;
    assert_eq!(location(&res), "/account?done=password");
    assert_eq!(
        app.get("/account", Some(&elsewhere)).await.status(),
        StatusCode::SEE_OTHER,
        "the other session ended"
    );
    let (status, _, _) = app.login("me@account.test", NEW_PASSWORD, None).await;
    assert_eq!(status, StatusCode::OK);

    // A token: shown once, listed by name, revoked.
    let res = app
        .post_form(
            "/account/tokens",
            &[("name", "Nightly export"), ("expires_in_days", "30")],
            Some(&cookie),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.expect("html");
    let token = token_in(&html, "sentra_pat_");
    assert!(token.len() > 20);
    assert_eq!(
        app.call(
            reqwest::Method::GET,
            "/api/v1/suppliers",
            None,
            Some(&token)
        )
        .await
        .status(),
        StatusCode::OK
    );
    let (_, html) = page(&app, "/account", Some(&cookie)).await;
    assert!(
        html.contains("Nightly export") && !html.contains(&token),
        "listed, never shown again"
    );
    let res = app
        .post_form(
            "/account/tokens",
            &[("name", "bad"), ("expires_in_days", "9999")],
            Some(&cookie),
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(
        res.text()
            .await
            .expect("html")
            .contains(r##"href="#token_days""##)
    );
    let id: uuid::Uuid = sqlx::query_scalar("select id from api_token")
        .fetch_one(app.db.superuser())
        .await
        .expect("token row");
    let res = app
        .post_form(&format!("/account/tokens/{id}/revoke"), &[], Some(&cookie))
        .await;
    assert_eq!(location(&res), "/account?done=token");
    assert_eq!(app.count("api_token").await, 0);

    // New recovery codes (the sign-in just now is a fresh check).
    let res = app
        .post_form("/account/recovery-codes", &[], Some(&cookie))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.text().await.expect("html").matches("<code>").count(),
        10
    );

    // Signing this session out from the list (the row marked as this one).
    let (_, html) = page(&app, "/account", Some(&cookie)).await;
    let row = &html[html.find("this session").expect("marked")..];
    let start = row.find("/account/sessions/").expect("form") + "/account/sessions/".len();
    let current = &row[start..start + 36];
    let sessions = app.count("session").await;
    let res = app
        .post_form(
            &format!("/account/sessions/{current}/revoke"),
            &[],
            Some(&cookie),
        )
        .await;
    assert_eq!(location(&res), "/login");
    assert_eq!(app.count("session").await, sessions - 1);
    assert_eq!(
        app.get("/account", Some(&cookie)).await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn the_reset_pages_answer_alike_then_set_a_password_once() {
    let Some(app) = TestApp::spawn_with(true).await else {
        return;
    };
    app.seed_owner("forgot@reset.test").await;
    let (status, html) = page(&app, "/login", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"href="/password-reset""#));
    let known = app
        .post_form("/password-reset", &[("email", "forgot@reset.test")], None)
        .await;
    let unknown = app
        .post_form("/password-reset", &[("email", "nobody@reset.test")], None)
        .await;
    assert_eq!(known.status(), StatusCode::OK);
    assert_eq!(unknown.status(), StatusCode::OK);
    let (a, b) = (
        known.text().await.expect("a"),
        unknown.text().await.expect("b"),
    );
    assert_eq!(a.replace("forgot@", "nobody@"), b, "the same answer");
    let mails = app.outbox.lock().expect("outbox").clone();
    assert_eq!(mails.len(), 1);
    let token = token_in(&mails[0].body, "rst_");
    // The per-address mail limit: later requests are answered alike, not mailed.
    for _ in 0..4 {
        let res = app
            .post_form("/password-reset", &[("email", "FORGOT@reset.test")], None)
            .await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    assert_eq!(app.outbox.lock().expect("outbox").len(), 3);

    let (status, html) = page(
        &app,
        &format!("/password-reset/confirm?token={token}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"<label for="password">"#));
    let res = app
        .post_form(
            "/password-reset/confirm",
            &[
                ("token", &token),
                ("password", NEW_PASSWORD),
                ("confirm_password", "not the same at all"),
            ],
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = app
        .post_form(
            "/password-reset/confirm",
            &[
                ("token", "rst_forged"),
                ("password", NEW_PASSWORD),
                ("confirm_password", NEW_PASSWORD),
            ],
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::GONE);
    // The first mailed token was replaced by the later mails: dead.
    let res = app
        .post_form(
            "/password-reset/confirm",
            &[
                ("token", &token),
                ("password", NEW_PASSWORD),
                ("confirm_password", NEW_PASSWORD),
            ],
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::GONE);
    let latest = token_in(&app.outbox.lock().expect("outbox")[2].body, "rst_");
    let res = app
        .post_form(
            "/password-reset/confirm",
            &[
                ("token", &latest),
                ("password", NEW_PASSWORD),
                ("confirm_password", NEW_PASSWORD),
            ],
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.expect("html").contains(r#"href="/login""#));
    let (status, _, _) = app.login("forgot@reset.test", NEW_PASSWORD, None).await;
    assert_eq!(status, StatusCode::OK);
    let res = app
        .post_form(
            "/password-reset/confirm",
            &[
                ("token", &latest),
                ("password", PASSWORD),
                ("confirm_password", PASSWORD),
            ],
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::GONE, "single use");
}

#[tokio::test]
async fn the_invitation_page_makes_the_account_and_sends_admins_to_enrol() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let owner = app
        .seed_owner_of("owner@join.test", "Join Builders Ltd")
        .await;
    let cookie = app.sign_in(&owner).await;
    let invite = |email: &'static str, role: &'static str| {
        let app = &app;
        let cookie = cookie.clone();
        async move {
            let res = app
                .post_form(
                    "/users/invite",
                    &[("email", email), ("role", role)],
                    Some(&cookie),
                )
                .await;
            assert_eq!(res.status(), StatusCode::OK);
            token_in(&res.text().await.expect("html"), "inv_")
        }
    };
    let admin_token = invite("admin@join.test", "admin").await;
    let (status, html) = page(
        &app,
        &format!("/invitations/accept?token={admin_token}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Join Builders Ltd") && html.contains("admin@join.test"));
    assert!(html.contains(r#"<label for="password">"#));
    // A weak password: the reason, nothing written.
    let users = app.count("app_user").await;
    let res = app
        .post_form(
            "/invitations/accept",
            &[
                ("token", &admin_token),
                ("name", "Ada Admin"),
                ("password", "short"),
                ("confirm_password", "short"),
            ],
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(
        res.text()
            .await
            .expect("html")
            .contains("There is a problem")
    );
    assert_eq!(app.count("app_user").await, users);
    let res = app
        .post_form(
            "/invitations/accept",
            &[
                ("token", &admin_token),
                ("name", "Ada Admin"),
                ("password", NEW_PASSWORD),
                ("confirm_password", NEW_PASSWORD),
            ],
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/account/mfa", "admins enrol first");
    assert!(session_cookie(res.headers()).is_some());
    let name: Option<String> =
        sqlx::query_scalar("select display_name from app_user where email = 'admin@join.test'")
            .fetch_one(app.db.superuser())
            .await
            .expect("user");
    assert_eq!(name.as_deref(), Some("Ada Admin"));
    let (status, _) = page(
        &app,
        &format!("/invitations/accept?token={admin_token}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::GONE, "used once");

    // A clerk goes straight in.
    let clerk_token = invite("clerk@join.test", "clerk").await;
    let res = app
        .post_form(
            "/invitations/accept",
            &[
                ("token", &clerk_token),
                ("password", NEW_PASSWORD),
                ("confirm_password", NEW_PASSWORD),
            ],
            None,
        )
        .await;
    assert_eq!(location(&res), "/");

    // An existing account is asked to sign in, then accepts.
    let other = app.seed_owner("someone@other.test").await;
    let token = invite("someone@other.test", "viewer").await;
    let (_, html) = page(&app, &format!("/invitations/accept?token={token}"), None).await;
    assert!(html.contains("/login?next=%2Finvitations%2Faccept%3Ftoken%3D"));
    assert!(!html.contains(r#"name="password""#));
    let theirs = app.sign_in(&other).await;
    let res = app
        .post_form("/invitations/accept", &[("token", &token)], Some(&theirs))
        .await;
    assert_eq!(location(&res), "/");
    let n: i64 = sqlx::query_scalar("select count(*) from membership where user_id = $1")
        .bind(other.user.as_uuid())
        .fetch_one(app.db.superuser())
        .await
        .expect("memberships");
    assert_eq!(n, 2);
}

#[tokio::test]
async fn suppliers_import_by_file_previews_and_refuses_other_files() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let owner = app.seed_owner("owner@upload.test").await;
    let clerk = crate::support::member(&app, owner.org, "clerk@upload.test", Role::Clerk).await;
    let csv = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/suppliers/sentra.csv"
    ))
    .expect("fixture");
    let upload = |name: &'static str, ctype: &'static str, bytes: Vec<u8>| {
        let app = &app;
        let clerk = clerk.clone();
        async move {
            let boundary = "sentraBoundary7MA4YWxk";
            let mut body = format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"format\"\r\n\r\nsentra\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: {ctype}\r\n\r\n"
            )
            .into_bytes();
            body.extend_from_slice(&bytes);
            body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
            app.client
                .post(app.url("/suppliers/import/file"))
                .header(
                    "content-type",
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .header("origin", app.base.clone())
                .header(reqwest::header::COOKIE, clerk)
                .body(body)
                .send()
                .await
                .expect("upload")
        }
    };
    let (status, html) = page(&app, "/suppliers/import", Some(&clerk)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains(r#"enctype="multipart/form-data""#) && html.contains(r#"<label for="file">"#)
    );
    let res = upload("suppliers.csv", "text/csv", csv.clone()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.expect("html");
    assert!(html.contains("Preview") && html.contains("Apex Scaffolding Ltd"));
    assert!(html.contains(r#"name="confirm" value="yes""#));
    assert_eq!(app.count("supplier").await, 0, "a preview writes nothing");

    let res = upload(
        "suppliers.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        b"PK\x03\x04".to_vec(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(res.text().await.expect("html").contains("not a CSV file"));
    let res = upload("binary.csv", "text/csv", vec![0xff, 0xfe, 0x00, 0x41]).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let big = vec![b'a'; 1024 * 1024 + 10];
    let res = upload("big.csv", "text/csv", big).await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(res.text().await.expect("html").contains("larger than"));
    // Per-row errors come back on the page, as for pasted text.
    let bad = b"name,domains,emails,phone,country,sort_code,account_number,bsb,routing_number,iban,bic,account_name\n,,,,GB,,,,,,,\n".to_vec();
    let res = upload("bad.csv", "text/csv", bad).await;
    assert!(res.text().await.expect("html").contains("row error"));
    assert_eq!(app.count("supplier").await, 0);
    let supplier_events: i64 =
        sqlx::query_scalar("select count(*) from audit_event where action like 'supplier%'")
            .fetch_one(app.db.superuser())
            .await
            .expect("events");
    assert_eq!(supplier_events, 0, "nothing imported, nothing recorded");
}
