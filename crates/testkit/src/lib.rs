//! Test support for Sentra: a fake Microsoft Graph server that runs on
//! loopback in place of `login.microsoftonline.com` and
//! `graph.microsoft.com`, faithful to `graph-contract.md` (field names,
//! status codes, error bodies, limits) and deterministic (a seeded RNG picks
//! ids, tokens and deliberate duplicates); and the shared test emails and
//! the supplier they are about ([`emails`]).
//!
//! # Use from a test
//!
//! ```no_run
//! # async fn demo() {
//! use sentra_testkit::{FakeGraph, Fault, NewMessage};
//! let fake = FakeGraph::start().await;             // 127.0.0.1:<free port>
//! let s = fake.seed_standard();                    // app, tenant, 2 mailboxes
//! // Point the client at fake.login_base() and fake.graph_base().
//! fake.add_message(&s.monitored.upn, NewMessage::new(b"From: a@b\r\n\r\nhi".to_vec())).unwrap();
//! fake.inject(Fault::throttled(Some("0.249")).on_call(2));  // 2nd Graph call → 429
//! fake.set_switches(|sw| sw.duplicate_rate = 1.0);           // duplicates in delta
//! // ... run the code under test ...
//! let report = fake.report();
//! assert!(report.out_of_scope_reads.is_empty());
//! assert!(report.max_in_flight_for(&s.monitored.upn) <= 4);
//! assert!(report.retry_after_violations.is_empty());
//! # }
//! ```
//!
//! Bases: `login_base()` is `{root}/login` (token, authorize, admin consent)
//! and `graph_base()` is `{root}/v1.0`. Every Graph call needs a bearer
//! token from the fake's token endpoint (`401 InvalidAuthenticationToken`
//! otherwise; [`FakeGraph::expire_tokens`] forces that).
//!
//! # What is emulated
//!
//! - Identity (§4): client credentials with secret or client assertion
//!   (RS256 signature verified against certificates registered with
//!   [`FakeGraph::add_app_certificate`], plus `aud`, `iss`/`sub` and
//!   lifetime); authorization code and refresh token with rotation; the
//!   authorize and admin-consent redirects; AADSTS errors 7000215 (bad
//!   secret), 7000222 ([`FakeGraph::set_secret_expired`]), 700016 (unknown
//!   app), 7000229 (not consented / enterprise app deleted,
//!   [`FakeGraph::set_consented`]), 90002 (unknown tenant), 700027 (unknown
//!   certificate or bad signature), 50013 (wrong audience), 700021 (issuer
//!   is not the client), 700024 (assertion expired, see the
//!   `login_clock_offset_secs` switch), 50027 (malformed JWT).
//! - Scope (§2): each tenant has an RBAC for Applications scope
//!   ([`FakeGraph::add_mailbox`] `in_scope`, [`FakeGraph::set_scope`]); other
//!   mailboxes answer `403 ErrorAccessDenied`, or "Access to `OData` is
//!   disabled." in `ApplicationAccessPolicy` mode
//!   ([`FakeGraph::set_access_policy`]). A tenant-wide `Mail.Read` role
//!   ([`FakeGraph::set_tenant_roles`]) overrides the scope, as on Graph.
//!   `GET /users/{id}` is refused (needs `User.Read.All`).
//! - Mail (§5): folders, message JSON projected from the MIME (`$select`,
//!   immutable ids with `Prefer: IdType="ImmutableId"`, folder-bound ids
//!   without), `$value` (the exact bytes), attachments.
//! - Delta (§6): pages with absolute `@odata.nextLink`/`@odata.deltaLink`,
//!   `Prefer: odata.maxpagesize`, `$filter=receivedDateTime ge|gt`,
//!   `$orderby=receivedDateTime desc`, `changeType`, `@removed` items,
//!   `$search` → `400`, `410 SyncStateNotFound` for expired tokens.
//! - Subscriptions (§7), notifications (§8), lifecycle events (§9): the
//!   validation handshake on both URLs, renew/reauthorize/delete/list,
//!   notifications with `clientState` retried with backoff, `missed` after
//!   giving up, [`FakeGraph::lifecycle`] to inject events.
//! - Throttling (§10): [`Fault`]s (429/503/504 with `Retry-After` missing,
//!   `1`, `0.249`, `120`; connection resets), concurrency limit per mailbox
//!   or app, per-mailbox request window, per-app per-second limit.
//!
//! # Switches
//!
//! [`Switches`] (set with [`FakeGraph::set_switches`]) hold the global
//! knobs: `expires_in_as_string`, `token_lifetime_secs`,
//! `login_clock_offset_secs`, `refresh_error`, `code_error`, `consent`, `authorize`, `value_content_type`,
//! `default_page_size`, `filtered_delta_cap`, `duplicate_rate`,
//! `expire_delta_token_numbers`, `max_subscription_minutes`,
//! `max_subscriptions_per_mailbox`, `validation` (post / get / skip),
//! `validation_timeout_ms`, `batch_notifications`, `duplicate_notifications`,
//! `out_of_order_notifications`, `drop_notifications`,
//! `notification_delay_ms`, `notification_timeout_ms`,
//! `notification_retry_base_ms`, `notification_retry_max_ms`,
//! `notification_max_attempts`, `missed_after_failed_delivery`,
//! `concurrency_limit`, `concurrency_scope`, `concurrency_retry_after`,
//! `mailbox_requests_per_window`, `mailbox_window_secs`,
//! `app_requests_per_second`, `extend_penalty`, `latency_ms`. Per-tenant and
//! per-mailbox state (consent, roles, scope, access policy, expired secret,
//! REST disabled) and content (add, deliver, move, delete, mark read) have
//! methods on [`FakeGraph`]. `docs/FAKE_GRAPH.md` maps each contract switch
//! to its knob.
//!
//! # Assertions
//!
//! [`FakeGraph::report`] returns a [`Report`]: every request, the highest
//! in-flight count per mailbox and per app, the highest count per mailbox
//! request window, requests that ignored a `Retry-After`, out-of-scope
//! mailboxes touched and (should stay empty) read, tokens issued, live
//! subscriptions, notification attempts and every `$value` served.

