//! The state changes that both the JSON API and the pages perform, each
//! with its one audit event in the caller's transaction. Handlers on either
//! side parse their input (JSON or form), call one of these, and commit.

use crate::WebError;
use sentra_store::TenantTx;
use sentra_store::audit::{self, NewEvent};
use sentra_store::ids::{CaseId, MessageId};
use sentra_store::repo::case::{self, CaseStatus};
use sentra_store::repo::feedback::{self, Verdict};
use sentra_store::repo::invoice::{self, PaymentStatus};
use sentra_store::repo::verification::{self, NewVerification, Recorded};
use serde_json::json;

/// Longest phone number accepted (the column's limit).
pub const MAX_PHONE: usize = 40;
/// Longest note or comment accepted (the columns' limit).
pub const MAX_NOTE: usize = 4000;

/// `s` trimmed, `None` when blank, a 400 when over `max` characters.
pub fn bounded(s: Option<String>, max: usize, what: &str) -> Result<Option<String>, WebError> {
    let Some(s) = s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    if s.chars().count() > max {
        return Err(WebError::bad_request(
            "invalid_body",
            format!("{what} is longer than {max} characters"),
        ));
    }
    Ok(Some(s))
}

/// Records a call-back on a case (an open case moves to `verifying`).
pub async fn record_verification(
    tx: &mut TenantTx,
    id: CaseId,
    new: &NewVerification,
) -> Result<Recorded, WebError> {
    let recorded = verification::record(tx, id, new).await?;
    audit::append(
        tx,
        NewEvent::new("user", "case.verification")
            .target("case", id.to_string())
            .details(json!({
                "verification_id": recorded.id.to_string(),
                "outcome": new.outcome.as_str(),
                "from": recorded.from.as_str(),
                "to": recorded.to.as_str(),
            })),
    )
    .await?;
    Ok(recorded)
}

/// Closes a case as `to`; a move the lifecycle refuses is a 409 and writes
/// nothing. The note is kept in the audit event (cases have no note column).
pub async fn resolve_case(
    tx: &mut TenantTx,
    id: CaseId,
    to: CaseStatus,
    note: Option<String>,
) -> Result<(), WebError> {
    if !to.is_closed() {
        return Err(WebError::bad_request(
            "invalid_body",
            "a resolution is cleared, confirmed_fraud or dismissed",
        ));
    }
    let before = case::get(tx, id).await?;
    case::set_status(tx, id, to).await?;
    audit::append(
        tx,
        NewEvent::new("user", "case.resolve")
            .target("case", id.to_string())
            .details(json!({
                "from": before.status.as_str(),
                "to": to.as_str(),
                "note": note,
            })),
    )
    .await?;
    Ok(())
}

/// Releases (`verified`) or holds an invoice's payment; returns the
/// status before.
pub async fn set_payment(
    tx: &mut TenantTx,
    id: uuid::Uuid,
    to: PaymentStatus,
    note: Option<String>,
) -> Result<PaymentStatus, WebError> {
    let from = invoice::set_status(tx, id, to).await?;
    audit::append(
        tx,
        NewEvent::new("user", "invoice.payment_status")
            .target("invoice", id.to_string())
            .details(json!({ "from": from.as_str(), "to": to.as_str(), "note": note })),
    )
    .await?;
    Ok(from)
}

/// Records feedback on a message's verdict.
pub async fn record_feedback(
    tx: &mut TenantTx,
    message: MessageId,
    verdict: Verdict,
    comment: Option<String>,
) -> Result<uuid::Uuid, WebError> {
    let id = feedback::record(tx, message, verdict, comment.as_deref()).await?;
    audit::append(
        tx,
        NewEvent::new("user", "feedback.recorded")
            .target("message", message.to_string())
            .details(json!({ "feedback_id": id.to_string(), "verdict": verdict.as_str() })),
    )
    .await?;
    Ok(id)
}
