//! Helpers for the page and audit tests: members with a role, form posts,
//! and reading HTML.

use crate::{PASSWORD, Seeded, TestApp};
use reqwest::StatusCode;
use sentra_domain::{EmailAddress, OrgId, Role};
use sentra_store::repo::{organisation, user};
use sentra_web::password;

/// Adds a password-only member with `role` to `org` and signs them in.
pub(crate) async fn member(app: &TestApp, org: OrgId, email: &str, role: Role) -> String {
    let hash = password::hash(PASSWORD).expect("hash");
    let id = user::create(
        app.db.app_pool(),
        &EmailAddress::parse(email).expect("email"),
        &hash,
    )
    .await
    .expect("user");
    let mut tx = app.tx(org).await;
    organisation::add_member(&mut tx, id, role)
        .await
        .expect("member");
    tx.commit().await.expect("commit");
    app.sign_in(&Seeded {
        user: id,
        org,
        email: email.to_owned(),
        secret: None,
    })
    .await
}

/// GETs a page and returns status and body.
pub(crate) async fn page(app: &TestApp, path: &str, cookie: Option<&str>) -> (StatusCode, String) {
    let res = app.get(path, cookie).await;
    let status = res.status();
    (status, res.text().await.expect("body"))
}

/// The `Location` header.
pub(crate) fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// One count from the superuser's view (bypasses RLS, for assertions).
pub(crate) async fn count(app: &TestApp, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(app.db.superuser())
        .await
        .expect("count")
}
