//! Throttling: Retry-After (integer, decimal, missing), attempt caps, long
//! Retry-After failing fast, and at most 4 requests in flight per mailbox.

use crate::{TENANT, setup};
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sentra_graph::GraphError;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A `$value` route that answers `fail_first` times with `status` and the
/// given Retry-After, then with the MIME; it records when each call came.
fn flaky(
    status: StatusCode,
    retry_after: Option<&'static str>,
    fail_first: u32,
) -> (Router, Arc<Mutex<Vec<Instant>>>) {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let c = Arc::clone(&calls);
    let router = Router::new().route(
        "/v1.0/users/{mb}/messages/{id}/$value",
        get(move || {
            let c = Arc::clone(&c);
            async move {
                let n = {
                    let mut c = c.lock().unwrap();
                    c.push(Instant::now());
                    c.len() as u32
                };
                if n <= fail_first {
                    let mut r: Response = (
                        status,
                        r#"{"error":{"code":"ApplicationThrottled","message":"Application is over its MailboxConcurrency limit."}}"#,
                    )
                        .into_response();
                    if let Some(ra) = retry_after {
                        r.headers_mut().insert("retry-after", ra.parse().unwrap());
                    }
                    return r;
                }
                "Subject: hi\r\n\r\nbody".into_response()
            }
        }),
    );
    (router, calls)
}

fn gaps(calls: &Mutex<Vec<Instant>>) -> Vec<Duration> {
    let c = calls.lock().unwrap();
    c.windows(2).map(|w| w[1] - w[0]).collect()
}

#[tokio::test]
async fn integer_retry_after_is_waited_out() {
    let (router, calls) = flaky(StatusCode::TOO_MANY_REQUESTS, Some("1"), 1);
    let (c, _) = setup(router).await;
    let mime = c
        .message_mime(TENANT, "ap@contoso.com", "m1")
        .await
        .unwrap();
    assert_eq!(mime, b"Subject: hi\r\n\r\nbody");
    let g = gaps(&calls);
    assert_eq!(g.len(), 1);
    assert!(
        g[0] >= Duration::from_millis(990),
        "retried after {:?}",
        g[0]
    );
}

#[tokio::test]
async fn decimal_retry_after_is_parsed() {
    let (router, calls) = flaky(StatusCode::SERVICE_UNAVAILABLE, Some("0.249"), 2);
    let (c, _) = setup(router).await;
    c.message_mime(TENANT, "ap@contoso.com", "m1")
        .await
        .unwrap();
    for g in gaps(&calls) {
        assert!(g >= Duration::from_millis(240), "retried after {g:?}");
    }
}

#[tokio::test]
async fn missing_retry_after_backs_off_and_recovers() {
    let (router, calls) = flaky(StatusCode::GATEWAY_TIMEOUT, None, 3);
    let (c, _) = setup(router).await;
    c.message_mime(TENANT, "ap@contoso.com", "m1")
        .await
        .unwrap();
    let g = gaps(&calls);
    assert_eq!(g.len(), 3);
    // Backoff base 20 ms: each wait at least half of 20·2^n.
    for (n, g) in g.iter().enumerate() {
        assert!(
            *g >= Duration::from_millis(10 << n),
            "retry {n} after {g:?}"
        );
    }
}

#[tokio::test]
async fn attempts_are_capped() {
    let (router, calls) = flaky(StatusCode::TOO_MANY_REQUESTS, Some("0"), 100);
    let (c, _) = setup(router).await;
    let err = c
        .message_mime(TENANT, "ap@contoso.com", "m1")
        .await
        .unwrap_err();
    assert!(
        matches!(err, GraphError::Throttled { status: 429, .. }),
        "{err:?}"
    );
    assert!(err.is_transient());
    assert_eq!(calls.lock().unwrap().len(), 4);
}

#[tokio::test]
async fn a_long_retry_after_fails_fast_and_holds_the_mailbox() {
    let (router, calls) = flaky(StatusCode::TOO_MANY_REQUESTS, Some("120"), 100);
    let (c, _) = setup(router).await;
    let err = c
        .message_mime(TENANT, "ap@contoso.com", "m1")
        .await
        .unwrap_err();
    match err {
        GraphError::Throttled { retry_after, .. } => {
            assert_eq!(retry_after, Duration::from_mins(2));
        }
        other => panic!("{other:?}"),
    }
    // The next request for the same mailbox is not sent at all.
    let err = c
        .message_mime(TENANT, "AP@contoso.com", "m2")
        .await
        .unwrap_err();
    assert!(matches!(err, GraphError::Throttled { .. }), "{err:?}");
    assert_eq!(calls.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn at_most_four_requests_in_flight_per_mailbox() {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let total = Arc::new(AtomicU32::new(0));
    let (f, p, t) = (
        Arc::clone(&in_flight),
        Arc::clone(&peak),
        Arc::clone(&total),
    );
    let router = Router::new().route(
        "/v1.0/users/{mb}/messages/{id}/$value",
        get(
            move |axum::extract::Path((mb, _id)): axum::extract::Path<(String, String)>| {
                let (f, p, t) = (Arc::clone(&f), Arc::clone(&p), Arc::clone(&t));
                async move {
                    // Only the first mailbox is measured; the second shows the
                    // cap is per mailbox, not global.
                    let measured = mb == "ap@contoso.com";
                    if measured {
                        let now = f.fetch_add(1, Ordering::SeqCst) + 1;
                        p.fetch_max(now, Ordering::SeqCst);
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    if measured {
                        f.fetch_sub(1, Ordering::SeqCst);
                    }
                    t.fetch_add(1, Ordering::SeqCst);
                    "Subject: x\r\n\r\ny"
                }
            },
        ),
    );
    let (c, _) = setup(router).await;
    let mut tasks = Vec::new();
    for i in 0..24 {
        let c = c.clone();
        let mb = if i % 2 == 0 {
            "ap@contoso.com"
        } else {
            "finance@contoso.com"
        };
        tasks.push(tokio::spawn(async move {
            c.message_mime(TENANT, mb, &format!("m{i}")).await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(total.load(Ordering::SeqCst), 24);
    let peak = peak.load(Ordering::SeqCst);
    assert!((1..=4).contains(&peak), "peak in flight {peak}");
}
