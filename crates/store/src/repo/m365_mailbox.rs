//! Microsoft 365 mailboxes: the ones an admin selected, their sync state
//! (delta link, subscription, start date), the health the UI shows, the
//! webhook secrets, and disconnecting them.
//!
//! A mailbox's webhook secrets (the subscription's `clientState` and the
//! unguessable token in its notification URL) are its [`mail_credential`]:
//! encrypted, bound to the row, and deleted on disconnect, after which
//! notifications for the mailbox find nothing to match and are refused.
//! App-only access tokens are not stored: they are cached in the worker's
//! memory for their hour of life.

use super::mail_credential;
use crate::audit::{self, NewEvent};
use crate::crypto::{ExposeSecret, Keyring, SecretString};
use crate::ids::MailboxId;
use crate::queue;
use crate::{AppPool, StoreError, TenantTx};
use sentra_domain::OrgId;
use serde_json::json;
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;

/// Sync health as the UI shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Syncing normally.
    Healthy,
    /// Throttled or failing; retrying without anyone acting.
    Degraded,
    /// An admin must act (scope, consent, app removed).
    NeedsReconnect,
}

impl Health {
    /// The stored spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Healthy => "healthy",
            Self::Degraded => "degraded",
            Self::NeedsReconnect => "needs_reconnect",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "healthy" => Ok(Self::Healthy),
            "degraded" => Ok(Self::Degraded),
            "needs_reconnect" => Ok(Self::NeedsReconnect),
            _ => Err(StoreError::Decode {
                what: "mailbox.health",
            }),
        }
    }
}

/// A Microsoft 365 mailbox and its sync state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct M365Mailbox {
    /// The id.
    pub id: MailboxId,
    /// The address (lowercase).
    pub address: String,
    /// `active` or `disconnected` (`paused`, `error` are unused here).
    pub status: String,
    /// Sync health.
    pub health: Health,
    /// The last error, codes only.
    pub last_error: Option<String>,
    /// When it happened.
    pub last_error_at: Option<OffsetDateTime>,
    /// The last completed delta round.
    pub last_sync_at: Option<OffsetDateTime>,
    /// The Graph subscription, if one is live.
    pub subscription_id: Option<String>,
    /// When it expires.
    pub subscription_expires_at: Option<OffsetDateTime>,
    /// The lower bound of full syncs.
    pub sync_since: Option<OffsetDateTime>,
    /// When the scope check last read it.
    pub scope_verified_at: Option<OffsetDateTime>,
    /// The `deltaLink` to resume from, if a round completed.
    pub delta_link: Option<String>,
}

const COLUMNS: &str = "id, address, status, health, last_error, last_error_at, last_sync_at,
    subscription_id, subscription_expires_at, sync_since, scope_verified_at, delta_token";

type Row = (
    Uuid,
    String,
    String,
    String,
    Option<String>,
    Option<OffsetDateTime>,
    Option<OffsetDateTime>,
    Option<String>,
    Option<OffsetDateTime>,
    Option<OffsetDateTime>,
    Option<OffsetDateTime>,
    Option<String>,
);

fn from_row(r: Row) -> Result<M365Mailbox, StoreError> {
    Ok(M365Mailbox {
        id: MailboxId::from_uuid(r.0),
        address: r.1,
        status: r.2,
        health: Health::parse(&r.3)?,
        last_error: r.4,
        last_error_at: r.5,
        last_sync_at: r.6,
        subscription_id: r.7,
        subscription_expires_at: r.8,
        sync_since: r.9,
        scope_verified_at: r.10,
        delta_link: r.11,
    })
}

fn actor(tx: &TenantTx) -> &'static str {
    if tx.user().is_some() {
        "user"
    } else {
        "system:worker"
    }
}

/// The organisation's Microsoft 365 mailboxes, disconnected ones included,
/// by address.
pub async fn list(tx: &mut TenantTx) -> Result<Vec<M365Mailbox>, StoreError> {
    let sql = format!("select {COLUMNS} from mailbox where provider = 'm365' order by address");
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(tx.conn())
        .await?;
    rows.into_iter().map(from_row).collect()
}

/// One Microsoft 365 mailbox.
pub async fn get(tx: &mut TenantTx, id: MailboxId) -> Result<M365Mailbox, StoreError> {
    let sql = format!("select {COLUMNS} from mailbox where provider = 'm365' and id = $1");
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id.as_uuid())
        .fetch_optional(tx.conn())
        .await?;
    from_row(super::found(row, "mailbox")?)
}

