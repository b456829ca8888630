//! The signed-in pages with data: dashboard, messages, cases; each for an
//! allowed role (data shown, no other organisation's), redirects without a
//! session, 403 pages for refused roles, and the forms' effects.

use crate::TestApp;
use crate::messages::{hartley, submit};
use crate::support::{count, location, member, page};
use reqwest::StatusCode;
use sentra_domain::Role;
use sentra_store::ids::MessageId;
use sentra_store::repo::invoice::{self, NewInvoice};
use sentra_testkit::emails::{FRAUD_BANK_CHANGE, LEGIT_INVOICE};

/// Gives Apex a verified phone with provenance (superuser: the supplier
/// repository has no setter on this branch).
async fn apex_phone(app: &TestApp) {
    sqlx::query(
        "update supplier set verified_phone = '+44 20 7946 0321',
                             phone_source = 'Signed contract 2024'",
    )
    .execute(app.db.superuser())
    .await
    .expect("phone");
}

#[tokio::test]
async fn dashboard_messages_and_case_pages_show_this_orgs_data_only() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let (_, cookie) = hartley(&app, "owner@hartleybuild.co.uk").await;
    apex_phone(&app).await;
    let fraud = submit(&app, &cookie, FRAUD_BANK_CHANGE).await;
    let message = fraud["id"].as_str().expect("id").to_owned();
    let case = fraud["case_id"].as_str().expect("case").to_owned();
    // Another organisation with its own flagged message.
    let (_, other_cookie) = hartley(&app, "owner@otherbuild.co.uk").await;
    let theirs = submit(&app, &other_cookie, FRAUD_BANK_CHANGE).await;
    let their_message = theirs["id"].as_str().expect("id").to_owned();
    let their_case = theirs["case_id"].as_str().expect("case").to_owned();

    let (status, html) = page(&app, "/", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Open cases: 1"), "{html}");
    assert!(html.contains("<svg") && html.contains("Week starting"));
    assert!(html.contains(&message) && !html.contains(&their_message));

    let (status, html) = page(&app, "/messages", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&message) && !html.contains(&their_message));
    // htmx gets the table alone.
    let res = app
        .client
        .get(app.url("/messages?level=critical"))
        .header("cookie", &cookie)
        .header("hx-request", "true")
        .send()
        .await
        .expect("request");
    let partial = res.text().await.expect("body");
    assert!(partial.starts_with("<div id=\"results\">") && !partial.contains("<html"));
    let (_, none) = page(&app, "/messages?level=low", Some(&cookie)).await;
    assert!(!none.contains(&message));
    let (status, _) = page(&app, "/messages?level=severe", Some(&cookie)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, html) = page(&app, &format!("/messages/{message}"), Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<mark>"), "evidence marked");
    assert!(html.contains("Do not pay yet"), "{html}");
    assert!(html.contains("Apex Scaffolding Ltd") && html.contains("+44 20 7946 0321"));
    assert!(html.contains("Signed contract 2024"));
    assert!(
        html.contains("not on file"),
        "the new account is not Apex's"
    );
    assert!(!html.contains("66374958"), "account numbers are masked");
    assert!(html.contains("****4958"));

    let (status, html) = page(&app, &format!("/cases/{case}"), Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("+44 20 7946 0321") && html.contains("Signed contract 2024"));
    assert!(html.contains("Record a call"));
    let (_, list) = page(&app, "/cases", Some(&cookie)).await;
    assert!(list.contains(&case) && !list.contains(&their_case));

    // Another organisation's ids are the 404 page.
    for path in [
        format!("/messages/{their_message}"),
        format!("/cases/{their_case}"),
    ] {
        let (status, html) = page(&app, &path, Some(&cookie)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(html.contains("Page not found"));
    }
    // No session: to sign-in, with the way back.
    let res = app.get(&format!("/cases/{case}"), None).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), format!("/login?next=%2Fcases%2F{case}"));
}

