//! The Microsoft 365 sync jobs (issue 5): what turns a change notification,
//! a lifecycle event or the periodic safety net into stored, analysed mail.
//!
//! ```text
//! webhook ──► graph.sync ──► delta round (stored deltaLink, or from the start date)
//!                               │  $value of each new message (≤4 in flight, size-capped)
//!                               ▼
//!                       sentra_ingest::ingest_many ──► message, verdict, case, alerts
//!                               │  (in received order)  every message committed first, then:
//!                               ▼
//!                       save the round's deltaLink
//! graph.subscribe ──► subscription (one per mailbox) ──► graph.sync
//! graph.reauthorize ──► reauthorize (or subscribe again when gone)
//! graph.maintain ──► renew before expiry + graph.sync ──► next graph.maintain
//! ```
//!
//! # Transactions and crashes
//!
//! All four kinds are [`PooledHandler`]s: Graph calls can take minutes
//! (throttling, hundreds of messages), so no transaction stays open across
//! them. The round's new messages are stored and analysed by
//! [`Ingestor::ingest_many`] in batches, in the order the mailbox received
//! them, one transaction each (every message with its verdict, case,
//! alerts and audit events), and the round's `deltaLink` is saved only
//! after every message of the round is stored. A crash
//! anywhere re-runs the round from the previous link; ingest keys messages
//! on (mailbox, immutable id), so the re-run stores nothing twice, and the
//! messages already stored are not even fetched again. A subscribe run
//! first deletes this mailbox's earlier subscriptions (found by their
//! notification URL), so a crash between creating one and recording it
//! leaves no second one behind after the re-run.
//!
//! A notification's `graph.sync` is deduplicated while queued, but a running
//! round lets go of its dedupe key first: a notification that arrives while
//! a round runs (after it may have read delta) queues the next round instead
//! of merging into this one and waiting for the safety net. Rounds of one
//! mailbox take turns within a worker, and across workers through a
//! transaction-scoped advisory lock ([`m365_mailbox::try_lock_round`]): a
//! job that finds another worker's round running is deferred without
//! spending an attempt, so no second worker calls Graph for the mailbox
//! while the first may be holding a `Retry-After` only it has heard.
//!
//! # Health
//!
//! A failure is recorded on the mailbox ([`m365_mailbox::set_health`], codes
//! only, never a token): `needs_reconnect` when an admin must act (`401`,
//! `403`, consent revoked, service principal deleted) — the job then ends,
//! since retrying cannot help, and the next maintain run probes again —
//! otherwise `degraded` (throttled, `5xx`, transport) and the job retries,
//! no sooner than Graph's `Retry-After`. A completed round sets it back to
//! `healthy`.
//!
//! # Retry-After across restarts
//!
//! Every hold the Graph client puts on a mailbox or tenant is written to the
//! database before the client waits it out, and every job reads it back when
//! it starts (`throttle`): a job that starts before the deadline waits (a
//! hold the client would wait out inline) or is deferred to the deadline
//! without spending an attempt. A sync job checks before it lets go of its
//! dedupe key, so notifications during the hold merge into the deferred
//! job instead of queueing more.
//!
//! # The periodic loop
//!
//! Each `graph.maintain` run schedules the next (`run_at` in the future)
//! unless another is already live for the mailbox, checked under the
//! mailbox's row lock. A worker starting up calls [`seed_maintain`], which
//! adds one to every active mailbox that has none, so a loop lost to a
//! crash or a parked job comes back.

mod subscribe;
mod sync;
mod throttle;

use crate::JobError;
use crate::registry::{BoxFuture, PooledHandler, Registry};
use sentra_domain::OrgId;
use sentra_domain::graph_jobs::{self, MailboxJob};
use sentra_domain::jobs::JobPayload;
use sentra_graph::throttle::ThrottleScope;
use sentra_graph::{GraphClient, GraphError};
use sentra_ingest::{IngestError, Ingestor};
use sentra_store::ids::MailboxId;
use sentra_store::queue::{self, ClaimedJob, NewJob};
use sentra_store::repo::m365_mailbox::{self, Health, M365Mailbox};
use sentra_store::{AppPool, StoreError, TenantTx};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use time::OffsetDateTime;

/// How soon a sync job that found another worker's round running on its
/// mailbox tries again (a round of a few pages takes about this long).
const ROUND_BUSY_RETRY: Duration = Duration::from_secs(1);

