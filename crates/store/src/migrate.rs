//! Applying the embedded migrations (`crates/store/migrations/`), as the
//! schema owner.
//!
//! Safe to run repeatedly and concurrently: sqlx takes an advisory lock and
//! skips applied versions, and it refuses to run when an applied migration's
//! checksum changed (migrations are forward-only and never edited).

use crate::StoreError;
use crate::owner::OwnerPool;
use sqlx::migrate::Migrator;

/// Every migration, compiled into the binary.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// What a migration run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrateReport {
    /// Versions applied by this run, in order (empty when up to date).
    pub applied: Vec<i64>,
    /// The newest version now in the database.
    pub current: Option<i64>,
}

/// Connects to `owner_url` as the schema owner and applies every pending
/// migration.
pub async fn migrate(owner_url: &str) -> Result<MigrateReport, StoreError> {
    let owner = OwnerPool::connect(owner_url, 1).await?;
    let report = migrate_with(&owner).await;
    owner.close().await;
    report
}

/// Applies every pending migration through an existing owner pool.
pub async fn migrate_with(owner: &OwnerPool) -> Result<MigrateReport, StoreError> {
    let before = applied_versions(owner).await?;
    MIGRATOR.run(owner.pool()).await?;
    let after = applied_versions(owner).await?;
    Ok(MigrateReport {
        applied: after
            .iter()
            .copied()
            .filter(|v| !before.contains(v))
            .collect(),
        current: after.last().copied(),
    })
}

async fn applied_versions(owner: &OwnerPool) -> Result<Vec<i64>, StoreError> {
    let exists: bool = sqlx::query_scalar("select to_regclass('_sqlx_migrations') is not null")
        .fetch_one(owner.pool())
        .await?;
    if !exists {
        return Ok(Vec::new());
    }
    Ok(
        sqlx::query_scalar("select version from _sqlx_migrations where success order by version")
            .fetch_all(owner.pool())
            .await?,
    )
}

/// Sets the `sentra_app` role's password (so the app can sign in over TCP
/// with scram), connecting to `owner_url` as the owner, which needs
/// `createrole`. `alter role` takes no bind parameters, so the statement is
/// built server-side with `format('%L')`, which quotes the literal correctly.
/// The server may log the statement if `log_statement = 'all'`; prefer
/// setting the password out of band in production.
pub async fn set_app_password(owner_url: &str, password: &str) -> Result<(), StoreError> {
    let owner = OwnerPool::connect(owner_url, 1).await?;
    let result = async {
        let statement: String =
            sqlx::query_scalar("select format('alter role sentra_app password %L', $1::text)")
                .bind(password)
                .fetch_one(owner.pool())
                .await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
            .execute(owner.pool())
            .await?;
        Ok(())
    }
    .await;
    owner.close().await;
    result
}

/// Creates the schema owner role (`createrole`, no superuser, no
/// `bypassrls`) with `owner_password` — or sets the password when the role
/// exists — and the database `database` owned by it when missing,
/// connecting to `superuser_url` as a superuser. For a private server that
/// Sentra set up itself (`sentra demo`); in production the operator creates
/// both (docs/OPERATIONS.md). Role and database names must be plain
/// identifiers.
pub async fn create_owner_and_database(
    superuser_url: &str,
    owner_role: &str,
    owner_password: &str,
    database: &str,
) -> Result<(), StoreError> {
    let plain = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    };
    if !plain(owner_role) || !plain(database) {
        return Err(StoreError::Config {
            reason: "role and database names must be lower-case identifiers".to_owned(),
        });
    }
    let su = OwnerPool::connect(superuser_url, 1).await?;
    let result = async {
        let exists: bool =
            sqlx::query_scalar("select exists (select 1 from pg_roles where rolname = $1)")
                .bind(owner_role)
                .fetch_one(su.pool())
                .await?;
        // Role statements take no bind parameters: format() quotes server-side.
        let statement: String = sqlx::query_scalar(if exists {
            "select format('alter role %I password %L', $1::text, $2::text)"
        } else {
            "select format('create role %I createrole nosuperuser nobypassrls login password %L', $1::text, $2::text)"
        })
        .bind(owner_role)
        .bind(owner_password)
        .fetch_one(su.pool())
        .await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
            .execute(su.pool())
            .await?;
        let db_exists: bool =
            sqlx::query_scalar("select exists (select 1 from pg_database where datname = $1)")
                .bind(database)
                .fetch_one(su.pool())
                .await?;
        if !db_exists {
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "create database {database} owner {owner_role}"
            )))
            .execute(su.pool())
            .await?;
        }
        Ok(())
    }
    .await;
    su.close().await;
    result
}
