//! Reading an organisation's chain for people: filtered, keyset-paged
//! listing (the audit page, `GET /api/v1/audit`, the CSV export) and the
//! chain check through the tenant transaction (`GET /api/v1/audit/verify`).

use super::{AuditEvent, VerifyReport};
use crate::{StoreError, TenantTx};
use time::OffsetDateTime;

/// Which events [`search`] returns; `None` matches all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Actions equal to this, or starting with it followed by `.`
    /// (`case` matches `case.resolve`).
    pub action: Option<String>,
    /// The `actor` text (`user`, `system:worker`) or the acting person's
    /// email address (case-insensitive).
    pub actor: Option<String>,
    /// At or after.
    pub from: Option<OffsetDateTime>,
    /// Before.
    pub to: Option<OffsetDateTime>,
}

/// Where a page starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    /// Newest first, `seq` below this (`i64::MAX` for the first page).
    Before(i64),
    /// Oldest first, `seq` above this (0 for the first page).
    After(i64),
}

/// An event with the acting person's email, when there is one.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedEvent {
    /// The event.
    pub event: AuditEvent,
    /// The acting person's sign-in address.
    pub actor_email: Option<String>,
}

type SearchRow = (
    uuid::Uuid,
    i64,
    uuid::Uuid,
    OffsetDateTime,
    Option<uuid::Uuid>,
    String,
    String,
    Option<String>,
    Option<String>,
    sqlx::types::Json<serde_json::Value>,
    Vec<u8>,
    Vec<u8>,
    Option<String>,
);

/// At most `limit` (capped at 1,000) events matching `filter` from `cursor`.
pub async fn search(
    tx: &mut TenantTx,
    filter: &AuditFilter,
    cursor: Cursor,
    limit: u32,
) -> Result<Vec<ListedEvent>, StoreError> {
    // Two fixed statements (no SQL built at run time): one per direction.
    macro_rules! search_sql {
        ($op:literal, $order:literal) => {
            concat!(
                "select e.org_id, e.seq, e.id, e.at, e.actor_user_id, e.actor, e.action,
                        e.target_type, e.target_id, e.details, e.prev_hash, e.hash, u.email
                 from audit_event e left join app_user u on u.id = e.actor_user_id
                 where e.org_id = $1 and e.seq ",
                $op,
                " $2
                   and ($3::text is null or e.action = $3 or e.action like ($3 || '.%'))
                   and ($4::text is null or e.actor = $4 or lower(u.email) = lower($4))
                   and ($5::timestamptz is null or e.at >= $5)
                   and ($6::timestamptz is null or e.at < $6)
                 order by e.seq ",
                $order,
                " limit $7"
            )
        };
    }
    let (sql, bound) = match cursor {
        Cursor::Before(seq) => (search_sql!("<", "desc"), seq),
        Cursor::After(seq) => (search_sql!(">", "asc"), seq),
    };
    let rows: Vec<SearchRow> = sqlx::query_as(sql)
        .bind(tx.org().as_uuid())
        .bind(bound)
        .bind(filter.action.as_deref())
        .bind(filter.actor.as_deref())
        .bind(filter.from)
        .bind(filter.to)
        .bind(i64::from(limit.min(1000)))
        .fetch_all(tx.conn())
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| ListedEvent {
            event: AuditEvent {
                org_id: r.0,
                seq: r.1,
                id: r.2,
                at: r.3,
                actor_user_id: r.4,
                actor: r.5,
                action: r.6,
                target_type: r.7,
                target_id: r.8,
                details: r.9,
                prev_hash: r.10,
                hash: r.11,
            },
            actor_email: r.12,
        })
        .collect())
}

/// The distinct actions recorded in the organisation, for the filter list.
pub async fn actions(tx: &mut TenantTx) -> Result<Vec<String>, StoreError> {
    Ok(
        sqlx::query_scalar("select distinct action from audit_event order by action limit 200")
            .fetch_all(tx.conn())
            .await?,
    )
}

/// Walks the transaction's organisation's chain as the app role sees it
/// (the same rules as [`super::verify`], which the CLI runs as the owner).
/// Events appended while it runs are simply checked too or not reached.
pub async fn verify_tenant(tx: &mut TenantTx) -> Result<VerifyReport, StoreError> {
    let org = tx.org();
    super::verify::verify_org(tx.conn(), org).await
}
