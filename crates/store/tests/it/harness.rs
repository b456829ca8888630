//! The harness itself: databases are created, migrated idempotently, and the
//! roles have the attributes the design requires.

use sentra_store::testing::TestDb;

#[tokio::test]
async fn a_fresh_database_is_migrated_and_migrating_again_applies_nothing() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let again = sentra_store::migrate(db.owner_url()).await.unwrap();
    assert!(again.applied.is_empty(), "{again:?}");
    assert!(again.current.is_some());
}

#[tokio::test]
async fn the_app_role_cannot_bypass_rls_and_owns_nothing() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let (sup, bypass, create_role, create_db): (bool, bool, bool, bool) = sqlx::query_as(
        "select rolsuper, rolbypassrls, rolcreaterole, rolcreatedb from pg_roles where rolname = 'sentra_app'",
    )
    .fetch_one(db.superuser())
    .await
    .unwrap();
    assert!(!sup && !bypass && !create_role && !create_db);
}

#[tokio::test]
async fn an_empty_database_gets_every_migration_and_a_second_run_applies_none() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let empty = format!("{}_empty", db.name());
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "create database {empty} owner sentra_owner"
    )))
    .execute(db.superuser())
    .await
    .unwrap();
    let url = db.owner_url().replace(db.name(), &empty);
    let first = sentra_store::migrate(&url).await;
    let second = sentra_store::migrate(&url).await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "drop database {empty} with (force)"
    )))
    .execute(db.superuser())
    .await
    .unwrap();
    let first = first.unwrap();
    let all: Vec<i64> = sentra_store::migrate::MIGRATOR
        .iter()
        .map(|m| m.version)
        .collect();
    assert_eq!(first.applied, all);
    assert_eq!(first.current, all.last().copied());
    assert!(second.unwrap().applied.is_empty());
}

#[tokio::test]
async fn the_app_role_cannot_change_the_schema_or_read_the_migration_ledger() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let mut conn = db.app_pool().acquire_untenanted().await.unwrap();
    for statement in [
        "create table planted (id int)",
        "alter table supplier no force row level security",
        "drop policy supplier_select on supplier",
        "select count(*) from _sqlx_migrations",
        "select trigger_updated_at('supplier')",
        "set session_replication_role = replica",
    ] {
        let err = sqlx::raw_sql(statement)
            .execute(&mut *conn)
            .await
            .unwrap_err();
        let code = err
            .as_database_error()
            .and_then(sqlx::error::DatabaseError::code)
            .unwrap_or_default();
        assert_eq!(
            code, "42501",
            "{statement}: expected a privilege error, got {err}"
        );
    }
}
