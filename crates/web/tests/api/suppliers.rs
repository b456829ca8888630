//! `/api/v1/suppliers` and `/api/v1/supplier-changes`: the directory's
//! CRUD, roles, dual control over bank details and call-back numbers with
//! MFA step-up, one audit event per change, masked numbers only, bad input
//! refused with nothing written, and other organisations' ids as 404.

use crate::{Seeded, TestApp, error_code};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE};
use sentra_domain::{OrgId, Role, UserId};
use serde_json::{Value, json};

/// Full account numbers the tests use; none may appear in a response or an
/// audit row.
pub(crate) const SECRETS: &[&str] = &[
    "63748472",
    "31926819",
    "55779911",
    "12345678901",
    "89370400440532013000",
    "AIBK93115212345678",
];

/// Rows of the supplier tables and the audit log for `org`:
/// `[supplier, supplier_bank_account, supplier_change, audit_event]`.
pub(crate) async fn counts(app: &TestApp, org: OrgId) -> [i64; 4] {
    let mut out = [0i64; 4];
    for (slot, table) in out.iter_mut().zip([
        "supplier",
        "supplier_bank_account",
        "supplier_change",
        "audit_event",
    ]) {
        *slot = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "select count(*) from {table} where org_id = $1"
        )))
        .bind(org.as_uuid())
        .fetch_one(app.db.superuser())
        .await
        .expect("count");
    }
    out
}

/// Asserts no full account number of [`SECRETS`] is in `text`.
pub(crate) fn assert_masked(text: &str) {
    let compact: String = text.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    for s in SECRETS {
        assert!(!compact.contains(s), "a full account number leaked: {text}");
    }
}

/// Asserts no audit row of `org` holds a full account number.
pub(crate) async fn assert_audit_masked(app: &TestApp, org: OrgId) {
    let rows: Vec<String> =
        sqlx::query_scalar("select details::text from audit_event where org_id = $1")
            .bind(org.as_uuid())
            .fetch_all(app.db.superuser())
            .await
            .expect("audit");
    for r in rows {
        assert_masked(&r);
    }
}

/// Adds a member with `role` to `org` (TOTP enrolled when `mfa`).
pub(crate) async fn member(
    app: &TestApp,
    org: OrgId,
    email: &str,
    role: Role,
    mfa: bool,
) -> Seeded {
    app.seed_member(org, email, role, mfa).await
}

/// Moves `user`'s last MFA verification `secs` into the past.
pub(crate) async fn age_mfa(app: &TestApp, user: UserId, secs: i64) {
    sqlx::query(
        "update session set data = jsonb_set(data, '{mfa_at}',
           to_jsonb((data->>'mfa_at')::bigint - $2)) where user_id = $1",
    )
    .bind(user.as_uuid())
    .bind(secs)
    .execute(app.db.superuser())
    .await
    .expect("age");
}

