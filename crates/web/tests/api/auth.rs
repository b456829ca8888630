//! Sign-in, MFA, logout, session rotation, lockout and body handling.

use crate::{PASSWORD, TestApp, current_code, error_code};
use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;

async fn audit_actions(app: &TestApp, org: sentra_domain::OrgId) -> Vec<String> {
    sqlx::query_scalar("select action from audit_event where org_id = $1 order by seq")
        .bind(org.as_uuid())
        .fetch_all(app.db.superuser())
        .await
        .expect("audit")
}

#[tokio::test]
async fn login_then_mfa_then_the_tenant_api_works() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let alice = app.seed("alice@example.test", true).await;
    let (status, body, cookie) = app.login("alice@example.test", PASSWORD, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["mfa_required"], true);
    let pending = cookie.expect("cookie");
    // Before MFA the tenant API is closed.
    assert_eq!(
        app.get("/api/v1/suppliers", Some(&pending)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let (status, full) = app
        .mfa(
            &pending,
            &current_code(alice.secret.as_deref().unwrap_or_default()),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let full = full.expect("rotated cookie");
    assert_ne!(full, pending, "the id is rotated after MFA");
    let res = app.get("/api/v1/suppliers", Some(&full)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let list: serde_json::Value = res.json().await.expect("json");
    assert_eq!(list, serde_json::json!([]));
    // The pre-MFA cookie died with the rotation.
    assert_eq!(
        app.get("/api/v1/suppliers", Some(&pending)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        audit_actions(&app, alice.org).await,
        ["auth.login.success", "auth.mfa.success"]
    );
}

#[tokio::test]
async fn a_user_without_totp_needs_no_mfa() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    app.seed("bob@example.test", false).await;
    let (status, body, cookie) = app.login("BOB@example.test", PASSWORD, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["mfa_required"], false);
    let res = app.get("/api/v1/suppliers", cookie.as_deref()).await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_generic_401() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let alice = app.seed("alice@example.test", true).await;
    let (s1, b1, c1) = app
        .login("alice@example.test", "wrong password!!", None)
        .await;
    let (s2, b2, c2) = app.login("nobody@example.test", PASSWORD, None).await;
    assert_eq!(s1, StatusCode::UNAUTHORIZED);
    assert_eq!((s1, &b1), (s2, &b2));
    assert_eq!(b1["error"]["code"], "unauthorized");
    assert!(c1.is_none() && c2.is_none());
    assert_eq!(audit_actions(&app, alice.org).await, ["auth.login.failure"]);
    let count: i32 = sqlx::query_scalar("select failed_password_count from app_user where id = $1")
        .bind(alice.user.as_uuid())
        .fetch_one(app.db.superuser())
        .await
        .expect("count");
    assert_eq!(count, 1);
}

#[tokio::test]
async fn a_replayed_totp_code_is_rejected() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let alice = app.seed("alice@example.test", true).await;
    let code = current_code(alice.secret.as_deref().unwrap_or_default());
    let (_, _, first) = app.login("alice@example.test", PASSWORD, None).await;
    assert_eq!(
        app.mfa(&first.expect("cookie"), &code).await.0,
        StatusCode::OK
    );
    let (_, _, second) = app.login("alice@example.test", PASSWORD, None).await;
    let second = second.expect("cookie");
    let (status, cookie) = app.mfa(&second, &code).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(cookie.is_none());
    assert_eq!(
        app.get("/api/v1/suppliers", Some(&second)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let (status, _) = app.mfa(&second, "000000").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let actions = audit_actions(&app, alice.org).await;
    assert_eq!(
        actions.iter().filter(|a| *a == "auth.mfa.failure").count(),
        2
    );
}

#[tokio::test]
async fn logout_invalidates_the_cookie() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let alice = app.seed("alice@example.test", true).await;
    let cookie = app.sign_in(&alice).await;
    let res = app
        .post("/api/v1/auth/logout", &serde_json::json!({}), Some(&cookie))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let cleared = res
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert_eq!(
        app.get("/api/v1/suppliers", Some(&cookie)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let again = app
        .post("/api/v1/auth/logout", &serde_json::json!({}), Some(&cookie))
        .await;
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        audit_actions(&app, alice.org)
            .await
            .last()
            .map(String::as_str),
        Some("auth.logout")
    );
}

#[tokio::test]
async fn logging_in_again_rotates_the_session_id() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let bob = app.seed("bob@example.test", false).await;
    let before = app.sign_in(&bob).await;
    let (status, _, after) = app.login(&bob.email, PASSWORD, Some(&before)).await;
    assert_eq!(status, StatusCode::OK);
    let after = after.expect("cookie");
    assert_ne!(before, after);
    assert_eq!(
        app.get("/api/v1/suppliers", Some(&before)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get("/api/v1/suppliers", Some(&after)).await.status(),
        StatusCode::OK
    );
    // Only the hash of the cookie is stored.
    let raw = after
        .split_once('=')
        .map(|(_, v)| v.to_owned())
        .unwrap_or_default();
    let hits: i64 = sqlx::query_scalar("select count(*) from session where id = $1")
        .bind(&raw)
        .fetch_one(app.db.superuser())
        .await
        .expect("count");
    assert_eq!(hits, 0);
}

#[tokio::test]
async fn ten_failures_lock_the_account_even_for_the_right_password() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let bob = app.seed("bob@example.test", false).await;
    for _ in 0..10 {
        let (status, _, _) = app.login(&bob.email, "not the password", None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, body, cookie) = app.login(&bob.email, PASSWORD, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "unauthorized");
    assert!(cookie.is_none());
    // Once the lock has run out the right password works again.
    sqlx::query("update app_user set locked_until = now() - interval '1 second' where id = $1")
        .bind(bob.user.as_uuid())
        .execute(app.db.superuser())
        .await
        .expect("expire lock");
    assert_eq!(
        app.login(&bob.email, PASSWORD, None).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn idle_and_absolute_timeouts_end_the_session() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let bob = app.seed("bob@example.test", false).await;
    let idle = app.sign_in(&bob).await;
    sqlx::query("update session set expires_at = now() - interval '1 second'")
        .execute(app.db.superuser())
        .await
        .expect("age");
    assert_eq!(
        app.get("/api/v1/suppliers", Some(&idle)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let old = app.sign_in(&bob).await;
    sqlx::query("update session set created_at = now() - interval '12 hours 1 minute'")
        .execute(app.db.superuser())
        .await
        .expect("age");
    assert_eq!(
        app.get("/api/v1/suppliers", Some(&old)).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn bad_bodies_get_clear_4xx_in_the_json_error_shape() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let url = app.url("/api/v1/auth/login");
    let malformed = app
        .client
        .post(&url)
        .header(CONTENT_TYPE, "application/json")
        .body("{\"email\":")
        .send()
        .await
        .expect("send");
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(malformed).await, "malformed_json");
    let wrong_type = app
        .client
        .post(&url)
        .header(CONTENT_TYPE, "text/plain")
        .body("{}")
        .send()
        .await
        .expect("send");
    assert_eq!(wrong_type.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(error_code(wrong_type).await, "unsupported_media_type");
    let missing = app
        .client
        .post(&url)
        .json(&serde_json::json!({ "email": "a@b.c" }))
        .send()
        .await
        .expect("send");
    assert_eq!(missing.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_code(missing).await, "invalid_body");
    let huge = format!(
        "{{\"email\":\"{}\",\"password\":\"x\"}}",
        "a".repeat(2 * 1024 * 1024)
    );
    let oversized = app
        .client
        .post(&url)
        .header(CONTENT_TYPE, "application/json")
        .body(huge)
        .send()
        .await
        .expect("send");
    assert_eq!(oversized.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_code(oversized).await, "body_too_large");
}

#[tokio::test]
async fn ten_wrong_codes_lock_mfa_and_the_hard_cap_refuses_even_the_right_code() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let alice = app.seed("alice@example.test", true).await;
    let secret = alice.secret.clone().unwrap_or_default();
    let (_, _, pending) = app.login(&alice.email, PASSWORD, None).await;
    let pending = pending.expect("cookie");
    let wrong = if current_code(&secret) == "000000" {
        "111111"
    } else {
        "000000"
    };
    for _ in 0..10 {
        assert_eq!(app.mfa(&pending, wrong).await.0, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        app.mfa(&pending, &current_code(&secret)).await.0,
        StatusCode::UNAUTHORIZED,
        "locked after 10 failures"
    );
    // Past the lock but at the hard cap: still refused.
    sqlx::query("update app_user set locked_until = null, failed_totp_count = 100 where id = $1")
        .bind(alice.user.as_uuid())
        .execute(app.db.superuser())
        .await
        .expect("cap");
    assert_eq!(
        app.mfa(&pending, &current_code(&secret)).await.0,
        StatusCode::UNAUTHORIZED
    );
    // Below the cap the right code works and clears the counter.
    sqlx::query("update app_user set failed_totp_count = 99 where id = $1")
        .bind(alice.user.as_uuid())
        .execute(app.db.superuser())
        .await
        .expect("below cap");
    assert_eq!(
        app.mfa(&pending, &current_code(&secret)).await.0,
        StatusCode::OK
    );
    let count: i32 = sqlx::query_scalar("select failed_totp_count from app_user where id = $1")
        .bind(alice.user.as_uuid())
        .fetch_one(app.db.superuser())
        .await
        .expect("count");
    assert_eq!(count, 0);
}

#[tokio::test]
async fn an_unknown_address_leaves_no_audit_event_anywhere() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    app.seed("alice@example.test", false).await;
    assert_eq!(
        app.login("ghost@example.test", PASSWORD, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    let events: i64 = sqlx::query_scalar("select count(*) from audit_event")
        .fetch_one(app.db.superuser())
        .await
        .expect("count");
    assert_eq!(events, 0);
}

#[tokio::test]
async fn expired_sessions_are_purged_and_live_ones_kept() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let bob = app.seed("bob@example.test", false).await;
    let old = app.sign_in(&bob).await;
    sqlx::query("update session set expires_at = now() - interval '1 second'")
        .execute(app.db.superuser())
        .await
        .expect("age");
    let live = app.sign_in(&bob).await;
    let purged = sentra_store::repo::session::purge_expired(app.db.app_pool())
        .await
        .expect("purge");
    assert_eq!(purged, 1);
    assert_eq!(
        app.get("/api/v1/suppliers", Some(&old)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get("/api/v1/suppliers", Some(&live)).await.status(),
        StatusCode::OK
    );
}
