//! The organisation-wide Microsoft 365 changes: recording a scope check
//! (secrets once, `graph.subscribe` once, one audit event) and disconnecting
//! everything (secrets gone, jobs cancelled, connection forgotten, one
//! audit event; nothing to do the second time).

use crate::support;
use sentra_domain::graph_jobs;
use sentra_store::audit;
use sentra_store::crypto::{Keyring, SecretString};
use sentra_store::queue;
use sentra_store::repo::graph_connection::{self, ConnectionStatus};
use sentra_store::repo::m365_connect::{self, Cleared};
use sentra_store::repo::m365_mailbox::{self, WebhookSecrets};
use sentra_store::testing::TestDb;
use serde_json::json;
use time::OffsetDateTime;

fn secrets() -> WebhookSecrets {
    WebhookSecrets {
        tenant_id: "t1".into(),
        client_state: SecretString::from("client-state".to_owned()),
        path_token: SecretString::from("path-token".to_owned()),
    }
}

async fn actions(tx: &mut sentra_store::TenantTx) -> Vec<String> {
    audit::list(tx, 0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect()
}

#[tokio::test]
async fn a_scope_check_and_a_disconnect_are_one_audit_event_each() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let keys = Keyring::generate_insecure_dev().unwrap();
    let pool = db.app_pool();
    let (org, owner) = support::org(pool, "Apex").await;
    let mut tx = support::tx(pool, org, owner).await;
    graph_connection::begin_consent(&mut tx, "st")
        .await
        .unwrap();
    assert!(
        graph_connection::complete_consent(&mut tx, "st", "t1")
            .await
            .unwrap()
    );
    let id = m365_mailbox::add(&mut tx, "ap@contoso.com", OffsetDateTime::now_utc())
        .await
        .unwrap();
    let before = actions(&mut tx).await.len();
    let report = json!({ "verified": true });
    let cleared = [Cleared {
        mailbox: id,
        secrets: secrets(),
    }];
    let done = m365_connect::record_scope_check(&mut tx, &keys, true, &report, &[id], &cleared)
        .await
        .unwrap();
    assert_eq!((done.secrets_created, done.subscribe_enqueued), (1, 1));
    assert_eq!(&actions(&mut tx).await[before..], ["m365.scope_check"]);
    // Again: the secrets stay (a live subscription uses them), the job is deduplicated.
    let again = [Cleared {
        mailbox: id,
        secrets: secrets(),
    }];
    m365_connect::record_scope_check(&mut tx, &keys, true, &report, &[id], &again)
        .await
        .unwrap();
    assert!(
        m365_mailbox::secrets(&mut tx, &keys, id)
            .await
            .unwrap()
            .is_some()
    );
    let jobs = queue::list_kind(&mut tx, graph_jobs::SUBSCRIBE, "queued")
        .await
        .unwrap();
    assert_eq!(jobs.len(), 1);
    let last = m365_connect::last_scope_check(&mut tx)
        .await
        .unwrap()
        .unwrap();
    assert!(last.verified);

    let before = actions(&mut tx).await.len();
    let gone = m365_connect::disconnect_all(&mut tx, &json!({ "deleted": [] }))
        .await
        .unwrap()
        .expect("something to disconnect");
    assert_eq!(gone.tenant_id.as_deref(), Some("t1"));
    assert_eq!(gone.mailboxes, ["ap@contoso.com"]);
    assert_eq!(gone.credentials_deleted, 1);
    assert_eq!(gone.jobs_cancelled, 1);
    assert_eq!(&actions(&mut tx).await[before..], ["m365.disconnect"]);
    assert!(
        m365_mailbox::secrets(&mut tx, &keys, id)
            .await
            .unwrap()
            .is_none()
    );
    let c = graph_connection::get(&mut tx).await.unwrap().unwrap();
    assert_eq!(c.status, ConnectionStatus::Disconnected);
    assert!(c.tenant_id.is_none());
    assert!(
        m365_connect::last_scope_check(&mut tx)
            .await
            .unwrap()
            .is_none()
    );
    // Nothing left: no second event.
    assert!(
        m365_connect::disconnect_all(&mut tx, &json!({}))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(actions(&mut tx).await.len(), before + 1);
    tx.commit().await.unwrap();
}
