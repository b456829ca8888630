//! The job runner: claims due jobs from the Postgres queue, runs each with
//! its registered handler under a concurrency limit, keeps long jobs' leases
//! alive, retries failures with exponential backoff and jitter, parks jobs
//! that used their attempts (with `last_error` visible), and on shutdown
//! stops claiming and lets the jobs in flight finish.
//!
//! # One run of one job
//!
//! The handler runs in a [`TenantTx`] of the job's organisation; the runner
//! then calls [`queue::complete`] in that transaction and commits, so the
//! job's effects and its `done` status commit together. `complete` checks
//! that the claim is still current: a run whose lease ran out and whose job
//! was claimed again rolls back instead of committing twice. While the
//! handler runs, a heartbeat extends the lease every third of it, so a long
//! job is not claimed again; a worker that dies stops the heartbeat, the
//! lease runs out and another worker takes the job. A pooled handler
//! ([`crate::registry::PooledHandler`]) does its work before that
//! transaction opens, committing as it goes.
//!
//! # Waking up
//!
//! An idle runner waits for whichever comes first: a job enqueued anywhere
//! (a [`JobListener`] notification, sent at the enqueue's commit), one of its
//! own jobs finishing (a free slot, and often a follow-up job), shutdown, or
//! the `idle_poll` safety net. Without the wake-up every hop of a pipeline
//! (notification → sync → analyse → alert) waited up to a poll interval. The
//! listener holds one pool connection; when it breaks the runner logs it,
//! keeps polling and reconnects with backoff.

use crate::Registry;
use futures_util::FutureExt;
use sentra_store::queue::{self, ClaimedJob, FailOutcome};
use sentra_store::wake::JobListener;
use sentra_store::{AppPool, StoreError, TenantTx};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;

/// How the runner behaves.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// This worker's name in `job.locked_by` (host and pid).
    pub name: String,
    /// Jobs run at once.
    pub concurrency: usize,
    /// How long a claim lasts without a heartbeat.
    pub lease: Duration,
    /// The wait between polls when the queue is empty and nothing woke the
    /// runner (the safety net behind the enqueue notifications).
    pub idle_poll: Duration,
    /// How long shutdown waits for the jobs in flight.
    pub shutdown_grace: Duration,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            name: format!("worker-{}", std::process::id()),
            concurrency: 8,
            lease: Duration::from_mins(1),
            idle_poll: Duration::from_secs(1),
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// What a runner did, for logs and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunStats {
    /// Jobs completed.
    pub done: u64,
    /// Failed runs put back with backoff.
    pub retried: u64,
    /// Jobs parked after their last attempt.
    pub parked: u64,
    /// Runs whose claim was lost (taken over or cancelled) and rolled back.
    pub lost: u64,
    /// Runs that found they must wait and were put back without spending
    /// an attempt ([`crate::JobError::defer`]).
    pub deferred: u64,
}

/// The runner.
#[derive(Debug, Clone)]
pub struct Runner {
    pool: AppPool,
    registry: Arc<Registry>,
    config: RunnerConfig,
}

/// The wait before retrying after failed attempt `attempts`: the queue's
/// exponential [`queue::backoff`], scaled by a random factor in [0.5, 1.5)
/// so that jobs that failed together (a webhook down) do not all retry in
/// the same second.
pub fn jittered_backoff(attempts: i32) -> Duration {
    let base = queue::backoff(attempts);
    let mut bytes = [0u8; 4];
    let r = if getrandom::fill(&mut bytes).is_ok() {
        f64::from(u32::from_le_bytes(bytes)) / f64::from(u32::MAX)
    } else {
        0.5
    };
    base.mul_f64(0.5 + r)
}

enum Outcome {
    Done,
    Retried,
    Parked,
    Lost,
    Deferred,
}

impl Runner {
    /// A runner for `registry`'s kinds on `pool`.
    pub fn new(pool: AppPool, registry: Registry, config: RunnerConfig) -> Self {
        Self {
            pool,
            registry: Arc::new(registry),
            config,
        }
    }

