//! The job queue: transactional and deduplicated enqueue, exclusive claims,
//! leases that expire, backoff and parking, cancellation, and a worker
//! process killed with SIGKILL mid-job losing nothing and repeating nothing.

use crate::audit::{Rng, new_org, owner};
use sentra_domain::OrgId;
use sentra_store::audit::{self, NewEvent, VerifyReport, verify};
use sentra_store::queue::{
    self, ClaimedJob, Enqueued, FailOutcome, JobId, NewJob, backoff, cancel_for, claim, complete,
    enqueue, fail, list_parked, requeue,
};
use sentra_store::testing::TestDb;
use sentra_store::{AppPool, StoreError, TenantTx};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;
use uuid::Uuid;

const LEASE: Duration = Duration::from_secs(1);

async fn enqueue_one(pool: &AppPool, org: OrgId, job: NewJob) -> Enqueued {
    let mut tx = TenantTx::begin(pool, org, None).await.unwrap();
    let e = enqueue(&mut tx, &job).await.unwrap();
    tx.commit().await.unwrap();
    e
}

async fn status(db: &TestDb, id: JobId) -> (String, i32) {
    sqlx::query_as("select status, attempts from job where id = $1")
        .bind(id.as_uuid())
        .fetch_one(db.superuser())
        .await
        .unwrap()
}

async fn make_due(db: &TestDb, id: JobId) {
    sqlx::query("update job set run_at = now() where id = $1")
        .bind(id.as_uuid())
        .execute(db.superuser())
        .await
        .unwrap();
}

#[tokio::test]
async fn enqueue_commits_and_rolls_back_with_the_callers_transaction() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let org = new_org(&db, "A").await;
    let mut tx = TenantTx::begin(db.app_pool(), org, None).await.unwrap();
    let gone = enqueue(&mut tx, &NewJob::new("sync_mailbox", json!({})))
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    let kept = enqueue_one(db.app_pool(), org, NewJob::new("sync_mailbox", json!({}))).await;

    let ids: Vec<Uuid> = sqlx::query_scalar("select id from job")
        .fetch_all(db.superuser())
        .await
        .unwrap();
    assert_eq!(ids, [kept.id.as_uuid()]);
    assert_ne!(gone.id, kept.id);
}

#[tokio::test]
async fn a_dedupe_key_returns_the_live_job_and_frees_up_once_it_is_done() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let (a, b) = (new_org(&db, "A").await, new_org(&db, "B").await);
    let job = || NewJob::new("analyse_message", json!({"m": 1})).dedupe_key("message:1");
    let first = enqueue_one(db.app_pool(), a, job()).await;
    let again = enqueue_one(db.app_pool(), a, job()).await;
    let other_org = enqueue_one(db.app_pool(), b, job()).await;
    assert!(first.created && !again.created && other_org.created);
    assert_eq!(first.id, again.id);

    // while running it still dedupes; once done a new one is added
    let claimed = claim(db.app_pool(), "w", LEASE, 10).await.unwrap();
    assert_eq!(claimed.len(), 2);
    assert!(!enqueue_one(db.app_pool(), a, job()).await.created);
    let mine = claimed.iter().find(|j| j.org == a).unwrap();
    let mut tx = TenantTx::begin(db.app_pool(), a, None).await.unwrap();
    complete(&mut tx, mine).await.unwrap();
    tx.commit().await.unwrap();
    let fresh = enqueue_one(db.app_pool(), a, job()).await;
    assert!(fresh.created);
    assert_ne!(fresh.id, first.id);
}

