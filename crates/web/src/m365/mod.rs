//! Connecting an organisation's Microsoft 365 tenant (issue 5): admin
//! consent, the mailboxes to monitor, the Exchange PowerShell that scopes
//! Sentra to them, the scope check that proves least privilege, and
//! disconnecting. The JSON API (`routes::mailboxes`) and the pages
//! (`pages::mailboxes`) are thin wrappers over [`ops`], so both run the very
//! same checks and write the very same audit events.
//!
//! The web layer talks to Graph only here, for the admin's interactive
//! actions (a scope check reads one folder per mailbox; disconnect deletes
//! subscriptions). Syncing mail is the worker's job, started by enqueueing
//! `graph.subscribe`.

mod address;
pub mod ops;
pub mod powershell;
pub mod scope;

pub use address::MailboxAddress;

use crate::WebError;
use axum::http::StatusCode;
use sentra_domain::{OrgId, Role, UserId};
use sentra_graph::GraphClient;

/// The path Microsoft redirects the admin back to after consent.
pub const CALLBACK_PATH: &str = "/mailboxes/consent-callback";

/// The Graph client the web process uses for Microsoft 365 connections.
#[derive(Debug)]
pub struct M365 {
    /// The client (tokens cached per tenant).
    pub client: GraphClient,
}

impl M365 {
    /// Wraps `client`.
    pub fn new(client: GraphClient) -> Self {
        Self { client }
    }

    /// Sentra's application (client) id.
    pub fn client_id(&self) -> &str {
        &self.client.config().client_id
    }
}

/// Who is acting: taken from the request's session once its role was
/// checked, so operations that call Graph can open their own short
/// transactions instead of holding one across network calls.
#[derive(Debug, Clone, Copy)]
pub struct Actor {
    /// The user.
    pub user: UserId,
    /// Their organisation.
    pub org: OrgId,
    /// Their role there.
    pub role: Role,
    /// The last second-factor check (step-up).
    pub mfa_at: Option<i64>,
}

/// Owners and admins connect Microsoft 365 (DESIGN §6).
pub const ADMINS: &[Role] = &[Role::Owner, Role::Admin];

/// 403 unless `role` is an owner or admin.
pub fn require_admin(role: Role) -> Result<(), WebError> {
    if ADMINS.contains(&role) {
        Ok(())
    } else {
        Err(WebError::forbidden())
    }
}

/// 409: this deployment has no Graph client configured.
pub fn not_configured() -> WebError {
    WebError::Client {
        status: StatusCode::CONFLICT,
        code: "m365_not_configured",
        message: "Microsoft 365 is not configured on this Sentra deployment (SENTRA_GRAPH_CLIENT_ID and its secret)".to_owned(),
    }
}

/// 409 with `code` and `message`.
pub(crate) fn conflict(code: &'static str, message: impl Into<String>) -> WebError {
    WebError::Client {
        status: StatusCode::CONFLICT,
        code,
        message: message.into(),
    }
}
