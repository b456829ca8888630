//! Tenant isolation through the web layer: the organisation comes from the
//! session's memberships, never from the request.

use crate::TestApp;
use reqwest::StatusCode;
use sentra_store::repo::supplier::{self, SupplierFields, SupplierStatus};

async fn add_supplier(app: &TestApp, org: sentra_domain::OrgId, name: &str) -> String {
    let mut tx = app.tx(org).await;
    let id = supplier::create(
        &mut tx,
        &SupplierFields {
            name: name.to_owned(),
            domains: vec![format!("{}.example", name.to_lowercase())],
            country: Some("GB".to_owned()),
            status: SupplierStatus::Active,
        },
    )
    .await
    .expect("supplier");
    tx.commit().await.expect("commit");
    id.to_string()
}

#[tokio::test]
async fn another_orgs_supplier_is_a_404_identical_to_a_random_id() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let a = app.seed("a@example.test", true).await;
    let b = app.seed("b@example.test", true).await;
    let own = add_supplier(&app, a.org, "Acme").await;
    let theirs = add_supplier(&app, b.org, "Bolt").await;
    let cookie = app.sign_in(&a).await;

    let list: serde_json::Value = app
        .get("/api/v1/suppliers", Some(&cookie))
        .await
        .json()
        .await
        .expect("json");
    let names: Vec<&str> = list
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(names, ["Acme"]);
    assert_eq!(
        app.get(&format!("/api/v1/suppliers/{own}"), Some(&cookie))
            .await
            .status(),
        StatusCode::OK
    );

    let cross = app
        .get(&format!("/api/v1/suppliers/{theirs}"), Some(&cookie))
        .await;
    let random = app
        .get(
            &format!("/api/v1/suppliers/{}", uuid::Uuid::new_v4()),
            Some(&cookie),
        )
        .await;
    let junk = app.get("/api/v1/suppliers/not-a-uuid", Some(&cookie)).await;
    assert_eq!(cross.status(), StatusCode::NOT_FOUND);
    assert_eq!(random.status(), StatusCode::NOT_FOUND);
    assert_eq!(junk.status(), StatusCode::NOT_FOUND);
    let (cross, random, junk) = (
        cross.text().await.unwrap_or_default(),
        random.text().await.unwrap_or_default(),
        junk.text().await.unwrap_or_default(),
    );
    assert_eq!(cross, random);
    assert_eq!(cross, junk);
}

#[tokio::test]
async fn org_id_overrides_in_query_and_headers_are_ignored() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let a = app.seed("a@example.test", false).await;
    let b = app.seed("b@example.test", false).await;
    add_supplier(&app, a.org, "Acme").await;
    let theirs = add_supplier(&app, b.org, "Bolt").await;
    let cookie = app.sign_in(&a).await;
    let res = app
        .client
        .get(app.url(&format!("/api/v1/suppliers?org_id={}", b.org)))
        .header("cookie", &cookie)
        .header("x-org-id", b.org.to_string())
        .header("x-sentra-org", b.org.to_string())
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), StatusCode::OK);
    let list: serde_json::Value = res.json().await.expect("json");
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert_eq!(list[0]["name"], "Acme");
    let res = app
        .client
        .get(app.url(&format!("/api/v1/suppliers/{theirs}?org_id={}", b.org)))
        .header("cookie", &cookie)
        .header("x-org-id", b.org.to_string())
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_tenant_api_without_a_session_is_401() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let res = app.get("/api/v1/suppliers", None).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(crate::error_code(res).await, "unauthorized");
    let forged = app
        .get(
            "/api/v1/suppliers",
            Some("sentra_session=00000000000000000000000000000000"),
        )
        .await;
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
}
