//! Which columns hold ciphertexts, and key rotation: re-encrypting every one
//! of them under the keyring's current key (`sentra keys rotate`).
//!
//! # The encrypted columns
//!
//! [`ENCRYPTED_COLUMNS`] is the one list of them. Each ciphertext is bound
//! (AEAD associated data, see [`crate::crypto::aead`]) to its table, column,
//! organisation and row id, and repositories build that binding from these
//! constants ([`EncryptedColumn::context`]), so the writer, the reader and the
//! rotation cannot disagree about it. Rows of a global table (no `org_id`)
//! are bound to [`GLOBAL_ORG`], the nil UUID. A test compares the list with
//! the catalog, so a new encrypted column cannot be left out of rotation.
//!
//! # Rotation without downtime
//!
//! The procedure (`docs/SECURITY.md`): give every running instance a keyring
//! holding the old and the new key, then make the new key `current` (new
//! writes use it, old rows stay readable), then run [`rotate`], then remove
//! the old key. [`rotate`] walks each column in small batches, each batch its
//! own short transaction that locks only the rows it rewrites, so the service
//! keeps reading and writing throughout. It picks rows whose ciphertext does
//! not start with `v1.<current id>.`, which makes it idempotent (a second run
//! finds nothing) and resumable (a crash loses at most the batch in flight,
//! which rolled back). It ends by counting the rows still not on the current
//! key: when that is 0 the old key can go.
//!
//! # Privilege
//!
//! Rotation runs on the owner pool, which forced row-level security confines
//! like the app: tenant columns are rewritten one organisation per
//! transaction with `app.org_id` set, through the owner's scoped policies of
//! migrations `0012` (message) and `0013` (the others). Each batch that
//! rewrote rows of an organisation appends one `keys.rotate` audit event to
//! that organisation's chain in the same transaction. Global rows (TOTP
//! secrets) have no organisation and so no chain to record into.
//!
//! A row that fails to decrypt (moved, tampered, or under a key the keyring
//! no longer holds) is left as it is and reported, never overwritten; the
//! rest of the column is still rotated.
//!
//! The blind-index key (`bi`) is not rotated here: an index cannot be
//! re-keyed without the plaintext, so changing it means recomputing every
//! index from decrypted accounts, which this module does not do yet.

use crate::audit::{self, NewEvent};
use crate::crypto::{self, CryptoError, FieldContext, KeyId, Keyring};
use crate::{OwnerPool, StoreError};
use sentra_domain::OrgId;
use serde_json::json;
use sqlx::{AssertSqlSafe, PgConnection};
use std::collections::BTreeSet;
use uuid::Uuid;

/// Whose rows a column belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// A tenant table: rows have an `org_id` and sit under row-level security.
    Tenant,
    /// A global table: rows are bound to [`GLOBAL_ORG`].
    Global,
}

/// One column that holds ciphertexts made by [`crate::crypto::encrypt`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncryptedColumn {
    /// The table.
    pub table: &'static str,
    /// The `bytea` column.
    pub column: &'static str,
    /// `table.column`, for messages and errors.
    pub qualified: &'static str,
    /// Tenant or global.
    pub scope: Scope,
}

impl EncryptedColumn {
    /// Where a ciphertext of this column for row `row` of `org` decrypts.
    pub const fn context(&self, org: OrgId, row: Uuid) -> FieldContext {
        FieldContext::new(self.table, self.column, org, row)
    }
}

macro_rules! column {
    ($table:literal, $column:literal, $scope:expr) => {
        EncryptedColumn {
            table: $table,
            column: $column,
            qualified: concat!($table, ".", $column),
            scope: $scope,
        }
    };
}

/// The organisation rows of global tables are bound to: the nil UUID, which
/// no organisation has.
pub const GLOBAL_ORG: OrgId = OrgId::from_uuid(Uuid::nil());

/// A supplier's bank account (the canonical account text).
pub const BANK_ACCOUNT: EncryptedColumn =
    column!("supplier_bank_account", "ciphertext", Scope::Tenant);
/// The full proposed values of a supplier change.
pub const SUPPLIER_CHANGE: EncryptedColumn =
    column!("supplier_change", "proposed_enc", Scope::Tenant);
