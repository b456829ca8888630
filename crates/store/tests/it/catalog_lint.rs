//! The Appendix A catalog lints: the migrated schema has no findings, and each
//! lint finds exactly the defect planted for it.

use sentra_store::lint::{Finding, catalog_findings};
use sentra_store::testing::TestDb;

async fn findings_after(db: &TestDb, plant: &'static str) -> Vec<Finding> {
    sqlx::raw_sql(plant).execute(db.superuser()).await.unwrap();
    catalog_findings(db.superuser()).await.unwrap()
}

fn assert_only(findings: &[Finding], lint: &str, object_contains: &str) {
    assert_eq!(
        findings.len(),
        1,
        "expected exactly one {lint} finding, got {findings:#?}"
    );
    assert_eq!(findings[0].lint, lint, "{findings:#?}");
    assert!(
        findings[0].object.contains(object_contains),
        "{lint} finding should name {object_contains}: {findings:#?}"
    );
}

#[tokio::test]
async fn the_migrated_schema_has_no_findings() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let findings = catalog_findings(db.superuser()).await.unwrap();
    assert!(findings.is_empty(), "{findings:#?}");
}

#[tokio::test]
async fn a1_finds_a_tenant_table_without_force() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let findings = findings_after(
        &db,
        "create table planted (org_id uuid not null, id uuid primary key);
         alter table planted enable row level security;",
    )
    .await;
    assert_only(&findings, "A1", "planted");
}

#[tokio::test]
async fn a1_finds_force_being_switched_off_on_a_real_table() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let findings = findings_after(&db, "alter table supplier no force row level security").await;
    assert_only(&findings, "A1", "supplier");
}

#[tokio::test]
async fn a2_finds_the_app_role_owning_a_table() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let findings = findings_after(
        &db,
        "create table planted_owned (id int);
         alter table planted_owned owner to sentra_app;",
    )
    .await;
    assert_only(&findings, "A2", "planted_owned");
}

#[tokio::test]
async fn a3_finds_a_view_without_security_invoker() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let findings = findings_after(
        &db,
        "create view planted_view as select id, name from supplier;
         create view fine_view with (security_invoker = true) as select id from supplier;",
    )
    .await;
    assert_only(&findings, "A3", "planted_view");
}

#[tokio::test]
async fn a4_finds_a_security_definer_function_without_search_path() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let findings = findings_after(
        &db,
        "create function planted_definer() returns bigint language sql security definer
           as 'select count(*) from public.supplier';",
    )
    .await;
    assert_only(&findings, "A4", "planted_definer");
}

#[tokio::test]
async fn a5_finds_an_always_true_policy() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let findings = findings_after(
        &db,
        "create policy planted_open on supplier for select to sentra_app using (true)",
    )
    .await;
    assert_only(&findings, "A5", "planted_open");
}

#[tokio::test]
async fn a5_finds_a_writable_policy_without_with_check() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let findings = findings_after(
        &db,
        "create policy planted_no_check on supplier for update to sentra_app
           using (org_id = nullif((select current_setting('app.org_id', true)), '')::uuid)",
    )
    .await;
    assert_only(&findings, "A5", "planted_no_check");
}

#[tokio::test]
async fn a6_finds_a_foreign_key_between_tenant_tables_without_org_id() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let findings = findings_after(
        &db,
        "create table planted_child (
           org_id uuid not null, id uuid primary key,
           supplier_id uuid constraint planted_child_supplier_fk references supplier (id));
         alter table planted_child enable row level security;
         alter table planted_child force row level security;",
    )
    .await;
    assert_only(&findings, "A6", "planted_child_supplier_fk");
}

#[tokio::test]
async fn a7_finds_a_unique_index_without_org_id() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let findings = findings_after(
        &db,
        "create unique index planted_global_key on supplier_bank_account (blind_index)",
    )
    .await;
    assert_only(&findings, "A7", "planted_global_key");
}

#[tokio::test]
async fn a8_finds_a_policy_calling_current_setting_per_row() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let findings = findings_after(
        &db,
        "create policy planted_per_row on supplier for select to sentra_app
           using (org_id = nullif(current_setting('app.org_id', true), '')::uuid)",
    )
    .await;
    assert_only(&findings, "A8", "planted_per_row");
}
