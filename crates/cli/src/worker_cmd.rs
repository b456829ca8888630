//! `sentra worker`: runs background jobs (syncing Microsoft 365 mailboxes,
//! analysing stored mail, sending alerts, daily digests) until Ctrl-C or
//! SIGTERM, then finishes the jobs in flight.
//!
//! Configuration comes from flags, then the scheme of [`crate::config`]
//! (`SENTRA_*` variables over the TOML file; `sentra config check` reports
//! it): the database URL and the keyring as for `serve`, and the worker's
//! own settings ([`crate::config::worker`]): concurrency and lease, the
//! public URL for links in alerts, the SMTP relay for email alerts, the
//! addresses alerts may reach although not public, and the Microsoft Graph
//! application for the Microsoft 365 sync. The README lists every variable.

use crate::config::Config;
use crate::config::worker::{GraphApp, SmtpConfig};
use crate::graph_args::GraphArgs;
use crate::keys_cmd::{KeyringArgs, load_keyring};
use anyhow::Context as _;
use clap::Args;
use sentra_domain::bank::ModulusTables;
use sentra_ingest::Ingestor;
use sentra_store::AppPool;
use sentra_worker::alerts::AlertSettings;
use sentra_worker::alerts::email::{SmtpSecurity, SmtpSettings};
use sentra_worker::alerts::outbound::OutboundPolicy;
use sentra_worker::graph::GraphSettings;
use sentra_worker::{Registry, Runner, RunnerConfig};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Arguments of `sentra worker`. Flags override the configuration (the
/// TOML file and `SENTRA_*` variables, see [`crate::config`]).
#[derive(Debug, Args)]
pub(crate) struct WorkerArgs {
    /// The TOML configuration file (default: `$SENTRA_CONFIG`, else none).
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
    /// The `sentra_app` role's database URL (default: `$SENTRA_DATABASE_URL`).
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// Jobs run at once (default: `$SENTRA_WORKER_CONCURRENCY`, else 8).
    #[arg(long)]
    concurrency: Option<usize>,
    #[command(flatten)]
    keyring: KeyringArgs,
    #[command(flatten)]
    graph: GraphArgs,
}

/// The relay settings alerts (and `serve`'s invitation and reset mail)
/// use; the configuration checked them.
pub(crate) fn smtp(s: &SmtpConfig) -> SmtpSettings {
    SmtpSettings {
        host: s.host.clone(),
        port: s.port,
        security: match s.security.as_str() {
            "tls" => SmtpSecurity::Tls,
            "plain" => SmtpSecurity::Plain,
            _ => SmtpSecurity::StartTls,
        },
        credentials: match (&s.username, &s.password) {
            (Some(u), Some(p)) => Some((u.clone(), p.clone())),
            _ => None,
        },
        from: s.from.clone(),
        timeout: Duration::from_secs(20),
    }
}

/// The Microsoft 365 sync's settings (the configuration checked the URLs).
fn graph(app: &GraphApp, base_url: &str) -> anyhow::Result<GraphSettings> {
    let client = crate::graph_args::client(app)?;
    let base = app.webhook_base_url.as_deref().unwrap_or(base_url);
    let mut settings = GraphSettings::new(client, base);
    settings.maintain_every = Duration::from_secs(app.maintain_secs);
    Ok(settings)
}

/// `sentra worker`.
pub(crate) fn run(
    args: &WorkerArgs,
    pdf: Arc<sentra_cli::pdf::SandboxedPdfExtractor>,
) -> anyhow::Result<ExitCode> {
    let config = Config::load(args.config.as_deref())?;
    let worker = &config.worker;
    let key_file = args
        .keyring
        .key_file
        .clone()
        .or_else(|| config.key_file.as_ref().map(|f| f.value.clone()));
    let keys = Arc::new(load_keyring(key_file.as_deref())?);
    let database_url = args
        .database_url
        .clone()
        .or_else(|| config.database_url.as_ref().map(|u| u.value.clone()))
        .context("no database URL: set SENTRA_DATABASE_URL (or see `sentra config check`)")?;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&config.log_filter)
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let modulus = match &config.vocalink_dir {
        Some(dir) => Some(Arc::new(
            ModulusTables::load_dir(dir).context("Failed to load the Vocalink tables")?,
        )),
        None => None,
    };
    let alerts = Arc::new(AlertSettings {
        base_url: worker.base_url.clone(),
        outbound: OutboundPolicy {
            allow: worker.alert_allow_addrs.clone(),
            ..OutboundPolicy::default()
        },
        smtp: worker.smtp.as_ref().map(smtp),
    });
    let concurrency = args.concurrency.unwrap_or(worker.concurrency).max(1);
    let graph = args
        .graph
        .app(config.graph.as_ref())?
        .map(|g| graph(&g, &worker.base_url))
        .transpose()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("Failed to start the async runtime")?;
    runtime.block_on(async {
        // Graph jobs commit each message in a transaction of their own while
        // other jobs hold theirs: room for both, plus heartbeats and the
        // connection listening for enqueued jobs.
        let connections = u32::try_from(concurrency * 2 + 2).unwrap_or(10);
        let pool = AppPool::connect(&database_url, connections)
            .await
            .context("Failed to connect to the database")?;
        let ingestor = Ingestor::new(pool.clone(), keys)
            .with_pdf(pdf)
            .with_modulus(modulus);
        let mut registry = Registry::new();
        sentra_worker::jobs::register_defaults(&mut registry, ingestor.clone(), alerts);
        if let Some(graph) = graph {
            sentra_worker::graph::register(&mut registry, ingestor, graph);
            let seeded = sentra_worker::graph::seed_maintain(&pool)
                .await
                .context("Failed to re-seed the mailboxes' maintain jobs")?;
            eprintln!("sentra: Microsoft 365 sync on ({seeded} maintain job(s) re-seeded)");
        }
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".to_owned());
        let config = RunnerConfig {
            name: format!("{host}:{}", std::process::id()),
            concurrency,
            lease: Duration::from_secs(worker.lease_secs),
            ..RunnerConfig::default()
        };
        eprintln!(
            "sentra: worker running {} job kinds, {} at once",
            registry.kinds().len(),
            config.concurrency
        );
        let stats = Runner::new(pool, registry, config)
            .run(sentra_web::shutdown_signal())
            .await;
        eprintln!(
            "sentra: worker stopped ({} done, {} retried, {} parked)",
            stats.done, stats.retried, stats.parked
        );
        Ok(ExitCode::SUCCESS)
    })
}
