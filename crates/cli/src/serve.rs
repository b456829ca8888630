//! `sentra serve`: runs the web application until Ctrl-C or SIGTERM.
//!
//! Configuration comes from flags, then the configuration scheme of
//! [`crate::config`] (`SENTRA_*` variables over the TOML file):
//! `SENTRA_DATABASE_URL` (the `sentra_app` role, never the owner),
//! `SENTRA_LISTEN` (default `127.0.0.1:8080`), and the keyring from
//! `SENTRA_KEY_FILE` / `keys.file` / `SENTRA_KEYS`. Microsoft 365 can be
//! connected when `SENTRA_GRAPH_CLIENT_ID` and `SENTRA_GRAPH_CLIENT_SECRET`
//! are set (and `SENTRA_BASE_URL`, where Microsoft sends the admin back).
//! `SENTRA_INSECURE_DEV_KEYS=1` generates throw-away keys instead (anything
//! they encrypt is unreadable after a restart) and is refused unless the
//! listener is on loopback, so it cannot reach production by accident.
//!
//! Cookies are `Secure` (`__Host-` prefixed) with HSTS unless the listener is
//! on loopback; `SENTRA_SECURE_COOKIES=true` forces them on for a loopback
//! listener behind a TLS-terminating proxy.

use crate::config::Config;
use crate::graph_args::GraphArgs;
use crate::keys_cmd::{KeyringArgs, load_keyring};
use anyhow::Context as _;
use clap::Args;
use sentra_store::crypto::Keyring;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// Arguments of `sentra serve`. Flags override the configuration (the
/// TOML file and `SENTRA_*` variables, see [`crate::config`]).
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The TOML configuration file (default: `$SENTRA_CONFIG`, else none).
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
    /// The `sentra_app` role's database URL (default: `$SENTRA_DATABASE_URL`).
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// Address to listen on (default: `$SENTRA_LISTEN`, else 127.0.0.1:8080).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Database connections in the pool (default 10).
    #[arg(long)]
    max_connections: Option<u32>,
    /// Generate throw-away keys (loopback listeners only).
    #[arg(long)]
    insecure_dev_keys: bool,
    /// Force `Secure` cookies and HSTS on or off (default: on unless loopback).
    #[arg(long, value_parser = clap::builder::BoolishValueParser::new())]
    secure_cookies: Option<bool>,
    /// The public base URL, for links in invitation and reset mail
    /// (default: `$SENTRA_BASE_URL` / `server.base_url`, else relative links).
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
    #[command(flatten)]
    keyring: KeyringArgs,
    #[command(flatten)]
    graph: GraphArgs,
}

/// Throw-away keys only where nobody else can connect.
fn dev_keys_allowed(listen: SocketAddr) -> bool {
    listen.ip().is_loopback()
}

fn keyring(
    insecure_dev_keys: bool,
    listen: SocketAddr,
    key_file: Option<&Path>,
) -> anyhow::Result<Keyring> {
    if insecure_dev_keys {
        anyhow::ensure!(
            dev_keys_allowed(listen),
            "SENTRA_INSECURE_DEV_KEYS is refused for {listen}: only loopback listeners may use throw-away keys"
        );
        eprintln!(
            "sentra: WARNING: using throw-away development keys; encrypted data will not survive a restart"
        );
        return Keyring::generate_insecure_dev().context("generating development keys");
    }
    load_keyring(key_file)
}

/// Structured JSON logs on stderr, one object per line, with the request
/// span's fields (`request_id`, `org_id`, `user_id`, method, path) on every
/// event inside a request. `SENTRA_LOG_FORMAT=text` gives plain lines for
/// development; `filter` is the configured log filter (default `info`).
fn init_logging(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::env::var("SENTRA_LOG_FORMAT").is_ok_and(|f| f == "text") {
        let _ = builder.try_init();
    } else {
        let _ = builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init();
    }
}

/// `sentra serve`.
pub(crate) fn run(args: &ServeArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(args.config.as_deref())?;
    let listen = args.listen.unwrap_or(config.listen.value);
    let key_file = args
        .keyring
        .key_file
        .clone()
        .or_else(|| config.key_file.as_ref().map(|f| f.value.clone()));
    let keys = keyring(
        args.insecure_dev_keys || config.insecure_dev_keys,
        listen,
        key_file.as_deref(),
    )?;
    let database_url = args
        .database_url
        .clone()
        .or_else(|| config.database_url.as_ref().map(|u| u.value.clone()))
        .context("no database URL: set SENTRA_DATABASE_URL (or see `sentra config check`)")?;
    init_logging(&config.log_filter);
    // Invitation and reset mail use the `[smtp]` relay the worker's alerts
    // use (password only from the environment or a file).
    let mailer = match &config.worker.smtp {
        Some(s) => {
            let settings = crate::worker_cmd::smtp(s);
            let transport = sentra_worker::alerts::email::transport(&settings)
                .map_err(|e| anyhow::anyhow!("SMTP relay: {e}"))?;
            sentra_web::mail::Mailer::smtp(transport, &settings.from)?
        }
        None => sentra_web::mail::Mailer::Disabled,
    };
    let secure_cookies = args
        .secure_cookies
        .or(config.secure_cookies)
        .unwrap_or(!listen.ip().is_loopback());
    let max_connections = args.max_connections.unwrap_or(config.max_connections);
    let graph = args
        .graph
        .app(config.graph.as_ref())?
        .as_ref()
        .map(crate::graph_args::client)
        .transpose()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let pool = sentra_store::AppPool::connect(&database_url, max_connections)
            .await
            .context("connecting to the database")?;
        let mut state = sentra_web::AppState::new(pool, Arc::new(keys), secure_cookies)
            .context("setting up the web application")?
            .with_base_url(args.base_url.clone().or_else(|| config.base_url.clone()))
            .with_mailer(mailer)
            .with_read_cache(std::time::Duration::from_millis(config.cache_ms));
        // Microsoft 365 connections (consent, scope check, disconnect).
        if let Some(graph) = graph {
            state = state.with_graph(graph);
        }
        let app = sentra_web::Application::with_state(listen, state)
            .await
            .context("starting the web application")?;
        eprintln!("sentra: listening on http://{}", app.local_addr());
        app.run().await.context("serving")?;
        eprintln!("sentra: stopped");
        Ok(ExitCode::SUCCESS)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_keys_are_refused_off_loopback() {
        let err = keyring(true, SocketAddr::from(([0, 0, 0, 0], 8080)), None)
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(err.contains("only loopback"), "{err}");
    }

    #[test]
    fn dev_keys_are_allowed_on_loopback() {
        assert!(dev_keys_allowed(
            "127.0.0.1:8080"
                .parse()
                .unwrap_or(SocketAddr::from(([0, 0, 0, 0], 0)))
        ));
        assert!(dev_keys_allowed(
            "[::1]:0"
                .parse()
                .unwrap_or(SocketAddr::from(([0, 0, 0, 0], 0)))
        ));
        assert!(!dev_keys_allowed(SocketAddr::from(([10, 0, 0, 1], 8080))));
    }
}
