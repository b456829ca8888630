//! The `/_fake` admin API used by `sentra dev fake-graph`.

use super::{client, eml};
use sentra_testkit::FakeGraph;
use serde_json::{Value, json};

#[tokio::test]
async fn seed_deliver_switch_and_report_over_http() {
    let fake = FakeGraph::start().await;
    let http = client();
    let admin = format!("{}/_fake", fake.root());
    let seeded: Value = http
        .post(format!("{admin}/standard"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let upn = seeded["monitored"].as_str().unwrap();
    let created = http
        .post(format!("{admin}/mailboxes/{upn}/messages"))
        .body(eml(1))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let put = http
        .put(format!("{admin}/switches"))
        .json(&json!({"default_page_size": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 204);
    assert_eq!(fake.switches().default_page_size, 3);
    assert_eq!(
        fake.switches().max_subscription_minutes,
        4230,
        "omitted fields take defaults"
    );
    let fault = json!({"kind": {"type": "status", "status": 503, "code": "serviceNotAvailable", "retry_after": null}});
    assert_eq!(
        http.post(format!("{admin}/faults"))
            .json(&fault)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    let report: Value = http
        .get(format!("{admin}/report"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(report["requests"].as_array().unwrap().is_empty());
    let bad = http
        .post(format!("{admin}/mailboxes/nobody@x/messages"))
        .body(eml(2))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}