/// Every organisation's active Microsoft 365 mailboxes, as ids only (a
/// starting worker re-seeds their periodic jobs; it then opens each
/// organisation's own transaction). Goes through the definer function
/// `app_m365_active_mailboxes()`, the one window across organisations.
pub async fn all_active(pool: &AppPool) -> Result<Vec<(OrgId, MailboxId)>, StoreError> {
    let rows: Vec<(Uuid, Uuid)> =
        sqlx::query_as("select org_id, id from app_m365_active_mailboxes()")
            .fetch_all(pool.pool())
            .await?;
    Ok(rows
        .into_iter()
        .map(|(org, id)| (OrgId::from_uuid(org), MailboxId::from_uuid(id)))
        .collect())
}

/// Adds `address` as a monitored mailbox syncing from `sync_since`, or
/// reactivates it when it was disconnected. An address already active is a
/// [`StoreError::Conflict`].
pub async fn add(
    tx: &mut TenantTx,
    address: &str,
    sync_since: OffsetDateTime,
) -> Result<MailboxId, StoreError> {
    let id: Option<Uuid> = sqlx::query_scalar(
        "insert into mailbox (org_id, provider, address, sync_since)
         values ($1, 'm365', lower($2), $3)
         on conflict (org_id, provider, address) do update
           set status = 'active', health = 'healthy', last_error = null, last_error_at = null,
               sync_since = excluded.sync_since, delta_token = null, scope_verified_at = null
           where mailbox.status = 'disconnected'
         returning id",
    )
    .bind(tx.org().as_uuid())
    .bind(address.trim())
    .bind(sync_since)
    .fetch_optional(tx.conn())
    .await?;
    let id = id.ok_or(StoreError::Conflict {
        constraint: "mailbox_org_id_provider_address_key".into(),
    })?;
    let event = NewEvent::new(actor(tx), "mailbox.add")
        .target("mailbox", id.to_string())
        .details(json!({ "provider": "m365", "address": address.trim().to_lowercase() }));
    audit::append(tx, event).await?;
    Ok(MailboxId::from_uuid(id))
}

/// Locks the mailbox row for the rest of the transaction (so two sync runs
/// of one mailbox cannot both save a delta link) and returns it.
pub async fn lock(tx: &mut TenantTx, id: MailboxId) -> Result<M365Mailbox, StoreError> {
    let sql =
        format!("select {COLUMNS} from mailbox where provider = 'm365' and id = $1 for update");
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id.as_uuid())
        .fetch_optional(tx.conn())
        .await?;
    from_row(super::found(row, "mailbox")?)
}

/// Records a completed delta round: the link to resume from (`None` forgets
/// it, forcing a full sync next time), the sync time, and health back to
/// healthy.
pub async fn save_delta_link(
    tx: &mut TenantTx,
    id: MailboxId,
    link: Option<&str>,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "update mailbox set delta_token = $2, last_sync_at = now(), health = 'healthy',
                last_error = null, last_error_at = null
          where id = $1 and status = 'active'",
    )
    .bind(id.as_uuid())
    .bind(link)
    .execute(tx.conn())
    .await?;
    super::affected(done.rows_affected(), "mailbox")
}

/// Forgets the delta link (after `410 SyncStateNotFound` or `missed`).
pub async fn clear_delta_link(tx: &mut TenantTx, id: MailboxId) -> Result<(), StoreError> {
    sqlx::query("update mailbox set delta_token = null where id = $1")
        .bind(id.as_uuid())
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Records the mailbox's subscription (or its absence).
pub async fn set_subscription(
    tx: &mut TenantTx,
    id: MailboxId,
    subscription_id: Option<&str>,
    expires_at: Option<OffsetDateTime>,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "update mailbox set subscription_id = $2, subscription_expires_at = $3
          where id = $1 and status = 'active'",
    )
    .bind(id.as_uuid())
    .bind(subscription_id)
    .bind(expires_at)
    .execute(tx.conn())
    .await?;
    super::affected(done.rows_affected(), "mailbox")
}

/// Sets the mailbox's health and last error. A change of health is audited;
/// repeating the same health only refreshes the error.
pub async fn set_health(
    tx: &mut TenantTx,
    id: MailboxId,
    health: Health,
    error: Option<&str>,
) -> Result<(), StoreError> {
    let error = error.map(|e| e.chars().take(2000).collect::<String>());
    let previous: Option<String> = sqlx::query_scalar(
        "update mailbox m set health = $2, last_error = $3,
                last_error_at = case when $3::text is null then m.last_error_at else now() end
           from (select health from mailbox where id = $1 for update) old
          where m.id = $1
      returning old.health",
    )
    .bind(id.as_uuid())
    .bind(health.as_str())
    .bind(error.as_deref())
    .fetch_optional(tx.conn())
    .await?;
    let previous = super::found(previous, "mailbox")?;
    if previous != health.as_str() {
        let event = NewEvent::new(actor(tx), "mailbox.health")
            .target("mailbox", id.to_string())
            .details(json!({ "from": previous, "to": health.as_str(), "error": error }));
        audit::append(tx, event).await?;
    }
    Ok(())
}

