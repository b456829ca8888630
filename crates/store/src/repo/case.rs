//! Fraud cases: at most one per message, opened idempotently, moved through
//! `open → verifying → cleared | confirmed_fraud | dismissed` by people.

use crate::ids::{AssessmentId, CaseId, MessageId};
use crate::{StoreError, TenantTx};
use sentra_domain::{RiskLevel, UserId};
use time::OffsetDateTime;

/// Where a case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaseStatus {
    /// Waiting for someone to look.
    Open,
    /// Someone is calling the supplier back on the number on file.
    Verifying,
    /// The call-back confirmed the request is genuine.
    Cleared,
    /// It was fraud; the payment was stopped.
    ConfirmedFraud,
    /// Not worth verifying (false alarm).
    Dismissed,
}

impl CaseStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [CaseStatus; 5] = [
        Self::Open,
        Self::Verifying,
        Self::Cleared,
        Self::ConfirmedFraud,
        Self::Dismissed,
    ];

    /// The stored spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Verifying => "verifying",
            Self::Cleared => "cleared",
            Self::ConfirmedFraud => "confirmed_fraud",
            Self::Dismissed => "dismissed",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Whether the case is finished.
    pub const fn is_closed(self) -> bool {
        matches!(self, Self::Cleared | Self::ConfirmedFraud | Self::Dismissed)
    }

    /// Whether a case may move from `self` to `to`. Clearing requires a
    /// verification step first: a payment request is never cleared straight
    /// from the inbox. Closed cases stay closed.
    pub const fn can_move_to(self, to: CaseStatus) -> bool {
        matches!(
            (self, to),
            (
                Self::Open,
                Self::Verifying | Self::ConfirmedFraud | Self::Dismissed
            ) | (
                Self::Verifying,
                Self::Open | Self::Cleared | Self::ConfirmedFraud | Self::Dismissed
            )
        )
    }
}

/// A stored case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// The id.
    pub id: CaseId,
    /// The message it is about.
    pub message_id: MessageId,
    /// The verdict that opened it.
    pub assessment_id: Option<AssessmentId>,
    /// Where it stands.
    pub status: CaseStatus,
    /// The risk when opened.
    pub risk_level: RiskLevel,
    /// Who closed it, when closed by a person.
    pub closed_by: Option<UserId>,
    /// When it was closed.
    pub closed_at: Option<OffsetDateTime>,
    /// When it was opened.
    pub created_at: OffsetDateTime,
}

/// What [`open_for_message`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opened {
    /// The message's case.
    pub id: CaseId,
    /// Whether this call created it (false: it already existed).
    pub created: bool,
}

/// Opens the case for a message, or returns the one it already has.
pub async fn open_for_message(
    tx: &mut TenantTx,
    message: MessageId,
    assessment: Option<AssessmentId>,
    risk_level: RiskLevel,
) -> Result<Opened, StoreError> {
    let new: Option<uuid::Uuid> = sqlx::query_scalar(
        "insert into fraud_case (org_id, message_id, assessment_id, risk_level)
         values ($1, $2, $3, $4)
         on conflict (org_id, message_id) do nothing
         returning id",
    )
    .bind(tx.org().as_uuid())
    .bind(message.as_uuid())
    .bind(assessment.map(|a| a.as_uuid()))
    .bind(risk_level.as_str())
    .fetch_optional(tx.conn())
    .await
    .map_err(|e| super::reference(e.into(), "message"))?;
    if let Some(id) = new {
        return Ok(Opened {
            id: CaseId::from_uuid(id),
            created: true,
        });
    }
    let existing: Option<uuid::Uuid> =
        sqlx::query_scalar("select id from fraud_case where message_id = $1")
            .bind(message.as_uuid())
            .fetch_optional(tx.conn())
            .await?;
    Ok(Opened {
        id: CaseId::from_uuid(super::found(existing, "case")?),
        created: false,
    })
}

