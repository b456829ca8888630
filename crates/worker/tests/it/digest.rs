//! The daily digest end to end: two fraudulent emails analysed while an
//! immediate channel and digest channels (email, Slack, Teams) and a
//! disabled digest channel exist. The immediate channel hears of each case
//! at once; the digest channels hear nothing until the day's digest job is
//! due, then one message each listing both cases with their links and no
//! account number beyond its last four characters. Running the digest of
//! that day again sends nothing (`digest_sent_through`), and a disabled
//! channel never gets one.

use crate::alerts::{BASE, alerts, new_channel, settings, the_one_mail};
use crate::receivers::{Behaviour, HttpReceiver, SmtpSink};
use crate::support::World;
use sentra_domain::Role;
use sentra_domain::jobs::SendDigest;
use sentra_ingest::Incoming;
use sentra_store::ids::AlertChannelId;
use sentra_store::queue;
use sentra_store::repo::alert::{self, ChannelKind};
use sentra_testkit::emails::{FRAUD_ACCOUNT_NUMBER, FRAUD_BANK_CHANGE};
use time::Date;

/// A second bank-change request for another invoice, whose subject quotes
/// the account number (so the digest's own redaction is exercised).
fn second_fraud() -> String {
    FRAUD_BANK_CHANGE
        .replace(
            "Subject: Change of bank details - Apex Scaffolding Ltd",
            &format!(
                "Subject: Urgent: pay APX-2026-1077 to account {FRAUD_ACCOUNT_NUMBER} from today"
            ),
        )
        .replace(
            "Message-ID: <20261023101540.5521@apexscaffolding.co>",
            "Message-ID: <20261023141102.7730@apexscaffolding.co>",
        )
        .replace("APX-2026-1041", "APX-2026-1077")
}

/// Stores one email from the accounts mailbox (analysed by the runner).
async fn store(w: &World, provider_id: &str, raw: &str) {
    w.ingestor()
        .store_raw(
            w.org,
            &Incoming {
                mailbox: w.accounts,
                provider_id,
                raw: raw.as_bytes(),
                received_at: None,
            },
        )
        .await
        .unwrap();
}

/// The `send_digest` jobs in `status`, as (channel id, due in the future).
async fn digest_jobs(w: &World, status: &str) -> Vec<(String, bool)> {
    let mut jobs: Vec<(String, bool)> = sqlx::query_as(
        "select payload ->> 'channel_id', run_at > now() from job
         where org_id = $1 and kind = 'send_digest' and status = $2",
    )
    .bind(w.org.as_uuid())
    .bind(status)
    .fetch_all(w.db.superuser())
    .await
    .unwrap();
    jobs.sort();
    jobs
}

/// The last day whose digest `channel` has recorded as sent.
async fn sent_through(w: &World, channel: AlertChannelId) -> Option<Date> {
    let mut tx = w.tx().await;
    let c = alert::get(&mut tx, channel).await.unwrap();
    tx.commit().await.unwrap();
    c.digest_sent_through
}

