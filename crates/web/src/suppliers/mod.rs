//! Supplier management beneath the routes: field validation ([`input`]),
//! CSV formats ([`csv`]), and [`apply`], which turns one described supplier
//! into store writes the same way for `POST /suppliers` and the CSV import.
//!
//! Nothing that people ring or pay is ever written directly: a phone number
//! or bank account, whether typed, posted or imported, lands as a pending
//! `supplier_change` that a different approver must approve with a fresh MFA
//! step-up. Names, domains and country are written directly.

pub mod csv;
pub mod input;
pub mod ops;

use crate::WebError;
use sentra_domain::bank::BankAccount;
use sentra_domain::{SupplierId, UserId};
use sentra_store::TenantTx;
use sentra_store::crypto::Keyring;
use sentra_store::repo::bank_account::{self, AccountStatus};
use sentra_store::repo::supplier::{self, SupplierFields, SupplierStatus};
use sentra_store::repo::supplier_change::{self, ChangeKind, ChangeStatus, SupplierChange};
use serde::Serialize;
use serde_json::{Value, json};

/// A supplier as a request or a file row describes it.
#[derive(Debug, Clone)]
pub struct Described {
    /// Its name.
    pub name: String,
    /// Domains to add.
    pub domains: Vec<String>,
    /// Country, when known.
    pub country: Option<String>,
    /// A call-back number to propose.
    pub phone: Option<String>,
    /// Where that number came from.
    pub phone_source: Option<String>,
    /// Accounts to propose.
    pub accounts: Vec<BankAccount>,
}

/// What [`apply`] did (or, in a rolled-back preview, would do).
#[derive(Debug, Clone, Serialize)]
pub struct Applied {
    /// The supplier.
    pub supplier_id: String,
    /// `create`, `update` (domains or country added) or `unchanged`.
    pub action: &'static str,
    /// Changes now awaiting approval, masked.
    pub pending_changes: Vec<Value>,
    /// Accounts already on file for this supplier (masked), not proposed again.
    pub already_on_file: Vec<String>,
    /// Things worth a second look: an account on file for another supplier.
    pub warnings: Vec<String>,
}

/// Writes `d`: creates the supplier (or, when `merge` and one of that name
/// exists, adds the new domains and a missing country to it), then proposes
/// the phone (unless it is already the verified one) and each account not
/// already live for it. Writes no audit event: the caller records one for
/// the whole request.
pub async fn apply(
    tx: &mut TenantTx,
    keys: &Keyring,
    proposer: UserId,
    d: &Described,
    merge: bool,
) -> Result<Applied, WebError> {
    let existing = supplier::find_by_name(tx, &d.name).await?;
    if existing.is_some() && !merge {
        return Err(WebError::Client {
            status: axum::http::StatusCode::CONFLICT,
            code: "conflict",
            message: "a supplier with this name already exists".to_owned(),
        });
    }
    let (id, action, verified_phone) = match existing {
        None => {
            let id = supplier::create(
                tx,
                &SupplierFields {
                    name: d.name.clone(),
                    domains: d.domains.clone(),
                    country: d.country.clone(),
                    status: SupplierStatus::Active,
                },
            )
            .await?;
            (id, "create", None)
        }
        Some(s) => {
            let mut fields = s.fields.clone();
            let mut changed = false;
            for dom in &d.domains {
                if !fields.domains.contains(dom) {
                    fields.domains.push(dom.clone());
                    changed = true;
                }
            }
            if fields.country.is_none() && d.country.is_some() {
                fields.country.clone_from(&d.country);
                changed = true;
            }
            if changed {
                supplier::update(tx, s.id, &fields).await?;
            }
            (
                s.id,
                if changed { "update" } else { "unchanged" },
                s.verified_phone,
            )
        }
    };
    let mut out = Applied {
        supplier_id: id.to_string(),
        action,
        pending_changes: Vec::new(),
        already_on_file: Vec::new(),
        warnings: Vec::new(),
    };
    if let Some(phone) = &d.phone
        && verified_phone.as_deref() != Some(phone.as_str())
        && !phone_pending(tx, id, phone).await?
    {
        let change =
            supplier_change::propose_phone(tx, id, phone, d.phone_source.as_deref(), proposer)
                .await?;
        out.pending_changes.push(change_summary(&change));
    }
    for account in &d.accounts {
        let on_file = bank_account::find_by_account(tx, keys, account).await?;
        if on_file
            .iter()
            .any(|(s, st)| *s == id && *st != AccountStatus::Retired)
        {
            out.already_on_file
                .push(sentra_store::crypto::masked_display(account));
            continue;
        }
        if on_file.iter().any(|(s, _)| *s != id) {
            out.warnings.push(format!(
                "{} is also on file for another supplier",
                sentra_store::crypto::masked_display(account)
            ));
        }
        let change = supplier_change::propose_bank_account(tx, keys, id, account, proposer).await?;
        out.pending_changes.push(change_summary(&change));
    }
    Ok(out)
}

/// Whether `phone` already awaits approval for `supplier` (a re-import
/// must not stack up identical proposals).
async fn phone_pending(
    tx: &mut TenantTx,
    supplier: SupplierId,
    phone: &str,
) -> Result<bool, WebError> {
    let pending =
        supplier_change::list(tx, Some(ChangeStatus::Pending), Some(supplier), 1_000).await?;
    Ok(pending.iter().any(|c| {
        c.kind == ChangeKind::Phone
            && c.proposed.get("verified_phone").and_then(Value::as_str) == Some(phone)
    }))
}

/// A change as responses and audit details show it: masked, no secrets.
pub fn change_summary(c: &SupplierChange) -> Value {
    json!({
        "id": c.id.to_string(),
        "kind": c.kind.as_str(),
        "summary": c.summary(),
    })
}

/// Parses a supplier id from a path; malformed is a 404 like missing.
pub fn supplier_id(s: &str) -> Result<SupplierId, WebError> {
    s.parse().map_err(|_| WebError::NotFound)
}
