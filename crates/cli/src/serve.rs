//! `sentra serve`: runs the web application until Ctrl-C or SIGTERM.
//!
//! Configuration comes from flags or the environment: `SENTRA_DATABASE_URL`
//! (the `sentra_app` role, never the owner), `SENTRA_LISTEN` (default
//! `127.0.0.1:8080`), and the keyring from `SENTRA_KEY_FILE` / `SENTRA_KEYS`.
//! `SENTRA_INSECURE_DEV_KEYS=1` generates throw-away keys instead (anything
//! they encrypt is unreadable after a restart) and is refused unless the
//! listener is on loopback, so it cannot reach production by accident.
//!
//! Cookies are `Secure` (`__Host-` prefixed) with HSTS unless the listener is
//! on loopback; `SENTRA_SECURE_COOKIES=true` forces them on for a loopback
//! listener behind a TLS-terminating proxy.

use crate::keys_cmd::{KeyringArgs, load_keyring};
use anyhow::Context as _;
use clap::Args;
use sentra_store::crypto::Keyring;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

/// Arguments of `sentra serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The `sentra_app` role's database URL.
    #[arg(
        long,
        env = "SENTRA_DATABASE_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    database_url: String,
    /// Address to listen on.
    #[arg(long, env = "SENTRA_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Database connections in the pool.
    #[arg(long, env = "SENTRA_DB_MAX_CONNECTIONS", default_value_t = 10)]
    max_connections: u32,
    /// Generate throw-away keys (loopback listeners only).
    #[arg(long, env = "SENTRA_INSECURE_DEV_KEYS", value_parser = clap::builder::BoolishValueParser::new())]
    insecure_dev_keys: bool,
    /// Force `Secure` cookies and HSTS on or off (default: on unless loopback).
    #[arg(long, env = "SENTRA_SECURE_COOKIES", value_parser = clap::builder::BoolishValueParser::new())]
    secure_cookies: Option<bool>,
    #[command(flatten)]
    keyring: KeyringArgs,
}

/// Throw-away keys only where nobody else can connect.
fn dev_keys_allowed(listen: SocketAddr) -> bool {
    listen.ip().is_loopback()
}

fn keyring(args: &ServeArgs) -> anyhow::Result<Keyring> {
    if args.insecure_dev_keys {
        anyhow::ensure!(
            dev_keys_allowed(args.listen),
            "SENTRA_INSECURE_DEV_KEYS is refused for {}: only loopback listeners may use throw-away keys",
            args.listen
        );
        eprintln!(
            "sentra: WARNING: using throw-away development keys; encrypted data will not survive a restart"
        );
        return Keyring::generate_insecure_dev().context("generating development keys");
    }
    load_keyring(args.keyring.key_file.as_deref())
}

/// Structured JSON logs on stderr, one object per line, with the request
/// span's fields (`request_id`, `org_id`, `user_id`, method, path) on every
/// event inside a request. `SENTRA_LOG_FORMAT=text` gives plain lines for
/// development; `RUST_LOG` filters (default `info`).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
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
    let keys = keyring(args)?;
    init_logging();
    let settings = sentra_web::Settings {
        listen: args.listen,
        database_url: args.database_url.clone(),
        max_connections: args.max_connections,
        keys: Arc::new(keys),
        secure_cookies: args
            .secure_cookies
            .unwrap_or(!args.listen.ip().is_loopback()),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let app = sentra_web::Application::build(settings)
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
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        serve: ServeArgs,
    }

    #[test]
    fn dev_keys_are_refused_off_loopback() {
        let cli = Cli::try_parse_from([
            "serve",
            "--database-url",
            "postgres://x@localhost/db",
            "--listen",
            "0.0.0.0:8080",
            "--insecure-dev-keys",
        ]);
        let Ok(cli) = cli else {
            panic!("arguments should parse");
        };
        let err = keyring(&cli.serve).map(|_| ()).unwrap_err().to_string();
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
