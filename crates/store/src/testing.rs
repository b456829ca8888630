//! Per-test databases (cargo feature `testing`).
//!
//! [`TestDb::create`] makes a fresh database `sentra_test_<uuid>` owned by the
//! role `sentra_owner`, migrated as that role (cloned from a template that was
//! migrated once per server and set of migrations), and hands out an
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
use std::sync::atomic::{AtomicBool, Ordering};

/// The default superuser URL.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const OWNER_ROLE: &str = "sentra_owner";
const OWNER_PASSWORD: &str = "sentra_owner_test_only";
const APP_PASSWORD: &str = "sentra_app_test_only";
/// Serialises role creation and password changes across concurrent test
/// processes (concurrent `alter role` fails with "tuple concurrently updated").
const ROLE_LOCK_KEY: i64 = 0x5e47_7a00_0001;
/// Serialises building the migrated template database.
const TEMPLATE_LOCK_KEY: i64 = 0x5e47_7a00_0002;

/// Whether a connection still carries a tenant: called by the app pool's
/// `after_release` hook in test builds (security bar Appendix B2).
pub(crate) async fn tenant_still_set(conn: &mut PgConnection) -> Result<bool, sqlx::Error> {
    let org: Option<String> = sqlx::query_scalar("select current_setting('app.org_id', true)")
        .fetch_one(&mut *conn)
        .await?;
    Ok(org.is_some_and(|o| !o.is_empty()))
}

/// Set once the server was found unreachable, so later tests skip at once
/// instead of each waiting for the connect timeout.
static UNREACHABLE: AtomicBool = AtomicBool::new(false);

fn skip(reason: &str) {
    assert!(
        std::env::var_os("SENTRA_REQUIRE_DB").is_none(),
        "SENTRA_REQUIRE_DB is set but Postgres at DATABASE_URL is unreachable: {reason}"
    );
    // Straight to the stderr handle: libtest captures the print macros.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: Postgres at DATABASE_URL is unreachable ({reason}); database test not run"
    );
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// The superuser URL the harness uses.
pub fn database_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.to_owned())
}

/// A migrated, throw-away database. Dropped (with `force`) on `Drop`.
#[derive(Debug)]
pub struct TestDb {
    name: String,
    owner_url: String,
    app_url: String,
    superuser: OwnerPool,
    app: AppPool,
    // Last, so the pools above are dropped before the database goes.
    dropper: DropDatabase,
}

/// The migrated template this process clones test databases from.
static TEMPLATE: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();

/// Migrating costs far more than cloning, so each set of migrations is
/// applied once per server into `sentra_tmpl_<hash of the migrations>`, and
/// every test database is a copy of it. Also makes sure both roles exist with
/// the harness passwords. Runs once per process, under a server-wide lock so
/// concurrent test processes build each template once.
async fn prepare_template(
    superuser: &OwnerPool,
    base: &PgConnectOptions,
) -> Result<String, StoreError> {
    ensure_role(superuser, OWNER_ROLE, OWNER_PASSWORD).await?;
    let template = format!("sentra_tmpl_{:016x}", migrations_hash());
    // A session-level lock on a held connection: create database cannot run
    // inside a transaction, so a transaction-level lock would not do.
    let mut lock = superuser.pool().acquire().await?;
    sqlx::query("select pg_advisory_lock($1)")
        .bind(TEMPLATE_LOCK_KEY)
        .execute(&mut *lock)
        .await?;
    let built = build_template(superuser, base, &template).await;
    sqlx::query("select pg_advisory_unlock($1)")
        .bind(TEMPLATE_LOCK_KEY)
        .execute(&mut *lock)
        .await?;
    built?;
    // The migration created sentra_app if it was missing; give it the harness
    // password (a server reused across runs may hold another).
    ensure_role(superuser, "sentra_app", APP_PASSWORD).await?;
    Ok(template)
}

async fn build_template(
    superuser: &OwnerPool,
    base: &PgConnectOptions,
    template: &str,
) -> Result<(), StoreError> {
    let exists: bool =
        sqlx::query_scalar("select exists (select 1 from pg_database where datname = $1)")
            .bind(template)
            .fetch_one(superuser.pool())
            .await?;
    if exists {
        return Ok(());
    }
    // Built under another name and renamed when complete, so a crash
    // half-way never leaves a template that looks finished.
    let wip = format!("{template}_wip");
    for statement in [
        format!("drop database if exists {wip} with (force)"),
        format!("create database {wip} owner {OWNER_ROLE}"),
    ] {
        sqlx::raw_sql(AssertSqlSafe(statement))
            .execute(superuser.pool())
            .await?;
    }
    crate::migrate(&role_url(base, OWNER_ROLE, OWNER_PASSWORD, &wip)).await?;
    sqlx::raw_sql(AssertSqlSafe(format!(
        "alter database {wip} rename to {template}"
    )))
    .execute(superuser.pool())
    .await?;
    Ok(())
}

