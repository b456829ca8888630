//! The job queue: Postgres rows, claimed with `for update skip locked`
//! (security bar §5, style convention 12).
//!
//! # Guarantees
//!
//! - **Transactional enqueue.** [`enqueue`] runs in the caller's
//!   [`TenantTx`]: the job exists exactly when the write that caused it
//!   commits. A `dedupe_key` makes enqueueing idempotent while a job with
//!   that key is queued or running. It also wakes idle workers at commit
//!   ([`crate::wake`]).
//! - **At-least-once execution, exactly-once effects.** [`claim`] leases jobs
//!   across organisations (through the `app_claim_jobs` security-definer
//!   function, the one cross-tenant read) and counts the attempt *before*
//!   the body runs. The body runs in its own `TenantTx` for the job's org and
//!   calls [`complete`] in that same transaction, so the job's effects and its
//!   `done` status commit together or not at all. A worker killed at any
//!   point leaves either a committed job (nothing to redo) or an uncommitted
//!   one whose lease runs out and is claimed again.
//! - **No two runs commit.** [`complete`] succeeds only for the claim that is
//!   current (the job id *and* its attempt number): a worker whose lease ran
//!   out and whose job was claimed again gets [`StoreError::JobLost`] and must
//!   roll back. Calling [`complete`] first in the job's transaction also holds
//!   the job's row lock for the body, so a re-claim cannot even start while
//!   the first run is still alive.
//! - **Bounded retries.** [`fail`] puts the job back with exponential backoff
//!   ([`backoff`]) or parks it after `max_attempts`; a job whose lease runs
//!   out on its last attempt (it kills or hangs its worker) is parked by the
//!   next claim instead of being retried forever. Parked jobs are listed by
//!   [`list_parked`] and can be [`requeue`]d.

use crate::{AppPool, StoreError, TenantTx};
use sentra_domain::OrgId;
use sentra_domain::jobs::JobPayload;
use sqlx::types::Json;
use std::fmt;
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;

/// The longest wait between retries.
pub const MAX_BACKOFF: Duration = Duration::from_hours(1);
/// Attempts before a failing job is parked, unless the job says otherwise.
pub const DEFAULT_MAX_ATTEMPTS: i32 = 5;
/// `last_error` is cut to this many characters.
const MAX_ERROR_CHARS: usize = 2000;

/// A job's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(Uuid);

impl JobId {
    /// Wraps an existing UUID.
    pub const fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }
    /// The underlying UUID.
    pub const fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A job to enqueue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    /// The job type's unique name (`"sync_mailbox"`).
    pub kind: String,
    /// Its arguments: a JSON object of ids, never secrets.
    pub payload: serde_json::Value,
    /// While a job with this key is queued or running, enqueueing the key
    /// again returns that job instead of adding one.
    pub dedupe_key: Option<String>,
    /// Not before this time (`None`: now).
    pub run_at: Option<OffsetDateTime>,
    /// Attempts before the job is parked.
    pub max_attempts: i32,
}

impl NewJob {
    /// A job of `kind` with `payload`, due now, [`DEFAULT_MAX_ATTEMPTS`].
    pub fn new(kind: impl Into<String>, payload: serde_json::Value) -> Self {
        Self {
            kind: kind.into(),
            payload,
            dedupe_key: None,
            run_at: None,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
        }
    }

    /// Sets the dedupe key.
    #[must_use]
    pub fn dedupe_key(mut self, key: impl Into<String>) -> Self {
        self.dedupe_key = Some(key.into());
        self
    }

    /// Delays the job until `at`.
    #[must_use]
    pub fn run_at(mut self, at: OffsetDateTime) -> Self {
        self.run_at = Some(at);
        self
    }

    /// Sets the number of attempts before parking.
    #[must_use]
    pub fn max_attempts(mut self, n: i32) -> Self {
        self.max_attempts = n;
        self
    }
}

impl NewJob {
    /// The job for a typed payload: its kind, JSON, dedupe key and attempts.
    pub fn from_payload<P: JobPayload>(payload: &P) -> Result<Self, StoreError> {
        let json = serde_json::to_value(payload).map_err(|_| StoreError::Decode {
            what: "job.payload",
        })?;
        let mut job = Self::new(P::KIND, json).max_attempts(P::MAX_ATTEMPTS);
        job.dedupe_key = payload.dedupe_key();
        Ok(job)
    }
}

