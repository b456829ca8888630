//! The runner over the real queue: retries, parking with a visible error,
//! lease extension, unknown kinds, graceful shutdown, and a worker dying
//! mid-job (its pooled job claimed again once the lease runs out).

use crate::support::{World, test_config};
use sentra_domain::jobs::JobPayload;
use sentra_store::AppPool;
use sentra_store::queue::{self, ClaimedJob, NewJob};
use sentra_store::{TenantTx, queue::JobId};
use sentra_worker::{BoxFuture, Handler, JobError, PooledHandler, Registry, Runner};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Flaky {
    n: u32,
}

impl JobPayload for Flaky {
    const KIND: &'static str = "test_flaky";
    const MAX_ATTEMPTS: i32 = 3;
    fn dedupe_key(&self) -> Option<String> {
        None
    }
}

/// Fails while `fails_left` is above zero.
struct FlakyHandler {
    fails_left: Arc<AtomicU32>,
    runs: Arc<AtomicU32>,
    sleep: Duration,
    finished: Arc<AtomicBool>,
}

impl Handler<Flaky> for FlakyHandler {
    fn run<'a>(
        &'a self,
        _tx: &'a mut TenantTx,
        _job: &'a ClaimedJob,
        _p: Flaky,
    ) -> BoxFuture<'a, Result<(), JobError>> {
        Box::pin(async move {
            self.runs.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(self.sleep).await;
            let left = self.fails_left.load(Ordering::SeqCst);
            if left > 0 {
                self.fails_left.store(left - 1, Ordering::SeqCst);
                return Err(JobError::new("the webhook exploded"));
            }
            self.finished.store(true, Ordering::SeqCst);
            Ok(())
        })
    }
}

fn flaky(fails: u32, sleep: Duration) -> (FlakyHandler, Arc<AtomicU32>, Arc<AtomicBool>) {
    let runs = Arc::new(AtomicU32::new(0));
    let finished = Arc::new(AtomicBool::new(false));
    (
        FlakyHandler {
            fails_left: Arc::new(AtomicU32::new(fails)),
            runs: runs.clone(),
            sleep,
            finished: finished.clone(),
        },
        runs,
        finished,
    )
}

async fn enqueue(w: &World, job: &NewJob) -> JobId {
    let mut tx = w.tx().await;
    let id = queue::enqueue(&mut tx, job).await.unwrap().id;
    tx.commit().await.unwrap();
    id
}

async fn job_row(w: &World, id: JobId) -> queue::JobRecord {
    let mut tx = w.tx().await;
    let row = queue::get(&mut tx, id).await.unwrap().unwrap();
    tx.commit().await.unwrap();
    row
}

#[tokio::test]
async fn a_failing_job_is_retried_with_backoff_and_then_completes() {
    let Some(w) = World::new().await else { return };
    let (handler, runs, finished) = flaky(2, Duration::ZERO);
    let mut registry = Registry::new();
    registry.register::<Flaky, _>(handler);
    let runner = Runner::new(w.pool().clone(), registry, test_config());
    let id = enqueue(&w, &NewJob::from_payload(&Flaky { n: 1 }).unwrap()).await;

    runner.drain().await;
    // The failure put it back with a backoff: not due yet.
    let after_first = job_row(&w, id).await;
    assert_eq!(after_first.status, "queued");
    assert!(after_first.run_at > time::OffsetDateTime::now_utc());
    assert_eq!(
        after_first.last_error.as_deref(),
        Some("the webhook exploded")
    );

    w.drain(&runner).await;
    let done = job_row(&w, id).await;
    assert_eq!((done.status.as_str(), done.attempts), ("done", 3));
    assert_eq!(done.last_error, None);
    assert_eq!(runs.load(Ordering::SeqCst), 3);
    assert!(finished.load(Ordering::SeqCst));
}

