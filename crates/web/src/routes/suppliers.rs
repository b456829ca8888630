//! `/api/v1/suppliers`: the organisation's supplier directory. Reading is
//! open to every member; adding and editing to everyone but viewers;
//! deleting to admins and owners. Another organisation's id is a 404 exactly
//! like a missing or malformed one.
//!
//! A phone number or bank account given here is never written to the record:
//! it becomes a pending change (see [`crate::routes::supplier_changes`]).
//! Every write records one audit event in its transaction.

use crate::routes::rfc3339;
use crate::session::TenantSession;
use crate::suppliers::input::{self, BankAccountIn};
use crate::suppliers::ops;
use crate::suppliers::supplier_id;
use crate::{ApiJson, AppState, WebError};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use sentra_domain::Role;
use sentra_store::audit::{self, NewEvent};
use sentra_store::repo::bank_account::{self, BankAccountSummary};
use sentra_store::repo::supplier::{self, Supplier, SupplierFields, SupplierStatus};
use sentra_store::repo::supplier_change::{self, ChangeStatus, SupplierChange};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Most suppliers one search returns.
pub const SEARCH_LIMIT: u32 = 200;

/// A supplier as the API shows it.
#[derive(Debug, Serialize)]
pub struct SupplierView {
    /// The id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Sending domains.
    pub domains: Vec<String>,
    /// Country code.
    pub country: Option<String>,
    /// `active` or `archived`.
    pub status: String,
    /// The number call-backs must use (changes only under dual control).
    pub verified_phone: Option<String>,
    /// Where that number came from.
    pub phone_source: Option<String>,
    /// Who approved it.
    pub phone_verified_by: Option<String>,
    /// When.
    pub phone_verified_at: Option<String>,
    /// Created.
    pub created_at: String,
    /// Last changed.
    pub updated_at: String,
}

impl From<Supplier> for SupplierView {
    fn from(s: Supplier) -> Self {
        Self {
            id: s.id.to_string(),
            name: s.fields.name,
            domains: s.fields.domains,
            country: s.fields.country,
            status: s.fields.status.as_str().to_owned(),
            verified_phone: s.verified_phone,
            phone_source: s.phone_source,
            phone_verified_by: s.phone_verified_by.map(|u| u.to_string()),
            phone_verified_at: s.phone_verified_at.map(rfc3339),
            created_at: rfc3339(s.created_at),
            updated_at: rfc3339(s.updated_at),
        }
    }
}

/// A bank account as the API shows it: masked only.
pub fn account_json(a: &BankAccountSummary) -> Value {
    json!({
        "id": a.id.to_string(),
        "scheme": a.scheme.as_str(),
        "masked": a.masked,
        "status": a.status.as_str(),
        "verified_by": a.verified_by.map(|u| u.to_string()),
        "verified_at": a.verified_at.map(rfc3339),
    })
}

/// A change as the API shows it (its `proposed` never holds a full number).
pub fn change_json(c: &SupplierChange) -> Value {
    json!({
        "id": c.id.to_string(),
        "supplier_id": c.supplier_id.to_string(),
        "kind": c.kind.as_str(),
        "proposed": c.proposed,
        "summary": c.summary(),
        "status": c.status.as_str(),
        "proposed_by": c.proposed_by.to_string(),
        "decided_by": c.decided_by.map(|u| u.to_string()),
        "decided_at": c.decided_at.map(rfc3339),
        "reason": c.reason,
        "created_at": rfc3339(c.created_at),
    })
}

/// `GET /suppliers`'s query.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    /// Part of a name or domain.
    pub q: Option<String>,
}

/// `GET /api/v1/suppliers[?q=]`: every supplier, or those whose name or
/// domain contains `q`, by name.
pub async fn list(
    mut session: TenantSession,
    Query(query): Query<ListQuery>,
) -> Result<Json<Vec<SupplierView>>, WebError> {
    let rows = match query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        Some(q) => supplier::search(&mut session.tx, q, SEARCH_LIMIT).await?,
        None => supplier::list(&mut session.tx).await?,
    };
    session.tx.commit().await?;
    Ok(Json(rows.into_iter().map(SupplierView::from).collect()))
}

/// `GET /api/v1/suppliers/{id}`: the record, its accounts (masked, with
/// status) and its changes, newest first.
pub async fn get(
    mut session: TenantSession,
    Path(id): Path<String>,
) -> Result<Json<Value>, WebError> {
    let id = supplier_id(&id)?;
    let row = supplier::get(&mut session.tx, id).await?;
    let accounts = bank_account::list_for_supplier(&mut session.tx, id).await?;
    let changes = supplier_change::list(&mut session.tx, None, Some(id), 100).await?;
    session.tx.commit().await?;
    let mut out = json!(SupplierView::from(row));
    if let Some(map) = out.as_object_mut() {
        map.insert(
            "bank_accounts".to_owned(),
            accounts.iter().map(account_json).collect(),
        );
        map.insert(
            "pending_changes".to_owned(),
            changes
                .iter()
                .filter(|c| c.status == ChangeStatus::Pending)
                .map(change_json)
                .collect(),
        );
    }
    Ok(Json(out))
}

