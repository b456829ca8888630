//! Microsoft 365 sync end to end: a message delivered on the fake Graph
//! server → change notification → the web app's webhook → `graph.sync` →
//! `$value` → ingest → case and alert jobs; the unselected mailbox never
//! read; throttling, 5xx, an expired delta link, lifecycle events and
//! duplicates each leaving every message stored once.

use crate::graph_support::{Rig, invoice};
use sentra_domain::graph_jobs;
use sentra_ingest::{FaultPlan, Step};
use sentra_store::repo::m365_mailbox::Health;
use sentra_testkit::emails::FRAUD_BANK_CHANGE;
use sentra_testkit::{Fault, LifecycleEvent, NewMessage};

const CASES: &str = "select count(*) from fraud_case where org_id = $1";
const ALERT_JOBS: &str = "select count(*) from job where org_id = $1 and kind = 'send_alert'";
const MESSAGES: &str = "select count(*) from message where org_id = $1";
const DISTINCT: &str = "select count(distinct provider_message_id) from message where org_id = $1";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_fraudulent_email_becomes_a_case_with_alert_jobs_and_the_unselected_mailbox_is_never_read()
 {
    let Some(mut rig) = Rig::start().await else {
        return;
    };
    let m = rig.connect().await;
    assert_eq!(m.health, Health::Healthy);
    // Mail for the unselected mailbox exists on the fake, too.
    rig.fake
        .add_message(&rig.s.unmonitored.upn, NewMessage::new(invoice(99)))
        .unwrap();

    let start = std::time::Instant::now();
    rig.fake
        .deliver(&rig.s.monitored.upn, NewMessage::new(FRAUD_BANK_CHANGE))
        .unwrap();
    let to_case = rig.until_count(CASES, 1).await;
    rig.until_count(ALERT_JOBS, 1).await;
    let to_alerts = start.elapsed();
    println!(
        "notification to case: {} ms; to alert jobs: {} ms",
        to_case.as_millis(),
        to_alerts.as_millis()
    );
    rig.settle().await;
    rig.stop().await;

    assert_eq!(rig.count(MESSAGES).await, 1);
    assert_eq!(rig.count(CASES).await, 1);
    let report = rig.fake.report();
    assert!(report.out_of_scope_reads.is_empty(), "{report:?}");
    assert_eq!(
        report.requests_for(&rig.s.unmonitored.upn).count(),
        0,
        "the unselected mailbox was addressed"
    );
    assert!(report.max_in_flight_for(&rig.s.monitored.upn) <= 4);
    assert!(report.retry_after_violations.is_empty());
    assert!(
        report.notifications.iter().any(|n| n.status == Some(202)),
        "the change notification reached the webhook: {:?}",
        report.notifications
    );
    assert!(
        report
            .requests
            .iter()
            .all(|r| !r.path.contains("/users/") || r.immutable_ids)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn throttling_in_every_retry_after_variant_5xx_and_duplicates_store_each_message_once() {
    let Some(mut rig) = Rig::start().await else {
        return;
    };
    rig.connect().await;
    rig.fake.set_switches(|sw| sw.duplicate_rate = 1.0);
    let upn = rig.s.monitored.upn.clone();
    for (n, fault) in [
        Fault::throttled(None),
        Fault::throttled(Some("1")),
        Fault::throttled(Some("0.249")),
        Fault::unavailable(503, None),
        Fault::unavailable(504, Some("1")),
        Fault::status(500, "generalException", None),
    ]
    .into_iter()
    .enumerate()
    {
        rig.fake.inject(
            fault
                .for_mailbox(&upn)
                .on_call(u64::try_from(n).unwrap() + 1),
        );
    }
    for i in 0..25 {
        rig.fake
            .add_message(&upn, NewMessage::new(invoice(i)))
            .unwrap();
    }
    rig.enqueue(graph_jobs::SYNC, false).await;
    rig.until_count(MESSAGES, 25).await;
    rig.settle().await;
    // One more round sees the duplicates again and stores nothing.
    rig.enqueue(graph_jobs::SYNC, false).await;
    rig.settle().await;
    rig.stop().await;
    assert_eq!(rig.count(MESSAGES).await, 25);
    assert_eq!(rig.count(DISTINCT).await, 25);
    let report = rig.fake.report();
    // Up to 4 `$value` fetches are in flight per mailbox; when one is
    // answered 429 the (at most 3) others are already on the wire and land
    // inside its Retry-After. The client holds every later request, so at
    // most 3 such arrivals per throttling answer — a client that ignored
    // Retry-After would show one for nearly every message.
    let throttling_answers = report
        .requests
        .iter()
        .filter(|r| [429, 503, 504].contains(&r.status))
        .count();
    assert!(
        report.retry_after_violations.len() <= 3 * throttling_answers,
        "{:?}",
        report.retry_after_violations
    );
    assert!(report.max_in_flight_for(&upn) <= 4);
    assert_eq!(rig.mailbox().await.health, Health::Healthy);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_retry_after_of_120_s_reschedules_the_job_and_degrades_the_mailbox() {
    let Some(mut rig) = Rig::start().await else {
        return;
    };
    rig.connect().await;
    // 120 s is longer than the client waits inline: the job is rescheduled.
    rig.sync_into_throttle("120").await;
    let m = rig
        .until("degraded", |m| m.health == Health::Degraded)
        .await;
    let error = m.last_error.unwrap_or_default();
    assert!(error.contains("429"), "{error}");
    let wait: f64 = sqlx::query_scalar(
        "select extract(epoch from run_at - now())::float8 from job
          where org_id = $1 and kind = 'graph.sync' and status = 'queued'",
    )
    .bind(rig.w.org.as_uuid())
    .fetch_one(rig.w.db.superuser())
    .await
    .unwrap();
    rig.stop().await;
    assert!(
        wait > 60.0,
        "rescheduled after the Retry-After, not sooner: {wait}"
    );
    assert!(rig.fake.report().retry_after_violations.is_empty());
    assert_eq!(rig.count(MESSAGES).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_degraded_mailbox_is_healthy_again_after_its_retry_after() {
    let Some(mut rig) = Rig::start().await else {
        return;
    };
    rig.connect().await;
    // Longer than the rig's 5 s inline wait, short enough to sit out.
    rig.sync_into_throttle("6").await;
    rig.until("degraded", |m| m.health == Health::Degraded)
        .await;
    rig.until("healthy again", |m| m.health == Health::Healthy)
        .await;
    rig.until_count(MESSAGES, 1).await;
    rig.stop().await;
    assert!(rig.fake.report().retry_after_violations.is_empty());
    let audited = rig
        .count("select count(*) from audit_event where org_id = $1 and action = 'mailbox.health'")
        .await;
    assert_eq!(
        audited, 2,
        "degraded, then healthy: each change audited once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_expired_delta_link_and_a_missed_lifecycle_event_resync_without_duplicates() {
    let Some(mut rig) = Rig::start().await else {
        return;
    };
    rig.connect().await;
    let upn = rig.s.monitored.upn.clone();
    for i in 0..5 {
        rig.fake.deliver(&upn, NewMessage::new(invoice(i))).unwrap();
    }
    rig.until_count(MESSAGES, 5).await;
    rig.settle().await;

    // 410 SyncStateNotFound on the stored link → full resync.
    rig.fake.expire_delta_tokens(&upn).unwrap();
    rig.fake
        .add_message(&upn, NewMessage::new(invoice(5)))
        .unwrap();
    rig.enqueue(graph_jobs::SYNC, false).await;
    rig.until_count(MESSAGES, 6).await;
    rig.settle().await;
    let report = rig.fake.report();
    assert!(
        report.requests.iter().any(|r| r.status == 410),
        "a 410 was served"
    );

    // `missed` → a full resync through the lifecycle webhook.
    let sub = rig.mailbox().await.subscription_id.unwrap();
    rig.fake
        .add_message(&upn, NewMessage::new(invoice(6)))
        .unwrap();
    rig.fake.lifecycle(&sub, LifecycleEvent::Missed).unwrap();
    rig.until_count(MESSAGES, 7).await;
    rig.settle().await;
    rig.stop().await;
    assert_eq!(rig.count(MESSAGES).await, 7);
    assert_eq!(rig.count(DISTINCT).await, 7);
    // Each message's MIME was fetched once: resyncs skip stored messages.
    let values = rig
        .fake
        .report()
        .requests
        .iter()
        .filter(|r| r.path.ends_with("/$value") && r.status == 200)
        .count();
    assert_eq!(values, 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reauthorization_and_a_removed_subscription_are_handled() {
    let Some(mut rig) = Rig::start().await else {
        return;
    };
    let first = rig.connect().await.subscription_id.unwrap();
    rig.fake
        .lifecycle(&first, LifecycleEvent::ReauthorizationRequired)
        .unwrap();
    let start = std::time::Instant::now();
    loop {
        let report = rig.fake.report();
        if report
            .requests
            .iter()
            .any(|r| r.path.ends_with(&format!("{first}/reauthorize")) && r.status < 300)
        {
            break;
        }
        assert!(
            start.elapsed() < crate::graph_support::PATIENCE,
            "no reauthorize"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    rig.fake
        .lifecycle(&first, LifecycleEvent::SubscriptionRemoved)
        .unwrap();
    let m = rig
        .until("a new subscription", |m| {
            m.subscription_id.as_deref().is_some_and(|s| s != first)
        })
        .await;
    rig.settle().await;
    // Exactly one live subscription for the mailbox, the recorded one.
    let report = rig.fake.report();
    let live: Vec<_> = report.subscriptions.iter().map(|s| s.id.clone()).collect();
    assert_eq!(live, vec![m.subscription_id.clone().unwrap()]);

    // Still delivering: a message after resubscribing arrives.
    rig.fake
        .deliver(&rig.s.monitored.upn, NewMessage::new(invoice(1)))
        .unwrap();
    rig.until_count(MESSAGES, 1).await;
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_mailbox_removed_from_the_scope_needs_reconnect() {
    let Some(mut rig) = Rig::start().await else {
        return;
    };
    rig.connect().await;
    rig.fake.set_scope(&rig.s.tenant_id, &[]).unwrap();
    rig.enqueue(graph_jobs::SYNC, false).await;
    let m = rig
        .until("needs reconnect", |m| m.health == Health::NeedsReconnect)
        .await;
    rig.settle().await;
    rig.stop().await;
    assert!(m.last_error.unwrap_or_default().contains("403"));
    // Not retried in a loop: the job ended (the maintain run probes later).
    assert_eq!(
        rig.count("select count(*) from job where org_id = $1 and kind = 'graph.sync' and status = 'parked'")
            .await,
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crash_after_storing_a_message_reruns_the_round_without_duplicates() {
    let faults = FaultPlan::none();
    let Some(mut rig) = Rig::start_with(faults.clone(), 35 * 1024 * 1024).await else {
        return;
    };
    rig.connect().await;
    let upn = rig.s.monitored.upn.clone();
    for i in 0..6 {
        rig.fake
            .add_message(&upn, NewMessage::new(invoice(i)))
            .unwrap();
    }
    // The sync dies right after committing one message (as if killed).
    faults.fail_once_at(Step::Stored);
    rig.enqueue(graph_jobs::SYNC, false).await;
    rig.until_count(MESSAGES, 6).await;
    rig.settle().await;
    rig.stop().await;
    assert_eq!(rig.count(MESSAGES).await, 6);
    assert_eq!(
        rig.count("select count(*) from assessment where org_id = $1")
            .await,
        6
    );
    assert_eq!(rig.mailbox().await.health, Health::Healthy);
}

/// How many transactions stored the organisation's messages.
const STORING_TRANSACTIONS: &str =
    "select count(distinct xmin::text) from message where org_id = $1";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_round_over_the_byte_budget_is_stored_in_several_transactions_and_completely() {
    let Some(mut rig) = Rig::start().await else {
        return;
    };
    rig.connect().await;
    // Smaller than any message: each waits for the one before to be stored.
    rig.batch_bytes = Some(1);
    rig.kill_and_restart().await;
    let upn = rig.s.monitored.upn.clone();
    for i in 0..8 {
        rig.fake
            .add_message(&upn, NewMessage::new(invoice(i)))
            .unwrap();
    }
    rig.enqueue(graph_jobs::SYNC, false).await;
    rig.until_count(MESSAGES, 8).await;
    rig.settle().await;
    rig.stop().await;
    assert_eq!(rig.count(DISTINCT).await, 8);
    assert_eq!(
        rig.count("select count(*) from assessment where org_id = $1")
            .await,
        8
    );
    assert_eq!(rig.count(STORING_TRANSACTIONS).await, 8, "one message each");
    assert_eq!(rig.mailbox().await.health, Health::Healthy);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_message_over_the_size_cap_is_recorded_not_dropped_silently() {
    let Some(mut rig) = Rig::start_with(FaultPlan::none(), 4096).await else {
        return;
    };
    rig.connect().await;
    let upn = rig.s.monitored.upn.clone();
    let big = format!("{}\r\n{}", invoice(1), "x".repeat(10_000));
    rig.fake.add_message(&upn, NewMessage::new(big)).unwrap();
    rig.fake
        .add_message(&upn, NewMessage::new(invoice(2)))
        .unwrap();
    rig.enqueue(graph_jobs::SYNC, false).await;
    let m = rig
        .until("degraded", |m| m.health == Health::Degraded)
        .await;
    rig.settle().await;
    rig.stop().await;
    // The small one is stored; the big one is named in the audit log and
    // the mailbox says why it is degraded.
    assert_eq!(rig.count(MESSAGES).await, 1);
    let skipped = rig
        .count(
            "select count(*) from audit_event where org_id = $1 and action = 'message.skipped'
               and details ->> 'reason' = 'too_large'",
        )
        .await;
    assert_eq!(skipped, 1);
    let error = m.last_error.unwrap_or_default();
    assert!(error.contains("4096-byte cap"), "{error}");
    assert!(m.last_sync_at.is_some(), "the round still completed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_notification_during_a_running_round_queues_another_round() {
    let Some(mut rig) = Rig::start().await else {
        return;
    };
    rig.connect().await;
    let upn = rig.s.monitored.upn.clone();
    // A slow Graph, so the first round is still running after reading delta.
    rig.fake.set_switches(|sw| sw.latency_ms = 400);
    let first = rig.fake.deliver(&upn, NewMessage::new(invoice(1))).unwrap();
    let (_, fetching) = rig
        .fake
        .wait_for(crate::graph_support::PATIENCE, |r| {
            r.requests
                .iter()
                .any(|q| q.path.contains(&first) && q.path.ends_with("/$value"))
        })
        .await;
    assert!(fetching, "the first round fetched its message");
    // The round has read delta and is fetching: this notification must not
    // merge into it (the maintain loop is an hour away in the rig).
    rig.fake.deliver(&upn, NewMessage::new(invoice(2))).unwrap();
    rig.until_count(MESSAGES, 2).await;
    rig.stop().await;
    assert_eq!(rig.count(DISTINCT).await, 2);
}
