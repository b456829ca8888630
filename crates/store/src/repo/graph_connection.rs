//! The organisation's Microsoft 365 connection: the admin-consent round trip
//! (graph-contract §4.4) and the customer's Entra tenant it yields.
//!
//! Starting consent stores only a SHA-256 of the random `state` sent to
//! Entra; the redirect back is accepted once, within an hour, when its
//! `state` hashes to the stored value. Each change writes one audit event.

use crate::audit::{self, NewEvent};
use crate::queue;
use crate::{StoreError, TenantTx};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::time::Duration;
use time::OffsetDateTime;

/// How long an admin has to complete consent after starting it.
pub const CONSENT_WINDOW: time::Duration = time::Duration::hours(1);

/// The connection's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionStatus {
    /// Consent started, not (yet) granted.
    Pending,
    /// Consent granted; `tenant_id` is set.
    Consented,
    /// Disconnected by an admin.
    Disconnected,
}

impl ConnectionStatus {
    /// The stored spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Consented => "consented",
            Self::Disconnected => "disconnected",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "pending" => Ok(Self::Pending),
            "consented" => Ok(Self::Consented),
            "disconnected" => Ok(Self::Disconnected),
            _ => Err(StoreError::Decode {
                what: "graph_connection.status",
            }),
        }
    }
}

/// The organisation's connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphConnection {
    /// The customer's Entra tenant, once consent was granted.
    pub tenant_id: Option<String>,
    /// Its state.
    pub status: ConnectionStatus,
    /// When consent was granted.
    pub consented_at: Option<OffsetDateTime>,
}

fn actor(tx: &TenantTx) -> &'static str {
    if tx.user().is_some() {
        "user"
    } else {
        "system"
    }
}

fn state_hash(state: &str) -> Vec<u8> {
    Sha256::digest(state.as_bytes()).to_vec()
}

/// The organisation's connection, if it ever started one.
pub async fn get(tx: &mut TenantTx) -> Result<Option<GraphConnection>, StoreError> {
    let row: Option<(Option<String>, String, Option<OffsetDateTime>)> =
        sqlx::query_as("select tenant_id, status, consented_at from graph_connection")
            .fetch_optional(tx.conn())
            .await?;
    row.map(|(tenant_id, status, consented_at)| {
        Ok(GraphConnection {
            tenant_id,
            status: ConnectionStatus::parse(&status)?,
            consented_at,
        })
    })
    .transpose()
}

/// Records that an admin was sent to admin consent with `state`. A
/// connection that is already consented keeps its tenant and status until
/// the new consent comes back.
pub async fn begin_consent(tx: &mut TenantTx, state: &str) -> Result<(), StoreError> {
    sqlx::query(
        "insert into graph_connection (org_id, consent_state_sha256, consent_started_at)
         values ($1, $2, now())
         on conflict (org_id) do update
           set consent_state_sha256 = excluded.consent_state_sha256,
               consent_started_at = now(),
               status = case when graph_connection.status = 'disconnected'
                             then 'pending' else graph_connection.status end",
    )
    .bind(tx.org().as_uuid())
    .bind(state_hash(state))
    .execute(tx.conn())
    .await?;
    audit::append(tx, NewEvent::new(actor(tx), "m365.consent.start")).await?;
    Ok(())
}

/// Whether `state` is the pending consent's state (and still in time).
/// Consumes nothing; [`complete_consent`] and [`decline_consent`] do.
pub async fn state_matches(tx: &mut TenantTx, state: &str) -> Result<bool, StoreError> {
    let hit: Option<i32> = sqlx::query_scalar(
        "select 1 from graph_connection
          where consent_state_sha256 = $1 and consent_started_at > now() - $2::interval",
    )
    .bind(state_hash(state))
    .bind(format!("{} seconds", CONSENT_WINDOW.whole_seconds()))
    .fetch_optional(tx.conn())
    .await?;
    Ok(hit.is_some())
}

/// Accepts the consent redirect: when `state` matches the pending consent,
/// records `tenant_id` as consented and forgets the state (so the redirect
/// cannot be replayed). Returns whether it matched.
pub async fn complete_consent(
    tx: &mut TenantTx,
    state: &str,
    tenant_id: &str,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "update graph_connection
            set tenant_id = $2, status = 'consented', consented_at = now(),
                consent_state_sha256 = null, consent_started_at = null
          where consent_state_sha256 = $1 and consent_started_at > now() - $3::interval",
    )
    .bind(state_hash(state))
    .bind(tenant_id)
    .bind(format!("{} seconds", CONSENT_WINDOW.whole_seconds()))
    .execute(tx.conn())
    .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    let event = NewEvent::new(actor(tx), "m365.consent.granted")
        .target("m365_tenant", tenant_id)
        .details(json!({ "tenant_id": tenant_id }));
    audit::append(tx, event).await?;
    Ok(true)
}

/// Records a declined consent (state matched, Entra said no).
pub async fn decline_consent(
    tx: &mut TenantTx,
    state: &str,
    error: &str,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "update graph_connection set consent_state_sha256 = null, consent_started_at = null
          where consent_state_sha256 = $1",
    )
    .bind(state_hash(state))
    .execute(tx.conn())
    .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    let event =
        NewEvent::new(actor(tx), "m365.consent.declined").details(json!({ "error": error }));
    audit::append(tx, event).await?;
    Ok(true)
}

/// Marks the connection disconnected and forgets its tenant. Returns
/// whether there was a live connection.
pub async fn disconnect(tx: &mut TenantTx) -> Result<bool, StoreError> {
    let live: Option<Option<String>> = sqlx::query_scalar(
        "select tenant_id from graph_connection where status <> 'disconnected' for update",
    )
    .fetch_optional(tx.conn())
    .await?;
    let Some(tenant) = live else {
        return Ok(false);
    };
    sqlx::query(
        "update graph_connection
            set status = 'disconnected', tenant_id = null,
                consent_state_sha256 = null, consent_started_at = null",
    )
    .execute(tx.conn())
    .await?;
    let event = NewEvent::new(actor(tx), "m365.disconnect").details(json!({ "tenant_id": tenant }));
    audit::append(tx, event).await?;
    Ok(true)
}

/// Records that Graph holds the tenant's requests other than a mailbox's
/// (subscriptions) back for `hold` from now; see
/// [`super::m365_mailbox::hold_requests`], whose rules it follows. No-op
/// without a connection.
pub async fn hold_requests(tx: &mut TenantTx, hold: Duration) -> Result<(), StoreError> {
    let micros = hold.min(queue::MAX_BACKOFF).as_nanos().div_ceil(1000);
    sqlx::query(
        "update graph_connection set throttled_until = greatest(throttled_until, now() + $2)
          where org_id = $1",
    )
    .bind(tx.org().as_uuid())
    .bind(Duration::from_micros(
        u64::try_from(micros).unwrap_or(u64::MAX),
    ))
    .execute(tx.conn())
    .await?;
    Ok(())
}