#[tokio::test]
async fn concurrent_workers_never_claim_the_same_job() {
    let Some(db) = TestDb::create_with_app_connections(6).await else {
        return;
    };
    let (a, b) = (new_org(&db, "A").await, new_org(&db, "B").await);
    for i in 0..150 {
        let org = if i % 2 == 0 { a } else { b };
        enqueue_one(db.app_pool(), org, NewJob::new("k", json!({ "i": i }))).await;
    }
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let pool = db.app_pool().clone();
            tokio::spawn(async move {
                let mut got = Vec::new();
                loop {
                    let batch = claim(&pool, &format!("w{w}"), Duration::from_mins(1), 7)
                        .await
                        .unwrap();
                    if batch.is_empty() {
                        return got;
                    }
                    got.extend(batch.into_iter().map(|j| j.id));
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.unwrap());
    }
    let distinct: HashSet<_> = all.iter().collect();
    assert_eq!(all.len(), 150);
    assert_eq!(distinct.len(), 150, "a job was claimed twice");
}

#[tokio::test]
async fn a_crashed_workers_job_is_claimed_again_after_the_lease_and_the_stale_claim_cannot_complete()
 {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let org = new_org(&db, "A").await;
    let job = enqueue_one(db.app_pool(), org, NewJob::new("k", json!({}))).await;
    let first = claim(db.app_pool(), "crashes", LEASE, 5)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(first.attempts, 1);
    assert!(
        claim(db.app_pool(), "other", LEASE, 5)
            .await
            .unwrap()
            .is_empty(),
        "leased"
    );

    tokio::time::sleep(LEASE + Duration::from_millis(200)).await;
    let second = claim(db.app_pool(), "other", LEASE, 5).await.unwrap();

    assert_eq!(second.len(), 1);
    assert_eq!((second[0].id, second[0].attempts), (job.id, 2));
    let mut tx = TenantTx::begin(db.app_pool(), org, None).await.unwrap();
    assert!(matches!(
        complete(&mut tx, &first).await,
        Err(StoreError::JobLost)
    ));
    complete(&mut tx, &second[0]).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(status(&db, job.id).await, ("done".to_owned(), 2));
    assert_eq!(
        fail(db.app_pool(), &first, "late").await.unwrap(),
        FailOutcome::Stale
    );
}

#[tokio::test]
async fn an_unstarted_claim_handed_back_is_due_again_with_its_attempt_returned() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let org = new_org(&db, "A").await;
    let job = enqueue_one(db.app_pool(), org, NewJob::new("k", json!({}))).await;
    let first = claim(db.app_pool(), "stopping", LEASE, 5)
        .await
        .unwrap()
        .remove(0);
    assert!(
        queue::defer(db.app_pool(), &first, Duration::ZERO)
            .await
            .unwrap()
    );
    assert_eq!(status(&db, job.id).await, ("queued".to_owned(), 0));
    // A stale claim cannot be handed back twice, nor take back a new claim.
    assert!(
        !queue::defer(db.app_pool(), &first, Duration::ZERO)
            .await
            .unwrap()
    );
    let second = claim(db.app_pool(), "other", LEASE, 5)
        .await
        .unwrap()
        .remove(0);
    assert_eq!((second.id, second.attempts), (job.id, 1));
    let stale = ClaimedJob {
        attempts: 0,
        ..second.clone()
    };
    assert!(
        !queue::defer(db.app_pool(), &stale, Duration::ZERO)
            .await
            .unwrap()
    );
    assert_eq!(status(&db, job.id).await, ("running".to_owned(), 1));
}

#[tokio::test]
async fn failures_back_off_exponentially_then_park_where_people_can_see_and_requeue() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let org = new_org(&db, "A").await;
    let job = enqueue_one(
        db.app_pool(),
        org,
        NewJob::new("k", json!({})).max_attempts(3),
    )
    .await;
    let mut delays = Vec::new();
    let mut outcomes = Vec::new();
    for attempt in 1..=3 {
        let claimed = claim(db.app_pool(), "w", LEASE, 1).await.unwrap().remove(0);
        assert_eq!(claimed.attempts, attempt);
        outcomes.push(
            fail(db.app_pool(), &claimed, &format!("boom {attempt}"))
                .await
                .unwrap(),
        );
        let delay: f64 = sqlx::query_scalar(
            "select extract(epoch from run_at - updated_at)::float8 from job where id = $1",
        )
        .bind(job.id.as_uuid())
        .fetch_one(db.superuser())
        .await
        .unwrap();
        delays.push(delay);
        make_due(&db, job.id).await;
    }

    assert!(matches!(outcomes[0], FailOutcome::Retry { .. }));
    assert!(matches!(outcomes[1], FailOutcome::Retry { .. }));
    assert_eq!(outcomes[2], FailOutcome::Parked);
    assert_eq!(
        &delays[..2],
        &[backoff(1).as_secs_f64(), backoff(2).as_secs_f64()]
    );
    assert_eq!(&delays[..2], &[2.0, 4.0]);
    assert!(
        claim(db.app_pool(), "w", LEASE, 1)
            .await
            .unwrap()
            .is_empty(),
        "parked stays put"
    );
    let mut tx = TenantTx::begin(db.app_pool(), org, None).await.unwrap();
    let parked = list_parked(&mut tx).await.unwrap();
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].last_error.as_deref(), Some("boom 3"));
    assert!(requeue(&mut tx, job.id).await.unwrap());
    tx.commit().await.unwrap();
    let again = claim(db.app_pool(), "w", LEASE, 1).await.unwrap();
    assert_eq!(again[0].attempts, 1);
}

