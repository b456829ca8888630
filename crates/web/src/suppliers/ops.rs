//! The supplier actions themselves, shared by the JSON API and the HTML
//! pages so both enforce the same roles, dual control, step-up and audit:
//! each function checks, writes and records exactly one audit event in the
//! caller's transaction; the caller commits.

use super::input::{self, BankAccountIn};
use super::{Applied, Described, change_summary};
use crate::WebError;
use axum::http::StatusCode;
use sentra_domain::{Role, SupplierId, UserId};
use sentra_store::audit::{self, NewEvent};
use sentra_store::crypto::Keyring;
use sentra_store::repo::supplier_change::{self, Approved, ChangeKind, SupplierChange};
use sentra_store::repo::{bank_account, supplier};
use sentra_store::{StoreError, TenantTx};
use serde_json::json;
use uuid::Uuid;

/// Longest rejection reason (the column's check).
pub const MAX_REASON: usize = 2000;

/// 403 unless `role` may write (everyone but viewers).
pub fn require_writer(role: Role) -> Result<(), WebError> {
    if role == Role::Viewer {
        Err(WebError::forbidden())
    } else {
        Ok(())
    }
}

/// A 422 for a field that fails validation.
pub fn invalid(field: &str, message: impl std::fmt::Display) -> WebError {
    WebError::Client {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        code: "invalid_field",
        message: format!("{field}: {message}"),
    }
}

/// The phone and its provenance, validated; a phone needs a source.
pub fn phone_pair(
    phone: Option<&str>,
    source: Option<&str>,
) -> Result<Option<(String, String)>, WebError> {
    let Some(phone) = phone.map(str::trim).filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    let phone = input::phone(phone).map_err(|e| invalid("verified_phone", e))?;
    let source = input::phone_source(source.unwrap_or_default())
        .map_err(|e| invalid("phone_source", e))?
        .ok_or_else(|| {
            invalid(
                "phone_source",
                "say where the number came from (never from an email)",
            )
        })?;
    Ok(Some((phone, source)))
}

/// What a new supplier form or body holds, unvalidated.
#[derive(Debug, Clone, Default)]
pub struct NewSupplier {
    /// Name.
    pub name: String,
    /// Domains.
    pub domains: Vec<String>,
    /// Country.
    pub country: Option<String>,
    /// Phone to propose.
    pub verified_phone: Option<String>,
    /// Its provenance.
    pub phone_source: Option<String>,
    /// Account to propose.
    pub bank_account: Option<BankAccountIn>,
}

/// Validates and adds a supplier (a taken name is a 409); its phone and
/// account become pending changes. One `supplier.create` event.
pub async fn create(
    tx: &mut TenantTx,
    keys: &Keyring,
    user: UserId,
    role: Role,
    new: &NewSupplier,
) -> Result<(SupplierId, Applied), WebError> {
    require_writer(role)?;
    let name = input::name(&new.name).map_err(|e| invalid("name", e))?;
    let domains = input::domains(new.domains.iter().map(String::as_str))
        .map_err(|e| invalid("domains", e))?;
    let country = new
        .country
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(input::country)
        .transpose()
        .map_err(|e| invalid("country", e))?;
    let phone = phone_pair(new.verified_phone.as_deref(), new.phone_source.as_deref())?;
    let accounts = match &new.bank_account {
        Some(a) => vec![a.parse().map_err(|e| invalid("bank_account", e))?],
        None => Vec::new(),
    };
    let (phone, phone_source) = phone.unzip();
    let described = Described {
        name,
        domains,
        country,
        phone,
        phone_source,
        accounts,
    };
    let applied = super::apply(tx, keys, user, &described, false).await?;
    audit::append(
        tx,
        NewEvent::new("user", "supplier.create")
            .target("supplier", applied.supplier_id.clone())
            .details(json!({
                "name": described.name,
                "pending_changes": applied.pending_changes,
            })),
    )
    .await?;
    Ok((super::supplier_id(&applied.supplier_id)?, applied))
}

fn conflict_on_duplicate(e: StoreError) -> WebError {
    match e {
        StoreError::Conflict { .. } => WebError::Client {
            status: StatusCode::CONFLICT,
            code: "conflict",
            message: "this account is already on file for this supplier".to_owned(),
        },
        other => other.into(),
    }
}

