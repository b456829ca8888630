//! Sign-up, MFA enrolment with recovery codes, the MFA policy, step-up,
//! the session list and per-address throttling.

use crate::{PASSWORD, TestApp, current_code, error_code, session_cookie};
use reqwest::{Method, StatusCode};
use sentra_domain::Role;
use sentra_web::totp;
use serde_json::json;

/// RFC 4648 base32 (no padding) back to bytes.
pub(crate) fn base32_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut out, mut buffer, mut bits) = (Vec::new(), 0u32, 0u32);
    for c in s.bytes() {
        let v = ALPHABET.iter().position(|a| *a == c).expect("base32") as u32;
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    out
}

/// The code of the previous time step: accepted, and leaves the current
/// step free for the next verification.
pub(crate) fn previous_code(secret: &[u8]) -> String {
    totp::code_for_step(secret, totp::step_at(crate::now()) - 1)
}

/// Signs up; returns the cookie and the body.
pub(crate) async fn sign_up(app: &TestApp, email: &str) -> (String, serde_json::Value) {
    let res = app
        .call(
            Method::POST,
            "/api/v1/auth/signup",
            Some(&json!({ "organisation": "Acme Build", "email": email, "password": PASSWORD })),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let cookie = session_cookie(res.headers()).expect("cookie");
    (cookie, res.json().await.expect("json"))
}

/// Enrols TOTP on a signed-in session; returns the new cookie, the secret
/// and the recovery codes.
pub(crate) async fn enrol(app: &TestApp, cookie: &str) -> (String, Vec<u8>, Vec<String>) {
    let res = app
        .call(Method::POST, "/api/v1/auth/mfa/enrol", None, Some(cookie))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: serde_json::Value = res.json().await.expect("json");
    assert!(
        body["qr_svg"].as_str().expect("svg").starts_with("<?xml")
            || body["qr_svg"].as_str().expect("svg").contains("<svg")
    );
    assert!(
        body["otpauth_uri"]
            .as_str()
            .expect("uri")
            .starts_with("otpauth://totp/Sentra:")
    );
    let secret = base32_decode(body["secret"].as_str().expect("secret"));
    let res = app
        .call(
            Method::POST,
            "/api/v1/auth/mfa/confirm",
            Some(&json!({ "code": previous_code(&secret) })),
            Some(cookie),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = session_cookie(res.headers()).expect("rotated");
    let body: serde_json::Value = res.json().await.expect("json");
    let codes: Vec<String> = body["recovery_codes"]
        .as_array()
        .expect("codes")
        .iter()
        .map(|c| c.as_str().expect("code").to_owned())
        .collect();
    (cookie, secret, codes)
}

#[tokio::test]
async fn sign_up_then_enrol_then_sign_in_with_a_code() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let (cookie, body) = sign_up(&app, "owner@acme.test").await;
    assert_eq!(body["mfa_enrolment_required"], true);
    let org = sentra_domain::OrgId::from_uuid(
        body["org_id"].as_str().expect("org").parse().expect("uuid"),
    );
    // An owner without an authenticator cannot work yet.
    let res = app
        .call(Method::GET, "/api/v1/suppliers", None, Some(&cookie))
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(res).await, "mfa_enrolment_required");
    let (cookie, secret, codes) = enrol(&app, &cookie).await;
    assert_eq!(codes.len(), 10);
    assert_eq!(
        codes.iter().collect::<std::collections::HashSet<_>>().len(),
        10
    );
    let res = app
        .call(Method::GET, "/api/v1/suppliers", None, Some(&cookie))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    // Stored: the secret encrypted, the codes hashed, nothing in clear.
    let (hashes, pending): (Vec<String>, Option<Vec<u8>>) = sqlx::query_as(
        "select recovery_code_hashes, totp_pending_enc from app_user where lower(email) = 'owner@acme.test'",
    )
    .fetch_one(app.db.superuser())
    .await
    .expect("row");
    assert!(pending.is_none());
    assert_eq!(hashes.len(), 10);
    assert!(hashes.iter().all(|h| h.starts_with("$argon2id$")));
    // Sign in again: the password, then the current code.
    let (status, body, pending) = app.login("owner@acme.test", PASSWORD, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["mfa_required"], true);
    let (status, full) = app
        .mfa(&pending.expect("cookie"), &current_code(&secret))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(full.is_some());
    assert_eq!(
        app.audit_actions(org).await,
        [
            "org.create",
            "auth.mfa.enrol.start",
            "auth.mfa.enrol",
            "auth.login.success",
            "auth.mfa.success"
        ]
    );
}

