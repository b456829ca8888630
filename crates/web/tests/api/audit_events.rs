//! "Every state change writes exactly one audit event in the same
//! transaction; a rollback writes none", proved over HTTP: the audit rows
//! are counted before and after each state-changing API call (the
//! self-service account routes, tokens, invitations, members, resets), and
//! refused changes, including one refused after its first write, leave the
//! count and the data as they were.

use crate::{PASSWORD, TestApp, current_code, session_cookie};
use reqwest::{Method, StatusCode};
use sentra_domain::{Role, UserId};
use sentra_store::{crypto, keys};
use serde_json::{Value, json};

const NEW_PASSWORD: &str = "a different long test password";

/// Calls and returns the status and the JSON body (or null).
async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    body: Option<&Value>,
    cookie: &str,
) -> (StatusCode, Value, Option<String>) {
    let res = app.call(method, path, body, Some(cookie)).await;
    let status = res.status();
    let cookie = session_cookie(res.headers());
    (status, res.json().await.unwrap_or(Value::Null), cookie)
}

/// The newest audit action, and the number of events.
async fn last_event(app: &TestApp) -> (i64, String) {
    let n = app.count("audit_event").await;
    let action: String =
        sqlx::query_scalar("select action from audit_event order by at desc, seq desc limit 1")
            .fetch_one(app.db.superuser())
            .await
            .expect("last event");
    (n, action)
}

/// The pending enrolment secret of `user`, decrypted as the app would.
async fn pending_secret(app: &TestApp, user: UserId) -> Vec<u8> {
    let enc: Vec<u8> = sqlx::query_scalar("select totp_pending_enc from app_user where id = $1")
        .bind(user.as_uuid())
        .fetch_one(app.db.superuser())
        .await
        .expect("pending secret");
    let ctx = keys::USER_TOTP_PENDING.context(keys::GLOBAL_ORG, user.as_uuid());
    crypto::decrypt(&app.keys, &ctx, &enc)
        .expect("decrypt")
        .to_vec()
}

