//! Helpers for the page and audit tests: members with a role, form posts,
//! and reading HTML.

use crate::TestApp;
use reqwest::StatusCode;
use sentra_domain::{OrgId, Role};

/// Adds a member with `role` to `org` (TOTP enrolled: owners and admins
/// must be) and signs them in with password and code.
pub(crate) async fn member(app: &TestApp, org: OrgId, email: &str, role: Role) -> String {
    let seeded = app.seed_member(org, email, role, true).await;
    app.sign_in(&seeded).await
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
