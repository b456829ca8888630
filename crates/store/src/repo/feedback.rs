//! People's feedback on a verdict ("this was right", "false alarm"): kept
//! to measure and tune the engine.

use crate::ids::MessageId;
use crate::{StoreError, TenantTx};

/// What the person thinks of the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The verdict was right.
    Correct,
    /// Flagged, but harmless.
    FalsePositive,
    /// Not flagged, but should have been.
    FalseNegative,
    /// Something else (see the comment).
    Other,
}

impl Verdict {
    /// Every verdict.
    pub const ALL: [Verdict; 4] = [
        Self::Correct,
        Self::FalsePositive,
        Self::FalseNegative,
        Self::Other,
    ];

    /// The stored spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Correct => "correct",
            Self::FalsePositive => "false_positive",
            Self::FalseNegative => "false_negative",
            Self::Other => "other",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// Records feedback on `message` (and its newest verdict) by the
/// transaction's user. A message of another organisation is
/// [`StoreError::NotFound`]; a comment over 4,000 characters is
/// [`StoreError::Rejected`].
pub async fn record(
    tx: &mut TenantTx,
    message: MessageId,
    verdict: Verdict,
    comment: Option<&str>,
) -> Result<uuid::Uuid, StoreError> {
    let id: Option<uuid::Uuid> = sqlx::query_scalar(
        "insert into feedback (org_id, message_id, assessment_id, user_id, verdict, comment)
         select $1, m.id,
                (select a.id from assessment a where a.message_id = m.id
                 order by a.created_at desc, a.id desc limit 1),
                $3, $4, $5
         from message m where m.id = $2
         returning id",
    )
    .bind(tx.org().as_uuid())
    .bind(message.as_uuid())
    .bind(tx.user().map(|u| u.as_uuid()))
    .bind(verdict.as_str())
    .bind(comment)
    .fetch_optional(tx.conn())
    .await?;
    super::found(id, "message")
}

/// How many feedback entries a message has, by verdict.
pub async fn counts_for_message(
    tx: &mut TenantTx,
    message: MessageId,
) -> Result<Vec<(String, i64)>, StoreError> {
    Ok(sqlx::query_as(
        "select verdict, count(*) from feedback where message_id = $1
         group by verdict order by verdict",
    )
    .bind(message.as_uuid())
    .fetch_all(tx.conn())
    .await?)
}