    /// Runs until `shutdown` resolves, then stops claiming and waits (up to
    /// the grace period) for the jobs in flight.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) -> RunStats {
        tokio::pin!(shutdown);
        let permits = Arc::new(Semaphore::new(self.config.concurrency.max(1)));
        let mut tasks: JoinSet<Outcome> = JoinSet::new();
        let mut stats = RunStats::default();
        let wake = Arc::new(Notify::new());
        let _listener = AbortOnDrop(tokio::spawn(listen_for_jobs(
            self.pool.clone(),
            wake.clone(),
        )));
        loop {
            while let Some(res) = tasks.try_join_next() {
                tally(&mut stats, res);
            }
            if (&mut shutdown).now_or_never().is_some() {
                break;
            }
            let free = permits.available_permits();
            if free == 0 {
                tokio::select! {
                    () = &mut shutdown => break,
                    Some(res) = tasks.join_next() => tally(&mut stats, res),
                }
                continue;
            }
            let claimed = match queue::claim(
                &self.pool,
                &self.config.name,
                self.config.lease,
                u32::try_from(free).unwrap_or(1),
            )
            .await
            {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "claiming jobs failed; retrying");
                    Vec::new()
                }
            };
            // Shutdown may have been asked for while the claim was in flight:
            // what it returned has not started, so it goes back, due now, with
            // its attempt returned.
            if !claimed.is_empty() && (&mut shutdown).now_or_never().is_some() {
                for job in &claimed {
                    if let Err(e) = queue::defer(&self.pool, job, Duration::ZERO).await {
                        tracing::warn!(error = %e, job = %job.id, "handing back a claim failed; its lease will free it");
                    }
                }
                break;
            }
            if claimed.is_empty() {
                tokio::select! {
                    // Shutdown first: once asked to stop, claim nothing more.
                    biased;
                    () = &mut shutdown => break,
                    () = wake.notified() => {}
                    Some(res) = tasks.join_next() => tally(&mut stats, res),
                    () = tokio::time::sleep(self.config.idle_poll) => {}
                }
                continue;
            }
            for job in claimed {
                let Ok(permit) = permits.clone().acquire_owned().await else {
                    break;
                };
                let this = self.clone();
                tasks.spawn(async move {
                    let out = this.run_one(job).await;
                    drop(permit);
                    out
                });
            }
        }
        let drain = async {
            while let Some(res) = tasks.join_next().await {
                tally(&mut stats, res);
            }
        };
        if tokio::time::timeout(self.config.shutdown_grace, drain)
            .await
            .is_err()
        {
            tracing::warn!("shutdown grace ran out; unfinished jobs will be claimed again");
        }
        stats
    }

    /// Claims and runs jobs until none is due, one at a time (tests and
    /// `sentra dev`): what `run` would do, without the polling loop.
    pub async fn drain(&self) -> RunStats {
        let mut stats = RunStats::default();
        loop {
            let claimed = queue::claim(&self.pool, &self.config.name, self.config.lease, 1)
                .await
                .unwrap_or_default();
            let Some(job) = claimed.into_iter().next() else {
                return stats;
            };
            tally(&mut stats, Ok(self.run_one(job).await));
        }
    }

    async fn run_one(&self, job: ClaimedJob) -> Outcome {
        let span =
            tracing::info_span!("job", kind = %job.kind, id = %job.id, attempt = job.attempts);
        let _enter = span.enter();
        // Aborted when this run ends or is dropped (a runner task that is
        // aborted must not keep extending a lease nobody works under).
        let heartbeat = AbortOnDrop(self.heartbeat(&job));
        let result = self.attempt(&job).await;
        drop(heartbeat);
        match result {
            Ok(()) => Outcome::Done,
            Err(Failure::Lost) => Outcome::Lost,
            Err(Failure::Job(e)) if e.defer => self.defer(&job, &e).await,
            Err(Failure::Job(e)) => self.record_failure(&job, &e).await,
        }
    }

    /// Extends the lease every third of it until aborted.
    fn heartbeat(&self, job: &ClaimedJob) -> tokio::task::JoinHandle<()> {
        let pool = self.pool.clone();
        let job = job.clone();
        let lease = self.config.lease;
        tokio::spawn(async move {
            let every = lease / 3;
            loop {
                tokio::time::sleep(every).await;
                match queue::extend_lease(&pool, &job, lease).await {
                    Ok(true) => {}
                    Ok(false) => return,
                    Err(e) => tracing::warn!(error = %e, "extending a lease failed"),
                }
            }
        })
    }

    async fn attempt(&self, job: &ClaimedJob) -> Result<(), Failure> {
        // Pooled handlers work here, in transactions of their own.
        self.registry
            .before(&self.pool, job)
            .await
            .map_err(Failure::Job)?;
        let mut tx = TenantTx::begin(&self.pool, job.org, None)
            .await
            .map_err(|e| Failure::Job(e.into()))?;
        self.registry
            .run(&mut tx, job)
            .await
            .map_err(Failure::Job)?;
        match queue::complete(&mut tx, job).await {
            Ok(()) => {}
            Err(StoreError::JobLost) => return Err(Failure::Lost),
            Err(e) => return Err(Failure::Job(e.into())),
        }
        tx.commit().await.map_err(|e| Failure::Job(e.into()))
    }

    /// Puts a job that must wait back in the queue, its attempt returned.
    async fn defer(&self, job: &ClaimedJob, e: &crate::JobError) -> Outcome {
        let wait = e.retry_after.unwrap_or_default();
        match queue::defer(&self.pool, job, wait).await {
            Ok(true) => {
                tracing::info!(wait_ms = wait.as_millis() as u64, "job deferred");
                Outcome::Deferred
            }
            Ok(false) => Outcome::Lost,
            Err(store) => {
                // The lease will run out and the job be claimed again.
                tracing::error!(error = %store, "deferring a job failed");
                Outcome::Retried
            }
        }
    }

    async fn record_failure(&self, job: &ClaimedJob, e: &crate::JobError) -> Outcome {
        let delay = e
            .retry_after
            .unwrap_or_else(|| jittered_backoff(job.attempts));
        let outcome = match queue::fail_after(&self.pool, job, &e.message, delay).await {
            Ok(o) => o,
            Err(store) => {
                // The lease will run out and the job be claimed again.
                tracing::error!(error = %store, "recording a job failure failed");
                return Outcome::Retried;
            }
        };
        let parked = match outcome {
            FailOutcome::Stale => return Outcome::Lost,
            FailOutcome::Parked => {
                tracing::error!(error.message = %e, "job parked after its last attempt");
                true
            }
            FailOutcome::Retry { .. } => {
                tracing::warn!(error.message = %e, "job failed; will retry");
                false
            }
        };
        if let Err(hook) = self.registry.on_failure(&self.pool, job, e, parked).await {
            tracing::error!(error = %hook, "recording a job failure in its own records failed");
        }
        if parked {
            Outcome::Parked
        } else {
            Outcome::Retried
        }
    }
}

