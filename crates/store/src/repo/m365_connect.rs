//! Organisation-wide Microsoft 365 changes an admin makes in one step: the
//! result of a scope check (graph-contract §2) and disconnecting the whole
//! connection (§2.5). Each is one state change with exactly one audit
//! event, however many mailboxes it touches, so the rows it writes use the
//! repositories' unaudited helpers.

use super::{m365_mailbox, mail_credential};
use crate::audit::{self, NewEvent};
use crate::crypto::Keyring;
use crate::ids::MailboxId;
use crate::queue::{self, NewJob};
use crate::{StoreError, TenantTx};
use sentra_domain::graph_jobs::{self, MailboxJob};
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

/// The last scope check of the organisation's connection.
#[derive(Debug, Clone, PartialEq)]
pub struct ScopeCheck {
    /// When it ran.
    pub checked_at: OffsetDateTime,
    /// Whether least privilege was verified.
    pub verified: bool,
    /// What it found, per mailbox and for the probe (addresses and codes).
    pub report: Value,
}

/// The last scope check, if one ran since the connection was (re)made.
pub async fn last_scope_check(tx: &mut TenantTx) -> Result<Option<ScopeCheck>, StoreError> {
    let row: Option<(Option<OffsetDateTime>, Option<bool>, Option<Value>)> = sqlx::query_as(
        "select scope_checked_at, scope_verified, scope_report from graph_connection",
    )
    .fetch_optional(tx.conn())
    .await?;
    Ok(match row {
        Some((Some(checked_at), Some(verified), report)) => Some(ScopeCheck {
            checked_at,
            verified,
            report: report.unwrap_or(Value::Null),
        }),
        _ => None,
    })
}

/// A mailbox the scope check cleared for syncing, with the webhook secrets
/// to give it if it has none yet.
#[derive(Debug)]
pub struct Cleared {
    /// The mailbox.
    pub mailbox: MailboxId,
    /// Fresh secrets (used only when the mailbox has none: a live
    /// subscription keeps the `clientState` it was created with).
    pub secrets: m365_mailbox::WebhookSecrets,
}

/// What recording a scope check did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScopeRecorded {
    /// Mailboxes given webhook secrets.
    pub secrets_created: usize,
    /// `graph.subscribe` jobs enqueued (mailboxes without a subscription).
    pub subscribe_enqueued: usize,
}

/// Records a scope check: the result on the connection, `scope_verified_at`
/// on each mailbox that read, and for each `cleared` mailbox its webhook
/// secrets (when it has none) and a `graph.subscribe` job (when it has no
/// subscription). One audit event, `m365.scope_check`.
pub async fn record_scope_check(
    tx: &mut TenantTx,
    keys: &Keyring,
    verified: bool,
    report: &Value,
    readable: &[MailboxId],
    cleared: &[Cleared],
) -> Result<ScopeRecorded, StoreError> {
    let done = sqlx::query(
        "update graph_connection
            set scope_checked_at = now(), scope_verified = $1, scope_report = $2
          where status = 'consented'",
    )
    .bind(verified)
    .bind(report)
    .execute(tx.conn())
    .await?;
    super::affected(done.rows_affected(), "graph_connection")?;
    for id in readable {
        m365_mailbox::mark_scope_verified(tx, *id).await?;
    }
    let mut out = ScopeRecorded::default();
    for c in cleared {
        let row: Option<(String, Option<String>, bool)> = sqlx::query_as(
            "select m.status, m.subscription_id,
                    exists (select 1 from mail_credential c where c.mailbox_id = m.id)
               from mailbox m where m.id = $1 and m.provider = 'm365' for update",
        )
        .bind(c.mailbox.as_uuid())
        .fetch_optional(tx.conn())
        .await?;
        let (status, subscription, has_secrets) = super::found(row, "mailbox")?;
        if status != "active" {
            continue;
        }
        if !has_secrets {
            mail_credential::write(
                tx,
                keys,
                c.mailbox,
                Some(&c.secrets.tenant_id),
                &m365_mailbox::secrets_body(&c.secrets),
                None,
            )
            .await?;
            out.secrets_created += 1;
        }
        if subscription.is_none() {
            let job = MailboxJob {
                mailbox_id: c.mailbox.as_uuid(),
                full: false,
            };
            let payload = serde_json::to_value(job).map_err(|_| StoreError::Decode {
                what: "graph job payload",
            })?;
            queue::enqueue(
                tx,
                &NewJob::new(graph_jobs::SUBSCRIBE, payload)
                    .dedupe_key(job.dedupe_key(graph_jobs::SUBSCRIBE)),
            )
            .await?;
            out.subscribe_enqueued += 1;
        }
    }
    let event = NewEvent::new("user", "m365.scope_check").details(json!({
        "verified": verified,
        "report": report,
        "secrets_created": out.secrets_created,
        "subscribe_enqueued": out.subscribe_enqueued,
    }));
    audit::append(tx, event).await?;
    Ok(out)
}

