//! Microsoft 365 sync end to end on loopback: the fake Graph server, the web
//! app's webhooks on a real listener, and a worker with the production
//! runner settings, against a per-run Postgres database.
//!
//! 1. Throughput: `SENTRA_BENCH_MESSAGES` messages (default 1000, one in ten
//!    a bank-change fraud) delivered at once → notification → delta →
//!    `$value` → stored → analysed. Prints messages per second.
//! 2. Latency: `SENTRA_BENCH_LATENCY` fraudulent messages (default 100)
//!    delivered one every 50 ms; each one's time from delivery to its case
//!    being visible in the database (polled every 5 ms). Prints p50/p99.
//!
//! `cargo bench -p sentra-worker --bench graph_sync` (needs Postgres at
//! `DATABASE_URL`).

use sentra_domain::bank::{BankAccount, SortCode, UkAccountNumber};
use sentra_domain::graph_jobs::{self, MailboxJob};
use sentra_domain::{EmailAddress, OrgId};
use sentra_graph::{ClientCredential, GraphClient, GraphConfig};
use sentra_ingest::Ingestor;
use sentra_store::crypto::{Keyring, SecretString};
use sentra_store::queue::{self, NewJob};
use sentra_store::repo::bank_account::{self, AccountStatus};
use sentra_store::repo::m365_mailbox::{self, WebhookSecrets};
use sentra_store::repo::supplier::{self, SupplierFields, SupplierStatus};
use sentra_store::repo::{organisation, user};
use sentra_store::testing::TestDb;
use sentra_store::{AppPool, TenantTx};
use sentra_testkit::{FakeGraph, NewMessage};
use sentra_worker::alerts::AlertSettings;
use sentra_worker::alerts::outbound::OutboundPolicy;
use sentra_worker::graph::GraphSettings;
use sentra_worker::{Registry, Runner, RunnerConfig};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn email(tag: &str, i: usize, fraud: bool) -> String {
    let (from, body) = if fraud {
        (
            "accounts@apexscaffolding.co",
            "Please note the change of bank details for Apex Scaffolding Ltd. Our old account is no longer in use. Please update your records and pay all future payments to:\r\nSort code: 13-40-20\r\nAccount number: 63849203\r\n",
        )
    } else {
        (
            "accounts@apexscaffolding.co.uk",
            "Please find our invoice. Amount due: GBP 1,250.00.\r\nsort code 08-99-99, account number 66374958.\r\n",
        )
    };
    format!(
        "From: Apex Scaffolding Ltd <{from}>\r\nTo: accounts@hartleybuild.co.uk\r\nSubject: Invoice APX-{tag}{i}\r\nDate: Mon, 02 Nov 2026 09:00:00 +0000\r\nMessage-ID: <{tag}{i}@apex>\r\n\r\nDear Hartley,\r\n{body}"
    )
}

async fn count(pool: &sqlx::PgPool, sql: &'static str, org: OrgId) -> i64 {
    sqlx::query_scalar(sql)
        .bind(org.as_uuid())
        .fetch_one(pool)
        .await
        .unwrap()
}