/// Forwards enqueue notifications to `wake` for as long as the runner runs,
/// reconnecting with backoff when the listener breaks. `Notify` keeps one
/// wake-up when nobody waits, so a job enqueued while the runner is busy
/// claiming is not missed.
async fn listen_for_jobs(pool: AppPool, wake: Arc<Notify>) {
    const FIRST_RETRY: Duration = Duration::from_millis(500);
    const MAX_RETRY: Duration = Duration::from_secs(30);
    let mut retry = FIRST_RETRY;
    loop {
        match JobListener::connect(&pool).await {
            Ok(mut listener) => {
                // Jobs enqueued while nobody listened were missed: look now.
                wake.notify_one();
                loop {
                    match listener.recv().await {
                        Ok(true) => {
                            retry = FIRST_RETRY;
                            wake.notify_one();
                        }
                        Ok(false) => {
                            tracing::warn!("the job listener's connection dropped; reconnected");
                            wake.notify_one();
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "the job listener broke; polling until it reconnects");
                            break;
                        }
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "listening for jobs failed; polling until it reconnects");
            }
        }
        tokio::time::sleep(retry).await;
        retry = (retry * 2).min(MAX_RETRY);
    }
}

/// Aborts the task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

enum Failure {
    Lost,
    Job(crate::JobError),
}

fn tally(stats: &mut RunStats, res: Result<Outcome, tokio::task::JoinError>) {
    match res {
        Ok(Outcome::Done) => stats.done += 1,
        Ok(Outcome::Retried) => stats.retried += 1,
        Ok(Outcome::Parked) => stats.parked += 1,
        Ok(Outcome::Lost) => stats.lost += 1,
        Ok(Outcome::Deferred) => stats.deferred += 1,
        // A handler panicked: its lease will run out and the job be claimed
        // again (and parked after its attempts).
        Err(e) => {
            tracing::error!(error = %e, "a job task panicked");
            stats.retried += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_half_to_one_and_a_half_times_the_backoff() {
        for attempt in 1..8 {
            let base = queue::backoff(attempt);
            for _ in 0..50 {
                let d = jittered_backoff(attempt);
                assert!(d >= base.mul_f64(0.5) && d <= base.mul_f64(1.5), "{d:?}");
            }
        }
    }
}
