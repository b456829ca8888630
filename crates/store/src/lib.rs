//! Sentra's Postgres data layer.
//!
//! Two pools, two roles. [`AppPool`] connects as `sentra_app`, which is subject
//! to forced row-level security and owns nothing; tenant data is reached only
//! through [`TenantTx`], one transaction bound to one organisation, taken by
//! the repositories in [`repo`]. [`OwnerPool`] connects as the schema owner and
//! is built in one module, for the privileged paths: [`migrate()`], the
//! retention purge, key rotation, audit verification and break-glass
//! administration.
//!
//! [`audit`] keeps the per-organisation hash-chained audit log (appended
//! inside the caller's `TenantTx`, verified and checkpointed through the
//! owner pool), [`queue`] the Postgres job queue, and [`retention`] the purge
//! that enforces each organisation's retention settings.
//!
//! Sensitive columns are encrypted with [`crypto`] under keys that come from
//! configuration, never from the database; [`keys`] lists those columns and
//! rotates them to a new key without downtime.
//!
//! Queries are runtime-checked (`sqlx::query` with `&'static str` SQL), so the
//! crate builds without a database; the integration tests cover every query.

pub mod audit;
pub mod crypto;
mod db;
mod error;
pub mod ids;
pub mod keys;
pub mod lint;
pub mod migrate;
mod owner;
pub mod queue;
pub mod repo;
pub mod retention;
mod tenant;
#[cfg(feature = "testing")]
pub mod testing;
pub mod wake;

pub use db::AppPool;
pub use error::StoreError;
pub use migrate::{MigrateReport, migrate};
pub use owner::OwnerPool;
pub use tenant::{TenantTx, memberships};