/// The organisation, its supplier on file, and the connected mailbox.
async fn world(pool: &AppPool, keys: &Keyring, upn: &str, tenant: &str) -> (OrgId, uuid::Uuid) {
    let owner = user::create(
        pool,
        &EmailAddress::parse("owner@hartleybuild.co.uk").unwrap(),
        "x",
    )
    .await
    .unwrap();
    let org = organisation::create(pool, "Bench", owner).await.unwrap();
    let mut tx = TenantTx::begin(pool, org, None).await.unwrap();
    let apex = supplier::create(
        &mut tx,
        &SupplierFields {
            name: "Apex Scaffolding Ltd".to_owned(),
            domains: vec!["apexscaffolding.co.uk".to_owned()],
            country: Some("GB".to_owned()),
            status: SupplierStatus::Active,
        },
    )
    .await
    .unwrap();
    let account = BankAccount::Uk {
        sort_code: SortCode::parse("08-99-99").unwrap(),
        account: UkAccountNumber::parse("66374958").unwrap(),
    };
    bank_account::add(
        &mut tx,
        keys,
        apex,
        &account,
        AccountStatus::Active,
        Some(owner),
    )
    .await
    .unwrap();
    let since = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    let mailbox = m365_mailbox::add(&mut tx, upn, since).await.unwrap();
    let secrets = WebhookSecrets {
        tenant_id: tenant.to_owned(),
        client_state: SecretString::from(format!("state-{}", uuid::Uuid::new_v4())),
        path_token: SecretString::from(format!("tok{}", uuid::Uuid::new_v4().simple())),
    };
    m365_mailbox::store_secrets(&mut tx, keys, mailbox, &secrets)
        .await
        .unwrap();
    let job = MailboxJob {
        mailbox_id: mailbox.as_uuid(),
        full: false,
    };
    queue::enqueue(
        &mut tx,
        &NewJob::new(graph_jobs::SUBSCRIBE, serde_json::to_value(job).unwrap())
            .dedupe_key(job.dedupe_key(graph_jobs::SUBSCRIBE)),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    (org, mailbox.as_uuid())
}

async fn wait_for(what: &str, pool: &sqlx::PgPool, sql: &'static str, org: OrgId, n: i64) {
    let start = Instant::now();
    while count(pool, sql, org).await < n {
        assert!(
            start.elapsed() < Duration::from_mins(10),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let n = env("SENTRA_BENCH_MESSAGES", 1000);
    let k = env("SENTRA_BENCH_LATENCY", 100);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let Some(db) = TestDb::create_with_app_connections(24).await else {
            eprintln!("graph_sync bench skipped: no Postgres");
            return;
        };
        let keys = Arc::new(Keyring::generate_insecure_dev().unwrap());
        let pool = db.app_pool().clone();
        let fake = FakeGraph::start().await;
        let s = fake.seed_standard();
        let upn = s.monitored.upn.clone();
        let (org, _) = world(&pool, &keys, &upn, &s.tenant_id).await;

        // The web app gets a pool of its own, as `sentra serve` would.
        let web_pool = AppPool::connect(db.app_url(), 16).await.unwrap();
        let state = sentra_web::AppState::new(web_pool, keys.clone(), false).unwrap();
        let app = sentra_web::Application::with_state("127.0.0.1:0".parse().unwrap(), state)
            .await
            .unwrap();
        let web = format!("http://{}", app.local_addr());
        tokio::spawn(app.run_until(std::future::pending()));

        let cfg = GraphConfig::with_bases(
            &fake.login_base(),
            &fake.graph_base(),
            s.client_id.clone(),
            ClientCredential::Secret(s.client_secret.clone().into()),
        )
        .unwrap();
        let ingestor = Ingestor::new(pool.clone(), keys.clone());
        let mut registry = Registry::new();
        sentra_worker::jobs::register_defaults(
            &mut registry,
            ingestor.clone(),
            Arc::new(AlertSettings {
                base_url: "https://sentra.example".to_owned(),
                outbound: OutboundPolicy::default(),
                smtp: None,
            }),
        );
        let settings = GraphSettings::new(GraphClient::new(cfg).unwrap(), web);
        sentra_worker::graph::register(&mut registry, ingestor, settings);
        // The production runner settings (`sentra worker`'s defaults).
        let runner = Runner::new(pool.clone(), registry, RunnerConfig::default());
        tokio::spawn(async move { runner.run(std::future::pending()).await });

        let sup = db.superuser().clone();
        wait_for(
            "the subscription",
            &sup,
            "select count(*) from mailbox where org_id = $1 and last_sync_at is not null",
            org,
            1,
        )
        .await;

        // 1. Throughput.
        let messages: Vec<NewMessage> = (0..n)
            .map(|i| NewMessage::new(email("t", i, i % 10 == 0)))
            .collect();
        let start = Instant::now();
        fake.deliver_many(&upn, messages).unwrap();
        let nn = i64::try_from(n).unwrap();
        wait_for("storing", &sup, "select count(*) from message where org_id = $1", org, nn).await;
        let stored = start.elapsed();
        wait_for("analysis", &sup, "select count(*) from assessment where org_id = $1", org, nn)
            .await;
        let total = start.elapsed();
        let cases = count(&sup, "select count(*) from fraud_case where org_id = $1", org).await;
        println!(
            "graph_sync throughput: {n} messages delivered → stored in {:.2} s, stored+analysed in {:.2} s: {:.0} messages/s end to end ({cases} cases)",
            stored.as_secs_f64(),
            total.as_secs_f64(),
            n as f64 / total.as_secs_f64()
        );

        // 2. Latency, one fraudulent message every 50 ms.
        let base_cases = cases;
        let mut delivered: HashMap<String, Instant> = HashMap::new();
        let mut seen: HashMap<String, Duration> = HashMap::new();
        let mut next = 0;
        let mut tick = tokio::time::interval(Duration::from_millis(5));
        let deadline = Instant::now() + Duration::from_mins(10);
        let mut last_send: Option<Instant> = None;
        while seen.len() < k && Instant::now() < deadline {
            tick.tick().await;
            if next < k && last_send.is_none_or(|t| t.elapsed() >= Duration::from_millis(50)) {
                let id = fake
                    .deliver(&upn, NewMessage::new(email("l", next, true)))
                    .unwrap();
                delivered.insert(id, Instant::now());
                last_send = Some(Instant::now());
                next += 1;
            }
            let with_case: Vec<String> = sqlx::query_scalar(
                "select m.provider_message_id from fraud_case c join message m on m.id = c.message_id
                  where c.org_id = $1 and m.subject like 'Invoice APX-l%'",
            )
            .bind(org.as_uuid())
            .fetch_all(&sup)
            .await
            .unwrap();
            let now = Instant::now();
            for id in with_case {
                if let Some(at) = delivered.get(&id) {
                    seen.entry(id).or_insert_with(|| now.duration_since(*at));
                }
            }
        }
        let mut lat: Vec<Duration> = seen.into_values().collect();
        lat.sort();
        let cases = count(&sup, "select count(*) from fraud_case where org_id = $1", org).await;
        if lat.is_empty() {
            println!("graph_sync latency: no case opened ({} new cases)", cases - base_cases);
        } else {
            println!(
                "graph_sync latency (delivery → case visible, {} of {k} messages): p50 {} ms, p99 {} ms, max {} ms",
                lat.len(),
                percentile(&lat, 0.50).as_millis(),
                percentile(&lat, 0.99).as_millis(),
                lat.last().unwrap().as_millis()
            );
        }
        let report = fake.report();
        println!(
            "fake Graph: {} requests, max {} in flight for the mailbox, {} Retry-After violations",
            report.requests.len(),
            report.max_in_flight_for(&upn),
            report.retry_after_violations.len()
        );
    });
}
