//! The retention purge (security bar §6, UK GDPR storage limitation): what
//! each organisation's settings say may no longer be kept is removed, and
//! each organisation's purge is recorded in its audit chain.
//!
//! # What goes, per organisation (`org_settings`, or the defaults)
//!
//! | data | after | how |
//! |---|---|---|
//! | raw MIME of a message | `raw_email_days` (30) since receipt | `raw_mime` set to null, `raw_purged_at` set; the message row and its assessment (with the masked extracted facts) stay |
//! | the message itself | `messages_months` (24) since receipt | deleted with, by cascade, its assessments, its *closed* cases and their verifications and alerts; invoices and feedback keep their rows and lose the link |
//! | a message with an **open** case (`open`, `verifying`) | never while the case is open | kept and counted; it goes on the first run after the case closes |
//! | finished jobs (`done`, `cancelled`) | 30 days since their last change | deleted; queued, running and parked jobs are never purged |
//! | audit events | never | only counted against `audit_years` (7) and reported: the audit log must outlive what it covers, and deleting from it is what the chain exists to reveal |
//!
//! # Privilege, atomicity, idempotence
//!
//! The purge is one of the few uses of the owner pool (with migrations, key
//! rotation, audit verification and break-glass administration). The owner is subject to forced row-level
//! security too; the purge works one organisation per transaction with
//! `app.org_id` set, through owner policies (migration `0012`) that reach only
//! that organisation. Each organisation's deletions and its `retention.purge`
//! audit event (counts only, with the reason) commit together, so a crash
//! loses neither and a rerun resumes. A run that finds nothing to remove in
//! an organisation changes nothing there, audit log included, so running it
//! twice is a no-op the second time. The clock is a parameter: tests (and a
//! "what would go" preview) run it at any time.

use crate::audit::{self, NewEvent};
use crate::{OwnerPool, StoreError};
use sentra_domain::OrgId;
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

/// Days a finished (`done` or `cancelled`) job is kept.
pub const FINISHED_JOB_DAYS: i32 = 30;
/// `org_settings.raw_email_days` when an organisation has no settings row.
pub const DEFAULT_RAW_EMAIL_DAYS: i32 = 30;
/// `org_settings.messages_months` when an organisation has no settings row.
pub const DEFAULT_MESSAGES_MONTHS: i32 = 24;
/// `org_settings.audit_years` when an organisation has no settings row.
pub const DEFAULT_AUDIT_YEARS: i32 = 7;

/// What the purge did in one organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OrgPurge {
    /// Messages whose raw MIME was removed.
    pub raw_purged: u64,
    /// Messages deleted.
    pub messages_deleted: u64,
    /// Assessments deleted with them.
    pub assessments_deleted: u64,
    /// Closed cases deleted with them.
    pub cases_deleted: u64,
    /// Messages past `messages_months` kept because their case is open.
    pub messages_held_for_open_case: u64,
    /// Finished jobs deleted.
    pub jobs_deleted: u64,
    /// Audit events older than `audit_years` (reported, never deleted).
    pub audit_events_past_retention: u64,
    /// The `seq` of the `retention.purge` audit event, when one was written.
    pub audit_seq: Option<i64>,
}

impl OrgPurge {
    /// Whether anything was removed.
    pub fn removed_anything(&self) -> bool {
        self.raw_purged + self.messages_deleted + self.jobs_deleted > 0
    }
}

/// What one purge run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurgeReport {
    /// The clock the run used.
    pub as_of: OffsetDateTime,
    /// Per organisation, in id order.
    pub orgs: Vec<(OrgId, OrgPurge)>,
}

impl PurgeReport {
    /// Raw bodies, messages and jobs removed across organisations.
    pub fn total_removed(&self) -> u64 {
        self.orgs
            .iter()
            .map(|(_, p)| p.raw_purged + p.messages_deleted + p.jobs_deleted)
            .sum()
    }
}

/// Purges every organisation as of `now`.
pub async fn purge(pool: &OwnerPool, now: OffsetDateTime) -> Result<PurgeReport, StoreError> {
    let orgs: Vec<Uuid> = sqlx::query_scalar("select id from organisation order by id")
        .fetch_all(pool.pool())
        .await?;
    let mut report = PurgeReport {
        as_of: now,
        orgs: Vec::with_capacity(orgs.len()),
    };
    for org in orgs {
        let org = OrgId::from_uuid(org);
        report.orgs.push((org, purge_org(pool, org, now).await?));
    }
    Ok(report)
}