/// What [`enqueue`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enqueued {
    /// The job (new, or the live one with the same dedupe key).
    pub id: JobId,
    /// Whether a new job was added.
    pub created: bool,
}

/// A job leased to a worker by [`claim`].
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedJob {
    /// Its organisation: run the body in a `TenantTx` for it.
    pub org: OrgId,
    /// The job.
    pub id: JobId,
    /// Its type.
    pub kind: String,
    /// Its arguments.
    pub payload: serde_json::Value,
    /// This claim's attempt number (1 for the first run); with `id` it
    /// identifies the claim.
    pub attempts: i32,
    /// Attempts allowed.
    pub max_attempts: i32,
}

/// A stored job, as people and tests see it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct JobRecord {
    /// The job's id.
    pub id: Uuid,
    /// Its type.
    pub kind: String,
    /// Its arguments.
    pub payload: Json<serde_json::Value>,
    /// `queued`, `running`, `done`, `parked` or `cancelled`.
    pub status: String,
    /// Attempts so far.
    pub attempts: i32,
    /// Attempts allowed.
    pub max_attempts: i32,
    /// When it is next due.
    pub run_at: OffsetDateTime,
    /// The lease's end while running.
    pub locked_until: Option<OffsetDateTime>,
    /// The last worker to claim it.
    pub locked_by: Option<String>,
    /// The last failure's message.
    pub last_error: Option<String>,
    /// The dedupe key, if any.
    pub dedupe_key: Option<String>,
}

/// What [`fail`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOutcome {
    /// Queued again, due at `run_at`.
    Retry {
        /// When it is due again.
        run_at: OffsetDateTime,
    },
    /// Out of attempts: parked for a person to look at.
    Parked,
    /// The claim is no longer current (claimed again or cancelled); nothing
    /// was recorded.
    Stale,
}

/// The wait before retrying a job whose attempt number `attempts` failed:
/// 2^attempts seconds (2 s, 4 s, 8 s, …), at most [`MAX_BACKOFF`].
pub fn backoff(attempts: i32) -> Duration {
    let exp = attempts.clamp(0, 31) as u32;
    Duration::from_secs(2u64.saturating_pow(exp)).min(MAX_BACKOFF)
}

/// Adds `job` to `tx`'s organisation, committed with the caller's write. With
/// a dedupe key held by a live job, returns that job (`created: false`).
pub async fn enqueue(tx: &mut TenantTx, job: &NewJob) -> Result<Enqueued, StoreError> {
    let org = tx.org().as_uuid();
    let inserted: Option<Uuid> = sqlx::query_scalar(
        "insert into job (org_id, kind, payload, run_at, max_attempts, dedupe_key)
         values ($1, $2, $3, coalesce($4, now()), $5, $6)
         on conflict (org_id, dedupe_key)
           where dedupe_key is not null and status in ('queued', 'running')
         do nothing
         returning id",
    )
    .bind(org)
    .bind(&job.kind)
    .bind(Json(&job.payload))
    .bind(job.run_at)
    .bind(job.max_attempts)
    .bind(&job.dedupe_key)
    .fetch_optional(tx.conn())
    .await?;
    if let Some(id) = inserted {
        crate::wake::notify(tx.conn()).await?;
        return Ok(Enqueued {
            id: JobId(id),
            created: true,
        });
    }
    let existing: Uuid = sqlx::query_scalar(
        "select id from job
         where org_id = $1 and dedupe_key = $2 and status in ('queued', 'running')",
    )
    .bind(org)
    .bind(&job.dedupe_key)
    .fetch_one(tx.conn())
    .await?;
    Ok(Enqueued {
        id: JobId(existing),
        created: false,
    })
}

/// Enqueues a typed payload ([`NewJob::from_payload`]), optionally not
/// before `run_at`.
pub async fn enqueue_payload<P: JobPayload>(
    tx: &mut TenantTx,
    payload: &P,
    run_at: Option<OffsetDateTime>,
) -> Result<Enqueued, StoreError> {
    let mut job = NewJob::from_payload(payload)?;
    job.run_at = run_at;
    enqueue(tx, &job).await
}

