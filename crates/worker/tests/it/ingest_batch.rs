//! A sync batch (`Ingestor::ingest_many`): stored and analysed in one
//! transaction, in received order whatever order it is given in, with the
//! same final state as one job per message, a crash at any step followed
//! by a re-run giving that state again, and the fallbacks to one job per
//! message for a message that cannot be analysed in the batch.

use crate::ingest::{email_channel, incoming, sync_both};
use crate::support::{World, no_alerts};
use sentra_engine::TextExtractor;
use sentra_engine::attachment::ExtractError;
use sentra_ingest::{FaultPlan, Incoming, IngestError, Step};
use sentra_testkit::emails::{FRAUD_BANK_CHANGE, LEGIT_INVOICE};
use std::sync::Arc;

/// Ingests both emails as one batch, fraud first, and drains the queue
/// (the alerts' jobs, parked for want of an SMTP relay).
async fn sync_batch(w: &World, faults: &FaultPlan) -> Result<(), IngestError> {
    let ingestor = w.ingestor().with_faults(faults.clone());
    ingestor
        .ingest_many(
            w.org,
            &[
                incoming(w.accounts, "g-2", FRAUD_BANK_CHANGE),
                incoming(w.accounts, "g-1", LEGIT_INVOICE),
            ],
        )
        .await?;
    let runner = w.runner(ingestor, no_alerts());
    w.drain(&runner).await;
    Ok(())
}

/// The snapshot without the rows of `analyse_message` jobs, which only the
/// one-job-per-message path has.
async fn without_analyse_jobs(w: &World) -> Vec<String> {
    let mut rows = w.snapshot().await;
    rows.retain(|r| !r.starts_with("job analyse_message "));
    rows
}

async fn count(w: &World, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql)
        .bind(w.org.as_uuid())
        .fetch_one(w.db.superuser())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_batch_ends_as_one_job_per_message_and_a_crash_at_any_step_then_a_rerun_ends_the_same() {
    let Some(jobs) = World::new().await else {
        return;
    };
    email_channel(&jobs).await;
    sync_both(&jobs, &FaultPlan::none()).await.unwrap();
    let expected = without_analyse_jobs(&jobs).await;
    assert!(
        expected.iter().any(|r| r.starts_with("alert ")),
        "{expected:#?}"
    );
    assert!(
        expected.contains(&"audit message.analysed critical".to_owned()),
        "{expected:#?}"
    );

    let Some(w) = World::new().await else { return };
    email_channel(&w).await;
    sync_batch(&w, &FaultPlan::none()).await.unwrap();
    assert_eq!(w.snapshot().await, expected, "a batch, no crash");
    // The same batch again (a re-run of the round) changes nothing.
    sync_batch(&w, &FaultPlan::none()).await.unwrap();
    assert_eq!(w.snapshot().await, expected, "the batch seen twice");

    for step in [
        Step::MessageInserted,
        Step::AssessmentRecorded,
        Step::CaseOpened,
        Step::AlertsEnqueued,
        Step::Stored,
        Step::Analysed,
    ] {
        let Some(w) = World::new().await else { return };
        email_channel(&w).await;
        let faults = FaultPlan::none();
        faults.fail_once_at(step);
        assert!(sync_batch(&w, &faults).await.is_err(), "{step:?}");
        let stored = count(&w, "select count(*) from message where org_id = $1").await;
        let committed = matches!(step, Step::Stored | Step::Analysed);
        assert_eq!(stored, if committed { 2 } else { 0 }, "{step:?}");
        sync_batch(&w, &FaultPlan::none()).await.unwrap();
        assert_eq!(w.snapshot().await, expected, "after a crash at {step:?}");
    }
}

/// The signal codes of each message's verdict, by provider id.
async fn signal_codes(w: &World) -> Vec<(String, Vec<String>)> {
    let rows: Vec<(String, serde_json::Value)> = sqlx::query_as(
        "select m.provider_message_id, a.signals from assessment a join message m on m.id = a.message_id
         where a.org_id = $1 order by m.provider_message_id",
    )
    .bind(w.org.as_uuid())
    .fetch_all(w.db.superuser())
    .await
    .unwrap();
    rows.into_iter()
        .map(|(id, signals)| {
            let codes = signals
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|s| s.get("code").and_then(|c| c.as_str()).map(str::to_owned))
                .collect();
            (id, codes)
        })
        .collect()
}

