//! `sentra demo`: the whole product on realistic data with no configuration.
//!
//! Starts a private `PostgreSQL` from the machine's own server binaries
//! ([`postgres`]) with its data in the demo folder ([`state`]), migrates it
//! ([`database`]), creates Hartley Build Ltd with its suppliers and people
//! ([`seed`]), serves the web application on a free loopback port, feeds the
//! 57-message corpus through the real analysis path ([`mail`]), prints the
//! URL and logins, says `ready`, and a minute later delivers a new
//! fraudulent message to show live alerting. Ctrl-C (or SIGTERM) stops the
//! web server and then the database; the next start reuses both.
//!
//! `--scan-only` keeps the old offline demo: the engine over `examples/`,
//! no database ([`offline`]).

mod database;
mod mail;
mod offline;
mod postgres;
mod seed;
mod state;

use anyhow::Context as _;
use clap::Args;
use mail::MailSink as _;
use sentra_store::crypto::Keyring;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Arguments of `sentra demo`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Only scan `examples/` offline (no database, no web server).
    #[arg(long)]
    pub scan_only: bool,
    /// With --scan-only: folder holding `suppliers.csv` and `mailbox/`.
    #[arg(long, value_name = "DIR")]
    pub examples: Option<PathBuf>,
    /// The demo folder: database, keys and logins.
    #[arg(long, value_name = "DIR", default_value = ".sentra/demo")]
    pub data_dir: PathBuf,
    /// Delete the demo folder's data and start over.
    #[arg(long)]
    pub reset: bool,
    /// Where the web application listens (loopback only; port 0 picks a free one).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Seconds after start before the live fraudulent message arrives.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub live_after: u64,
}

/// `sentra demo`.
pub(crate) fn run(
    args: &DemoArgs,
    pdf: &dyn sentra_engine::TextExtractor,
) -> anyhow::Result<ExitCode> {
    if args.scan_only {
        return offline::run(args.examples.as_ref(), pdf);
    }
    let started = Instant::now();
    anyhow::ensure!(
        args.listen.ip().is_loopback(),
        "--listen {}: the demo uses throw-away logins and listens on loopback only",
        args.listen
    );
    let external = External::from_env();
    // Checked before anything is created, so a machine without PostgreSQL
    // gets the one instruction it needs and nothing else.
    let bin = if external.is_some() {
        None
    } else {
        Some(postgres::find_bin_dir().ok_or_else(|| anyhow::anyhow!(postgres::NO_POSTGRES))?)
    };
    let dir = state::DemoDir::open(&args.data_dir, args.reset, |path| {
        if let Ok((home, run_as, _)) = postgres::cluster_home(path) {
            postgres::remove_cluster(bin.as_deref(), &home, run_as.as_ref());
        }
    })?;
    let keyring = Arc::new(dir.keys()?);
    let mut saved = dir.load_state()?;
    dir.save_state(&saved)?;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let stop = stop_signal()?;
        say(&format!("Sentra demo: {}", dir.path.display()));
        let (pg, urls) = match (&external, bin) {
            (Some(ext), _) => {
                if let Some(owner) = &ext.owner_url {
                    sentra_store::migrate(owner).await.context("applying migrations")?;
                }
                (None, Urls { app: ext.app_url.clone() })
            }
            (None, Some(bin)) => {
                let (home, run_as, relocated) = postgres::cluster_home(&dir.path)?;
                let (pg, endpoint) =
                    postgres::PrivatePostgres::start(bin, &home, run_as, relocated, &saved.superuser_password)?;
                if let Some(elsewhere) = &pg.relocated {
                    say(&format!(
                        "  database:  {} (the unprivileged PostgreSQL user cannot enter the demo folder)",
                        elsewhere.display()
                    ));
                }
                let su = endpoint.url("postgres", &saved.superuser_password, "postgres");
                let owner = endpoint.url(database::OWNER_ROLE, &saved.owner_password, database::DATABASE);
                database::prepare(Some(&su), &owner, &saved.owner_password, &saved.app_password).await?;
                let app = endpoint.url("sentra_app", &saved.app_password, database::DATABASE);
                (Some(pg), Urls { app })
            }
            (None, None) => unreachable!("binaries were found above"),
        };
        let outcome = serve(args, &dir, &mut saved, &urls, keyring, stop, started).await;
        if let Some(pg) = pg {
            pg.stop().context("stopping PostgreSQL")?;
            say("PostgreSQL stopped.");
        }
        outcome
    })
}

/// An existing server named by the environment instead of a private one.
#[derive(Debug)]
struct External {
    app_url: String,
    owner_url: Option<String>,
}

impl External {
    fn from_env() -> Option<Self> {
        let app_url = std::env::var("SENTRA_DATABASE_URL")
            .ok()
            .filter(|s| !s.is_empty())?;
        Some(Self {
            app_url,
            owner_url: std::env::var("SENTRA_OWNER_DATABASE_URL")
                .ok()
                .filter(|s| !s.is_empty()),
        })
    }
}