type Row = (
    uuid::Uuid,
    uuid::Uuid,
    Option<uuid::Uuid>,
    String,
    String,
    Option<uuid::Uuid>,
    Option<OffsetDateTime>,
    OffsetDateTime,
);

fn from_row(row: Row) -> Result<Case, StoreError> {
    let (id, message, assessment, status, level, closed_by, closed_at, created_at) = row;
    Ok(Case {
        id: CaseId::from_uuid(id),
        message_id: MessageId::from_uuid(message),
        assessment_id: assessment.map(AssessmentId::from_uuid),
        status: CaseStatus::parse(&status).ok_or(StoreError::Decode {
            what: "fraud_case.status",
        })?,
        risk_level: RiskLevel::parse(&level).ok_or(StoreError::Decode {
            what: "fraud_case.risk_level",
        })?,
        closed_by: closed_by.map(UserId::from_uuid),
        closed_at,
        created_at,
    })
}

/// Loads one case.
pub async fn get(tx: &mut TenantTx, id: CaseId) -> Result<Case, StoreError> {
    let row: Option<Row> = sqlx::query_as(
        "select id, message_id, assessment_id, status, risk_level, closed_by, closed_at, created_at
         from fraud_case where id = $1",
    )
    .bind(id.as_uuid())
    .fetch_optional(tx.conn())
    .await?;
    from_row(super::found(row, "case")?)
}

/// The organisation's cases, newest first, optionally only those in `status`.
pub async fn list(tx: &mut TenantTx, status: Option<CaseStatus>) -> Result<Vec<Case>, StoreError> {
    let rows: Vec<Row> = sqlx::query_as(
        "select id, message_id, assessment_id, status, risk_level, closed_by, closed_at, created_at
         from fraud_case where ($1::text is null or status = $1)
         order by created_at desc, id",
    )
    .bind(status.map(CaseStatus::as_str))
    .fetch_all(tx.conn())
    .await?;
    rows.into_iter().map(from_row).collect()
}

/// Moves a case to `to`, recording who closed it (the transaction's user)
/// and when. A move the lifecycle does not allow is
/// [`StoreError::InvalidTransition`].
pub async fn set_status(tx: &mut TenantTx, id: CaseId, to: CaseStatus) -> Result<(), StoreError> {
    let current: Option<String> =
        sqlx::query_scalar("select status from fraud_case where id = $1 for update")
            .bind(id.as_uuid())
            .fetch_optional(tx.conn())
            .await?;
    let from = CaseStatus::parse(&super::found(current, "case")?).ok_or(StoreError::Decode {
        what: "fraud_case.status",
    })?;
    if !from.can_move_to(to) {
        return Err(StoreError::InvalidTransition {
            what: "case",
            from: from.as_str().to_owned(),
            to: to.as_str().to_owned(),
        });
    }
    let closing = to.is_closed();
    let closed_by = tx.user().filter(|_| closing).map(|u| u.as_uuid());
    sqlx::query(
        "update fraud_case
         set status = $2,
             closed_at = case when $3 then now() end,
             closed_by = $4
         where id = $1",
    )
    .bind(id.as_uuid())
    .bind(to.as_str())
    .bind(closing)
    .bind(closed_by)
    .execute(tx.conn())
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_case_is_never_cleared_without_verifying_first() {
        assert!(!CaseStatus::Open.can_move_to(CaseStatus::Cleared));
        assert!(CaseStatus::Open.can_move_to(CaseStatus::Verifying));
        assert!(CaseStatus::Verifying.can_move_to(CaseStatus::Cleared));
    }

    #[test]
    fn closed_cases_stay_closed() {
        for from in CaseStatus::ALL.into_iter().filter(|s| s.is_closed()) {
            for to in CaseStatus::ALL {
                assert!(!from.can_move_to(to), "{from:?} -> {to:?}");
            }
        }
    }

    #[test]
    fn statuses_round_trip_and_unknown_ones_do_not_parse() {
        for s in CaseStatus::ALL {
            assert_eq!(CaseStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(CaseStatus::parse("closed"), None);
    }
}
