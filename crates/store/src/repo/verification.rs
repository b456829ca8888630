//! Verifications: the call-backs (on the number on file, never one from the
//! email) that people record while working a case. Recording one on an open
//! case moves it to `verifying`; a closed case takes no more.

use crate::ids::{CaseId, VerificationId};
use crate::repo::case::{self, CaseStatus};
use crate::{StoreError, TenantTx};
use sentra_domain::UserId;
use time::OffsetDateTime;

/// What the check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The supplier confirmed the request is theirs.
    ConfirmedGenuine,
    /// The supplier knows nothing of it: fraud.
    ConfirmedFraud,
    /// Nobody answered.
    NoAnswer,
    /// Anything else.
    Inconclusive,
}

impl Outcome {
    /// Every outcome.
    pub const ALL: [Outcome; 4] = [
        Self::ConfirmedGenuine,
        Self::ConfirmedFraud,
        Self::NoAnswer,
        Self::Inconclusive,
    ];

    /// The stored spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ConfirmedGenuine => "confirmed_genuine",
            Self::ConfirmedFraud => "confirmed_fraud",
            Self::NoAnswer => "no_answer",
            Self::Inconclusive => "inconclusive",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

/// A call-back to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVerification {
    /// The number dialled (at most 40 characters).
    pub number_called: Option<String>,
    /// What it found.
    pub outcome: Outcome,
    /// Free text (at most 4,000 characters).
    pub notes: Option<String>,
}

/// A recorded verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// The id.
    pub id: VerificationId,
    /// The case.
    pub case_id: CaseId,
    /// `call_back`, `in_person` or `other`.
    pub method: String,
    /// The number dialled.
    pub number_called: Option<String>,
    /// What it found.
    pub outcome: Outcome,
    /// Free text.
    pub notes: Option<String>,
    /// Who performed it.
    pub performed_by: UserId,
    /// When.
    pub performed_at: OffsetDateTime,
}

/// What [`record`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    /// The new verification.
    pub id: VerificationId,
    /// The case's status before.
    pub from: CaseStatus,
    /// The case's status now.
    pub to: CaseStatus,
}

/// Records a call-back on `case_id` by the transaction's user, moving an
/// open case to `verifying`. A closed case is
/// [`StoreError::InvalidTransition`]; a transaction without a user is
/// [`StoreError::Forbidden`] (a verification is always someone's).
pub async fn record(
    tx: &mut TenantTx,
    case_id: CaseId,
    v: &NewVerification,
) -> Result<Recorded, StoreError> {
    let user = tx.user().ok_or(StoreError::Forbidden)?;
    let current: Option<String> =
        sqlx::query_scalar("select status from fraud_case where id = $1 for update")
            .bind(case_id.as_uuid())
            .fetch_optional(tx.conn())
            .await?;
    let from = CaseStatus::parse(&super::found(current, "case")?).ok_or(StoreError::Decode {
        what: "fraud_case.status",
    })?;
    if from.is_closed() {
        return Err(StoreError::InvalidTransition {
            what: "case",
            from: from.as_str().to_owned(),
            to: CaseStatus::Verifying.as_str().to_owned(),
        });
    }
    let id: uuid::Uuid = sqlx::query_scalar(
        "insert into verification (org_id, case_id, method, number_called, outcome, notes,
                                   performed_by)
         values ($1, $2, 'call_back', $3, $4, $5, $6)
         returning id",
    )
    .bind(tx.org().as_uuid())
    .bind(case_id.as_uuid())
    .bind(v.number_called.as_deref())
    .bind(v.outcome.as_str())
    .bind(v.notes.as_deref())
    .bind(user.as_uuid())
    .fetch_one(tx.conn())
    .await
    .map_err(|e| super::reference(e.into(), "case"))?;
    let to = if from == CaseStatus::Open {
        case::set_status(tx, case_id, CaseStatus::Verifying).await?;
        CaseStatus::Verifying
    } else {
        from
    };
    Ok(Recorded {
        id: VerificationId::from_uuid(id),
        from,
        to,
    })
}

type Row = (
    uuid::Uuid,
    uuid::Uuid,
    String,
    Option<String>,
    String,
    Option<String>,
    uuid::Uuid,
    OffsetDateTime,
);

/// A case's verifications, oldest first.
pub async fn list_for_case(
    tx: &mut TenantTx,
    case_id: CaseId,
) -> Result<Vec<Verification>, StoreError> {
    let rows: Vec<Row> = sqlx::query_as(
        "select id, case_id, method, number_called, outcome, notes, performed_by, performed_at
         from verification where case_id = $1 order by performed_at, id",
    )
    .bind(case_id.as_uuid())
    .fetch_all(tx.conn())
    .await?;
    rows.into_iter()
        .map(|(id, case, method, number, outcome, notes, by, at)| {
            Ok(Verification {
                id: VerificationId::from_uuid(id),
                case_id: CaseId::from_uuid(case),
                method,
                number_called: number,
                outcome: Outcome::parse(&outcome).ok_or(StoreError::Decode {
                    what: "verification.outcome",
                })?,
                notes,
                performed_by: UserId::from_uuid(by),
                performed_at: at,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_round_trip_and_unknown_ones_do_not_parse() {
        for o in Outcome::ALL {
            assert_eq!(Outcome::parse(o.as_str()), Some(o));
        }
        assert_eq!(Outcome::parse("other"), None);
    }
}
