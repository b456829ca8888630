//! The messages list, lean: only what the list page, the API list and the
//! dashboard's latest-flagged panel show, one typed row per message. The
//! full verdict (signals, every extracted fact) is
//! [`assessment::list_assessed_page`](super::assessment::list_assessed_page)'s.
//!
//! Both read each message's newest verdict through `message
//! .current_assessment_id` (kept by the database on every assessment insert,
//! migration 0100), and both build their SQL from the filters that are set:
//! each combination is its own prepared statement with no `$n is null or …`
//! branches, so Postgres' generic plan is as good as a custom one and it
//! stops planning the list on every request after the fifth execution on a
//! connection. The SQL text is only ever made of the constant fragments
//! below and the page's limit and offset as numbers; every other value is
//! bound.

use super::assessment::AssessedFilter;
use crate::ids::{CaseId, MessageId};
use crate::{StoreError, TenantTx};
use sentra_domain::{Category, RiskLevel};
use sqlx::{Postgres, QueryBuilder};
use time::OffsetDateTime;

/// The most rows one page returns.
pub const MAX_LIMIT: u32 = 1000;

/// One message as the lists show it.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedMessage {
    /// The message.
    pub id: MessageId,
    /// When it was received (or submitted).
    pub received_at: OffsetDateTime,
    /// The `From` address.
    pub from_address: Option<String>,
    /// The subject line.
    pub subject: Option<String>,
    /// The newest verdict's category.
    pub category: Category,
    /// The newest verdict's level.
    pub risk_level: RiskLevel,
    /// The newest verdict's score, 0–100.
    pub risk_score: u8,
    /// The supplier the engine recognised (`extracted.supplier`), if any.
    pub supplier: Option<serde_json::Value>,
    /// The message's case.
    pub case_id: Option<CaseId>,
}

impl ListedMessage {
    /// The recognised supplier's name, if the engine named one.
    pub fn supplier_name(&self) -> Option<&str> {
        self.supplier
            .as_ref()
            .and_then(|s| s.get("name"))
            .and_then(serde_json::Value::as_str)
    }
}

/// Pushes `from message m join assessment a … where … order by … limit …
/// offset …` for `filter`: the page of matching messages, newest received
/// first, before any case is looked up (joined before the limit, the planner
/// would visit the organisation's every case for each row).
pub(crate) fn push_page(
    q: &mut QueryBuilder<Postgres>,
    filter: &AssessedFilter,
    offset: u32,
    limit: u32,
) {
    q.push(
        " from message m
          join assessment a on a.org_id = m.org_id and a.id = m.current_assessment_id
          where m.current_assessment_id is not null",
    );
    if let Some(level) = filter.level {
        q.push(" and m.current_risk_level = ")
            .push_bind(level.as_str());
    }
    if let Some(min) = filter.min_level {
        let levels: Vec<&'static str> = RiskLevel::ALL
            .into_iter()
            .filter(|l| *l >= min)
            .map(RiskLevel::as_str)
            .collect();
        q.push(" and m.current_risk_level = any(")
            .push_bind(levels)
            .push(")");
    }
    if let Some(category) = filter.category {
        q.push(" and a.category = ").push_bind(category.as_str());
    }
    if let Some(supplier) = filter.supplier.as_deref() {
        q.push(" and lower(a.extracted -> 'supplier' ->> 'name') = lower(")
            .push_bind(supplier)
            .push(")");
    }
    if let Some(message) = filter.message {
        q.push(" and m.id = ").push_bind(message.as_uuid());
    }
    if let Some(from) = filter.received_from {
        q.push(" and m.received_at >= ").push_bind(from);
    }
    if let Some(to) = filter.received_to {
        q.push(" and m.received_at < ").push_bind(to);
    }
    // The limit and offset are written into the text as numbers (a `u32`
    // formats as digits only). Bound, their values are unknown to the
    // generic plan, which then guesses an offset of a tenth of the rows and
    // costs itself out of use: PostgreSQL planned the list afresh on every
    // execution (about 0.9 ms; executing it takes less). Without parameters
    // the unfiltered first page, the hot one, is planned once per
    // connection. Each page number is its own statement in the
    // connection's bounded statement cache.
    q.push(format_args!(
        " order by m.received_at desc, m.id desc limit {} offset {offset}",
        limit.min(MAX_LIMIT)
    ));
}

type Row = (
    uuid::Uuid,
    OffsetDateTime,
    Option<String>,
    Option<String>,
    String,
    String,
    i16,
    Option<serde_json::Value>,
    Option<uuid::Uuid>,
);

/// Assessed messages matching `filter`, newest received first, skipping
/// the first `offset`, at most `limit` (capped at [`MAX_LIMIT`]). Messages
/// never assessed are not listed.
pub async fn page(
    tx: &mut TenantTx,
    filter: &AssessedFilter,
    offset: u32,
    limit: u32,
) -> Result<Vec<ListedMessage>, StoreError> {
    let mut q = QueryBuilder::new(
        "select p.id, p.received_at, p.from_address, p.subject, p.category, p.risk_level,
                p.risk_score, p.supplier, c.id
         from (select m.id, m.received_at, m.from_address, m.subject, a.category,
                      a.risk_level, a.risk_score, a.extracted -> 'supplier' as supplier",
    );
    push_page(&mut q, filter, offset, limit);
    q.push(
        ") p
         left join fraud_case c on c.message_id = p.id
         order by p.received_at desc, p.id desc",
    );
    let rows: Vec<Row> = q.build_query_as().fetch_all(tx.conn()).await?;
    rows.into_iter().map(from_row).collect()
}

fn from_row(row: Row) -> Result<ListedMessage, StoreError> {
    let (id, received_at, from_address, subject, category, level, score, supplier, case) = row;
    let (category, risk_level, risk_score) =
        super::assessment::parse_verdict(&category, &level, score)?;
    Ok(ListedMessage {
        id: MessageId::from_uuid(id),
        received_at,
        from_address,
        subject,
        category,
        risk_level,
        risk_score,
        // `extracted` without a supplier, or with `"supplier": null`.
        supplier: supplier.filter(|s| !s.is_null()),
        case_id: case.map(CaseId::from_uuid),
    })
}
