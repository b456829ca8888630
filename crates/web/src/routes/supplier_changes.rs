//! Dual control over bank details and call-back numbers.
//!
//! - `POST /suppliers/{id}/bank-accounts` and `POST /suppliers/{id}/phone`
//!   propose a change (any member but a viewer); the account is stored at
//!   once as `pending_approval`, the phone only in the change.
//! - `GET /supplier-changes[?status=&supplier=]`, `GET /supplier-changes/{id}`.
//! - `POST /supplier-changes/{id}/approve`: an approver, admin or owner who
//!   is not the proposer, with an MFA verification in the last five minutes
//!   (else 403 `step_up_required`).
//! - `POST /supplier-changes/{id}/reject`: same roles, not the proposer.
//!
//! Every write records exactly one audit event in its transaction, with
//! masked account forms only.

use crate::routes::parse_uuid;
use crate::routes::suppliers::{account_json, change_json};
use crate::session::TenantSession;
use crate::suppliers::input::BankAccountIn;
use crate::suppliers::{ops, supplier_id};
use crate::{ApiJson, AppState, WebError};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use sentra_store::repo::bank_account;
use sentra_store::repo::supplier_change::{self, ChangeStatus};
use serde::Deserialize;
use serde_json::{Value, json};

/// Most changes one list returns.
pub const LIST_LIMIT: u32 = 500;

/// `POST /suppliers/{id}/bank-accounts`'s body: one account, by scheme.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProposeAccountIn {
    /// The account.
    pub bank_account: BankAccountIn,
}

/// `POST /api/v1/suppliers/{id}/bank-accounts`: proposes a new account.
/// 202: nothing is paid into it until another person approves.
pub async fn propose_account(
    State(state): State<AppState>,
    mut session: TenantSession,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ProposeAccountIn>,
) -> Result<(StatusCode, Json<Value>), WebError> {
    let id = supplier_id(&id)?;
    let (change, others) = ops::propose_account(
        &mut session.tx,
        &state.keys,
        session.user,
        session.role,
        id,
        &body.bank_account,
    )
    .await?;
    session.tx.commit().await?;
    let mut out = change_json(&change);
    if let Some(map) = out.as_object_mut() {
        map.insert("also_on_file_for".to_owned(), json!(others));
    }
    Ok((StatusCode::ACCEPTED, Json(out)))
}

/// `POST /suppliers/{id}/phone`'s body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProposePhoneIn {
    /// The number.
    pub verified_phone: String,
    /// Where it came from (never an email).
    pub phone_source: String,
}

/// `POST /api/v1/suppliers/{id}/phone`: proposes a new call-back number.
pub async fn propose_phone(
    mut session: TenantSession,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ProposePhoneIn>,
) -> Result<(StatusCode, Json<Value>), WebError> {
    let id = supplier_id(&id)?;
    let change = ops::propose_phone(
        &mut session.tx,
        session.user,
        session.role,
        id,
        &body.verified_phone,
        &body.phone_source,
    )
    .await?;
    session.tx.commit().await?;
    Ok((StatusCode::ACCEPTED, Json(change_json(&change))))
}

/// `GET /supplier-changes`'s query.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    /// `pending`, `approved` or `rejected`.
    pub status: Option<String>,
    /// Only this supplier's.
    pub supplier: Option<String>,
}

/// `GET /api/v1/supplier-changes`: changes, newest first.
pub async fn list(
    mut session: TenantSession,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<Value>>, WebError> {
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(ChangeStatus::parse(s).ok_or_else(|| {
            WebError::bad_request("invalid_query", "status is pending, approved or rejected")
        })?),
    };
    let supplier = match q.supplier.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        // An unknown or foreign supplier simply has no changes.
        Some(s) => Some(supplier_id(s)?),
    };
    let rows = supplier_change::list(&mut session.tx, status, supplier, LIST_LIMIT).await?;
    session.tx.commit().await?;
    Ok(Json(rows.iter().map(change_json).collect()))
}

/// `GET /api/v1/supplier-changes/{id}`: one change, with the proposed
/// account's current summary for bank changes.
pub async fn get(
    mut session: TenantSession,
    Path(id): Path<String>,
) -> Result<Json<Value>, WebError> {
    let change = supplier_change::get(&mut session.tx, parse_uuid(&id)?).await?;
    let account = match change.bank_account_id() {
        Some(a) => Some(bank_account::get(&mut session.tx, a).await?),
        None => None,
    };
    session.tx.commit().await?;
    let mut out = change_json(&change);
    if let (Some(map), Some(a)) = (out.as_object_mut(), account) {
        map.insert("bank_account".to_owned(), account_json(&a));
    }
    Ok(Json(out))
}

/// `POST /api/v1/supplier-changes/{id}/approve`: applies a pending change.
/// Needs an approver (not the proposer) with a fresh MFA step-up.
pub async fn approve(
    mut session: TenantSession,
    Path(id): Path<String>,
) -> Result<Json<Value>, WebError> {
    let id = parse_uuid(&id)?;
    let approved = ops::approve(
        &mut session.tx,
        session.user,
        session.role,
        session.mfa_at,
        id,
    )
    .await?;
    session.tx.commit().await?;
    let mut out = change_json(&approved.change);
    if let Some(map) = out.as_object_mut() {
        map.insert("retired".to_owned(), json!(approved.retired));
    }
    Ok(Json(out))
}

/// `POST /supplier-changes/{id}/reject`'s body.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RejectIn {
    /// Why.
    pub reason: Option<String>,
}

/// `POST /api/v1/supplier-changes/{id}/reject`: refuses a pending change;
/// a proposed account is retired unused.
pub async fn reject(
    mut session: TenantSession,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RejectIn>,
) -> Result<Json<Value>, WebError> {
    let id = parse_uuid(&id)?;
    let rejected = ops::reject(
        &mut session.tx,
        session.user,
        session.role,
        id,
        body.reason.as_deref(),
    )
    .await?;
    session.tx.commit().await?;
    Ok(Json(change_json(&rejected)))
}
