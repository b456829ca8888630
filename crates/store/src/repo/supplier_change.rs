//! Dual control over the two facts a fraudster wants to change: where a
//! supplier is paid (its bank account) and the number people ring to check
//! (its verified phone). Neither changes directly: a member proposes a
//! `supplier_change`, and a *different* member approves or rejects it.
//!
//! A proposed bank account is stored at once as a `pending_approval` row of
//! `supplier_bank_account` (encrypted, blind-indexed, so the engine already
//! sees "this account is on file but unverified"); the change points at it
//! and carries only its masked form. Approval activates it and retires the
//! supplier's other active accounts; rejection retires it. A proposed phone
//! lives in the change's `proposed` JSON (a phone number is not a secret) and
//! reaches the supplier record only on approval.
//!
//! The schema enforces the core rule too: `decided_by <> proposed_by`. Role
//! and step-up checks are the caller's (the web layer knows the session).
//! These functions write no audit event: the caller records the whole
//! action (one request, one event) in the same transaction.

use super::bank_account::{self, AccountStatus};
use super::supplier;
use crate::crypto::Keyring;
use crate::ids::BankAccountId;
use crate::{StoreError, TenantTx};
use sentra_domain::bank::BankAccount;
use sentra_domain::{SupplierId, UserId};
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

/// What a change is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// A new bank account replacing the active ones.
    BankAccount,
    /// A new verified call-back number.
    Phone,
}

impl ChangeKind {
    /// The stored spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::BankAccount => "bank_account",
            Self::Phone => "phone",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "bank_account" => Ok(Self::BankAccount),
            "phone" => Ok(Self::Phone),
            _ => Err(StoreError::Decode {
                what: "supplier_change.kind",
            }),
        }
    }
}

/// Where a change stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeStatus {
    /// Waiting for a second person.
    Pending,
    /// Applied.
    Approved,
    /// Refused; nothing applied.
    Rejected,
}

impl ChangeStatus {
    /// The stored spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
        }
    }

    /// Parses the stored (and query-string) spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "approved" => Some(Self::Approved),
            "rejected" => Some(Self::Rejected),
            _ => None,
        }
    }
}

/// A stored change. `proposed` never holds a full account number.
#[derive(Debug, Clone, PartialEq)]
pub struct SupplierChange {
    /// The id.
    pub id: Uuid,
    /// Whose record it changes.
    pub supplier_id: SupplierId,
    /// What it changes.
    pub kind: ChangeKind,
    /// The proposed values: `{"bank_account_id", "scheme", "masked"}` or
    /// `{"verified_phone", "phone_source"}`.
    pub proposed: Value,
    /// Who proposed it.
    pub proposed_by: UserId,
    /// Where it stands.
    pub status: ChangeStatus,
    /// Who decided, once decided.
    pub decided_by: Option<UserId>,
    /// When.
    pub decided_at: Option<OffsetDateTime>,
    /// Why (rejections).
    pub reason: Option<String>,
    /// When it was proposed.
    pub created_at: OffsetDateTime,
}

impl SupplierChange {
    /// The pending bank account a bank-account change proposes.
    pub fn bank_account_id(&self) -> Option<BankAccountId> {
        self.proposed
            .get("bank_account_id")
            .and_then(Value::as_str)
            .and_then(|s| Uuid::parse_str(s).ok())
            .map(BankAccountId::from_uuid)
    }

