//! Scenario switches and injected faults: the knobs a test turns to make the
//! fake behave like a particular corner of Microsoft Graph
//! (`graph-contract.md` §12.1). All are serde so the `/_fake` admin API of
//! `sentra dev fake-graph` can set them as JSON too.

use serde::{Deserialize, Serialize};

/// Global scenario switches. `Switches::default()` is a well-behaved Graph
/// with Microsoft's documented limits.
// Independent on/off scenario switches, not a state machine.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Switches {
    /// Token endpoint: send `expires_in` as `"3599"` instead of `3599`.
    pub expires_in_as_string: bool,
    /// Lifetime of issued access tokens, in seconds.
    pub token_lifetime_secs: u64,
    /// Seconds the token endpoint's clock runs ahead when it checks a
    /// client assertion's lifetime (an hour makes a fresh assertion expired).
    pub login_clock_offset_secs: i64,
    /// Refresh-token grant fails with `invalid_grant` and this AADSTS code
    /// (700082 idle expiry, 50173 revoked).
    pub refresh_error: Option<u32>,
    /// Authorization-code grant fails with `invalid_grant` and this AADSTS
    /// code (70008, 54005, 501481, 65001).
    pub code_error: Option<u32>,
    /// What the admin does on the admin-consent page.
    pub consent: Decision,
    /// What the user does on the delegated authorize page.
    pub authorize: Decision,
    /// `Content-Type` of `$value` responses (Graph has been seen sending `text/plain`).
    pub value_content_type: String,
    /// Delta page size when the client sends no `Prefer: odata.maxpagesize`.
    pub default_page_size: usize,
    /// Most messages an initial delta with a `receivedDateTime` filter returns.
    pub filtered_delta_cap: usize,
    /// Probability (0–1, seeded RNG) that a delta page repeats an item of an
    /// earlier page, and that a new round repeats an item of the last round.
    pub duplicate_rate: f64,
    /// Delta tokens (1-based, in the order the fake issues them) that are
    /// dead on arrival: following that link answers `410 SyncStateNotFound`.
    pub expire_delta_token_numbers: Vec<u64>,
    /// Longest subscription lifetime accepted, in minutes.
    pub max_subscription_minutes: u64,
    /// Active subscriptions allowed per mailbox.
    pub max_subscriptions_per_mailbox: usize,
    /// How the fake validates notification URLs on subscription create.
    pub validation: ValidationMode,
    /// How long the fake waits for the validation echo, in milliseconds.
    pub validation_timeout_ms: u64,
    /// Put every notification caused by one fake call for the same URL into one POST.
    pub batch_notifications: bool,
    /// Send every notification POST twice.
    pub duplicate_notifications: bool,
    /// Deliver notifications in reverse order.
    pub out_of_order_notifications: bool,
    /// Drop change notifications instead of sending them (recorded as dropped).
    pub drop_notifications: bool,
    /// Wait this long before the first delivery attempt, in milliseconds.
    pub notification_delay_ms: u64,
    /// A delivery slower than this counts as failed (Graph's 3 s rule), in milliseconds.
    pub notification_timeout_ms: u64,
    /// First retry delay after a failed delivery; doubles per attempt, in milliseconds.
    pub notification_retry_base_ms: u64,
    /// Longest retry delay, in milliseconds.
    pub notification_retry_max_ms: u64,
    /// Delivery attempts before giving up (Graph retries for up to 4 hours).
    pub notification_max_attempts: u32,
    /// After giving up on a change notification, send a `missed` lifecycle event.
    pub missed_after_failed_delivery: bool,
    /// Concurrent requests allowed per scope; beyond it `429 ApplicationThrottled`.
    pub concurrency_limit: Option<usize>,
    /// Whether the concurrency limit counts per mailbox or per app.
    pub concurrency_scope: LimitScope,
    /// `Retry-After` on concurrency rejections (`None`: header missing).
    pub concurrency_retry_after: Option<String>,
    /// Requests allowed per mailbox per window (Graph: 10,000 per 10 minutes).
    pub mailbox_requests_per_window: usize,
    /// Length of the per-mailbox request window, in seconds.
    pub mailbox_window_secs: u64,
    /// Requests allowed per app per second (Graph: 2,000).
    pub app_requests_per_second: usize,
    /// A request that arrives before its `Retry-After` elapsed is answered
    /// with another `429` (Graph extends the penalty), not only recorded.
    pub extend_penalty: bool,
    /// Extra latency added to every Graph call, in milliseconds.
    pub latency_ms: u64,
}