/// Records that the scope check read this mailbox.
pub async fn mark_scope_verified(tx: &mut TenantTx, id: MailboxId) -> Result<(), StoreError> {
    let done = sqlx::query("update mailbox set scope_verified_at = now() where id = $1")
        .bind(id.as_uuid())
        .execute(tx.conn())
        .await?;
    super::affected(done.rows_affected(), "mailbox")
}

/// How long Graph still holds requests for a mailbox back, by penalty key
/// (zero once a deadline has passed, or when none was ever recorded).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestHolds {
    /// The mailbox's own deadline (`Retry-After` on a mailbox request).
    pub mailbox: Duration,
    /// Its tenant's (on the organisation's connection).
    pub tenant: Duration,
}

impl RequestHolds {
    /// The longer of the two: no request for the mailbox goes before it.
    pub fn longest(self) -> Duration {
        self.mailbox.max(self.tenant)
    }
}

/// Postgres intervals hold microseconds; rounds up so a hold never ends
/// early, and caps at the queue's longest backoff.
fn hold_interval(hold: Duration) -> Duration {
    let micros = hold.min(queue::MAX_BACKOFF).as_nanos().div_ceil(1000);
    Duration::from_micros(u64::try_from(micros).unwrap_or(u64::MAX))
}

/// Records that Graph holds requests for the mailbox back for `hold` from
/// now (its `Retry-After`), so that a worker started later waits it out
/// too. A later deadline already recorded stays; `hold` is capped at an
/// hour ([`queue::MAX_BACKOFF`]), so a hostile header cannot park it.
pub async fn hold_requests(
    tx: &mut TenantTx,
    id: MailboxId,
    hold: Duration,
) -> Result<(), StoreError> {
    sqlx::query(
        "update mailbox set throttled_until = greatest(throttled_until, now() + $2)
          where id = $1",
    )
    .bind(id.as_uuid())
    .bind(hold_interval(hold))
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// The holds on Graph requests for the mailbox: its own and its tenant's.
pub async fn request_holds(tx: &mut TenantTx, id: MailboxId) -> Result<RequestHolds, StoreError> {
    let row: Option<(f64, f64)> = sqlx::query_as(
        "select coalesce(extract(epoch from greatest(m.throttled_until - now(), '0'))::float8, 0),
                coalesce(extract(epoch from greatest(g.throttled_until - now(), '0'))::float8, 0)
           from mailbox m left join graph_connection g on g.org_id = m.org_id
          where m.id = $1",
    )
    .bind(id.as_uuid())
    .fetch_optional(tx.conn())
    .await?;
    let (mailbox, tenant) = super::found(row, "mailbox")?;
    let secs = |s: f64| {
        Duration::try_from_secs_f64(s)
            .unwrap_or_default()
            .min(queue::MAX_BACKOFF)
    };
    Ok(RequestHolds {
        mailbox: secs(mailbox),
        tenant: secs(tenant),
    })
}

/// The right to run Graph requests for one mailbox's sync round, across
/// every worker process: a transaction-scoped advisory lock on the mailbox,
/// held by an open transaction that does nothing else (no row locks, no
/// snapshot between statements under `read committed`). Dropping it, or the
/// worker dying, ends the transaction and so frees the lock; no session
/// lock can outlive a crashed task on a pooled connection this way.
#[derive(Debug)]
pub struct RoundLock {
    tx: TenantTx,
}

impl RoundLock {
    /// Frees the lock now.
    pub async fn release(self) -> Result<(), StoreError> {
        self.tx.rollback().await
    }
}

/// Takes the mailbox's [`RoundLock`] if no other round (in any process)
/// holds it: `None` means another worker is syncing the mailbox right now.
/// Never waits.
pub async fn try_lock_round(
    pool: &AppPool,
    org: OrgId,
    id: MailboxId,
) -> Result<Option<RoundLock>, StoreError> {
    let mut tx = TenantTx::begin(pool, org, None).await?;
    let got: bool = sqlx::query_scalar(
        "select pg_try_advisory_xact_lock(hashtextextended('m365-round:' || $1::text, 0))",
    )
    .bind(id.as_uuid())
    .fetch_one(tx.conn())
    .await?;
    if got {
        Ok(Some(RoundLock { tx }))
    } else {
        tx.rollback().await?;
        Ok(None)
    }
}

/// A mailbox's webhook secrets.
pub struct WebhookSecrets {
    /// The customer's Entra tenant.
    pub tenant_id: String,
    /// The subscription's `clientState`.
    pub client_state: SecretString,
    /// The token in the notification URL path.
    pub path_token: SecretString,
}

impl std::fmt::Debug for WebhookSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSecrets")
            .field("tenant_id", &self.tenant_id)
            .finish_non_exhaustive()
    }
}