#[tokio::test]
async fn sign_up_refuses_bad_input_and_writes_nothing() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let bad = [
        (
            json!({ "organisation": "", "email": "a@b.test", "password": PASSWORD }),
            "invalid_organisation",
        ),
        (
            json!({ "organisation": "X", "email": "not an address", "password": PASSWORD }),
            "invalid_email",
        ),
        (
            json!({ "organisation": "X", "email": "a@b.test", "password": "short" }),
            "weak_password",
        ),
        (
            json!({ "organisation": "X", "email": "a@b.test" }),
            "invalid_body",
        ),
        (
            json!({ "organisation": "X", "email": "a@b.test", "password": PASSWORD, "org_id": "x" }),
            "invalid_body",
        ),
    ];
    for (body, code) in bad {
        let res = app
            .call(Method::POST, "/api/v1/auth/signup", Some(&body), None)
            .await;
        assert_eq!(res.status().as_u16() / 100, 4, "{body}");
        assert_eq!(error_code(res).await, code, "{body}");
    }
    let res = app
        .client
        .post(app.url("/api/v1/auth/signup"))
        .header("content-type", "text/plain")
        .body("organisation=X")
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let res = app
        .client
        .post(app.url("/api/v1/auth/signup"))
        .header("content-type", "application/json")
        .body("{\"organisation\": ")
        .send()
        .await
        .expect("send");
    assert_eq!(error_code(res).await, "malformed_json");
    let res = app
        .client
        .post(app.url("/api/v1/auth/signup"))
        .header("content-type", "application/json")
        .body(format!(
            "{{\"organisation\": \"{}\"}}",
            "x".repeat(2 * 1024 * 1024)
        ))
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(app.count("app_user").await, 0);
    assert_eq!(app.count("organisation").await, 0);
    assert_eq!(app.count("audit_event").await, 0);
    // A taken address: 409, and still only the first organisation.
    sign_up(&app, "dup@acme.test").await;
    let res = app
        .call(
            Method::POST,
            "/api/v1/auth/signup",
            Some(
                &json!({ "organisation": "Again", "email": "DUP@acme.test", "password": PASSWORD }),
            ),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(app.count("organisation").await, 1);
    assert_eq!(app.count("audit_event").await, 1);
}

