//! The engine's verdicts: one per message and engine version, so analysing a
//! message again with the same engine changes nothing.

use crate::ids::{AssessmentId, MessageId};
use crate::{StoreError, TenantTx};
use sentra_domain::{Category, RiskLevel};
use time::OffsetDateTime;

/// A verdict to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAssessment {
    /// The message assessed.
    pub message_id: MessageId,
    /// The engine version that produced it.
    pub engine_version: String,
    /// What kind of message it is.
    pub category: Category,
    /// How risky.
    pub risk_level: RiskLevel,
    /// 0–100.
    pub risk_score: u8,
    /// The signals, as the engine's JSON array.
    pub signals: serde_json::Value,
    /// Extracted facts with account numbers masked, as a JSON object.
    pub extracted: serde_json::Value,
}

/// A stored verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    /// The id.
    pub id: AssessmentId,
    /// The verdict's content.
    pub verdict: NewAssessment,
    /// When it was stored.
    pub created_at: OffsetDateTime,
}

/// Stores a verdict, or returns the id of the one already stored for this
/// message and engine version. A message of another organisation is
/// [`StoreError::NotFound`]; a score over 100 is [`StoreError::Rejected`].
pub async fn insert(tx: &mut TenantTx, a: &NewAssessment) -> Result<AssessmentId, StoreError> {
    let new: Option<uuid::Uuid> = sqlx::query_scalar(
        "insert into assessment (org_id, message_id, engine_version, category, risk_level,
                                 risk_score, signals, extracted)
         values ($1, $2, $3, $4, $5, $6, $7, $8)
         on conflict (org_id, message_id, engine_version) do nothing
         returning id",
    )
    .bind(tx.org().as_uuid())
    .bind(a.message_id.as_uuid())
    .bind(&a.engine_version)
    .bind(a.category.as_str())
    .bind(a.risk_level.as_str())
    .bind(i16::from(a.risk_score))
    .bind(&a.signals)
    .bind(&a.extracted)
    .fetch_optional(tx.conn())
    .await
    .map_err(|e| super::reference(e.into(), "message"))?;
    if let Some(id) = new {
        return Ok(AssessmentId::from_uuid(id));
    }
    let existing: Option<uuid::Uuid> = sqlx::query_scalar(
        "select id from assessment where message_id = $1 and engine_version = $2",
    )
    .bind(a.message_id.as_uuid())
    .bind(&a.engine_version)
    .fetch_optional(tx.conn())
    .await?;
    Ok(AssessmentId::from_uuid(super::found(
        existing,
        "assessment",
    )?))
}

type Row = (
    uuid::Uuid,
    uuid::Uuid,
    String,
    String,
    String,
    i16,
    serde_json::Value,
    serde_json::Value,
    OffsetDateTime,
);

/// The newest verdict for a message, if it has been assessed.
pub async fn latest_for_message(
    tx: &mut TenantTx,
    message: MessageId,
) -> Result<Option<Assessment>, StoreError> {
    let row: Option<Row> = sqlx::query_as(
        "select id, message_id, engine_version, category, risk_level, risk_score, signals,
                extracted, created_at
         from assessment where message_id = $1
         order by created_at desc, id desc limit 1",
    )
    .bind(message.as_uuid())
    .fetch_optional(tx.conn())
    .await?;
    row.map(from_row).transpose()
}

fn from_row(row: Row) -> Result<Assessment, StoreError> {
    let (id, message, engine_version, category, level, score, signals, extracted, created_at) = row;
    Ok(Assessment {
        id: AssessmentId::from_uuid(id),
        verdict: NewAssessment {
            message_id: MessageId::from_uuid(message),
            engine_version,
            category: Category::parse(&category).ok_or(StoreError::Decode {
                what: "assessment.category",
            })?,
            risk_level: RiskLevel::parse(&level).ok_or(StoreError::Decode {
                what: "assessment.risk_level",
            })?,
            risk_score: u8::try_from(score).map_err(|_| StoreError::Decode {
                what: "assessment.risk_score",
            })?,
            signals,
            extracted,
        },
        created_at,
    })
}