#[tokio::test]
async fn a_batch_is_analysed_in_received_order_whatever_order_it_arrives_in() {
    let first = FRAUD_BANK_CHANGE.replace("20261023101540.5521", "first.1");
    let second = FRAUD_BANK_CHANGE
        .replace("20261023101540.5521", "second.2")
        .replace("Fri, 23 Oct 2026", "Sat, 24 Oct 2026");
    let at = |w: &World, id, raw, day| Incoming {
        received_at: Some(
            time::macros::datetime!(2026-10-01 10:00 UTC) + time::Duration::days(day),
        ),
        ..incoming(w.accounts, id, raw)
    };
    let mut runs = Vec::new();
    for later_first in [true, false] {
        let Some(w) = World::new().await else { return };
        let mut batch = vec![at(&w, "h-1", &first, 22), at(&w, "h-2", &second, 23)];
        if later_first {
            batch.reverse();
        }
        let stored = w.ingestor().ingest_many(w.org, &batch).await.unwrap();
        // One result per message, in the order given.
        assert_eq!(stored.len(), 2);
        assert!(stored.iter().all(|s| s.created));
        // Analysed in the batch's transaction: no job left to run.
        let queued = count(&w, "select count(*) from job where org_id = $1").await;
        assert_eq!(queued, 0, "no analyse_message jobs");
        let codes = signal_codes(&w).await;
        let first_contact = |c: &[String]| c.iter().any(|s| s.contains("first"));
        assert_eq!(codes.len(), 2, "{codes:?}");
        assert!(first_contact(&codes[0].1), "{codes:?}");
        assert!(!first_contact(&codes[1].1), "h-2 knows h-1: {codes:?}");
        runs.push(codes);
    }
    assert_eq!(runs[0], runs[1], "the order given changes no verdict");
}

/// A PDF reader that panics: a bug in preparing one message.
struct PanickingPdf;
impl TextExtractor for PanickingPdf {
    fn pdf_text(&self, _pdf: &[u8]) -> Result<String, ExtractError> {
        panic!("test: the PDF reader panicked")
    }
}

/// An invoice whose PDF attachment makes [`PanickingPdf`] panic.
fn with_pdf() -> String {
    "From: Apex Scaffolding Ltd <accounts@apexscaffolding.co.uk>\r\n\
     To: accounts@hartleybuild.co.uk\r\n\
     Subject: Invoice INV-7781\r\n\
     Message-ID: <pdf.7781@apexscaffolding.co.uk>\r\n\
     Date: Mon, 02 Nov 2026 09:00:00 +0000\r\n\
     MIME-Version: 1.0\r\n\
     Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
     --b\r\nContent-Type: text/plain\r\n\r\nPlease find our invoice attached.\r\n\
     --b\r\nContent-Type: application/pdf; name=\"inv.pdf\"\r\n\
     Content-Disposition: attachment; filename=\"inv.pdf\"\r\n\
     Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKJSVFT0YK\r\n--b--\r\n"
        .to_owned()
}

#[tokio::test]
async fn a_message_whose_preparation_panics_gets_its_own_job_and_the_rest_of_the_batch_is_analysed()
{
    let Some(w) = World::new().await else { return };
    let pdf = with_pdf();
    let ingestor = w.ingestor().with_pdf(Arc::new(PanickingPdf));
    let stored = ingestor
        .ingest_many(
            w.org,
            &[
                incoming(w.accounts, "p-1", &pdf),
                incoming(w.accounts, "p-2", FRAUD_BANK_CHANGE),
            ],
        )
        .await
        .unwrap();
    assert!(stored.iter().all(|s| s.created));
    let codes = signal_codes(&w).await;
    assert_eq!(codes.len(), 1, "only p-2 analysed in the batch: {codes:?}");
    assert_eq!(codes[0].0, "p-2");
    let queued = count(
        &w,
        "select count(*) from job where org_id = $1 and kind = 'analyse_message' and status = 'queued'",
    )
    .await;
    assert_eq!(queued, 1, "p-1 waits for its own job");
    // Its job, with a reader that works, analyses it.
    w.drain(&w.runner(w.ingestor(), no_alerts())).await;
    assert_eq!(signal_codes(&w).await.len(), 2);
}