#[tokio::test]
async fn a_job_whose_lease_runs_out_on_its_last_attempt_is_parked_not_retried() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let org = new_org(&db, "A").await;
    let job = enqueue_one(
        db.app_pool(),
        org,
        NewJob::new("poison", json!({})).max_attempts(1),
    )
    .await;
    claim(db.app_pool(), "dies", LEASE, 1).await.unwrap();
    tokio::time::sleep(LEASE + Duration::from_millis(200)).await;
    assert!(
        claim(db.app_pool(), "w", LEASE, 1)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(status(&db, job.id).await, ("parked".to_owned(), 1));
}

#[tokio::test]
async fn cancel_for_stops_matching_jobs_and_a_running_one_cannot_complete() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let org = new_org(&db, "A").await;
    let mb1 = enqueue_one(
        db.app_pool(),
        org,
        NewJob::new("sync", json!({"mailbox": "1"})),
    )
    .await;
    let mb2 = enqueue_one(
        db.app_pool(),
        org,
        NewJob::new("sync", json!({"mailbox": "2"})),
    )
    .await;
    let other = enqueue_one(
        db.app_pool(),
        org,
        NewJob::new("renew", json!({"mailbox": "1"})),
    )
    .await;
    let running = claim(db.app_pool(), "w", LEASE, 10).await.unwrap();
    let running_mb1 = running.iter().find(|j| j.id == mb1.id).unwrap();

    let mut tx = TenantTx::begin(db.app_pool(), org, None).await.unwrap();
    let n = cancel_for(&mut tx, "sync", Some(&json!({"mailbox": "1"})))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    assert_eq!(n, 1);
    let mut tx = TenantTx::begin(db.app_pool(), org, None).await.unwrap();
    let record = queue::get(&mut tx, mb1.id).await.unwrap().unwrap();
    assert_eq!(
        (record.status.as_str(), record.locked_until),
        ("cancelled", None)
    );
    drop(tx);
    assert_eq!(status(&db, mb2.id).await.0, "running");
    assert_eq!(status(&db, other.id).await.0, "running");
    let mut tx = TenantTx::begin(db.app_pool(), org, None).await.unwrap();
    assert!(matches!(
        complete(&mut tx, running_mb1).await,
        Err(StoreError::JobLost)
    ));
}

#[tokio::test]
async fn claiming_is_only_open_to_the_app_role() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let grantees: Vec<String> = sqlx::query_scalar(
        "select coalesce(r.rolname, 'PUBLIC') from pg_proc p
           cross join lateral aclexplode(p.proacl) a
           left join pg_roles r on r.oid = a.grantee
         where p.proname = 'app_claim_jobs' and a.privilege_type = 'EXECUTE'
         order by 1",
    )
    .fetch_all(db.superuser())
    .await
    .unwrap();
    assert!(grantees.contains(&"sentra_app".to_owned()), "{grantees:?}");
    assert!(!grantees.contains(&"PUBLIC".to_owned()), "{grantees:?}");
    let bad = claim(db.app_pool(), "", LEASE, 1).await.unwrap_err();
    assert!(matches!(bad, StoreError::Rejected { .. }), "{bad:?}");
}

/// The job body of the kill test: the effect is an audit event naming the
/// job, written in the job's transaction together with its completion.
async fn run_effect_job(pool: &AppPool, job: &ClaimedJob, mut pause: impl FnMut(&str)) {
    let mut tx = TenantTx::begin(pool, job.org, None).await.unwrap();
    match complete(&mut tx, job).await {
        Ok(()) => {}
        Err(StoreError::JobLost) => return,
        Err(e) => panic!("{e}"),
    }
    let effect = NewEvent::new("system:worker", "test.effect").target("job", job.id.to_string());
    audit::append(&mut tx, effect).await.unwrap();
    pause(&format!("EFFECT {}", job.id));
    tx.commit().await.unwrap();
    pause(&format!("COMMITTED {}", job.id));
}