#[tokio::test]
async fn a_recovery_code_signs_in_once_and_never_again() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let (cookie, _) = sign_up(&app, "owner@acme.test").await;
    let (_, _, codes) = enrol(&app, &cookie).await;
    let (_, _, pending) = app.login("owner@acme.test", PASSWORD, None).await;
    let pending = pending.expect("cookie");
    let wrong = app
        .call(
            Method::POST,
            "/api/v1/auth/recovery",
            Some(&json!({ "code": "aaaa-bbbb-cccc-dddd" })),
            Some(&pending),
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let res = app
        .call(
            Method::POST,
            "/api/v1/auth/recovery",
            Some(&json!({ "code": codes[3].to_uppercase() })),
            Some(&pending),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let full = session_cookie(res.headers()).expect("rotated");
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(body["recovery_codes_left"], 9);
    assert_eq!(
        app.call(Method::GET, "/api/v1/suppliers", None, Some(&full))
            .await
            .status(),
        StatusCode::OK
    );
    // The same code again, in a fresh sign-in: refused.
    let (_, _, pending) = app.login("owner@acme.test", PASSWORD, None).await;
    let res = app
        .call(
            Method::POST,
            "/api/v1/auth/recovery",
            Some(&json!({ "code": codes[3] })),
            pending.as_deref(),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let left: i32 = sqlx::query_scalar("select cardinality(recovery_code_hashes) from app_user")
        .fetch_one(app.db.superuser())
        .await
        .expect("left");
    assert_eq!(left, 9);
}

async fn age_step_up(app: &TestApp) {
    sqlx::query("update session set data = jsonb_set(data, '{mfa_at}', '0')")
        .execute(app.db.superuser())
        .await
        .expect("age");
}

#[tokio::test]
async fn step_up_is_required_then_accepted_and_a_replayed_code_refused() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let owner = app.seed_owner("owner@acme.test").await;
    let clerk = app
        .seed_member(owner.org, "clerk@acme.test", Role::Clerk, false)
        .await;
    let cookie = app.sign_in(&owner).await;
    age_step_up(&app).await;
    let role_body = json!({ "role": "approver" });
    let path = format!("/api/v1/users/{}", clerk.user);
    let res = app
        .call(Method::PATCH, &path, Some(&role_body), Some(&cookie))
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(res).await, "step_up_required");
    // A fresh step (the sign-in used the current one).
    sqlx::query("update app_user set last_totp_step = null")
        .execute(app.db.superuser())
        .await
        .expect("reset step");
    let code = current_code(owner.secret.as_deref().expect("secret"));
    let res = app
        .call(
            Method::POST,
            "/api/v1/auth/step-up",
            Some(&json!({ "code": code })),
            Some(&cookie),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let stepped = session_cookie(res.headers()).expect("rotated");
    assert_ne!(stepped, cookie);
    let res = app
        .call(Method::PATCH, &path, Some(&role_body), Some(&stepped))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    // The same code cannot step up again.
    age_step_up(&app).await;
    let res = app
        .call(
            Method::POST,
            "/api/v1/auth/step-up",
            Some(&json!({ "code": code })),
            Some(&stepped),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let actions = app.audit_actions(owner.org).await;
    assert_eq!(actions.iter().filter(|a| *a == "member.role").count(), 1);
    assert_eq!(actions.iter().filter(|a| *a == "auth.step_up").count(), 1);
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == "auth.step_up.failure")
            .count(),
        1
    );
}

#[tokio::test]
async fn require_mfa_for_everyone_blocks_unenrolled_members_and_needs_step_up() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let owner = app.seed_owner("owner@acme.test").await;
    let clerk = app
        .seed_member(owner.org, "clerk@acme.test", Role::Clerk, false)
        .await;
    let admin = app
        .seed_member(owner.org, "admin@acme.test", Role::Admin, false)
        .await;
    let clerk_cookie = app.sign_in(&clerk).await;
    assert_eq!(
        app.call(Method::GET, "/api/v1/suppliers", None, Some(&clerk_cookie))
            .await
            .status(),
        StatusCode::OK
    );
    // An admin without an authenticator is told to enrol at login.
    let (_, body, admin_cookie) = app.login(&admin.email, PASSWORD, None).await;
    assert_eq!(body["mfa_enrolment_required"], true);
    let res = app
        .call(
            Method::GET,
            "/api/v1/settings",
            None,
            admin_cookie.as_deref(),
        )
        .await;
    assert_eq!(error_code(res).await, "mfa_enrolment_required");
    let cookie = app.sign_in(&owner).await;
    age_step_up(&app).await;
    let on = json!({ "require_mfa": true });
    let res = app
        .call(Method::PATCH, "/api/v1/settings", Some(&on), Some(&cookie))
        .await;
    assert_eq!(error_code(res).await, "step_up_required");
    // Other settings need no step-up.
    let res = app
        .call(
            Method::PATCH,
            "/api/v1/settings",
            Some(&json!({ "raw_email_days": 14 })),
            Some(&cookie),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    sqlx::query("update session set data = jsonb_set(data, '{mfa_at}', to_jsonb(extract(epoch from now())::bigint))")
        .execute(app.db.superuser())
        .await
        .expect("fresh");
    let res = app
        .call(Method::PATCH, "/api/v1/settings", Some(&on), Some(&cookie))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(body["require_mfa"], true);
    assert_eq!(body["raw_email_days"], 14);
    let res = app
        .call(Method::GET, "/api/v1/suppliers", None, Some(&clerk_cookie))
        .await;
    assert_eq!(error_code(res).await, "mfa_enrolment_required");
    // The same value again changes nothing and writes no event.
    app.call(Method::PATCH, "/api/v1/settings", Some(&on), Some(&cookie))
        .await;
    let actions = app.audit_actions(owner.org).await;
    assert_eq!(
        actions.iter().filter(|a| *a == "settings.update").count(),
        2
    );
}

