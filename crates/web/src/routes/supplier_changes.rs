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

use crate::routes::messages::require_writer;
use crate::routes::parse_uuid;
use crate::routes::suppliers::{account_json, change_json, invalid, phone_pair};
use crate::session::{TenantSession, require_step_up};
use crate::suppliers::input::BankAccountIn;
use crate::suppliers::{change_summary, supplier_id};
use crate::{ApiJson, AppState, WebError};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use sentra_domain::Role;
use sentra_store::StoreError;
use sentra_store::audit::{self, NewEvent};
use sentra_store::repo::supplier_change::{self, ChangeKind, ChangeStatus};
use sentra_store::repo::{bank_account, supplier};
use serde::Deserialize;
use serde_json::{Value, json};

/// Most changes one list returns.
pub const LIST_LIMIT: u32 = 500;
/// Longest rejection reason (the column's check).
const MAX_REASON: usize = 2000;

/// `POST /suppliers/{id}/bank-accounts`'s body: one account, by scheme.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProposeAccountIn {
    /// The account.
    pub bank_account: BankAccountIn,
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

/// `POST /api/v1/suppliers/{id}/bank-accounts`: proposes a new account.
/// 202: nothing is paid into it until another person approves.
pub async fn propose_account(
    State(state): State<AppState>,
    mut session: TenantSession,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ProposeAccountIn>,
) -> Result<(StatusCode, Json<Value>), WebError> {
    require_writer(&session)?;
    let id = supplier_id(&id)?;
    let account = body
        .bank_account
        .parse()
        .map_err(|e| invalid("bank_account", e))?;
    supplier::get(&mut session.tx, id).await?;
    let others: Vec<String> = bank_account::find_by_account(&mut session.tx, &state.keys, &account)
        .await?
        .into_iter()
        .filter(|(s, _)| *s != id)
        .map(|(s, _)| s.to_string())
        .collect();
    let change = supplier_change::propose_bank_account(
        &mut session.tx,
        &state.keys,
        id,
        &account,
        session.user,
    )
    .await
    .map_err(conflict_on_duplicate)?;
    audit::append(
        &mut session.tx,
        NewEvent::new("user", "supplier.change.propose")
            .target("supplier_change", change.id.to_string())
            .details(json!({
                "supplier_id": id.to_string(),
                "change": change_summary(&change),
                "also_on_file_for": others,
            })),
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
    require_writer(&session)?;
    let id = supplier_id(&id)?;
    let (phone, source) = phone_pair(Some(&body.verified_phone), Some(&body.phone_source))?
        .ok_or_else(|| invalid("verified_phone", "is empty"))?;
    supplier::get(&mut session.tx, id).await?;
    let change = supplier_change::propose_phone(
        &mut session.tx,
        id,
        &phone,
        source.as_deref(),
        session.user,
    )
    .await?;
    audit::append(
        &mut session.tx,
        NewEvent::new("user", "supplier.change.propose")
            .target("supplier_change", change.id.to_string())
            .details(json!({
                "supplier_id": id.to_string(),
                "change": change_summary(&change),
            })),
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

/// Refuses callers who may not decide `change`: wrong role (403
/// `forbidden`) or the proposer (403 `dual_control`).
fn may_decide(session: &TenantSession, proposed_by: sentra_domain::UserId) -> Result<(), WebError> {
    if !matches!(session.role, Role::Owner | Role::Admin | Role::Approver) {
        return Err(WebError::forbidden());
    }
    if proposed_by == session.user {
        return Err(WebError::Client {
            status: StatusCode::FORBIDDEN,
            code: "dual_control",
            message: "a change must be decided by someone other than its proposer".to_owned(),
        });
    }
    Ok(())
}

/// `POST /api/v1/supplier-changes/{id}/approve`: applies a pending change.
/// Needs an approver (not the proposer) with a fresh MFA step-up.
pub async fn approve(
    mut session: TenantSession,
    Path(id): Path<String>,
) -> Result<Json<Value>, WebError> {
    let id = parse_uuid(&id)?;
    let change = supplier_change::get(&mut session.tx, id).await?;
    may_decide(&session, change.proposed_by)?;
    require_step_up(session.mfa_at)?;
    let approved = supplier_change::approve(&mut session.tx, id, session.user).await?;
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
        &mut session.tx,
        NewEvent::new("user", "supplier.change.approve")
            .target("supplier_change", id.to_string())
            .details(details),
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
    let reason = body
        .reason
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    if reason
        .as_ref()
        .is_some_and(|r| r.chars().count() > MAX_REASON)
    {
        return Err(invalid(
            "reason",
            format!("longer than {MAX_REASON} characters"),
        ));
    }
    let change = supplier_change::get(&mut session.tx, id).await?;
    may_decide(&session, change.proposed_by)?;
    let rejected =
        supplier_change::reject(&mut session.tx, id, session.user, reason.as_deref()).await?;
    audit::append(
        &mut session.tx,
        NewEvent::new("user", "supplier.change.reject")
            .target("supplier_change", id.to_string())
            .details(json!({
                "supplier_id": change.supplier_id.to_string(),
                "change": change_summary(&rejected),
                "reason": reason,
            })),
    )
    .await?;
    session.tx.commit().await?;
    Ok(Json(change_json(&rejected)))
}