// Handlers return ready-made error responses through `Result`; their size
// does not matter in a test server and boxing them would only add noise.
#![allow(clippy::result_large_err)]

mod admin;
mod assertion;
mod config;
pub mod emails;
mod graph;
mod identity;
mod notify;
mod projection;
mod report;
mod server;
mod state;

/// TEST-ONLY RSA keys and self-signed certificates (see
/// `fixtures/cert/README.md`) for certificate-credential tests.
pub mod fixtures {
    /// The app's certificate (PEM), registered with [`crate::FakeGraph::add_app_certificate`].
    pub const APP_CERT_PEM: &str = include_str!("../fixtures/cert/app.cert.pem");
    /// The app's PKCS#8 private key (PEM).
    pub const APP_KEY_PEM: &str = include_str!("../fixtures/cert/app.key.pem");
    /// An unrelated certificate (PEM): "the wrong certificate".
    pub const OTHER_CERT_PEM: &str = include_str!("../fixtures/cert/other.cert.pem");
    /// An unrelated PKCS#8 private key (PEM): "the wrong key".
    pub const OTHER_KEY_PEM: &str = include_str!("../fixtures/cert/other.key.pem");
}

pub use config::{
    Decision, Fault, FaultKind, LifecycleEvent, LimitScope, Switches, ValidationMode,
};
pub use report::{NotificationRecord, Report, RequestRecord, SubscriptionView, Violation};
pub use server::{
    DEFAULT_SEED, FakeGraph, MailboxInfo, NewMessage, Standard, loopback_client_builder,
};

/// Misuse of the fake's Rust API (unknown names) or a failure to start it.
#[derive(Debug, thiserror::Error)]
pub enum FakeError {
    /// No such tenant was added.
    #[error("unknown tenant {0}")]
    UnknownTenant(String),
    /// No such app was added.
    #[error("unknown app {0}")]
    UnknownApp(String),
    /// No such mailbox was added.
    #[error("unknown mailbox {0}")]
    UnknownMailbox(String),
    /// No such folder.
    #[error("unknown folder {0}")]
    UnknownFolder(String),
    /// No such (live) message.
    #[error("unknown message {0}")]
    UnknownMessage(String),
    /// No such subscription, or it has no lifecycle URL.
    #[error("unknown subscription (or no lifecycle URL) {0}")]
    UnknownSubscription(String),
    /// A certificate to register is not PEM.
    #[error("not a PEM certificate")]
    Certificate,
    /// Binding the listener failed.
    #[error("cannot bind the fake Graph server: {0}")]
    Io(std::io::Error),
    /// The outbound HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}
