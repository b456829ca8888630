//! The privileged connection: the one module that builds a pool for the
//! schema owner (or, in tests, the superuser).
//!
//! The owner can change the schema, grants and policies, so every use is a
//! privileged path: migrations, the retention purge, key rotation, audit
//! verification and break-glass administration (security bar G1.5). Note that forced row-level
//! security applies to the owner too and the tenant policies name only
//! `sentra_app`: as the owner, tenant tables look empty (default deny) unless
//! a migration gives the owner a narrowly scoped policy of its own, as
//! `0002_identity.sql` does for the membership lookup.
//! A test greps the crate and fails if a pool is built anywhere but here and
//! in `db.rs`.

use crate::StoreError;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::str::FromStr;
use std::time::Duration;

/// A pool connected as the schema owner. Deliberately not `Clone`-able into
/// request handlers: construct it where a privileged path starts.
#[derive(Debug, Clone)]
pub struct OwnerPool(PgPool);

impl OwnerPool {
    /// Connects with at most `max_connections` connections.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url).map_err(|_| StoreError::Config {
            reason: "the owner database URL does not parse".to_owned(),
        })?;
        Self::connect_with(options, max_connections).await
    }

    /// Connects with explicit options.
    pub async fn connect_with(
        options: PgConnectOptions,
        max_connections: u32,
    ) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await?;
        Ok(Self(pool))
    }

    /// The underlying pool, for the privileged paths inside this crate.
    pub(crate) fn pool(&self) -> &PgPool {
        &self.0
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.0.close().await;
    }
}