async fn purge_org(
    pool: &OwnerPool,
    org: OrgId,
    now: OffsetDateTime,
) -> Result<OrgPurge, StoreError> {
    let id = org.as_uuid();
    let mut tx = pool.pool().begin().await?;
    // month arithmetic on timestamptz follows the session time zone
    sqlx::query("select set_config('app.org_id', $1, true), set_config('timezone', 'UTC', true)")
        .bind(org.to_string())
        .execute(&mut *tx)
        .await?;
    let (raw_days, months, audit_years): (i32, i32, i32) = sqlx::query_as(
        "select coalesce(s.raw_email_days, $2), coalesce(s.messages_months, $3),
                coalesce(s.audit_years, $4)
         from (select 1) one left join org_settings s on s.org_id = $1",
    )
    .bind(id)
    .bind(DEFAULT_RAW_EMAIL_DAYS)
    .bind(DEFAULT_MESSAGES_MONTHS)
    .bind(DEFAULT_AUDIT_YEARS)
    .fetch_one(&mut *tx)
    .await?;

    // one statement, one snapshot: the counts are of what the delete removes
    let (messages, assessments, cases, held): (i64, i64, i64, i64) = sqlx::query_as(
        "with old as (
           select m.id,
                  exists (select 1 from fraud_case c
                          where c.org_id = m.org_id and c.message_id = m.id
                            and c.status in ('open', 'verifying')) as held
           from message m
           where m.org_id = $1 and m.received_at < $2 - make_interval(months => $3)
         ), doomed as (
           select id from old where not held
         ), gone as (
           delete from message m using doomed d where m.org_id = $1 and m.id = d.id
           returning 1
         )
         select (select count(*) from gone),
                (select count(*) from assessment a
                  where a.org_id = $1 and a.message_id in (select id from doomed)),
                (select count(*) from fraud_case c
                  where c.org_id = $1 and c.message_id in (select id from doomed)),
                (select count(*) from old where held)",
    )
    .bind(id)
    .bind(now)
    .bind(months)
    .fetch_one(&mut *tx)
    .await?;
    // after the deletions, so raw bodies of deleted messages are not counted twice
    let raw_purged = sqlx::query(
        "update message set raw_mime = null, raw_purged_at = $2
         where org_id = $1 and raw_mime is not null
           and received_at < $2 - make_interval(days => $3)",
    )
    .bind(id)
    .bind(now)
    .bind(raw_days)
    .execute(&mut *tx)
    .await?
    .rows_affected();

    let jobs_deleted = sqlx::query(
        "delete from job where org_id = $1 and status in ('done', 'cancelled')
           and updated_at < $2 - make_interval(days => $3)",
    )
    .bind(id)
    .bind(now)
    .bind(FINISHED_JOB_DAYS)
    .execute(&mut *tx)
    .await?
    .rows_affected();

    let past: i64 = sqlx::query_scalar(
        "select count(*) from audit_event
         where org_id = $1 and at < $2 - make_interval(years => $3)",
    )
    .bind(id)
    .bind(now)
    .bind(audit_years)
    .fetch_one(&mut *tx)
    .await?;
    let mut out = OrgPurge {
        raw_purged,
        messages_deleted: messages as u64,
        assessments_deleted: assessments as u64,
        cases_deleted: cases as u64,
        messages_held_for_open_case: held as u64,
        jobs_deleted,
        audit_events_past_retention: past as u64,
        audit_seq: None,
    };

    if out.removed_anything() {
        let event = NewEvent::new("system:retention", "retention.purge")
            .target("organisation", org.to_string())
            .details(json!({
                "reason": "scheduled retention purge (owner pool)",
                "as_of": audit::format_at(now)?,
                "raw_email_days": raw_days,
                "messages_months": months,
                "audit_years": audit_years,
                "raw_purged": out.raw_purged,
                "messages_deleted": out.messages_deleted,
                "assessments_deleted": out.assessments_deleted,
                "cases_deleted": out.cases_deleted,
                "messages_held_for_open_case": out.messages_held_for_open_case,
                "jobs_deleted": out.jobs_deleted,
                "audit_events_past_retention": out.audit_events_past_retention,
            }));
        let written = audit::append_on(&mut tx, org, None, event).await?;
        out.audit_seq = Some(written.seq);
    }
    tx.commit().await?;
    Ok(out)
}
