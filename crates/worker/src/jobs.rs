//! The worker's own job kinds: analysing a stored message, sending one
//! alert, a channel's daily digest, and a channel test.

use crate::JobError;
use crate::alerts::content::AlertContent;
use crate::alerts::{AlertSettings, Destination};
use crate::registry::{BoxFuture, Handler, Registry};
use sentra_domain::jobs::{AnalyseMessage, SendAlert, SendDigest, SendTestAlert};
use sentra_ingest::Ingestor;
use sentra_store::crypto::Keyring;
use sentra_store::ids::{AlertChannelId, AlertId, MessageId};
use sentra_store::queue::ClaimedJob;
use sentra_store::repo::alert::{self, AlertStatus, Channel, ChannelKind};
use sentra_store::{AppPool, TenantTx};
use std::sync::Arc;

/// Registers the analyse and alert kinds.
pub fn register_defaults(registry: &mut Registry, ingestor: Ingestor, alerts: Arc<AlertSettings>) {
    let keys = ingestor.keys().clone();
    registry
        .register::<AnalyseMessage, _>(Analyse { ingestor })
        .register::<SendAlert, _>(Alerts {
            settings: alerts.clone(),
            keys: keys.clone(),
        })
        .register::<SendDigest, _>(Alerts {
            settings: alerts.clone(),
            keys: keys.clone(),
        })
        .register::<SendTestAlert, _>(Alerts {
            settings: alerts,
            keys,
        });
}

/// `analyse_message`.
struct Analyse {
    ingestor: Ingestor,
}

impl Handler<AnalyseMessage> for Analyse {
    fn run<'a>(
        &'a self,
        tx: &'a mut TenantTx,
        _job: &'a ClaimedJob,
        p: AnalyseMessage,
    ) -> BoxFuture<'a, Result<(), JobError>> {
        Box::pin(async move {
            self.ingestor
                .analyse_in(tx, MessageId::from_uuid(p.message_id))
                .await?;
            Ok(())
        })
    }
}

/// `send_alert`, `send_digest` and `send_test_alert`.
struct Alerts {
    settings: Arc<AlertSettings>,
    keys: Arc<Keyring>,
}

impl Alerts {
    /// Resolves the channel's destination and delivers.
    async fn deliver(
        &self,
        tx: &mut TenantTx,
        channel: &Channel,
        content: &AlertContent,
    ) -> Result<(), JobError> {
        let target = alert::target(tx, &self.keys, channel.id).await?;
        let result = match channel.kind {
            ChannelKind::Email => {
                let mut to = alert::member_addresses(tx, &channel.email_roles).await?;
                to.extend(
                    target
                        .split(',')
                        .map(str::trim)
                        .filter(|a| !a.is_empty())
                        .map(str::to_ascii_lowercase),
                );
                to.sort();
                to.dedup();
                self.settings
                    .deliver(Destination::Email(&to), content)
                    .await
            }
            kind => {
                self.settings
                    .deliver(Destination::Webhook(kind, &target), content)
                    .await
            }
        };
        result.map_err(JobError::new)
    }
}

impl Handler<SendAlert> for Alerts {
    fn run<'a>(
        &'a self,
        tx: &'a mut TenantTx,
        _job: &'a ClaimedJob,
        p: SendAlert,
    ) -> BoxFuture<'a, Result<(), JobError>> {
        Box::pin(async move {
            let id = AlertId::from_uuid(p.alert_id);
            let a = alert::get_alert(tx, id).await?;
            if a.status == AlertStatus::Sent {
                return Ok(());
            }
            let channel = alert::get(tx, a.channel_id).await?;
            let brief = alert::case_brief(tx, a.case_id).await?;
            let content = AlertContent::for_case(&brief, &self.settings.base_url);
            self.deliver(tx, &channel, &content).await?;
            alert::record_attempt(tx, id, None, false).await?;
            Ok(())
        })
    }

    fn on_failure<'a>(
        &'a self,
        pool: &'a AppPool,
        job: &'a ClaimedJob,
        p: SendAlert,
        error: &'a JobError,
        parked: bool,
    ) -> BoxFuture<'a, Result<(), JobError>> {
        Box::pin(async move {
            let mut tx = TenantTx::begin(pool, job.org, None).await?;
            alert::record_attempt(
                &mut tx,
                AlertId::from_uuid(p.alert_id),
                Some(&error.message),
                parked,
            )
            .await?;
            tx.commit().await?;
            Ok(())
        })
    }
}

impl Handler<SendDigest> for Alerts {
    fn run<'a>(
        &'a self,
        tx: &'a mut TenantTx,
        _job: &'a ClaimedJob,
        p: SendDigest,
    ) -> BoxFuture<'a, Result<(), JobError>> {
        Box::pin(async move {
            let channel = alert::get(tx, AlertChannelId::from_uuid(p.channel_id)).await?;
            if channel.digest_sent_through.is_some_and(|d| d >= p.day) || !channel.enabled {
                return Ok(());
            }
            let briefs = alert::cases_opened_on(tx, p.day, channel.min_risk).await?;
            if !briefs.is_empty() {
                let content = AlertContent::digest(&briefs, p.day, &self.settings.base_url);
                self.deliver(tx, &channel, &content).await?;
            }
            alert::mark_digest_sent(tx, channel.id, p.day).await?;
            Ok(())
        })
    }
}

impl Handler<SendTestAlert> for Alerts {
    fn run<'a>(
        &'a self,
        tx: &'a mut TenantTx,
        _job: &'a ClaimedJob,
        p: SendTestAlert,
    ) -> BoxFuture<'a, Result<(), JobError>> {
        Box::pin(async move {
            let channel = alert::get(tx, AlertChannelId::from_uuid(p.channel_id)).await?;
            let content = AlertContent::test(&self.settings.base_url);
            self.deliver(tx, &channel, &content).await
        })
    }
}