/// What the Graph jobs need besides the ingest pipeline.
#[derive(Debug, Clone)]
pub struct GraphSettings {
    /// The Graph client (base URLs, Sentra's credential, limits).
    pub client: GraphClient,
    /// The web application's public base URL (`https://sentra.example`):
    /// subscriptions send their notifications under it.
    pub webhook_base: String,
    /// How often the safety-net maintain job runs per mailbox.
    pub maintain_every: Duration,
    /// How far back the first sync of a mailbox with no start date reaches.
    pub default_lookback: time::Duration,
    /// At most this many of a round's new messages are stored and analysed
    /// in one transaction (whatever has been fetched when the previous
    /// batch committed, so a lone message is not held back). 64 by default:
    /// one commit, one context load and one audit-chain turn for many
    /// messages is what takes the `graph_sync` bench past 200 msg/s
    /// (docs/PERFORMANCE.md). The batch is analysed in received order, so
    /// its size changes no verdict.
    pub store_batch: usize,
    /// At most this many bytes of raw MIME wait between a round's fetches
    /// and its store side, so also per transaction (32 MiB by default). A
    /// batch of 64 large scans must not take the worker's memory: 64 bodies
    /// near the `$value` cap would be over 2 GiB, and a worker that runs
    /// out of memory re-runs the same round after every restart. A body
    /// larger than the budget goes on its own.
    pub store_batch_bytes: usize,
}

impl GraphSettings {
    /// Settings with Sentra's defaults: maintain every 10 minutes (the
    /// contract's 5–15), first sync 30 days back, up to 64 messages stored
    /// per transaction (see [`GraphSettings::store_batch`]).
    pub fn new(client: GraphClient, webhook_base: impl Into<String>) -> Self {
        Self {
            client,
            webhook_base: webhook_base.into().trim_end_matches('/').to_owned(),
            maintain_every: Duration::from_mins(10),
            default_lookback: time::Duration::days(30),
            store_batch: 64,
            store_batch_bytes: 32 * 1024 * 1024,
        }
    }
}

/// Registers the four Graph kinds (`graph.sync`, `graph.subscribe`,
/// `graph.reauthorize`, `graph.maintain`) on `registry`. Call
/// [`seed_maintain`] once when the worker starts.
pub fn register(registry: &mut Registry, ingestor: Ingestor, settings: GraphSettings) {
    let targets = Arc::new(throttle::Targets::default());
    settings
        .client
        .observe_throttling(Arc::new(throttle::Persist {
            pool: ingestor.pool().clone(),
            targets: targets.clone(),
        }));
    let ctx = Arc::new(Ctx {
        settings,
        ingestor,
        rounds: Mutex::default(),
        targets,
    });
    registry
        .register_pooled::<SyncJob, _>(Kind(ctx.clone()))
        .register_pooled::<SubscribeJob, _>(Kind(ctx.clone()))
        .register_pooled::<ReauthorizeJob, _>(Kind(ctx.clone()))
        .register_pooled::<MaintainJob, _>(Kind(ctx));
}

/// Adds a due `graph.maintain` job to every active Microsoft 365 mailbox
/// (of every organisation) that has none queued or running. Returns how
/// many were added.
pub async fn seed_maintain(pool: &AppPool) -> Result<usize, StoreError> {
    let mut added = 0;
    for (org, mailbox) in m365_mailbox::all_active(pool).await? {
        let mut tx = TenantTx::begin(pool, org, None).await?;
        if ensure_maintain(&mut tx, mailbox, None, None).await? {
            added += 1;
        }
        tx.commit().await?;
    }
    Ok(added)
}

/// Enqueues a maintain run of `mailbox` at `run_at` (now when `None`)
/// unless one other than `except` is live. Locks the mailbox row first, so
/// two workers seeding at once add one job, not two.
async fn ensure_maintain(
    tx: &mut TenantTx,
    mailbox: MailboxId,
    except: Option<queue::JobId>,
    run_at: Option<OffsetDateTime>,
) -> Result<bool, StoreError> {
    let current = m365_mailbox::lock(tx, mailbox).await?;
    if current.status != "active" {
        return Ok(false);
    }
    let filter = serde_json::json!({ "mailbox_id": mailbox.as_uuid() });
    if !queue::live_ids(tx, graph_jobs::MAINTAIN, &filter, except)
        .await?
        .is_empty()
    {
        return Ok(false);
    }
    let mut job = NewJob::new(graph_jobs::MAINTAIN, filter);
    job.run_at = run_at;
    queue::enqueue(tx, &job).await?;
    Ok(true)
}

/// Enqueues a (deduplicated) job of `kind` for `mailbox`.
async fn enqueue(
    tx: &mut TenantTx,
    kind: &str,
    mailbox: MailboxId,
    full: bool,
) -> Result<(), StoreError> {
    let job = MailboxJob {
        mailbox_id: mailbox.as_uuid(),
        full,
    };
    let payload = serde_json::to_value(job).map_err(|_| StoreError::Decode {
        what: "job.payload",
    })?;
    queue::enqueue(
        tx,
        &NewJob::new(kind, payload).dedupe_key(job.dedupe_key(kind)),
    )
    .await?;
    Ok(())
}