/// Identifies the embedded migrations (versions and checksums).
fn migrations_hash() -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::hash::DefaultHasher::new();
    for m in crate::migrate::MIGRATOR.iter() {
        m.version.hash(&mut hasher);
        m.checksum.hash(&mut hasher);
    }
    hasher.finish()
}

/// Drops one test database when dropped.
#[derive(Debug)]
struct DropDatabase {
    name: String,
    superuser_url: String,
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
        if UNREACHABLE.load(Ordering::Relaxed) {
            skip("see the first SKIPPED line");
            return None;
        }
        let superuser = match OwnerPool::connect(&url, 2).await {
            Ok(pool) => pool,
            Err(e) => {
                UNREACHABLE.store(true, Ordering::Relaxed);
                skip(&error_chain(&e));
                return None;
            }
        };
        match Self::build(url, superuser, max).await {
            Ok(db) => Some(db),
            Err(e) => panic!("creating the test database failed: {}", error_chain(&e)),
        }
    }

    async fn build(
        superuser_url: String,
        superuser: OwnerPool,
        max: u32,
    ) -> Result<Self, StoreError> {
        let base = PgConnectOptions::from_str(&superuser_url).map_err(|_| StoreError::Config {
            reason: "DATABASE_URL does not parse".to_owned(),
        })?;
        let template = TEMPLATE
            .get_or_try_init(|| prepare_template(&superuser, &base))
            .await?;
        let name = format!("sentra_test_{}", uuid::Uuid::new_v4().simple());
        sqlx::raw_sql(AssertSqlSafe(format!(
            "create database {name} template {template} owner {OWNER_ROLE}"
        )))
        .execute(superuser.pool())
        .await?;
        // From here on a failure must not leave the database behind.
        let dropper = DropDatabase {
            name: name.clone(),
            superuser_url: superuser_url.clone(),
        };
        superuser.close().await;
        let owner_url = role_url(&base, OWNER_ROLE, OWNER_PASSWORD, &name);
        let app_url = role_url(&base, "sentra_app", APP_PASSWORD, &name);
        let superuser = OwnerPool::connect_with(base.database(&name), 2).await?;
        let app = AppPool::connect(&app_url, max).await?;
        Ok(Self {
            name,
            owner_url,
            app_url,
            superuser,
            app,
            dropper,
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

    /// A new pool connected as the schema owner on this database, for tests
    /// and benchmarks of the privileged paths (verify, purge, rotation).
    pub async fn owner_pool(&self, max_connections: u32) -> Result<OwnerPool, StoreError> {
        OwnerPool::connect(&self.owner_url, max_connections).await
    }

    /// A superuser URL for this database (for tools such as `pg_dump`).
    pub fn superuser_url(&self) -> String {
        with_database(&self.dropper.superuser_url, &self.name)
    }

    /// A superuser pool on this database: bypasses row-level security, for
    /// seeding, tampering and catalog inspection only.
    pub fn superuser(&self) -> &PgPool {
        self.superuser.pool()
    }
}

impl Drop for DropDatabase {
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
                let dropped = async {
                    let pool = OwnerPool::connect(&url, 1).await?;
                    let done = sqlx::raw_sql(AssertSqlSafe(format!(
                        "drop database if exists {name} with (force)"
                    )))
                    .execute(pool.pool())
                    .await;
                    pool.close().await;
                    done.map(drop).map_err(StoreError::from)
                };
                if let Err(e) = dropped.await {
                    let _ = writeln!(
                        std::io::stderr(),
                        "WARNING: test database {name} was not dropped: {}",
                        error_chain(&e)
                    );
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

/// `url` with its database (the path) replaced by `database`, query kept.
fn with_database(url: &str, database: &str) -> String {
    let (main, query) = url
        .split_once('?')
        .map_or((url, None), |(m, q)| (m, Some(q)));
    let authority_start = main.find("://").map_or(0, |i| i + 3);
    let base = match main[authority_start..].find('/') {
        Some(slash) => &main[..authority_start + slash],
        None => main,
    };
    match query {
        Some(q) => format!("{base}/{database}?{q}"),
        None => format!("{base}/{database}"),
    }
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

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_of_a_url_is_replaced_and_the_rest_kept() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            with_database("postgres://u:p@h:5432", "t1"),
            "postgres://u:p@h:5432/t1"
        );
        assert_eq!(
            with_database("postgres://u@h/db?sslmode=disable&host=/run", "t1"),
            "postgres://u@h/t1?sslmode=disable&host=/run"
        );
    }
}