impl Default for Switches {
    fn default() -> Self {
        Self {
            expires_in_as_string: false,
            token_lifetime_secs: 3599,
            login_clock_offset_secs: 0,
            refresh_error: None,
            code_error: None,
            consent: Decision::Grant,
            authorize: Decision::Grant,
            value_content_type: "text/plain".to_owned(),
            default_page_size: 10,
            filtered_delta_cap: 5000,
            duplicate_rate: 0.0,
            expire_delta_token_numbers: Vec::new(),
            max_subscription_minutes: 4230,
            max_subscriptions_per_mailbox: 1000,
            validation: ValidationMode::Post,
            validation_timeout_ms: 10_000,
            batch_notifications: false,
            duplicate_notifications: false,
            out_of_order_notifications: false,
            drop_notifications: false,
            notification_delay_ms: 0,
            notification_timeout_ms: 3000,
            notification_retry_base_ms: 1000,
            notification_retry_max_ms: 600_000,
            notification_max_attempts: 12,
            missed_after_failed_delivery: true,
            concurrency_limit: Some(4),
            concurrency_scope: LimitScope::PerMailbox,
            concurrency_retry_after: Some("1".to_owned()),
            mailbox_requests_per_window: 10_000,
            mailbox_window_secs: 600,
            app_requests_per_second: 2000,
            extend_penalty: false,
            latency_ms: 0,
        }
    }
}

/// Grant or decline on an interactive page (admin consent, authorize).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Redirect back with a code / `admin_consent=True`.
    Grant,
    /// Redirect back with `error=access_denied` (AADSTS65004).
    Decline,
}

/// How notification URLs are validated on subscription create.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValidationMode {
    /// `POST {url}?validationToken=…`, as Graph does.
    Post,
    /// `GET {url}?validationToken=…`, the variant some implementations see.
    Get,
    /// No validation at all.
    Skip,
}

/// What a concurrency limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitScope {
    /// In-flight requests per mailbox (`MailboxConcurrency`).
    PerMailbox,
    /// In-flight requests per (tenant, app).
    PerApp,
}

/// A failure injected into upcoming Graph calls.
///
/// Faults queue up: a call is checked only against the first fault whose
/// `mailbox` matches it. That fault lets `after` matching calls pass, then
/// fails the next `times` matching calls, then is gone.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Fault {
    /// What the failing calls get.
    pub kind: FaultKind,
    /// Matching calls to let through first.
    #[serde(default)]
    pub after: u64,
    /// Matching calls to fail.
    #[serde(default = "one")]
    pub times: u32,
    /// Only calls addressing this mailbox (UPN or user id); `None`: every Graph call.
    #[serde(default)]
    pub mailbox: Option<String>,
}

fn one() -> u32 {
    1
}

/// The failure a [`Fault`] produces.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum FaultKind {
    /// A Graph error envelope with this status and code, and `Retry-After`
    /// exactly as given (`None`: header missing; `"0.249"` stays decimal).
    Status {
        /// HTTP status (429, 500, 503, 504, …).
        status: u16,
        /// Graph error code.
        code: String,
        /// Raw `Retry-After` value.
        retry_after: Option<String>,
    },
    /// Headers are sent, then the body is aborted (the client sees a broken connection).
    ConnectionReset,
}

impl Fault {
    /// `429 ApplicationThrottled` with the given `Retry-After` (`None`: missing).
    pub fn throttled(retry_after: Option<&str>) -> Self {
        Self::status(429, "ApplicationThrottled", retry_after)
    }

    /// `503` or `504 serviceNotAvailable` with the given `Retry-After`.
    pub fn unavailable(status: u16, retry_after: Option<&str>) -> Self {
        Self::status(status, "serviceNotAvailable", retry_after)
    }

    /// Any status and Graph error code.
    pub fn status(status: u16, code: &str, retry_after: Option<&str>) -> Self {
        Self {
            kind: FaultKind::Status {
                status,
                code: code.to_owned(),
                retry_after: retry_after.map(str::to_owned),
            },
            after: 0,
            times: 1,
            mailbox: None,
        }
    }

    /// A connection reset after the response headers.
    pub fn connection_reset() -> Self {
        Self {
            kind: FaultKind::ConnectionReset,
            after: 0,
            times: 1,
            mailbox: None,
        }
    }

    /// Fail the `n`th matching call from now (1-based) instead of the next one.
    #[must_use]
    pub fn on_call(mut self, n: u64) -> Self {
        self.after = n.saturating_sub(1);
        self
    }

    /// Fail `n` consecutive matching calls.
    #[must_use]
    pub fn times(mut self, n: u32) -> Self {
        self.times = n;
        self
    }

    /// Only calls addressing this mailbox count.
    #[must_use]
    pub fn for_mailbox(mut self, upn_or_id: &str) -> Self {
        self.mailbox = Some(upn_or_id.to_ascii_lowercase());
        self
    }
}

/// A lifecycle event the fake can send (`graph-contract.md` §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum LifecycleEvent {
    /// The subscription needs `reauthorize` or a renewal.
    ReauthorizationRequired,
    /// The subscription is gone; recreate it and run delta.
    SubscriptionRemoved,
    /// Notifications were lost; run a full delta.
    Missed,
}

impl LifecycleEvent {
    /// The wire name (`reauthorizationRequired`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReauthorizationRequired => "reauthorizationRequired",
            Self::SubscriptionRemoved => "subscriptionRemoved",
            Self::Missed => "missed",
        }
    }
}
