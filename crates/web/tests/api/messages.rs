//! `POST/GET /api/v1/messages`: submission through the engine into the
//! store, the list's filters, tenant isolation and bad input.

use crate::{Seeded, TestApp, error_code};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE};
use sentra_domain::OrgId;
use sentra_domain::bank::{BankAccount, SortCode, UkAccountNumber};
use sentra_store::ids::MessageId;
use sentra_store::repo::bank_account::{self, AccountStatus};
use sentra_store::repo::message;
use sentra_store::repo::supplier::{self, SupplierFields, SupplierStatus};
use sentra_testkit::emails::{
    APEX_ACCOUNT_NUMBER, APEX_DOMAIN, APEX_NAME, APEX_SORT_CODE, FRAUD_BANK_CHANGE, LEGIT_INVOICE,
};
use serde_json::Value;

/// Seeds Apex as an active supplier of `org` with its verified account, as
/// the shared emails (`sentra_testkit::emails`) expect.
pub(crate) async fn seed_apex(app: &TestApp, who: &Seeded) {
    let mut tx = app.tx(who.org).await;
    let id = supplier::create(
        &mut tx,
        &SupplierFields {
            name: APEX_NAME.to_owned(),
            domains: vec![APEX_DOMAIN.to_owned()],
            country: Some("GB".to_owned()),
            status: SupplierStatus::Active,
        },
    )
    .await
    .expect("supplier");
    let account = BankAccount::Uk {
        sort_code: SortCode::parse(APEX_SORT_CODE).expect("sort code"),
        account: UkAccountNumber::parse(APEX_ACCOUNT_NUMBER).expect("account"),
    };
    bank_account::add(
        &mut tx,
        &app.keys,
        id,
        &account,
        AccountStatus::Active,
        Some(who.user),
    )
    .await
    .expect("account");
    tx.commit().await.expect("commit");
}