/// Marks the organisation's *queued* job with `dedupe_key` done, in the
/// caller's transaction: the work it stood for was just done inline (the API
/// analysed a message itself), so the safety-net job need not run. A job
/// already running is left alone (skip locked): it will find the work done.
/// Returns whether a job was finished.
pub async fn finish_queued(tx: &mut TenantTx, dedupe_key: &str) -> Result<bool, StoreError> {
    let org = tx.org().as_uuid();
    // The locking lookup is a materialised CTE, joined on the primary key:
    // written as `id in (select … for update skip locked)` the planner made
    // it the inner side of a semi join and re-ran it for every job row of
    // the organisation, so each call cost (jobs × queued jobs) — 20–40 ms
    // per analysis with a backlog of 900 (graph_sync bench, auto_explain).
    let done = sqlx::query(
        "with target as materialized (
           select id from job
            where org_id = $1 and dedupe_key = $2 and status = 'queued'
            for update skip locked
         )
         update job set status = 'done', last_error = null
           from target where job.id = target.id",
    )
    .bind(org)
    .bind(dedupe_key)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Extends the lease of a running claim to `lease` from now, for a job that
/// is still working (the runner calls it periodically). Returns `false` when
/// the claim is no longer current (claimed again, cancelled, finished):
/// the caller should stop and roll back. Never waits: a job whose row is
/// locked by its own running transaction keeps its lease by that lock
/// (claims skip locked rows), so the extension is simply skipped then.
pub async fn extend_lease(
    pool: &AppPool,
    job: &ClaimedJob,
    lease: Duration,
) -> Result<bool, StoreError> {
    let mut tx = TenantTx::begin(pool, job.org, None).await?;
    let row: Option<(String, i32)> =
        sqlx::query_as("select status, attempts from job where id = $1 for update skip locked")
            .bind(job.id.as_uuid())
            .fetch_optional(tx.conn())
            .await?;
    let current = match row {
        // Locked: by the job's own transaction, which holds the claim.
        None => {
            let exists: Option<(String, i32)> =
                sqlx::query_as("select status, attempts from job where id = $1")
                    .bind(job.id.as_uuid())
                    .fetch_optional(tx.conn())
                    .await?;
            tx.commit().await?;
            return Ok(exists.is_some_and(|(s, a)| s == "running" && a == job.attempts));
        }
        Some((status, attempts)) => status == "running" && attempts == job.attempts,
    };
    if current {
        sqlx::query("update job set locked_until = now() + $2 where id = $1")
            .bind(job.id.as_uuid())
            .bind(lease)
            .execute(tx.conn())
            .await?;
    }
    tx.commit().await?;
    Ok(current)
}

/// Leases up to `n` due jobs (of any organisation) to `worker` for `lease`.
pub async fn claim(
    pool: &AppPool,
    worker: &str,
    lease: Duration,
    n: u32,
) -> Result<Vec<ClaimedJob>, StoreError> {
    let rows: Vec<(Uuid, Uuid, String, Json<serde_json::Value>, i32, i32)> = sqlx::query_as(
        "select org_id, id, kind, payload, attempts, max_attempts from app_claim_jobs($1, $2, $3)",
    )
    .bind(worker)
    .bind(lease)
    .bind(i32::try_from(n).unwrap_or(i32::MAX))
    .fetch_all(pool.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(org, id, kind, payload, attempts, max_attempts)| ClaimedJob {
                org: OrgId::from_uuid(org),
                id: JobId(id),
                kind,
                payload: payload.0,
                attempts,
                max_attempts,
            },
        )
        .collect())
}

/// Marks `job` done in `tx`, the transaction that holds the job's effects.
/// Fails with [`StoreError::JobLost`] when the claim is no longer current;
/// the caller must then roll back.
pub async fn complete(tx: &mut TenantTx, job: &ClaimedJob) -> Result<(), StoreError> {
    if tx.org() != job.org {
        return Err(StoreError::Forbidden);
    }
    let done = sqlx::query(
        "update job set status = 'done', locked_until = null, last_error = null
         where id = $1 and status = 'running' and attempts = $2",
    )
    .bind(job.id.as_uuid())
    .bind(job.attempts)
    .execute(tx.conn())
    .await?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(StoreError::JobLost)
    }
}