/// What disconnecting the organisation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disconnection {
    /// The tenant that was connected, if consent had been granted.
    pub tenant_id: Option<String>,
    /// The mailboxes disconnected (addresses).
    pub mailboxes: Vec<String>,
    /// Subscriptions still recorded at the moment of disconnecting (created
    /// after the caller listed them): delete these at Microsoft too.
    pub late_subscriptions: Vec<String>,
    /// Webhook secret rows deleted.
    pub credentials_deleted: u64,
    /// Queued or running Graph jobs cancelled.
    pub jobs_cancelled: u64,
}

/// Disconnects the organisation from Microsoft 365 at once: every Microsoft
/// 365 mailbox disconnected (delta link and subscription forgotten), their
/// webhook secrets deleted (so notifications are refused), every Graph job
/// cancelled, and the connection marked disconnected with its tenant and
/// scope check forgotten. `subscriptions` is what the caller did at
/// Microsoft beforehand (deleted / failed), kept in the one audit event,
/// `m365.disconnect`. `None` when there was nothing to disconnect.
pub async fn disconnect_all(
    tx: &mut TenantTx,
    subscriptions: &Value,
) -> Result<Option<Disconnection>, StoreError> {
    let connection: Option<(Option<String>, String)> =
        sqlx::query_as("select tenant_id, status from graph_connection for update")
            .fetch_optional(tx.conn())
            .await?;
    let rows: Vec<(Uuid, String, Option<String>)> = sqlx::query_as(
        "update mailbox m
            set status = 'disconnected', delta_token = null, subscription_id = null,
                subscription_expires_at = null, health = 'healthy', last_error = null,
                last_error_at = null
           from (select id, subscription_id from mailbox
                  where provider = 'm365' and status <> 'disconnected' for update) old
          where m.id = old.id
      returning m.id, m.address, old.subscription_id",
    )
    .fetch_all(tx.conn())
    .await?;
    let live = connection
        .as_ref()
        .is_some_and(|(_, status)| status != "disconnected");
    if !live && rows.is_empty() {
        return Ok(None);
    }
    let credentials_deleted = sqlx::query(
        "delete from mail_credential
          where mailbox_id in (select id from mailbox where provider = 'm365')",
    )
    .execute(tx.conn())
    .await?
    .rows_affected();
    let mut jobs_cancelled = 0;
    for kind in graph_jobs::ALL {
        jobs_cancelled += queue::cancel_for(tx, kind, None).await?;
    }
    sqlx::query(
        "update graph_connection
            set status = 'disconnected', tenant_id = null, consent_state_sha256 = null,
                consent_started_at = null, scope_checked_at = null, scope_verified = null,
                scope_report = null",
    )
    .execute(tx.conn())
    .await?;
    let tenant_id = connection.and_then(|(t, _)| t);
    let mailboxes: Vec<String> = rows.iter().map(|r| r.1.clone()).collect();
    let late_subscriptions: Vec<String> = rows.iter().filter_map(|r| r.2.clone()).collect();
    let event = NewEvent::new("user", "m365.disconnect").details(json!({
        "tenant_id": tenant_id,
        "mailboxes": mailboxes,
        "credentials_deleted": credentials_deleted,
        "jobs_cancelled": jobs_cancelled,
        "subscriptions": subscriptions,
    }));
    audit::append(tx, event).await?;
    Ok(Some(Disconnection {
        tenant_id,
        mailboxes,
        late_subscriptions,
        credentials_deleted,
        jobs_cancelled,
    }))
}
