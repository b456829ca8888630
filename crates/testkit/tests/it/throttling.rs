//! Throttling: every `Retry-After` variant on 429/503/504, violations of a
//! `Retry-After`, concurrency limits and high-water marks, request windows,
//! connection resets, per-mailbox faults.

use super::{Setup, error_code};
use sentra_testkit::{Fault, LimitScope};
use std::time::Duration;

fn inbox(t: &Setup) -> String {
    format!("{}/mailFolders/inbox", t.mon())
}

#[tokio::test]
async fn every_retry_after_variant_is_served_verbatim() {
    let t = Setup::new().await;
    let cases: [(Fault, u16, &str, Option<&str>); 7] = [
        (Fault::throttled(None), 429, "ApplicationThrottled", None),
        (
            Fault::throttled(Some("1")),
            429,
            "ApplicationThrottled",
            Some("1"),
        ),
        (
            Fault::throttled(Some("0.249")),
            429,
            "ApplicationThrottled",
            Some("0.249"),
        ),
        (
            Fault::status(429, "TooManyRequests", Some("120")),
            429,
            "TooManyRequests",
            Some("120"),
        ),
        (
            Fault::unavailable(503, Some("2")),
            503,
            "serviceNotAvailable",
            Some("2"),
        ),
        (
            Fault::unavailable(503, None),
            503,
            "serviceNotAvailable",
            None,
        ),
        (
            Fault::unavailable(504, None),
            504,
            "serviceNotAvailable",
            None,
        ),
    ];
    for (fault, status, code, retry_after) in cases {
        t.fake.inject(fault);
        let resp = t.get(&inbox(&t)).await;
        assert_eq!(
            resp.headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap()),
            retry_after
        );
        let (got_status, got_code, _) = error_code(resp).await;
        assert_eq!((got_status, got_code.as_str()), (status, code));
    }
}

#[tokio::test]
async fn fault_codes_and_nth_call_and_mailbox_filter() {
    let t = Setup::new().await;
    t.fake.inject(
        Fault::throttled(None)
            .on_call(3)
            .for_mailbox(&t.s.monitored.user_id),
    );
    for _ in 0..2 {
        assert_eq!(t.get(&inbox(&t)).await.status(), 200);
        // Calls to other resources don't count.
        assert_eq!(t.get("/subscriptions").await.status(), 200);
    }
    let (status, code, message) = error_code(t.get(&inbox(&t)).await).await;
    assert_eq!((status, code.as_str()), (429, "ApplicationThrottled"));
    assert_eq!(message, "Application is over its MailboxConcurrency limit.");
    assert_eq!(
        t.get(&inbox(&t)).await.status(),
        200,
        "the fault fired once"
    );
}

#[tokio::test]
async fn requests_before_retry_after_are_violations_and_can_extend_the_penalty() {
    let t = Setup::new().await;
    t.fake.inject(Fault::throttled(Some("120")));
    assert_eq!(t.get(&inbox(&t)).await.status(), 429);
    assert_eq!(
        t.get(&inbox(&t)).await.status(),
        200,
        "recorded, not refused, by default"
    );
    let report = t.fake.report();
    assert_eq!(report.retry_after_violations.len(), 1);
    assert_eq!(
        report.retry_after_violations[0].key,
        format!("mailbox:{}", t.s.monitored.upn)
    );
    t.fake.set_switches(|s| s.extend_penalty = true);
    let again = t.get(&inbox(&t)).await;
    assert_eq!(again.status(), 429);
    assert!(
        again.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 100
    );

    // A decimal Retry-After respected: no violation.
    let ap = t
        .fake
        .add_mailbox(&t.s.tenant_id, "ap@contoso.example", true)
        .unwrap();
    t.fake
        .inject(Fault::throttled(Some("0.249")).for_mailbox(&ap.upn));
    let other = format!("/users/{}/mailFolders/inbox", ap.upn);
    assert_eq!(t.get(&other).await.status(), 429);
    tokio::time::sleep(Duration::from_millis(600)).await;
    let _ = t.get(&other).await;
    let violations = t.fake.report().retry_after_violations;
    assert!(violations.iter().all(|v| !v.key.contains(&ap.upn)));
}

async fn burst(t: &Setup, n: usize) -> Vec<u16> {
    let mut tasks = Vec::new();
    for _ in 0..n {
        let req = t
            .http
            .get(format!("{}{}", t.fake.graph_base(), inbox(t)))
            .bearer_auth(&t.token)
            .send();
        tasks.push(tokio::spawn(req));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap().unwrap().status().as_u16());
    }
    statuses
}

#[tokio::test]
async fn concurrency_limit_and_high_water_mark() {
    let t = Setup::new().await;
    // Generous latency so the requests overlap even on a loaded machine.
    t.fake.set_switches(|s| s.latency_ms = 1500);
    let statuses = burst(&t, 8).await;
    assert!(
        statuses.contains(&429),
        "over 4 in flight per mailbox is refused: {statuses:?}"
    );
    assert!(statuses.contains(&200));
    assert!(t.fake.report().max_in_flight_for(&t.s.monitored.upn) > 4);

    let t = Setup::new().await;
    t.fake.set_switches(|s| {
        s.latency_ms = 300;
        s.concurrency_limit = Some(1);
        s.concurrency_scope = LimitScope::PerApp;
    });
    let statuses = burst(&t, 3).await;
    assert!(statuses.contains(&429), "per-app scope: {statuses:?}");
}

#[tokio::test]
async fn mailbox_request_window_limits_and_reports() {
    let t = Setup::new().await;
    t.fake.set_switches(|s| s.mailbox_requests_per_window = 3);
    for _ in 0..3 {
        assert_eq!(t.get(&inbox(&t)).await.status(), 200);
    }
    let resp = t.get(&inbox(&t)).await;
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().contains_key("retry-after"));
    let key = format!("mailbox:{}", t.s.monitored.upn);
    assert_eq!(t.fake.report().max_requests_per_window.get(&key), Some(&4));
}

#[tokio::test]
async fn connection_reset_breaks_one_response() {
    let t = Setup::new().await;
    t.fake.inject(Fault::connection_reset());
    let url = format!("{}{}", t.fake.graph_base(), inbox(&t));
    // Depending on timing the client sees the break while reading the
    // headers or the body; either way no complete response arrives.
    let broken = match t.http.get(&url).bearer_auth(&t.token).send().await {
        Ok(resp) => resp.bytes().await.is_err(),
        Err(_) => true,
    };
    assert!(broken);
    assert_eq!(t.get(&inbox(&t)).await.status(), 200);
}
