//! The Graph webhooks: the validation handshake (POST and GET), change
//! notifications authenticated by path token and clientState (constant-time
//! compare) enqueuing one deduplicated sync job, lifecycle events mapped to
//! their jobs, cross-origin POSTs accepted (outside the origin check), and a
//! disconnected mailbox's notifications refused.

use crate::TestApp;
use reqwest::StatusCode;
use sentra_domain::OrgId;
use sentra_domain::graph_jobs;
use sentra_store::crypto::SecretString;
use sentra_store::ids::MailboxId;
use sentra_store::queue::{self, JobId};
use sentra_store::repo::m365_mailbox::{self, WebhookSecrets};
use serde_json::json;

const TENANT: &str = "9b1c0000-0000-0000-0000-00000000c0de";
const CLIENT_STATE: &str = "client-state-0123456789";
const PATH_TOKEN: &str = "path-token-abcdef";

async fn connected_mailbox(app: &TestApp, org: OrgId) -> MailboxId {
    let mut tx = app.tx(org).await;
    let id = m365_mailbox::add(&mut tx, "ap@contoso.com", time::OffsetDateTime::now_utc())
        .await
        .unwrap();
    let secrets = WebhookSecrets {
        tenant_id: TENANT.into(),
        client_state: SecretString::from(CLIENT_STATE.to_owned()),
        path_token: SecretString::from(PATH_TOKEN.to_owned()),
    };
    m365_mailbox::store_secrets(&mut tx, &app.keys, id, &secrets)
        .await
        .unwrap();
    m365_mailbox::set_subscription(&mut tx, id, Some("sub-1"), None)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    id
}

fn notification(client_state: &str) -> serde_json::Value {
    json!({"value":[{"id":"n1","subscriptionId":"sub-1","subscriptionExpirationDateTime":"2026-11-10T10:00:00Z",
        "clientState":client_state,"changeType":"created","resource":"Users/u1/Messages/m1","tenantId":TENANT,
        "resourceData":{"@odata.type":"#Microsoft.Graph.Message","@odata.id":"Users/u1/Messages/m1","id":"m1"}}]})
}

/// The organisation's live jobs of `kind` as (id, payload).
async fn live_jobs(app: &TestApp, org: OrgId, ids: &[JobId]) -> Vec<(String, serde_json::Value)> {
    let mut tx = app.tx(org).await;
    let mut out = Vec::new();
    for id in ids {
        if let Some(j) = queue::get(&mut tx, *id).await.unwrap() {
            out.push((j.kind, j.payload.0));
        }
    }
    out
}

/// Enqueues (deduplicated) the same jobs the endpoint would, to learn their
/// ids: the dedupe key returns the live job.
async fn job_id(
    app: &TestApp,
    org: OrgId,
    mailbox: MailboxId,
    kind: &str,
    full: bool,
) -> (JobId, bool) {
    let job = graph_jobs::MailboxJob {
        mailbox_id: mailbox.as_uuid(),
        full,
    };
    let mut tx = app.tx(org).await;
    let e = queue::enqueue(
        &mut tx,
        &queue::NewJob::new(kind, serde_json::to_value(job).unwrap())
            .dedupe_key(job.dedupe_key(kind)),
    )
    .await
    .unwrap();
    tx.rollback().await.unwrap();
    (e.id, e.created)
}

#[tokio::test]
async fn the_validation_handshake_echoes_the_token_as_plain_text() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    for path in ["/graph/notify/x/y/z", "/graph/lifecycle/x/y/z"] {
        let res = app
            .client
            .post(app.url(&format!(
                "{path}?validationToken=Validation%3A%20Testing%20client%20application%20%3Cb%3E"
            )))
            .header("content-type", "text/plain; charset=utf-8")
            .header("origin", "https://graph.microsoft.com")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain")
        );
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
        assert_eq!(
            res.text().await.unwrap(),
            "Validation: Testing client application <b>"
        );
        let res = app.get(&format!("{path}?validationToken=abc"), None).await;
        assert_eq!(res.text().await.unwrap(), "abc");
    }
}

#[tokio::test]
async fn a_notification_enqueues_one_sync_job_and_answers_202() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let owner = app.seed("owner@apex.test", false).await;
    let mailbox = connected_mailbox(&app, owner.org).await;
    let path = format!("/graph/notify/{}/{}/{PATH_TOKEN}", owner.org, mailbox);
    for _ in 0..3 {
        // Cross-site, as Microsoft's calls are: not refused by the origin check.
        let res = app
            .client
            .post(app.url(&path))
            .header("origin", "https://graph.microsoft.com")
            .header("sec-fetch-site", "cross-site")
            .json(&notification(CLIENT_STATE))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::ACCEPTED);
    }
    let (id, created) = job_id(&app, owner.org, mailbox, graph_jobs::SYNC, false).await;
    assert!(!created, "the endpoint enqueued no sync job");
    let jobs = live_jobs(&app, owner.org, &[id]).await;
    assert_eq!(jobs[0].0, graph_jobs::SYNC);
    assert_eq!(jobs[0].1["mailbox_id"], mailbox.to_string());
}

