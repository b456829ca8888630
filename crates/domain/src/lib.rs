//! Sentra's vocabulary, shared by every other crate.
//!
//! Values here are newtypes that parse: once you hold an [`bank::Iban`] or a
//! [`bank::SortCode`] it has been normalised and checked, so code past the edge
//! never re-validates strings. The crate does no I/O except
//! [`bank::ModulusTables::load_dir`], which reads the Vocalink tables an operator
//! points it at (they are licensed data and change several times a year, so they
//! are never compiled in).

pub mod bank;
mod email;
mod error;
pub mod graph_jobs;
pub mod graph_notify;
mod ids;
pub mod jobs;
mod money;
mod risk;
mod role;
pub mod tax;

pub use email::EmailAddress;
pub use error::DomainError;
pub use ids::{OrgId, SupplierId, UserId};
pub use money::{Currency, Money};
pub use risk::{Category, RiskLevel, SignalCode};
pub use role::Role;

/// Test-support helpers shared by this crate's tests and by other crates' tests.
#[doc(hidden)]
pub mod testdata {
    use std::path::PathBuf;

    /// The shared public test-vector folder (`../shared/data` beside the
    /// repository), or `None` when it is not present on this machine.
    pub fn shared_data_dir() -> Option<PathBuf> {
        let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        loop {
            let candidate = dir.join("../shared/data");
            if candidate.join("README.md").is_file() {
                return Some(candidate);
            }
            if !dir.pop() {
                return None;
            }
        }
    }
}
