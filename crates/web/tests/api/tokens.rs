//! Personal API tokens: shown once, stored hashed, used as `Bearer`,
//! acting with the owner's current role, revocable, audited.

use crate::{TestApp, error_code};
use reqwest::{Method, StatusCode};
use sentra_domain::Role;
use serde_json::json;

async fn make_token(app: &TestApp, cookie: &str, name: &str) -> serde_json::Value {
    let res = app
        .call(
            Method::POST,
            "/api/v1/tokens",
            Some(&json!({ "name": name, "expires_in_days": 30 })),
            Some(cookie),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json().await.expect("json")
}

#[tokio::test]
async fn a_bearer_token_works_until_revoked_and_is_stored_only_hashed() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let owner = app.seed_owner("owner@acme.test").await;
    let cookie = app.sign_in(&owner).await;
    let made = make_token(&app, &cookie, "bookkeeping sync").await;
    let token = made["token"].as_str().expect("token").to_owned();
    assert!(token.starts_with("sentra_pat_"));
    let stored: String = sqlx::query_scalar("select token_hash from api_token")
        .fetch_one(app.db.superuser())
        .await
        .expect("row");
    assert_ne!(stored, token);
    assert!(!stored.contains(&token[token.len() - 32..]));
    let res = app
        .call(Method::GET, "/api/v1/suppliers", None, Some(&token))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    // Listing never shows the token again.
    let res = app
        .call(Method::GET, "/api/v1/tokens", None, Some(&cookie))
        .await;
    let text = res.text().await.expect("text");
    assert!(
        !text.contains(&token)
            && text.contains("bookkeeping sync")
            && text.contains("last_used_at")
    );
    // A token cannot mint tokens, and sensitive actions need a session.
    let res = app
        .call(
            Method::POST,
            "/api/v1/tokens",
            Some(&json!({ "name": "x" })),
            Some(&token),
        )
        .await;
    assert_eq!(error_code(res).await, "session_required");
    let res = app
        .call(
            Method::PATCH,
            &format!("/api/v1/users/{}", owner.user),
            Some(&json!({ "role": "owner" })),
            Some(&token),
        )
        .await;
    assert_eq!(error_code(res).await, "step_up_required");
    // Revoked: refused.
    let id = made["id"].as_str().expect("id");
    let res = app
        .call(
            Method::DELETE,
            &format!("/api/v1/tokens/{id}"),
            None,
            Some(&cookie),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app
        .call(Method::GET, "/api/v1/suppliers", None, Some(&token))
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // Tampered or malformed tokens: the same 401.
    let mut tampered = token.clone();
    tampered.pop();
    tampered.push(if token.ends_with('0') { '1' } else { '0' });
    for bad in [tampered.as_str(), "sentra_pat_nonsense", "Basic abc"] {
        let res = app
            .client
            .get(app.url("/api/v1/suppliers"))
            .header(
                "authorization",
                if bad.starts_with("Basic") {
                    bad.to_owned()
                } else {
                    format!("Bearer {bad}")
                },
            )
            .send()
            .await
            .expect("send");
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{bad}");
    }
    assert_eq!(
        app.audit_actions(owner.org).await,
        [
            "auth.login.success",
            "auth.mfa.success",
            "token.create",
            "token.revoke"
        ]
    );
}

#[tokio::test]
async fn a_token_follows_its_owners_role_and_membership() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let owner = app.seed_owner("owner@acme.test").await;
    let clerk = app
        .seed_member(owner.org, "clerk@acme.test", Role::Clerk, false)
        .await;
    let clerk_cookie = app.sign_in(&clerk).await;
    let token = make_token(&app, &clerk_cookie, "script").await["token"]
        .as_str()
        .expect("token")
        .to_owned();
    assert_eq!(
        app.call(Method::GET, "/api/v1/users", None, Some(&token))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let owner_cookie = app.sign_in(&owner).await;
    let res = app
        .call(
            Method::PATCH,
            &format!("/api/v1/users/{}", clerk.user),
            Some(&json!({ "role": "viewer" })),
            Some(&owner_cookie),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    // Now a viewer: may not submit messages.
    let res = app
        .client
        .post(app.url("/api/v1/messages"))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "message/rfc822")
        .body("From: a@b.test\r\nSubject: x\r\n\r\nhi\r\n")
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = app
        .call(
            Method::DELETE,
            &format!("/api/v1/users/{}", clerk.user),
            None,
            Some(&owner_cookie),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.call(Method::GET, "/api/v1/suppliers", None, Some(&token))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.count("api_token").await,
        0,
        "removed with the membership"
    );
}

#[tokio::test]
async fn token_bad_input_and_other_peoples_tokens() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let owner = app.seed_owner("owner@acme.test").await;
    let other = app.seed_owner("other@else.test").await;
    let cookie = app.sign_in(&owner).await;
    for body in [
        json!({ "name": "" }),
        json!({ "name": "x".repeat(101) }),
        json!({ "name": "x", "expires_in_days": 0 }),
        json!({ "name": "x", "expires_in_days": 366 }),
        json!({ "name": 5 }),
    ] {
        let res = app
            .call(Method::POST, "/api/v1/tokens", Some(&body), Some(&cookie))
            .await;
        assert_eq!(res.status().as_u16() / 100, 4, "{body}");
    }
    assert_eq!(app.count("api_token").await, 0);
    let other_cookie = app.sign_in(&other).await;
    let theirs = make_token(&app, &other_cookie, "theirs").await;
    let res = app
        .call(
            Method::DELETE,
            &format!("/api/v1/tokens/{}", theirs["id"].as_str().expect("id")),
            None,
            Some(&cookie),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.count("api_token").await, 1);
}
