//! `POST /api/v1/invoices/{id}/payment`: release (`verified`) or hold an
//! invoice's payment, or put a held one back to `pending`. Audited as
//! `invoice.payment_status`.
//!
//! Roles: releasing money is for `owner`, `admin` and `approver`; any
//! member but a `viewer` may hold a payment (stopping money is always
//! allowed) or return it to pending. `paid` is set by the payment run, not
//! here.

use crate::routes::{parse_uuid, rfc3339};
use crate::session::TenantSession;
use crate::{ApiJson, WebError, actions};
use axum::Json;
use axum::extract::Path;
use sentra_domain::Role;
use sentra_store::repo::invoice::{self, Invoice, PaymentStatus};
use serde::Deserialize;
use serde_json::{Value, json};

/// The roles that may release a payment.
pub const RELEASE_ROLES: &[Role] = &[Role::Owner, Role::Admin, Role::Approver];

/// The body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentIn {
    /// `verified` (release), `held` or `pending`.
    pub status: String,
    /// Why (kept in the audit event).
    pub note: Option<String>,
}

/// An invoice as the API shows it.
pub fn invoice_json(i: &Invoice) -> Value {
    json!({
        "id": i.id.to_string(),
        "supplier": i.supplier_name,
        "message_id": i.message_id.map(|m| m.to_string()),
        "number": i.number,
        "amount_minor": i.amount_minor,
        "currency": i.currency,
        "due_date": i.due_date.map(|d| d.to_string()),
        "payment_status": i.status.as_str(),
        "updated_at": rfc3339(i.updated_at),
    })
}

/// Checks the role for moving to `to` and parses it.
pub fn payment_target(role: Role, status: &str) -> Result<PaymentStatus, WebError> {
    let Some(to @ (PaymentStatus::Verified | PaymentStatus::Held | PaymentStatus::Pending)) =
        PaymentStatus::parse(status)
    else {
        return Err(WebError::bad_request(
            "invalid_body",
            "status is verified, held or pending",
        ));
    };
    let allowed = match to {
        PaymentStatus::Verified => RELEASE_ROLES.contains(&role),
        _ => role != Role::Viewer,
    };
    if allowed {
        Ok(to)
    } else {
        Err(WebError::forbidden())
    }
}

/// `POST /api/v1/invoices/{id}/payment`: the invoice after the change; a
/// move from `paid` or to the same status is a 409.
pub async fn set_payment(
    mut session: TenantSession,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PaymentIn>,
) -> Result<Json<Value>, WebError> {
    let to = payment_target(session.role, &body.status)?;
    let id = parse_uuid(&id)?;
    let note = actions::bounded(body.note, actions::MAX_NOTE, "note")?;
    actions::set_payment(&mut session.tx, id, to, note).await?;
    let i = invoice::get(&mut session.tx, id).await?;
    session.tx.commit().await?;
    Ok(Json(invoice_json(&i)))
}
