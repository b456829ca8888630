//! `sentra demo`: the whole product on realistic data with no configuration.
//!
//! Starts a private `PostgreSQL` from the machine's own server binaries
//! ([`sentra_cli::postgres`]) with its data in the demo folder ([`state`]), migrates it
//! ([`database`]), creates Hartley Build Ltd with its suppliers and people
//! ([`seed`]), and runs ([`session`]) the web application on a free loopback
//! port, a fake Microsoft 365 holding the 57-message corpus ([`graph`],
//! [`mail`]), the background worker in-process ([`worker`]) that syncs and
//! analyses it, and a terminal inbox for alert emails ([`alert_inbox`]). It
//! prints the URL and logins, says `ready` once the corpus is analysed, and a
//! minute later delivers a new fraudulent message to show live alerting.
//! Ctrl-C (or SIGTERM) stops all of it and then the database; the next start
//! reuses the data.
//!
//! `--scan-only` keeps the old offline demo: the engine over `examples/`,
//! no database ([`offline`]).

mod alert_inbox;
mod database;
mod graph;
mod mail;
mod offline;
mod seed;
mod session;
mod state;
mod worker;

use anyhow::Context as _;
use clap::Args;
use sentra_cli::postgres;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

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
    if !dir.has_state()
        && let Some(bin) = &bin
        && let Ok((home, run_as, true)) = postgres::cluster_home(&dir.path)
    {
        // A relocated cluster (under /var/tmp) outlives a demo folder deleted
        // by hand; its passwords went with the folder, so start it over.
        postgres::remove_cluster(Some(bin), &home, run_as.as_ref());
    }
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
        let outcome = session::serve(args, &dir, &mut saved, &urls, keyring, stop, started).await;
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