#[tokio::test]
async fn each_state_changing_route_writes_exactly_one_event() {
    let Some(app) = TestApp::spawn_with(true).await else {
        return;
    };
    let owner = app.seed_owner("owner@one.test").await;
    let clerk = app
        .seed_member(owner.org, "clerk@one.test", Role::Clerk, false)
        .await;
    let (other_session, mut cookie) = two_sessions(&app, &owner).await;
    let mut before = app.count("audit_event").await;

    // Each step: (method, path, body) → expected status and action.
    let mut step = async |method: Method,
                          path: String,
                          body: Option<Value>,
                          ok: StatusCode,
                          action: &str,
                          cookie: &mut String| {
        let (status, out, new_cookie) = call(&app, method, &path, body.as_ref(), cookie).await;
        assert_eq!(status, ok, "{path}: {out}");
        if let Some(c) = new_cookie {
            *cookie = c;
        }
        let (after, last) = last_event(&app).await;
        assert_eq!(after, before + 1, "{path} wrote {} events", after - before);
        assert_eq!(last, action, "{path}");
        before = after;
        out
    };

    step(
        Method::PATCH,
        "/api/v1/auth/profile".into(),
        Some(json!({ "name": "Olive Owner" })),
        StatusCode::OK,
        "account.profile",
        &mut cookie,
    )
    .await;
    let token = step(
        Method::POST,
        "/api/v1/tokens".into(),
        Some(json!({ "name": "export" })),
        StatusCode::CREATED,
        "token.create",
        &mut cookie,
    )
    .await;
    let token_id = token["id"].as_str().expect("id").to_owned();
    step(
        Method::DELETE,
        format!("/api/v1/tokens/{token_id}"),
        None,
        StatusCode::NO_CONTENT,
        "token.revoke",
        &mut cookie,
    )
    .await;
    let inv = step(
        Method::POST,
        "/api/v1/invitations".into(),
        Some(json!({ "email": "new@one.test", "role": "clerk" })),
        StatusCode::CREATED,
        "invitation.create",
        &mut cookie,
    )
    .await;
    let inv_id = inv["id"].as_str().expect("id").to_owned();
    step(
        Method::DELETE,
        format!("/api/v1/invitations/{inv_id}"),
        None,
        StatusCode::NO_CONTENT,
        "invitation.delete",
        &mut cookie,
    )
    .await;
    step(
        Method::PATCH,
        format!("/api/v1/users/{}", clerk.user),
        Some(json!({ "role": "approver" })),
        StatusCode::OK,
        "member.role",
        &mut cookie,
    )
    .await;
    let codes = step(
        Method::POST,
        "/api/v1/auth/mfa/recovery-codes".into(),
        None,
        StatusCode::OK,
        "auth.recovery_codes.regenerate",
        &mut cookie,
    )
    .await;
    assert_eq!(codes["recovery_codes"].as_array().map(Vec::len), Some(10));
    // Re-enrol: start, then confirm with the new app's code.
    step(
        Method::POST,
        "/api/v1/auth/mfa/enrol".into(),
        None,
        StatusCode::OK,
        "auth.mfa.enrol.start",
        &mut cookie,
    )
    .await;
    let secret = pending_secret(&app, owner.user).await;
    step(
        Method::POST,
        "/api/v1/auth/mfa/confirm".into(),
        Some(json!({ "code": current_code(&secret) })),
        StatusCode::OK,
        "auth.mfa.enrol",
        &mut cookie,
    )
    .await;
    // Sessions: end the other one.
    let (_, list, _) = call(&app, Method::GET, "/api/v1/auth/sessions", None, &cookie).await;
    let other_id = list
        .as_array()
        .expect("sessions")
        .iter()
        .find(|s| s["current"] == json!(false))
        .and_then(|s| s["id"].as_str())
        .expect("another session")
        .to_owned();
    step(
        Method::DELETE,
        format!("/api/v1/auth/sessions/{other_id}"),
        None,
        StatusCode::NO_CONTENT,
        "auth.session.revoke",
        &mut cookie,
    )
    .await;
    assert_eq!(
        app.call(
            Method::GET,
            "/api/v1/auth/profile",
            None,
            Some(&other_session)
        )
        .await
        .status(),
        StatusCode::UNAUTHORIZED
    );
    step(
        Method::POST,
        "/api/v1/auth/password".into(),
        Some(json!({ "current_password": PASSWORD, "new_password": NEW_PASSWORD })),
        StatusCode::NO_CONTENT,
        "auth.password.change",
        &mut cookie,
    )
    .await;
    // An administrator's reset link for a member, then its use.
    let link = step(
        Method::POST,
        format!("/api/v1/users/{}/password-reset", clerk.user),
        None,
        StatusCode::OK,
        "auth.password_reset.issue",
        &mut cookie,
    )
    .await;
    let reset_token = link["link"]
        .as_str()
        .and_then(|l| l.split("token=").nth(1))
        .expect("token")
        .to_owned();
    step(
        Method::POST,
        "/api/v1/auth/password-reset/confirm".into(),
        Some(json!({ "token": reset_token, "password": NEW_PASSWORD })),
        StatusCode::NO_CONTENT,
        "auth.password_reset",
        &mut cookie,
    )
    .await;
    // A self-service reset request (mail is captured).
    step(
        Method::POST,
        "/api/v1/auth/password-reset/request".into(),
        Some(json!({ "email": "clerk@one.test" })),
        StatusCode::ACCEPTED,
        "auth.password_reset.request",
        &mut cookie,
    )
    .await;
    step(
        Method::DELETE,
        format!("/api/v1/users/{}", clerk.user),
        None,
        StatusCode::NO_CONTENT,
        "member.remove",
        &mut cookie,
    )
    .await;

    // The chain the events went into is intact.
    let (status, verify, _) = call(&app, Method::GET, "/api/v1/audit/verify", None, &cookie).await;
    assert_eq!(status, StatusCode::OK, "{verify}");
}