#[tokio::test]
async fn a_case_is_worked_through_the_forms_with_one_audit_event_each() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let (who, cookie) = hartley(&app, "clerk@hartleybuild.co.uk").await;
    let fraud = submit(&app, &cookie, FRAUD_BANK_CHANGE).await;
    let case = fraud["case_id"].as_str().expect("case").to_owned();
    let message = MessageId::from_uuid(fraud["id"].as_str().expect("id").parse().expect("uuid"));
    let mut tx = app.tx(who.org).await;
    let inv = invoice::create(
        &mut tx,
        &NewInvoice {
            message_id: Some(message),
            number: Some("INV-7731".to_owned()),
            amount_minor: Some(486_000),
            currency: Some("GBP".to_owned()),
            due_date: None,
        },
    )
    .await
    .expect("invoice");
    tx.commit().await.expect("commit");
    let events = || count(&app, "select count(*) from audit_event");
    let before = events().await;

    let res = app
        .post_form(
            &format!("/cases/{case}/verifications"),
            &[
                ("phone_called", "+44 20 7946 0321"),
                ("outcome", "confirmed_fraud"),
                ("note", "never changed"),
            ],
            Some(&cookie),
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), format!("/cases/{case}"));
    assert_eq!(events().await, before + 1);

    let res = app
        .post_form(
            &format!("/invoices/{inv}/payment"),
            &[("status", "held"), ("case_id", &case)],
            Some(&cookie),
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(events().await, before + 2);
    let (_, html) = page(&app, &format!("/cases/{case}"), Some(&cookie)).await;
    assert!(
        html.contains("<strong>held</strong>") && html.contains("INV-7731"),
        "{html}"
    );
    assert!(html.contains("Confirmed fraud") && html.contains("clerk@hartleybuild.co.uk"));

    // Holding again is a 409 page, nothing written.
    let res = app
        .post_form(
            &format!("/invoices/{inv}/payment"),
            &[("status", "held")],
            Some(&cookie),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(events().await, before + 2);

    let res = app
        .post_form(
            &format!("/cases/{case}/resolve"),
            &[("resolution", "confirmed_fraud"), ("note", "stopped")],
            Some(&cookie),
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(events().await, before + 3);
    let (_, html) = page(&app, &format!("/cases/{case}"), Some(&cookie)).await;
    assert!(
        !html.contains("Record a call"),
        "closed cases take no calls"
    );

    // Feedback by form and by API.
    let res = app
        .post_form(
            &format!("/messages/{message}/feedback"),
            &[("verdict", "correct"), ("comment", "good catch")],
            Some(&cookie),
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(events().await, before + 4);
    let res = app
        .post(
            "/api/v1/feedback",
            &serde_json::json!({ "message_id": message.to_string(), "verdict": "false_positive" }),
            Some(&cookie),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(count(&app, "select count(*) from feedback").await, 2);
    assert_eq!(events().await, before + 5);
    let res = app
        .post(
            "/api/v1/feedback",
            &serde_json::json!({ "message_id": message.to_string(), "verdict": "meh" }),
            Some(&cookie),
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(count(&app, "select count(*) from feedback").await, 2);
    assert_eq!(events().await, before + 5, "a refused feedback was audited");
}

#[tokio::test]
async fn roles_are_enforced_on_pages_and_the_payment_api() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let (who, cookie) = hartley(&app, "owner@hartleybuild.co.uk").await;
    let body = submit(&app, &cookie, LEGIT_INVOICE).await;
    let message = MessageId::from_uuid(body["id"].as_str().expect("id").parse().expect("uuid"));
    let mut tx = app.tx(who.org).await;
    let inv = invoice::create(
        &mut tx,
        &NewInvoice {
            message_id: Some(message),
            ..NewInvoice::default()
        },
    )
    .await
    .expect("invoice");
    tx.commit().await.expect("commit");
    let viewer = member(&app, who.org, "viewer@hartleybuild.co.uk", Role::Viewer).await;
    let clerk = member(&app, who.org, "clerk@hartleybuild.co.uk", Role::Clerk).await;

    // Viewers read pages but the admin pages are 403 pages.
    assert_eq!(
        page(&app, "/messages", Some(&viewer)).await.0,
        StatusCode::OK
    );
    for path in ["/audit", "/alerts"] {
        let (status, html) = page(&app, path, Some(&viewer)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert!(html.contains("Not allowed"));
    }
    let (_, html) = page(&app, "/", Some(&viewer)).await;
    assert!(
        !html.contains("href=\"/audit\""),
        "nav hides what the role cannot open"
    );
    let res = app
        .post_form(
            &format!("/messages/{message}/feedback"),
            &[("verdict", "correct")],
            Some(&viewer),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // A clerk may hold but not release; an owner may release. Each change
    // writes exactly one audit event; each refusal writes none.
    let pay = |status: &str| serde_json::json!({ "status": status });
    let path = format!("/api/v1/invoices/{inv}/payment");
    let events = async || app.audit_actions(who.org).await;
    let before = events().await.len();
    assert_eq!(
        app.post(&path, &pay("verified"), Some(&clerk))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(events().await.len(), before);
    assert_eq!(
        app.post(&path, &pay("held"), Some(&clerk)).await.status(),
        StatusCode::OK
    );
    let after = events().await;
    assert_eq!(after.len(), before + 1);
    assert_eq!(
        after.last().map(String::as_str),
        Some("invoice.payment_status")
    );
    let res = app.post(&path, &pay("verified"), Some(&cookie)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(body["payment_status"], "verified");
    assert_eq!(events().await.len(), before + 2);
    assert_eq!(
        app.post(&path, &pay("paid"), Some(&cookie)).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        app.post(&path, &pay("held"), Some(&viewer)).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(events().await.len(), before + 2);
}
