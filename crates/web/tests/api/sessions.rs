//! The session list and revocation, and per-address throttling of the
//! credential routes.

use crate::{PASSWORD, TestApp, error_code};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn revoking_a_session_signs_that_session_out() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let owner = app.seed_owner("owner@acme.test").await;
    let phone = app.sign_in(&owner).await;
    sqlx::query("update app_user set last_totp_step = null")
        .execute(app.db.superuser())
        .await
        .expect("reset step");
    let laptop = app.sign_in(&owner).await;
    let res = app
        .call(Method::GET, "/api/v1/auth/sessions", None, Some(&laptop))
        .await;
    let list: serde_json::Value = res.json().await.expect("json");
    let list = list.as_array().expect("array");
    assert_eq!(list.len(), 2);
    let other = list
        .iter()
        .find(|s| s["current"] == false)
        .expect("the phone");
    let id = other["id"].as_str().expect("id");
    assert!(!phone.contains(id));
    let res = app
        .call(
            Method::DELETE,
            &format!("/api/v1/auth/sessions/{id}"),
            None,
            Some(&laptop),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.call(Method::GET, "/api/v1/suppliers", None, Some(&phone))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.call(Method::GET, "/api/v1/suppliers", None, Some(&laptop))
            .await
            .status(),
        StatusCode::OK
    );
    // Again, or someone else's, or nonsense: 404.
    for bad in [
        id.to_owned(),
        uuid::Uuid::new_v4().to_string(),
        "x".to_owned(),
    ] {
        let res = app
            .call(
                Method::DELETE,
                &format!("/api/v1/auth/sessions/{bad}"),
                None,
                Some(&laptop),
            )
            .await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
    }
    let actions = app.audit_actions(owner.org).await;
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == "auth.session.revoke")
            .count(),
        1
    );
}

#[tokio::test]
async fn one_address_is_throttled_across_accounts() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    // Cheap requests (refused at the body) still spend the address's
    // tokens, so the loop is fast and the count does not depend on how
    // slowly argon2 runs on a loaded machine.
    let mut throttled = 0;
    for _ in 0..40 {
        let res = app
            .call(Method::POST, "/api/v1/auth/login", Some(&json!({})), None)
            .await;
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(error_code(res).await, "too_many_requests");
            throttled += 1;
        }
    }
    // 30 at once, then one per two seconds.
    assert!(throttled >= 5, "{throttled}");
    let (status, _, _) = app.login("a@b.test", PASSWORD, None).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let res = app
        .call(
            Method::POST,
            "/api/v1/auth/password-reset/request",
            Some(&json!({ "email": "a@b.test" })),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    // Other routes are not throttled by it.
    assert_eq!(app.get("/healthz", None).await.status(), StatusCode::OK);
}