/// Proposes a new account for `id` (pending until approved). Returns the
/// change and the other suppliers this account is on file for.
pub async fn propose_account(
    tx: &mut TenantTx,
    keys: &Keyring,
    user: UserId,
    role: Role,
    id: SupplierId,
    account: &BankAccountIn,
) -> Result<(SupplierChange, Vec<String>), WebError> {
    require_writer(role)?;
    let account = account.parse().map_err(|e| invalid("bank_account", e))?;
    supplier::get(tx, id).await?;
    let others: Vec<String> = bank_account::find_by_account(tx, keys, &account)
        .await?
        .into_iter()
        .filter(|(s, _)| *s != id)
        .map(|(s, _)| s.to_string())
        .collect();
    let change = supplier_change::propose_bank_account(tx, keys, id, &account, user)
        .await
        .map_err(conflict_on_duplicate)?;
    audit::append(
        tx,
        NewEvent::new("user", "supplier.change.propose")
            .target("supplier_change", change.id.to_string())
            .details(json!({
                "supplier_id": id.to_string(),
                "change": change_summary(&change),
                "also_on_file_for": others,
            })),
    )
    .await?;
    Ok((change, others))
}

/// Proposes a new call-back number for `id`.
pub async fn propose_phone(
    tx: &mut TenantTx,
    user: UserId,
    role: Role,
    id: SupplierId,
    phone: &str,
    source: &str,
) -> Result<SupplierChange, WebError> {
    require_writer(role)?;
    let (phone, source) = phone_pair(Some(phone), Some(source))?
        .ok_or_else(|| invalid("verified_phone", "is empty"))?;
    supplier::get(tx, id).await?;
    let change = supplier_change::propose_phone(tx, id, &phone, Some(&source), user).await?;
    audit::append(
        tx,
        NewEvent::new("user", "supplier.change.propose")
            .target("supplier_change", change.id.to_string())
            .details(json!({
                "supplier_id": id.to_string(),
                "change": change_summary(&change),
            })),
    )
    .await?;
    Ok(change)
}

/// Refuses callers who may not decide a change proposed by `proposed_by`:
/// wrong role (403 `forbidden`) or the proposer (403 `dual_control`).
pub fn may_decide(user: UserId, role: Role, proposed_by: UserId) -> Result<(), WebError> {
    if !matches!(role, Role::Owner | Role::Admin | Role::Approver) {
        return Err(WebError::forbidden());
    }
    if proposed_by == user {
        return Err(WebError::Client {
            status: StatusCode::FORBIDDEN,
            code: "dual_control",
            message: "a change must be decided by someone other than its proposer".to_owned(),
        });
    }
    Ok(())
}

/// Approves change `id`: an approver who is not the proposer, with a fresh
/// step-up (`mfa_at`). One `supplier.change.approve` event.
pub async fn approve(
    tx: &mut TenantTx,
    user: UserId,
    role: Role,
    mfa_at: Option<i64>,
    id: Uuid,
) -> Result<Approved, WebError> {
    let change = supplier_change::get(tx, id).await?;
    may_decide(user, role, change.proposed_by)?;
    crate::session::require_step_up(mfa_at)?;
    let approved = supplier_change::approve(tx, id, user).await?;
    let mut details = json!({
        "supplier_id": change.supplier_id.to_string(),
        "change": change_summary(&approved.change),
        "proposed_by": change.proposed_by.to_string(),
    });
    if change.kind == ChangeKind::BankAccount
        && let Some(map) = details.as_object_mut()
    {
        map.insert("retired".to_owned(), json!(approved.retired));
    }
    audit::append(
        tx,
        NewEvent::new("user", "supplier.change.approve")
            .target("supplier_change", id.to_string())
            .details(details),
    )
    .await?;
    Ok(approved)
}

/// Rejects change `id` (same people as [`approve`], no step-up: refusing
/// cannot redirect money). One `supplier.change.reject` event.
pub async fn reject(
    tx: &mut TenantTx,
    user: UserId,
    role: Role,
    id: Uuid,
    reason: Option<&str>,
) -> Result<SupplierChange, WebError> {
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    if reason.is_some_and(|r| r.chars().count() > MAX_REASON) {
        return Err(invalid(
            "reason",
            format!("longer than {MAX_REASON} characters"),
        ));
    }
    let change = supplier_change::get(tx, id).await?;
    may_decide(user, role, change.proposed_by)?;
    let rejected = supplier_change::reject(tx, id, user, reason).await?;
    audit::append(
        tx,
        NewEvent::new("user", "supplier.change.reject")
            .target("supplier_change", id.to_string())
            .details(json!({
                "supplier_id": change.supplier_id.to_string(),
                "change": change_summary(&rejected),
                "reason": reason,
            })),
    )
    .await?;
    Ok(rejected)
}
