//! The supplier pages: list and detail show masked accounts only, adding by
//! form lands details as pending, the paste-import previews without writing
//! and then imports, the proposer cannot approve by form, and roles and
//! sign-in are enforced.

use crate::TestApp;
use crate::suppliers::{assert_masked, counts, member};
use reqwest::StatusCode;
use sentra_domain::Role;

async fn html(res: reqwest::Response) -> (StatusCode, String) {
    let status = res.status();
    (status, res.text().await.unwrap_or_default())
}

#[tokio::test]
async fn supplier_pages_add_import_and_refuse_self_approval() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let owner = app.seed("owner@hartleybuild.co.uk", true).await;
    let cookie = app.sign_in(&owner).await;
    let viewer = member(
        &app,
        owner.org,
        "viewer@hartleybuild.co.uk",
        Role::Viewer,
        false,
    )
    .await;
    let viewer_cookie = app.sign_in(&viewer).await;

    // Signed out: to the sign-in page.
    let (status, _) = html(app.get("/suppliers", None).await).await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    // Add by form: the account waits for approval and is shown masked.
    let res = app
        .post_form(
            "/suppliers/new",
            &[
                ("name", "Apex Scaffolding Ltd"),
                ("domains", "apex-scaffolding.co.uk"),
                ("country", "GB"),
                ("verified_phone", "+44 20 7946 0321"),
                ("phone_source", "contract"),
                ("scheme", "uk"),
                ("sort_code", "20-29-59"),
                ("account_number", "63748472"),
            ],
            Some(&cookie),
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let location = res
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let (status, body) = html(app.get(&location, Some(&cookie)).await).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("pending_approval"), "{body}");
    assert!(body.contains("8472"));
    assert_masked(&body);
    let (status, body) = html(app.get("/suppliers?q=apex", Some(&viewer_cookie)).await).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Apex Scaffolding Ltd"));

    // The proposer sees the change but cannot approve it by form either.
    let (status, body) = html(app.get("/suppliers/changes", Some(&cookie)).await).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("someone else must decide"), "{body}");
    let change: String = sqlx::query_scalar(
        "select id::text from supplier_change where org_id = $1 and kind = 'bank_account'",
    )
    .bind(owner.org.as_uuid())
    .fetch_one(app.db.superuser())
    .await
    .expect("change");
    let before = counts(&app, owner.org).await;
    let (status, _) = html(
        app.post_form(
            &format!("/suppliers/changes/{change}/approve"),
            &[],
            Some(&cookie),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A viewer may not add or import.
    let (status, _) = html(app.get("/suppliers/new", Some(&viewer_cookie)).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let csv = "ContactName,EmailAddress,PhoneNumber\nHarbour Plant Hire,accounts@harbourplant.co.uk,0117 496 0123\n";
    let (status, _) = html(
        app.post_form(
            "/suppliers/import",
            &[("format", "xero"), ("csv", csv)],
            Some(&viewer_cookie),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(counts(&app, owner.org).await, before);

    // Paste → preview (nothing written) → confirm.
    let (status, body) = html(
        app.post_form(
            "/suppliers/import",
            &[("format", "xero"), ("csv", csv)],
            Some(&cookie),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("Preview") && body.contains("Harbour Plant Hire"),
        "{body}"
    );
    assert_eq!(counts(&app, owner.org).await, before);
    let bad = "ContactName,BankAccountNumber\nBad Ltd,12345\n";
    let (_, body) = html(
        app.post_form(
            "/suppliers/import",
            &[("format", "xero"), ("csv", bad)],
            Some(&cookie),
        )
        .await,
    )
    .await;
    assert!(body.contains("row error"), "{body}");
    assert!(body.contains("BankAccountNumber"));
    let (status, body) = html(
        app.post_form(
            "/suppliers/import",
            &[("format", "xero"), ("csv", csv), ("confirm", "yes")],
            Some(&cookie),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Imported."), "{body}");
    let after = counts(&app, owner.org).await;
    assert_eq!(after[0] - before[0], 1);
    assert_eq!(after[3] - before[3], 1, "one audit event");
}
