//! `graph.sync`: one delta round of a mailbox's inbox, each new message's
//! `$value` handed to ingest, and the round's `deltaLink` saved last (see
//! the module docs of [`super`] for why that order makes crashes harmless).

use super::{Ctx, Fail, Target};
use crate::JobError;
use futures_util::StreamExt as _;
use sentra_domain::OrgId;
use sentra_graph::GraphError;
use sentra_graph::delta::{DeltaItem, DeltaRound, DeltaStart, parse_graph_time};
use sentra_ingest::Incoming;
use sentra_store::TenantTx;
use sentra_store::audit::{self, NewEvent};
use sentra_store::ids::MailboxId;
use sentra_store::repo::m365_mailbox::{self, Health};
use sentra_store::repo::message;
use serde_json::json;
use time::OffsetDateTime;

/// `$value` fetches in flight per round; the Graph client's per-mailbox
/// gate (4, Microsoft's limit) is what really bounds them.
const FETCH_CONCURRENCY: usize = 4;

/// A message of the round that is not stored, and why.
enum Fetched {
    /// Larger than the cap: not read, recorded.
    TooLarge { id: String, cap: usize },
    /// Deleted between the delta page and the fetch.
    Gone,
}

/// Runs the job: sync, with failures recorded on the mailbox's health.
pub(super) async fn run(ctx: &Ctx, org: OrgId, id: MailboxId, full: bool) -> Result<(), JobError> {
    match sync(ctx, org, id, full).await {
        Ok(()) => Ok(()),
        Err(fail) => ctx.settle(org, id, fail).await,
    }
}

async fn sync(ctx: &Ctx, org: OrgId, id: MailboxId, full: bool) -> Result<(), Fail> {
    let Some(target) = ctx.load(org, id).await? else {
        return Ok(());
    };
    let link = if full {
        None
    } else {
        target.mailbox.delta_link.clone()
    };
    if full && target.mailbox.delta_link.is_some() {
        clear_link(ctx, &target).await?;
    }
    let round = match link {
        Some(link) => {
            match ctx
                .client()
                .delta_round(
                    &target.tenant,
                    &target.mailbox.address,
                    DeltaStart::Link(&link),
                )
                .await
            {
                Err(GraphError::SyncStateNotFound) => {
                    // The link expired (410): forget it and start again from
                    // the start date; ingest dedupes what was already stored.
                    tracing::info!(mailbox = %id, "delta link expired; full resync");
                    clear_link(ctx, &target).await?;
                    from_start(ctx, &target).await?
                }
                other => other?,
            }
        }
        None => from_start(ctx, &target).await?,
    };
    let skipped = store_round(ctx, &target, &round).await?;
    finish(ctx, &target, &round, &skipped).await
}

async fn from_start(ctx: &Ctx, t: &Target) -> Result<DeltaRound, GraphError> {
    let since = t
        .mailbox
        .sync_since
        .unwrap_or_else(|| OffsetDateTime::now_utc() - ctx.settings.default_lookback);
    ctx.client()
        .delta_round(
            &t.tenant,
            &t.mailbox.address,
            DeltaStart::Since {
                folder: "inbox",
                since,
            },
        )
        .await
}

async fn clear_link(ctx: &Ctx, t: &Target) -> Result<(), Fail> {
    let mut tx = TenantTx::begin(ctx.pool(), t.org, None).await?;
    m365_mailbox::clear_delta_link(&mut tx, t.id).await?;
    tx.commit().await?;
    Ok(())
}

