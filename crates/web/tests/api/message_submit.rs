//! The `.eml` upload page (`/messages/submit`): a file becomes a message,
//! its verdict, a case and one audit event; every bad upload is a clear 4xx
//! with the form again and nothing written; viewers and strangers are
//! turned away.

use crate::messages::{counts, hartley};
use crate::support::{location, page};
use crate::{TestApp, session_cookie};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE};
use sentra_domain::Role;
use sentra_testkit::emails::FRAUD_BANK_CHANGE;

const BOUNDARY: &str = "----sentra-test-boundary-7MA4YWxkTrZu0gW";

/// A `multipart/form-data` body with one file field `name`.
fn multipart(name: &str, filename: &str, content: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// Posts `body` to the upload as a same-origin browser form would.
async fn upload(app: &TestApp, cookie: &str, body: Vec<u8>) -> reqwest::Response {
    app.client
        .post(app.url("/messages/submit"))
        .header(COOKIE, cookie)
        .header("origin", app.base.clone())
        .header(
            CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body)
        .send()
        .await
        .expect("request")
}

#[tokio::test]
async fn an_uploaded_eml_is_analysed_opens_a_case_and_redirects_to_the_message() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let (who, cookie) = hartley(&app, "clerk@hartleybuild.co.uk").await;
    let (status, form) = page(&app, "/messages/submit", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains("enctype=\"multipart/form-data\""), "{form}");
    let before = counts(&app, who.org).await;

    let res = upload(
        &app,
        &cookie,
        multipart("eml", "change.eml", FRAUD_BANK_CHANGE.as_bytes()),
    )
    .await;

    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = location(&res);
    let id = to.strip_prefix("/messages/").expect("to the message");
    let after = counts(&app, who.org).await;
    // A message, its assessment, a case, no call yet, one audit event.
    assert_eq!(
        std::array::from_fn::<i64, 5, _>(|i| after[i] - before[i]),
        [1, 1, 1, 0, 1]
    );
    let actions = app.audit_actions(who.org).await;
    assert_eq!(
        actions.last().map(String::as_str),
        Some("message.submitted")
    );
    let (status, shown) = page(&app, &to, Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(shown.contains("Change of bank details"), "{shown}");
    let case: Option<uuid::Uuid> =
        sqlx::query_scalar("select id from fraud_case where org_id = $1 and message_id = $2")
            .bind(who.org.as_uuid())
            .bind(uuid::Uuid::parse_str(id).expect("uuid"))
            .fetch_optional(app.db.superuser())
            .await
            .expect("case");
    assert!(case.is_some(), "a case for the uploaded message");
}

#[tokio::test]
async fn bad_uploads_get_the_form_back_with_a_clear_4xx_and_write_nothing() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let (who, cookie) = hartley(&app, "clerk@hartleybuild.co.uk").await;
    let before = counts(&app, who.org).await;
    let cases: [(Vec<u8>, StatusCode, &str); 5] = [
        (
            multipart("eml", "invoice.pdf", b"%PDF-1.7\n1 0 obj << >> endobj\n"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "not an email",
        ),
        (
            multipart(
                "eml",
                "notes.txt",
                b"Pay Apex on Friday\nsort code 13-40-20\n",
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "not an email",
        ),
        (
            multipart("eml", "empty.eml", b"  \r\n"),
            StatusCode::BAD_REQUEST,
            "file is empty",
        ),
        (
            multipart("other", "change.eml", FRAUD_BANK_CHANGE.as_bytes()),
            StatusCode::BAD_REQUEST,
            "No file was chosen",
        ),
        (
            b"this is not multipart at all".to_vec(),
            StatusCode::BAD_REQUEST,
            "could not be read",
        ),
    ];
    for (body, want, says) in cases {
        let res = upload(&app, &cookie, body).await;
        assert_eq!(res.status(), want, "{says}");
        let html = res.text().await.expect("body");
        assert!(html.contains(says), "{says}: {html}");
        assert!(html.contains("role=\"alert\""), "{html}");
        assert!(html.contains("name=\"eml\""), "the form again");
    }

    // Over the 25 MB limit: refused while reading, before any analysis.
    let mut big = FRAUD_BANK_CHANGE.as_bytes().to_vec();
    big.resize(26 * 1024 * 1024, b'a');
    let res = upload(&app, &cookie, multipart("eml", "big.eml", &big)).await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        res.text()
            .await
            .expect("body")
            .contains("larger than 25 MB")
    );

    assert_eq!(counts(&app, who.org).await, before, "nothing written");
}

#[tokio::test]
async fn viewers_strangers_and_cross_site_posts_cannot_upload() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let (who, _) = hartley(&app, "owner@hartleybuild.co.uk").await;
    let viewer = app
        .seed_member(who.org, "viewer@hartleybuild.co.uk", Role::Viewer, false)
        .await;
    let viewer_cookie = app.sign_in(&viewer).await;
    let clerk = app
        .seed_member(who.org, "clerk@hartleybuild.co.uk", Role::Clerk, false)
        .await;
    let clerk_cookie = app.sign_in(&clerk).await;
    let before = counts(&app, who.org).await;
    let body = || multipart("eml", "change.eml", FRAUD_BANK_CHANGE.as_bytes());

    let (status, _) = page(&app, "/messages/submit", Some(&viewer_cookie)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let res = upload(&app, &viewer_cookie, body()).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let (_, list) = page(&app, "/messages", Some(&viewer_cookie)).await;
    assert!(!list.contains("/messages/submit"), "no link for viewers");

    let res = app.get("/messages/submit", None).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(location(&res).starts_with("/login?next="));
    assert!(session_cookie(res.headers()).is_none());

    let res = app
        .client
        .post(app.url("/messages/submit"))
        .header(COOKIE, &clerk_cookie)
        .header("origin", "http://evil.example")
        .header(
            CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body())
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    assert_eq!(counts(&app, who.org).await, before, "nothing written");
}
