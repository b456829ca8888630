//! The periodic safety net: a starting worker re-seeds one maintain job per
//! active mailbox (never two), each run renews a subscription near expiry,
//! polls delta and schedules exactly one successor in the future, and a
//! disconnected mailbox's loop stops.

use crate::graph_support::{Rig, invoice};
use sentra_domain::graph_jobs;
use sentra_store::repo::m365_mailbox;
use sentra_testkit::NewMessage;

const LIVE_MAINTAIN: &str = "select count(*) from job where org_id = $1
    and kind = 'graph.maintain' and status in ('queued', 'running')";
const FUTURE_MAINTAIN: &str = "select count(*) from job where org_id = $1
    and kind = 'graph.maintain' and status = 'queued' and run_at > now() + interval '30 minutes'";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn seeding_adds_one_loop_per_mailbox_and_each_run_schedules_one_successor() {
    let Some(mut rig) = Rig::start().await else {
        return;
    };
    rig.connect().await;
    // The world's two other mailboxes were never connected: out of the way.
    {
        let mut tx = rig.w.tx().await;
        for id in [rig.w.accounts, rig.w.invoices] {
            m365_mailbox::disconnect(&mut tx, id).await.unwrap();
        }
        tx.commit().await.unwrap();
    }
    // Subscribing started the loop; seeding (twice, as two workers
    // starting would) adds nothing more.
    assert_eq!(rig.count(LIVE_MAINTAIN).await, 1);
    let pool = rig.w.pool().clone();
    assert_eq!(sentra_worker::graph::seed_maintain(&pool).await.unwrap(), 0);
    assert_eq!(sentra_worker::graph::seed_maintain(&pool).await.unwrap(), 0);
    assert_eq!(rig.count(LIVE_MAINTAIN).await, 1);

    // The loop is lost (its job cancelled, as a crash that parked it would);
    // a starting worker brings it back, due now.
    sqlx::query("update job set status = 'cancelled' where kind = 'graph.maintain'")
        .execute(rig.w.db.superuser())
        .await
        .unwrap();
    // A subscription near expiry, and mail the webhook never announced.
    sqlx::query("update mailbox set subscription_expires_at = now() + interval '1 hour'")
        .execute(rig.w.db.superuser())
        .await
        .unwrap();
    rig.fake
        .add_message(&rig.s.monitored.upn, NewMessage::new(invoice(1)))
        .unwrap();
    assert_eq!(sentra_worker::graph::seed_maintain(&pool).await.unwrap(), 1);

    // The run renews, polls (the silent message arrives) and schedules one
    // successor an interval (1 h in the rig) ahead.
    rig.until_count("select count(*) from message where org_id = $1", 1)
        .await;
    rig.until_count(FUTURE_MAINTAIN, 1).await;
    let m = rig
        .until("renewed", |m| {
            m.subscription_expires_at
                .is_some_and(|e| e > time::OffsetDateTime::now_utc() + time::Duration::hours(40))
        })
        .await;
    rig.settle().await;
    assert_eq!(rig.count(LIVE_MAINTAIN).await, 1);
    assert!(
        rig.fake
            .report()
            .requests
            .iter()
            .any(|r| r.method == "PATCH" && r.path.contains("/subscriptions/")),
        "the subscription was renewed with PATCH"
    );
    assert!(m.subscription_id.is_some());

    // Disconnected: the next run ends the loop.
    {
        let mut tx = rig.w.tx().await;
        m365_mailbox::disconnect(&mut tx, rig.mailbox)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    rig.enqueue(graph_jobs::MAINTAIN, false).await;
    rig.until_count(
        "select count(*) from job where org_id = $1 and kind = 'graph.maintain' and status = 'done'
            and updated_at > now() - interval '1 minute'",
        2,
    )
    .await;
    rig.stop().await;
    assert_eq!(rig.count(LIVE_MAINTAIN).await, 0);
    assert_eq!(sentra_worker::graph::seed_maintain(&pool).await.unwrap(), 0);
}