/// Records that this claim of `job` failed with `error` (which must not hold
/// secrets), in a transaction of its own: queued again after [`backoff`], or
/// parked when it has used its attempts.
pub async fn fail(
    pool: &AppPool,
    job: &ClaimedJob,
    error: &str,
) -> Result<FailOutcome, StoreError> {
    fail_after(pool, job, error, backoff(job.attempts)).await
}

/// [`fail`] with the caller's wait before the retry (the runner adds
/// jitter to [`backoff`], or honours a `Retry-After`).
pub async fn fail_after(
    pool: &AppPool,
    job: &ClaimedJob,
    error: &str,
    delay: Duration,
) -> Result<FailOutcome, StoreError> {
    let mut tx = TenantTx::begin(pool, job.org, None).await?;
    let row: Option<(String, OffsetDateTime)> = sqlx::query_as(
        "update job set
           status = case when attempts >= max_attempts then 'parked' else 'queued' end,
           run_at = case when attempts >= max_attempts then run_at else now() + $3 end,
           locked_until = null,
           last_error = $4
         where id = $1 and status = 'running' and attempts = $2
         returning status, run_at",
    )
    .bind(job.id.as_uuid())
    .bind(job.attempts)
    // Postgres intervals hold microseconds; sqlx refuses finer durations.
    .bind(Duration::from_micros(
        u64::try_from(delay.min(MAX_BACKOFF).as_micros()).unwrap_or(u64::MAX),
    ))
    .bind(truncate_chars(error, MAX_ERROR_CHARS))
    .fetch_optional(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(match row {
        None => FailOutcome::Stale,
        Some((status, _)) if status == "parked" => FailOutcome::Parked,
        Some((_, run_at)) => FailOutcome::Retry { run_at },
    })
}

/// The organisation's jobs of `kind` in `status`, oldest change first (for
/// operators and tests).
pub async fn list_kind(
    tx: &mut TenantTx,
    kind: &str,
    status: &str,
) -> Result<Vec<JobRecord>, StoreError> {
    let org = tx.org().as_uuid();
    Ok(sqlx::query_as(
        "select id, kind, payload, status, attempts, max_attempts, run_at, locked_until,
                locked_by, last_error, dedupe_key
         from job where org_id = $1 and kind = $2 and status = $3 order by updated_at, id",
    )
    .bind(org)
    .bind(kind)
    .bind(status)
    .fetch_all(tx.conn())
    .await?)
}

/// The organisation's parked jobs, oldest change first.
pub async fn list_parked(tx: &mut TenantTx) -> Result<Vec<JobRecord>, StoreError> {
    list_where(tx, "parked").await
}

/// One of the organisation's jobs, if it exists.
pub async fn get(tx: &mut TenantTx, id: JobId) -> Result<Option<JobRecord>, StoreError> {
    Ok(sqlx::query_as(
        "select id, kind, payload, status, attempts, max_attempts, run_at, locked_until,
                locked_by, last_error, dedupe_key
         from job where id = $1",
    )
    .bind(id.as_uuid())
    .fetch_optional(tx.conn())
    .await?)
}

async fn list_where(tx: &mut TenantTx, status: &str) -> Result<Vec<JobRecord>, StoreError> {
    let org = tx.org().as_uuid();
    Ok(sqlx::query_as(
        "select id, kind, payload, status, attempts, max_attempts, run_at, locked_until,
                locked_by, last_error, dedupe_key
         from job where org_id = $1 and status = $2 order by updated_at, id",
    )
    .bind(org)
    .bind(status)
    .fetch_all(tx.conn())
    .await?)
}

/// Cancels the organisation's queued, running and parked jobs of `kind`
/// whose payload contains `payload_contains` (JSON containment, `@>`), or
/// all of that kind when `None`. A running job's worker then gets
/// [`StoreError::JobLost`] from [`complete`] and its effects roll back.
/// Returns how many were cancelled.
pub async fn cancel_for(
    tx: &mut TenantTx,
    kind: &str,
    payload_contains: Option<&serde_json::Value>,
) -> Result<u64, StoreError> {
    let org = tx.org().as_uuid();
    let done = sqlx::query(
        "update job set status = 'cancelled', locked_until = null
         where org_id = $1 and kind = $2 and status in ('queued', 'running', 'parked')
           and ($3::jsonb is null or payload @> $3::jsonb)",
    )
    .bind(org)
    .bind(kind)
    .bind(payload_contains.map(Json))
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected())
}