/// Fetches, stores and analyses every message of the round not stored
/// before. Returns the ones too large to read. Any other failure fails the
/// round (its link is then not saved, and the re-run repeats it), after the
/// messages before it are stored.
///
/// Fetching and storing overlap: the fetches (≤ [`FETCH_CONCURRENCY`])
/// hand their bodies over a channel in the order the mailbox received the
/// messages, and the store side ingests whatever has arrived, up to
/// `store_batch` messages and `store_batch_bytes` of raw MIME, in one
/// transaction while the next fetches run. That order is what makes
/// verdicts repeatable: a message is analysed after every earlier message
/// of the round, so it always sees their history.
async fn store_round(ctx: &Ctx, t: &Target, round: &DeltaRound) -> Result<Vec<Fetched>, Fail> {
    let ids: Vec<String> = round.messages.iter().map(|m| m.id.clone()).collect();
    let known = {
        let mut tx = TenantTx::begin(ctx.pool(), t.org, None).await?;
        let known = message::known_provider_ids(&mut tx, t.id, &ids).await?;
        tx.commit().await?;
        known
    };
    let mut todo: Vec<(Option<OffsetDateTime>, DeltaItem)> = round
        .messages
        .iter()
        .filter(|m| !known.contains(&m.id))
        .map(|m| {
            (
                m.received_date_time.as_deref().and_then(parse_graph_time),
                m.clone(),
            )
        })
        .collect();
    // Stable, and a message without a time (none in practice) goes last,
    // as ingest then takes it as received now.
    todo.sort_by_key(|(at, _)| (at.is_none(), *at));
    tracing::debug!(
        mailbox = %t.id,
        items = round.messages.len(),
        new = todo.len(),
        removed = round.removed.len(),
        duplicates = round.duplicates,
        "delta round"
    );
    let batch = ctx.settings.store_batch.max(1);
    let (send, mut recv) = tokio::sync::mpsc::channel::<Body>(batch);
    // Each body waiting to be stored holds its size (capped at the whole
    // budget, so a larger one still passes, alone) until its batch is in.
    let budget = ctx
        .settings
        .store_batch_bytes
        .clamp(1, usize::try_from(u32::MAX).unwrap_or(usize::MAX));
    let bytes = std::sync::Arc::new(tokio::sync::Semaphore::new(budget));
    let fetch = async move {
        let mut results = futures_util::stream::iter(todo)
            // Owned items: a stream of futures borrowing from the iterator
            // trips the compiler's higher-ranked `Send` check.
            .map(|(at, item)| async move {
                let got = fetch(ctx, t, &item).await;
                (item, at, got)
            })
            // In order: up to FETCH_CONCURRENCY run, handed over as listed.
            .buffered(FETCH_CONCURRENCY);
        let mut skipped = Vec::new();
        let mut first_err = None;
        while let Some((item, at, got)) = results.next().await {
            match got {
                Ok(Fetch::Raw(raw)) => {
                    let size = u32::try_from(raw.len().clamp(1, budget)).unwrap_or(u32::MAX);
                    let Ok(held) = bytes.clone().acquire_many_owned(size).await else {
                        break;
                    };
                    if send.send((item, at, raw, held)).await.is_err() {
                        // The store side failed; it reports why.
                        break;
                    }
                }
                Ok(Fetch::Skip(Fetched::Gone)) => {}
                Ok(Fetch::Skip(too_large)) => skipped.push(too_large),
                // The messages after a failed fetch are still stored: one
                // message Graph keeps failing must not keep the rest of the
                // mailbox unanalysed. Only that one is analysed out of order,
                // by the re-run.
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        (skipped, first_err)
    };
    let store = async move {
        let mut buf = Vec::with_capacity(batch);
        while recv.recv_many(&mut buf, batch).await > 0 {
            let incoming: Vec<Incoming<'_>> = buf
                .iter()
                .map(|(item, at, raw, _)| Incoming {
                    mailbox: t.id,
                    provider_id: &item.id,
                    raw,
                    received_at: *at,
                })
                .collect();
            ctx.ingestor.ingest_many(t.org, &incoming).await?;
            buf.clear();
        }
        Ok::<(), Fail>(())
    };
    let ((skipped, fetch_err), stored) = tokio::join!(fetch, store);
    stored?;
    match fetch_err {
        Some(e) => Err(e),
        None => Ok(skipped),
    }
}

/// A fetched message on its way to the store side: the delta item, when
/// the mailbox received it, its raw MIME, and its share of the round's
/// byte budget (given back when its batch is stored).
type Body = (
    DeltaItem,
    Option<OffsetDateTime>,
    Vec<u8>,
    tokio::sync::OwnedSemaphorePermit,
);

/// A fetched body, or why there is none.
enum Fetch {
    Raw(Vec<u8>),
    Skip(Fetched),
}

async fn fetch(ctx: &Ctx, t: &Target, item: &DeltaItem) -> Result<Fetch, Fail> {
    match ctx
        .client()
        .message_mime(&t.tenant, &t.mailbox.address, &item.id)
        .await
    {
        Ok(raw) => Ok(Fetch::Raw(raw)),
        Err(GraphError::TooLarge { cap }) => Ok(Fetch::Skip(Fetched::TooLarge {
            id: item.id.clone(),
            cap,
        })),
        Err(GraphError::NotFound { .. }) => Ok(Fetch::Skip(Fetched::Gone)),
        Err(e) => Err(e.into()),
    }
}

/// Saves the round's link (health back to healthy) and records the
/// messages too large to read: one audit event each, and the mailbox
/// marked degraded with the reason, so they are seen, not lost.
async fn finish(
    ctx: &Ctx,
    t: &Target,
    round: &DeltaRound,
    skipped: &[Fetched],
) -> Result<(), Fail> {
    let mut tx = TenantTx::begin(ctx.pool(), t.org, None).await?;
    let current = m365_mailbox::lock(&mut tx, t.id).await?;
    if current.status != "active" {
        // Disconnected while the round ran: keep nothing.
        return Ok(());
    }
    if current.health != Health::Healthy && skipped.is_empty() {
        // Recovered: the change of health is audited.
        m365_mailbox::set_health(&mut tx, t.id, Health::Healthy, None).await?;
    }
    m365_mailbox::save_delta_link(&mut tx, t.id, Some(&round.delta_link)).await?;
    let mut cap_bytes = 0;
    for s in skipped {
        if let Fetched::TooLarge { id, cap } = s {
            cap_bytes = *cap;
            let event = NewEvent::new("system:worker", "message.skipped")
                .target("mailbox", t.id.to_string())
                .details(json!({
                    "provider_message_id": id,
                    "reason": "too_large",
                    "cap_bytes": cap,
                }));
            audit::append(&mut tx, event).await?;
        }
    }
    if !skipped.is_empty() {
        let text = format!(
            "{} message(s) larger than the {cap_bytes}-byte cap were not read (see the audit log)",
            skipped.len()
        );
        m365_mailbox::set_health(&mut tx, t.id, Health::Degraded, Some(&text)).await?;
    }
    tx.commit().await?;
    Ok(())
}
