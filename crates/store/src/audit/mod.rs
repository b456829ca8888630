//! The audit log: one append-only, hash-chained sequence of events per
//! organisation (security bar §2, G2.1–G2.4).
//!
//! # Writing
//!
//! [`append`] writes one event inside the caller's [`TenantTx`], so the event
//! commits or rolls back with the action it records. It takes a per-org
//! advisory lock (`pg_advisory_xact_lock(hashtextextended('audit:' || org_id, 0))`),
//! reads the org's last `(seq, hash)` in a *separate* statement (a snapshot
//! taken after the lock is granted, so two writers can never read the same
//! head), and inserts `seq + 1`. The lock is held until the transaction ends:
//! audited actions of one organisation serialise from their `append` on, so
//! append late in the transaction. The transaction must be `read committed`
//! (the `TenantTx` default); under `repeatable read` the head would be read
//! from the transaction's first snapshot.
//!
//! # The chain, version 1
//!
//! `hash = SHA-256("sentra-audit-v1" ‖ prev_hash ‖ canonical_json)`, where
//! `prev_hash` is the previous event's `hash` (32 zero bytes for `seq` 1), and
//! `canonical_json` is the UTF-8 JSON object, without any whitespace, with
//! exactly these keys in this (bytewise sorted) order:
//!
//! | key | value |
//! |---|---|
//! | `action` | string |
//! | `actor` | string |
//! | `actor_user_id` | lowercase hyphenated UUID string, or `null` |
//! | `at` | RFC 3339 UTC with exactly six fractional digits: `2026-03-01T09:30:00.000000Z` (Postgres keeps microseconds) |
//! | `details` | the `details` object as Postgres's `jsonb` gives it back, written canonically |
//! | `id` | lowercase hyphenated UUID string |
//! | `org_id` | lowercase hyphenated UUID string |
//! | `target_id` | string or `null` |
//! | `target_type` | string or `null` |
//!
//! Canonical JSON, recursively: object keys sorted by their UTF-8 bytes,
//! no whitespace, strings escaped as `serde_json` 1 writes them (only `"`,
//! `\` and control characters escaped; everything else literal UTF-8),
//! numbers as `serde_json::Number` displays them. `details` goes through
//! Postgres (`$1::jsonb`) before it is hashed, so the hash covers exactly what
//! a verifier reads back; keep it to strings, integers, booleans and nesting.
//!
//! `seq` is deliberately **not** hashed: the order of the chain is bound by
//! the `prev_hash` links, and leaving the index out lets the verifier tell a
//! moved or slipped-in row from an edited one (see [`BreakKind`]).
//!
//! # Checking
//!
//! [`verify`] walks each chain in `seq` order in batches and names the first
//! bad `seq`. A superuser can rewrite a chain consistently (edit a row and
//! recompute every later hash) or cut its tail; only something kept outside
//! the database catches that, which is what [`checkpoint`] (a signed list of
//! per-org heads) and [`verify_against_checkpoint`] are for.

mod canonical;
mod checkpoint;
mod search;
mod verify;

pub use canonical::{HASH_DOMAIN, canonical_json, chain_hash, format_at};
pub use checkpoint::{
    CheckpointHead, checkpoint, checkpoint_with_keyring, parse_checkpoint, public_key_for_seed,
    sign_note, verify_against_checkpoint, verify_note,
};
pub use search::{AuditFilter, Cursor, ListedEvent, actions, search, verify_tenant};
pub use verify::{BreakKind, ChainBreak, VerifyReport, verify};

use crate::{StoreError, TenantTx};
use sentra_domain::{OrgId, UserId};
use sqlx::PgConnection;
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

/// The `prev_hash` of an organisation's first event.
pub const GENESIS_HASH: [u8; 32] = [0; 32];

/// An event to record. Build with [`NewEvent::new`] and the setters.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// Who acted as shown to people: `"user"`, `"system:worker"`,
    /// `"system:retention"`, … The person's id, when there is one, comes from
    /// the transaction ([`TenantTx::user`]).
    pub actor: String,
    /// A dotted verb: `"auth.login"`, `"case.status"`, `"retention.purge"`.
    pub action: String,
    /// What kind of record the action was on (`"supplier"`), if any.
    pub target_type: Option<String>,
    /// Which record, if any.
    pub target_id: Option<String>,
    /// Counts, ids and states only: never secrets, tokens or full account
    /// numbers (G2.5). Must be a JSON object.
    pub details: serde_json::Value,
}

impl NewEvent {
    /// An event for `action` by `actor`, with no target and empty details.
    pub fn new(actor: impl Into<String>, action: impl Into<String>) -> Self {
        Self {
            actor: actor.into(),
            action: action.into(),
            target_type: None,
            target_id: None,
            details: serde_json::Value::Object(serde_json::Map::new()),
        }
    }

    /// Names the record acted on.
    #[must_use]
    pub fn target(mut self, kind: impl Into<String>, id: impl Into<String>) -> Self {
        self.target_type = Some(kind.into());
        self.target_id = Some(id.into());
        self
    }

