//! `POST /api/v1/suppliers/import`: the four formats from fixture files
//! written in each product's column layout, preview writing nothing, the
//! all-or-nothing rule with per-row errors, and refusals of wrong content
//! types, encodings, formats, sizes and roles.

use crate::suppliers::{assert_audit_masked, assert_masked, counts, member};
use crate::{TestApp, error_code};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE};
use sentra_domain::Role;
use serde_json::{Value, json};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/suppliers/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

async fn import(
    app: &TestApp,
    cookie: &str,
    query: &str,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> (StatusCode, String) {
    let res = app
        .client
        .post(app.url(&format!("/api/v1/suppliers/import?{query}")))
        .header(COOKIE, cookie)
        .header(CONTENT_TYPE, content_type)
        .body(body)
        .send()
        .await
        .expect("request");
    let status = res.status();
    (status, res.text().await.unwrap_or_default())
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

/// (format, fixture, suppliers, accounts, phones)
const FIXTURES: &[(&str, &str, usize, usize, usize)] = &[
    ("sentra", "sentra.csv", 3, 4, 3),
    ("xero", "xero.csv", 2, 1, 2),
    ("quickbooks", "quickbooks.csv", 2, 0, 2),
    ("sage", "sage.csv", 2, 2, 2),
];

#[tokio::test]
async fn each_format_previews_without_writing_then_imports_everything_as_pending() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    for (i, (format, file, suppliers, accounts, phones)) in FIXTURES.iter().enumerate() {
        let owner = app
            .seed(&format!("owner{i}@hartleybuild.co.uk"), true)
            .await;
        let cookie = app.sign_in(&owner).await;
        let before = counts(&app, owner.org).await;

        let (status, body) = import(
            &app,
            &cookie,
            &format!("format={format}&preview=true"),
            "text/csv",
            fixture(file),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{format}: {body}");
        assert_masked(&body);
        let preview = json_of(&body);
        assert_eq!(preview["valid"], true, "{format}: {body}");
        assert_eq!(
            preview["summary"]["created"], *suppliers,
            "{format}: {body}"
        );
        assert_eq!(
            preview["summary"]["pending_changes"],
            accounts + phones,
            "{format}: {body}"
        );
        assert_eq!(
            counts(&app, owner.org).await,
            before,
            "{format}: preview wrote"
        );

        let (status, body) = import(
            &app,
            &cookie,
            &format!("format={format}"),
            "text/csv; charset=utf-8",
            fixture(file),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{format}: {body}");
        assert_masked(&body);
        let after = counts(&app, owner.org).await;
        assert_eq!(after[0] - before[0], *suppliers as i64, "{format}");
        assert_eq!(after[1] - before[1], *accounts as i64, "{format}");
        assert_eq!(after[2] - before[2], (accounts + phones) as i64, "{format}");
        assert_eq!(after[3] - before[3], 1, "{format}: one audit event");

        // Nothing imported is trusted yet: no verified phone, no active account.
        let (_, list) = {
            let res = app.get("/api/v1/suppliers", Some(&cookie)).await;
            (res.status(), res.text().await.unwrap_or_default())
        };
        for s in json_of(&list).as_array().cloned().unwrap_or_default() {
            assert_eq!(s["verified_phone"], Value::Null, "{format}");
        }
        let active: i64 = sqlx::query_scalar(
            "select count(*) from supplier_bank_account where org_id = $1 and status <> 'pending_approval'",
        )
        .bind(owner.org.as_uuid())
        .fetch_one(app.db.superuser())
        .await
        .expect("count");
        assert_eq!(active, 0, "{format}");

        // The same file again changes nothing and proposes nothing new.
        let (status, body) = import(
            &app,
            &cookie,
            &format!("format={format}"),
            "text/csv",
            fixture(file),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{format}: {body}");
        let again = json_of(&body);
        assert_eq!(again["summary"]["created"], 0, "{format}: {body}");
        assert_eq!(again["summary"]["pending_changes"], 0, "{format}: {body}");
        assert_audit_masked(&app, owner.org).await;
    }
}

#[tokio::test]
async fn imported_domains_come_from_addresses_and_websites_but_never_free_mail() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let owner = app.seed("owner@hartleybuild.co.uk", true).await;
    let cookie = app.sign_in(&owner).await;
    let (status, body) = import(
        &app,
        &cookie,
        "format=xero",
        "text/csv",
        fixture("xero.csv"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let res = app.get("/api/v1/suppliers", Some(&cookie)).await;
    let list = json_of(&res.text().await.unwrap_or_default());
    let by_name = |n: &str| {
        list.as_array()
            .and_then(|a| a.iter().find(|s| s["name"] == n).cloned())
            .unwrap_or(Value::Null)
    };
    assert_eq!(
        by_name("Harbour Plant Hire")["domains"],
        json!(["harbourplant.co.uk"])
    );
    assert_eq!(by_name("Harbour Plant Hire")["country"], "GB");
    assert_eq!(by_name("Northgate Roofing")["domains"], json!([]));
}

/// An invalid row for each format: (format, csv, row, column).
const BAD_ROWS: &[(&str, &str, usize, &str)] = &[
    (
        "sentra",
        "name,domains,iban\nGood Ltd,good.co.uk,\nBad Ltd,bad.co.uk,GB00NWBK60161331926819\n",
        3,
        "iban",
    ),
    (
        "xero",
        "ContactName,EmailAddress,BankAccountNumber\nGood Ltd,a@good.co.uk,\nBad Ltd,b@bad.co.uk,12345\n",
        3,
        "BankAccountNumber",
    ),
    (
        "quickbooks",
        "Vendor,Phone,Email\nGood Inc,303 555 0142,ap@good.com\nBad Inc,call us,ap@bad.com\n",
        3,
        "Phone",
    ),
    (
        "sage",
        "A/C,Name,Sort Code,Account Number\nGOOD01,Good Ltd,,\nBAD01,Bad Ltd,20-29-59,\n",
        3,
        "Sort Code",
    ),
];

#[tokio::test]
async fn one_invalid_row_in_any_format_refuses_the_whole_file_with_row_and_column() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let owner = app.seed("owner@hartleybuild.co.uk", true).await;
    let cookie = app.sign_in(&owner).await;
    let before = counts(&app, owner.org).await;
    for (format, csv, row, column) in BAD_ROWS {
        let (status, body) =
            import(&app, &cookie, &format!("format={format}"), "text/csv", *csv).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{format}: {body}");
        let err = json_of(&body);
        assert_eq!(err["error"]["code"], "invalid_rows");
        assert_eq!(err["error"]["rows"][0]["row"], *row, "{format}: {body}");
        assert_eq!(
            err["error"]["rows"][0]["column"], *column,
            "{format}: {body}"
        );
        assert!(err["error"]["rows"][0]["message"].is_string());
        assert_masked(&body);
        // The preview shows the same errors with 200 and writes nothing either.
        let (status, body) = import(
            &app,
            &cookie,
            &format!("format={format}&preview=true"),
            "text/csv",
            *csv,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(json_of(&body)["valid"], false);
    }
    assert_eq!(counts(&app, owner.org).await, before, "nothing written");
}

/// (cookie, query, content type, body, status, code).
type Refusal<'a> = (&'a str, &'a str, &'a str, Vec<u8>, StatusCode, &'a str);

#[tokio::test]
async fn wrong_types_encodings_formats_sizes_and_roles_are_refused_and_write_nothing() {
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
    let before = counts(&app, owner.org).await;
    let good = fixture("sentra.csv");
    let mut huge = b"name\n".to_vec();
    huge.resize(2 * 1024 * 1024, b'a');
    let mut many = String::from("name\n");
    for i in 0..2_001 {
        many.push_str("Supplier ");
        many.push_str(&i.to_string());
        many.push('\n');
    }
    let cases: Vec<Refusal<'_>> = vec![
        (
            &cookie,
            "format=myob",
            "text/csv",
            good.clone(),
            StatusCode::BAD_REQUEST,
            "unknown_format",
        ),
        (
            &cookie,
            "",
            "text/csv",
            good.clone(),
            StatusCode::BAD_REQUEST,
            "missing_format",
        ),
        (
            &cookie,
            "format=sentra",
            "application/json",
            good.clone(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            &cookie,
            "format=sentra&preview=maybe",
            "text/csv",
            good.clone(),
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            &cookie,
            "format=sentra",
            "text/csv",
            b"name\nCaf\xe9 Ltd\n".to_vec(),
            StatusCode::BAD_REQUEST,
            "bad_encoding",
        ),
        (
            &cookie,
            "format=sentra",
            "text/csv; charset=klingon",
            good.clone(),
            StatusCode::BAD_REQUEST,
            "bad_encoding",
        ),
        (
            &cookie,
            "format=sage",
            "text/csv",
            fixture("xero.csv"),
            StatusCode::BAD_REQUEST,
            "invalid_csv",
        ),
        (
            &cookie,
            "format=sentra",
            "text/csv",
            b"  \n".to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_csv",
        ),
        (
            &cookie,
            "format=sentra",
            "text/csv",
            huge,
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
        ),
        (
            &cookie,
            "format=sentra",
            "text/csv",
            many.into_bytes(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_rows",
        ),
        (
            &viewer_cookie,
            "format=sentra",
            "text/csv",
            good.clone(),
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
    ];
    for (who, query, ct, body, status, code) in cases {
        let res = app
            .client
            .post(app.url(&format!("/api/v1/suppliers/import?{query}")))
            .header(COOKIE, who)
            .header(CONTENT_TYPE, ct)
            .body(body)
            .send()
            .await
            .expect("request");
        assert_eq!(res.status(), status, "{query} {ct} → {code}");
        assert_eq!(error_code(res).await, code, "{query} {ct}");
    }
    let (status, _) = import(&app, "sentra_session=00", "format=sentra", "text/csv", good).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(counts(&app, owner.org).await, before, "nothing written");

    // Windows-1252, declared, is read.
    let (status, body) = import(
        &app,
        &cookie,
        "format=sentra",
        "text/csv; charset=windows-1252",
        b"name,domains\nCaf\xe9 Supplies Ltd,cafesupplies.co.uk\n".to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        json_of(&body)["suppliers"][0]["name"],
        "Caf\u{e9} Supplies Ltd"
    );
}