/// Lets go of a running claim's dedupe key, so that enqueueing the key again
/// adds a new job instead of returning this one. For jobs that stand for
/// "look again" (a notification's mailbox sync): once a run has started
/// looking, an event after that must cause another look, not merge into a
/// run that may already have looked. Returns whether the claim was current.
pub async fn release_dedupe_key(pool: &AppPool, job: &ClaimedJob) -> Result<bool, StoreError> {
    let mut tx = TenantTx::begin(pool, job.org, None).await?;
    let done = sqlx::query(
        "update job set dedupe_key = null
         where id = $1 and status = 'running' and attempts = $2 and dedupe_key is not null",
    )
    .bind(job.id.as_uuid())
    .bind(job.attempts)
    .execute(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(done.rows_affected() == 1)
}

/// Puts a running claim back, due after `delay` (capped at [`MAX_BACKOFF`]),
/// with the attempt it was charged returned: the job did not fail, it found
/// it must not start yet (Graph's `Retry-After`, persisted by an earlier
/// run), or the worker was asked to stop before it started (`delay` zero).
/// Keeps its dedupe key and `last_error`. Returns whether the claim was
/// current.
pub async fn defer(pool: &AppPool, job: &ClaimedJob, delay: Duration) -> Result<bool, StoreError> {
    let mut tx = TenantTx::begin(pool, job.org, None).await?;
    let done = sqlx::query(
        "update job set status = 'queued', attempts = attempts - 1, run_at = now() + $3,
                        locked_until = null, locked_by = null
         where id = $1 and status = 'running' and attempts = $2",
    )
    .bind(job.id.as_uuid())
    .bind(job.attempts)
    .bind(Duration::from_micros(
        u64::try_from(delay.min(MAX_BACKOFF).as_micros()).unwrap_or(u64::MAX),
    ))
    .execute(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(done.rows_affected() == 1)
}

/// The organisation's queued and running jobs of `kind` whose payload
/// contains `payload_contains` (JSON containment, `@>`), except `except`:
/// for kinds that schedule their own successor and so cannot hold one
/// dedupe key (a periodic job checks, under a lock of its subject, that no
/// other run is live before adding the next).
pub async fn live_ids(
    tx: &mut TenantTx,
    kind: &str,
    payload_contains: &serde_json::Value,
    except: Option<JobId>,
) -> Result<Vec<JobId>, StoreError> {
    let org = tx.org().as_uuid();
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "select id from job
         where org_id = $1 and kind = $2 and status in ('queued', 'running')
           and payload @> $3::jsonb and ($4::uuid is null or id <> $4)
         order by run_at, id",
    )
    .bind(org)
    .bind(kind)
    .bind(Json(payload_contains))
    .bind(except.map(|j| j.0))
    .fetch_all(tx.conn())
    .await?;
    Ok(ids.into_iter().map(JobId).collect())
}

/// Puts a parked job back in the queue with fresh attempts, due now.
/// Returns whether a parked job was found.
pub async fn requeue(tx: &mut TenantTx, id: JobId) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "update job set status = 'queued', attempts = 0, run_at = now()
         where id = $1 and status = 'parked'",
    )
    .bind(id.as_uuid())
    .execute(tx.conn())
    .await?;
    if done.rows_affected() == 1 {
        crate::wake::notify(tx.conn()).await?;
    }
    Ok(done.rows_affected() == 1)
}

fn truncate_chars(s: &str, max: usize) -> &str {
    s.char_indices().nth(max).map_or(s, |(i, _)| &s[..i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_two_seconds_and_stops_at_an_hour() {
        let secs: Vec<u64> = (1..=13).map(|a| backoff(a).as_secs()).collect();
        assert_eq!(
            secs,
            [2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 3600, 3600]
        );
        assert_eq!(backoff(-3), Duration::from_secs(1));
        assert_eq!(backoff(i32::MAX), MAX_BACKOFF);
    }

    #[test]
    fn errors_are_cut_on_a_character_boundary() {
        assert_eq!(truncate_chars("ééé", 2), "éé");
        assert_eq!(truncate_chars("ab", 5), "ab");
    }
}
