//! The Microsoft 365 repositories: admin consent round trip, monitored
//! mailboxes and their sync state, webhook secrets (encrypted), and
//! disconnect (credential gone, Graph jobs cancelled, audited).

use crate::support;
use sentra_domain::graph_jobs::{self, MailboxJob};
use sentra_store::StoreError;
use sentra_store::audit;
use sentra_store::crypto::{ExposeSecret, Keyring, SecretString};
use sentra_store::queue::{self, NewJob};
use sentra_store::repo::graph_connection::{self, ConnectionStatus};
use sentra_store::repo::m365_mailbox::{self, Health, WebhookSecrets};
use sentra_store::testing::TestDb;
use time::OffsetDateTime;
use time::macros::datetime;

fn keys() -> &'static Keyring {
    static KEYS: std::sync::OnceLock<Keyring> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| Keyring::generate_insecure_dev().unwrap())
}

#[tokio::test]
async fn consent_round_trip_accepts_the_state_once() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let pool = db.app_pool();
    let (org, owner) = support::org(pool, "Apex").await;
    let mut tx = support::tx(pool, org, owner).await;
    assert!(graph_connection::get(&mut tx).await.unwrap().is_none());
    graph_connection::begin_consent(&mut tx, "state-1")
        .await
        .unwrap();
    assert!(
        graph_connection::state_matches(&mut tx, "state-1")
            .await
            .unwrap()
    );
    assert!(
        !graph_connection::state_matches(&mut tx, "state-2")
            .await
            .unwrap()
    );
    assert!(
        !graph_connection::complete_consent(&mut tx, "forged", "t1")
            .await
            .unwrap()
    );
    assert!(
        graph_connection::complete_consent(&mut tx, "state-1", "t1")
            .await
            .unwrap()
    );
    // Replaying the redirect does nothing.
    assert!(
        !graph_connection::complete_consent(&mut tx, "state-1", "t2")
            .await
            .unwrap()
    );
    let c = graph_connection::get(&mut tx).await.unwrap().unwrap();
    assert_eq!(
        (c.status, c.tenant_id.as_deref()),
        (ConnectionStatus::Consented, Some("t1"))
    );
    assert!(graph_connection::disconnect(&mut tx).await.unwrap());
    assert!(!graph_connection::disconnect(&mut tx).await.unwrap());
    let c = graph_connection::get(&mut tx).await.unwrap().unwrap();
    assert_eq!(
        (c.status, c.tenant_id),
        (ConnectionStatus::Disconnected, None)
    );
    let actions: Vec<String> = audit::list(&mut tx, 0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    for a in [
        "m365.consent.start",
        "m365.consent.granted",
        "m365.disconnect",
    ] {
        assert_eq!(
            actions.iter().filter(|x| *x == a).count(),
            1,
            "{a} in {actions:?}"
        );
    }
    tx.commit().await.unwrap();

    // Another organisation sees no connection and cannot use the state.
    let (other, other_owner) = support::org(pool, "Other").await;
    let mut tx = support::tx(pool, other, other_owner).await;
    assert!(graph_connection::get(&mut tx).await.unwrap().is_none());
}

