//! The users page (`/users`): who sees it, inviting (the link shown once
//! without mail), changing roles and removing people under the same rules
//! as the API, withdrawing invitations; refused forms explain themselves
//! and write nothing.

use crate::TestApp;
use crate::support::{location, page};
use reqwest::StatusCode;
use sentra_domain::Role;

#[tokio::test]
async fn only_admins_and_owners_see_the_users_page() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let owner = app.seed_owner("owner@pages.test").await;
    let res = app.get("/users", None).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/login?next=%2Fusers");
    let clerk = crate::support::member(&app, owner.org, "clerk@pages.test", Role::Clerk).await;
    let (status, _) = page(&app, "/users", Some(&clerk)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Another organisation's members are not listed.
    app.seed_owner("owner@elsewhere.test").await;
    let cookie = app.sign_in(&owner).await;
    let (status, html) = page(&app, "/users", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("owner@pages.test") && html.contains("clerk@pages.test"));
    assert!(!html.contains("owner@elsewhere.test"));
    assert!(
        html.contains(r#"href="/users" aria-current="page""#),
        "nav marks the page"
    );
    assert!(html.contains(r#"<label for="invite-email">"#));
}

#[tokio::test]
async fn an_admin_invites_changes_roles_and_removes_by_form() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let owner = app.seed_owner("owner@forms.test").await;
    let clerk = app
        .seed_member(owner.org, "clerk@forms.test", Role::Clerk, false)
        .await;
    let admin = crate::support::member(&app, owner.org, "admin@forms.test", Role::Admin).await;

    // Invite: no mail here, so the link is on the page, once.
    let res = app
        .post_form(
            "/users/invite",
            &[("email", "new@forms.test"), ("role", "approver")],
            Some(&admin),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.expect("html");
    assert!(
        html.contains("http://sentra.test/invitations/accept?token=inv_"),
        "link shown"
    );
    assert!(html.contains("new@forms.test"));
    assert_eq!(app.count("invitation").await, 1);
    let (_, again) = page(&app, "/users", Some(&admin)).await;
    assert!(!again.contains("token=inv_"), "the link is not shown twice");

    // Bad input: a clear summary, nothing written.
    let events = app.count("audit_event").await;
    let res = app
        .post_form(
            "/users/invite",
            &[("email", "not an address"), ("role", "clerk")],
            Some(&admin),
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let html = res.text().await.expect("html");
    assert!(html.contains("There is a problem") && html.contains(r##"href="#invite-email""##));
    assert!(
        html.contains(r#"value="not an address""#),
        "what was typed is kept"
    );
    // An admin may not invite or make owners.
    let res = app
        .post_form(
            "/users/invite",
            &[("email", "boss@forms.test"), ("role", "owner")],
            Some(&admin),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = app
        .post_form(
            &format!("/users/{}/role", clerk.user),
            &[("role", "owner")],
            Some(&admin),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(
        res.text()
            .await
            .expect("html")
            .contains("There is a problem")
    );
    let res = app
        .post_form(&format!("/users/{}/remove", owner.user), &[], Some(&admin))
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count("invitation").await, 1);
    assert_eq!(
        app.count("audit_event").await,
        events,
        "refusals write nothing"
    );

    // Allowed changes: a role, then removal, each back to the list.
    let res = app
        .post_form(
            &format!("/users/{}/role", clerk.user),
            &[("role", "approver")],
            Some(&admin),
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/users?done=role");
    let (_, html) = page(&app, "/users?done=role", Some(&admin)).await;
    assert!(html.contains("Role changed."));
    let role: String = sqlx::query_scalar("select role from membership where user_id = $1")
        .bind(clerk.user.as_uuid())
        .fetch_one(app.db.superuser())
        .await
        .expect("role");
    assert_eq!(role, "approver");
    let res = app
        .post_form(&format!("/users/{}/remove", clerk.user), &[], Some(&admin))
        .await;
    assert_eq!(location(&res), "/users?done=removed");
    assert_eq!(app.count("membership").await, 2);

    // Withdraw the invitation.
    let inv: uuid::Uuid = sqlx::query_scalar("select id from invitation")
        .fetch_one(app.db.superuser())
        .await
        .expect("invitation");
    let res = app
        .post_form(
            &format!("/users/invitations/{inv}/revoke"),
            &[],
            Some(&admin),
        )
        .await;
    assert_eq!(location(&res), "/users?done=revoked");
    assert_eq!(app.count("invitation").await, 0);
    // Someone else's ids are 404 pages.
    let res = app
        .post_form(
            &format!("/users/{}/remove", uuid::Uuid::new_v4()),
            &[],
            Some(&admin),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_last_owner_stays_and_changes_need_a_fresh_step_up() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let owner = app.seed_owner("owner@last.test").await;
    let viewer = app
        .seed_member(owner.org, "viewer@last.test", Role::Viewer, false)
        .await;
    let cookie = app.sign_in(&owner).await;
    let res = app
        .post_form(
            &format!("/users/{}/role", owner.user),
            &[("role", "admin")],
            Some(&cookie),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(
        res.text()
            .await
            .expect("html")
            .contains("at least one owner")
    );
    // An owner may make an owner.
    let res = app
        .post_form(
            &format!("/users/{}/role", viewer.user),
            &[("role", "owner")],
            Some(&cookie),
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    // Later, without a fresh check: refused with the way to step up.
    crate::suppliers::age_mfa(&app, owner.user, 600).await;
    let (_, html) = page(&app, "/users", Some(&cookie)).await;
    assert!(html.contains("/account/step-up?next=%2Fusers"));
    let res = app
        .post_form(
            &format!("/users/{}/remove", viewer.user),
            &[],
            Some(&cookie),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.text().await.expect("html").contains("fresh check"));
    assert_eq!(app.count("membership").await, 2);
}