/// The handlers' shared state.
struct Ctx {
    settings: GraphSettings,
    ingestor: Ingestor,
    /// One sync round per mailbox at a time in this process.
    rounds: Mutex<HashMap<MailboxId, Arc<tokio::sync::Mutex<()>>>>,
    /// Graph's names of the loaded mailboxes, for persisting holds.
    targets: Arc<throttle::Targets>,
}

impl Ctx {
    fn mailbox_lock(&self, id: MailboxId) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.rounds.lock().unwrap_or_else(PoisonError::into_inner);
        map.entry(id).or_default().clone()
    }

    fn client(&self) -> &GraphClient {
        &self.settings.client
    }

    fn pool(&self) -> &AppPool {
        self.ingestor.pool()
    }

    /// Whether a job for the mailbox must wait longer than the client waits
    /// inline before it may call Graph (a persisted `Retry-After`): how
    /// long, then.
    async fn deferral(&self, org: OrgId, id: MailboxId) -> Result<Option<Duration>, StoreError> {
        let mut tx = TenantTx::begin(self.pool(), org, None).await?;
        let holds = match m365_mailbox::request_holds(&mut tx, id).await {
            Ok(h) => h,
            Err(StoreError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        tx.commit().await?;
        let wait = holds.longest();
        Ok((wait > self.client().config().retry.max_inline_wait).then_some(wait))
    }

    /// The mailbox and its tenant, or `None` when there is nothing to do:
    /// gone, disconnected, or never given its webhook secrets. Primes the
    /// client's gates with the persisted `Retry-After` deadlines, and fails
    /// with [`Fail::Defer`] when they are further off than the client
    /// waits inline.
    async fn load(&self, org: OrgId, id: MailboxId) -> Result<Option<Target>, Fail> {
        let mut tx = TenantTx::begin(self.pool(), org, None).await?;
        let mailbox = match m365_mailbox::get(&mut tx, id).await {
            Ok(m) => m,
            Err(StoreError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        if mailbox.status != "active" {
            return Ok(None);
        }
        let Some(secrets) = m365_mailbox::secrets(&mut tx, self.ingestor.keys(), id).await? else {
            return Ok(None);
        };
        let holds = m365_mailbox::request_holds(&mut tx, id).await?;
        tx.commit().await?;
        if secrets.tenant_id.is_empty() {
            return Ok(None);
        }
        let tenant = &secrets.tenant_id;
        self.targets.remember(tenant, &mailbox.address, org, id);
        // The in-memory gates hold at least what the database says (a hold
        // from a process that died, or from another worker).
        let client = self.client();
        client.hold(
            &ThrottleScope::Mailbox {
                tenant: tenant.clone(),
                mailbox: mailbox.address.clone(),
            },
            holds.mailbox,
        );
        client.hold(
            &ThrottleScope::Tenant {
                tenant: tenant.clone(),
            },
            holds.tenant,
        );
        if holds.longest() > client.config().retry.max_inline_wait {
            return Err(Fail::Defer(holds.longest()));
        }
        Ok(Some(Target {
            org,
            id,
            mailbox,
            tenant: secrets.tenant_id.clone(),
            secrets: Arc::new(secrets),
        }))
    }

    /// A sync job's round, under the mailbox's round lock.
    async fn sync_job(
        &self,
        pool: &AppPool,
        job: &ClaimedJob,
        id: MailboxId,
        full: bool,
    ) -> Result<(), JobError> {
        // Throttled (a persisted Retry-After): wait for the deadline
        // still holding the dedupe key, so notifications merge into
        // this job meanwhile.
        if let Some(wait) = self.deferral(job.org, id).await? {
            return Err(JobError::defer(wait));
        }
        // A notification from now on must queue another round rather
        // than merge into this one, which may have read delta already.
        queue::release_dedupe_key(pool, job).await?;
        sync::run(self, job.org, id, full).await
    }

    /// Records `fail` on the mailbox's health and says what the job does:
    /// ends (`Ok`: an admin must act) or retries (`Err`, after any
    /// `Retry-After`).
    async fn settle(&self, org: OrgId, id: MailboxId, fail: Fail) -> Result<(), JobError> {
        let e = match fail {
            Fail::Job(e) => return Err(e),
            Fail::Defer(wait) => return Err(JobError::defer(wait)),
            Fail::Graph(e) => e,
        };
        self.record(org, id, &e).await?;
        if e.needs_admin() {
            return Ok(());
        }
        let job = JobError::new(format!("graph: {e}"));
        Err(match e {
            GraphError::Throttled { retry_after, .. } => job.retry_after(retry_after),
            _ => job,
        })
    }

    /// Sets the mailbox's health for `e`: `needs_reconnect` when an admin
    /// must act, `degraded` otherwise; the error text holds codes only.
    async fn record(&self, org: OrgId, id: MailboxId, e: &GraphError) -> Result<(), StoreError> {
        let health = if e.needs_admin() {
            Health::NeedsReconnect
        } else {
            Health::Degraded
        };
        tracing::warn!(mailbox = %id, health = health.as_str(), error = %e, "graph sync failed");
        let mut tx = TenantTx::begin(self.pool(), org, None).await?;
        m365_mailbox::set_health(&mut tx, id, health, Some(&e.to_string())).await?;
        tx.commit().await
    }
}

/// A mailbox being worked on.
struct Target {
    org: OrgId,
    id: MailboxId,
    mailbox: M365Mailbox,
    tenant: String,
    secrets: Arc<m365_mailbox::WebhookSecrets>,
}

/// Why a step failed: Graph (health decides what happens), our side, or
/// not failed at all: Graph said to wait this long before calling again.
enum Fail {
    Graph(GraphError),
    Job(JobError),
    Defer(Duration),
}

impl From<GraphError> for Fail {
    fn from(e: GraphError) -> Self {
        Self::Graph(e)
    }
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        Self::Job(e.into())
    }
}

impl From<IngestError> for Fail {
    fn from(e: IngestError) -> Self {
        Self::Job(e.into())
    }
}

/// The four kinds share [`MailboxJob`] as payload; the registry is keyed
/// by payload type, hence one transparent wrapper per kind.
macro_rules! kind {
    ($name:ident, $kind:expr) => {
        #[derive(Debug, Clone, Copy, Serialize, Deserialize)]
        #[serde(transparent)]
        struct $name(MailboxJob);

        impl JobPayload for $name {
            const KIND: &'static str = $kind;
            fn dedupe_key(&self) -> Option<String> {
                Some(self.0.dedupe_key($kind))
            }
        }
    };
}

kind!(SyncJob, graph_jobs::SYNC);
kind!(SubscribeJob, graph_jobs::SUBSCRIBE);
kind!(ReauthorizeJob, graph_jobs::REAUTHORIZE);
kind!(MaintainJob, graph_jobs::MAINTAIN);

/// One handler type for the four kinds.
struct Kind(Arc<Ctx>);

impl PooledHandler<SyncJob> for Kind {
    fn run<'a>(
        &'a self,
        pool: &'a AppPool,
        job: &'a ClaimedJob,
        p: SyncJob,
    ) -> BoxFuture<'a, Result<(), JobError>> {
        let id = MailboxId::from_uuid(p.0.mailbox_id);
        Box::pin(async move {
            // One round of a mailbox at a time in this worker: the others
            // wait their turn here.
            let lock = self.0.mailbox_lock(id);
            let _turn = lock.lock().await;
            // And one at a time across workers. Two rounds at once would
            // not store anything twice (ingest dedupes), but a worker cannot
            // see the `Retry-After` another one was just given (it reads
            // the persisted deadline only when its round starts), and two
            // rounds would double the in-flight requests the mailbox's cap
            // allows. A busy mailbox defers this job, keeping its dedupe
            // key so that notifications merge into it meanwhile.
            let Some(round) = m365_mailbox::try_lock_round(pool, job.org, id).await? else {
                return Err(JobError::defer(ROUND_BUSY_RETRY));
            };
            let result = self.0.sync_job(pool, job, id, p.0.full).await;
            if let Err(e) = round.release().await {
                // The transaction ends with its connection regardless.
                tracing::warn!(mailbox = %id, error = %e, "releasing the round lock failed");
            }
            result
        })
    }
}