#[tokio::test]
async fn wrong_client_state_token_or_org_is_refused_and_enqueues_nothing() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let owner = app.seed("owner@apex.test", false).await;
    let other = app.seed("owner@other.test", false).await;
    let mailbox = connected_mailbox(&app, owner.org).await;
    let cases = [
        (
            format!("/graph/notify/{}/{}/{PATH_TOKEN}", owner.org, mailbox),
            notification("wrong-state"),
            StatusCode::FORBIDDEN,
        ),
        (
            format!("/graph/notify/{}/{}/wrong-token", owner.org, mailbox),
            notification(CLIENT_STATE),
            StatusCode::NOT_FOUND,
        ),
        (
            format!("/graph/notify/{}/{}/{PATH_TOKEN}", other.org, mailbox),
            notification(CLIENT_STATE),
            StatusCode::NOT_FOUND,
        ),
        (
            format!("/graph/notify/not-a-uuid/{mailbox}/{PATH_TOKEN}"),
            notification(CLIENT_STATE),
            StatusCode::NOT_FOUND,
        ),
        (
            format!("/graph/notify/{}/{}/{PATH_TOKEN}", owner.org, mailbox),
            json!({"nope": 1}),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (path, body, status) in cases {
        let res = app.post(&path, &body, None).await;
        assert_eq!(res.status(), status, "{path}");
        assert_eq!(res.headers()["content-type"], "application/json");
    }
    let (_, created) = job_id(&app, owner.org, mailbox, graph_jobs::SYNC, false).await;
    assert!(created, "a refused notification enqueued a job");
}

#[tokio::test]
async fn lifecycle_events_map_to_their_jobs() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let owner = app.seed("owner@apex.test", false).await;
    let mailbox = connected_mailbox(&app, owner.org).await;
    let path = format!("/graph/lifecycle/{}/{}/{PATH_TOKEN}", owner.org, mailbox);
    let event = |e: &str| json!({"subscriptionId":"sub-1","tenantId":TENANT,"clientState":CLIENT_STATE,"lifecycleEvent":e});
    let body = json!({"value":[event("reauthorizationRequired"), event("subscriptionRemoved"), event("missed"), event("somethingNew")]});
    let res = app.post(&path, &body, None).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    for (kind, full) in [
        (graph_jobs::REAUTHORIZE, false),
        (graph_jobs::SUBSCRIBE, false),
        (graph_jobs::SYNC, true),
    ] {
        let (_, created) = job_id(&app, owner.org, mailbox, kind, full).await;
        assert!(!created, "{kind} full={full} was not enqueued");
    }
    // A plain sync was not asked for.
    let (_, created) = job_id(&app, owner.org, mailbox, graph_jobs::SYNC, false).await;
    assert!(created);
    let bad = json!({"value":[{"subscriptionId":"sub-1","tenantId":TENANT,"clientState":"x","lifecycleEvent":"missed"}]});
    assert_eq!(
        app.post(&path, &bad, None).await.status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn a_disconnected_mailbox_refuses_notifications() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let owner = app.seed("owner@apex.test", false).await;
    let mailbox = connected_mailbox(&app, owner.org).await;
    let mut tx = app.tx(owner.org).await;
    m365_mailbox::disconnect(&mut tx, mailbox).await.unwrap();
    tx.commit().await.unwrap();
    let path = format!("/graph/notify/{}/{}/{PATH_TOKEN}", owner.org, mailbox);
    let res = app.post(&path, &notification(CLIENT_STATE), None).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let (_, created) = job_id(&app, owner.org, mailbox, graph_jobs::SYNC, false).await;
    assert!(created);
}

/// Log lines written while the guard lives, as in production (JSON with the
/// current span's fields). Works because `#[tokio::test]` runs the server's
/// tasks on the test's thread, where the default subscriber is set.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

// Run alone (scripts/test.sh runs it by name): a scoped tracing subscriber
// shares the process-wide callsite-interest cache with every test running
// beside it, and in a full parallel run it intermittently captured nothing.
#[tokio::test]
#[ignore = "needs a process of its own; scripts/test.sh runs it by name"]
async fn webhook_path_tokens_never_reach_the_logs() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "sentra_web=trace,tower_http=trace",
        ))
        .with_writer(move || writer.clone())
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(true)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let owner = app.seed("owner@apex.test", false).await;
    let mailbox = connected_mailbox(&app, owner.org).await;
    let prefix = format!("{}/{}/{PATH_TOKEN}", owner.org, mailbox);
    let cases = [
        // The warning path: a wrong clientState.
        (
            format!("/graph/notify/{prefix}"),
            notification("wrong-state"),
            StatusCode::FORBIDDEN,
        ),
        // Bad bodies.
        (
            format!("/graph/notify/{prefix}"),
            json!({"nope": 1}),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("/graph/lifecycle/{prefix}"),
            json!([1, 2]),
            StatusCode::BAD_REQUEST,
        ),
        // A near miss that falls through to the 404 fallback.
        (
            format!("/graph/notify/{prefix}/extra"),
            json!({}),
            StatusCode::NOT_FOUND,
        ),
    ];
    for (path, body, status) in cases {
        let res = app.post(&path, &body, None).await;
        assert_eq!(res.status(), status, "{path}");
    }
    let text = logs.text();
    assert!(
        text.contains("graph notification with a wrong clientState or tenant refused"),
        "the warning was not captured"
    );
    assert!(
        text.contains(&format!(
            "/graph/notify/{}/{}/[redacted]",
            owner.org, mailbox
        )),
        "the request spans were not captured"
    );
    assert!(
        !text.contains(PATH_TOKEN),
        "a webhook path token reached the logs"
    );
}
