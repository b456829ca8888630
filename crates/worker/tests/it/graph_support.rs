//! The end-to-end sync rig: the fake Graph server on loopback, the web
//! app's webhooks on a real listener, and a worker running every job kind
//! (Graph sync, analyse, alerts) against the test database.

use crate::support::{World, no_alerts, test_config};
use sentra_domain::graph_jobs::{self, MailboxJob};
use sentra_domain::{RiskLevel, Role};
use sentra_graph::throttle::RetryPolicy;
use sentra_graph::{ClientCredential, GraphClient, GraphConfig};
use sentra_ingest::{FaultPlan, Ingestor};
use sentra_store::TenantTx;
use sentra_store::crypto::SecretString;
use sentra_store::ids::MailboxId;
use sentra_store::queue::{self, NewJob};
use sentra_store::repo::alert::{self, ChannelKind, NewChannel};
use sentra_store::repo::m365_mailbox::{self, M365Mailbox, WebhookSecrets};
use sentra_testkit::{FakeGraph, Standard};
use sentra_worker::graph::GraphSettings;
use sentra_worker::{Registry, Runner};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// Generous: the machine is shared, and these wait for real HTTP and jobs.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// A running rig.
pub struct Rig {
    pub w: World,
    pub fake: FakeGraph,
    pub s: Standard,
    /// The monitored mailbox as Sentra knows it.
    pub mailbox: MailboxId,
    web: String,
    faults: FaultPlan,
    max_mime_bytes: usize,
    /// The workers' `GraphSettings::store_batch_bytes` (`None`: the
    /// default); takes effect for workers started after it is set.
    pub batch_bytes: Option<usize>,
    stop: Option<oneshot::Sender<()>>,
    runner: Option<tokio::task::JoinHandle<sentra_worker::RunStats>>,
    /// Further workers (another process each, as far as Graph and the
    /// in-memory gates are concerned).
    others: Vec<Worker>,
}

/// A running worker: its stop signal and its task.
type Worker = (
    oneshot::Sender<()>,
    tokio::task::JoinHandle<sentra_worker::RunStats>,
);

/// The Graph client against the fake, with short backoffs but the
/// production inline-wait rule (a long `Retry-After` fails the call).
pub fn client(fake: &FakeGraph, s: &Standard, max_mime_bytes: usize) -> GraphClient {
    let mut cfg = GraphConfig::with_bases(
        &fake.login_base(),
        &fake.graph_base(),
        s.client_id.clone(),
        ClientCredential::Secret(s.client_secret.clone().into()),
    )
    .unwrap();
    cfg.retry = RetryPolicy {
        max_attempts: 5,
        base_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(500),
        max_inline_wait: Duration::from_secs(5),
    };
    cfg.delta_page_size = 10;
    cfg.max_mime_bytes = max_mime_bytes;
    GraphClient::new(cfg).unwrap()
}

impl Rig {
    /// Starts everything; `None` without Postgres.
    pub async fn start() -> Option<Self> {
        Self::start_with(FaultPlan::none(), 35 * 1024 * 1024).await
    }

    /// [`Self::start`] with ingest faults injected and a `$value` cap.
    pub async fn start_with(faults: FaultPlan, max_mime_bytes: usize) -> Option<Self> {
        let w = World::new().await?;
        let fake = FakeGraph::start().await;
        let s = fake.seed_standard();
        email_channel(&w).await;

        let state =
            sentra_web::AppState::new(w.pool().clone(), w.keys.clone(), false).expect("state");
        let app = sentra_web::Application::with_state("127.0.0.1:0".parse().unwrap(), state)
            .await
            .expect("web app");
        let web = format!("http://{}", app.local_addr());
        // Served until the test's runtime ends (shutting it down would close
        // the shared pool).
        tokio::spawn(app.run_until(std::future::pending()));

        let mailbox = {
            let mut tx = w.tx().await;
            let since = time::OffsetDateTime::now_utc() - time::Duration::days(1);
            let id = m365_mailbox::add(&mut tx, &s.monitored.upn, since)
                .await
                .unwrap();
            let secrets = WebhookSecrets {
                tenant_id: s.tenant_id.clone(),
                client_state: SecretString::from(format!("state-{}", uuid::Uuid::new_v4())),
                path_token: SecretString::from(format!("tok{}", uuid::Uuid::new_v4().simple())),
            };
            m365_mailbox::store_secrets(&mut tx, &w.keys, id, &secrets)
                .await
                .unwrap();
            tx.commit().await.unwrap();
            id
        };

        let mut rig = Self {
            w,
            fake,
            s,
            mailbox,
            web,
            faults,
            max_mime_bytes,
            batch_bytes: None,
            stop: None,
            runner: None,
            others: Vec::new(),
        };
        rig.spawn_worker();
        Some(rig)
    }

    /// Starts a worker with a Graph client of its own (fresh in-memory
    /// gates and tokens), as a restarted process would have.
    fn spawn_worker(&mut self) {
        let (stop, runner) = self.launch();
        self.stop = Some(stop);
        self.runner = Some(runner);
    }

    /// Starts one more worker beside the first, with its own Graph client,
    /// as a second `sentra worker` process would run.
    pub fn spawn_another_worker(&mut self) {
        let worker = self.launch();
        self.others.push(worker);
    }

