//! `/api/v1/cases`: working a case through verification to resolution,
//! the lifecycle's refusals, roles, tenant isolation and bad input.

use crate::messages::{counts, hartley, submit};
use crate::{PASSWORD, Seeded, TestApp, error_code};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE};
use sentra_domain::{EmailAddress, Role};
use sentra_store::TenantTx;
use sentra_store::audit::{self, NewEvent};
use sentra_store::ids::CaseId;
use sentra_store::repo::verification::{self, NewVerification, Outcome};
use sentra_store::repo::{organisation, user};
use sentra_testkit::emails::FRAUD_BANK_CHANGE;
use sentra_web::password;
use serde_json::{Value, json};

/// An organisation with one critical case; returns who, cookie, case id.
async fn with_case(app: &TestApp, email: &str) -> (Seeded, String, String) {
    let (who, cookie) = hartley(app, email).await;
    let body = submit(app, &cookie, FRAUD_BANK_CHANGE).await;
    let case = body["case_id"].as_str().expect("case").to_owned();
    (who, cookie, case)
}

async fn post_json(app: &TestApp, path: &str, cookie: &str, body: &Value) -> reqwest::Response {
    app.post(path, body, Some(cookie)).await
}

async fn post_text(app: &TestApp, path: &str, cookie: &str, text: &str) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .header(COOKIE, cookie)
        .header(CONTENT_TYPE, "application/json")
        .body(text.to_owned())
        .send()
        .await
        .expect("request")
}

#[tokio::test]
async fn a_fraud_case_is_worked_to_confirmed_fraud_by_verification_and_resolution() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let (who, cookie, case) = with_case(&app, "clerk@hartleybuild.co.uk").await;
    let before = counts(&app, who.org).await;

    let res = post_json(
        &app,
        &format!("/api/v1/cases/{case}/verifications"),
        &cookie,
        &json!({
            "phone_called": "+44 20 7946 0321",
            "outcome": "confirmed_fraud",
            "note": "Apex never changed bank details"
        }),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["status"], "verifying");
    let after_verify = counts(&app, who.org).await;
    assert_eq!(after_verify[3] - before[3], 1, "one verification");
    assert_eq!(after_verify[4] - before[4], 1, "one audit event");

    let res = post_json(
        &app,
        &format!("/api/v1/cases/{case}/resolve"),
        &cookie,
        &json!({ "resolution": "confirmed_fraud", "note": "payment stopped" }),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["status"], "confirmed_fraud");
    assert_eq!(body["closed_by"], who.user.to_string());
    assert!(body["closed_at"].is_string());
    let after_resolve = counts(&app, who.org).await;
    assert_eq!(after_resolve[4] - after_verify[4], 1, "one audit event");

    let detail: Value = app
        .get(&format!("/api/v1/cases/{case}"), Some(&cookie))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(detail["status"], "confirmed_fraud");
    let checks = detail["verifications"].as_array().expect("verifications");
    assert_eq!(checks.len(), 1);
    assert_eq!(checks[0]["outcome"], "confirmed_fraud");
    assert_eq!(checks[0]["phone_called"], "+44 20 7946 0321");
    assert_eq!(checks[0]["performed_by"], who.user.to_string());
    assert!(checks[0]["performed_at"].is_string());

    let actions: Vec<String> =
        sqlx::query_scalar("select action from audit_event where org_id = $1 order by seq")
            .bind(who.org.as_uuid())
            .fetch_all(app.db.superuser())
            .await
            .expect("audit");
    assert!(actions.ends_with(&[
        "message.submitted".to_owned(),
        "case.verification".to_owned(),
        "case.resolve".to_owned()
    ]));

    let list: Value = app
        .get("/api/v1/cases", Some(&cookie))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert_eq!(list[0]["id"], case.as_str());
}

