//! Invitations: made by admins, a copyable link without SMTP or a mail with
//! it, accepted once by a new or existing person, expiring.

use crate::{PASSWORD, TestApp, error_code, session_cookie};
use reqwest::{Method, StatusCode};
use sentra_domain::Role;
use serde_json::json;

fn token_of(link: &str) -> String {
    link.split_once("token=")
        .expect("token in link")
        .1
        .to_owned()
}

async fn invite(app: &TestApp, cookie: &str, email: &str, role: &str) -> serde_json::Value {
    let res = app
        .call(
            Method::POST,
            "/api/v1/invitations",
            Some(&json!({ "email": email, "role": role })),
            Some(cookie),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json().await.expect("json")
}

#[tokio::test]
async fn a_new_person_accepts_once_and_the_link_is_then_dead() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let owner = app.seed_owner("owner@acme.test").await;
    let cookie = app.sign_in(&owner).await;
    let inv = invite(&app, &cookie, "new@acme.test", "clerk").await;
    assert_eq!(inv["emailed"], false);
    let link = inv["link"].as_str().expect("copyable link");
    assert!(link.starts_with("http://sentra.test/invitations/accept?token=inv_"));
    let token = token_of(link);
    let stored: String = sqlx::query_scalar("select token_hash from invitation")
        .fetch_one(app.db.superuser())
        .await
        .expect("row");
    assert!(!token.contains(&stored) && !stored.contains(&token));
    // Without a password: 400, nothing written.
    let res = app
        .call(
            Method::POST,
            "/api/v1/invitations/accept",
            Some(&json!({ "token": token })),
            None,
        )
        .await;
    assert_eq!(error_code(res).await, "password_required");
    let res = app
        .call(
            Method::POST,
            "/api/v1/invitations/accept",
            Some(&json!({ "token": token, "password": PASSWORD })),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let new_cookie = session_cookie(res.headers()).expect("signed in");
    assert_eq!(
        app.call(Method::GET, "/api/v1/suppliers", None, Some(&new_cookie))
            .await
            .status(),
        StatusCode::OK
    );
    let res = app
        .call(
            Method::POST,
            "/api/v1/invitations/accept",
            Some(&json!({ "token": token, "password": PASSWORD })),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::GONE);
    assert_eq!(error_code(res).await, "invitation_invalid");
    let res = app
        .call(Method::GET, "/api/v1/invitations", None, Some(&cookie))
        .await;
    let list: serde_json::Value = res.json().await.expect("json");
    assert_eq!(list[0]["status"], "accepted");
    assert_eq!(app.count("membership").await, 2);
    let actions = app.audit_actions(owner.org).await;
    assert_eq!(
        actions.iter().filter(|a| *a == "invitation.create").count(),
        1
    );
    assert_eq!(
        actions.iter().filter(|a| *a == "invitation.accept").count(),
        1
    );
}

#[tokio::test]
async fn an_existing_account_must_be_signed_in_to_accept() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let owner = app.seed_owner("owner@acme.test").await;
    let elsewhere = app.seed_owner("pat@else.test").await;
    let cookie = app.sign_in(&owner).await;
    let token = token_of(
        invite(&app, &cookie, "PAT@else.test", "approver").await["link"]
            .as_str()
            .expect("link"),
    );
    let res = app
        .call(
            Method::POST,
            "/api/v1/invitations/accept",
            Some(&json!({ "token": token })),
            None,
        )
        .await;
    assert_eq!(error_code(res).await, "sign_in_required");
    // Signed in as someone else: refused.
    let res = app
        .call(
            Method::POST,
            "/api/v1/invitations/accept",
            Some(&json!({ "token": token })),
            Some(&cookie),
        )
        .await;
    assert_eq!(error_code(res).await, "wrong_account");
    let pat = app.sign_in(&elsewhere).await;
    let res = app
        .call(
            Method::POST,
            "/api/v1/invitations/accept",
            Some(&json!({ "token": token })),
            Some(&pat),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let role: String =
        sqlx::query_scalar("select role from membership where user_id = $1 and org_id = $2")
            .bind(elsewhere.user.as_uuid())
            .bind(owner.org.as_uuid())
            .fetch_one(app.db.superuser())
            .await
            .expect("membership");
    assert_eq!(role, "approver");
}

#[tokio::test]
async fn expired_withdrawn_and_forged_invitations_are_refused() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let owner = app.seed_owner("owner@acme.test").await;
    let cookie = app.sign_in(&owner).await;
    let first = invite(&app, &cookie, "late@acme.test", "viewer").await;
    sqlx::query("update invitation set expires_at = now() - interval '1 second'")
        .execute(app.db.superuser())
        .await
        .expect("expire");
    let accept = |t: String| json!({ "token": t, "password": PASSWORD });
    let res = app
        .call(
            Method::POST,
            "/api/v1/invitations/accept",
            Some(&accept(token_of(first["link"].as_str().expect("l")))),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::GONE);
    let second = invite(&app, &cookie, "gone@acme.test", "viewer").await;
    let res = app
        .call(
            Method::DELETE,
            &format!("/api/v1/invitations/{}", second["id"].as_str().expect("id")),
            None,
            Some(&cookie),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app
        .call(
            Method::POST,
            "/api/v1/invitations/accept",
            Some(&accept(token_of(second["link"].as_str().expect("l")))),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::GONE);
    for forged in [
        String::new(),
        "inv_x".to_owned(),
        format!("inv_{}_{}", owner.org.as_uuid().simple(), "0".repeat(32)),
    ] {
        let res = app
            .call(
                Method::POST,
                "/api/v1/invitations/accept",
                Some(&accept(forged.clone())),
                None,
            )
            .await;
        assert_eq!(res.status(), StatusCode::GONE, "{forged}");
    }
    assert_eq!(app.count("app_user").await, 1);
    assert_eq!(app.count("membership").await, 1);
}

#[tokio::test]
async fn invitation_rules_and_bad_input() {
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
    let other = app.seed_owner("x@other.test").await;
    let admin_cookie = app.sign_in(&admin).await;
    let post = |body: serde_json::Value| body;
    for (body, status) in [
        (
            post(json!({ "email": "a@b.test", "role": "owner" })),
            StatusCode::FORBIDDEN,
        ),
        (
            post(json!({ "email": "a@b.test", "role": "god" })),
            StatusCode::BAD_REQUEST,
        ),
        (
            post(json!({ "email": "nope", "role": "viewer" })),
            StatusCode::BAD_REQUEST,
        ),
        (
            post(json!({ "email": "clerk@ACME.test", "role": "viewer" })),
            StatusCode::CONFLICT,
        ),
        (
            post(json!({ "email": "a@b.test" })),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let res = app
            .call(
                Method::POST,
                "/api/v1/invitations",
                Some(&body),
                Some(&admin_cookie),
            )
            .await;
        assert_eq!(res.status(), status, "{body}");
    }
    let clerk_cookie = app.sign_in(&clerk).await;
    let res = app
        .call(
            Method::POST,
            "/api/v1/invitations",
            Some(&json!({ "email": "a@b.test", "role": "viewer" })),
            Some(&clerk_cookie),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count("invitation").await, 0);
    // Another organisation's invitation id is a 404.
    let other_cookie = app.sign_in(&other).await;
    let theirs = invite(&app, &other_cookie, "y@other.test", "viewer").await;
    let res = app
        .call(
            Method::DELETE,
            &format!("/api/v1/invitations/{}", theirs["id"].as_str().expect("id")),
            None,
            Some(&admin_cookie),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.count("invitation").await, 1);
}

#[tokio::test]
async fn with_smtp_the_link_is_mailed_not_answered() {
    let Some(app) = TestApp::spawn_with(true).await else {
        return;
    };
    let owner = app.seed_owner("owner@acme.test").await;
    let cookie = app.sign_in(&owner).await;
    let inv = invite(&app, &cookie, "new@acme.test", "clerk").await;
    assert_eq!(inv["emailed"], true);
    assert!(inv.get("link").is_none());
    let sent = app.outbox.lock().expect("outbox").clone();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, "new@acme.test");
    assert!(
        sent[0]
            .body
            .contains("http://sentra.test/invitations/accept?token=inv_")
    );
}