/// Rows of the tables a submission or a case action writes, in `org`:
/// `message`, `assessment`, `fraud_case`, `verification`, `audit_event`.
pub(crate) async fn counts(app: &TestApp, org: OrgId) -> [i64; 5] {
    let mut out = [0i64; 5];
    for (slot, table) in out.iter_mut().zip([
        "message",
        "assessment",
        "fraud_case",
        "verification",
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

/// POSTs raw bytes with a content type.
pub(crate) async fn submit_raw(
    app: &TestApp,
    cookie: &str,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/messages"))
        .header(COOKIE, cookie)
        .header(CONTENT_TYPE, content_type)
        .body(body)
        .send()
        .await
        .expect("request")
}

/// Submits an email and returns the 201 body.
pub(crate) async fn submit(app: &TestApp, cookie: &str, eml: &str) -> Value {
    let res = submit_raw(app, cookie, "message/rfc822", eml.to_owned()).await;
    let status = res.status();
    let body: Value = res.json().await.expect("json");
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

/// An organisation (hartleybuild.co.uk) with Apex on file, signed in.
pub(crate) async fn hartley(app: &TestApp, email: &str) -> (Seeded, String) {
    let who = app.seed(email, true).await;
    seed_apex(app, &who).await;
    let cookie = app.sign_in(&who).await;
    (who, cookie)
}

#[tokio::test]
async fn a_genuine_invoice_from_a_verified_supplier_is_low_and_opens_no_case() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let (who, cookie) = hartley(&app, "clerk@hartleybuild.co.uk").await;
    let before = counts(&app, who.org).await;
    let body = submit(&app, &cookie, LEGIT_INVOICE).await;
    assert_eq!(body["risk"]["level"], "low", "{body}");
    assert_eq!(body["category"], "invoice");
    assert_eq!(body["supplier"]["name"], "Apex Scaffolding Ltd");
    assert!(body["case_id"].is_null());
    let id = body["id"].as_str().expect("id");
    assert_eq!(body["source"], id);
    let after = counts(&app, who.org).await;
    // One message, one assessment, no case, no verification, one audit event.
    assert_eq!(
        [
            after[0] - before[0],
            after[1] - before[1],
            after[2] - before[2],
            after[3] - before[3],
            after[4] - before[4]
        ],
        [1, 1, 0, 0, 1]
    );

    // The raw MIME is stored, but only encrypted, and decrypts back.
    let stored: Vec<u8> = sqlx::query_scalar("select raw_mime from message where org_id = $1")
        .bind(who.org.as_uuid())
        .fetch_one(app.db.superuser())
        .await
        .expect("raw");
    assert!(!stored.windows(13).any(|w| w == b"APX-2026-1152"));
    let message_id = MessageId::from_uuid(uuid::Uuid::parse_str(id).expect("uuid"));
    let mut tx = app.tx(who.org).await;
    let raw = message::raw_mime(&mut tx, &app.keys, message_id)
        .await
        .expect("decrypt")
        .expect("kept");
    tx.rollback().await.expect("rollback");
    assert_eq!(raw.as_slice(), LEGIT_INVOICE.as_bytes());

    let one: Value = app
        .get(&format!("/api/v1/messages/{id}"), Some(&cookie))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(one["risk"]["level"], "low");
    assert_eq!(one["from"], "accounts@apexscaffolding.co.uk");
    assert_eq!(one["extracted"]["invoice_numbers"][0], "APX-2026-1152");
}

#[tokio::test]
async fn a_lookalike_bank_change_is_critical_opens_a_case_and_is_audited_with_accounts_masked() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let (who, cookie) = hartley(&app, "clerk@hartleybuild.co.uk").await;
    let body = submit(&app, &cookie, FRAUD_BANK_CHANGE).await;
    assert_eq!(body["risk"]["level"], "critical", "{body}");
    assert_eq!(body["category"], "bank_details_change");
    let codes: Vec<&str> = body["signals"]
        .as_array()
        .expect("signals")
        .iter()
        .filter_map(|s| s["code"].as_str())
        .collect();
    assert!(codes.contains(&"lookalike_domain"), "{codes:?}");
    let case_id = body["case_id"].as_str().expect("a case was opened");
    assert_eq!(
        body["extracted"]["bank_accounts"][0]["account_number"],
        "****9203"
    );
    assert!(!body.to_string().contains("63849203"), "{body}");

    // Stored masked too.
    let db = app.db.superuser();
    let extracted: Value = sqlx::query_scalar("select extracted from assessment where org_id = $1")
        .bind(who.org.as_uuid())
        .fetch_one(db)
        .await
        .expect("assessment");
    assert!(!extracted.to_string().contains("63849203"));
    let (action, target): (String, Option<String>) = sqlx::query_as(
        "select action, target_id from audit_event where org_id = $1 order by seq desc limit 1",
    )
    .bind(who.org.as_uuid())
    .fetch_one(db)
    .await
    .expect("audit");
    assert_eq!(action, "message.submitted");
    assert_eq!(target.as_deref(), body["id"].as_str());

    let case: Value = app
        .get(&format!("/api/v1/cases/{case_id}"), Some(&cookie))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(case["status"], "open");
    assert_eq!(case["risk_level"], "critical");
    assert_eq!(case["message_id"], body["id"]);
}

#[tokio::test]
async fn the_list_is_newest_first_and_filters_by_level_category_and_supplier() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let (_, cookie) = hartley(&app, "clerk@hartleybuild.co.uk").await;
    let legit = submit(&app, &cookie, LEGIT_INVOICE).await;
    let fraud = submit(&app, &cookie, FRAUD_BANK_CHANGE).await;
    let list = |q: &'static str| {
        let app = &app;
        let cookie = cookie.clone();
        async move {
            let res = app
                .get(&format!("/api/v1/messages{q}"), Some(&cookie))
                .await;
            assert_eq!(res.status(), StatusCode::OK, "{q}");
            let v: Value = res.json().await.expect("json");
            v.as_array()
                .expect("array")
                .iter()
                .filter_map(|m| m["id"].as_str().map(str::to_owned))
                .collect::<Vec<_>>()
        }
    };
    let ids = |v: &[&Value]| {
        v.iter()
            .filter_map(|m| m["id"].as_str().map(str::to_owned))
            .collect::<Vec<_>>()
    };
    assert_eq!(list("").await, ids(&[&fraud, &legit]));
    assert_eq!(list("?level=critical").await, ids(&[&fraud]));
    assert_eq!(list("?level=low").await, ids(&[&legit]));
    assert_eq!(list("?category=invoice").await, ids(&[&legit]));
    assert_eq!(
        list("?supplier=apex%20scaffolding%20ltd&level=critical").await,
        ids(&[&fraud])
    );
    assert!(list("?supplier=Nobody").await.is_empty());
    assert!(list("?level=high").await.is_empty());

    for bad in ["?level=severe", "?category=spam", "?colour=red"] {
        let res = app
            .get(&format!("/api/v1/messages{bad}"), Some(&cookie))
            .await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(error_code(res).await, "invalid_filter");
    }
}

