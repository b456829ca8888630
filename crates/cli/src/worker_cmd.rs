//! `sentra worker`: runs background jobs (analysing stored mail, sending
//! alerts, daily digests) until Ctrl-C or SIGTERM, then finishes the jobs in
//! flight.
//!
//! Configuration: `SENTRA_DATABASE_URL` (the `sentra_app` role) and the
//! keyring (`SENTRA_KEY_FILE` / `SENTRA_KEYS`) as for `serve`;
//! `SENTRA_WORKER_CONCURRENCY`; `SENTRA_BASE_URL` for case links in alerts;
//! `SENTRA_SMTP_HOST`, `SENTRA_SMTP_PORT`, `SENTRA_SMTP_SECURITY`
//! (`starttls`, `tls` or `plain`), `SENTRA_SMTP_USERNAME`,
//! `SENTRA_SMTP_PASSWORD` and `SENTRA_SMTP_FROM` for email alerts;
//! `SENTRA_ALERT_ALLOW_ADDRS` (comma-separated IP addresses webhooks may
//! reach although not public; empty in production); `SENTRA_VOCALINK_DIR`
//! for UK modulus checks; `SENTRA_WORKER_LEASE_SECS` (how long a claimed job
//! stays leased without a heartbeat: a killed worker's jobs are claimed
//! again after it).
//!
//! Microsoft 365 sync runs when `SENTRA_GRAPH_CLIENT_ID` and
//! `SENTRA_GRAPH_CLIENT_SECRET` are set: `SENTRA_GRAPH_LOGIN_BASE` and
//! `SENTRA_GRAPH_BASE` (Microsoft's by default; the fake Graph server's in
//! development), `SENTRA_WEBHOOK_BASE_URL` (the public URL Graph posts
//! notifications to; `SENTRA_BASE_URL` when unset) and
//! `SENTRA_GRAPH_MAINTAIN_SECS` (the safety-net poll, default 600). At start
//! the worker re-seeds the periodic maintain job of every active mailbox.

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
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use zeroize::Zeroizing;

/// Arguments of `sentra worker`.
#[derive(Debug, Args)]
pub(crate) struct WorkerArgs {
    /// The `sentra_app` role's database URL.
    #[arg(
        long,
        env = "SENTRA_DATABASE_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    database_url: String,
    /// Jobs run at once.
    #[arg(long, env = "SENTRA_WORKER_CONCURRENCY", default_value_t = 8)]
    concurrency: usize,
    /// The web application's public URL, for links in alerts.
    #[arg(long, env = "SENTRA_BASE_URL", default_value = "http://127.0.0.1:8080")]
    base_url: String,
    /// SMTP relay host for email alerts (none: email channels fail visibly).
    #[arg(long, env = "SENTRA_SMTP_HOST")]
    smtp_host: Option<String>,
    /// SMTP relay port.
    #[arg(long, env = "SENTRA_SMTP_PORT", default_value_t = 587)]
    smtp_port: u16,
    /// `starttls`, `tls` or `plain` (plain only for an allow-listed relay).
    #[arg(long, env = "SENTRA_SMTP_SECURITY", default_value = "starttls")]
    smtp_security: String,
    /// SMTP user name.
    #[arg(long, env = "SENTRA_SMTP_USERNAME")]
    smtp_username: Option<String>,
    /// SMTP password.
    #[arg(long, env = "SENTRA_SMTP_PASSWORD", hide_env_values = true)]
    smtp_password: Option<String>,
    /// The From address of alert emails.
    #[arg(
        long,
        env = "SENTRA_SMTP_FROM",
        default_value = "alerts@sentra.invalid"
    )]
    smtp_from: String,
    /// Addresses webhooks and SMTP may reach although not public.
    #[arg(long, env = "SENTRA_ALERT_ALLOW_ADDRS", value_delimiter = ',')]
    alert_allow_addrs: Vec<IpAddr>,
    /// Seconds a claimed job stays leased without a heartbeat.
    #[arg(long, env = "SENTRA_WORKER_LEASE_SECS", default_value_t = 60)]
    lease_secs: u64,
    #[command(flatten)]
    graph: GraphArgs,
    /// The public URL Graph sends notifications to (default: the base URL).
    #[arg(long, env = "SENTRA_WEBHOOK_BASE_URL")]
    webhook_base_url: Option<String>,
    /// Seconds between safety-net delta polls of each mailbox.
    #[arg(long, env = "SENTRA_GRAPH_MAINTAIN_SECS", default_value_t = 600)]
    graph_maintain_secs: u64,
    /// Folder holding valacdos.txt and scsubtab.txt (UK modulus tables).
    #[arg(long, env = "SENTRA_VOCALINK_DIR")]
    vocalink: Option<PathBuf>,
    #[command(flatten)]
    keyring: KeyringArgs,
}