#[tokio::test]
async fn a_verdict_the_database_refuses_sends_the_whole_batch_to_one_job_per_message() {
    let Some(w) = World::new().await else { return };
    // Stands for any verdict the database refuses (a poison message).
    sqlx::query("alter table assessment add constraint test_refuse check (risk_score < 0)")
        .execute(w.db.superuser())
        .await
        .unwrap();
    let stored = w
        .ingestor()
        .ingest_many(
            w.org,
            &[
                incoming(w.accounts, "r-1", LEGIT_INVOICE),
                incoming(w.accounts, "r-2", FRAUD_BANK_CHANGE),
            ],
        )
        .await
        .unwrap();
    assert!(stored.iter().all(|s| s.created), "stored: {stored:?}");
    let jobs = count(
        &w,
        "select count(*) from job where org_id = $1 and kind = 'analyse_message' and status = 'queued'",
    )
    .await;
    assert_eq!(jobs, 2, "each message has its own job");
    assert_eq!(
        count(&w, "select count(*) from assessment where org_id = $1").await,
        0
    );
    let received = count(
        &w,
        "select count(*) from audit_event where org_id = $1 and action = 'message.received'",
    )
    .await;
    assert_eq!(received, 2, "stored once each");
    // Once the database accepts verdicts again, the jobs analyse both.
    sqlx::query("alter table assessment drop constraint test_refuse")
        .execute(w.db.superuser())
        .await
        .unwrap();
    w.drain(&w.runner(w.ingestor(), no_alerts())).await;
    assert_eq!(
        count(&w, "select count(*) from assessment where org_id = $1").await,
        2
    );
}

/// Seven emails over seven days: Apex's invoices (the fourth far above the
/// usual amount, the last a re-sent invoice with another amount), then a
/// bank-change fraud and a reply in its thread.
fn week() -> Vec<(String, String, i64)> {
    let invoice = |n: u32, amount: &str| {
        LEGIT_INVOICE
            .replace("APX-2026-1152", &format!("APX-2026-{n}"))
            .replace("4,860.00", amount)
            .replace("<inv1152@", &format!("<inv{n}@"))
    };
    let fraud = FRAUD_BANK_CHANGE.replace("20261023101540.5521", "fraud.5");
    let reply = FRAUD_BANK_CHANGE
        .replace("20261023101540.5521", "fraud.6")
        .replace(
            "MIME-Version",
            "In-Reply-To: <fraud.5@apexscaffolding.co>\r\nMIME-Version",
        );
    vec![
        ("w-1".into(), invoice(1, "4,860.00"), 1),
        ("w-2".into(), invoice(2, "5,000.00"), 2),
        ("w-3".into(), invoice(3, "4,000.00"), 3),
        ("w-4".into(), invoice(4, "60,000.00"), 4),
        ("w-5".into(), fraud, 5),
        ("w-6".into(), reply, 6),
        ("w-7".into(), invoice(2, "5,500.00"), 7),
    ]
}

fn on_day<'a>(w: &World, (id, raw, day): &'a (String, String, i64)) -> Incoming<'a> {
    Incoming {
        mailbox: w.accounts,
        provider_id: id,
        raw: raw.as_bytes(),
        received_at: Some(
            time::macros::datetime!(2026-11-01 10:00 UTC) + time::Duration::days(*day),
        ),
    }
}

#[tokio::test]
async fn history_read_from_a_batchs_preload_gives_the_verdicts_of_one_query_per_message() {
    let mail = week();
    // One job per message, each analysed before the next is stored: the
    // history comes from one query per message.
    let Some(jobs) = World::new().await else {
        return;
    };
    let runner = jobs.runner(jobs.ingestor(), no_alerts());
    for m in &mail {
        jobs.ingestor()
            .store_raw(jobs.org, &on_day(&jobs, m))
            .await
            .unwrap();
        jobs.drain(&runner).await;
    }
    let expected = signal_codes(&jobs).await;
    let codes_of = |id: &str| expected.iter().find(|(p, _)| p == id).unwrap().1.clone();
    // The history was there to be read: each of these needs earlier mail.
    assert!(
        codes_of("w-4").contains(&"amount_anomaly".to_owned()),
        "{expected:?}"
    );
    assert!(
        codes_of("w-7").contains(&"duplicate_invoice".to_owned()),
        "{expected:?}"
    );
    assert_ne!(codes_of("w-5"), codes_of("w-6"), "{expected:?}");

    // Two batches (the second reads the first from its preload), and one
    // batch given newest first (each reads the earlier ones of the batch).
    for split in [3, 0] {
        let Some(w) = World::new().await else { return };
        let (a, b) = mail.split_at(split);
        let first: Vec<Incoming<'_>> = a.iter().map(|m| on_day(&w, m)).collect();
        let mut second: Vec<Incoming<'_>> = b.iter().map(|m| on_day(&w, m)).collect();
        second.reverse();
        w.ingestor().ingest_many(w.org, &first).await.unwrap();
        w.ingestor().ingest_many(w.org, &second).await.unwrap();
        assert_eq!(signal_codes(&w).await, expected, "split at {split}");
    }
}
