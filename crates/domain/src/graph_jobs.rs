//! The job kinds of the Microsoft 365 sync and their payloads. The web crate
//! enqueues them (a notification, a lifecycle event, a connected mailbox) and
//! the worker runs them; payloads carry ids only, never secrets.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Delta sync of a mailbox's inbox (from its stored `deltaLink`, or from its
/// start date when it has none or `full` is set).
pub const SYNC: &str = "graph.sync";
/// Create the mailbox's subscription (or replace a removed one), then sync.
pub const SUBSCRIBE: &str = "graph.subscribe";
/// Reauthorize the mailbox's subscription (`reauthorizationRequired`).
pub const REAUTHORIZE: &str = "graph.reauthorize";
/// The periodic safety net: delta poll, and renew the subscription before it
/// expires. Each run schedules the next.
pub const MAINTAIN: &str = "graph.maintain";

/// Every kind above, for cancelling a mailbox's jobs on disconnect.
pub const ALL: [&str; 4] = [SYNC, SUBSCRIBE, REAUTHORIZE, MAINTAIN];

/// The payload of every Graph job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxJob {
    /// The mailbox.
    pub mailbox_id: Uuid,
    /// Discard the stored `deltaLink` and sync again from the start date
    /// (`missed`, `410`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub full: bool,
}

impl MailboxJob {
    /// The dedupe key for a job of `kind` on this mailbox: one live job per
    /// kind and mailbox, so a burst of notifications is one sync.
    pub fn dedupe_key(&self, kind: &str) -> String {
        if self.full {
            format!("{kind}:{}:full", self.mailbox_id)
        } else {
            format!("{kind}:{}", self.mailbox_id)
        }
    }
}