/// Stores the mailbox's webhook secrets (encrypted, in its credential row).
pub async fn store_secrets(
    tx: &mut TenantTx,
    keys: &Keyring,
    id: MailboxId,
    secrets: &WebhookSecrets,
) -> Result<(), StoreError> {
    mail_credential::store(
        tx,
        keys,
        id,
        Some(&secrets.tenant_id),
        &secrets_body(secrets),
        None,
    )
    .await?;
    Ok(())
}

/// The credential body that holds a mailbox's webhook secrets (read back by
/// [`secrets`]).
pub(crate) fn secrets_body(secrets: &WebhookSecrets) -> SecretString {
    SecretString::from(
        json!({
            "client_state": secrets.client_state.expose_secret(),
            "path_token": secrets.path_token.expose_secret(),
        })
        .to_string(),
    )
}

/// The mailbox's webhook secrets, or `None` when it has none (never
/// connected, or disconnected).
pub async fn secrets(
    tx: &mut TenantTx,
    keys: &Keyring,
    id: MailboxId,
) -> Result<Option<WebhookSecrets>, StoreError> {
    let Some(cred) = mail_credential::get(tx, keys, id).await? else {
        return Ok(None);
    };
    let parsed: serde_json::Value =
        serde_json::from_str(cred.secret.expose_secret()).map_err(|_| StoreError::Decode {
            what: "mail_credential.secret_enc",
        })?;
    let field = |name: &str| {
        parsed
            .get(name)
            .and_then(serde_json::Value::as_str)
            .map(|s| SecretString::from(s.to_owned()))
            .ok_or(StoreError::Decode {
                what: "mail_credential.secret_enc",
            })
    };
    let (client_state, path_token) = (field("client_state")?, field("path_token")?);
    Ok(Some(WebhookSecrets {
        tenant_id: cred.provider_tenant_id.unwrap_or_default(),
        client_state,
        path_token,
    }))
}

/// What disconnecting left for the caller to undo at Microsoft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disconnected {
    /// The subscription to delete with `DELETE /subscriptions/{id}`.
    pub subscription_id: Option<String>,
}

/// Disconnects a mailbox at once: marks it disconnected, forgets its delta
/// link and subscription, deletes its credential (webhook secrets), cancels
/// its queued and running Graph jobs, and writes an audit event. The caller
/// deletes the subscription at Microsoft with what is returned.
pub async fn disconnect(tx: &mut TenantTx, id: MailboxId) -> Result<Disconnected, StoreError> {
    let sub: Option<Option<String>> = sqlx::query_scalar(
        "select subscription_id from mailbox where id = $1 and provider = 'm365' for update",
    )
    .bind(id.as_uuid())
    .fetch_optional(tx.conn())
    .await?;
    let subscription_id = super::found(sub, "mailbox")?;
    sqlx::query(
        "update mailbox set status = 'disconnected', delta_token = null, subscription_id = null,
                subscription_expires_at = null, health = 'healthy', last_error = null,
                last_error_at = null
          where id = $1",
    )
    .bind(id.as_uuid())
    .execute(tx.conn())
    .await?;
    // Recorded in this function's one event, not an event of its own.
    let credential_deleted = mail_credential::remove(tx, id).await?.is_some();
    let mut cancelled = 0;
    let filter = json!({ "mailbox_id": id.as_uuid() });
    for kind in sentra_domain::graph_jobs::ALL {
        cancelled += queue::cancel_for(tx, kind, Some(&filter)).await?;
    }
    let event = NewEvent::new(actor(tx), "mailbox.disconnect")
        .target("mailbox", id.to_string())
        .details(json!({
            "credential_deleted": credential_deleted,
            "jobs_cancelled": cancelled,
            "had_subscription": subscription_id.is_some(),
        }));
    audit::append(tx, event).await?;
    Ok(Disconnected { subscription_id })
}