#[tokio::test]
async fn another_orgs_message_is_a_404_identical_to_a_random_id() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let (_, cookie_a) = hartley(&app, "a@hartleybuild.co.uk").await;
    let (_, cookie_b) = hartley(&app, "b@bolt.example").await;
    let theirs = submit(&app, &cookie_b, LEGIT_INVOICE).await;
    let theirs = theirs["id"].as_str().expect("id");

    let cross = app
        .get(&format!("/api/v1/messages/{theirs}"), Some(&cookie_a))
        .await;
    let random = app
        .get(
            &format!("/api/v1/messages/{}", uuid::Uuid::new_v4()),
            Some(&cookie_a),
        )
        .await;
    let malformed = app
        .get("/api/v1/messages/not-a-uuid", Some(&cookie_a))
        .await;
    assert_eq!(cross.status(), StatusCode::NOT_FOUND);
    assert_eq!(random.status(), StatusCode::NOT_FOUND);
    assert_eq!(malformed.status(), StatusCode::NOT_FOUND);
    let (cross, random) = (
        cross.text().await.expect("body"),
        random.text().await.expect("body"),
    );
    assert_eq!(cross, random);
    assert_eq!(
        malformed.text().await.expect("body"),
        random,
        "malformed ids answer like missing ones"
    );

    let list: Value = app
        .get("/api/v1/messages", Some(&cookie_a))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(list.as_array().map(Vec::len), Some(0));
}

#[tokio::test]
async fn bad_submissions_are_refused_and_write_nothing() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let (who, cookie) = hartley(&app, "clerk@hartleybuild.co.uk").await;
    let before = counts(&app, who.org).await;

    let res = submit_raw(&app, &cookie, "text/plain", LEGIT_INVOICE.to_owned()).await;
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(error_code(res).await, "unsupported_media_type");

    let res = submit_raw(&app, &cookie, "application/json", "{}".to_owned()).await;
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let res = submit_raw(&app, &cookie, "message/rfc822", Vec::<u8>::new()).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(res).await, "empty_body");

    let res = submit_raw(&app, &cookie, "message/rfc822", " \r\n ".to_owned()).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    let huge = vec![b'a'; 25 * 1024 * 1024 + 1];
    let res = submit_raw(&app, &cookie, "message/rfc822", huge).await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_code(res).await, "body_too_large");

    let res = app
        .client
        .post(app.url("/api/v1/messages"))
        .header(CONTENT_TYPE, "message/rfc822")
        .body(LEGIT_INVOICE)
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    assert_eq!(counts(&app, who.org).await, before);
}

#[tokio::test]
async fn a_large_email_under_the_limit_is_accepted() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let (_, cookie) = hartley(&app, "clerk@hartleybuild.co.uk").await;
    // Over the 1 MiB JSON limit, under the 25 MiB email limit.
    let mut eml = LEGIT_INVOICE.to_owned();
    eml.push_str(&"Terms and conditions apply.\r\n".repeat(80_000));
    let body = submit(&app, &cookie, &eml).await;
    assert!(body["id"].is_string());
}

#[tokio::test]
async fn unparseable_bytes_are_stored_and_assessed_not_refused() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let (_, cookie) = hartley(&app, "clerk@hartleybuild.co.uk").await;
    let res = submit_raw(&app, &cookie, "message/rfc822", vec![0u8, 159, 146, 150, 7]).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["category"], "unparseable", "{body}");
}

#[tokio::test]
async fn a_medium_risk_message_opens_a_case_at_the_threshold() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let (who, cookie) = hartley(&app, "clerk@hartleybuild.co.uk").await;
    // A real supplier with no verified account on file: details cannot be checked.
    let mut tx = app.tx(who.org).await;
    supplier::create(
        &mut tx,
        &SupplierFields {
            name: "Greenway Skip Hire Ltd".to_owned(),
            domains: vec!["greenwayskips.co.uk".to_owned()],
            country: Some("GB".to_owned()),
            status: SupplierStatus::Active,
        },
    )
    .await
    .expect("supplier");
    tx.commit().await.expect("commit");
    let eml = "From: Greenway Skip Hire <invoices@greenwayskips.co.uk>\r
To: Accounts <accounts@hartleybuild.co.uk>\r
Subject: Invoice GW-2207\r
Date: Tue, 03 Nov 2026 10:00:00 +0000\r
Message-ID: <gw2207@greenwayskips.co.uk>\r
Content-Type: text/plain; charset=utf-8\r
\r
Invoice GW-2207 for skip hire. Amount due: GBP 640.00.\r
Please pay to sort code 20-00-00, account number 55779911.\r
";
    let body = submit(&app, &cookie, eml).await;
    assert_eq!(body["risk"]["level"], "medium", "{body}");
    assert!(body["case_id"].is_string(), "{body}");
    assert_eq!(
        body["extracted"]["bank_accounts"][0]["account_number"],
        "****9911"
    );
}