#[tokio::test]
async fn a_digest_channel_gets_one_message_a_day_listing_its_cases_and_never_twice() {
    let Some(w) = World::new().await else { return };
    w.member("approver@hartleybuild.co.uk", Role::Approver)
        .await;
    w.member("clerk@hartleybuild.co.uk", Role::Clerk).await;
    let smtp = SmtpSink::start().await;
    let slack = HttpReceiver::start(Behaviour::Accept).await;
    let teams = HttpReceiver::start(Behaviour::Accept).await;
    let immediate = HttpReceiver::start(Behaviour::Accept).await;
    let off = HttpReceiver::start(Behaviour::Accept).await;
    let email_id = new_channel(
        &w,
        ChannelKind::Email,
        "Daily email",
        "finance@hartleybuild.co.uk",
        true,
    )
    .await;
    let slack_id = new_channel(&w, ChannelKind::Slack, "Daily Slack", &slack.url(), true).await;
    let teams_id = new_channel(&w, ChannelKind::Teams, "Daily Teams", &teams.url(), true).await;
    let immediate_id =
        new_channel(&w, ChannelKind::Slack, "At once", &immediate.url(), false).await;
    let off_id = new_channel(&w, ChannelKind::Slack, "Switched off", &off.url(), true).await;
    // No route switches a channel off yet; the column is what the jobs read.
    sqlx::query("update alert_channel set enabled = false where id = $1")
        .bind(off_id.as_uuid())
        .execute(w.db.superuser())
        .await
        .unwrap();

    // Two fraudulent emails, analysed by a runner that runs only due jobs.
    store(&w, "g-fraud-1", FRAUD_BANK_CHANGE).await;
    store(&w, "g-fraud-2", &second_fraud()).await;
    let runner = w.runner(w.ingestor(), settings(Some(smtp.port)));
    runner.drain().await;
    let cases: Vec<(uuid::Uuid, Date)> = sqlx::query_as(
        "select id, (created_at at time zone 'utc')::date from fraud_case
         where org_id = $1 order by created_at, id",
    )
    .bind(w.org.as_uuid())
    .fetch_all(w.db.superuser())
    .await
    .unwrap();
    assert_eq!(cases.len(), 2, "both emails open a case");
    let day = cases[0].1;
    let links: Vec<String> = cases
        .iter()
        .map(|(id, _)| format!("{BASE}/cases/{id}"))
        .collect();

    // The immediate channel has both; the digest channels nothing yet, and
    // each enabled one has one digest job (both cases share it), due later.
    assert_eq!(immediate.bodies().len(), 2);
    let recorded = alerts(&w).await;
    assert_eq!(recorded.len(), 2);
    assert!(recorded.iter().all(|a| a.channel_id == immediate_id));
    assert!(smtp.mails().is_empty());
    assert!(slack.bodies().is_empty() && teams.bodies().is_empty());
    let mut expected: Vec<(String, bool)> = [email_id, slack_id, teams_id]
        .iter()
        .map(|c| (c.to_string(), true))
        .collect();
    expected.sort();
    assert_eq!(digest_jobs(&w, "queued").await, expected);

    // The digest comes due (as just after midnight).
    sqlx::query("update job set run_at = now() where kind = 'send_digest' and status = 'queued'")
        .execute(w.db.superuser())
        .await
        .unwrap();
    runner.drain().await;

    // Email: one message, to the approver and the extra address (never the
    // clerk), listing both cases with their links.
    let mail = the_one_mail(&smtp);
    let (subject, text) = mail.decoded();
    assert_eq!(
        subject,
        format!("Sentra daily digest for {day}: 2 case(s) opened")
    );
    for link in &links {
        assert!(text.contains(link.as_str()), "{text}");
    }
    assert!(text.contains("Change of bank details - Apex Scaffolding Ltd"));
    assert!(
        text.contains("pay APX-2026-1077 to account ****9203"),
        "{text}"
    );
    assert!(!text.contains(FRAUD_ACCOUNT_NUMBER) && !mail.data.contains(FRAUD_ACCOUNT_NUMBER));

    // Slack and Teams: one digest each, with both links, masked.
    let s = slack.bodies();
    assert_eq!(s.len(), 1);
    assert!(s[0]["text"].as_str().unwrap().contains("2 case(s) opened"));
    let t = teams.bodies();
    assert_eq!(t.len(), 1);
    assert_eq!(t[0]["type"], "message");
    assert_eq!(
        t[0]["attachments"][0]["content"]["type"], "AdaptiveCard",
        "{}",
        t[0]
    );
    for body in [s[0].to_string(), t[0].to_string()] {
        for link in &links {
            assert!(body.contains(link.as_str()), "{body}");
        }
        assert!(
            body.contains("****9203") && !body.contains(FRAUD_ACCOUNT_NUMBER),
            "{body}"
        );
    }
    for channel in [email_id, slack_id, teams_id] {
        assert_eq!(sent_through(&w, channel).await, Some(day));
    }
    assert!(off.bodies().is_empty());
    assert_eq!(sent_through(&w, off_id).await, None);

    // The same day again, for every digest channel (a re-run, a duplicate
    // job): nothing more is sent, and the jobs finish rather than fail.
    let mut tx = w.tx().await;
    for channel in [email_id, slack_id, teams_id, off_id] {
        let again = SendDigest {
            channel_id: channel.as_uuid(),
            day,
        };
        queue::enqueue_payload(&mut tx, &again, None).await.unwrap();
    }
    tx.commit().await.unwrap();
    runner.drain().await;
    assert_eq!(digest_jobs(&w, "queued").await, []);
    assert_eq!(digest_jobs(&w, "parked").await, []);
    assert_eq!(digest_jobs(&w, "done").await.len(), 7);
    assert_eq!(
        (
            smtp.mails().len(),
            slack.bodies().len(),
            teams.bodies().len(),
            immediate.bodies().len(),
            off.bodies().len()
        ),
        (1, 1, 1, 2, 0)
    );
    assert_eq!(sent_through(&w, off_id).await, None);
}