    /// Sets the details object.
    #[must_use]
    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

/// One stored event.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AuditEvent {
    /// The organisation whose chain this is.
    pub org_id: Uuid,
    /// Position in the chain, from 1, without gaps.
    pub seq: i64,
    /// The event's own id.
    pub id: Uuid,
    /// When it was written (the transaction's time, microseconds).
    pub at: OffsetDateTime,
    /// The person who acted, if any.
    pub actor_user_id: Option<Uuid>,
    /// Who acted, as shown.
    pub actor: String,
    /// What was done.
    pub action: String,
    /// Kind of record acted on.
    pub target_type: Option<String>,
    /// Record acted on.
    pub target_id: Option<String>,
    /// The details object, as stored.
    pub details: Json<serde_json::Value>,
    /// The previous event's hash (zeros for `seq` 1).
    pub prev_hash: Vec<u8>,
    /// This event's hash.
    pub hash: Vec<u8>,
}

impl AuditEvent {
    /// The hash this event should carry, recomputed from its content and its
    /// stored `prev_hash` (`None` when `prev_hash` is not 32 bytes).
    pub fn recompute_hash(&self) -> Option<[u8; 32]> {
        let prev: &[u8; 32] = self.prev_hash.as_slice().try_into().ok()?;
        chain_hash(prev, self).ok()
    }
}

/// Records `event` in `tx`'s organisation, in `tx`'s transaction: it commits
/// with the action it records, and a rollback leaves no event.
pub async fn append(tx: &mut TenantTx, event: NewEvent) -> Result<AuditEvent, StoreError> {
    let (org, user) = (tx.org(), tx.user());
    append_on(tx.conn(), org, user, event).await
}

/// [`append`] on any connection whose transaction has `app.org_id` set to
/// `org`: the retention purge writes its events through the owner pool.
pub(crate) async fn append_on(
    conn: &mut PgConnection,
    org: OrgId,
    user: Option<UserId>,
    event: NewEvent,
) -> Result<AuditEvent, StoreError> {
    if !event.details.is_object() {
        return Err(StoreError::Rejected {
            constraint: "audit_event_details_check".to_owned(),
        });
    }
    sqlx::query("select pg_advisory_xact_lock(hashtextextended('audit:' || $1::text, 0))")
        .bind(org.as_uuid())
        .execute(&mut *conn)
        .await?;
    // A new statement, so a new snapshot: it sees every event committed by
    // whoever held the lock before us.
    let (head_seq, head_hash, details, at): (
        Option<i64>,
        Option<Vec<u8>>,
        Json<serde_json::Value>,
        OffsetDateTime,
    ) = sqlx::query_as(
        "select h.seq, h.hash, $2::jsonb, now()
         from (select 1) one
         left join lateral (
           select seq, hash from audit_event where org_id = $1 order by seq desc limit 1
         ) h on true",
    )
    .bind(org.as_uuid())
    .bind(Json(&event.details))
    .fetch_one(&mut *conn)
    .await?;
    let prev_hash: [u8; 32] = match head_hash {
        None => GENESIS_HASH,
        Some(h) => h.as_slice().try_into().map_err(|_| StoreError::Decode {
            what: "audit_event.hash",
        })?,
    };
    let mut row = AuditEvent {
        org_id: org.as_uuid(),
        seq: head_seq.unwrap_or(0) + 1,
        id: Uuid::new_v4(),
        at,
        actor_user_id: user.map(|u| u.as_uuid()),
        actor: event.actor,
        action: event.action,
        target_type: event.target_type,
        target_id: event.target_id,
        details,
        prev_hash: prev_hash.to_vec(),
        hash: Vec::new(),
    };
    row.hash = chain_hash(&prev_hash, &row)?.to_vec();
    sqlx::query(
        "insert into audit_event
           (org_id, seq, id, at, actor_user_id, actor, action, target_type, target_id,
            details, prev_hash, hash)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(row.org_id)
    .bind(row.seq)
    .bind(row.id)
    .bind(row.at)
    .bind(row.actor_user_id)
    .bind(&row.actor)
    .bind(&row.action)
    .bind(&row.target_type)
    .bind(&row.target_id)
    .bind(&row.details)
    .bind(&row.prev_hash)
    .bind(&row.hash)
    .execute(&mut *conn)
    .await?;
    Ok(row)
}

/// The organisation's events with `seq` greater than `after`, oldest first,
/// at most `limit` (capped at 1,000): the audit page and exports page with it.
pub async fn list(
    tx: &mut TenantTx,
    after: i64,
    limit: u32,
) -> Result<Vec<AuditEvent>, StoreError> {
    let org = tx.org();
    Ok(sqlx::query_as(
        "select org_id, seq, id, at, actor_user_id, actor, action, target_type, target_id,
                details, prev_hash, hash
         from audit_event where org_id = $1 and seq > $2 order by seq limit $3",
    )
    .bind(org.as_uuid())
    .bind(after)
    .bind(i64::from(limit.min(1000)))
    .fetch_all(tx.conn())
    .await?)
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Parses lowercase or uppercase hex of exactly 32 bytes.
pub(crate) fn unhex32(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(text.as_bytes().chunks(2)) {
        let s = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(s, 16).ok()?;
    }
    Some(out)
}
