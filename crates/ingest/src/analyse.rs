//! The pipeline's steps: store ([`Ingestor::store_raw`]), analyse in a
//! job's transaction ([`Ingestor::analyse_in`]), or both at once for the
//! API ([`Ingestor::ingest_raw`]). See the crate docs for the guarantees.

use crate::context::{self, ContextInputs};
use crate::headers::{self, Meta};
use crate::history::{self, BatchHistory};
use crate::{IngestError, Ingestor, Source, Step};
use sentra_domain::jobs::{AnalyseMessage, JobPayload, SendAlert, SendDigest};
use sentra_domain::{OrgId, RiskLevel, UserId};
use sentra_engine::{
    Context, History, MessageReport, Prepared, assess, history_entry, message_report, prepare,
};
use sentra_store::audit::{self, NewEvent};
use sentra_store::ids::{AssessmentId, CaseId, MailboxId, MessageId};
use sentra_store::repo::assessment::{self, NewAssessment};
use sentra_store::repo::message::{self, Inserted, NewMessage};
use sentra_store::repo::{alert, case};
use sentra_store::{TenantTx, queue};
use serde_json::json;
use time::{Date, Duration, OffsetDateTime, Time, UtcOffset};

/// One message as a mail source (or the API) hands it over.
#[derive(Debug, Clone, Copy)]
pub struct Incoming<'a> {
    /// The mailbox it arrived in (the submission pseudo-mailbox for the API).
    pub mailbox: MailboxId,
    /// The provider's id for it, unique within the mailbox (Graph immutable
    /// id, IMAP `uidvalidity:uid`, or `api:<sha-256>` for submissions).
    pub provider_id: &'a str,
    /// The raw RFC 822 bytes.
    pub raw: &'a [u8],
    /// When the mailbox received it (`None`: now).
    pub received_at: Option<OffsetDateTime>,
}

/// What storing did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    /// The stored message (new, or the one already stored).
    pub message_id: MessageId,
    /// Whether this call stored it.
    pub created: bool,
}

/// What analysing did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Analysed {
    /// The message.
    pub message_id: MessageId,
    /// Its verdict at the current engine version.
    pub assessment_id: AssessmentId,
    /// Whether this call made the verdict (false: it existed, nothing done).
    pub created: bool,
    /// The verdict's risk.
    pub risk_level: RiskLevel,
    /// The message's case, if it has one.
    pub case_id: Option<CaseId>,
    /// Alerts recorded (or digests scheduled) by this call.
    pub alerts: usize,
}

/// What [`Ingestor::ingest_raw`] did, with the engine's report (account
/// numbers masked).
#[derive(Debug, Clone)]
pub struct Ingested {
    /// The storing step.
    pub stored: Stored,
    /// The analysing step.
    pub analysed: Analysed,
    /// The engine's report (`source` left empty for the caller).
    pub report: MessageReport,
}

pub(crate) fn new_message(incoming: &Incoming<'_>, meta: &Meta) -> NewMessage {
    NewMessage {
        mailbox_id: incoming.mailbox,
        provider_message_id: incoming.provider_id.to_owned(),
        internet_message_id: meta.internet_message_id.clone(),
        received_at: incoming.received_at.unwrap_or_else(OffsetDateTime::now_utc),
        from_address: meta.from_address.clone(),
        from_domain: meta.from_domain.clone(),
        subject: meta.subject.clone(),
        raw_mime: Some(incoming.raw.to_vec()),
    }
}

/// `****` and at most the last four characters of every account number
/// and IBAN in the report: nothing stored or returned needs more.
fn mask_report(report: &mut MessageReport) {
    use sentra_domain::bank::mask;
    for account in &mut report.extracted.bank_accounts {
        account.account_number = account.account_number.as_deref().map(mask);
        account.iban = account.iban.as_deref().map(mask);
    }
}

/// The verdict row for a report.
fn verdict(message_id: MessageId, report: &MessageReport) -> Result<NewAssessment, IngestError> {
    let json_err = |e: serde_json::Error| IngestError::Engine(format!("report json: {e}"));
    let mut extracted = serde_json::to_value(&report.extracted).map_err(json_err)?;
    if let Some(map) = extracted.as_object_mut() {
        map.insert("supplier".to_owned(), json!(report.supplier));
    }
    Ok(NewAssessment {
        message_id,
        engine_version: sentra_engine::ENGINE_VERSION.to_owned(),
        category: report.category,
        risk_level: report.risk.level,
        risk_score: report.risk.score.min(100),
        signals: serde_json::to_value(&report.signals).map_err(json_err)?,
        extracted,
    })
}