/// A mailbox's tokens or password.
pub const MAIL_CREDENTIAL: EncryptedColumn =
    column!("mail_credential", "secret_enc", Scope::Tenant);
/// A message's raw MIME.
pub const MESSAGE_RAW_MIME: EncryptedColumn = column!("message", "raw_mime", Scope::Tenant);
/// An alert channel's webhook URL or address.
pub const ALERT_CHANNEL_TARGET: EncryptedColumn =
    column!("alert_channel", "target_enc", Scope::Tenant);
/// A person's TOTP secret.
pub const USER_TOTP: EncryptedColumn = column!("app_user", "totp_secret_enc", Scope::Global);
/// A person's TOTP secret while enrolment waits for its first code.
pub const USER_TOTP_PENDING: EncryptedColumn =
    column!("app_user", "totp_pending_enc", Scope::Global);

/// Every encrypted column, in the order [`rotate`] walks them.
pub const ENCRYPTED_COLUMNS: &[EncryptedColumn] = &[
    BANK_ACCOUNT,
    SUPPLIER_CHANGE,
    MAIL_CREDENTIAL,
    MESSAGE_RAW_MIME,
    ALERT_CHANNEL_TARGET,
    USER_TOTP,
    USER_TOTP_PENDING,
];

/// The largest batch [`rotate`] accepts: a batch is one transaction holding
/// its rows' locks, and raw MIME rows can be megabytes each.
pub const MAX_BATCH: u32 = 10_000;

/// What one committed batch did, passed to the progress callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// The column.
    pub column: EncryptedColumn,
    /// The organisation (`None` for a global table).
    pub org: Option<OrgId>,
    /// Rows re-encrypted by this batch.
    pub rotated: u64,
    /// Rows of this batch that could not be decrypted and were left alone.
    pub failed: u64,
    /// Rows of this column re-encrypted so far in this run, all organisations.
    pub column_rotated: u64,
}

/// One row that could not be re-encrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationFailure {
    /// The column.
    pub column: EncryptedColumn,
    /// The organisation (`None` for a global table).
    pub org: Option<OrgId>,
    /// The row's id.
    pub row: Uuid,
    /// Why (no key material or plaintext).
    pub error: CryptoError,
}

/// Per column: what a run did and what is left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnReport {
    /// The column.
    pub column: EncryptedColumn,
    /// Rows re-encrypted by this run.
    pub rotated: u64,
    /// Rows that could not be decrypted.
    pub failed: u64,
    /// Rows still not under the current key when the run ended.
    pub remaining: u64,
}

/// What [`rotate`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationReport {
    /// The key everything was re-encrypted under.
    pub key_id: KeyId,
    /// One entry per [`ENCRYPTED_COLUMNS`] entry, in that order.
    pub columns: Vec<ColumnReport>,
    /// The rows that failed (at most [`MAX_REPORTED_FAILURES`] listed; the
    /// per-column counts are complete).
    pub failures: Vec<RotationFailure>,
}

/// How many failing rows a report lists individually.
pub const MAX_REPORTED_FAILURES: usize = 1_000;

impl RotationReport {
    /// Rows re-encrypted, all columns.
    pub fn rotated(&self) -> u64 {
        self.columns.iter().map(|c| c.rotated).sum()
    }

    /// Rows still not under the current key, all columns.
    pub fn remaining(&self) -> u64 {
        self.columns.iter().map(|c| c.remaining).sum()
    }

    /// Whether every ciphertext is now under the current key, so older keys
    /// can be removed from the keyring.
    pub fn is_complete(&self) -> bool {
        self.remaining() == 0
    }
}

