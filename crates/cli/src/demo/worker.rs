//! The demo's background worker, in-process: the same [`Runner`] and job
//! handlers `sentra worker` runs (Microsoft 365 sync against the demo's
//! fake Graph, analysis, alerts, digests), with email alerts sent over plain
//! SMTP to the demo's terminal inbox ([`super::alert_inbox`]) on 127.0.0.1,
//! the only address it may reach.

use anyhow::Context as _;
use sentra_graph::{ClientCredential, GraphClient, GraphConfig};
use sentra_ingest::Ingestor;
use sentra_store::AppPool;
use sentra_store::crypto::Keyring;
use sentra_worker::alerts::AlertSettings;
use sentra_worker::alerts::email::{SmtpSecurity, SmtpSettings};
use sentra_worker::alerts::outbound::OutboundPolicy;
use sentra_worker::graph::GraphSettings;
use sentra_worker::{Registry, Runner, RunnerConfig};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

/// What the in-process worker needs.
pub(crate) struct WorkerSetup {
    /// The `sentra_app` pool.
    pub pool: AppPool,
    /// The demo's keys.
    pub keys: Arc<Keyring>,
    /// The PDF sandbox.
    pub pdf: Arc<dyn sentra_engine::TextExtractor>,
    /// The web app's URL, for case links in alerts.
    pub base_url: String,
    /// The terminal inbox's port.
    pub smtp_port: u16,
    /// The fake Graph's login and Graph bases.
    pub graph_bases: (String, String),
}

/// Starts the worker; it stops (finishing the jobs in flight) when `stop`
/// completes. Also says whether it runs the Microsoft Graph sync.
pub(crate) fn spawn(
    setup: WorkerSetup,
    stop: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<(tokio::task::JoinHandle<sentra_worker::RunStats>, bool)> {
    let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let alerts = Arc::new(AlertSettings {
        base_url: setup.base_url.clone(),
        outbound: OutboundPolicy {
            allow: vec![loopback],
            ..OutboundPolicy::default()
        },
        smtp: Some(SmtpSettings {
            host: loopback.to_string(),
            port: setup.smtp_port,
            security: SmtpSecurity::Plain,
            credentials: None,
            from: format!("Sentra demo <{}>", super::alert_inbox::FROM),
            timeout: Duration::from_secs(20),
        }),
    });
    let ingestor = Ingestor::new(setup.pool.clone(), setup.keys).with_pdf(setup.pdf);
    let mut registry = Registry::new();
    sentra_worker::jobs::register_defaults(&mut registry, ingestor.clone(), alerts);
    let graph = GraphConfig::with_bases(
        &setup.graph_bases.0,
        &setup.graph_bases.1,
        super::graph::CLIENT_ID,
        ClientCredential::Secret(super::graph::CLIENT_SECRET.to_owned().into()),
    )
    .context("the fake Graph's URLs")?;
    let client = GraphClient::new(graph).context("building the Graph client")?;
    let mut settings = GraphSettings::new(client, setup.base_url.clone());
    // The safety net polls often: the demo's mailbox is small and local.
    settings.maintain_every = Duration::from_secs(30);
    sentra_worker::graph::register(&mut registry, ingestor, settings);
    let config = RunnerConfig {
        name: format!("sentra-demo:{}", std::process::id()),
        concurrency: 4,
        idle_poll: Duration::from_millis(200),
        shutdown_grace: Duration::from_secs(10),
        ..RunnerConfig::default()
    };
    let syncs = registry.kinds().contains(&sentra_domain::graph_jobs::SYNC);
    let runner = Runner::new(setup.pool, registry, config);
    Ok((tokio::spawn(async move { runner.run(stop).await }), syncs))
}
