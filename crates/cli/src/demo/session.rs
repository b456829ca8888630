//! One run of the demo once its database is up: the web application, the
//! fake Microsoft Graph with the demo mailbox, the terminal alert inbox and
//! the in-process worker; seeding on the first start; `ready`; the live
//! message at `--live-after`; and an orderly stop.
//!
//! Mail reaches Sentra the way it would in production when the worker has
//! the Graph sync handlers: the corpus sits in the fake mailbox, the
//! subscription's notification and the delta sync bring it in, and the live
//! message arrives by change notification. Without them the same messages
//! go straight to the ingest pipeline ([`mail::MailboxIngest`]), and the
//! fake only holds them.

use super::graph::DemoGraph;
use super::mail::{self, MailSink as _};
use super::{DemoArgs, Urls, alert_inbox, graph, say, seed, state, stopped, worker};
use anyhow::Context as _;
use sentra_domain::OrgId;
use sentra_store::crypto::Keyring;
use sentra_store::ids::MailboxId;
use sentra_store::repo::assessment::{self, AssessedFilter};
use sentra_store::repo::{alert, case, message};
use sentra_store::{AppPool, TenantTx};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long the first sync of the corpus may take before the demo gives up.
const SYNC_TIMEOUT: Duration = Duration::from_mins(5);

/// Serves the web application, seeds on the first start, announces
/// readiness, sends the live message, and waits for the stop signal.
pub(super) async fn serve(
    args: &DemoArgs,
    dir: &state::DemoDir,
    saved: &mut state::DemoState,
    urls: &Urls,
    keyring: Arc<Keyring>,
    stop: tokio::sync::watch::Receiver<bool>,
    started: Instant,
) -> anyhow::Result<ExitCode> {
    let settings = sentra_web::Settings {
        listen: args.listen,
        database_url: urls.app.clone(),
        max_connections: 10,
        keys: keyring.clone(),
        secure_cookies: false,
        base_url: None,
        mailer: sentra_web::mail::Mailer::Disabled,
    };
    let app = sentra_web::Application::build(settings)
        .await
        .context("starting the web application")?;
    let base = format!("http://{}", app.local_addr());
    let server = tokio::spawn(app.run_until(stopped(stop.clone())));

    let pool = AppPool::connect(&urls.app, 6)
        .await
        .context("connecting to the demo database")?;
    // Shared with the live task; dropped (stopping the fake) only after the
    // worker has stopped.
    let graph = Arc::new(DemoGraph::start().await?);
    let inbox = alert_inbox::start()
        .await
        .context("starting the terminal alert inbox")?;
    let pdf: Arc<dyn sentra_engine::TextExtractor> = Arc::new(
        sentra_cli::pdf::SandboxedPdfExtractor::new().context("starting the PDF sandbox")?,
    );
    let (worker, syncs) = worker::spawn(
        worker::WorkerSetup {
            pool: pool.clone(),
            keys: keyring.clone(),
            pdf,
            base_url: base.clone(),
            smtp_port: inbox.port,
            graph_bases: (graph.fake.login_base(), graph.fake.graph_base()),
        },
        stopped(stop.clone()),
    )?;
    let work = prepare(&pool, &keyring, dir, saved, &graph, syncs);
    let ready = tokio::select! {
        r = work => r,
        () = stopped(stop.clone()) => Ok(()),
    };
    if let Err(e) = ready {
        server.abort();
        worker.abort();
        return Err(e);
    }
    banner(&base, saved, args.live_after, inbox.port);
    let earlier = inbox.print_from_now();
    if earlier > 0 {
        say(&format!(
            "  alerts:    {earlier} alert emails for the seeded cases went to the terminal inbox; new ones are printed as `alert:` lines"
        ));
    }
    say(&format!(
        "ready in {:.1} s: {base}/ (Ctrl-C stops the demo and its database)",
        started.elapsed().as_secs_f64()
    ));
    let at = tokio::time::Instant::from_std(started + Duration::from_secs(args.live_after));
    let target = Target::of(saved)?;
    let direct = if syncs {
        None
    } else {
        Some(mail::MailboxIngest::open(
            pool.clone(),
            keyring.clone(),
            target.org,
            target.mailbox,
        )?)
    };
    let live = tokio::spawn(live(base, pool.clone(), target, graph.clone(), direct, at));
    stopped(stop).await;
    say("Stopping…");
    // The worker first: its jobs in flight still talk to the fake Graph.
    let _ = worker.await;
    live.abort();
    drop(graph);
    pool.close().await;
    server
        .await
        .context("the web server task")?
        .context("serving")?;
    Ok(ExitCode::SUCCESS)
}

