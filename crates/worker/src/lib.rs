//! Sentra's background worker.
//!
//! [`Runner`] claims jobs from the Postgres queue (`sentra_store::queue`)
//! and runs each with the handler [`Registry`] holds for its kind (see
//! [`registry`] for how to add kinds, such as the Graph sync jobs). The
//! worker's own kinds ([`jobs::register_defaults`]) analyse stored messages
//! through [`sentra_ingest`] and deliver alerts ([`alerts`]) by email,
//! Slack and Teams; [`graph::register`] adds the Microsoft 365 sync kinds.

pub mod alerts;
mod error;
pub mod graph;
pub mod jobs;
pub mod registry;
mod runner;

pub use error::JobError;
pub use registry::{BoxFuture, Handler, PooledHandler, Registry};
pub use runner::{RunStats, Runner, RunnerConfig, jittered_backoff};
