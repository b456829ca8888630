//! Alerts against local receivers: a real SMTP conversation, Slack and
//! Teams payloads, a webhook that hangs (timeout, retried, then parked), one
//! that redirects (not followed), and refusals of plain-http and private
//! targets. No receiver ever gets more than the last four digits of an
//! account number, and no stored error holds a webhook URL.

use crate::receivers::{Behaviour, HttpReceiver, Mail, SmtpSink};
use crate::support::World;
use sentra_domain::{RiskLevel, Role};
use sentra_ingest::Incoming;
use sentra_store::ids::AlertChannelId;
use sentra_store::repo::alert::{self, AlertStatus, ChannelKind, NewChannel};
use sentra_testkit::emails::FRAUD_BANK_CHANGE;
use sentra_worker::alerts::AlertSettings;
use sentra_worker::alerts::email::{SmtpSecurity, SmtpSettings};
use sentra_worker::alerts::outbound::OutboundPolicy;
use std::time::Duration;

/// The public URL case links start with.
pub(crate) const BASE: &str = "https://sentra.example";

async fn channel(w: &World, kind: ChannelKind, name: &str, target: &str) {
    new_channel(w, kind, name, target, false).await;
}

/// Creates a channel at `medium` for approvers and admins (email), sending
/// one alert per case or, with `digest`, one message a day.
pub(crate) async fn new_channel(
    w: &World,
    kind: ChannelKind,
    name: &str,
    target: &str,
    digest: bool,
) -> AlertChannelId {
    let mut tx = w.tx().await;
    let id = alert::create(
        &mut tx,
        &w.keys,
        &NewChannel {
            kind,
            name: name.to_owned(),
            target: target.to_owned(),
            target_hint: None,
            min_risk: RiskLevel::Medium,
            digest,
            email_roles: vec![Role::Approver, Role::Admin],
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id
}

/// Alert settings reaching the local receivers (and the SMTP sink on
/// `smtp_port`), with case links under [`BASE`].
pub(crate) fn settings(smtp_port: Option<u16>) -> AlertSettings {
    AlertSettings {
        base_url: BASE.to_owned(),
        outbound: OutboundPolicy {
            allow: vec!["127.0.0.1".parse().unwrap()],
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(2),
        },
        smtp: smtp_port.map(|port| SmtpSettings {
            host: "127.0.0.1".to_owned(),
            port,
            security: SmtpSecurity::Plain,
            credentials: None,
            from: "alerts@sentra.example".to_owned(),
            timeout: Duration::from_secs(20),
        }),
    }
}

/// Ingests the lookalike bank-change email (a critical case) and drains.
async fn fraud_and_drain(w: &World, settings: AlertSettings) -> String {
    let ingestor = w.ingestor();
    let stored = ingestor
        .store_raw(
            w.org,
            &Incoming {
                mailbox: w.accounts,
                provider_id: "g-fraud",
                raw: FRAUD_BANK_CHANGE.as_bytes(),
                received_at: None,
            },
        )
        .await
        .unwrap();
    let runner = w.runner(ingestor, settings);
    w.drain(&runner).await;
    let case: uuid::Uuid =
        sqlx::query_scalar("select id from fraud_case where org_id = $1 and message_id = $2")
            .bind(w.org.as_uuid())
            .bind(stored.message_id.as_uuid())
            .fetch_one(w.db.superuser())
            .await
            .unwrap();
    case.to_string()
}

/// The one message `smtp` got, checked to have gone to the approver and the
/// channel's extra address (and, as `To`, the sender), never the clerk: what
/// the email channels of these tests resolve to.
pub(crate) fn the_one_mail(smtp: &SmtpSink) -> Mail {
    let mut mails = smtp.mails();
    assert_eq!(mails.len(), 1);
    let mail = mails.remove(0);
    let mut rcpt = mail.rcpt.clone();
    rcpt.sort();
    assert_eq!(
        rcpt,
        [
            "alerts@sentra.example",
            "approver@hartleybuild.co.uk",
            "finance@hartleybuild.co.uk"
        ]
    );
    mail
}

pub(crate) async fn alerts(w: &World) -> Vec<alert::Alert> {
    let mut tx = w.tx().await;
    let all = alert::list_alerts(&mut tx).await.unwrap();
    tx.commit().await.unwrap();
    all
}

#[tokio::test]
async fn a_critical_case_alerts_email_slack_and_teams_once_with_the_last_four_digits_only() {
    let Some(w) = World::new().await else { return };
    w.member("approver@hartleybuild.co.uk", Role::Approver)
        .await;
    w.member("clerk@hartleybuild.co.uk", Role::Clerk).await;
    let smtp = SmtpSink::start().await;
    let slack = HttpReceiver::start(Behaviour::Accept).await;
    let teams = HttpReceiver::start(Behaviour::Accept).await;
    channel(
        &w,
        ChannelKind::Email,
        "Approvers",
        "finance@hartleybuild.co.uk",
    )
    .await;
    channel(&w, ChannelKind::Slack, "Slack", &slack.url()).await;
    channel(&w, ChannelKind::Teams, "Teams", &teams.url()).await;

    let case = fraud_and_drain(&w, settings(Some(smtp.port))).await;
    let link = format!("{BASE}/cases/{case}");

    // Email: approvers (and the extra address), never the clerk.
    let mail = the_one_mail(&smtp);
    assert!(mail.data.contains(&link), "{}", mail.data);
    assert!(mail.data.contains("****9203"));
    assert!(!mail.data.contains("63849203"));

    // Slack: text and blocks with the link.
    let s = slack.bodies();
    assert_eq!(s.len(), 1);
    assert!(s[0]["text"].as_str().unwrap().contains(&link));
    assert!(s[0]["blocks"].as_array().unwrap().len() >= 3);
    // Teams: an Adaptive Card in a message envelope.
    let t = teams.bodies();
    assert_eq!(t.len(), 1);
    assert_eq!(t[0]["type"], "message");
    let card = &t[0]["attachments"][0];
    assert_eq!(
        card["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert_eq!(card["content"]["type"], "AdaptiveCard");
    assert_eq!(card["content"]["actions"][0]["url"], link.as_str());
    for body in [s[0].to_string(), t[0].to_string()] {
        assert!(
            body.contains("****9203") && !body.contains("63849203"),
            "{body}"
        );
    }

    // Recorded once each, as sent; running again sends nothing more.
    let all = alerts(&w).await;
    assert_eq!(all.len(), 3);
    assert!(all.iter().all(|a| a.status == AlertStatus::Sent));
    let runner = w.runner(w.ingestor(), settings(Some(smtp.port)));
    w.drain(&runner).await;
    assert_eq!(
        (
            smtp.mails().len(),
            slack.bodies().len(),
            teams.bodies().len()
        ),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn a_webhook_that_hangs_times_out_is_retried_and_then_parked_visibly() {
    let Some(w) = World::new().await else { return };
    let hang = HttpReceiver::start(Behaviour::Hang).await;
    channel(&w, ChannelKind::Slack, "Hangs", &hang.url()).await;
    fraud_and_drain(&w, settings(None)).await;
    let all = alerts(&w).await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].status, AlertStatus::Failed);
    assert_eq!(all[0].attempts, 4);
    let error = all[0].last_error.clone().unwrap();
    assert!(error.contains("timed out"), "{error}");
    assert!(!error.contains("secret-token"), "{error}");
    let parked: i64 = sqlx::query_scalar(
        "select count(*) from job where org_id = $1 and kind = 'send_alert' and status = 'parked'",
    )
    .bind(w.org.as_uuid())
    .fetch_one(w.db.superuser())
    .await
    .unwrap();
    assert_eq!(parked, 1);
}

#[tokio::test]
async fn a_webhook_that_redirects_is_not_followed() {
    let Some(w) = World::new().await else { return };
    let target = HttpReceiver::start(Behaviour::Accept).await;
    let redirect = HttpReceiver::start(Behaviour::Redirect(target.url())).await;
    channel(&w, ChannelKind::Teams, "Redirects", &redirect.url()).await;
    fraud_and_drain(&w, settings(None)).await;
    let all = alerts(&w).await;
    assert_eq!(all[0].status, AlertStatus::Failed);
    assert!(
        all[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("redirects are not followed")
    );
    assert!(target.bodies().is_empty());
}

#[tokio::test]
async fn plain_http_and_private_targets_are_refused_without_a_request() {
    let Some(w) = World::new().await else { return };
    let receiver = HttpReceiver::start(Behaviour::Accept).await;
    // Not allow-listed: plain http to loopback, and a name resolving to it.
    channel(&w, ChannelKind::Slack, "Plain", &receiver.url()).await;
    channel(
        &w,
        ChannelKind::Slack,
        "Private",
        &format!("https://localhost:{}/hook", receiver.port),
    )
    .await;
    let strict = AlertSettings {
        outbound: OutboundPolicy::default(),
        ..settings(None)
    };
    fraud_and_drain(&w, strict).await;
    let all = alerts(&w).await;
    assert_eq!(all.len(), 2);
    for a in &all {
        assert_eq!(a.status, AlertStatus::Failed);
        let e = a.last_error.as_deref().unwrap();
        assert!(e.starts_with("refused"), "{e}");
    }
    assert!(receiver.bodies().is_empty());
}