/// The demo organisation and its mailbox.
#[derive(Debug, Clone, Copy)]
struct Target {
    org: OrgId,
    mailbox: MailboxId,
}

impl Target {
    fn of(saved: &state::DemoState) -> anyhow::Result<Self> {
        let reset = "the demo state is incomplete; run `sentra demo --reset`";
        let org = saved
            .org_id
            .as_deref()
            .context(reset)?
            .parse()
            .context(reset)?;
        let mailbox = MailboxId::from_uuid(
            saved
                .mailbox_id
                .as_deref()
                .context(reset)?
                .parse()
                .context(reset)?,
        );
        Ok(Self { org, mailbox })
    }
}

/// Seeds (first start) or reuses, puts the corpus into the fake mailbox,
/// and brings it in: by Graph sync when the worker has it (waiting until
/// every message is analysed), else straight through ingest.
async fn prepare(
    pool: &AppPool,
    keyring: &Arc<Keyring>,
    dir: &state::DemoDir,
    saved: &mut state::DemoState,
    graph: &DemoGraph,
    syncs: bool,
) -> anyhow::Result<()> {
    let first = saved.org_id.is_none();
    if first {
        say(&format!(
            "  seeding:   Hartley Build Ltd, its suppliers and people, and its Microsoft 365 mailbox {} with {} emails…",
            mail::MAILBOX,
            mail::CORPUS.len()
        ));
        let (org, logins) = seed::organisation(pool, keyring).await.context(
            "creating the demo organisation (if a previous start was interrupted, run `sentra demo --reset`)",
        )?;
        let org_id: OrgId = org.parse().context("the new organisation id")?;
        let mailbox = graph::connect(pool, keyring, org_id).await?;
        saved.org_id = Some(org);
        saved.mailbox_id = Some(mailbox.to_string());
        saved.logins = logins;
        dir.save_state(saved)?;
    } else {
        say(&format!(
            "  reusing:   the data of an earlier start ({} messages seeded); `--reset` starts over",
            saved.seeded_messages
        ));
    }
    let target = Target::of(saved)?;
    if !first {
        graph::forget_previous_fake(pool, target.org, target.mailbox).await?;
    }
    graph.put_corpus()?;
    if syncs {
        let since = Instant::now();
        graph::subscribe(pool, target.org, target.mailbox).await?;
        let (messages, cases) = wait_for_corpus(pool, target.org).await?;
        if first {
            say(&format!(
                "  seeded:    {messages} messages synced from Microsoft 365 and analysed in {:.1} s, {cases} cases opened",
                since.elapsed().as_secs_f64()
            ));
        }
    } else if first {
        let sink =
            mail::MailboxIngest::open(pool.clone(), keyring.clone(), target.org, target.mailbox)?;
        let cases = mail::deliver_corpus(&sink).await?;
        say(&format!(
            "  seeded:    {} messages analysed, {cases} cases opened (through ingest: this build's worker has no Graph sync)",
            mail::CORPUS.len()
        ));
    }
    if first {
        saved.seeded_messages = mail::CORPUS.len();
        dir.save_state(saved)?;
    }
    Ok(())
}

