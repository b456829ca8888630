//! Users and roles: who may grant what, the last owner, cross-organisation
//! ids, and one audit event per change.

use crate::{TestApp, error_code};
use reqwest::{Method, StatusCode};
use sentra_domain::Role;
use serde_json::json;

#[tokio::test]
async fn role_rules_and_the_last_owner() {
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
    let admin_cookie = app.sign_in(&admin).await;
    let user_path = |u: sentra_domain::UserId| format!("/api/v1/users/{u}");
    // The list.
    let res = app
        .call(Method::GET, "/api/v1/users", None, Some(&admin_cookie))
        .await;
    let list: serde_json::Value = res.json().await.expect("json");
    assert_eq!(list.as_array().map(Vec::len), Some(3));
    // An admin may not make owners or touch the owner.
    let res = app
        .call(
            Method::PATCH,
            &user_path(clerk.user),
            Some(&json!({ "role": "owner" })),
            Some(&admin_cookie),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = app
        .call(
            Method::PATCH,
            &user_path(owner.user),
            Some(&json!({ "role": "viewer" })),
            Some(&admin_cookie),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = app
        .call(
            Method::DELETE,
            &user_path(owner.user),
            None,
            Some(&admin_cookie),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // But may change others.
    let res = app
        .call(
            Method::PATCH,
            &user_path(clerk.user),
            Some(&json!({ "role": "approver" })),
            Some(&admin_cookie),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    // A clerk may do nothing here.
    let clerk_cookie = app.sign_in(&clerk).await;
    let res = app
        .call(Method::GET, "/api/v1/users", None, Some(&clerk_cookie))
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // The last owner can be neither demoted nor removed, even by themself.
    let owner_cookie = app.sign_in(&owner).await;
    let res = app
        .call(
            Method::PATCH,
            &user_path(owner.user),
            Some(&json!({ "role": "admin" })),
            Some(&owner_cookie),
        )
        .await;
    assert_eq!(error_code(res).await, "last_owner");
    let res = app
        .call(
            Method::DELETE,
            &user_path(owner.user),
            None,
            Some(&owner_cookie),
        )
        .await;
    assert_eq!(error_code(res).await, "last_owner");
    // With a second owner, the first may step down.
    let res = app
        .call(
            Method::PATCH,
            &user_path(admin.user),
            Some(&json!({ "role": "owner" })),
            Some(&owner_cookie),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .call(
            Method::PATCH,
            &user_path(owner.user),
            Some(&json!({ "role": "admin" })),
            Some(&owner_cookie),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    // Bad values: 400 and nothing written.
    for body in [
        json!({ "role": "superuser" }),
        json!({ "role": "Owner" }),
        json!({}),
        json!({ "role": "viewer", "org_id": "x" }),
    ] {
        let res = app
            .call(
                Method::PATCH,
                &user_path(clerk.user),
                Some(&body),
                Some(&owner_cookie),
            )
            .await;
        assert_eq!(res.status().as_u16() / 100, 4, "{body}");
    }
    let actions = app.audit_actions(owner.org).await;
    assert_eq!(actions.iter().filter(|a| *a == "member.role").count(), 3);
    let role: String = sqlx::query_scalar("select role from membership where user_id = $1")
        .bind(clerk.user.as_uuid())
        .fetch_one(app.db.superuser())
        .await
        .expect("role");
    assert_eq!(role, "approver");
}

#[tokio::test]
async fn other_organisations_members_are_404() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let a = app.seed_owner("a@a.test").await;
    let b = app.seed_owner("b@b.test").await;
    let b_clerk = app
        .seed_member(b.org, "clerk@b.test", Role::Clerk, false)
        .await;
    let cookie = app.sign_in(&a).await;
    for target in [b.user, b_clerk.user] {
        let path = format!("/api/v1/users/{target}");
        let res = app
            .call(
                Method::PATCH,
                &path,
                Some(&json!({ "role": "viewer" })),
                Some(&cookie),
            )
            .await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        let res = app.call(Method::DELETE, &path, None, Some(&cookie)).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        let res = app
            .call(
                Method::POST,
                &format!("{path}/password-reset"),
                None,
                Some(&cookie),
            )
            .await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
    }
    let list = app
        .call(Method::GET, "/api/v1/users", None, Some(&cookie))
        .await
        .text()
        .await
        .expect("text");
    assert!(!list.contains("b.test"));
    assert_eq!(app.audit_actions(b.org).await, Vec::<String>::new());
    let role: String = sqlx::query_scalar("select role from membership where user_id = $1")
        .bind(b_clerk.user.as_uuid())
        .fetch_one(app.db.superuser())
        .await
        .expect("role");
    assert_eq!(role, "clerk");
}

#[tokio::test]
async fn a_removed_member_loses_access() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let owner = app.seed_owner("owner@acme.test").await;
    let clerk = app
        .seed_member(owner.org, "clerk@acme.test", Role::Clerk, false)
        .await;
    let clerk_cookie = app.sign_in(&clerk).await;
    let owner_cookie = app.sign_in(&owner).await;
    let res = app
        .call(
            Method::DELETE,
            &format!("/api/v1/users/{}", clerk.user),
            None,
            Some(&owner_cookie),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app
        .call(Method::GET, "/api/v1/suppliers", None, Some(&clerk_cookie))
        .await;
    assert_eq!(error_code(res).await, "no_organisation");
    let actions = app.audit_actions(owner.org).await;
    assert_eq!(actions.iter().filter(|a| *a == "member.remove").count(), 1);
}