#[tokio::test]
async fn mailboxes_keep_sync_state_and_health() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let pool = db.app_pool();
    let (org, owner) = support::org(pool, "Apex").await;
    let mut tx = support::tx(pool, org, owner).await;
    let since = datetime!(2026-11-01 00:00 UTC);
    let id = m365_mailbox::add(&mut tx, " AP@Contoso.com ", since)
        .await
        .unwrap();
    let err = m365_mailbox::add(&mut tx, "ap@contoso.com", since)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");

    let m = m365_mailbox::get(&mut tx, id).await.unwrap();
    assert_eq!(
        (m.address.as_str(), m.health, m.sync_since),
        ("ap@contoso.com", Health::Healthy, Some(since))
    );
    m365_mailbox::save_delta_link(&mut tx, id, Some("http://g/delta?$deltatoken=1"))
        .await
        .unwrap();
    let exp = OffsetDateTime::now_utc() + time::Duration::hours(48);
    m365_mailbox::set_subscription(&mut tx, id, Some("sub-1"), Some(exp))
        .await
        .unwrap();
    m365_mailbox::set_health(&mut tx, id, Health::Degraded, Some("throttled 429"))
        .await
        .unwrap();
    m365_mailbox::set_health(&mut tx, id, Health::Degraded, Some("throttled again"))
        .await
        .unwrap();
    let m = m365_mailbox::lock(&mut tx, id).await.unwrap();
    assert_eq!(
        m.delta_link.as_deref(),
        Some("http://g/delta?$deltatoken=1")
    );
    assert_eq!(m.subscription_id.as_deref(), Some("sub-1"));
    assert_eq!(
        (m.health, m.last_error.as_deref()),
        (Health::Degraded, Some("throttled again"))
    );
    assert!(m.last_sync_at.is_some());
    // A completed round heals the mailbox.
    m365_mailbox::save_delta_link(&mut tx, id, Some("http://g/delta?$deltatoken=2"))
        .await
        .unwrap();
    let m = m365_mailbox::get(&mut tx, id).await.unwrap();
    assert_eq!((m.health, m.last_error), (Health::Healthy, None));
    let health_events = audit::list(&mut tx, 0, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "mailbox.health")
        .count();
    // Healthy → degraded is audited once; refreshing the error is not.
    assert_eq!(health_events, 1);
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn disconnect_removes_secrets_cancels_jobs_and_is_audited() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let pool = db.app_pool();
    let (org, owner) = support::org(pool, "Apex").await;
    let mut tx = support::tx(pool, org, owner).await;
    let id = m365_mailbox::add(&mut tx, "ap@contoso.com", OffsetDateTime::now_utc())
        .await
        .unwrap();
    let other = m365_mailbox::add(&mut tx, "finance@contoso.com", OffsetDateTime::now_utc())
        .await
        .unwrap();
    let secrets = WebhookSecrets {
        tenant_id: "t1".into(),
        client_state: SecretString::from("cs-secret".to_owned()),
        path_token: SecretString::from("path-secret".to_owned()),
    };
    m365_mailbox::store_secrets(&mut tx, keys(), id, &secrets)
        .await
        .unwrap();
    let back = m365_mailbox::secrets(&mut tx, keys(), id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back.client_state.expose_secret(), "cs-secret");
    assert_eq!(back.path_token.expose_secret(), "path-secret");
    assert!(!format!("{back:?}").contains("secret"));
    m365_mailbox::set_subscription(&mut tx, id, Some("sub-1"), None)
        .await
        .unwrap();
    let mut jobs = Vec::new();
    for m in [id, other] {
        let job = MailboxJob {
            mailbox_id: m.as_uuid(),
            full: false,
        };
        for kind in graph_jobs::ALL {
            let new = NewJob::new(kind, serde_json::to_value(job).unwrap())
                .dedupe_key(job.dedupe_key(kind));
            jobs.push((m, queue::enqueue(&mut tx, &new).await.unwrap().id));
        }
    }

    let gone = m365_mailbox::disconnect(&mut tx, id).await.unwrap();
    assert_eq!(gone.subscription_id.as_deref(), Some("sub-1"));
    assert!(
        m365_mailbox::secrets(&mut tx, keys(), id)
            .await
            .unwrap()
            .is_none()
    );
    let m = m365_mailbox::get(&mut tx, id).await.unwrap();
    assert_eq!(
        (m.status.as_str(), m.subscription_id, m.delta_link),
        ("disconnected", None, None)
    );
    for (m, job) in jobs {
        let status = queue::get(&mut tx, job).await.unwrap().unwrap().status;
        let expected = if m == id { "cancelled" } else { "queued" };
        assert_eq!(status, expected);
    }
    // Saving sync state for a disconnected mailbox is refused.
    assert!(
        m365_mailbox::save_delta_link(&mut tx, id, Some("x"))
            .await
            .is_err()
    );
    // It can be added again, starting afresh.
    let again = m365_mailbox::add(&mut tx, "ap@contoso.com", OffsetDateTime::now_utc())
        .await
        .unwrap();
    assert_eq!(again, id);
    tx.commit().await.unwrap();
}