    fn launch(&self) -> Worker {
        let w = &self.w;
        let ingestor =
            Ingestor::new(w.pool().clone(), w.keys.clone()).with_faults(self.faults.clone());
        let client = client(&self.fake, &self.s, self.max_mime_bytes);
        let mut settings = GraphSettings::new(client, self.web.clone());
        // Tests drive maintenance themselves.
        settings.maintain_every = Duration::from_hours(1);
        if let Some(bytes) = self.batch_bytes {
            settings.store_batch_bytes = bytes;
        }
        let mut registry = Registry::new();
        sentra_worker::jobs::register_defaults(
            &mut registry,
            ingestor.clone(),
            Arc::new(no_alerts()),
        );
        sentra_worker::graph::register(&mut registry, ingestor, settings);
        let runner = Runner::new(w.pool().clone(), registry, test_config());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            runner
                .run(async {
                    let _ = stopped.await;
                })
                .await
        });
        (stop, task)
    }

    /// Kills the worker mid-flight (its tasks dropped where they stand, as
    /// by `kill -9`: claims stay `running` until their lease runs out) and
    /// starts a fresh one.
    pub async fn kill_and_restart(&mut self) {
        if let Some(r) = self.runner.take() {
            r.abort();
            let _ = r.await;
        }
        // Dropped after the abort: dropping it first would start a graceful
        // shutdown.
        self.stop = None;
        self.spawn_worker();
    }

    /// Stops the workers (jobs in flight finish).
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(r) = self.runner.take() {
            let _ = r.await;
        }
        for (stop, r) in self.others.drain(..) {
            let _ = stop.send(());
            let _ = r.await;
        }
    }

    /// Enqueues a Graph job of `kind` for the monitored mailbox.
    pub async fn enqueue(&self, kind: &str, full: bool) {
        let job = MailboxJob {
            mailbox_id: self.mailbox.as_uuid(),
            full,
        };
        let mut tx = self.w.tx().await;
        queue::enqueue(
            &mut tx,
            &NewJob::new(kind, serde_json::to_value(job).unwrap()).dedupe_key(job.dedupe_key(kind)),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }

    /// Throttles the monitored mailbox's next Graph request with
    /// `Retry-After: retry_after`, delivers one invoice and queues the sync
    /// round that meets the throttle.
    pub async fn sync_into_throttle(&self, retry_after: &str) {
        let upn = &self.s.monitored.upn;
        self.fake
            .inject(sentra_testkit::Fault::throttled(Some(retry_after)).for_mailbox(upn));
        self.fake
            .add_message(upn, sentra_testkit::NewMessage::new(invoice(1)))
            .unwrap();
        self.enqueue(graph_jobs::SYNC, false).await;
    }

    /// Subscribes and waits for the first sync to complete.
    pub async fn connect(&self) -> M365Mailbox {
        self.enqueue(graph_jobs::SUBSCRIBE, false).await;
        self.until("subscribed and synced", |m| {
            m.subscription_id.is_some() && m.last_sync_at.is_some()
        })
        .await
    }

    /// The mailbox now.
    pub async fn mailbox(&self) -> M365Mailbox {
        let mut tx = self.w.tx().await;
        m365_mailbox::get(&mut tx, self.mailbox).await.unwrap()
    }

    /// Polls the mailbox until `cond` holds.
    pub async fn until(&self, what: &str, cond: impl Fn(&M365Mailbox) -> bool) -> M365Mailbox {
        let start = Instant::now();
        loop {
            let m = self.mailbox().await;
            if cond(&m) {
                return m;
            }
            assert!(
                start.elapsed() < PATIENCE,
                "timed out waiting: {what}; {m:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// One count over the organisation's rows (superuser, for assertions).
    pub async fn count(&self, sql: &'static str) -> i64 {
        sqlx::query_scalar(sql)
            .bind(self.w.org.as_uuid())
            .fetch_one(self.w.db.superuser())
            .await
            .unwrap()
    }

    /// Polls until `sql` counts at least `n`; returns the time it took.
    pub async fn until_count(&self, sql: &'static str, n: i64) -> Duration {
        let start = Instant::now();
        loop {
            let got = self.count(sql).await;
            if got >= n {
                return start.elapsed();
            }
            assert!(
                start.elapsed() < PATIENCE,
                "timed out: {sql} = {got}, wanted {n}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until no job of the organisation is queued or running, making
    /// retries due at once.
    pub async fn settle(&self) {
        let start = Instant::now();
        loop {
            // Retries due at once; the maintain loop keeps its schedule.
            sqlx::query(
                "update job set run_at = now()
                  where status = 'queued' and kind <> 'graph.maintain'",
            )
            .execute(self.w.db.superuser())
            .await
            .unwrap();
            let live = self
                .count(
                    "select count(*) from job where org_id = $1
                      and status in ('queued', 'running') and kind <> 'graph.maintain'",
                )
                .await;
            if live == 0 {
                return;
            }
            assert!(start.elapsed() < PATIENCE, "jobs did not settle");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// An email channel so that cases also produce alert jobs.
async fn email_channel(w: &World) {
    let mut tx: TenantTx = w.tx().await;
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

/// A distinct, harmless invoice email.
pub fn invoice(i: usize) -> String {
    format!(
        "From: Apex Scaffolding Ltd <accounts@apexscaffolding.co.uk>\r\nTo: accounts@hartleybuild.co.uk\r\nSubject: Invoice APX-{i}\r\nDate: Mon, 02 Nov 2026 09:00:00 +0000\r\nMessage-ID: <sync-{i}@apexscaffolding.co.uk>\r\n\r\nPlease find invoice APX-{i}. Amount due GBP 100.00.\r\n"
    )
}