impl PooledHandler<SubscribeJob> for Kind {
    fn run<'a>(
        &'a self,
        _pool: &'a AppPool,
        job: &'a ClaimedJob,
        p: SubscribeJob,
    ) -> BoxFuture<'a, Result<(), JobError>> {
        let id = MailboxId::from_uuid(p.0.mailbox_id);
        Box::pin(subscribe::subscribe_job(&self.0, job.org, id))
    }
}

impl PooledHandler<ReauthorizeJob> for Kind {
    fn run<'a>(
        &'a self,
        _pool: &'a AppPool,
        job: &'a ClaimedJob,
        p: ReauthorizeJob,
    ) -> BoxFuture<'a, Result<(), JobError>> {
        let id = MailboxId::from_uuid(p.0.mailbox_id);
        Box::pin(subscribe::reauthorize_job(&self.0, job.org, id))
    }
}

impl PooledHandler<MaintainJob> for Kind {
    fn run<'a>(
        &'a self,
        _pool: &'a AppPool,
        job: &'a ClaimedJob,
        p: MaintainJob,
    ) -> BoxFuture<'a, Result<(), JobError>> {
        let id = MailboxId::from_uuid(p.0.mailbox_id);
        Box::pin(subscribe::maintain_job(&self.0, job, id))
    }
}