#[tokio::test]
async fn settings_refuse_bad_values_and_other_roles() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let owner = app.seed_owner("owner@acme.test").await;
    let clerk = app
        .seed_member(owner.org, "clerk@acme.test", Role::Clerk, false)
        .await;
    let cookie = app.sign_in(&owner).await;
    for body in [
        json!({ "raw_email_days": 0 }),
        json!({ "messages_months": 1000 }),
        json!({ "alert_min_risk": "extreme" }),
        json!({ "require_mfa": "yes" }),
        json!({ "org_id": owner.org.to_string() }),
    ] {
        let res = app
            .call(
                Method::PATCH,
                "/api/v1/settings",
                Some(&body),
                Some(&cookie),
            )
            .await;
        assert_eq!(res.status().as_u16() / 100, 4, "{body}");
    }
    let clerk_cookie = app.sign_in(&clerk).await;
    let res = app
        .call(Method::GET, "/api/v1/settings", None, Some(&clerk_cookie))
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = app
        .call(
            Method::PATCH,
            "/api/v1/settings",
            Some(&json!({ "raw_email_days": 5 })),
            Some(&clerk_cookie),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let days: i32 = sqlx::query_scalar("select raw_email_days from org_settings")
        .fetch_one(app.db.superuser())
        .await
        .expect("days");
    assert_eq!(days, 30);
    assert!(
        !app.audit_actions(owner.org)
            .await
            .iter()
            .any(|a| a == "settings.update")
    );
}

#[tokio::test]
async fn the_enrolment_page_shows_a_qr_code_and_then_the_recovery_codes_once() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let (cookie, _) = sign_up(&app, "owner@acme.test").await;
    // Signing in through the page sends an owner without an app to enrolment.
    let res = app
        .post_form(
            "/login",
            &[("email", "owner@acme.test"), ("password", PASSWORD)],
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        res.headers().get("location").and_then(|v| v.to_str().ok()),
        Some("/account/mfa")
    );
    let page = app.get("/account/mfa", Some(&cookie)).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("html");
    assert!(html.contains("<svg") && html.contains("<label for=\"code\">"));
    assert!(!html.contains("<script>"));
    let secret = html
        .split("<code class=\"secret\">")
        .nth(1)
        .and_then(|r| r.split("</code>").next())
        .expect("secret shown");
    // A reload shows the same pending key, not a new one.
    let again = app
        .get("/account/mfa", Some(&cookie))
        .await
        .text()
        .await
        .expect("html");
    assert!(again.contains(secret));
    let secret = base32_decode(secret);
    let wrong = app
        .post_form("/account/mfa", &[("code", "000000")], Some(&cookie))
        .await;
    if previous_code(&secret) != "000000" {
        assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    }
    let res = app
        .post_form(
            "/account/mfa",
            &[("code", &previous_code(&secret))],
            Some(&cookie),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let full = session_cookie(res.headers()).expect("rotated");
    let html = res.text().await.expect("html");
    assert_eq!(html.matches("<li><code>").count(), 10);
    assert_eq!(
        app.call(Method::GET, "/api/v1/suppliers", None, Some(&full))
            .await
            .status(),
        StatusCode::OK
    );
}