/// Re-encrypts every ciphertext not under `keys`' current key, `batch` rows
/// per transaction, calling `progress` after each batch that found rows.
/// `keys` must also hold every key the old rows name.
pub async fn rotate(
    pool: &OwnerPool,
    keys: &Keyring,
    batch: u32,
    mut progress: impl FnMut(&Progress),
) -> Result<RotationReport, StoreError> {
    if !(1..=MAX_BATCH).contains(&batch) {
        return Err(StoreError::Config {
            reason: format!("the rotation batch size must be between 1 and {MAX_BATCH}"),
        });
    }
    let orgs = organisations(pool).await?;
    let mut report = RotationReport {
        key_id: keys.current_key_id().clone(),
        columns: ENCRYPTED_COLUMNS
            .iter()
            .map(|&column| ColumnReport {
                column,
                rotated: 0,
                failed: 0,
                remaining: 0,
            })
            .collect(),
        failures: Vec::new(),
    };
    for org in orgs.iter().copied().map(Some).chain([None]) {
        for entry in &mut report.columns {
            if (entry.column.scope == Scope::Global) != org.is_none() {
                continue;
            }
            let mut after = Uuid::nil();
            loop {
                let done = rotate_batch(pool, keys, entry.column, org, after, batch).await?;
                entry.rotated += done.rotated;
                entry.failed += done.failures.len() as u64;
                let room = MAX_REPORTED_FAILURES.saturating_sub(report.failures.len());
                let failed = done.failures.len() as u64;
                report.failures.extend(done.failures.into_iter().take(room));
                let Some(last) = done.last else { break };
                progress(&Progress {
                    column: entry.column,
                    org,
                    rotated: done.rotated,
                    failed,
                    column_rotated: entry.rotated,
                });
                after = last;
            }
        }
    }
    for (entry, remaining) in report
        .columns
        .iter_mut()
        .zip(not_on_current_key(pool, keys).await?)
    {
        entry.remaining = remaining;
    }
    Ok(report)
}

/// Per [`ENCRYPTED_COLUMNS`] entry, in that order: how many stored
/// ciphertexts are not under `keys`' current key (older keys, or bytes that
/// are not a ciphertext at all). All zeros means older keys can be removed.
pub async fn not_on_current_key(pool: &OwnerPool, keys: &Keyring) -> Result<Vec<u64>, StoreError> {
    let prefix = current_prefix(keys);
    let mut counts = vec![0u64; ENCRYPTED_COLUMNS.len()];
    for org in organisations(pool)
        .await?
        .into_iter()
        .map(Some)
        .chain([None])
    {
        let mut tx = pool.pool().begin().await?;
        if let Some(org) = org {
            set_org(&mut tx, org).await?;
        }
        for (count, column) in counts.iter_mut().zip(ENCRYPTED_COLUMNS) {
            if (column.scope == Scope::Global) != org.is_none() {
                continue;
            }
            let sql = format!(
                "select count(*) from {table} where {col} is not null
                   and substring({col} from 1 for $1) <> $2",
                table = column.table,
                col = column.column,
            );
            let n: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
                .bind(prefix.len() as i32)
                .bind(&prefix)
                .fetch_one(&mut *tx)
                .await?;
            *count += n as u64;
        }
        tx.commit().await?;
    }
    Ok(counts)
}

/// What one batch did.
struct Batch {
    /// The last row id looked at, `None` when the batch found no rows.
    last: Option<Uuid>,
    rotated: u64,
    failures: Vec<RotationFailure>,
}

