//! Ingest idempotency: the same message twice, the same email in two
//! mailboxes, and a crash (an injected failure) at every step followed by a
//! re-run, each compared with a clean run's final state.

use crate::support::{World, no_alerts};
use sentra_domain::{RiskLevel, Role};
use sentra_ingest::{FaultPlan, Incoming, IngestError, Source, Step};
use sentra_store::ids::MailboxId;
use sentra_store::repo::alert::{self, ChannelKind, NewChannel};
use sentra_testkit::emails::{FRAUD_BANK_CHANGE, LEGIT_INVOICE};

pub(crate) fn incoming<'a>(mailbox: MailboxId, provider_id: &'a str, raw: &'a str) -> Incoming<'a> {
    Incoming {
        mailbox,
        provider_id,
        raw: raw.as_bytes(),
        received_at: Some(time::macros::datetime!(2026-11-02 09:00 UTC)),
    }
}

/// An email channel so that cases also produce alerts and their jobs.
pub(crate) async fn email_channel(w: &World) {
    let mut tx = w.tx().await;
    alert::create(
        &mut tx,
        &w.keys,
        &NewChannel {
            kind: ChannelKind::Email,
            name: "Approvers".to_owned(),
            target: String::new(),
            target_hint: None,
            min_risk: RiskLevel::Medium,
            digest: false,
            email_roles: vec![Role::Approver],
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

/// Stores both emails through the sync path and drains the queue. Alerts
/// fail (no SMTP relay) and are parked: part of the compared state too.
pub(crate) async fn sync_both(w: &World, faults: &FaultPlan) -> Result<(), IngestError> {
    let ingestor = w.ingestor().with_faults(faults.clone());
    ingestor
        .store_raw(w.org, &incoming(w.accounts, "g-1", LEGIT_INVOICE))
        .await?;
    ingestor
        .store_raw(w.org, &incoming(w.accounts, "g-2", FRAUD_BANK_CHANGE))
        .await?;
    let runner = w.runner(ingestor, no_alerts());
    w.drain(&runner).await;
    Ok(())
}

#[tokio::test]
async fn the_same_message_seen_twice_is_stored_and_analysed_once() {
    let Some(w) = World::new().await else { return };
    email_channel(&w).await;
    let clean = FaultPlan::none();
    sync_both(&w, &clean).await.unwrap();
    let once = w.snapshot().await;
    sync_both(&w, &clean).await.unwrap();
    assert_eq!(w.snapshot().await, once);
    assert_eq!(
        once.iter().filter(|r| r.starts_with("message ")).count(),
        2,
        "{once:#?}"
    );
    assert!(
        once.contains(&"case g-2 open critical".to_owned()),
        "{once:#?}"
    );
    assert_eq!(once.iter().filter(|r| r.starts_with("case ")).count(), 1);
}

#[tokio::test]
async fn one_email_delivered_to_two_mailboxes_is_one_message_but_a_forged_message_id_is_not() {
    let Some(w) = World::new().await else { return };
    let ingestor = w.ingestor();
    let a = ingestor
        .store_raw(w.org, &incoming(w.accounts, "acc-1", FRAUD_BANK_CHANGE))
        .await
        .unwrap();
    // The invoices@ copy: another provider id, another transport header.
    let copy = format!("Received: from relay by invoices\r\n{FRAUD_BANK_CHANGE}");
    let b = ingestor
        .store_raw(w.org, &incoming(w.invoices, "inv-9", &copy))
        .await
        .unwrap();
    assert!(a.created && !b.created);
    assert_eq!(a.message_id, b.message_id);
    // Same Message-ID, different content: a forger must not make it a
    // "duplicate" that skips analysis.
    let forged = FRAUD_BANK_CHANGE.replace("63849203", "11223344");
    let c = ingestor
        .store_raw(w.org, &incoming(w.invoices, "inv-10", &forged))
        .await
        .unwrap();
    assert!(c.created);
    assert_ne!(c.message_id, a.message_id);
}

#[tokio::test]
async fn a_crash_at_any_step_of_sync_and_analysis_then_a_rerun_gives_the_clean_final_state() {
    let Some(clean) = World::new().await else {
        return;
    };
    email_channel(&clean).await;
    sync_both(&clean, &FaultPlan::none()).await.unwrap();
    let expected = clean.snapshot().await;
    assert!(
        expected.iter().any(|r| r.starts_with("alert ")),
        "{expected:#?}"
    );

    for step in [
        Step::MessageInserted,
        Step::Stored,
        Step::AssessmentRecorded,
        Step::CaseOpened,
        Step::AlertsEnqueued,
    ] {
        let Some(w) = World::new().await else { return };
        email_channel(&w).await;
        let faults = FaultPlan::none();
        faults.fail_once_at(step);
        // The crash: storing fails outright, or the analyse job fails and
        // its transaction rolls back (the runner retries it).
        let _ = sync_both(&w, &faults).await;
        // The re-run, as sync would do it after a restart.
        sync_both(&w, &FaultPlan::none()).await.unwrap();
        assert_eq!(w.snapshot().await, expected, "after a crash at {step:?}");
    }
}

#[tokio::test]
async fn a_crash_at_any_step_of_an_api_submission_then_a_retry_gives_the_clean_final_state() {
    async fn submit(w: &World, faults: &FaultPlan) -> Result<(), IngestError> {
        let ingestor = w.ingestor().with_faults(faults.clone());
        let mut tx = w.tx().await;
        let mailbox = sentra_store::repo::mailbox::submission_mailbox(&mut tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        ingestor
            .ingest_raw(
                w.org,
                Some(w.owner),
                &incoming(mailbox, "api:fraud", FRAUD_BANK_CHANGE),
                Source::Api,
            )
            .await
            .map(|_| ())
    }
    let Some(clean) = World::new().await else {
        return;
    };
    email_channel(&clean).await;
    submit(&clean, &FaultPlan::none()).await.unwrap();
    let expected = clean.snapshot().await;
    assert!(
        expected.contains(&"audit message.submitted critical".to_owned()),
        "{expected:#?}"
    );

    for step in [
        Step::MessageInserted,
        Step::AssessmentRecorded,
        Step::CaseOpened,
        Step::AlertsEnqueued,
        Step::Analysed,
    ] {
        let Some(w) = World::new().await else { return };
        email_channel(&w).await;
        let faults = FaultPlan::none();
        faults.fail_once_at(step);
        assert!(submit(&w, &faults).await.is_err(), "{step:?}");
        submit(&w, &FaultPlan::none()).await.unwrap();
        assert_eq!(w.snapshot().await, expected, "after a crash at {step:?}");
    }
}

#[tokio::test]
async fn history_from_stored_messages_makes_a_known_sender_no_longer_first_contact() {
    let Some(w) = World::new().await else { return };
    let ingestor = w.ingestor();
    let first = FRAUD_BANK_CHANGE.replace("20261023101540.5521", "first.1");
    let second = FRAUD_BANK_CHANGE
        .replace("20261023101540.5521", "second.2")
        .replace("Fri, 23 Oct 2026", "Sat, 24 Oct 2026");
    let mut at = incoming(w.accounts, "h-1", &first);
    at.received_at = Some(time::macros::datetime!(2026-10-23 10:00 UTC));
    ingestor.store_raw(w.org, &at).await.unwrap();
    let mut later = incoming(w.accounts, "h-2", &second);
    later.received_at = Some(time::macros::datetime!(2026-10-24 10:00 UTC));
    ingestor.store_raw(w.org, &later).await.unwrap();
    let runner = w.runner(ingestor, no_alerts());
    w.drain(&runner).await;
    let signals: Vec<(String, serde_json::Value)> = sqlx::query_as(
        "select m.provider_message_id, a.signals from assessment a join message m on m.id = a.message_id
         where a.org_id = $1 order by m.received_at",
    )
    .bind(w.org.as_uuid())
    .fetch_all(w.db.superuser())
    .await
    .unwrap();
    let codes = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s.get("code").and_then(|c| c.as_str()).map(str::to_owned))
            .collect()
    };
    let first_codes = codes(&signals[0].1);
    let second_codes = codes(&signals[1].1);
    let first_contact = |c: &[String]| c.iter().any(|s| s.contains("first"));
    assert!(first_contact(&first_codes), "{first_codes:?}");
    assert!(!first_contact(&second_codes), "{second_codes:?}");
}
