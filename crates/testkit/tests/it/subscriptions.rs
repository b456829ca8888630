//! Subscriptions: the validation handshake in all its outcomes, expiry
//! limits, renew / reauthorize / delete / list, out-of-scope create.

use super::receiver::{Receiver, Validation};
use super::{Setup, error_code};
use reqwest::Method;
use sentra_testkit::ValidationMode;
use serde_json::{Value, json};
use time::OffsetDateTime;

pub(crate) fn in_hours(h: i64) -> String {
    let t = OffsetDateTime::now_utc() + time::Duration::hours(h);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

pub(crate) fn body(r: &Receiver, upn: &str) -> Value {
    json!({
        "changeType": "created,updated,deleted",
        "notificationUrl": r.notify_url(),
        "lifecycleNotificationUrl": r.lifecycle_url(),
        "resource": format!("users/{upn}/mailFolders('inbox')/messages"),
        "expirationDateTime": in_hours(48),
        "clientState": "a-random-client-state-of-reasonable-length",
        "latestSupportedTlsVersion": "v1_2",
    })
}

/// Creates a subscription on the monitored inbox; returns its id.
pub(crate) async fn subscribe(t: &Setup, r: &Receiver) -> String {
    let resp = t
        .send_json(Method::POST, "/subscriptions", &body(r, &t.s.monitored.upn))
        .await;
    assert_eq!(resp.status(), 201);
    let v: Value = resp.json().await.unwrap();
    v["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn create_validates_both_urls_with_the_decoded_token() {
    let t = Setup::new().await;
    let r = Receiver::start(Validation::Echo).await;
    let resp = t
        .send_json(
            Method::POST,
            "/subscriptions",
            &body(&r, &t.s.monitored.upn),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let sub: Value = resp.json().await.unwrap();
    assert_eq!(sub["applicationId"], t.s.client_id.as_str());
    assert_eq!(
        sub["clientState"],
        "a-random-client-state-of-reasonable-length"
    );
    assert_eq!(sub["lifecycleNotificationUrl"], r.lifecycle_url().as_str());
    let hits = r.hits();
    assert_eq!(hits.len(), 2);
    for h in &hits {
        assert_eq!(h.method, reqwest::Method::POST);
        assert!(h.content_type.as_deref().unwrap().starts_with("text/plain"));
        assert!(h.body.is_empty());
        assert!(
            h.validation_token
                .as_deref()
                .unwrap()
                .starts_with("Validation: Testing client application reachability")
        );
    }
    assert_eq!(t.fake.report().subscriptions.len(), 1);
}

#[tokio::test]
async fn wrong_echo_timeout_and_get_variant() {
    let t = Setup::new().await;
    let wrong = Receiver::start(Validation::WrongEcho).await;
    let resp = t
        .send_json(
            Method::POST,
            "/subscriptions",
            &body(&wrong, &t.s.monitored.upn),
        )
        .await;
    let (status, code, message) = error_code(resp).await;
    assert_eq!((status, code.as_str()), (400, "InvalidRequest"));
    assert!(message.starts_with("Subscription validation request failed."));

    t.fake.set_switches(|s| s.validation_timeout_ms = 300);
    let hang = Receiver::start(Validation::Hang).await;
    let resp = t
        .send_json(
            Method::POST,
            "/subscriptions",
            &body(&hang, &t.s.monitored.upn),
        )
        .await;
    assert_eq!(
        error_code(resp).await.2,
        "Subscription validation request timed out."
    );

    t.fake.set_switches(|s| {
        s.validation_timeout_ms = 10_000;
        s.validation = ValidationMode::Get;
    });
    let get = Receiver::start(Validation::Echo).await;
    let resp = t
        .send_json(
            Method::POST,
            "/subscriptions",
            &body(&get, &t.s.monitored.upn),
        )
        .await;
    assert_eq!(resp.status(), 201);
    assert!(get.hits().iter().all(|h| h.method == reqwest::Method::GET));
    assert_eq!(
        t.fake.report().subscriptions.len(),
        1,
        "failed creates leave nothing behind"
    );
}

#[tokio::test]
async fn expiry_limits_renew_reauthorize_delete_and_list() {
    let t = Setup::new().await;
    let r = Receiver::start(Validation::Echo).await;
    let mut long = body(&r, &t.s.monitored.upn);
    long["expirationDateTime"] = json!(in_hours(24 * 4));
    let (status, _, message) =
        error_code(t.send_json(Method::POST, "/subscriptions", &long).await).await;
    assert_eq!(
        (status, message.as_str()),
        (
            400,
            "Subscription expiration can only be 4230 minutes in the future."
        )
    );

    let id = subscribe(&t, &r).await;
    let renew = t
        .send_json(
            Method::PATCH,
            &format!("/subscriptions/{id}"),
            &json!({"expirationDateTime": in_hours(60)}),
        )
        .await;
    assert_eq!(renew.status(), 200);
    let reauth = t
        .send_json(
            Method::POST,
            &format!("/subscriptions/{id}/reauthorize"),
            &json!({}),
        )
        .await;
    assert!(reauth.status().is_success());
    let list: Value = t.get("/subscriptions").await.json().await.unwrap();
    assert_eq!(list["value"].as_array().unwrap().len(), 1);

    t.fake.expire_subscription(&id).unwrap();
    let renew = t
        .send_json(
            Method::PATCH,
            &format!("/subscriptions/{id}"),
            &json!({"expirationDateTime": in_hours(48)}),
        )
        .await;
    assert_eq!(
        renew.status(),
        404,
        "expired: renew answers 404, client recreates"
    );

    let id2 = subscribe(&t, &r).await;
    let del = t
        .http
        .delete(format!("{}/subscriptions/{id2}", t.fake.graph_base()))
        .bearer_auth(&t.token)
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), 204);
    assert_eq!(t.get(&format!("/subscriptions/{id2}")).await.status(), 404);
    assert!(t.fake.report().subscriptions.is_empty());
}

#[tokio::test]
async fn out_of_scope_mailbox_cannot_be_subscribed() {
    let t = Setup::new().await;
    let r = Receiver::start(Validation::Echo).await;
    let resp = t
        .send_json(
            Method::POST,
            "/subscriptions",
            &body(&r, &t.s.unmonitored.upn),
        )
        .await;
    assert_eq!(error_code(resp).await.1, "ExtensionError");
    assert!(r.hits().is_empty(), "no validation for a refused create");
    let report = t.fake.report();
    assert!(report.out_of_scope_attempts.contains(&t.s.unmonitored.upn));
    assert!(report.out_of_scope_reads.is_empty());
}