#[tokio::test]
async fn invalid_transitions_are_409_and_write_nothing() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let (who, cookie, case) = with_case(&app, "clerk@hartleybuild.co.uk").await;
    let before = counts(&app, who.org).await;
    // Never cleared straight from the inbox.
    let res = post_json(
        &app,
        &format!("/api/v1/cases/{case}/resolve"),
        &cookie,
        &json!({ "resolution": "cleared" }),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(error_code(res).await, "invalid_transition");
    assert_eq!(counts(&app, who.org).await, before);

    // Closed cases stay closed: neither a resolution nor a verification.
    let res = post_json(
        &app,
        &format!("/api/v1/cases/{case}/resolve"),
        &cookie,
        &json!({ "resolution": "dismissed" }),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let closed = counts(&app, who.org).await;
    let res = post_json(
        &app,
        &format!("/api/v1/cases/{case}/resolve"),
        &cookie,
        &json!({ "resolution": "confirmed_fraud" }),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let res = post_json(
        &app,
        &format!("/api/v1/cases/{case}/verifications"),
        &cookie,
        &json!({ "outcome": "no_answer" }),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(counts(&app, who.org).await, closed);
}

#[tokio::test]
async fn malformed_bodies_are_refused_and_write_nothing() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let (who, cookie, case) = with_case(&app, "clerk@hartleybuild.co.uk").await;
    let before = counts(&app, who.org).await;
    let verify = format!("/api/v1/cases/{case}/verifications");
    let resolve = format!("/api/v1/cases/{case}/resolve");

    let res = post_text(&app, &verify, &cookie, "{\"outcome\": ").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(res).await, "malformed_json");

    for bad in [
        json!({ "outcome": "maybe" }),
        json!({ "phone_called": "1" }),
        json!({ "outcome": "no_answer", "extra": true }),
    ] {
        let res = post_json(&app, &verify, &cookie, &bad).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert_eq!(error_code(res).await, "invalid_body");
    }
    let res = post_json(
        &app,
        &verify,
        &cookie,
        &json!({ "outcome": "no_answer", "phone_called": "9".repeat(41) }),
    )
    .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    for bad in [
        json!({ "resolution": "closed" }),
        json!({ "resolution": "open" }),
        json!({}),
    ] {
        let res = post_json(&app, &resolve, &cookie, &bad).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    let res = post_json(
        &app,
        &resolve,
        &cookie,
        &json!({ "resolution": "dismissed", "note": "x".repeat(4001) }),
    )
    .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    let res = app
        .client
        .post(app.url(&resolve))
        .header(COOKIE, &cookie)
        .header(CONTENT_TYPE, "text/plain")
        .body("{\"resolution\":\"dismissed\"}")
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    assert_eq!(counts(&app, who.org).await, before);
    let detail: Value = app
        .get(&format!("/api/v1/cases/{case}"), Some(&cookie))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(detail["status"], "open");
}

#[tokio::test]
async fn another_orgs_case_is_a_404_and_cannot_be_verified_or_resolved() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let (a, cookie_a, _) = with_case(&app, "a@hartleybuild.co.uk").await;
    let (b, _, theirs) = with_case(&app, "b@bolt.example").await;
    let (before_a, before_b) = (counts(&app, a.org).await, counts(&app, b.org).await);

    let cross = app
        .get(&format!("/api/v1/cases/{theirs}"), Some(&cookie_a))
        .await;
    let random_id = uuid::Uuid::new_v4();
    let random = app
        .get(&format!("/api/v1/cases/{random_id}"), Some(&cookie_a))
        .await;
    assert_eq!(cross.status(), StatusCode::NOT_FOUND);
    assert_eq!(random.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        cross.text().await.expect("body"),
        random.text().await.expect("body")
    );

    for (path, body) in [
        (
            format!("/api/v1/cases/{theirs}/verifications"),
            json!({ "outcome": "confirmed_genuine" }),
        ),
        (
            format!("/api/v1/cases/{theirs}/resolve"),
            json!({ "resolution": "dismissed" }),
        ),
        (
            format!("/api/v1/cases/{random_id}/verifications"),
            json!({ "outcome": "confirmed_genuine" }),
        ),
    ] {
        let res = post_json(&app, &path, &cookie_a, &body).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let list: Value = app
        .get("/api/v1/cases", Some(&cookie_a))
        .await
        .json()
        .await
        .expect("json");
    assert!(
        list.as_array()
            .expect("array")
            .iter()
            .all(|c| c["id"] != theirs.as_str())
    );
    assert_eq!(counts(&app, a.org).await, before_a);
    assert_eq!(counts(&app, b.org).await, before_b);
}

#[tokio::test]
async fn a_viewer_may_read_but_not_submit_verify_or_resolve() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let (owner, _, case) = with_case(&app, "owner@hartleybuild.co.uk").await;
    let pool = app.db.app_pool();
    let hash = password::hash(PASSWORD).expect("hash");
    let viewer = user::create(
        pool,
        &EmailAddress::parse("viewer@hartleybuild.co.uk").expect("email"),
        &hash,
    )
    .await
    .expect("user");
    let mut tx = app.tx(owner.org).await;
    organisation::add_member(&mut tx, viewer, Role::Viewer)
        .await
        .expect("member");
    tx.commit().await.expect("commit");
    let seeded = Seeded {
        user: viewer,
        org: owner.org,
        email: "viewer@hartleybuild.co.uk".to_owned(),
        secret: None,
    };
    let cookie = app.sign_in(&seeded).await;
    let before = counts(&app, owner.org).await;

    let res = app
        .get(&format!("/api/v1/cases/{case}"), Some(&cookie))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app.get("/api/v1/messages", Some(&cookie)).await;
    assert_eq!(res.status(), StatusCode::OK);

    let res = post_json(
        &app,
        &format!("/api/v1/cases/{case}/verifications"),
        &cookie,
        &json!({ "outcome": "no_answer" }),
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(res).await, "forbidden");
    let res = post_json(
        &app,
        &format!("/api/v1/cases/{case}/resolve"),
        &cookie,
        &json!({ "resolution": "dismissed" }),
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = crate::messages::submit_raw(
        &app,
        &cookie,
        "message/rfc822",
        FRAUD_BANK_CHANGE.to_owned(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(counts(&app, owner.org).await, before);
}

#[tokio::test]
async fn a_rolled_back_verification_leaves_neither_the_row_nor_its_audit_event() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let (who, _, case) = with_case(&app, "clerk@hartleybuild.co.uk").await;
    let before = counts(&app, who.org).await;
    let case_id = CaseId::from_uuid(uuid::Uuid::parse_str(&case).expect("uuid"));
    let mut tx = TenantTx::begin(app.db.app_pool(), who.org, Some(who.user))
        .await
        .expect("tx");
    let recorded = verification::record(
        &mut tx,
        case_id,
        &NewVerification {
            number_called: None,
            outcome: Outcome::NoAnswer,
            notes: None,
        },
    )
    .await
    .expect("record");
    audit::append(
        &mut tx,
        NewEvent::new("user", "case.verification").target("case", case.clone()),
    )
    .await
    .expect("audit");
    assert_eq!(recorded.to.as_str(), "verifying");
    // A failure after both writes (here: the transaction is abandoned).
    tx.rollback().await.expect("rollback");
    assert_eq!(counts(&app, who.org).await, before);

    // Without a person, no verification can be recorded at all.
    let mut tx = app.tx(who.org).await;
    let err = verification::record(
        &mut tx,
        case_id,
        &NewVerification {
            number_called: None,
            outcome: Outcome::NoAnswer,
            notes: None,
        },
    )
    .await;
    assert!(matches!(err, Err(sentra_store::StoreError::Forbidden)));
    tx.rollback().await.expect("rollback");
    assert_eq!(counts(&app, who.org).await, before);
}