#[tokio::test]
async fn refused_and_rolled_back_changes_write_no_event_and_change_nothing() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let owner = app.seed_owner("owner@two.test").await;
    let admin = app
        .seed_member(owner.org, "admin@two.test", Role::Admin, true)
        .await;
    let stranger = app.seed_owner("owner@three.test").await;
    let owner_cookie = app.sign_in(&owner).await;
    let admin_cookie = app.sign_in(&admin).await;
    let stranger_cookie = app.sign_in(&stranger).await;
    // An owner invitation, which an admin may not withdraw.
    let (status, inv, _) = call(
        &app,
        Method::POST,
        "/api/v1/invitations",
        Some(&json!({ "email": "boss@two.test", "role": "owner" })),
        &owner_cookie,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let inv_id = inv["id"].as_str().expect("id").to_owned();
    let (_, sessions, _) = call(
        &app,
        Method::GET,
        "/api/v1/auth/sessions",
        None,
        &stranger_cookie,
    )
    .await;
    let strangers_session = sessions[0]["id"].as_str().expect("id").to_owned();
    let events = app.count("audit_event").await;
    let invitations = app.count("invitation").await;
    let owner_before = account_state(&app, owner.user).await;

    let refused: Vec<(Method, String, Option<Value>, &str, StatusCode)> = vec![
        // Deleted, then refused by role: the delete is rolled back.
        (
            Method::DELETE,
            format!("/api/v1/invitations/{inv_id}"),
            None,
            "admin",
            StatusCode::FORBIDDEN,
        ),
        (
            Method::PATCH,
            format!("/api/v1/users/{}", owner.user),
            Some(json!({ "role": "viewer" })),
            "owner",
            StatusCode::CONFLICT,
        ),
        (
            Method::PATCH,
            format!("/api/v1/users/{}", admin.user),
            Some(json!({ "role": "emperor" })),
            "owner",
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::DELETE,
            format!("/api/v1/tokens/{}", uuid::Uuid::new_v4()),
            None,
            "owner",
            StatusCode::NOT_FOUND,
        ),
        (
            Method::DELETE,
            format!("/api/v1/auth/sessions/{strangers_session}"),
            None,
            "owner",
            StatusCode::NOT_FOUND,
        ),
        (
            Method::POST,
            "/api/v1/auth/password".into(),
            Some(json!({ "current_password": PASSWORD, "new_password": "short" })),
            "owner",
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::PATCH,
            "/api/v1/auth/profile".into(),
            Some(json!({ "name": "two\nlines" })),
            "owner",
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            "/api/v1/tokens".into(),
            Some(json!({ "name": "x", "expires_in_days": 0 })),
            "owner",
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            "/api/v1/invitations".into(),
            Some(json!({ "email": "not an address", "role": "clerk" })),
            "owner",
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            "/api/v1/auth/password-reset/confirm".into(),
            Some(json!({ "token": "rst_0000", "password": NEW_PASSWORD })),
            "owner",
            StatusCode::GONE,
        ),
    ];
    for (method, path, body, who, expected) in refused {
        let cookie = if who == "admin" {
            &admin_cookie
        } else {
            &owner_cookie
        };
        let (status, out, _) = call(&app, method, &path, body.as_ref(), cookie).await;
        assert_eq!(status, expected, "{path}: {out}");
        assert_eq!(
            app.count("audit_event").await,
            events,
            "{path} wrote an event"
        );
    }
    assert_eq!(
        app.count("invitation").await,
        invitations,
        "the withdrawal was rolled back"
    );
    assert_eq!(account_state(&app, owner.user).await, owner_before);
    // Regenerating codes without a fresh step-up is refused, nothing written.
    crate::suppliers::age_mfa(&app, owner.user, 600).await;
    let (status, _, _) = call(
        &app,
        Method::POST,
        "/api/v1/auth/mfa/recovery-codes",
        None,
        &owner_cookie,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(app.count("audit_event").await, events);
}

/// The stored password hash and name of `id`, to show nothing changed.
async fn account_state(app: &TestApp, id: UserId) -> String {
    sqlx::query_scalar(
        "select password_hash || coalesce(display_name, '') from app_user where id = $1",
    )
    .bind(id.as_uuid())
    .fetch_one(app.db.superuser())
    .await
    .expect("user")
}

/// Two sessions of `who`: the first passes MFA with the previous time
/// step's code (still accepted), the second with the current one, since a
/// code is refused once its step (or a later one) has been used.
pub(crate) async fn two_sessions(app: &TestApp, who: &crate::Seeded) -> (String, String) {
    let (status, body, cookie) = app.login(&who.email, PASSWORD, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let secret = who.secret.as_ref().expect("enrolled");
    let previous = sentra_web::totp::code_for_step(
        secret,
        sentra_web::totp::step_at(crate::now()).saturating_sub(1),
    );
    let (status, first) = app.mfa(&cookie.expect("cookie"), &previous).await;
    assert_eq!(status, StatusCode::OK);
    (first.expect("rotated cookie"), app.sign_in(who).await)
}
