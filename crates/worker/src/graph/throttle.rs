//! Graph's `Retry-After` across worker processes (issue 5). The Graph client
//! holds a throttled mailbox (or tenant) back in memory; this module makes
//! the hold outlive the process:
//!
//! - [`Persist`], the client's [`ThrottleObserver`], writes every hold to
//!   the database (`mailbox.throttled_until`, or the organisation's
//!   `graph_connection.throttled_until` for tenant-wide ones) before the
//!   client waits it out, so a worker killed while waiting leaves the
//!   deadline behind;
//! - every Graph job reads the deadlines when it starts
//!   ([`super::Ctx::load`]) and primes the client's gates with them, so the
//!   in-memory gate of a fresh process holds exactly what the database says.
//!   A hold the client would wait out inline (up to its `max_inline_wait`)
//!   is waited out by the gate; a longer one defers the job to the deadline
//!   without spending an attempt.
//!
//! Reading the deadlines only at the start of a job is enough because a
//! mailbox's sync rounds never overlap across workers (the round lock,
//! [`sentra_store::repo::m365_mailbox::try_lock_round`]): a round that
//! starts after another worker's `Retry-After` reads it, and none can be
//! running while it is handed out.
//!
//! The client knows mailboxes and tenants by Graph's names; [`Targets`]
//! maps them back to rows, filled as jobs load their mailbox (a hold can
//! only come from a request a loaded job made).

use sentra_domain::OrgId;
use sentra_graph::throttle::{ThrottleObserver, ThrottleScope};
use sentra_store::ids::MailboxId;
use sentra_store::repo::{graph_connection, m365_mailbox};
use sentra_store::{AppPool, StoreError, TenantTx};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// A slow database (restarting, say) must not stall the Graph call that
/// reports the hold for long: the in-memory hold stands regardless.
const PERSIST_TIMEOUT: Duration = Duration::from_secs(5);

/// Graph's names of the mailboxes this process has loaded, mapped to rows.
#[derive(Debug, Default)]
pub(super) struct Targets {
    mailboxes: Mutex<HashMap<(String, String), (OrgId, MailboxId)>>,
    tenants: Mutex<HashMap<String, Vec<OrgId>>>,
}

impl Targets {
    /// Remembers that `address` in `tenant` is `id` of `org`.
    pub(super) fn remember(&self, tenant: &str, address: &str, org: OrgId, id: MailboxId) {
        self.mailboxes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert((tenant.to_owned(), address.to_ascii_lowercase()), (org, id));
        let mut tenants = self.tenants.lock().unwrap_or_else(PoisonError::into_inner);
        let orgs = tenants.entry(tenant.to_owned()).or_default();
        if !orgs.contains(&org) {
            orgs.push(org);
        }
    }

    fn mailbox(&self, tenant: &str, address: &str) -> Option<(OrgId, MailboxId)> {
        self.mailboxes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&(tenant.to_owned(), address.to_ascii_lowercase()))
            .copied()
    }

    fn orgs(&self, tenant: &str) -> Vec<OrgId> {
        self.tenants
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(tenant)
            .cloned()
            .unwrap_or_default()
    }
}

/// Writes the client's holds to the database.
#[derive(Debug)]
pub(super) struct Persist {
    pub(super) pool: AppPool,
    pub(super) targets: Arc<Targets>,
}

impl Persist {
    async fn write(&self, scope: &ThrottleScope, hold: Duration) -> Result<(), StoreError> {
        match scope {
            ThrottleScope::Mailbox { tenant, mailbox } => {
                let Some((org, id)) = self.targets.mailbox(tenant, mailbox) else {
                    return Ok(());
                };
                let mut tx = TenantTx::begin(&self.pool, org, None).await?;
                m365_mailbox::hold_requests(&mut tx, id, hold).await?;
                tx.commit().await
            }
            ThrottleScope::Tenant { tenant } => {
                for org in self.targets.orgs(tenant) {
                    let mut tx = TenantTx::begin(&self.pool, org, None).await?;
                    graph_connection::hold_requests(&mut tx, hold).await?;
                    tx.commit().await?;
                }
                Ok(())
            }
        }
    }
}

impl ThrottleObserver for Persist {
    fn held<'a>(
        &'a self,
        scope: &'a ThrottleScope,
        hold: Duration,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        Box::pin(async move {
            match tokio::time::timeout(PERSIST_TIMEOUT, self.write(scope, hold)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "recording a Graph Retry-After failed; held in memory only");
                }
                Err(_) => {
                    tracing::warn!("recording a Graph Retry-After timed out; held in memory only");
                }
            }
        })
    }
}