/// Not a test on its own: the worker process that
/// `a_worker_killed_mid_job_loses_nothing_and_repeats_no_effect` starts and
/// kills. It prints each step on stdout and pauses after it, so the parent's
/// kill lands at that step.
#[tokio::test]
#[ignore = "started as a child process by the queue kill test"]
async fn worker_child() {
    let Ok(url) = std::env::var("SENTRA_QUEUE_CHILD_URL") else {
        return;
    };
    let seed: u64 = std::env::var("SENTRA_QUEUE_CHILD_SEED")
        .unwrap()
        .parse()
        .unwrap();
    let worker = format!("child-{seed}");
    let pool = AppPool::connect(&url, 1).await.unwrap();
    let mut rng = Rng::new(seed + 1);
    let mut say = move |line: &str| {
        println!("CHILD {line}");
        std::thread::sleep(Duration::from_millis(rng.range(40, 90) as u64));
    };
    let mut idle = 0;
    while idle < 40 {
        let Some(job) = claim(&pool, &worker, LEASE, 1).await.unwrap().pop() else {
            idle += 1;
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        idle = 0;
        say(&format!("CLAIMED {}", job.id));
        run_effect_job(&pool, &job, &mut say).await;
    }
}

/// Where in a job the parent kills the child.
#[derive(Debug, Clone, Copy)]
enum KillAt {
    /// Claimed, nothing written yet.
    Claimed,
    /// Effect written, not committed.
    Effect,
    /// Committed, before the worker could do anything else.
    Committed,
}

fn run_child_and_kill(app_url: &str, seed: u64, at: KillAt, after_jobs: usize) -> Vec<String> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "queue::worker_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("SENTRA_QUEUE_CHILD_URL", app_url)
        .env("SENTRA_QUEUE_CHILD_SEED", seed.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let want = match at {
        KillAt::Claimed => "CHILD CLAIMED",
        KillAt::Effect => "CHILD EFFECT",
        KillAt::Committed => "CHILD COMMITTED",
    };
    let mut lines = Vec::new();
    let mut hits = 0;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if !line.starts_with("CHILD ") {
            continue;
        }
        let hit = line.starts_with(want);
        lines.push(line);
        if hit {
            hits += 1;
            if hits > after_jobs {
                child.kill().unwrap(); // SIGKILL
                break;
            }
        }
    }
    child.wait().unwrap();
    lines
}

#[tokio::test]
async fn a_worker_killed_mid_job_loses_nothing_and_repeats_no_effect() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let orgs = [new_org(&db, "A").await, new_org(&db, "B").await];
    let mut jobs = Vec::new();
    for i in 0..24 {
        let org = orgs[i % 2];
        jobs.push(
            enqueue_one(db.app_pool(), org, NewJob::new("effect", json!({ "i": i })))
                .await
                .id,
        );
    }
    let mut rng = Rng::new(0xdead_beef);
    let mut kills = Vec::new();
    for round in 0..12u64 {
        let at = [KillAt::Claimed, KillAt::Effect, KillAt::Committed][round as usize % 3];
        let after = rng.range(0, 1) as usize;
        let url = db.app_url().to_owned();
        let seen = tokio::task::spawn_blocking(move || run_child_and_kill(&url, round, at, after))
            .await
            .unwrap();
        kills.push((at, seen));
    }
    assert!(
        kills.iter().all(|(_, seen)| !seen.is_empty()),
        "every child did some work before it was killed: {kills:?}"
    );

    // leases of killed children run out; a fresh worker finishes the rest
    tokio::time::sleep(LEASE + Duration::from_millis(300)).await;
    loop {
        let batch = claim(db.app_pool(), "survivor", LEASE, 10).await.unwrap();
        if batch.is_empty() {
            break;
        }
        for job in &batch {
            run_effect_job(db.app_pool(), job, |_| {}).await;
        }
    }

    let rows: Vec<(Uuid, String, i32)> = sqlx::query_as("select id, status, attempts from job")
        .fetch_all(db.superuser())
        .await
        .unwrap();
    assert_eq!(rows.len(), jobs.len());
    assert!(rows.iter().all(|(_, s, _)| s == "done"), "{rows:?}");
    assert!(
        rows.iter().any(|(_, _, a)| *a >= 2),
        "some job was re-run after a kill"
    );
    let effects: Vec<String> =
        sqlx::query_scalar("select target_id from audit_event where action = 'test.effect'")
            .fetch_all(db.superuser())
            .await
            .unwrap();
    let mut per_job: HashMap<String, usize> = HashMap::new();
    for e in effects {
        *per_job.entry(e).or_default() += 1;
    }
    for id in &jobs {
        assert_eq!(
            per_job.get(&id.to_string()),
            Some(&1),
            "job {id}: effect count"
        );
    }
    assert_eq!(per_job.len(), jobs.len());
    let owner = owner(&db).await;
    assert!(
        verify(&owner, None)
            .await
            .unwrap()
            .iter()
            .all(VerifyReport::is_ok)
    );
}
