//! Where Graph lives and who Sentra is to it: the two base URLs (so the fake
//! Graph server can stand in, contract §1), the application (client) id and
//! its credential, and the client's timeouts and limits.

use crate::assertion::CertificateCredential;
use crate::throttle::RetryPolicy;
use secrecy::SecretString;
use std::fmt;
use std::time::Duration;
use url::Url;

/// The default login base.
pub const LOGIN_BASE: &str = "https://login.microsoftonline.com";
/// The default Graph base.
pub const GRAPH_BASE: &str = "https://graph.microsoft.com/v1.0";

/// How Sentra proves it is the application.
#[derive(Clone)]
pub enum ClientCredential {
    /// A client secret from configuration.
    Secret(SecretString),
    /// A certificate whose private key signs a client assertion.
    Certificate(CertificateCredential),
}

impl fmt::Debug for ClientCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Secret(_) => f.write_str("ClientCredential::Secret(<redacted>)"),
            Self::Certificate(c) => write!(f, "ClientCredential::Certificate({c:?})"),
        }
    }
}

/// Configuration of a [`crate::GraphClient`].
#[derive(Debug, Clone)]
pub struct GraphConfig {
    /// Token, authorize and admin-consent endpoints.
    pub login_base: Url,
    /// Mail, delta and subscription endpoints.
    pub graph_base: Url,
    /// Sentra's application (client) id.
    pub client_id: String,
    /// Sentra's credential.
    pub credential: ClientCredential,
    /// Connect timeout for every request.
    pub connect_timeout: Duration,
    /// Total timeout for every request (streamed `$value` bodies included).
    pub request_timeout: Duration,
    /// At most this many requests in flight per mailbox (Microsoft: 4).
    pub per_mailbox_concurrency: usize,
    /// At most this many requests in flight per customer tenant.
    pub per_tenant_concurrency: usize,
    /// Retries and backoff.
    pub retry: RetryPolicy,
    /// Largest raw message read from `$value`.
    pub max_mime_bytes: usize,
    /// `Prefer: odata.maxpagesize` on delta calls.
    pub delta_page_size: u32,
}

impl GraphConfig {
    /// Microsoft's endpoints with Sentra's defaults.
    pub fn new(client_id: impl Into<String>, credential: ClientCredential) -> Self {
        Self::with_bases(LOGIN_BASE, GRAPH_BASE, client_id, credential)
            .unwrap_or_else(|_| unreachable!("the default bases parse"))
    }

    /// Custom bases (the fake Graph server, a sovereign cloud).
    pub fn with_bases(
        login_base: &str,
        graph_base: &str,
        client_id: impl Into<String>,
        credential: ClientCredential,
    ) -> Result<Self, url::ParseError> {
        Ok(Self {
            login_base: base_url(login_base)?,
            graph_base: base_url(graph_base)?,
            client_id: client_id.into(),
            credential,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_mins(1),
            per_mailbox_concurrency: 4,
            per_tenant_concurrency: 16,
            retry: RetryPolicy::default(),
            // Exchange Online accepts messages up to 150 MB; finance mail
            // rarely tops 25 MB, and a larger one is flagged, not read.
            max_mime_bytes: 35 * 1024 * 1024,
            delta_page_size: 50,
        })
    }
}

/// Parses a base URL, dropping a trailing slash so paths join predictably.
fn base_url(s: &str) -> Result<Url, url::ParseError> {
    Url::parse(s.trim_end_matches('/'))
}
