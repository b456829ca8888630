//! Ingest throughput: raw MIME → stored (encrypted) → analysed (engine,
//! history) → case and alert rows, through the real queue and runner on a
//! per-run Postgres database. Prints messages per second.
//!
//! `cargo bench -p sentra-worker --bench ingest` (needs Postgres at
//! `DATABASE_URL`; `SENTRA_BENCH_MESSAGES` sets the count, default 500).

use sentra_domain::EmailAddress;
use sentra_domain::bank::{BankAccount, SortCode, UkAccountNumber};
use sentra_ingest::{Incoming, Ingestor};
use sentra_store::TenantTx;
use sentra_store::crypto::Keyring;
use sentra_store::repo::bank_account::{self, AccountStatus};
use sentra_store::repo::supplier::{self, SupplierFields, SupplierStatus};
use sentra_store::repo::{mailbox, organisation, user};
use sentra_store::testing::TestDb;
use sentra_worker::alerts::AlertSettings;
use sentra_worker::alerts::outbound::OutboundPolicy;
use sentra_worker::{Registry, Runner, RunnerConfig};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn email(i: usize) -> String {
    let (from, body) = if i.is_multiple_of(10) {
        (
            "accounts@apexscaffolding.co",
            "Please note the change of bank details. Sort code: 13-40-20\r\nAccount number: 63849203\r\n",
        )
    } else {
        (
            "accounts@apexscaffolding.co.uk",
            "Please find our invoice. Amount due: GBP 1,250.00.\r\nsort code 08-99-99, account number 66374958.\r\n",
        )
    };
    format!(
        "From: Apex <{from}>\r\nTo: accounts@hartleybuild.co.uk\r\nSubject: Invoice APX-{i}\r\nDate: Mon, 02 Nov 2026 09:00:00 +0000\r\nMessage-ID: <bench-{i}@apex>\r\n\r\nDear Hartley,\r\nInvoice APX-{i}.\r\n{body}"
    )
}

fn main() {
    let n: usize = std::env::var("SENTRA_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let Some(db) = TestDb::create_with_app_connections(16).await else {
            eprintln!("ingest bench skipped: no Postgres");
            return;
        };
        let keys = Arc::new(Keyring::generate_insecure_dev().unwrap());
        let pool = db.app_pool().clone();
        let owner = user::create(
            &pool,
            &EmailAddress::parse("owner@hartleybuild.co.uk").unwrap(),
            "x",
        )
        .await
        .unwrap();
        let org = organisation::create(&pool, "Bench", owner).await.unwrap();
        let mut tx = TenantTx::begin(&pool, org, None).await.unwrap();
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
        bank_account::add(&mut tx, &keys, apex, &account, AccountStatus::Active, Some(owner))
            .await
            .unwrap();
        let mb = mailbox::create(&mut tx, mailbox::Provider::M365, "accounts@hartleybuild.co.uk")
            .await
            .unwrap();
        tx.commit().await.unwrap();

        let ingestor = Ingestor::new(pool.clone(), keys);
        let emails: Vec<String> = (0..n).map(email).collect();
        let start = Instant::now();
        // Store (what sync does), four at a time as Graph allows per mailbox.
        let mut stores = tokio::task::JoinSet::new();
        for chunk in emails.chunks(n.div_ceil(4).max(1)) {
            let ingestor = ingestor.clone();
            let chunk: Vec<String> = chunk.to_vec();
            stores.spawn(async move {
                for (i, raw) in chunk.iter().enumerate() {
                    let id = format!("bench-{i}-{}", raw.len());
                    let pid = format!("{id}-{}", uuid::Uuid::new_v4());
                    ingestor
                        .store_raw(
                            org,
                            &Incoming {
                                mailbox: mb,
                                provider_id: &pid,
                                raw: raw.as_bytes(),
                                received_at: None,
                            },
                        )
                        .await
                        .unwrap();
                }
            });
        }
        while stores.join_next().await.is_some() {}
        let store_time = start.elapsed();
        let mut registry = Registry::new();
        sentra_worker::jobs::register_defaults(
            &mut registry,
            ingestor,
            Arc::new(AlertSettings {
                base_url: "https://sentra.example".to_owned(),
                outbound: OutboundPolicy::default(),
                smtp: None,
            }),
        );
        let runner = Runner::new(
            pool.clone(),
            registry,
            RunnerConfig {
                concurrency: 8,
                idle_poll: Duration::from_millis(20),
                ..RunnerConfig::default()
            },
        );
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let run = tokio::spawn(async move {
            runner
                .run(async {
                    let _ = stopped.await;
                })
                .await
        });
        loop {
            let mut tx = TenantTx::begin(&pool, org, None).await.unwrap();
            let left = sentra_store::queue::list_kind(&mut tx, "analyse_message", "queued")
                .await
                .unwrap()
                .len()
                + sentra_store::queue::list_kind(&mut tx, "analyse_message", "running")
                    .await
                    .unwrap()
                    .len();
            tx.commit().await.unwrap();
            if left == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let total = start.elapsed();
        let _ = stop.send(());
        let _ = run.await;
        println!(
            "ingest: {n} messages stored in {:.2} s, stored+analysed in {:.2} s: {:.0} messages/s end to end",
            store_time.as_secs_f64(),
            total.as_secs_f64(),
            n as f64 / total.as_secs_f64()
        );
    });
}