/// The `message.received` audit event of a message a sync stored.
pub(crate) fn received_event(id: MessageId, incoming: &Incoming<'_>) -> NewEvent {
    NewEvent::new(Source::Sync.actor(), Source::Sync.action())
        .target("message", id.to_string())
        .details(json!({
            "mailbox_id": incoming.mailbox.to_string(),
            "size_bytes": incoming.raw.len(),
        }))
}

/// The `message.analysed` audit event of a new verdict on a stored message.
pub(crate) fn analysed_event(analysed: &Analysed, report: &MessageReport) -> NewEvent {
    NewEvent::new("system", "message.analysed")
        .target("message", analysed.message_id.to_string())
        .details(json!({
            "category": report.category.as_str(),
            "risk_level": analysed.risk_level.as_str(),
            "risk_score": report.risk.score,
            "case_id": analysed.case_id.map(|c| c.to_string()),
        }))
}

/// When the digest of `day` (UTC) goes out: five minutes after the
/// midnight that ends it.
fn digest_due(day: Date) -> OffsetDateTime {
    let tomorrow = day.next_day().unwrap_or(day);
    tomorrow.with_time(Time::MIDNIGHT).assume_utc() + Duration::minutes(5)
}

impl Ingestor {
    /// Stores one message (once) with its `analyse_message` job, in one
    /// transaction, and writes one `message.received` audit event when it is
    /// new. Seeing the same message again (same mailbox and provider id, or
    /// same `Message-ID` and content from another mailbox) changes nothing.
    pub async fn store_raw(
        &self,
        org: OrgId,
        incoming: &Incoming<'_>,
    ) -> Result<Stored, IngestError> {
        let mut stored = self.store_many(org, std::slice::from_ref(incoming)).await?;
        stored.pop().ok_or(IngestError::NotFound)
    }