#[derive(Debug)]
struct Urls {
    app: String,
}

/// Prints one line to stdout at once (tests and people read it live).
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Completes on Ctrl-C or SIGTERM. The handlers are installed now, so a
/// signal during seeding is not lost (and does not kill the process with
/// the database still running).
fn stop_signal() -> anyhow::Result<tokio::sync::watch::Receiver<bool>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing the Ctrl-C handler")?;
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        let _ = tx.send(true);
    });
    Ok(rx)
}

async fn stopped(mut rx: tokio::sync::watch::Receiver<bool>) {
    let _ = rx.wait_for(|v| *v).await;
}

/// Serves the web application, seeds on the first start, announces
/// readiness, sends the live message, and waits for the stop signal.
async fn serve(
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
        // The demo's point is watching mail arrive: no page may lag.
        cache_ttl: std::time::Duration::ZERO,
    };
    let app = sentra_web::Application::build(settings)
        .await
        .context("starting the web application")?;
    let base = format!("http://{}", app.local_addr());
    let server = tokio::spawn(app.run_until(stopped(stop.clone())));

    let pool = sentra_store::AppPool::connect(&urls.app, 4)
        .await
        .context("connecting to the demo database")?;
    let work = async {
        if saved.org_id.is_none() {
            say(
                "  seeding:   Hartley Build Ltd, its suppliers, people and Microsoft 365 mailbox, and 57 emails through the ingest pipeline…",
            );
            let (org, logins) = seed::organisation(&pool, &keyring).await.context(
                "creating the demo organisation (if a previous start was interrupted, run `sentra demo --reset`)",
            )?;
            let org_id: sentra_domain::OrgId = org.parse().context("the new organisation id")?;
            let mailbox = mail::MailboxIngest::connect_mailbox(&pool, org_id).await?;
            saved.org_id = Some(org);
            saved.mailbox_id = Some(mailbox.to_string());
            saved.logins = logins;
            dir.save_state(saved)?;
            let sink = sink(&pool, &keyring, saved)?;
            let cases = mail::deliver_corpus(&sink).await?;
            saved.seeded_messages = mail::CORPUS.len();
            dir.save_state(saved)?;
            say(&format!(
                "  seeded:    {} messages analysed, {cases} cases opened",
                mail::CORPUS.len()
            ));
        } else {
            say(&format!(
                "  reusing:   the data of an earlier start ({} messages seeded); `--reset` starts over",
                saved.seeded_messages
            ));
        }
        banner(&base, saved, args.live_after);
        say(&format!(
            "ready in {:.1} s: {base}/ (Ctrl-C stops the demo and its database)",
            started.elapsed().as_secs_f64()
        ));
        anyhow::Ok(())
    };
    let ready = tokio::select! {
        r = work => r,
        () = stopped(stop.clone()) => Ok(()),
    };
    if let Err(e) = ready {
        server.abort();
        return Err(e);
    }
    let at = tokio::time::Instant::from_std(started + Duration::from_secs(args.live_after));
    let live = tokio::spawn(live(base.clone(), sink(&pool, &keyring, saved)?, at));
    stopped(stop).await;
    say("Stopping…");
    live.abort();
    pool.close().await;
    server
        .await
        .context("the web server task")?
        .context("serving")?;
    Ok(ExitCode::SUCCESS)
}

/// Where the demo's mail goes: the seeded mailbox, through the ingest pipeline.
fn sink(
    pool: &sentra_store::AppPool,
    keyring: &Arc<Keyring>,
    saved: &state::DemoState,
) -> anyhow::Result<mail::MailboxIngest> {
    let reset = "the demo state is incomplete; run `sentra demo --reset`";
    let org = saved
        .org_id
        .as_deref()
        .context(reset)?
        .parse()
        .context(reset)?;
    let mailbox = sentra_store::ids::MailboxId::from_uuid(
        saved
            .mailbox_id
            .as_deref()
            .context(reset)?
            .parse()
            .context(reset)?,
    );
    mail::MailboxIngest::open(pool.clone(), keyring.clone(), org, mailbox)
}

/// At `at`, delivers the live fraudulent message.
async fn live(base: String, sink: mail::MailboxIngest, at: tokio::time::Instant) {
    tokio::time::sleep_until(at).await;
    let raw = mail::live_message(time::OffsetDateTime::now_utc());
    match sink.deliver(&raw).await {
        Ok(d) => say(&format!(
            "live: new message \"{}\": risk {}, {}, {} alert(s) recorded for the finance team (not sent: the demo has no mail server)",
            d.subject,
            d.level,
            d.case_id.map_or_else(
                || "no case".to_owned(),
                |c| format!("case {c} opened — see {base}/")
            ),
            d.alerts,
        )),
        Err(e) => eprintln!("sentra: the live message could not be delivered: {e:#}"),
    }
}

/// The URL and the logins.
fn banner(base: &str, saved: &state::DemoState, live_after: u64) {
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
        "  live:      a new fraudulent email arrives {live_after} s after start."
    ));
}