fn smtp(args: &WorkerArgs) -> anyhow::Result<Option<SmtpSettings>> {
    let Some(host) = &args.smtp_host else {
        return Ok(None);
    };
    let security = match args.smtp_security.as_str() {
        "starttls" => SmtpSecurity::StartTls,
        "tls" => SmtpSecurity::Tls,
        "plain" => {
            let ip: Option<IpAddr> = host.parse().ok();
            anyhow::ensure!(
                ip.is_some_and(|ip| args.alert_allow_addrs.contains(&ip)),
                "SENTRA_SMTP_SECURITY=plain needs SENTRA_SMTP_HOST to be an address in SENTRA_ALERT_ALLOW_ADDRS"
            );
            SmtpSecurity::Plain
        }
        other => {
            anyhow::bail!("SENTRA_SMTP_SECURITY must be starttls, tls or plain, not {other:?}")
        }
    };
    Ok(Some(SmtpSettings {
        host: host.clone(),
        port: args.smtp_port,
        security,
        credentials: match (&args.smtp_username, &args.smtp_password) {
            (Some(u), Some(p)) => Some((u.clone(), Zeroizing::new(p.clone()))),
            _ => None,
        },
        from: args.smtp_from.clone(),
        timeout: Duration::from_secs(20),
    }))
}

/// The Graph sync settings, when a client id and secret are configured.
fn graph(args: &WorkerArgs) -> anyhow::Result<Option<GraphSettings>> {
    let Some(client) = args.graph.client()? else {
        return Ok(None);
    };
    let base = args.webhook_base_url.as_ref().unwrap_or(&args.base_url);
    let mut settings = GraphSettings::new(client, base.clone());
    settings.maintain_every = Duration::from_secs(args.graph_maintain_secs.max(1));
    Ok(Some(settings))
}

/// `sentra worker`.
pub(crate) fn run(
    args: &WorkerArgs,
    pdf: Arc<sentra_cli::pdf::SandboxedPdfExtractor>,
) -> anyhow::Result<ExitCode> {
    let keys = Arc::new(load_keyring(args.keyring.key_file.as_deref())?);
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let modulus = match &args.vocalink {
        Some(dir) => Some(Arc::new(
            ModulusTables::load_dir(dir).context("Failed to load the Vocalink tables")?,
        )),
        None => None,
    };
    let alerts = Arc::new(AlertSettings {
        base_url: args.base_url.clone(),
        outbound: OutboundPolicy {
            allow: args.alert_allow_addrs.clone(),
            ..OutboundPolicy::default()
        },
        smtp: smtp(args)?,
    });
    let graph = graph(args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("Failed to start the async runtime")?;
    runtime.block_on(async {
        // Pooled (Graph) jobs commit each message in a transaction of its
        // own while other jobs hold theirs: room for both, plus heartbeats.
        let connections = u32::try_from(args.concurrency * 2 + 2).unwrap_or(10);
        let pool = AppPool::connect(&args.database_url, connections)
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
            concurrency: args.concurrency.max(1),
            lease: Duration::from_secs(args.lease_secs.clamp(1, 86_400)),
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