/// Sends `method path` with a JSON body.
pub(crate) async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    cookie: &str,
    body: Option<&Value>,
) -> (StatusCode, String) {
    let mut req = app
        .client
        .request(method, app.url(path))
        .header(COOKIE, cookie);
    if let Some(b) = body {
        req = req.json(b);
    }
    let res = req.send().await.expect("request");
    let status = res.status();
    (status, res.text().await.unwrap_or_default())
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

/// An organisation with an MFA owner, signed in.
async fn org_with_owner(app: &TestApp, email: &str) -> (Seeded, String) {
    let owner = app.seed(email, true).await;
    let cookie = app.sign_in(&owner).await;
    (owner, cookie)
}

fn apex_with_account() -> Value {
    json!({
        "name": "Apex Scaffolding Ltd",
        "domains": ["Apex-Scaffolding.co.uk"],
        "country": "GB",
        "verified_phone": "+44 20 7946 0321",
        "phone_source": "letterhead, checked against Companies House",
        "bank_account": { "scheme": "uk", "sort_code": "20-29-59", "account_number": "63748472" }
    })
}

#[tokio::test]
async fn a_supplier_is_created_read_edited_searched_and_deleted_with_one_audit_event_each() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let (owner, cookie) = org_with_owner(&app, "owner@hartleybuild.co.uk").await;
    let base = counts(&app, owner.org).await;

    let (status, body) = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/suppliers",
        &cookie,
        Some(&json!({ "name": " Brightwire Electrical ", "domains": ["brightwire.co.uk"] })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let created = json_of(&body);
    let id = created["id"].as_str().expect("id").to_owned();
    assert_eq!(created["name"], "Brightwire Electrical");
    assert_eq!(created["pending_changes"], json!([]));
    let after = counts(&app, owner.org).await;
    assert_eq!(after[0] - base[0], 1);
    assert_eq!(after[3] - base[3], 1, "one audit event");

    let (status, body) = send(
        &app,
        reqwest::Method::PATCH,
        &format!("/api/v1/suppliers/{id}"),
        &cookie,
        Some(&json!({ "domains": ["brightwire.co.uk", "brightwire-electrical.co.uk"], "country": "gb" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(json_of(&body)["country"], "GB");
    let patched = counts(&app, owner.org).await;
    assert_eq!(patched[3] - after[3], 1, "one audit event");

    let (status, body) = send(
        &app,
        reqwest::Method::GET,
        "/api/v1/suppliers?q=ELECTRICAL",
        &cookie,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json_of(&body).as_array().map(Vec::len), Some(1));
    let (_, body) = send(
        &app,
        reqwest::Method::GET,
        "/api/v1/suppliers?q=nomatch",
        &cookie,
        None,
    )
    .await;
    assert_eq!(json_of(&body), json!([]));

    let (status, body) = send(
        &app,
        reqwest::Method::GET,
        &format!("/api/v1/suppliers/{id}"),
        &cookie,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let detail = json_of(&body);
    assert_eq!(detail["bank_accounts"], json!([]));
    assert_eq!(detail["verified_phone"], Value::Null);

    let (status, _) = send(
        &app,
        reqwest::Method::DELETE,
        &format!("/api/v1/suppliers/{id}"),
        &cookie,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let deleted = counts(&app, owner.org).await;
    assert_eq!(deleted[0], base[0]);
    assert_eq!(deleted[3] - patched[3], 1, "one audit event");
    let (status, _) = send(
        &app,
        reqwest::Method::GET,
        &format!("/api/v1/suppliers/{id}"),
        &cookie,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn phone_and_bank_details_given_at_creation_wait_for_approval_and_are_masked() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let (owner, cookie) = org_with_owner(&app, "owner@hartleybuild.co.uk").await;
    let base = counts(&app, owner.org).await;
    let (status, body) = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/suppliers",
        &cookie,
        Some(&apex_with_account()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_masked(&body);
    let created = json_of(&body);
    assert_eq!(
        created["verified_phone"],
        Value::Null,
        "not before approval"
    );
    assert_eq!(created["domains"], json!(["apex-scaffolding.co.uk"]));
    assert_eq!(created["pending_changes"].as_array().map(Vec::len), Some(2));
    let after = counts(&app, owner.org).await;
    assert_eq!(after[1] - base[1], 1, "a pending account");
    assert_eq!(after[2] - base[2], 2, "two changes");
    assert_eq!(after[3] - base[3], 1, "one audit event for the request");

    let id = created["id"].as_str().expect("id");
    let (_, body) = send(
        &app,
        reqwest::Method::GET,
        &format!("/api/v1/suppliers/{id}"),
        &cookie,
        None,
    )
    .await;
    assert_masked(&body);
    let detail = json_of(&body);
    assert_eq!(detail["bank_accounts"][0]["status"], "pending_approval");
    assert!(
        detail["bank_accounts"][0]["masked"]
            .as_str()
            .is_some_and(|m| m.ends_with("8472"))
    );
    assert_eq!(detail["pending_changes"].as_array().map(Vec::len), Some(2));

    // The same name again is a conflict and writes nothing.
    let (status, body) = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/suppliers",
        &cookie,
        Some(&json!({ "name": "APEX Scaffolding Ltd" })),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(counts(&app, owner.org).await, after);
    assert_audit_masked(&app, owner.org).await;
}

#[tokio::test]
async fn bad_supplier_input_is_refused_with_a_clear_4xx_and_nothing_written() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let (owner, cookie) = org_with_owner(&app, "owner@hartleybuild.co.uk").await;
    let (_, body) = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/suppliers",
        &cookie,
        Some(&json!({ "name": "Keystone Lumber" })),
    )
    .await;
    let id = json_of(&body)["id"].as_str().expect("id").to_owned();
    let before = counts(&app, owner.org).await;

    let raw = |path: String, method: reqwest::Method, ct: &'static str, text: String| {
        let app = &app;
        let cookie = cookie.clone();
        async move {
            app.client
                .request(method, app.url(&path))
                .header(COOKIE, cookie)
                .header(CONTENT_TYPE, ct)
                .body(text)
                .send()
                .await
                .expect("request")
        }
    };
    let cases: Vec<(reqwest::Response, StatusCode, &str)> = vec![
        (
            raw(
                "/api/v1/suppliers".into(),
                reqwest::Method::POST,
                "application/json",
                "{\"name\":".into(),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        (
            raw(
                "/api/v1/suppliers".into(),
                reqwest::Method::POST,
                "text/plain",
                "{\"name\":\"X\"}".into(),
            )
            .await,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            raw(
                "/api/v1/suppliers".into(),
                reqwest::Method::POST,
                "application/json",
                "{\"name\":\"X\",\"org_id\":\"x\"}".into(),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            raw(
                "/api/v1/suppliers".into(),
                reqwest::Method::POST,
                "application/json",
                format!("{{\"name\":\"{}\"}}", "x".repeat(2 * 1024 * 1024)),
            )
            .await,
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
        ),
        (
            raw(
                format!("/api/v1/suppliers/{id}"),
                reqwest::Method::PATCH,
                "application/json",
                "{\"verified_phone\":\"+44 1\"}".into(),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
    ];
    for (res, status, code) in cases {
        assert_eq!(res.status(), status, "{code}");
        assert_eq!(error_code(res).await, code);
    }
    let invalid = [
        json!({ "name": "" }),
        json!({ "name": "Bad Domain", "domains": ["not a domain"] }),
        json!({ "name": "Bad Country", "country": "Narnia" }),
        json!({ "name": "No Source", "verified_phone": "+44 20 7946 0000" }),
        json!({ "name": "Bad Iban", "bank_account": { "scheme": "iban", "iban": "GB00 NWBK 6016 1331 9268 19" } }),
        json!({ "name": "Bad Aba", "bank_account": { "scheme": "us", "routing_number": "021000022", "account_number": "12345678901" } }),
    ];
    for body in invalid {
        let (status, text) = send(
            &app,
            reqwest::Method::POST,
            "/api/v1/suppliers",
            &cookie,
            Some(&body),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {text}");
        assert_eq!(json_of(&text)["error"]["code"], "invalid_field");
        assert_masked(&text);
    }
    let (status, _) = send(
        &app,
        reqwest::Method::PATCH,
        &format!("/api/v1/suppliers/{id}"),
        &cookie,
        Some(&json!({ "status": "deleted" })),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(counts(&app, owner.org).await, before, "nothing written");
}

/// A supplier with an approved account and phone, via the API: the owner
/// proposes, `approver` approves. Returns the supplier id.
async fn apex_approved(app: &TestApp, owner_cookie: &str, approver_cookie: &str) -> String {
    let (_, body) = send(
        app,
        reqwest::Method::POST,
        "/api/v1/suppliers",
        owner_cookie,
        Some(&apex_with_account()),
    )
    .await;
    let created = json_of(&body);
    for change in created["pending_changes"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        let cid = change["id"].as_str().expect("change id");
        let (status, text) = send(
            app,
            reqwest::Method::POST,
            &format!("/api/v1/supplier-changes/{cid}/approve"),
            approver_cookie,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{text}");
    }
    created["id"].as_str().expect("id").to_owned()
}

#[tokio::test]
async fn bank_detail_changes_need_another_approver_with_a_fresh_step_up() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let (owner, owner_cookie) = org_with_owner(&app, "owner@hartleybuild.co.uk").await;
    let approver = member(
        &app,
        owner.org,
        "approver@hartleybuild.co.uk",
        Role::Approver,
        true,
    )
    .await;
    let approver_cookie = app.sign_in(&approver).await;
    let second = member(
        &app,
        owner.org,
        "second@hartleybuild.co.uk",
        Role::Approver,
        true,
    )
    .await;
    let second_cookie = app.sign_in(&second).await;
    let no_mfa = member(
        &app,
        owner.org,
        "nomfa@hartleybuild.co.uk",
        Role::Approver,
        false,
    )
    .await;
    let no_mfa_cookie = app.sign_in(&no_mfa).await;
    let clerk = member(
        &app,
        owner.org,
        "clerk@hartleybuild.co.uk",
        Role::Clerk,
        false,
    )
    .await;
    let clerk_cookie = app.sign_in(&clerk).await;
    let viewer = member(
        &app,
        owner.org,
        "viewer@hartleybuild.co.uk",
        Role::Viewer,
        false,
    )
    .await;
    let viewer_cookie = app.sign_in(&viewer).await;
    let supplier = apex_approved(&app, &owner_cookie, &approver_cookie).await;

    let new_account = json!({ "bank_account": { "scheme": "iban", "iban": "DE89 3704 0044 0532 0130 00", "bic": "COBADEFFXXX" } });
    let path = format!("/api/v1/suppliers/{supplier}/bank-accounts");

    // A viewer may not propose.
    let before = counts(&app, owner.org).await;
    let (status, _) = send(
        &app,
        reqwest::Method::POST,
        &path,
        &viewer_cookie,
        Some(&new_account),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(counts(&app, owner.org).await, before);

    // An approver proposes: one pending account, one change, one event.
    let (status, body) = send(
        &app,
        reqwest::Method::POST,
        &path,
        &approver_cookie,
        Some(&new_account),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_masked(&body);
    let change = json_of(&body)["id"].as_str().expect("change").to_owned();
    let proposed = counts(&app, owner.org).await;
    assert_eq!(proposed[1] - before[1], 1);
    assert_eq!(proposed[2] - before[2], 1);
    assert_eq!(proposed[3] - before[3], 1, "one audit event");
    let approve = format!("/api/v1/supplier-changes/{change}/approve");

    // The proposer cannot approve, though an approver with MFA.
    let (status, body) = send(
        &app,
        reqwest::Method::POST,
        &approve,
        &approver_cookie,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(json_of(&body)["error"]["code"], "dual_control");
    // A clerk cannot approve.
    let (status, body) = send(&app, reqwest::Method::POST, &approve, &clerk_cookie, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(json_of(&body)["error"]["code"], "forbidden");
    // Another approver without MFA in this session: step-up required.
    let (status, body) = send(&app, reqwest::Method::POST, &approve, &no_mfa_cookie, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(json_of(&body)["error"]["code"], "step_up_required");
    // Another approver whose MFA is older than five minutes: step-up required.
    age_mfa(&app, second.user, 6 * 60).await;
    let (status, body) = send(&app, reqwest::Method::POST, &approve, &second_cookie, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(json_of(&body)["error"]["code"], "step_up_required");
    assert_eq!(
        counts(&app, owner.org).await,
        proposed,
        "refusals write nothing"
    );

    // The owner, freshly signed in with TOTP, approves.
    let (status, body) = send(&app, reqwest::Method::POST, &approve, &owner_cookie, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_masked(&body);
    let decided = json_of(&body);
    assert_eq!(decided["status"], "approved");
    assert_eq!(decided["decided_by"], owner.user.to_string());
    assert_eq!(decided["retired"].as_array().map(Vec::len), Some(1));
    let after = counts(&app, owner.org).await;
    assert_eq!(after[3] - proposed[3], 1, "one audit event");

    let (_, body) = send(
        &app,
        reqwest::Method::GET,
        &format!("/api/v1/suppliers/{supplier}"),
        &owner_cookie,
        None,
    )
    .await;
    assert_masked(&body);
    let detail = json_of(&body);
    let statuses: Vec<&str> = detail["bank_accounts"]
        .as_array()
        .map(|a| a.iter().filter_map(|x| x["status"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(statuses, vec!["retired", "active"]);
    assert_eq!(detail["pending_changes"], json!([]));

    // Decided is decided.
    let (status, _) = send(&app, reqwest::Method::POST, &approve, &second_cookie, None).await;
    assert!(status == StatusCode::CONFLICT || status == StatusCode::FORBIDDEN);
    assert_audit_masked(&app, owner.org).await;
}

#[tokio::test]
async fn a_new_call_back_number_reaches_the_record_only_when_another_person_approves() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let (owner, owner_cookie) = org_with_owner(&app, "owner@hartleybuild.co.uk").await;
    let approver = member(
        &app,
        owner.org,
        "approver@hartleybuild.co.uk",
        Role::Approver,
        true,
    )
    .await;
    let approver_cookie = app.sign_in(&approver).await;
    let clerk = member(
        &app,
        owner.org,
        "clerk@hartleybuild.co.uk",
        Role::Clerk,
        false,
    )
    .await;
    let clerk_cookie = app.sign_in(&clerk).await;
    let supplier = apex_approved(&app, &owner_cookie, &approver_cookie).await;
    let detail_path = format!("/api/v1/suppliers/{supplier}");
    let (_, body) = send(
        &app,
        reqwest::Method::GET,
        &detail_path,
        &clerk_cookie,
        None,
    )
    .await;
    let detail = json_of(&body);
    assert_eq!(detail["verified_phone"], "+44 20 7946 0321");
    assert_eq!(
        detail["phone_source"],
        "letterhead, checked against Companies House"
    );
    assert_eq!(detail["phone_verified_by"], approver.user.to_string());

    // A clerk proposes a new number (as a fraudster who got a login would).
    let (status, body) = send(
        &app,
        reqwest::Method::POST,
        &format!("/api/v1/suppliers/{supplier}/phone"),
        &clerk_cookie,
        Some(&json!({ "verified_phone": "+44 7700 900999", "phone_source": "phoned us" })),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let change = json_of(&body)["id"].as_str().expect("id").to_owned();
    let (_, body) = send(
        &app,
        reqwest::Method::GET,
        &detail_path,
        &clerk_cookie,
        None,
    )
    .await;
    assert_eq!(
        json_of(&body)["verified_phone"],
        "+44 20 7946 0321",
        "unchanged while pending"
    );
    let (_, body) = send(
        &app,
        reqwest::Method::GET,
        "/api/v1/supplier-changes?status=pending",
        &approver_cookie,
        None,
    )
    .await;
    assert_eq!(json_of(&body).as_array().map(Vec::len), Some(1));

    // The approver rejects it: nothing changes, one audit event.
    let before = counts(&app, owner.org).await;
    let (status, body) = send(
        &app,
        reqwest::Method::POST,
        &format!("/api/v1/supplier-changes/{change}/reject"),
        &approver_cookie,
        Some(&json!({ "reason": "called the number on file: no change" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(json_of(&body)["status"], "rejected");
    assert_eq!(counts(&app, owner.org).await[3] - before[3], 1);
    let (_, body) = send(
        &app,
        reqwest::Method::GET,
        &detail_path,
        &clerk_cookie,
        None,
    )
    .await;
    assert_eq!(json_of(&body)["verified_phone"], "+44 20 7946 0321");
    let (status, _) = send(
        &app,
        reqwest::Method::GET,
        "/api/v1/supplier-changes?status=bogus",
        &clerk_cookie,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_rejected_bank_account_is_retired_unused() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let (owner, owner_cookie) = org_with_owner(&app, "owner@hartleybuild.co.uk").await;
    let approver = member(
        &app,
        owner.org,
        "approver@hartleybuild.co.uk",
        Role::Approver,
        true,
    )
    .await;
    let approver_cookie = app.sign_in(&approver).await;
    let (_, body) = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/suppliers",
        &owner_cookie,
        Some(&apex_with_account()),
    )
    .await;
    let created = json_of(&body);
    let bank_change = created["pending_changes"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["kind"] == "bank_account"))
        .and_then(|c| c["id"].as_str())
        .expect("bank change")
        .to_owned();
    let (status, _) = send(
        &app,
        reqwest::Method::POST,
        &format!("/api/v1/supplier-changes/{bank_change}/reject"),
        &approver_cookie,
        Some(&json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let id = created["id"].as_str().expect("id");
    let (_, body) = send(
        &app,
        reqwest::Method::GET,
        &format!("/api/v1/suppliers/{id}"),
        &owner_cookie,
        None,
    )
    .await;
    assert_eq!(json_of(&body)["bank_accounts"][0]["status"], "retired");
    // A rejected change cannot then be approved.
    let (status, _) = send(
        &app,
        reqwest::Method::POST,
        &format!("/api/v1/supplier-changes/{bank_change}/approve"),
        &approver_cookie,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn another_organisations_suppliers_and_changes_answer_404_and_stay_untouched() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let (a, a_cookie) = org_with_owner(&app, "owner@hartleybuild.co.uk").await;
    let (b, b_cookie) = org_with_owner(&app, "owner@otherbuild.co.uk").await;
    let (_, body) = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/suppliers",
        &b_cookie,
        Some(&apex_with_account()),
    )
    .await;
    let created = json_of(&body);
    let sid = created["id"].as_str().expect("id").to_owned();
    let cid = created["pending_changes"][0]["id"]
        .as_str()
        .expect("cid")
        .to_owned();
    let b_before = counts(&app, b.org).await;
    let a_before = counts(&app, a.org).await;
    let tries: Vec<(reqwest::Method, String, Option<Value>)> = vec![
        (
            reqwest::Method::GET,
            format!("/api/v1/suppliers/{sid}"),
            None,
        ),
        (
            reqwest::Method::PATCH,
            format!("/api/v1/suppliers/{sid}"),
            Some(json!({ "name": "Stolen" })),
        ),
        (
            reqwest::Method::DELETE,
            format!("/api/v1/suppliers/{sid}"),
            None,
        ),
        (
            reqwest::Method::POST,
            format!("/api/v1/suppliers/{sid}/phone"),
            Some(json!({ "verified_phone": "+44 7700 900999", "phone_source": "x" })),
        ),
        (
            reqwest::Method::POST,
            format!("/api/v1/suppliers/{sid}/bank-accounts"),
            Some(
                json!({ "bank_account": { "scheme": "uk", "sort_code": "20-00-00", "account_number": "55779911" } }),
            ),
        ),
        (
            reqwest::Method::GET,
            format!("/api/v1/supplier-changes/{cid}"),
            None,
        ),
        (
            reqwest::Method::POST,
            format!("/api/v1/supplier-changes/{cid}/approve"),
            None,
        ),
        (
            reqwest::Method::POST,
            format!("/api/v1/supplier-changes/{cid}/reject"),
            Some(json!({})),
        ),
        (
            reqwest::Method::GET,
            "/api/v1/suppliers/not-a-uuid".to_owned(),
            None,
        ),
    ];
    for (method, path, body) in tries {
        let (status, text) = send(&app, method.clone(), &path, &a_cookie, body.as_ref()).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {text}");
        assert!(!text.contains("Apex"), "{text}");
    }
    let (_, text) = send(
        &app,
        reqwest::Method::GET,
        &format!("/api/v1/supplier-changes?supplier={sid}"),
        &a_cookie,
        None,
    )
    .await;
    assert_eq!(json_of(&text), json!([]));
    let (_, text) = send(
        &app,
        reqwest::Method::GET,
        "/api/v1/suppliers",
        &a_cookie,
        None,
    )
    .await;
    assert_eq!(json_of(&text), json!([]));
    assert_eq!(counts(&app, b.org).await, b_before);
    assert_eq!(counts(&app, a.org).await, a_before);
}
