//! The application pool: connections as `sentra_app`, the role that is subject
//! to row-level security and owns nothing.
//!
//! Nothing outside this crate gets at the connections: tenant data is reached
//! only through [`crate::TenantTx`], which sets the organisation for exactly one
//! transaction. Global tables (users, sessions) are reached through
//! repository functions that take `&AppPool`.
//!
//! Tenant context is set with `set_config(…, true)`, which is transaction-local:
//! a committed or rolled-back transaction leaves `app.org_id` at `''`, and the
//! policies treat `''` as "no organisation" (zero rows). The `after_release`
//! hook still runs `reset all` on every connection going back to the pool, so
//! a future mistake (a session-level `set_config(…, false)` somewhere) cannot
//! carry one organisation's context into the next borrower. It costs one
//! round trip per release.

use crate::StoreError;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Executor, PgPool};
use std::str::FromStr;
use std::time::Duration;

/// A pool of `sentra_app` connections. Cheap to clone (shared pool).
#[derive(Debug, Clone)]
pub struct AppPool {
    pool: PgPool,
    /// Connections released with a tenant still set (test builds only).
    #[cfg(feature = "testing")]
    leaks: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl AppPool {
    /// Connects to `url` (which must name the `sentra_app` role) with at most
    /// `max_connections` connections.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url).map_err(|_| StoreError::Config {
            reason: "the app database URL does not parse".to_owned(),
        })?;
        Self::connect_with(options, max_connections).await
    }

    /// Connects with explicit options.
    pub async fn connect_with(
        options: PgConnectOptions,
        max_connections: u32,
    ) -> Result<Self, StoreError> {
        #[cfg(feature = "testing")]
        let leaks = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        #[cfg(feature = "testing")]
        let probe = leaks.clone();
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(30))
            .after_release(move |conn, _meta| {
                #[cfg(feature = "testing")]
                let probe = probe.clone();
                Box::pin(async move {
                    #[cfg(feature = "testing")]
                    if crate::testing::tenant_still_set(conn).await? {
                        probe.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                    conn.execute("reset all").await?;
                    Ok(true)
                })
            })
            .connect_with(options)
            .await?;
        Ok(Self {
            pool,
            #[cfg(feature = "testing")]
            leaks,
        })
    }

    /// The underlying pool, for repositories in this crate.
    pub(crate) fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Open connections, idle connections and the maximum, for metrics.
    pub fn stats(&self) -> (u32, usize, u32) {
        (
            self.pool.size(),
            self.pool.num_idle(),
            self.pool.options().get_max_connections(),
        )
    }

    /// Whether the database answers (`select 1`), for readiness probes.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("select 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// How many connections of this pool came back to it with `app.org_id`
    /// still set (before `reset all` cleared it). Must stay 0 unless a test
    /// plants a session-level setting on purpose.
    #[cfg(feature = "testing")]
    pub fn leaked_on_release(&self) -> u64 {
        self.leaks.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// A raw connection with no tenant context, for tests that probe what a
    /// connection looks like after release.
    #[cfg(feature = "testing")]
    pub async fn acquire_untenanted(
        &self,
    ) -> Result<sqlx::pool::PoolConnection<sqlx::Postgres>, StoreError> {
        Ok(self.pool.acquire().await?)
    }
}
