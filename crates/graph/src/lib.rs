//! Sentra's Microsoft Graph client (app-only access to selected mailboxes).
//!
//! A thin client on `reqwest` for the dozen endpoints Sentra needs, written
//! against `shared/reference/graph-contract.md`:
//!
//! - [`auth`]: client-credentials tokens, parsed leniently, cached per tenant
//!   until shortly before expiry, re-fetched once on a `401`;
//! - [`assertion`]: the certificate credential (an RS256 client assertion
//!   instead of a client secret);
//! - [`consent`]: the admin-consent URL and the check of its redirect;
//! - [`mail`] and [`delta`]: folders, messages, date-bounded delta rounds
//!   resumed from a stored `deltaLink`, and `$value` MIME under a size cap;
//! - [`subscription`]: create, renew, reauthorize, delete;
//! - [`throttle`]: `Retry-After`, backoff with jitter, ≤4 requests in flight
//!   per mailbox;
//! - [`GraphError`]: what went wrong, classified by what the caller must do.
//!
//! The base URLs are configuration, so the fake Graph server can stand in.
//! Links from Graph are followed verbatim, but only under the configured
//! Graph base; redirects are never followed. Tokens and the client secret
//! live in `secrecy` types and appear in no `Debug` output, error or log.
//! Notification payloads are in [`sentra_domain::graph_notify`] (the web
//! crate receives them without depending on this crate).

pub mod assertion;
pub mod auth;
mod client;
pub mod config;
pub mod consent;
pub mod delta;
mod error;
pub mod mail;
pub mod subscription;
pub mod throttle;

pub use assertion::{CertificateCredential, CertificateError};
pub use client::GraphClient;
pub use config::{ClientCredential, GraphConfig};
pub use error::GraphError;
pub use sentra_domain::graph_notify;