/// Polls until every corpus message is stored and analysed; returns the
/// messages and the cases.
async fn wait_for_corpus(pool: &AppPool, org: OrgId) -> anyhow::Result<(usize, usize)> {
    let deadline = Instant::now() + SYNC_TIMEOUT;
    loop {
        let mut tx = TenantTx::begin(pool, org, None).await?;
        let messages = message::list_recent(&mut tx, 10_000).await?.len();
        let analysed = assessment::list_assessed(&mut tx, &AssessedFilter::default(), 1000)
            .await?
            .len();
        let cases = case::list(&mut tx, None).await?.len();
        tx.commit().await?;
        if messages >= mail::CORPUS.len() && analysed >= messages {
            return Ok((messages, cases));
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the demo mailbox did not sync within {SYNC_TIMEOUT:?} ({messages} of {} messages)",
            mail::CORPUS.len()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// At `at`, delivers the live fraudulent message, waits for it to be
/// analysed, and says what became of it.
async fn live(
    base: String,
    pool: AppPool,
    target: Target,
    graph: Arc<DemoGraph>,
    direct: Option<mail::MailboxIngest>,
    at: tokio::time::Instant,
) {
    tokio::time::sleep_until(at).await;
    let raw = mail::live_message(time::OffsetDateTime::now_utc());
    let meta = sentra_ingest::headers::read(&raw);
    let sent = Instant::now();
    let delivered = match &direct {
        Some(sink) => sink.deliver(&raw).await.map(|_| ()),
        None => graph.deliver(&raw),
    };
    if let Err(e) = delivered {
        eprintln!("sentra: the live message could not be delivered: {e:#}");
        return;
    }
    let id = meta.internet_message_id.unwrap_or_default();
    match arrived(&pool, target.org, &id).await {
        Ok(Some(a)) => say(&format!(
            "live: new message \"{}\" {} after {:.1} s: risk {}, {}, {} alert(s) recorded for the finance team",
            meta.subject.unwrap_or_default(),
            if direct.is_some() {
                "ingested"
            } else {
                "arrived by Graph notification and sync"
            },
            sent.elapsed().as_secs_f64(),
            a.level,
            a.case.map_or_else(
                || "no case".to_owned(),
                |c| format!("case {c} opened — see {base}/")
            ),
            a.alerts,
        )),
        Ok(None) => eprintln!("sentra: the live message did not arrive within {SYNC_TIMEOUT:?}"),
        Err(e) => eprintln!("sentra: looking for the live message failed: {e:#}"),
    }
}

/// What became of the live message.
struct Arrived {
    level: String,
    case: Option<String>,
    alerts: usize,
}

/// Polls for the message with `internet_message_id` to be analysed.
async fn arrived(
    pool: &AppPool,
    org: OrgId,
    internet_message_id: &str,
) -> anyhow::Result<Option<Arrived>> {
    let deadline = Instant::now() + SYNC_TIMEOUT;
    while Instant::now() < deadline {
        let mut tx = TenantTx::begin(pool, org, None).await?;
        let found = message::list_recent(&mut tx, 50)
            .await?
            .into_iter()
            .find(|m| m.internet_message_id.as_deref() == Some(internet_message_id));
        if let Some(m) = found
            && let Some(verdict) = assessment::latest_for_message(&mut tx, m.id).await?
        {
            let case = case::list(&mut tx, None)
                .await?
                .into_iter()
                .find(|c| c.message_id == m.id);
            let alerts = match &case {
                Some(c) => alert::list_alerts(&mut tx)
                    .await?
                    .iter()
                    .filter(|a| a.case_id == c.id)
                    .count(),
                None => 0,
            };
            tx.commit().await?;
            return Ok(Some(Arrived {
                level: verdict.verdict.risk_level.as_str().to_owned(),
                case: case.map(|c| c.id.to_string()),
                alerts,
            }));
        }
        tx.commit().await?;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(None)
}

/// The URL and the logins.
fn banner(base: &str, saved: &state::DemoState, live_after: u64, smtp_port: u16) {
    say(&format!("  web app:   {base}/"));
    say(&format!(
        "  API:       {base}/api/v1/cases (sign in first: POST {base}/api/v1/auth/login)"
    ));
    say("  sign in (throw-away demo logins):");
    for l in &saved.logins {
        match &l.totp_secret {
            Some(secret) => say(&format!(
                "    {:<9} {:<36} password {}  TOTP secret {secret}",
                l.role, l.email, l.password
            )),
            None => say(&format!(
                "    {:<9} {:<36} password {}  (no MFA)",
                l.role, l.email, l.password
            )),
        }
    }
    say("  MFA:       the owner and the approver have TOTP enrolled: add the secret to an");
    say("             authenticator app (or `oathtool --totp -b SECRET`); the clerk signs in");
    say("             with a password alone, which only the demo allows.");
    say(&format!(
        "  mailbox:   {} on a fake Microsoft 365 (in-process); alert emails go to a local",
        mail::MAILBOX
    ));
    say(&format!(
        "             inbox on 127.0.0.1:{smtp_port} and are printed here as `alert:` lines."
    ));
    say(&format!(
        "  live:      a new fraudulent email arrives {live_after} s after start."
    ));
}