    /// [`Ingestor::store_raw`] for several messages (a sync round's batch)
    /// in ONE transaction: each new message still gets its own
    /// `analyse_message` job and `message.received` audit event, and the
    /// dedupe keys are the same, so a crash before the commit stores none of
    /// them and the re-run stores each once. One commit instead of one per
    /// message matters because the audit chain serialises an organisation's
    /// appends until commit. The events are appended last, so the chain's
    /// lock is held only for the appends and the commit. Returns one
    /// [`Stored`] per incoming message, in order.
    pub async fn store_many(
        &self,
        org: OrgId,
        incoming: &[Incoming<'_>],
    ) -> Result<Vec<Stored>, IngestError> {
        let mut tx = TenantTx::begin(&self.pool, org, None).await?;
        let mut stored = Vec::with_capacity(incoming.len());
        let mut events = Vec::new();
        for m in incoming {
            let meta = headers::read(m.raw);
            let inserted = message::insert_deduplicated(
                &mut tx,
                &self.keys,
                &new_message(m, &meta),
                &meta.content_sha256,
            )
            .await?;
            self.faults.check(Step::MessageInserted)?;
            stored.push(match inserted {
                Inserted::New(id) => {
                    queue::enqueue_payload(
                        &mut tx,
                        &AnalyseMessage {
                            message_id: id.as_uuid(),
                        },
                        None,
                    )
                    .await?;
                    events.push(received_event(id, m));
                    Stored {
                        message_id: id,
                        created: true,
                    }
                }
                Inserted::Existing(id) => Stored {
                    message_id: id,
                    created: false,
                },
            });
        }
        for event in events {
            audit::append(&mut tx, event).await?;
        }
        tx.commit().await?;
        self.faults.check(Step::Stored)?;
        Ok(stored)
    }

    /// Stores and analyses one message at once (the API's submissions).
    /// The engine runs with no transaction held; then the message, verdict,
    /// case, alerts and one audit event (`source`'s action, by `user`) are
    /// written in one transaction. A message already stored and assessed
    /// writes nothing; the report is computed either way.
    pub async fn ingest_raw(
        &self,
        org: OrgId,
        user: Option<UserId>,
        incoming: &Incoming<'_>,
        source: Source,
    ) -> Result<Ingested, IngestError> {
        let meta = headers::read(incoming.raw);
        let mut tx = TenantTx::begin(&self.pool, org, user).await?;
        let inputs = context::load(&mut tx, &self.keys).await?;
        tx.commit().await?;
        let (ctx, prepared) = self.prepare(incoming.raw.to_vec(), inputs).await?;

        let mut tx = TenantTx::begin(&self.pool, org, user).await?;
        let new = new_message(incoming, &meta);
        let inserted =
            message::insert_deduplicated(&mut tx, &self.keys, &new, &meta.content_sha256).await?;
        self.faults.check(Step::MessageInserted)?;
        let message_id = inserted.id();
        let received_at = if matches!(inserted, Inserted::New(_)) {
            new.received_at
        } else {
            message::get(&mut tx, message_id).await?.received_at
        };
        let (analysed, report) = self
            .finish(&mut tx, message_id, received_at, &prepared, &ctx, None)
            .await?;
        let stored = Stored {
            message_id,
            created: matches!(inserted, Inserted::New(_)),
        };
        let action = if stored.created {
            Some(source.action())
        } else if analysed.created {
            Some("message.analysed")
        } else {
            None
        };
        if let Some(action) = action {
            audit::append(
                &mut tx,
                NewEvent::new(source.actor(), action)
                    .target("message", message_id.to_string())
                    .details(json!({
                        "category": report.category.as_str(),
                        "risk_level": analysed.risk_level.as_str(),
                        "risk_score": report.risk.score,
                        "case_id": analysed.case_id.map(|c| c.to_string()),
                        "size_bytes": incoming.raw.len(),
                    })),
            )
            .await?;
        }
        tx.commit().await?;
        self.faults.check(Step::Analysed)?;
        Ok(Ingested {
            stored,
            analysed,
            report,
        })
    }

    /// Analyses a stored message in `tx` (the `analyse_message` job's
    /// transaction, which the caller commits): verdict, case, alerts and one
    /// `message.analysed` audit event. A message already assessed by this
    /// engine version changes nothing. `Ok(None)`: its raw MIME was purged
    /// (or never kept), so there is nothing to analyse.
    pub async fn analyse_in(
        &self,
        tx: &mut TenantTx,
        message_id: MessageId,
    ) -> Result<Option<Analysed>, IngestError> {
        if let Some(done) =
            assessment::for_version(tx, message_id, sentra_engine::ENGINE_VERSION).await?
        {
            let case_id = case_of(tx, message_id).await?;
            return Ok(Some(Analysed {
                message_id,
                assessment_id: done.id,
                created: false,
                risk_level: done.verdict.risk_level,
                case_id,
                alerts: 0,
            }));
        }
        let summary = message::get(tx, message_id).await?;
        let Some(raw) = message::raw_mime(tx, &self.keys, message_id).await? else {
            return Ok(None);
        };
        let inputs = context::load(tx, &self.keys).await?;
        let (ctx, prepared) = self.prepare(raw.to_vec(), inputs).await?;
        let (analysed, report) = self
            .finish(tx, message_id, summary.received_at, &prepared, &ctx, None)
            .await?;
        if analysed.created {
            audit::append(tx, analysed_event(&analysed, &report)).await?;
        }
        Ok(Some(analysed))
    }

    /// Parses and extracts on a blocking thread (CPU-bound, and PDF text
    /// goes through the sandboxed extractor).
    async fn prepare(
        &self,
        raw: Vec<u8>,
        inputs: ContextInputs,
    ) -> Result<(Context, Prepared), IngestError> {
        let pdf = self.pdf.clone();
        let modulus = self.modulus.clone();
        tokio::task::spawn_blocking(move || {
            let ctx = inputs.into_context(modulus);
            let prepared = prepare(&raw, &ctx, pdf.as_ref());
            (ctx, prepared)
        })
        .await
        .map_err(|e| IngestError::Engine(e.to_string()))
    }

    /// History, verdict, case and alerts, in `tx`. Follow-up effects only
    /// when the verdict is new.
    pub(crate) async fn finish(
        &self,
        tx: &mut TenantTx,
        message_id: MessageId,
        received_at: OffsetDateTime,
        prepared: &Prepared,
        ctx: &Context,
        mut batch: Option<&mut BatchHistory>,
    ) -> Result<(Analysed, MessageReport), IngestError> {
        let entry = history_entry(prepared, ctx, &message_id.to_string());
        let keys = history::keys_of(entry.as_ref());
        let history = match (keys.as_ref(), batch.as_deref()) {
            // No entry (an unparsable message): nothing to look up.
            (None, _) => History::new(),
            (Some(k), Some(b)) => b.history(tx, k, received_at).await?,
            (Some(k), None) => history::load(tx, k, received_at).await?,
        };
        let assessment = assess(prepared, ctx, &history);
        let mut report = message_report("", prepared, &assessment, ctx);
        mask_report(&mut report);
        let entry_json = entry.as_ref().and_then(|e| serde_json::to_value(e).ok());
        let recorded =
            assessment::record(tx, &verdict(message_id, &report)?, entry_json.as_ref()).await?;
        if let (Some(b), Some(v), true) = (batch.as_deref_mut(), entry_json, recorded.created) {
            b.push(received_at, message_id, v);
        }
        self.faults.check(Step::AssessmentRecorded)?;
        let level = report.risk.level;
        if !recorded.created {
            let case_id = case_of(tx, message_id).await?;
            let analysed = Analysed {
                message_id,
                assessment_id: recorded.id,
                created: false,
                risk_level: level,
                case_id,
                alerts: 0,
            };
            return Ok((analysed, report));
        }
        let mut case_id = None;
        let mut alerts = 0;
        if level >= alert::org_min_risk(tx).await? {
            let opened = case::open_for_message(tx, message_id, Some(recorded.id), level).await?;
            self.faults.check(Step::CaseOpened)?;
            case_id = Some(opened.id);
            if opened.created {
                alerts = enqueue_alerts(tx, opened.id, level).await?;
            }
            self.faults.check(Step::AlertsEnqueued)?;
        }
        if batch.is_none() {
            // The safety-net job (if a sync stored this message) has nothing
            // left to do. (A batch's new messages have none.)
            let key = AnalyseMessage {
                message_id: message_id.as_uuid(),
            }
            .dedupe_key()
            .unwrap_or_default();
            queue::finish_queued(tx, &key).await?;
        }
        let analysed = Analysed {
            message_id,
            assessment_id: recorded.id,
            created: true,
            risk_level: level,
            case_id,
            alerts,
        };
        Ok((analysed, report))
    }
}

/// The message's case, if it has one.
async fn case_of(tx: &mut TenantTx, message: MessageId) -> Result<Option<CaseId>, IngestError> {
    let rows = assessment::get_assessed(tx, message).await;
    match rows {
        Ok(m) => Ok(m.case_id),
        Err(sentra_store::StoreError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Records the case's alert to every enabled channel whose threshold it
/// meets (or schedules the channel's digest of the day the case was
/// opened), with their jobs.
async fn enqueue_alerts(
    tx: &mut TenantTx,
    case_id: CaseId,
    level: RiskLevel,
) -> Result<usize, IngestError> {
    // The digest lists the cases whose `created_at` (the database's clock,
    // at the start of this transaction) falls on its day, so the day comes
    // from that column, never from this process's clock: near midnight, or
    // with the two clocks apart, `now_utc()` would name the next day and the
    // case would be in no digest at all.
    let mut opened_at = None;
    let mut n = 0;
    for channel in alert::list(tx).await? {
        if !channel.enabled || level < channel.min_risk {
            continue;
        }
        if channel.digest {
            let opened = match opened_at {
                Some(t) => t,
                None => *opened_at.insert(case::get(tx, case_id).await?.created_at),
            };
            let day = opened.to_offset(UtcOffset::UTC).date();
            let digest = SendDigest {
                channel_id: channel.id.as_uuid(),
                day,
            };
            queue::enqueue_payload(tx, &digest, Some(digest_due(day))).await?;
        } else {
            let opened = alert::open(tx, case_id, channel.id).await?;
            if opened.created {
                let job = SendAlert {
                    alert_id: opened.id.as_uuid(),
                };
                queue::enqueue_payload(tx, &job, None).await?;
            }
        }
        n += 1;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn a_days_digest_is_due_just_after_the_next_utc_midnight() {
        assert_eq!(
            digest_due(date!(2026 - 11 - 29)),
            datetime!(2026-11-30 00:05 UTC)
        );
    }
}
