//! The chaos test's harness: the workload, the seeded databases on the
//! private cluster, the fake Graph, `sentra worker` children, an SMTP sink,
//! the counts and fingerprints a run is judged by, and the restartable
//! cluster.

use sentra_cli::postgres::{self, PrivatePostgres};
use sentra_testkit::{FakeGraph, Fault};
use sqlx::Row as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(super) const MAILBOXES: usize = 4;
pub(super) const TENANT: &str = "7d0c5b1e-4a3f-4c2d-9e8b-6f5a4d3c2b1a";
pub(super) const CLIENT_ID: &str = "2b4d6f80-1a3c-4e5f-8a9b-0c1d2e3f4a5b";
pub(super) const CLIENT_SECRET: &str = "chaos-fake-secret";
pub(super) const SU_PASSWORD: &str = "chaos-superuser";
pub(super) const OWNER_PASSWORD: &str = "chaos-owner";
pub(super) const APP_PASSWORD: &str = "chaos-app";
/// Generous: two runs of thousands of messages on a loaded 2-core machine.
pub(super) const RUN_TIMEOUT: Duration = Duration::from_mins(25);

pub(super) fn address(i: usize) -> String {
    format!("accounts@firm{i}.chaos.test")
}

/// The corpus messages that parse, as templates.
pub(super) fn templates() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../engine/tests/fixtures/corpus");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .filter(|p| !p.to_string_lossy().contains("unparseable"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect()
}

/// Template `n` as a message of its own: a unique `Message-ID` and subject.
pub(super) fn make_message(template: &[u8], tag: &str) -> Vec<u8> {
    use std::fmt::Write as _;
    let text = String::from_utf8_lossy(template);
    let mut out = format!("Message-ID: <{tag}@chaos.test>\r\n");
    for line in text.split_inclusive('\n') {
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("message-id:") {
            continue;
        }
        if lower.starts_with("subject:") {
            let _ = write!(out, "{} [{tag}]\r\n", line.trim_end());
        } else {
            out.push_str(line);
        }
    }
    out.into_bytes()
}

/// Every message of the run: (mailbox, raw, received at).
pub(super) fn workload(total: usize) -> Vec<(usize, Vec<u8>, time::OffsetDateTime)> {
    let templates = templates();
    let start = time::OffsetDateTime::now_utc() - time::Duration::days(20);
    (0..total)
        .map(|i| {
            let mailbox = i % MAILBOXES;
            let raw = make_message(
                &templates[(i / MAILBOXES) % templates.len()],
                &format!("m{i}"),
            );
            (mailbox, raw, start + time::Duration::minutes(i as i64))
        })
        .collect()
}

/// One database on the private cluster, seeded: an organisation per
/// mailbox with an owner and an email alert channel, the consented
/// connection and the scope-verified mailbox with its webhook secrets.
pub(super) struct Db {
    pub(super) app_url: String,
    pub(super) su_url: String,
}