/// `POST /api/v1/suppliers`'s body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateIn {
    /// Name (unique in the organisation, case-insensitive).
    pub name: String,
    /// Sending domains.
    #[serde(default)]
    pub domains: Vec<String>,
    /// ISO country code.
    pub country: Option<String>,
    /// A call-back number to propose.
    pub verified_phone: Option<String>,
    /// Where it came from (required with a phone).
    pub phone_source: Option<String>,
    /// A bank account to propose.
    pub bank_account: Option<BankAccountIn>,
}

pub(crate) use crate::suppliers::ops::invalid;

/// `POST /api/v1/suppliers`: adds a supplier. A phone or bank account in the
/// body becomes a pending change (the supplier is created, the details await
/// approval). A taken name is a 409.
pub async fn create(
    State(state): State<AppState>,
    mut session: TenantSession,
    ApiJson(body): ApiJson<CreateIn>,
) -> Result<(StatusCode, Json<Value>), WebError> {
    let new = ops::NewSupplier {
        name: body.name,
        domains: body.domains,
        country: body.country,
        verified_phone: body.verified_phone,
        phone_source: body.phone_source,
        bank_account: body.bank_account,
    };
    let (id, applied) = ops::create(
        &mut session.tx,
        &state.keys,
        session.user,
        session.role,
        &new,
    )
    .await?;
    let row = supplier::get(&mut session.tx, id).await?;
    session.tx.commit().await?;
    let mut out = json!(SupplierView::from(row));
    if let Some(map) = out.as_object_mut() {
        map.insert("pending_changes".to_owned(), json!(applied.pending_changes));
        map.insert("warnings".to_owned(), json!(applied.warnings));
    }
    Ok((StatusCode::CREATED, Json(out)))
}

/// `PATCH /api/v1/suppliers/{id}`'s body: only the fields given change.
/// Phone and bank details are not here: they change only through
/// `POST /suppliers/{id}/phone` and `/bank-accounts` (dual control).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchIn {
    /// New name.
    pub name: Option<String>,
    /// The whole new list of domains.
    pub domains: Option<Vec<String>>,
    /// New country (empty string clears it).
    pub country: Option<String>,
    /// `active` or `archived`.
    pub status: Option<String>,
}

/// `PATCH /api/v1/suppliers/{id}`: edits name, domains, country or status.
pub async fn patch(
    mut session: TenantSession,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PatchIn>,
) -> Result<Json<SupplierView>, WebError> {
    let id = supplier_id(&id)?;
    update(&mut session.tx, session.role, id, &body).await?;
    let row = supplier::get(&mut session.tx, id).await?;
    session.tx.commit().await?;
    Ok(Json(row.into()))
}

/// Applies `body` to supplier `id` (everyone but viewers), with one
/// `supplier.update` event when anything changed. Shared with the pages.
pub async fn update(
    tx: &mut sentra_store::TenantTx,
    role: Role,
    id: sentra_domain::SupplierId,
    body: &PatchIn,
) -> Result<(), WebError> {
    ops::require_writer(role)?;
    let before = supplier::get(tx, id).await?;
    let mut fields: SupplierFields = before.fields.clone();
    if let Some(n) = &body.name {
        fields.name = input::name(n).map_err(|e| invalid("name", e))?;
        if let Some(other) = supplier::find_by_name(tx, &fields.name).await?
            && other.id != id
        {
            return Err(WebError::Client {
                status: StatusCode::CONFLICT,
                code: "conflict",
                message: "a supplier with this name already exists".to_owned(),
            });
        }
    }
    if let Some(ds) = &body.domains {
        fields.domains =
            input::domains(ds.iter().map(String::as_str)).map_err(|e| invalid("domains", e))?;
    }
    if let Some(c) = &body.country {
        fields.country = match c.trim() {
            "" => None,
            c => Some(input::country(c).map_err(|e| invalid("country", e))?),
        };
    }
    if let Some(s) = &body.status {
        fields.status = match s.as_str() {
            "active" => SupplierStatus::Active,
            "archived" => SupplierStatus::Archived,
            _ => return Err(invalid("status", "must be active or archived")),
        };
    }
    let mut changed = Vec::new();
    if fields.name != before.fields.name {
        changed.push("name");
    }
    if fields.domains != before.fields.domains {
        changed.push("domains");
    }
    if fields.country != before.fields.country {
        changed.push("country");
    }
    if fields.status != before.fields.status {
        changed.push("status");
    }
    if !changed.is_empty() {
        supplier::update(tx, id, &fields).await?;
        audit::append(
            tx,
            NewEvent::new("user", "supplier.update")
                .target("supplier", id.to_string())
                .details(json!({
                    "changed": changed,
                    "domains": fields.domains,
                    "status": fields.status.as_str(),
                })),
        )
        .await?;
    }
    Ok(())
}

/// `DELETE /api/v1/suppliers/{id}`: removes a supplier with its accounts and
/// changes (admins and owners; archiving via PATCH keeps history).
pub async fn delete(
    mut session: TenantSession,
    Path(id): Path<String>,
) -> Result<StatusCode, WebError> {
    if !matches!(session.role, Role::Owner | Role::Admin) {
        return Err(WebError::forbidden());
    }
    let id = supplier_id(&id)?;
    let before = supplier::get(&mut session.tx, id).await?;
    supplier::delete(&mut session.tx, id).await?;
    audit::append(
        &mut session.tx,
        NewEvent::new("user", "supplier.delete")
            .target("supplier", id.to_string())
            .details(json!({ "name": before.fields.name })),
    )
    .await?;
    session.tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
