//! The dashboard's read-only summaries: open cases by risk, flagged
//! messages per week, mailbox health. Counts only; listing lives with each
//! aggregate.

use crate::{StoreError, TenantTx};
use sentra_domain::RiskLevel;
use sqlx::{Postgres, QueryBuilder};
use time::{Date, OffsetDateTime};

/// Open (`open` or `verifying`) cases at each risk level, most severe
/// first; levels without cases are left out.
pub async fn open_cases_by_risk(tx: &mut TenantTx) -> Result<Vec<(RiskLevel, i64)>, StoreError> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "select risk_level, count(*) from fraud_case
         where status in ('open', 'verifying') group by risk_level",
    )
    .fetch_all(tx.conn())
    .await?;
    let mut out = rows
        .into_iter()
        .map(|(level, n)| {
            RiskLevel::parse(&level)
                .map(|l| (l, n))
                .ok_or(StoreError::Decode {
                    what: "fraud_case.risk_level",
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    out.sort_by_key(|b| std::cmp::Reverse(b.0));
    Ok(out)
}

/// Messages whose newest verdict is at `min` or above, per ISO week (the
/// Monday it starts), for the `weeks` weeks up to and including this one,
/// oldest first; weeks without any are 0. One range scan of
/// `message_org_level_received_idx` (the newest verdict's level is kept on
/// the message, migration 0100).
pub async fn flagged_per_week(
    tx: &mut TenantTx,
    min: RiskLevel,
    weeks: u32,
) -> Result<Vec<(Date, i64)>, StoreError> {
    // The levels (lowercase words of `RiskLevel::as_str`) and the number of
    // weeks are written into the text, so the statement has no parameters
    // and PostgreSQL plans it once per connection. Bound, the generic plan
    // could not know the weeks' range and cost itself out of use: the count
    // was planned on every request, and planning (0.6 ms) cost twice the
    // execution.
    let levels: Vec<&str> = RiskLevel::ALL
        .into_iter()
        .filter(|l| *l >= min)
        .map(RiskLevel::as_str)
        .collect();
    let levels = levels.join("','");
    let weeks = weeks.clamp(1, 520);
    let mut q: QueryBuilder<Postgres> = QueryBuilder::new("");
    q.push(format_args!(
        "with weeks as (
           select (date_trunc('week', now() at time zone 'utc') - make_interval(weeks => n))::date as week
           from generate_series(0, {last}) n
         ), flagged as (
           select date_trunc('week', m.received_at at time zone 'utc')::date as week
           from message m
           where m.current_risk_level in ('{levels}')
             and m.received_at >= date_trunc('week', now() at time zone 'utc') at time zone 'utc'
                                  - make_interval(weeks => {last})
         )
         select w.week, count(f.week) from weeks w left join flagged f on f.week = w.week
         group by w.week order by w.week",
        last = weeks - 1
    ));
    Ok(q.build_query_as().fetch_all(tx.conn()).await?)
}

/// One mailbox's health.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxHealth {
    /// The address.
    pub address: String,
    /// `m365`, `imap`, …
    pub provider: String,
    /// `active`, `paused`, `error`, `disconnected`.
    pub status: String,
    /// The last successful sync.
    pub last_sync_at: Option<OffsetDateTime>,
    /// The last error, when there is one.
    pub last_error: Option<String>,
}

/// Every real mailbox (not the API submission pseudo-mailbox), by address.
pub async fn mailbox_health(tx: &mut TenantTx) -> Result<Vec<MailboxHealth>, StoreError> {
    type Row = (
        String,
        String,
        String,
        Option<OffsetDateTime>,
        Option<String>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "select address, provider, status, last_sync_at, last_error from mailbox
             where provider <> 'submission' order by address",
    )
    .fetch_all(tx.conn())
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(address, provider, status, last_sync_at, last_error)| MailboxHealth {
                address,
                provider,
                status,
                last_sync_at,
                last_error,
            },
        )
        .collect())
}
