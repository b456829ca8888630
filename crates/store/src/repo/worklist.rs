//! Cases as people work them: each with its message's subject, sender and
//! recognised supplier, newest first, paged.

use crate::ids::{CaseId, MessageId};
use crate::repo::case::CaseStatus;
use crate::{StoreError, TenantTx};
use sentra_domain::RiskLevel;
use time::OffsetDateTime;

/// One case in a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRow {
    /// The case.
    pub id: CaseId,
    /// Its message.
    pub message_id: MessageId,
    /// Where it stands.
    pub status: CaseStatus,
    /// Risk when opened.
    pub risk_level: RiskLevel,
    /// When opened.
    pub created_at: OffsetDateTime,
    /// The message's subject.
    pub subject: Option<String>,
    /// The message's sender.
    pub from_address: Option<String>,
    /// The supplier the engine recognised.
    pub supplier: Option<String>,
}

/// Cases, newest first; `open_only` keeps `open` and `verifying`.
pub async fn cases(
    tx: &mut TenantTx,
    status: Option<CaseStatus>,
    open_only: bool,
    offset: u32,
    limit: u32,
) -> Result<Vec<CaseRow>, StoreError> {
    type Row = (
        uuid::Uuid,
        uuid::Uuid,
        String,
        String,
        OffsetDateTime,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "select c.id, c.message_id, c.status, c.risk_level, c.created_at, m.subject,
                m.from_address, a.extracted -> 'supplier' ->> 'name'
         from fraud_case c
         join message m on m.id = c.message_id
         left join assessment a on a.id = c.assessment_id
         where ($1::text is null or c.status = $1)
           and (not $2 or c.status in ('open', 'verifying'))
         order by c.created_at desc, c.id desc
         limit $3 offset $4",
    )
    .bind(status.map(CaseStatus::as_str))
    .bind(open_only)
    .bind(i64::from(limit.min(1000)))
    .bind(i64::from(offset))
    .fetch_all(tx.conn())
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(CaseRow {
                id: CaseId::from_uuid(r.0),
                message_id: MessageId::from_uuid(r.1),
                status: CaseStatus::parse(&r.2).ok_or(StoreError::Decode {
                    what: "fraud_case.status",
                })?,
                risk_level: RiskLevel::parse(&r.3).ok_or(StoreError::Decode {
                    what: "fraud_case.risk_level",
                })?,
                created_at: r.4,
                subject: r.5,
                from_address: r.6,
                supplier: r.7,
            })
        })
        .collect()
}

/// The sign-in addresses of `users` (for "performed by"), as `(id, email)`.
pub async fn user_emails(
    tx: &mut TenantTx,
    users: &[uuid::Uuid],
) -> Result<Vec<(uuid::Uuid, String)>, StoreError> {
    Ok(
        sqlx::query_as("select id, email from app_user where id = any($1)")
            .bind(users)
            .fetch_all(tx.conn())
            .await?,
    )
}
