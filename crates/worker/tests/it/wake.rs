//! Waking the runner on enqueue: with a 60 s idle poll, a job enqueued while
//! the runner idles runs within a bound only the `LISTEN`/`NOTIFY` wake-up
//! can meet, and killing the listener's connection does not stop the runner:
//! it reconnects and picks up what was enqueued meanwhile.

use crate::support::{World, test_config};
use sentra_domain::jobs::JobPayload;
use sentra_store::TenantTx;
use sentra_store::queue::{self, ClaimedJob, JobId, NewJob};
use sentra_worker::{BoxFuture, Handler, JobError, Registry, RunStats, Runner, RunnerConfig};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Far longer than the bound below: a job that runs in time was woken.
const IDLE_POLL: Duration = Duration::from_mins(1);
/// Generous for a busy machine, still well under `IDLE_POLL`.
const BOUND: Duration = Duration::from_secs(20);

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Ping {
    n: u32,
}

impl JobPayload for Ping {
    const KIND: &'static str = "test_ping";
    const MAX_ATTEMPTS: i32 = 3;
    fn dedupe_key(&self) -> Option<String> {
        None
    }
}

struct PingHandler;

impl Handler<Ping> for PingHandler {
    fn run<'a>(
        &'a self,
        _tx: &'a mut TenantTx,
        _job: &'a ClaimedJob,
        _p: Ping,
    ) -> BoxFuture<'a, Result<(), JobError>> {
        Box::pin(async { Ok(()) })
    }
}

fn start(w: &World) -> (oneshot::Sender<()>, JoinHandle<RunStats>) {
    let mut registry = Registry::new();
    registry.register::<Ping, _>(PingHandler);
    let config = RunnerConfig {
        idle_poll: IDLE_POLL,
        ..test_config()
    };
    let runner = Runner::new(w.pool().clone(), registry, config);
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        runner
            .run(async {
                let _ = stopped.await;
            })
            .await
    });
    (stop, task)
}

/// The backend listening for jobs, once there is one (other than `not`).
async fn listener_pid(w: &World, not: Option<i32>) -> i32 {
    for _ in 0..400 {
        let pid: Option<i32> = sqlx::query_scalar(
            "select pid from pg_stat_activity
             where datname = current_database() and usename = 'sentra_app'
               and query ilike 'listen %' and pid is distinct from $1",
        )
        .bind(not)
        .fetch_optional(w.db.superuser())
        .await
        .unwrap();
        if let Some(pid) = pid {
            return pid;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no job listener connected");
}

async fn enqueue(w: &World, n: u32) -> JobId {
    let mut tx = w.tx().await;
    let id = queue::enqueue(&mut tx, &NewJob::from_payload(&Ping { n }).unwrap())
        .await
        .unwrap()
        .id;
    tx.commit().await.unwrap();
    id
}

/// Polls until the job is done; panics after `BOUND`.
async fn done_within_bound(w: &World, id: JobId) {
    let deadline = tokio::time::Instant::now() + BOUND;
    while tokio::time::Instant::now() < deadline {
        let mut tx = w.tx().await;
        let status = queue::get(&mut tx, id).await.unwrap().unwrap().status;
        tx.commit().await.unwrap();
        if status == "done" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("job {id:?} not done within {BOUND:?}: the runner was not woken");
}

#[tokio::test]
async fn a_job_enqueued_while_the_runner_idles_wakes_it() {
    let Some(w) = World::new().await else { return };
    let (stop, task) = start(&w);
    listener_pid(&w, None).await;
    // Let the runner's first claims find nothing and settle into its wait.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let id = enqueue(&w, 1).await;
    done_within_bound(&w, id).await;
    stop.send(()).unwrap();
    assert_eq!(task.await.unwrap().done, 1);
}

#[tokio::test]
async fn the_runner_survives_its_listener_being_killed_and_listens_again() {
    let Some(w) = World::new().await else { return };
    let (stop, task) = start(&w);
    let first = listener_pid(&w, None).await;
    let killed: bool = sqlx::query_scalar("select pg_terminate_backend($1)")
        .bind(first)
        .fetch_one(w.db.superuser())
        .await
        .unwrap();
    assert!(killed);
    // Enqueued while nobody may be listening: the reconnect looks at the queue.
    let missed = enqueue(&w, 1).await;
    done_within_bound(&w, missed).await;
    // A new listener, on a new connection, wakes the runner again.
    let second = listener_pid(&w, Some(first)).await;
    assert_ne!(first, second);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let woken = enqueue(&w, 2).await;
    done_within_bound(&w, woken).await;
    stop.send(()).unwrap();
    assert_eq!(task.await.unwrap().done, 2);
}
