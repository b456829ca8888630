//! Graph's `Retry-After` outlives the worker that was told it: a worker
//! killed while waiting one out, or restarted after a long one, leaves the
//! deadline in the database, and the fresh worker (a new Graph client with
//! empty in-memory gates) does not call the fake Graph before it. Two live
//! workers never sync one mailbox at once, so neither calls Graph before a
//! `Retry-After` only the other has heard. A `Retry-After` far in the
//! future is capped at an hour.

use crate::graph_support::{Rig, invoice};
use sentra_domain::graph_jobs;
use sentra_store::repo::m365_mailbox::Health;
use sentra_testkit::{Fault, NewMessage};

const MESSAGES: &str = "select count(*) from message where org_id = $1";

/// Seconds until the mailbox's persisted deadline (negative once passed,
/// `None` when none was recorded).
async fn throttled_for(rig: &Rig) -> Option<f64> {
    sqlx::query_scalar(
        "select extract(epoch from throttled_until - now())::float8 from mailbox where id = $1",
    )
    .bind(rig.mailbox.as_uuid())
    .fetch_one(rig.w.db.superuser())
    .await
    .unwrap()
}

/// Polls until the mailbox's deadline is recorded and still ahead.
async fn until_throttled(rig: &Rig) -> f64 {
    let start = std::time::Instant::now();
    loop {
        if let Some(s) = throttled_for(rig).await.filter(|s| *s > 0.0) {
            return s;
        }
        assert!(
            start.elapsed() < crate::graph_support::PATIENCE,
            "no deadline recorded"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_killed_while_waiting_out_a_retry_after_leaves_the_deadline_to_its_successor() {
    let Some(mut rig) = Rig::start().await else {
        return;
    };
    rig.connect().await;
    // 4 s: shorter than the rig's 5 s inline wait, so the client sleeps it
    // out inside the job — and the worker is killed while it sleeps.
    rig.sync_into_throttle("4").await;
    let left = until_throttled(&rig).await;
    assert!(left <= 4.5, "the deadline is the Retry-After: {left}");
    rig.kill_and_restart().await;
    // A notification for the mailbox reaches the fresh worker at once.
    rig.enqueue(graph_jobs::SYNC, false).await;
    rig.until_count(MESSAGES, 1).await;
    rig.stop().await;
    let report = rig.fake.report();
    assert!(
        report.retry_after_violations.is_empty(),
        "{:?}",
        report.retry_after_violations
    );
    assert_eq!(rig.count(MESSAGES).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_job_started_before_a_long_retry_after_is_deferred_to_it_without_spending_an_attempt() {
    let Some(mut rig) = Rig::start().await else {
        return;
    };
    rig.connect().await;
    // 8 s: longer than the rig's 5 s inline wait, so the job that met it
    // fails and is rescheduled after it.
    rig.sync_into_throttle("8").await;
    rig.until("degraded", |m| m.health == Health::Degraded)
        .await;
    assert!(until_throttled(&rig).await > 5.0);
    rig.kill_and_restart().await;
    // A notification's sync, due now, for the fresh worker: it must wait.
    rig.enqueue(graph_jobs::SYNC, false).await;
    let start = std::time::Instant::now();
    let deferred: (i32, f64) = loop {
        let row: Option<(i32, f64)> = sqlx::query_as(
            "select attempts, extract(epoch from run_at - now())::float8 from job
              where org_id = $1 and kind = 'graph.sync' and status = 'queued'
                and dedupe_key is not null",
        )
        .bind(rig.w.org.as_uuid())
        .fetch_optional(rig.w.db.superuser())
        .await
        .unwrap();
        match row {
            Some((attempts, wait)) if wait > 1.0 => break (attempts, wait),
            _ => {}
        }
        assert!(
            start.elapsed() < crate::graph_support::PATIENCE,
            "the new sync job was not deferred"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(deferred.0, 0, "a deferral spends no attempt");
    assert!(
        deferred.1 <= 8.5,
        "deferred to the deadline: {}",
        deferred.1
    );
    rig.until_count(MESSAGES, 1).await;
    rig.until("healthy again", |m| m.health == Health::Healthy)
        .await;
    rig.stop().await;
    let report = rig.fake.report();
    assert!(
        report.retry_after_violations.is_empty(),
        "{:?}",
        report.retry_after_violations
    );
    assert_eq!(rig.count(MESSAGES).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_live_workers_take_turns_on_a_mailbox_so_neither_calls_graph_before_a_retry_after() {
    let Some(mut rig) = Rig::start().await else {
        return;
    };
    rig.connect().await;
    rig.spawn_another_worker();
    let upn = rig.s.monitored.upn.clone();
    // Slow calls keep a round running while further notifications arrive.
    rig.fake.set_switches(|sw| sw.latency_ms = 20);
    let n = 60;
    for i in 0..n {
        rig.fake
            .add_message(&upn, NewMessage::new(invoice(i)))
            .unwrap();
    }
    // The next round's first call (its delta request) is throttled for
    // 1 s: the worker that got it waits it out inline, inside its round,
    // with nothing else of its own in flight for the mailbox.
    rig.fake
        .inject(Fault::throttled(Some("1")).for_mailbox(&upn));
    // A notification's sync every 50 ms until everything is stored: each
    // running round has let go of its dedupe key, so each notification
    // queues a job that either worker may claim.
    let want = i64::try_from(n).unwrap();
    while rig.count(MESSAGES).await < want {
        rig.enqueue(graph_jobs::SYNC, false).await;
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    rig.settle().await;
    rig.stop().await;
    let report = rig.fake.report();
    assert!(
        report.retry_after_violations.is_empty(),
        "{:?}",
        report.retry_after_violations
    );
    // One round at a time: never more than one client's cap in flight.
    assert!(
        report.max_in_flight_for(&upn) <= 4,
        "{} requests in flight",
        report.max_in_flight_for(&upn)
    );
    assert_eq!(rig.count(MESSAGES).await, want);
    // Turns were taken by deferring, which spends no attempt.
    assert_eq!(
        rig.count("select count(*) from job where org_id = $1 and status = 'parked'")
            .await,
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_retry_after_centuries_away_is_capped_at_an_hour() {
    let Some(mut rig) = Rig::start().await else {
        return;
    };
    rig.connect().await;
    // About 317 years: a buggy or hostile header.
    rig.sync_into_throttle("9999999999").await;
    rig.until("degraded", |m| m.health == Health::Degraded)
        .await;
    let held = until_throttled(&rig).await;
    let retry: f64 = sqlx::query_scalar(
        "select extract(epoch from max(run_at) - now())::float8 from job
          where org_id = $1 and kind = 'graph.sync' and status = 'queued'",
    )
    .bind(rig.w.org.as_uuid())
    .fetch_one(rig.w.db.superuser())
    .await
    .unwrap();
    rig.stop().await;
    assert!(held > 3000.0 && held <= 3600.0, "persisted hold {held} s");
    assert!(
        retry > 3000.0 && retry <= 3600.0,
        "job retried in {retry} s"
    );
    assert!(rig.fake.report().retry_after_violations.is_empty());
}