    /// A short masked description for screens and audit events.
    pub fn summary(&self) -> String {
        let field = |k: &str| {
            self.proposed
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        match self.kind {
            ChangeKind::BankAccount => field("masked"),
            ChangeKind::Phone => field("verified_phone"),
        }
    }
}

type Row = (
    Uuid,
    Uuid,
    String,
    sqlx::types::Json<Value>,
    Uuid,
    String,
    Option<Uuid>,
    Option<OffsetDateTime>,
    Option<String>,
    OffsetDateTime,
);

const COLUMNS: &str = "id, supplier_id, kind, proposed, proposed_by, status, decided_by, \
                       decided_at, reason, created_at";

fn from_row(row: Row) -> Result<SupplierChange, StoreError> {
    let (id, supplier, kind, proposed, by, status, decided_by, decided_at, reason, created_at) =
        row;
    Ok(SupplierChange {
        id,
        supplier_id: SupplierId::from_uuid(supplier),
        kind: ChangeKind::parse(&kind)?,
        proposed: proposed.0,
        proposed_by: UserId::from_uuid(by),
        status: ChangeStatus::parse(&status).ok_or(StoreError::Decode {
            what: "supplier_change.status",
        })?,
        decided_by: decided_by.map(UserId::from_uuid),
        decided_at,
        reason,
        created_at,
    })
}

async fn insert(
    tx: &mut TenantTx,
    supplier: SupplierId,
    kind: ChangeKind,
    values: &Value,
    by: UserId,
) -> Result<SupplierChange, StoreError> {
    let row: Row = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "insert into supplier_change (org_id, supplier_id, kind, proposed, proposed_by)
         values ($1, $2, $3, $4, $5) returning {COLUMNS}"
    )))
    .bind(tx.org().as_uuid())
    .bind(supplier.as_uuid())
    .bind(kind.as_str())
    .bind(sqlx::types::Json(values))
    .bind(by.as_uuid())
    .fetch_one(tx.conn())
    .await
    .map_err(|e| super::reference(e.into(), "supplier"))?;
    from_row(row)
}

/// Proposes `account` for `supplier`: a `pending_approval` account plus the
/// change that asks for it. The same account already live (active or
/// pending) for this supplier is a [`StoreError::Conflict`].
pub async fn propose_bank_account(
    tx: &mut TenantTx,
    keys: &Keyring,
    supplier: SupplierId,
    account: &BankAccount,
    proposer: UserId,
) -> Result<SupplierChange, StoreError> {
    let (id, masked) = bank_account::insert(
        tx,
        keys,
        supplier,
        account,
        AccountStatus::PendingApproval,
        None,
    )
    .await?;
    let values = json!({
        "bank_account_id": id.to_string(),
        "scheme": account.scheme().as_str(),
        "masked": masked,
    });
    insert(tx, supplier, ChangeKind::BankAccount, &values, proposer).await
}

/// Proposes `phone` (with where it came from) as `supplier`'s verified
/// call-back number.
pub async fn propose_phone(
    tx: &mut TenantTx,
    supplier: SupplierId,
    phone: &str,
    source: Option<&str>,
    proposer: UserId,
) -> Result<SupplierChange, StoreError> {
    let values = json!({ "verified_phone": phone, "phone_source": source });
    insert(tx, supplier, ChangeKind::Phone, &values, proposer).await
}

/// One change; another organisation's id is [`StoreError::NotFound`].
pub async fn get(tx: &mut TenantTx, id: Uuid) -> Result<SupplierChange, StoreError> {
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from supplier_change where id = $1"
    )))
    .bind(id)
    .fetch_optional(tx.conn())
    .await?;
    from_row(super::found(row, "supplier_change")?)
}

/// Changes, newest first, optionally only those in `status` and/or of
/// `supplier`; at most `limit`.
pub async fn list(
    tx: &mut TenantTx,
    status: Option<ChangeStatus>,
    supplier: Option<SupplierId>,
    limit: u32,
) -> Result<Vec<SupplierChange>, StoreError> {
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from supplier_change
          where ($1::text is null or status = $1)
            and ($2::uuid is null or supplier_id = $2)
          order by created_at desc, id limit $3"
    )))
    .bind(status.map(ChangeStatus::as_str))
    .bind(supplier.map(|s| s.as_uuid()))
    .bind(i64::from(limit))
    .fetch_all(tx.conn())
    .await?;
    rows.into_iter().map(from_row).collect()
}

/// Why [`approve`] or [`reject`] refused.
fn decided_already(change: &SupplierChange, to: ChangeStatus) -> StoreError {
    StoreError::InvalidTransition {
        what: "supplier_change",
        from: change.status.as_str().to_owned(),
        to: to.as_str().to_owned(),
    }
}