pub(super) async fn prepare_db(
    endpoint: &postgres::Endpoint,
    name: &str,
    keys: &sentra_store::crypto::Keyring,
) -> Db {
    use sentra_store::crypto::SecretString;
    use sentra_store::repo::{alert, graph_connection, m365_mailbox, organisation, user};
    let su = endpoint.url("postgres", SU_PASSWORD, "postgres");
    sentra_store::migrate::create_owner_and_database(&su, "sentra_owner", OWNER_PASSWORD, name)
        .await
        .unwrap();
    let owner = endpoint.url("sentra_owner", OWNER_PASSWORD, name);
    sentra_store::migrate(&owner).await.unwrap();
    sentra_store::migrate::set_app_password(&owner, APP_PASSWORD)
        .await
        .unwrap();
    let app_url = endpoint.url("sentra_app", APP_PASSWORD, name);
    let pool = sentra_store::AppPool::connect(&app_url, 2).await.unwrap();
    let hash = sentra_web::password::hash("chaos-owner-password").unwrap();
    for i in 0..MAILBOXES {
        let email =
            sentra_domain::EmailAddress::parse(&format!("owner@firm{i}.chaos.test")).unwrap();
        let owner = user::create(&pool, &email, &hash).await.unwrap();
        let org = organisation::create(&pool, &format!("Firm {i}"), owner)
            .await
            .unwrap();
        let mut tx = sentra_store::TenantTx::begin(&pool, org, None)
            .await
            .unwrap();
        graph_connection::begin_consent(&mut tx, "chaos")
            .await
            .unwrap();
        assert!(
            graph_connection::complete_consent(&mut tx, "chaos", TENANT)
                .await
                .unwrap()
        );
        let since = time::OffsetDateTime::now_utc() - time::Duration::days(30);
        let mailbox = m365_mailbox::add(&mut tx, &address(i), since)
            .await
            .unwrap();
        let secrets = m365_mailbox::WebhookSecrets {
            tenant_id: TENANT.to_owned(),
            client_state: SecretString::from(format!("client-state-{name}-{i}")),
            path_token: SecretString::from(format!("path-token-{name}-{i}-0123456789abcdef")),
        };
        m365_mailbox::store_secrets(&mut tx, keys, mailbox, &secrets)
            .await
            .unwrap();
        m365_mailbox::mark_scope_verified(&mut tx, mailbox)
            .await
            .unwrap();
        alert::create(
            &mut tx,
            keys,
            &alert::NewChannel {
                kind: alert::ChannelKind::Email,
                name: "Finance".to_owned(),
                target: String::new(),
                target_hint: None,
                min_risk: sentra_domain::RiskLevel::High,
                digest: false,
                email_roles: vec![sentra_domain::Role::Owner],
            },
        )
        .await
        .unwrap();
        let job = sentra_domain::graph_jobs::MailboxJob {
            mailbox_id: mailbox.as_uuid(),
            full: false,
        };
        let kind = sentra_domain::graph_jobs::SUBSCRIBE;
        sentra_store::queue::enqueue(
            &mut tx,
            &sentra_store::queue::NewJob::new(kind, serde_json::to_value(job).unwrap())
                .dedupe_key(job.dedupe_key(kind)),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    pool.close().await;
    Db {
        app_url,
        su_url: endpoint.url("postgres", SU_PASSWORD, name),
    }
}

/// A fake Graph with the tenant, the app and the mailboxes.
pub(super) async fn fake() -> FakeGraph {
    let fake = FakeGraph::start().await;
    fake.add_app(CLIENT_ID, CLIENT_SECRET);
    fake.add_tenant(TENANT);
    for i in 0..MAILBOXES {
        fake.add_mailbox(TENANT, &address(i), true).unwrap();
    }
    fake
}

/// `sentra worker` as a child process, its output appended to `log`.
pub(super) fn worker(
    db: &Db,
    fake: &FakeGraph,
    web: &str,
    key_file: &Path,
    log: &Path,
    smtp: u16,
) -> Child {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    Command::new(env!("CARGO_BIN_EXE_sentra"))
        .arg("worker")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn")
        .env("SENTRA_DATABASE_URL", &db.app_url)
        .env("SENTRA_KEY_FILE", key_file)
        .env("SENTRA_WORKER_CONCURRENCY", "4")
        .env("SENTRA_WORKER_LEASE_SECS", "5")
        .env("SENTRA_BASE_URL", web)
        .env("SENTRA_WEBHOOK_BASE_URL", web)
        .env("SENTRA_GRAPH_CLIENT_ID", CLIENT_ID)
        .env("SENTRA_GRAPH_CLIENT_SECRET", CLIENT_SECRET)
        .env("SENTRA_GRAPH_LOGIN_BASE", fake.login_base())
        .env("SENTRA_GRAPH_BASE", fake.graph_base())
        .env("SENTRA_GRAPH_MAINTAIN_SECS", "5")
        .env("SENTRA_SMTP_HOST", "127.0.0.1")
        .env("SENTRA_SMTP_PORT", smtp.to_string())
        .env("SENTRA_SMTP_SECURITY", "plain")
        .env("SENTRA_ALERT_ALLOW_ADDRS", "127.0.0.1")
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .expect("spawn sentra worker")
}

/// An SMTP server that accepts everything and counts messages.
pub(super) async fn smtp_sink(count: std::sync::Arc<std::sync::atomic::AtomicUsize>) -> u16 {
    use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let count = count.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read);
                let _ = write.write_all(b"220 chaos ESMTP\r\n").await;
                let mut line = String::new();
                let mut in_data = false;
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let reply: &[u8] = if in_data {
                        if line != ".\r\n" {
                            continue;
                        }
                        in_data = false;
                        count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        b"250 queued\r\n"
                    } else if line.to_ascii_uppercase().starts_with("DATA") {
                        in_data = true;
                        b"354 go on\r\n"
                    } else if line.to_ascii_uppercase().starts_with("QUIT") {
                        let _ = write.write_all(b"221 bye\r\n").await;
                        return;
                    } else {
                        b"250 ok\r\n"
                    };
                    if write.write_all(reply).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

/// Per message, in `Message-ID` order: (id, risk level, has a case, alerts).
pub(super) type Fingerprint = Vec<(String, String, bool, i64)>;

/// Counts on `db` as the superuser (across organisations): messages,
/// distinct messages, assessments, messages assessed more than once.
pub(super) async fn counts(db: &Db) -> Option<(i64, i64, i64, i64)> {
    let pool = sqlx::PgPool::connect(&db.su_url).await.ok()?;
    let row = sqlx::query(
        "select (select count(*) from message),
                (select count(distinct (org_id, internet_message_id)) from message),
                (select count(*) from assessment),
                (select count(*) from (select message_id from assessment group by 1 having count(*) > 1) d)",
    )
    .fetch_one(&pool)
    .await
    .ok()?;
    pool.close().await;
    Some((row.get(0), row.get(1), row.get(2), row.get(3)))
}

/// What a run left: per-message fingerprints, cases, alerts, and how many
/// cases and alerts were duplicated (a second case for one message, a
/// second alert for one case and channel).
pub(super) struct Outcome {
    pub(super) messages: Fingerprint,
    pub(super) cases: i64,
    pub(super) alerts: i64,
    pub(super) duplicated: (i64, i64),
}

pub(super) async fn outcome(db: &Db) -> Outcome {
    let pool = sqlx::PgPool::connect(&db.su_url).await.unwrap();
    let rows = sqlx::query(
        "select m.internet_message_id, a.risk_level, c.id is not null,
                (select count(*) from alert al where al.case_id = c.id)
           from message m
           join assessment a on a.message_id = m.id
           left join fraud_case c on c.message_id = m.id
          order by 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let totals = sqlx::query(
        "select (select count(*) from fraud_case),
                (select count(*) from alert),
                (select count(*) - count(distinct message_id) from fraud_case),
                (select count(*) - count(distinct (case_id, channel_id)) from alert)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    pool.close().await;
    let messages = rows
        .iter()
        .map(|r| {
            (
                r.get::<Option<String>, _>(0).unwrap_or_default(),
                r.get(1),
                r.get(2),
                r.get(3),
            )
        })
        .collect();
    Outcome {
        messages,
        cases: totals.get(0),
        alerts: totals.get(1),
        duplicated: (totals.get(2), totals.get(3)),
    }
}

/// Alerts not yet sent on `db`.
pub(super) async fn unsent_alerts(db: &Db) -> Option<i64> {
    let pool = sqlx::PgPool::connect(&db.su_url).await.ok()?;
    let n = sqlx::query_scalar("select count(*) from alert where status <> 'sent'")
        .fetch_one(&pool)
        .await
        .ok();
    pool.close().await;
    n
}

/// Waits until all `total` messages are stored and analysed on `db`, and
/// every alert is sent.
pub(super) async fn wait_done(db: &Db, total: usize, log: &Path) {
    let deadline = Instant::now() + RUN_TIMEOUT;
    let total = i64::try_from(total).unwrap();
    loop {
        if let Some((messages, _, assessments, _)) = counts(db).await
            && messages >= total
            && assessments >= total
            && unsent_alerts(db).await == Some(0)
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "not done within {RUN_TIMEOUT:?}: {:?}, {:?} alerts unsent; worker log {}",
            counts(db).await,
            unsent_alerts(db).await,
            log.display()
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// A small deterministic generator (the seed is printed, so a failure
/// replays the same schedule).
pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// The private cluster, restartable.
pub(super) struct Cluster {
    pub(super) bin: PathBuf,
    pub(super) home: PathBuf,
    pub(super) run_as: Option<postgres::RunAs>,
    pub(super) relocated: bool,
    pub(super) pg: Option<PrivatePostgres>,
}

impl Cluster {
    pub(super) fn start(&mut self) -> postgres::Endpoint {
        let (pg, endpoint) = PrivatePostgres::start(
            self.bin.clone(),
            &self.home,
            self.run_as.clone(),
            self.relocated,
            SU_PASSWORD,
        )
        .expect("start the private PostgreSQL");
        self.pg = Some(pg);
        endpoint
    }

    /// Stops (fast shutdown: every session is cut) and starts again.
    pub(super) fn restart(&mut self) {
        tokio::task::block_in_place(|| {
            if let Some(pg) = self.pg.take() {
                pg.stop().expect("stop the private PostgreSQL");
            }
            self.start();
        });
    }
}

/// What one run did.
#[derive(Debug, Default)]
pub(super) struct RunReport {
    pub(super) kills: usize,
    pub(super) restarts: usize,
    pub(super) faults: usize,
    pub(super) seconds: f64,
    /// Requests the fake saw before a mailbox's `Retry-After` had elapsed.
    pub(super) violations: usize,
    /// Throttling answers (429, 503, 504) the fake gave.
    pub(super) throttling_answers: usize,
}

/// The faults the chaos run cycles through, each failing two calls.
pub(super) fn fault(n: usize) -> Fault {
    let all = [
        Fault::throttled(None),
        Fault::throttled(Some("1")),
        Fault::throttled(Some("0.249")),
        Fault::unavailable(503, None),
        Fault::unavailable(504, Some("1")),
        Fault::status(500, "generalException", None),
        Fault::connection_reset(),
    ];
    all[n % all.len()].clone().times(2)
}