async fn rotate_batch(
    pool: &OwnerPool,
    keys: &Keyring,
    column: EncryptedColumn,
    org: Option<OrgId>,
    after: Uuid,
    batch: u32,
) -> Result<Batch, StoreError> {
    let prefix = current_prefix(keys);
    let mut tx = pool.pool().begin().await?;
    // Rows outside this organisation are invisible; the explicit org_id
    // filter is for the (org_id, …) indexes. Global tables have no org_id,
    // so their statements number their parameters from $1 without it.
    let (table, col) = (column.table, column.column);
    let (org_filter, n) = if org.is_some() {
        ("org_id = $1 and", 1)
    } else {
        ("", 0)
    };
    let select = format!(
        "select id, {col} from {table}
         where {org_filter} id > ${after} and {col} is not null
           and substring({col} from 1 for ${len}) <> ${prefix}
         order by id limit ${limit} for update",
        after = n + 1,
        len = n + 2,
        prefix = n + 3,
        limit = n + 4,
    );
    let update = format!(
        "update {table} t set {col} = v.ct
         from unnest(${ids}::uuid[], ${cts}::bytea[]) as v(id, ct)
         where {org_filter_t} t.id = v.id",
        org_filter_t = if org.is_some() {
            "t.org_id = $1 and"
        } else {
            ""
        },
        ids = n + 1,
        cts = n + 2,
    );
    let mut query = sqlx::query_as(AssertSqlSafe(select));
    if let Some(org) = org {
        set_org(&mut tx, org).await?;
        query = query.bind(org.as_uuid());
    }
    let rows: Vec<(Uuid, Vec<u8>)> = query
        .bind(after)
        .bind(prefix.len() as i32)
        .bind(&prefix)
        .bind(i64::from(batch))
        .fetch_all(&mut *tx)
        .await?;
    let mut ids = Vec::with_capacity(rows.len());
    let mut ciphertexts = Vec::with_capacity(rows.len());
    let mut from_keys = BTreeSet::new();
    let mut failures = Vec::new();
    for (id, old) in &rows {
        let ctx = column.context(org.unwrap_or(GLOBAL_ORG), *id);
        match crypto::reencrypt(keys, &ctx, old) {
            Ok(new) => {
                from_keys.insert(crypto::key_id_of(old).unwrap_or("?").to_owned());
                ids.push(*id);
                ciphertexts.push(new);
            }
            Err(error) => failures.push(RotationFailure {
                column,
                org,
                row: *id,
                error,
            }),
        }
    }
    let rotated = ids.len() as u64;
    if !ids.is_empty() {
        let mut query = sqlx::query(AssertSqlSafe(update));
        if let Some(org) = org {
            query = query.bind(org.as_uuid());
        }
        query
            .bind(&ids)
            .bind(&ciphertexts)
            .execute(&mut *tx)
            .await?;
        if let Some(org) = org {
            let event = NewEvent::new("system:keys", "keys.rotate")
                .target("encrypted_column", column.qualified)
                .details(json!({
                    "rows": rotated,
                    "failed": failures.len(),
                    "from_keys": from_keys,
                    "to_key": keys.current_key_id().as_str(),
                }));
            audit::append_on(&mut tx, org, None, event).await?;
        }
    }
    tx.commit().await?;
    Ok(Batch {
        last: rows.last().map(|(id, _)| *id),
        rotated,
        failures,
    })
}

/// `v1.<current key id>.`: how every ciphertext under the current key starts.
fn current_prefix(keys: &Keyring) -> Vec<u8> {
    format!("v1.{}.", keys.current_key_id()).into_bytes()
}

async fn organisations(pool: &OwnerPool) -> Result<Vec<OrgId>, StoreError> {
    let ids: Vec<Uuid> = sqlx::query_scalar("select id from organisation order by id")
        .fetch_all(pool.pool())
        .await?;
    Ok(ids.into_iter().map(OrgId::from_uuid).collect())
}

async fn set_org(conn: &mut PgConnection, org: OrgId) -> Result<(), StoreError> {
    sqlx::query("select set_config('app.org_id', $1, true)")
        .bind(org.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_column_is_listed_once_with_its_qualified_name() {
        let names: BTreeSet<&str> = ENCRYPTED_COLUMNS.iter().map(|c| c.qualified).collect();
        assert_eq!(names.len(), ENCRYPTED_COLUMNS.len());
        for c in ENCRYPTED_COLUMNS {
            assert_eq!(c.qualified, format!("{}.{}", c.table, c.column));
            assert!(!c.table.contains(':') && !c.column.contains(':'));
        }
        assert_eq!(
            ENCRYPTED_COLUMNS
                .iter()
                .filter(|c| c.scope == Scope::Global)
                .count(),
            // app_user's enrolled TOTP secret and the one pending enrolment
            2
        );
    }

    #[test]
    fn the_current_prefix_is_the_header_of_a_fresh_ciphertext() {
        let keys = Keyring::generate_insecure_dev().unwrap();
        let ct =
            crypto::encrypt(&keys, &BANK_ACCOUNT.context(GLOBAL_ORG, Uuid::nil()), b"x").unwrap();
        assert!(ct.starts_with(&current_prefix(&keys)));
    }

    #[test]
    fn contexts_bind_table_column_org_and_row() {
        let org = OrgId::from_uuid(Uuid::from_u128(7));
        let row = Uuid::from_u128(9);
        let ctx = MAIL_CREDENTIAL.context(org, row);
        assert_eq!(
            ctx.associated_data(),
            format!("sentra:v1:mail_credential:secret_enc:{org}:{row}").into_bytes()
        );
    }
}
