//! Password reset: no enumeration, single use, short-lived, MFA not
//! bypassed, every session ended.

use crate::{PASSWORD, TestApp, current_code, error_code};
use reqwest::{Method, StatusCode};
use sentra_domain::Role;
use serde_json::json;

const NEW_PASSWORD: &str = "another long enough password";

fn token_of(text: &str) -> String {
    let at = text.find("token=").expect("token") + "token=".len();
    text[at..]
        .split_whitespace()
        .next()
        .expect("token")
        .to_owned()
}

#[tokio::test]
async fn the_request_answers_the_same_for_known_and_unknown_addresses() {
    let Some(app) = TestApp::spawn_with(true).await else {
        return;
    };
    let owner = app.seed_owner("owner@acme.test").await;
    let known = app
        .call(
            Method::POST,
            "/api/v1/auth/password-reset/request",
            Some(&json!({ "email": "OWNER@acme.test" })),
            None,
        )
        .await;
    let unknown = app
        .call(
            Method::POST,
            "/api/v1/auth/password-reset/request",
            Some(&json!({ "email": "nobody@acme.test" })),
            None,
        )
        .await;
    assert_eq!(known.status(), StatusCode::ACCEPTED);
    assert_eq!(unknown.status(), StatusCode::ACCEPTED);
    assert_eq!(
        known.text().await.expect("a"),
        unknown.text().await.expect("b")
    );
    let sent = app.outbox.lock().expect("outbox").clone();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, "owner@acme.test");
    let token = token_of(&sent[0].body);
    // Reset, once.
    let cookie = app.sign_in(&owner).await;
    let body = json!({ "token": token, "password": NEW_PASSWORD });
    let res = app
        .call(
            Method::POST,
            "/api/v1/auth/password-reset/confirm",
            Some(&body),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app
        .call(
            Method::POST,
            "/api/v1/auth/password-reset/confirm",
            Some(&body),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::GONE);
    assert_eq!(error_code(res).await, "reset_invalid");
    // Every session ended; the old password is dead, the new one still needs MFA.
    assert_eq!(
        app.call(Method::GET, "/api/v1/suppliers", None, Some(&cookie))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login(&owner.email, PASSWORD, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, body, pending) = app.login(&owner.email, NEW_PASSWORD, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["mfa_required"], true);
    assert_eq!(
        app.call(Method::GET, "/api/v1/suppliers", None, pending.as_deref())
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let actions = app.audit_actions(owner.org).await;
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == "auth.password_reset")
            .count(),
        1
    );
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == "auth.password_reset.request")
            .count(),
        1
    );
    let _ = current_code;
}

#[tokio::test]
async fn expired_forged_and_weak_resets_are_refused_and_change_nothing() {
    let Some(app) = TestApp::spawn_with(true).await else {
        return;
    };
    let owner = app.seed_owner("owner@acme.test").await;
    app.call(
        Method::POST,
        "/api/v1/auth/password-reset/request",
        Some(&json!({ "email": owner.email })),
        None,
    )
    .await;
    let token = token_of(&app.outbox.lock().expect("outbox")[0].body);
    // A weak password does not burn the token.
    let res = app
        .call(
            Method::POST,
            "/api/v1/auth/password-reset/confirm",
            Some(&json!({ "token": token, "password": "short" })),
            None,
        )
        .await;
    assert_eq!(error_code(res).await, "weak_password");
    sqlx::query("update password_reset set expires_at = now() - interval '1 second'")
        .execute(app.db.superuser())
        .await
        .expect("expire");
    for t in [
        token.clone(),
        "rst_".to_owned() + &"0".repeat(32),
        "nonsense".to_owned(),
    ] {
        let res = app
            .call(
                Method::POST,
                "/api/v1/auth/password-reset/confirm",
                Some(&json!({ "token": t, "password": NEW_PASSWORD })),
                None,
            )
            .await;
        assert_eq!(res.status(), StatusCode::GONE, "{t}");
    }
    assert_eq!(
        app.login(&owner.email, PASSWORD, None).await.0,
        StatusCode::OK
    );
    // Without SMTP nothing is sent, still 202.
    let Some(plain) = TestApp::spawn().await else {
        return;
    };
    plain.seed_owner("owner@acme.test").await;
    let res = plain
        .call(
            Method::POST,
            "/api/v1/auth/password-reset/request",
            Some(&json!({ "email": "owner@acme.test" })),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    assert_eq!(plain.count("password_reset").await, 0);
}

#[tokio::test]
async fn an_admin_can_hand_a_member_a_reset_link_but_not_for_an_owner() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let owner = app.seed_owner("owner@acme.test").await;
    let admin = app
        .seed_member(owner.org, "admin@acme.test", Role::Admin, true)
        .await;
    let clerk = app
        .seed_member(owner.org, "clerk@acme.test", Role::Clerk, false)
        .await;
    let cookie = app.sign_in(&admin).await;
    let res = app
        .call(
            Method::POST,
            &format!("/api/v1/users/{}/password-reset", owner.user),
            None,
            Some(&cookie),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = app
        .call(
            Method::POST,
            &format!("/api/v1/users/{}/password-reset", clerk.user),
            None,
            Some(&cookie),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: serde_json::Value = res.json().await.expect("json");
    let token = token_of(body["link"].as_str().expect("link"));
    let res = app
        .call(
            Method::POST,
            "/api/v1/auth/password-reset/confirm",
            Some(&json!({ "token": token, "password": NEW_PASSWORD })),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.login(&clerk.email, NEW_PASSWORD, None).await.0,
        StatusCode::OK
    );
}
