//! Per-test databases (cargo feature `testing`).
//!
//! [`TestDb::create`] makes a fresh database `sentra_test_<uuid>` owned by the
//! role `sentra_owner`, migrates it as that role, and hands out an
//! [`AppPool`] connected as `sentra_app`, the owner URL and a superuser pool
//! (for tamper tests and catalog lints). The database is dropped when the
//! `TestDb` is.
//!
//! The server is `DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`, a superuser). The harness
//! gives `sentra_owner` and `sentra_app` fixed test passwords through that
//! superuser, so it works whether `pg_hba.conf` says trust or scram: point it
//! at test servers only. When the server is unreachable, `create` prints a
//! `SKIPPED:` line and returns `None`, unless `SENTRA_REQUIRE_DB` is set (CI),
//! in which case it panics.

use crate::{AppPool, OwnerPool, StoreError};
use sqlx::postgres::PgConnectOptions;
use sqlx::{AssertSqlSafe, PgConnection, PgPool};
use std::io::Write as _;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

/// The default superuser URL.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const OWNER_ROLE: &str = "sentra_owner";
const OWNER_PASSWORD: &str = "sentra_owner_test_only";
const APP_PASSWORD: &str = "sentra_app_test_only";
/// Serialises role creation and password changes across concurrent test
/// processes (concurrent `alter role` fails with "tuple concurrently updated").
const ROLE_LOCK_KEY: i64 = 0x5e47_7a00_0001;

static LEAKED_ON_RELEASE: AtomicU64 = AtomicU64::new(0);

/// Called by the app pool's `after_release` hook in test builds: counts
/// connections that come back with a tenant still set (security bar B2).
pub(crate) async fn probe_released(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    let org: Option<String> = sqlx::query_scalar("select current_setting('app.org_id', true)")
        .fetch_one(&mut *conn)
        .await?;
    if org.is_some_and(|o| !o.is_empty()) {
        LEAKED_ON_RELEASE.fetch_add(1, Ordering::SeqCst);
    }
    Ok(())
}

/// How many app-pool connections, in this process so far, were released with
/// `app.org_id` still set. Must stay 0.
pub fn leaked_on_release() -> u64 {
    LEAKED_ON_RELEASE.load(Ordering::SeqCst)
}

/// The superuser URL the harness uses.
pub fn database_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.to_owned())
}

/// A migrated, throw-away database. Dropped (with `force`) on `Drop`.
#[derive(Debug)]
pub struct TestDb {
    name: String,
    superuser_url: String,
    owner_url: String,
    app_url: String,
    superuser: OwnerPool,
    app: AppPool,
}

impl TestDb {
    /// Creates and migrates a fresh database with a 5-connection app pool, or
    /// returns `None` (after printing `SKIPPED:`) when no server is reachable.
    ///
    /// # Panics
    ///
    /// As [`TestDb::create_with_app_connections`].
    pub async fn create() -> Option<Self> {
        Self::create_with_app_connections(5).await
    }

    /// Like [`TestDb::create`] with a chosen app pool size.
    ///
    /// # Panics
    ///
    /// When the server is reachable but the database cannot be set up, or
    /// when it is unreachable and `SENTRA_REQUIRE_DB` is set.
    pub async fn create_with_app_connections(max: u32) -> Option<Self> {
        let url = database_url();
        let superuser = match OwnerPool::connect(&url, 2).await {
            Ok(pool) => pool,
            Err(e) => {
                assert!(
                    std::env::var_os("SENTRA_REQUIRE_DB").is_none(),
                    "SENTRA_REQUIRE_DB is set but Postgres at DATABASE_URL is unreachable: {e}"
                );
                // Straight to the stderr handle: libtest captures print macros.
                let _ = writeln!(
                    std::io::stderr(),
                    "SKIPPED: Postgres at DATABASE_URL is unreachable ({e}); database test not run"
                );
                return None;
            }
        };
        match Self::build(url, superuser, max).await {
            Ok(db) => Some(db),
            Err(e) => panic!("creating the test database failed: {e}"),
        }
    }

