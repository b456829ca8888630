//! Security headers on every response and the cross-origin check.

use crate::{PASSWORD, TestApp};
use reqwest::StatusCode;

fn assert_security_headers(res: &reqwest::Response) {
    let h = res.headers();
    let csp = h
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(csp.contains("default-src 'self'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(
        h.get("x-content-type-options")
            .and_then(|v| v.to_str().ok()),
        Some("nosniff")
    );
    assert_eq!(
        h.get("referrer-policy").and_then(|v| v.to_str().ok()),
        Some("same-origin")
    );
    assert!(h.get("x-request-id").is_some());
    // Plain http on loopback: no HSTS.
    assert!(h.get("strict-transport-security").is_none());
}

#[tokio::test]
async fn every_kind_of_response_carries_the_security_headers() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    assert_security_headers(&app.get("/healthz", None).await);
    assert_security_headers(&app.get("/nope", None).await);
    assert_security_headers(&app.get("/api/v1/suppliers", None).await);
    assert_security_headers(
        &app.post("/api/v1/auth/login", &serde_json::json!({}), None)
            .await,
    );
}

#[tokio::test]
async fn a_cross_site_post_is_refused_with_403_and_changes_nothing() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let bob = app.seed("bob@example.test", false).await;
    let cookie = app.sign_in(&bob).await;
    let login = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("origin", "http://evil.example")
        .json(&serde_json::json!({ "email": bob.email, "password": "wrong password!!" }))
        .send()
        .await
        .expect("send");
    assert_eq!(login.status(), StatusCode::FORBIDDEN);
    assert_eq!(crate::error_code(login).await, "cross_origin");
    let logout = app
        .client
        .post(app.url("/api/v1/auth/logout"))
        .header("cookie", &cookie)
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .expect("send");
    assert_eq!(logout.status(), StatusCode::FORBIDDEN);
    // No failure was counted and the session is still alive.
    let count: i32 = sqlx::query_scalar("select failed_password_count from app_user where id = $1")
        .bind(bob.user.as_uuid())
        .fetch_one(app.db.superuser())
        .await
        .expect("count");
    assert_eq!(count, 0);
    assert_eq!(
        app.get("/api/v1/suppliers", Some(&cookie)).await.status(),
        StatusCode::OK
    );
    // The same request from the app's own origin goes through.
    let own = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("origin", app.base.clone())
        .json(&serde_json::json!({ "email": bob.email, "password": PASSWORD }))
        .send()
        .await
        .expect("send");
    assert_eq!(own.status(), StatusCode::OK);
}
