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
//! `DATABASE_URL`). `SENTRA_BENCH_STORE_BATCH` sets how many messages a
//! sync round stores per transaction (default: the worker's; `1` is the
//! behaviour before batching).
//!
//! Phase 1 also prints the CPU it cost per message: this process (fake
//! Graph, web app and worker together) and the `PostgreSQL` backends serving
//! the bench's database (read from `/proc`, summed over the phase;
//! autovacuum's own workers are not counted).

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

/// CPU seconds (user + system) of this process.
fn own_cpu() -> f64 {
    std::fs::read_to_string("/proc/self/stat").map_or(0.0, |s| stat_cpu(&s))
}

/// CPU seconds (user + system) of the `PostgreSQL` backends connected to
/// `db`, found by their process title (`postgres: user db host(port) …`).
fn postgres_cpu(db: &str) -> f64 {
    let needle = format!(" {db} ");
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    dir.filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter(|e| {
            std::fs::read(e.path().join("cmdline")).is_ok_and(|c| {
                let c = String::from_utf8_lossy(&c);
                c.starts_with("postgres:") && c.contains(&needle)
            })
        })
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .map(|s| stat_cpu(&s))
        .sum()
}

/// utime + stime of a `/proc/<pid>/stat` line, in seconds (100 ticks/s,
/// Linux's `USER_HZ`).
fn stat_cpu(stat: &str) -> f64 {
    // Fields after the parenthesised command name: state is field 3, utime
    // and stime are 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) / 100.0
}

/// A poor man's profile of the database while the analysis has a backlog:
/// the statements the bench's backends are running, sampled every 5 ms for
/// a second, most frequent first.
async fn sample_activity(pool: &sqlx::PgPool, db: &str) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut samples = 0;
    for _ in 0..200 {
        let rows: Vec<String> = sqlx::query_scalar(
            "select left(regexp_replace(query, '\\s+', ' ', 'g'), 90) from pg_stat_activity
              where datname = $1 and state = 'active' and pid <> pg_backend_pid()",
        )
        .bind(db)
        .fetch_all(pool)
        .await
        .unwrap();
        for q in rows {
            *seen.entry(q).or_default() += 1;
        }
        samples += 1;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // The claim's two statements as `app_claim_jobs` runs them, rolled back.
    let mut tx = pool.begin().await.unwrap();
    for sql in [
        "explain (analyze, buffers) select x.id from public.job x
          where x.status = 'running' and x.locked_until < now() and x.attempts >= x.max_attempts
          for update skip locked",
        "explain (analyze, buffers) select x.id from public.job x
          where x.run_at <= now()
            and (x.status = 'queued' or (x.status = 'running' and x.locked_until < now()))
            and x.attempts < x.max_attempts
          order by x.run_at, x.id limit 8 for update skip locked",
    ] {
        let plan: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_all(&mut *tx)
            .await
            .unwrap();
        println!(
            "graph_sync claim plan during the backlog:\n  {}",
            plan.join("\n  ")
        );
    }
    tx.rollback().await.unwrap();
    let mut top: Vec<(String, usize)> = seen.into_iter().collect();
    top.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    println!("graph_sync active statements during the analysis backlog ({samples} samples):");
    for (q, n) in top.iter().take(8) {
        println!("  {n:>4}  {q}");
    }
}

/// EXPLAIN ANALYZE of the analysis job's history query (as
/// `assessment::history_entries` sends it) for the newest stored message's
/// keys: the cost the last analyses paid.
async fn explain_history(pool: &sqlx::PgPool, org: OrgId) {
    let keys: Option<(Option<String>, Option<String>, time::OffsetDateTime)> = sqlx::query_as(
        "select a.history ->> 'sender_domain', a.history ->> 'supplier_key', m.received_at
           from assessment a join message m on m.id = a.message_id
          where a.org_id = $1 and a.history is not null
          order by m.received_at desc limit 1",
    )
    .bind(org.as_uuid())
    .fetch_optional(pool)
    .await
    .unwrap();
    let Some((domain, supplier, at)) = keys else {
        println!("graph_sync history query: no history stored");
        return;
    };
    let plan: Vec<String> = sqlx::query_scalar(
        "explain (analyze, buffers, timing off)
         select history from (
           select distinct on (a.message_id) a.history, m.received_at, m.id
           from assessment a join message m on m.id = a.message_id
           where a.org_id = $1 and m.org_id = $1 and a.history is not null
             and m.received_at < $4
             and ((a.history ->> 'sender_domain') = $2
                  or (a.history ->> 'supplier_key') = $3)
           order by a.message_id, a.created_at desc
         ) h
         order by received_at desc, id desc
         limit 2000",
    )
    .bind(org.as_uuid())
    .bind(domain)
    .bind(supplier)
    .bind(at + time::Duration::seconds(1))
    .fetch_all(pool)
    .await
    .unwrap();
    println!(
        "graph_sync history query for the newest message:\n  {}",
        plan.join("\n  ")
    );
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
        let mut settings = GraphSettings::new(GraphClient::new(cfg).unwrap(), web);
        settings.store_batch = env("SENTRA_BENCH_STORE_BATCH", settings.store_batch);
        println!("graph_sync: store batch {}", settings.store_batch);
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
        let (cpu0, pg0) = (own_cpu(), postgres_cpu(db.name()));
        let start = Instant::now();
        fake.deliver_many(&upn, messages).unwrap();
        let nn = i64::try_from(n).unwrap();
        // Stored and analysed counts every 100 ms, printed per half second:
        // where the analysis lags the storing, and for how long.
        let mut stored = None;
        let mut timeline = Vec::new();
        let total = loop {
            let msgs = count(&sup, "select count(*) from message where org_id = $1", org).await;
            let done = count(&sup, "select count(*) from assessment where org_id = $1", org).await;
            let at = start.elapsed();
            if timeline.last().is_none_or(|(last, _, _, _): &(Duration, i64, i64, f64)| {
                at.saturating_sub(*last) >= Duration::from_millis(500)
            }) {
                timeline.push((at, msgs, done, postgres_cpu(db.name()) - pg0));
            }
            if msgs >= nn && stored.is_none() {
                stored = Some(at);
                if nn - done > 200 {
                    sample_activity(&sup, db.name()).await;
                }
            }
            if done >= nn {
                timeline.push((at, msgs, done, postgres_cpu(db.name()) - pg0));
                break at;
            }
            assert!(at < Duration::from_mins(10), "timed out waiting for the analysis");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let stored = stored.unwrap_or(total);
        let line: Vec<String> = timeline
            .iter()
            .map(|(t, m, a, pg)| format!("{:.1}s {m}/{a} pg {pg:.1}s", t.as_secs_f64()))
            .collect();
        println!(
            "graph_sync timeline (stored/analysed, PostgreSQL CPU so far): {}",
            line.join(", ")
        );
        explain_history(&sup, org).await;
        let (cpu, pg) = (own_cpu() - cpu0, postgres_cpu(db.name()) - pg0);
        let cases = count(&sup, "select count(*) from fraud_case where org_id = $1", org).await;
        println!(
            "graph_sync CPU: bench process {cpu:.2} s, PostgreSQL backends {pg:.2} s: {:.2} ms per message",
            (cpu + pg) * 1000.0 / n as f64
        );
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
