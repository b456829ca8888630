//! `sentra serve`: runs the web application until Ctrl-C or SIGTERM.
//!
//! Configuration comes from flags, then the configuration scheme of
//! [`crate::config`] (`SENTRA_*` variables over the TOML file):
//! `SENTRA_DATABASE_URL` (the `sentra_app` role, never the owner),
//! `SENTRA_LISTEN` (default `127.0.0.1:8080`), and the keyring from
//! `SENTRA_KEY_FILE` / `keys.file` / `SENTRA_KEYS`.
//! `SENTRA_INSECURE_DEV_KEYS=1` generates throw-away keys instead (anything
//! they encrypt is unreadable after a restart) and is refused unless the
//! listener is on loopback, so it cannot reach production by accident.
//!
//! Cookies are `Secure` (`__Host-` prefixed) with HSTS unless the listener is
//! on loopback; `SENTRA_SECURE_COOKIES=true` forces them on for a loopback
//! listener behind a TLS-terminating proxy.

use crate::config::Config;
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
    #[command(flatten)]
    keyring: KeyringArgs,
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
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&config.log_filter)
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let settings = sentra_web::Settings {
        listen,
        database_url,
        max_connections: args.max_connections.unwrap_or(config.max_connections),
        keys: Arc::new(keys),
        secure_cookies: args
            .secure_cookies
            .or(config.secure_cookies)
            .unwrap_or(!listen.ip().is_loopback()),
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