    async fn build(
        superuser_url: String,
        superuser: OwnerPool,
        max: u32,
    ) -> Result<Self, StoreError> {
        ensure_role(&superuser, OWNER_ROLE, OWNER_PASSWORD).await?;
        let name = format!("sentra_test_{}", uuid::Uuid::new_v4().simple());
        sqlx::raw_sql(AssertSqlSafe(format!(
            "create database {name} owner {OWNER_ROLE}"
        )))
        .execute(superuser.pool())
        .await?;
        let base = PgConnectOptions::from_str(&superuser_url).map_err(|_| StoreError::Config {
            reason: "DATABASE_URL does not parse".to_owned(),
        })?;
        let owner_url = role_url(&base, OWNER_ROLE, OWNER_PASSWORD, &name);
        let app_url = role_url(&base, "sentra_app", APP_PASSWORD, &name);
        crate::migrate(&owner_url).await?;
        // The migration created sentra_app if it was missing; give it the
        // harness password (a server reused across runs may hold another).
        // Same connection database as the owner's, because advisory locks
        // are per database.
        ensure_role(&superuser, "sentra_app", APP_PASSWORD).await?;
        superuser.close().await;
        let superuser = OwnerPool::connect_with(base.database(&name), 2).await?;
        let app = AppPool::connect(&app_url, max).await?;
        Ok(Self {
            name,
            superuser_url,
            owner_url,
            app_url,
            superuser,
            app,
        })
    }

    /// The database's name (`sentra_test_…`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The pool connected as `sentra_app`.
    pub fn app_pool(&self) -> &AppPool {
        &self.app
    }

    /// A URL for `sentra_app` on this database (to build more pools).
    pub fn app_url(&self) -> &str {
        &self.app_url
    }

    /// A URL for the schema owner `sentra_owner` on this database.
    pub fn owner_url(&self) -> &str {
        &self.owner_url
    }

    /// A superuser pool on this database: bypasses row-level security, for
    /// seeding, tampering and catalog inspection only.
    pub fn superuser(&self) -> &PgPool {
        self.superuser.pool()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        let url = self.superuser_url.clone();
        // Drop runs inside the test's runtime, which cannot be blocked on; a
        // thread with its own small runtime does the work and is joined so the
        // database is gone when the test returns.
        let handle = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(pool) = OwnerPool::connect(&url, 1).await {
                    let _ = sqlx::raw_sql(AssertSqlSafe(format!(
                        "drop database if exists {name} with (force)"
                    )))
                    .execute(pool.pool())
                    .await;
                    pool.close().await;
                }
            });
        });
        let _ = handle.join();
    }
}

/// Creates `role` (createrole, login, not superuser) if missing and sets its
/// password, under an advisory lock so concurrent test processes don't trip
/// over each other's catalog updates.
async fn ensure_role(superuser: &OwnerPool, role: &str, password: &str) -> Result<(), StoreError> {
    let mut tx = superuser.pool().begin().await?;
    sqlx::query("select pg_advisory_xact_lock($1)")
        .bind(ROLE_LOCK_KEY)
        .execute(&mut *tx)
        .await?;
    let exists: bool =
        sqlx::query_scalar("select exists (select 1 from pg_roles where rolname = $1)")
            .bind(role)
            .fetch_one(&mut *tx)
            .await?;
    let statement: String = if exists {
        sqlx::query_scalar("select format('alter role %I password %L', $1::text, $2::text)")
    } else {
        // Only the owner is ever created here; sentra_app comes from the
        // bootstrap migration with its own attributes.
        sqlx::query_scalar(
            "select format('create role %I createrole nosuperuser nobypassrls login password %L', $1::text, $2::text)",
        )
    }
    .bind(role)
    .bind(password)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::raw_sql(AssertSqlSafe(statement))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// A URL for `user` on `database` at the same server as `base`.
fn role_url(base: &PgConnectOptions, user: &str, password: &str, database: &str) -> String {
    let host = base.get_host();
    let port = base.get_port();
    if host.starts_with('/') {
        format!("postgres://{user}:{password}@localhost:{port}/{database}?host={host}")
    } else if host.contains(':') {
        format!("postgres://{user}:{password}@[{host}]:{port}/{database}")
    } else {
        format!("postgres://{user}:{password}@{host}:{port}/{database}")
    }
}