#[tokio::test]
async fn a_job_that_keeps_failing_is_parked_with_its_error_visible() {
    let Some(w) = World::new().await else { return };
    let (handler, runs, _) = flaky(u32::MAX, Duration::ZERO);
    let mut registry = Registry::new();
    registry.register::<Flaky, _>(handler);
    let runner = Runner::new(w.pool().clone(), registry, test_config());
    let id = enqueue(&w, &NewJob::from_payload(&Flaky { n: 2 }).unwrap()).await;

    w.drain(&runner).await;
    let mut tx = w.tx().await;
    let parked = queue::list_parked(&mut tx).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].id, id.as_uuid());
    assert_eq!(parked[0].attempts, Flaky::MAX_ATTEMPTS);
    assert_eq!(
        parked[0].last_error.as_deref(),
        Some("the webhook exploded")
    );
    assert_eq!(runs.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_job_kind_without_a_handler_is_parked_not_dropped() {
    let Some(w) = World::new().await else { return };
    let runner = Runner::new(w.pool().clone(), Registry::new(), test_config());
    let id = enqueue(
        &w,
        &NewJob::new("sync_mailbox", serde_json::json!({})).max_attempts(1),
    )
    .await;
    runner.drain().await;
    let row = job_row(&w, id).await;
    assert_eq!(row.status, "parked");
    assert!(row.last_error.unwrap().contains("no handler"));
}

#[tokio::test]
async fn a_running_jobs_lease_can_be_extended_and_a_stale_claim_cannot() {
    let Some(w) = World::new().await else { return };
    enqueue(&w, &NewJob::from_payload(&Flaky { n: 3 }).unwrap()).await;
    let claimed = queue::claim(w.pool(), "w1", Duration::from_secs(1), 1)
        .await
        .unwrap();
    let job = &claimed[0];
    assert!(
        queue::extend_lease(w.pool(), job, Duration::from_hours(1))
            .await
            .unwrap()
    );
    let row = job_row(&w, job.id).await;
    let left = row.locked_until.unwrap() - time::OffsetDateTime::now_utc();
    assert!(left > time::Duration::minutes(50), "{left}");
    // A claim that is no longer current (another attempt) is not extended.
    let stale = ClaimedJob {
        attempts: job.attempts + 1,
        ..job.clone()
    };
    assert!(
        !queue::extend_lease(w.pool(), &stale, Duration::from_hours(1))
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn shutdown_stops_claiming_and_lets_the_job_in_flight_finish() {
    let Some(w) = World::new().await else { return };
    let (handler, _, finished) = flaky(0, Duration::from_millis(800));
    let mut registry = Registry::new();
    registry.register::<Flaky, _>(handler);
    let runner = Runner::new(w.pool().clone(), registry, test_config());
    let id = enqueue(&w, &NewJob::from_payload(&Flaky { n: 4 }).unwrap()).await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        runner
            .run(async {
                let _ = stopped.await;
            })
            .await
    });
    // Wait (polling) until the job is running, then ask for shutdown.
    for _ in 0..600 {
        if job_row(&w, id).await.status == "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(job_row(&w, id).await.status, "running");
    stop.send(()).unwrap();
    // A job enqueued after shutdown began is not claimed.
    let later = enqueue(&w, &NewJob::from_payload(&Flaky { n: 5 }).unwrap()).await;
    let stats = task.await.unwrap();
    assert!(finished.load(Ordering::SeqCst));
    assert_eq!(job_row(&w, id).await.status, "done");
    assert_eq!(stats.done, 1);
    let later = job_row(&w, later).await;
    assert_eq!((later.status.as_str(), later.attempts), ("queued", 0));
}

/// Hangs on its first run (a worker that dies mid-job), completes after.
struct HangsOnce {
    runs: Arc<AtomicU32>,
}

impl PooledHandler<Flaky> for HangsOnce {
    fn run<'a>(
        &'a self,
        _pool: &'a AppPool,
        _job: &'a ClaimedJob,
        _p: Flaky,
    ) -> BoxFuture<'a, Result<(), JobError>> {
        Box::pin(async move {
            if self.runs.fetch_add(1, Ordering::SeqCst) == 0 {
                std::future::pending::<()>().await;
            }
            Ok(())
        })
    }
}

#[tokio::test]
async fn a_job_whose_worker_died_is_claimed_again_after_its_lease() {
    let Some(w) = World::new().await else { return };
    let runs = Arc::new(AtomicU32::new(0));
    let short = sentra_worker::RunnerConfig {
        lease: Duration::from_secs(1),
        ..test_config()
    };
    let runner = |runs: &Arc<AtomicU32>| {
        let mut registry = Registry::new();
        registry.register_pooled::<Flaky, _>(HangsOnce { runs: runs.clone() });
        Runner::new(w.pool().clone(), registry, short.clone())
    };
    let id = enqueue(&w, &NewJob::from_payload(&Flaky { n: 6 }).unwrap()).await;
    let first = runner(&runs);
    let dying = tokio::spawn(async move { first.run(std::future::pending()).await });
    for _ in 0..600 {
        if runs.load(Ordering::SeqCst) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The worker dies mid-job: nothing finishes, fails or releases it.
    dying.abort();
    let _ = dying.await;
    assert_eq!(job_row(&w, id).await.status, "running");
    // Another worker takes it once the lease (1 s) has run out.
    let second = runner(&runs);
    for _ in 0..600 {
        second.drain().await;
        if job_row(&w, id).await.status == "done" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let row = job_row(&w, id).await;
    assert_eq!(row.status, "done");
    assert_eq!(row.attempts, 2);
    assert_eq!(runs.load(Ordering::SeqCst), 2);
}
