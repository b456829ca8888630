//! A sync round's batch ([`Ingestor::ingest_many`]): every message is
//! prepared (parsed and extracted) with no transaction open, then stored
//! and analysed in ONE transaction, in the order the mailbox received them.
//!
//! # Why analyse while storing
//!
//! A verdict reads the history entries of messages received before it, and
//! an entry is written with its message's verdict. When storing and
//! analysing were separate (one `analyse_message` job per message), a
//! batch made all its jobs claimable at once, so a message could be
//! analysed before an earlier one of the same supplier had written its
//! entry: the same mail gave different verdicts from run to run. Here the
//! batch's messages are analysed one after another in received order, each
//! seeing the entries of the ones before it in the same transaction, so a
//! verdict depends only on what was stored before it, not on which worker
//! got to it first. It is also cheaper: the organisation's context and the
//! history for all the batch's keys are loaded once per batch, and no job
//! is claimed, run and finished per message.
//!
//! # What falls back to one job per message
//!
//! - A message whose preparation panicked (a bug; the engine never panics
//!   on input by design) is stored with its `analyse_message` job, which
//!   fails and is parked visibly on its own.
//! - If analysing fails for any reason but an injected fault (say a verdict
//!   the database refuses), the whole transaction is rolled back and the
//!   batch is stored by [`Ingestor::store_many`], as before: one poison
//!   message must fail its own job, never the mailbox's sync.

use crate::analyse::{analysed_event, new_message, received_event};
use crate::headers::{self, Meta};
use crate::history::{self, BatchHistory};
use crate::{Incoming, IngestError, Ingestor, Step, Stored, context};
use sentra_domain::OrgId;
use sentra_domain::jobs::AnalyseMessage;
use sentra_engine::{Context, Prepared, history_entry, prepare};
use sentra_store::audit;
use sentra_store::repo::assessment::{AnyHistoryKeys, HistoryKeys};
use sentra_store::repo::message::{self, Inserted, NewMessage};
use sentra_store::{TenantTx, queue};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use time::OffsetDateTime;

/// A prepared message and the keys its history is found by.
struct Ready {
    prepared: Prepared,
    keys: Option<HistoryKeys>,
}

