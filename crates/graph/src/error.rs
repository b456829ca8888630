//! What can go wrong talking to Microsoft Graph, classified by what the caller
//! must do about it (contract §3 and §13). Classification uses the Graph
//! error `code` and the AADSTS number, never the human-readable message.
//!
//! No variant carries a token, a secret or a response body: error strings go
//! to logs and to the mailbox's "last error", so they hold codes only.

use std::time::Duration;

/// An error from the Graph client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GraphError {
    /// `401` again after fetching a fresh token: the token is refused.
    #[error("Graph refused the access token (401 {code})")]
    Unauthorized {
        /// The Graph error code.
        code: String,
    },
    /// `403`: the mailbox is outside the app's RBAC scope, or an access
    /// policy excludes it, or the app has no mail role at all.
    #[error("access to the mailbox is denied (403 {code}); check the Exchange RBAC scope")]
    Forbidden {
        /// `ErrorAccessDenied`, `ExtensionError`, …
        code: String,
    },
    /// `404`: the message, folder, mailbox or subscription does not exist.
    #[error("not found (404 {code})")]
    NotFound {
        /// `ErrorItemNotFound`, `ErrorInvalidUser`, …
        code: String,
    },
    /// `410 SyncStateNotFound` (or `resyncRequired`): the delta link expired;
    /// discard it and run a full, date-bounded resync.
    #[error("the delta sync state expired; a full resync is needed")]
    SyncStateNotFound,
    /// Still throttled (`429`, `503`, `504`) after the allowed attempts, or
    /// told to wait longer than the client waits inline. Reschedule after
    /// `retry_after` and mark the mailbox degraded.
    #[error("throttled by Graph (status {status}); retry after {retry_after:?}")]
    Throttled {
        /// The last status seen.
        status: u16,
        /// How long to wait before the next request to this mailbox.
        retry_after: Duration,
    },
    /// AADSTS7000229: the customer deleted Sentra's enterprise application.
    /// The tenant is disconnected, not transiently failing.
    #[error("the customer's tenant no longer has Sentra's service principal (AADSTS7000229)")]
    TenantDisconnected,
    /// `invalid_grant` 700082 or 50173: the grant expired or was revoked;
    /// the admin must reconnect.
    #[error("the grant expired or was revoked (AADSTS{aadsts}); reconnect needed")]
    ReconnectNeeded {
        /// The AADSTS number.
        aadsts: u64,
    },
    /// The token endpoint refused Sentra's own credentials (bad or expired
    /// secret 7000215/7000222, unknown app 700016, unknown tenant 90002, …).
    #[error("the token endpoint refused the request ({error}, AADSTS{aadsts})")]
    TokenRefused {
        /// The OAuth `error` (`invalid_client`, …).
        error: String,
        /// The first AADSTS number, 0 when none was given.
        aadsts: u64,
    },
    /// The raw message is larger than the configured cap; it was not read
    /// past the cap.
    #[error("the message is larger than the {cap}-byte cap")]
    TooLarge {
        /// The cap in bytes.
        cap: usize,
    },
    /// A `nextLink`/`deltaLink` pointing anywhere but the configured Graph
    /// base: it is not followed, so the bearer token never leaves for it.
    #[error("Graph returned a link outside the configured Graph base")]
    ForeignLink,
    /// Any other Graph error status.
    #[error("Graph answered {status} {code}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// The Graph error code, or empty.
        code: String,
    },
    /// Connecting, sending or reading failed (after retries for idempotent
    /// requests).
    #[error("HTTP transport error: {0}")]
    Transport(String),
    /// A response body did not have the expected shape.
    #[error("unexpected response from Graph: {0}")]
    InvalidResponse(String),
    /// A request this client refuses to build (bad base URL, bad mailbox id).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
}

impl GraphError {
    /// Whether the admin must act (reconnect, fix the scope, re-add the app)
    /// before syncing can work again, as opposed to a transient fault.
    pub fn needs_admin(&self) -> bool {
        matches!(
            self,
            Self::Forbidden { .. }
                | Self::TenantDisconnected
                | Self::ReconnectNeeded { .. }
                | Self::TokenRefused { .. }
                | Self::Unauthorized { .. }
        )
    }

    /// Whether retrying later may succeed without anyone acting.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Throttled { .. } | Self::Transport(_) => true,
            Self::Status { status, .. } => *status >= 500,
            _ => false,
        }
    }

    /// Transport errors are flattened to text without the URL, which may
    /// carry an opaque `$deltatoken`.
    pub(crate) fn transport(e: &reqwest::Error) -> Self {
        let kind = if e.is_timeout() {
            "timeout"
        } else if e.is_connect() {
            "connect"
        } else if e.is_body() || e.is_decode() {
            "body"
        } else if e.is_request() {
            "request"
        } else {
            "other"
        };
        let e = e.without_url_ref();
        Self::Transport(format!("{kind}: {e}"))
    }
}

/// Removes the URL from a reqwest error's text.
trait WithoutUrl {
    fn without_url_ref(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    fn without_url_ref(&self) -> String {
        let mut text = self.to_string();
        if let Some(url) = self.url() {
            text = text.replace(url.as_str(), "<url>");
        }
        text
    }
}
