//! Change notifications (clientState, retries, batching, duplicates,
//! order, drops) and lifecycle events.

use super::receiver::{Receiver, Validation};
use super::subscriptions::subscribe;
use super::{Setup, eml, token_request};
use sentra_testkit::{LifecycleEvent, NewMessage};
use serde_json::Value;
use std::time::Duration;

fn quick_retries(t: &Setup) {
    t.fake.set_switches(|s| {
        s.notification_retry_base_ms = 20;
        s.notification_max_attempts = 3;
    });
}

#[tokio::test]
async fn a_delivered_message_notifies_with_client_state() {
    let t = Setup::new().await;
    let r = Receiver::start(Validation::Echo).await;
    let sub = subscribe(&t, &r).await;
    let id = t
        .fake
        .deliver(&t.s.monitored.upn, NewMessage::new(eml(1)))
        .unwrap();
    let posts = r.wait_posts("/graph/notify", 1).await;
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].content_type.as_deref(), Some("application/json"));
    let n = &posts[0].json()["value"][0];
    assert_eq!(n["subscriptionId"], sub.as_str());
    assert_eq!(
        n["clientState"],
        "a-random-client-state-of-reasonable-length"
    );
    assert_eq!(n["changeType"], "created");
    assert_eq!(n["tenantId"], t.s.tenant_id.as_str());
    assert_eq!(n["resourceData"]["id"], id.as_str());
    assert_eq!(
        n["resource"],
        format!("Users/{}/Messages/{id}", t.s.monitored.user_id).as_str()
    );
    // Seeding without delivery notifies nobody.
    t.fake
        .add_message(&t.s.monitored.upn, NewMessage::new(eml(2)))
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(r.posts("/graph/notify").len(), 1);
}

#[tokio::test]
async fn failed_deliveries_are_retried_then_missed_is_sent() {
    let t = Setup::new().await;
    quick_retries(&t);
    let r = Receiver::start(Validation::Echo).await;
    subscribe(&t, &r).await;
    r.push_statuses(&[500, 503]);
    t.fake
        .deliver(&t.s.monitored.upn, NewMessage::new(eml(1)))
        .unwrap();
    let posts = r.wait_posts("/graph/notify", 3).await;
    assert_eq!(posts.len(), 3, "two failures, then delivered");
    let (report, ok) = t
        .fake
        .wait_for(Duration::from_secs(30), |rep| {
            rep.notifications.iter().any(|n| n.outcome == "delivered")
        })
        .await;
    assert!(ok);
    let attempts: Vec<u32> = report
        .notifications
        .iter()
        .filter(|n| n.kind == "change")
        .map(|n| n.attempt)
        .collect();
    assert_eq!(attempts, vec![1, 2, 3]);

    r.push_statuses(&[500, 500, 500]);
    t.fake
        .deliver(&t.s.monitored.upn, NewMessage::new(eml(2)))
        .unwrap();
    let missed = r.wait_posts("/graph/lifecycle", 1).await;
    assert_eq!(missed[0].json()["value"][0]["lifecycleEvent"], "missed");
}

#[tokio::test]
async fn batch_duplicate_out_of_order_and_drop_switches() {
    let t = Setup::new().await;
    let r = Receiver::start(Validation::Echo).await;
    subscribe(&t, &r).await;
    t.fake.set_switches(|s| {
        s.batch_notifications = true;
        s.out_of_order_notifications = true;
        s.duplicate_notifications = true;
    });
    let ids = t
        .fake
        .deliver_many(
            &t.s.monitored.upn,
            (0..3).map(|n| NewMessage::new(eml(n))).collect(),
        )
        .unwrap();
    let posts = r.wait_posts("/graph/notify", 2).await;
    assert_eq!(posts.len(), 2, "one batch, sent twice");
    let got: Vec<String> = posts[0].json()["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["resourceData"]["id"].as_str().unwrap().to_owned())
        .collect();
    let mut reversed = ids.clone();
    reversed.reverse();
    assert_eq!(got, reversed);

    t.fake.set_switches(|s| {
        s.drop_notifications = true;
        s.duplicate_notifications = false;
    });
    t.fake
        .deliver(&t.s.monitored.upn, NewMessage::new(eml(9)))
        .unwrap();
    let (_, ok) = t
        .fake
        .wait_for(Duration::from_secs(30), |rep| {
            rep.notifications.iter().any(|n| n.outcome == "dropped")
        })
        .await;
    assert!(ok);
    assert_eq!(r.posts("/graph/notify").len(), 2);
}

#[tokio::test]
async fn lifecycle_events_reach_the_lifecycle_url() {
    let t = Setup::new().await;
    let r = Receiver::start(Validation::Echo).await;
    let sub = subscribe(&t, &r).await;
    t.fake
        .lifecycle(&sub, LifecycleEvent::ReauthorizationRequired)
        .unwrap();
    t.fake.lifecycle(&sub, LifecycleEvent::Missed).unwrap();
    t.fake
        .lifecycle(&sub, LifecycleEvent::SubscriptionRemoved)
        .unwrap();
    let posts = r.wait_posts("/graph/lifecycle", 3).await;
    let events: Vec<Value> = posts
        .iter()
        .map(|p| p.json()["value"][0]["lifecycleEvent"].clone())
        .collect();
    assert_eq!(
        events,
        vec!["reauthorizationRequired", "missed", "subscriptionRemoved"]
    );
    let first = &posts[0].json()["value"][0];
    assert_eq!(
        first["clientState"],
        "a-random-client-state-of-reasonable-length"
    );
    assert_eq!(first["tenantId"], t.s.tenant_id.as_str());
    assert!(
        t.fake.report().subscriptions.is_empty(),
        "removed means gone"
    );
    assert_eq!(t.get(&format!("/subscriptions/{sub}")).await.status(), 404);
}

#[tokio::test]
async fn narrowing_scope_and_deleting_the_app_emit_lifecycle_events() {
    let t = Setup::new().await;
    let r = Receiver::start(Validation::Echo).await;
    subscribe(&t, &r).await;
    t.fake.set_scope(&t.s.tenant_id, &[]).unwrap();
    let posts = r.wait_posts("/graph/lifecycle", 1).await;
    assert_eq!(
        posts[0].json()["value"][0]["lifecycleEvent"],
        "reauthorizationRequired"
    );
    t.fake.set_consented(&t.s.tenant_id, false).unwrap();
    let posts = r.wait_posts("/graph/lifecycle", 2).await;
    assert_eq!(
        posts[1].json()["value"][0]["lifecycleEvent"],
        "subscriptionRemoved"
    );
    assert!(t.fake.report().subscriptions.is_empty());
    let resp = token_request(
        &t.http,
        &t.fake,
        &t.s.tenant_id,
        &t.s.client_id,
        &t.s.client_secret,
    )
    .await;
    assert_eq!(resp.status(), 401);
}