/// Locks a pending change for a decision by `decider`. The proposer
/// deciding their own change is [`StoreError::Forbidden`] (the schema's
/// check would refuse it anyway).
async fn lock_pending(
    tx: &mut TenantTx,
    id: Uuid,
    decider: UserId,
    to: ChangeStatus,
) -> Result<SupplierChange, StoreError> {
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from supplier_change where id = $1 for update"
    )))
    .bind(id)
    .fetch_optional(tx.conn())
    .await?;
    let change = from_row(super::found(row, "supplier_change")?)?;
    if change.status != ChangeStatus::Pending {
        return Err(decided_already(&change, to));
    }
    if change.proposed_by == decider {
        return Err(StoreError::Forbidden);
    }
    Ok(change)
}

async fn mark(
    tx: &mut TenantTx,
    id: Uuid,
    to: ChangeStatus,
    decider: UserId,
    reason: Option<&str>,
) -> Result<SupplierChange, StoreError> {
    let row: Row = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "update supplier_change set status = $2, decided_by = $3, decided_at = now(), reason = $4
          where id = $1 returning {COLUMNS}"
    )))
    .bind(id)
    .bind(to.as_str())
    .bind(decider.as_uuid())
    .bind(reason)
    .fetch_one(tx.conn())
    .await?;
    from_row(row)
}

/// What an approval did besides marking the change.
#[derive(Debug, Clone, PartialEq)]
pub struct Approved {
    /// The change, now approved.
    pub change: SupplierChange,
    /// Masked forms of the accounts the new one replaced (retired).
    pub retired: Vec<String>,
}

/// Applies a pending change on `approver`'s word: a bank account becomes the
/// supplier's only active one (the others are retired); a phone becomes the
/// verified number, approved by `approver` now. A decided change is
/// [`StoreError::InvalidTransition`]; the proposer approving is
/// [`StoreError::Forbidden`].
pub async fn approve(
    tx: &mut TenantTx,
    id: Uuid,
    approver: UserId,
) -> Result<Approved, StoreError> {
    let change = lock_pending(tx, id, approver, ChangeStatus::Approved).await?;
    let mut retired = Vec::new();
    match change.kind {
        ChangeKind::BankAccount => {
            let account = change.bank_account_id().ok_or(StoreError::Decode {
                what: "supplier_change.proposed",
            })?;
            bank_account::activate(tx, account, approver).await?;
            retired = bank_account::retire_active_except(tx, change.supplier_id, account).await?;
        }
        ChangeKind::Phone => {
            let phone = change
                .proposed
                .get("verified_phone")
                .and_then(Value::as_str)
                .ok_or(StoreError::Decode {
                    what: "supplier_change.proposed",
                })?;
            let source = change.proposed.get("phone_source").and_then(Value::as_str);
            supplier::set_verified_phone(tx, change.supplier_id, phone, source, approver).await?;
        }
    }
    let change = mark(tx, id, ChangeStatus::Approved, approver, None).await?;
    Ok(Approved { change, retired })
}

/// Refuses a pending change; a proposed account is retired, never used.
pub async fn reject(
    tx: &mut TenantTx,
    id: Uuid,
    decider: UserId,
    reason: Option<&str>,
) -> Result<SupplierChange, StoreError> {
    let change = lock_pending(tx, id, decider, ChangeStatus::Rejected).await?;
    if let Some(account) = change.bank_account_id() {
        bank_account::retire_pending(tx, account).await?;
    }
    mark(tx, id, ChangeStatus::Rejected, decider, reason).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_and_status_spellings_round_trip() {
        for k in [ChangeKind::BankAccount, ChangeKind::Phone] {
            assert_eq!(ChangeKind::parse(k.as_str()).ok(), Some(k));
        }
        for s in [
            ChangeStatus::Pending,
            ChangeStatus::Approved,
            ChangeStatus::Rejected,
        ] {
            assert_eq!(ChangeStatus::parse(s.as_str()), Some(s));
        }
        assert!(ChangeKind::parse("details").is_err());
        assert_eq!(ChangeStatus::parse("withdrawn"), None);
    }
}