impl Ingestor {
    /// Stores and analyses a sync round's batch in one transaction (see the
    /// module docs): each new message gets its verdict, its case and alerts
    /// when the risk reaches the threshold, and the same two audit events
    /// (`message.received`, `message.analysed`) as when its job analyses
    /// it. Messages already stored change nothing. A crash before the
    /// commit stores none of them, and the re-run stores and analyses each
    /// once. Returns one [`Stored`] per incoming message, in order.
    pub async fn ingest_many(
        &self,
        org: OrgId,
        incoming: &[Incoming<'_>],
    ) -> Result<Vec<Stored>, IngestError> {
        if incoming.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = TenantTx::begin(&self.pool, org, None).await?;
        let inputs = context::load(&mut tx, &self.keys).await?;
        tx.commit().await?;
        let ctx = Arc::new(inputs.into_context(self.modulus.clone()));
        let prepared = self.prepare_all(&ctx, incoming).await;
        match self.store_and_analyse(org, incoming, &prepared, &ctx).await {
            // A lost connection fails the fallback too, which then reports
            // its own error; a commit whose outcome was lost is harmless, as
            // the fallback finds every message stored and changes nothing.
            Err(e) if !matches!(e, IngestError::Injected(_)) => {
                tracing::warn!(
                    error = %e,
                    messages = incoming.len(),
                    "analysing a batch while storing it failed; storing it with one analyse job per message"
                );
                self.store_many(org, incoming).await
            }
            other => other,
        }
    }

    /// Prepares every message on blocking threads, at most one per core at
    /// a time, with the keys its history is found by. `None`: its
    /// preparation panicked.
    async fn prepare_all(
        &self,
        ctx: &Arc<Context>,
        incoming: &[Incoming<'_>],
    ) -> Vec<Option<Ready>> {
        let width = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        let mut out: Vec<Option<Ready>> = incoming.iter().map(|_| None).collect();
        let mut running = tokio::task::JoinSet::new();
        let mut next = 0;
        loop {
            while running.len() < width && next < incoming.len() {
                let raw = incoming[next].raw.to_vec();
                let (ctx, pdf, i) = (ctx.clone(), self.pdf.clone(), next);
                running.spawn_blocking(move || {
                    let p = std::panic::catch_unwind(AssertUnwindSafe(|| {
                        let prepared = prepare(&raw, &ctx, pdf.as_ref());
                        // The keys do not depend on the message's id.
                        let keys = history::keys_of(history_entry(&prepared, &ctx, "").as_ref());
                        Ready { prepared, keys }
                    }));
                    (i, p.ok())
                });
                next += 1;
            }
            match running.join_next().await {
                Some(Ok((i, p))) => {
                    if p.is_none() {
                        tracing::error!(index = i, "preparing a message panicked");
                    }
                    out[i] = p;
                }
                // Only a cancelled task (runtime shutting down) gets here:
                // its message stays `None` and goes to its own job.
                Some(Err(e)) => tracing::error!(error = %e, "a preparing task failed"),
                None => break,
            }
        }
        out
    }

    /// The one transaction: each message inserted (once) and, when new,
    /// analysed, in received order; the audit events appended last, so the
    /// chain's lock is held only for the appends and the commit.
    async fn store_and_analyse(
        &self,
        org: OrgId,
        incoming: &[Incoming<'_>],
        prepared: &[Option<Ready>],
        ctx: &Context,
    ) -> Result<Vec<Stored>, IngestError> {
        let rows: Vec<(Meta, NewMessage)> = incoming
            .iter()
            .map(|m| {
                let meta = headers::read(m.raw);
                let new = new_message(m, &meta);
                (meta, new)
            })
            .collect();
        let mut order: Vec<usize> = (0..rows.len()).collect();
        // Stable: messages received in the same instant keep the order given.
        order.sort_by_key(|&i| rows[i].1.received_at);

        let mut keys = AnyHistoryKeys::default();
        for k in prepared.iter().flatten().filter_map(|r| r.keys.as_ref()) {
            keys.add(k);
        }
        // `ingest_many` never calls with no messages; with none, there
        // would be no keys and nothing to load.
        let latest = rows
            .iter()
            .map(|(_, new)| new.received_at)
            .max()
            .unwrap_or_else(OffsetDateTime::now_utc);

        let mut tx = TenantTx::begin(&self.pool, org, None).await?;
        let mut history = BatchHistory::load(&mut tx, &keys, latest).await?;
        let mut stored: Vec<Option<Stored>> = vec![None; rows.len()];
        let mut events = Vec::new();
        for i in order {
            let (meta, new) = &rows[i];
            let inserted =
                message::insert_deduplicated(&mut tx, &self.keys, new, &meta.content_sha256)
                    .await?;
            self.faults.check(Step::MessageInserted)?;
            let Inserted::New(id) = inserted else {
                stored[i] = Some(Stored {
                    message_id: inserted.id(),
                    created: false,
                });
                continue;
            };
            events.push(received_event(id, &incoming[i]));
            if let Some(r) = &prepared[i] {
                let (analysed, report) = self
                    .finish(
                        &mut tx,
                        id,
                        new.received_at,
                        &r.prepared,
                        ctx,
                        Some(&mut history),
                    )
                    .await?;
                if analysed.created {
                    events.push(analysed_event(&analysed, &report));
                }
            } else {
                let job = AnalyseMessage {
                    message_id: id.as_uuid(),
                };
                queue::enqueue_payload(&mut tx, &job, None).await?;
            }
            stored[i] = Some(Stored {
                message_id: id,
                created: true,
            });
        }
        for event in events {
            audit::append(&mut tx, event).await?;
        }
        tx.commit().await?;
        self.faults.check(Step::Stored)?;
        self.faults.check(Step::Analysed)?;
        Ok(stored.into_iter().flatten().collect())
    }
}
