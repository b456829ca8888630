//! What the fake observed, for tests to assert on (`graph-contract.md` §12.2).

use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// One Graph or login request as the fake saw it.
#[derive(Debug, Clone, Serialize)]
pub struct RequestRecord {
    /// Milliseconds since the fake started.
    pub at_ms: u64,
    /// HTTP method.
    pub method: String,
    /// Path and query as received.
    pub path: String,
    /// Mailbox UPN the call addressed, if any.
    pub mailbox: Option<String>,
    /// Tenant of the bearer token (Graph) or of the path (login).
    pub tenant: Option<String>,
    /// Status answered.
    pub status: u16,
    /// Whether `Prefer: IdType="ImmutableId"` was sent.
    pub immutable_ids: bool,
    /// The `client-request-id` header, if sent.
    pub client_request_id: Option<String>,
}

/// A request that arrived before the `Retry-After` the fake gave had elapsed.
#[derive(Debug, Clone, Serialize)]
pub struct Violation {
    /// Throttling key: `mailbox:<upn>` or `app:<tenant>/<client>`.
    pub key: String,
    /// How early it came, in milliseconds.
    pub early_ms: u64,
    /// Path of the early request.
    pub path: String,
    /// How long after the throttling answer it arrived, in milliseconds: a
    /// few milliseconds means it was most likely already on its way when
    /// the answer was sent.
    pub after_throttle_ms: u64,
}

/// One notification delivery attempt (change or lifecycle).
#[derive(Debug, Clone, Serialize)]
pub struct NotificationRecord {
    /// Milliseconds since the fake started.
    pub at_ms: u64,
    /// Target URL.
    pub url: String,
    /// `change`, `lifecycle` or `validation`.
    pub kind: String,
    /// 1-based attempt number.
    pub attempt: u32,
    /// Status the receiver answered; `None` on timeout or connection error.
    pub status: Option<u16>,
    /// `delivered`, `retrying`, `gave_up`, `dropped`, or for validation `ok`/`failed`.
    pub outcome: String,
    /// The JSON body sent (validation: the token).
    pub body: Value,
}

/// A live subscription, as a test sees it.
#[derive(Debug, Clone, Serialize)]
pub struct SubscriptionView {
    /// Subscription id.
    pub id: String,
    /// Tenant id.
    pub tenant: String,
    /// Owning app.
    pub client_id: String,
    /// Mailbox UPN.
    pub mailbox: String,
    /// Resource as created.
    pub resource: String,
    /// Notification URL.
    pub notification_url: String,
    /// Lifecycle URL.
    pub lifecycle_url: Option<String>,
    /// `expirationDateTime` (RFC 3339).
    pub expires: String,
}

/// Snapshot of everything the fake recorded.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Every request, in arrival order.
    pub requests: Vec<RequestRecord>,
    /// Highest number of concurrent in-flight requests per throttling key
    /// (`mailbox:<upn>` and `app:<tenant>/<client>`).
    pub max_in_flight: BTreeMap<String, usize>,
    /// Highest request count seen inside one per-mailbox window, per mailbox key.
    pub max_requests_per_window: BTreeMap<String, usize>,
    /// Requests that ignored a `Retry-After`.
    pub retry_after_violations: Vec<Violation>,
    /// Out-of-scope mailboxes (UPN) any request addressed (including refused probes).
    pub out_of_scope_attempts: BTreeSet<String>,
    /// Out-of-scope mailboxes whose content was actually served (should stay empty).
    pub out_of_scope_reads: BTreeSet<String>,
    /// Access tokens issued per `(tenant, client_id)`.
    pub tokens_issued: BTreeMap<String, usize>,
    /// Subscriptions alive now.
    pub subscriptions: Vec<SubscriptionView>,
    /// Notification, lifecycle and validation traffic.
    pub notifications: Vec<NotificationRecord>,
    /// `(upn, immutable id)` of every message whose `$value` was served.
    pub values_fetched: BTreeSet<(String, String)>,
}

impl Report {
    /// The highest in-flight count seen for a mailbox.
    pub fn max_in_flight_for(&self, upn: &str) -> usize {
        self.max_in_flight
            .get(&format!("mailbox:{}", upn.to_ascii_lowercase()))
            .copied()
            .unwrap_or(0)
    }

    /// Requests that addressed this mailbox.
    pub fn requests_for<'a>(&'a self, upn: &str) -> impl Iterator<Item = &'a RequestRecord> + 'a {
        let upn = upn.to_ascii_lowercase();
        self.requests
            .iter()
            .filter(move |r| r.mailbox.as_deref() == Some(upn.as_str()))
    }
}
