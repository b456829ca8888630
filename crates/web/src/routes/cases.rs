//! `/api/v1/cases`: the fraud cases submissions open, the call-backs people
//! record on them, and their resolution. Every write records one audit event
//! in the same transaction; the lifecycle itself (`open → verifying →
//! cleared | confirmed_fraud | dismissed`, never cleared without a
//! verification) is the store's, and a move it refuses is a 409.
//!
//! Any member but a `viewer` may write. Approver-only resolution is not
//! enforced yet.

use crate::actions::{self, MAX_NOTE, MAX_PHONE, bounded};
use crate::routes::messages::require_writer;
use crate::routes::{parse_uuid, rfc3339};
use crate::session::TenantSession;
use crate::{ApiJson, WebError};
use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use sentra_store::ids::CaseId;
use sentra_store::repo::case::{self, Case, CaseStatus};
use sentra_store::repo::verification::{self, NewVerification, Outcome, Verification};
use serde::Deserialize;
use serde_json::{Value, json};

fn case_json(c: &Case) -> Value {
    json!({
        "id": c.id.to_string(),
        "message_id": c.message_id.to_string(),
        "assessment_id": c.assessment_id.map(|a| a.to_string()),
        "status": c.status.as_str(),
        "risk_level": c.risk_level.as_str(),
        "closed_by": c.closed_by.map(|u| u.to_string()),
        "closed_at": c.closed_at.map(rfc3339),
        "created_at": rfc3339(c.created_at),
    })
}

fn verification_json(v: &Verification) -> Value {
    json!({
        "id": v.id.to_string(),
        "method": v.method,
        "phone_called": v.number_called,
        "outcome": v.outcome.as_str(),
        "note": v.notes,
        "performed_by": v.performed_by.to_string(),
        "performed_at": rfc3339(v.performed_at),
    })
}

fn case_id(s: &str) -> Result<CaseId, WebError> {
    Ok(CaseId::from_uuid(parse_uuid(s)?))
}

/// `GET /api/v1/cases`: every case, newest first.
pub async fn list(mut session: TenantSession) -> Result<Json<Vec<Value>>, WebError> {
    let rows = case::list(&mut session.tx, None).await?;
    session.tx.commit().await?;
    Ok(Json(rows.iter().map(case_json).collect()))
}

/// `GET /api/v1/cases/{id}`: one case with its verifications. Another
/// organisation's id is a 404 exactly like a missing one.
pub async fn get(
    mut session: TenantSession,
    Path(id): Path<String>,
) -> Result<Json<Value>, WebError> {
    let id = case_id(&id)?;
    let c = case::get(&mut session.tx, id).await?;
    let checks = verification::list_for_case(&mut session.tx, id).await?;
    session.tx.commit().await?;
    let mut out = case_json(&c);
    if let Some(map) = out.as_object_mut() {
        map.insert(
            "verifications".to_owned(),
            checks.iter().map(verification_json).collect(),
        );
    }
    Ok(Json(out))
}

/// What a call-back found, as the API spells it.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeIn {
    /// The supplier confirmed the request.
    ConfirmedGenuine,
    /// The supplier knows nothing of it.
    ConfirmedFraud,
    /// Nobody answered.
    NoAnswer,
    /// Anything else (stored as `inconclusive`).
    #[serde(alias = "inconclusive")]
    Other,
}

impl From<OutcomeIn> for Outcome {
    fn from(o: OutcomeIn) -> Self {
        match o {
            OutcomeIn::ConfirmedGenuine => Self::ConfirmedGenuine,
            OutcomeIn::ConfirmedFraud => Self::ConfirmedFraud,
            OutcomeIn::NoAnswer => Self::NoAnswer,
            OutcomeIn::Other => Self::Inconclusive,
        }
    }
}

/// `POST /api/v1/cases/{id}/verifications`'s body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerificationIn {
    /// The number dialled: the one on file, never one from the email.
    pub phone_called: Option<String>,
    /// What the call found.
    pub outcome: OutcomeIn,
    /// Free text.
    pub note: Option<String>,
}

/// `POST /api/v1/cases/{id}/verifications`: records who called whom and
/// what they heard; an open case moves to `verifying`.
pub async fn verify(
    mut session: TenantSession,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<VerificationIn>,
) -> Result<(StatusCode, Json<Value>), WebError> {
    require_writer(&session)?;
    let id = case_id(&id)?;
    let new = NewVerification {
        number_called: bounded(body.phone_called, MAX_PHONE, "phone_called")?,
        outcome: body.outcome.into(),
        notes: bounded(body.note, MAX_NOTE, "note")?,
    };
    let recorded = actions::record_verification(&mut session.tx, id, &new).await?;
    let c = case::get(&mut session.tx, id).await?;
    session.tx.commit().await?;
    let mut out = case_json(&c);
    if let Some(map) = out.as_object_mut() {
        map.insert("verification_id".to_owned(), json!(recorded.id.to_string()));
    }
    Ok((StatusCode::CREATED, Json(out)))
}

/// How a case ends.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// Verified genuine.
    Cleared,
    /// Fraud; the payment was stopped.
    ConfirmedFraud,
    /// A false alarm.
    Dismissed,
}

impl From<Resolution> for CaseStatus {
    fn from(r: Resolution) -> Self {
        match r {
            Resolution::Cleared => Self::Cleared,
            Resolution::ConfirmedFraud => Self::ConfirmedFraud,
            Resolution::Dismissed => Self::Dismissed,
        }
    }
}

/// `POST /api/v1/cases/{id}/resolve`'s body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolveIn {
    /// How it ends.
    pub resolution: Resolution,
    /// Why. Cases have no note column yet, so it is kept in the
    /// `case.resolve` audit event's details (at most 4,000 characters).
    pub note: Option<String>,
}

/// `POST /api/v1/cases/{id}/resolve`: closes a case. A move the lifecycle
/// refuses (clearing without a verification, anything on a closed case) is
/// a 409 and writes nothing.
pub async fn resolve(
    mut session: TenantSession,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ResolveIn>,
) -> Result<Json<Value>, WebError> {
    require_writer(&session)?;
    let id = case_id(&id)?;
    let note = bounded(body.note, MAX_NOTE, "note")?;
    actions::resolve_case(&mut session.tx, id, CaseStatus::from(body.resolution), note).await?;
    let c = case::get(&mut session.tx, id).await?;
    session.tx.commit().await?;
    Ok(Json(case_json(&c)))
}
