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
    /// The public base URL, for links in invitation and reset mail.
    #[arg(long, env = "SENTRA_BASE_URL", value_name = "URL")]
    base_url: Option<String>,
    /// SMTP relay for invitation and reset mail (`smtps://user:pass@host`);
    /// without it invitations answer with a copyable link.
    #[arg(
        long,
        env = "SENTRA_SMTP_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    smtp_url: Option<String>,
    /// The `From` address of that mail.
    #[arg(
        long,
        env = "SENTRA_SMTP_FROM",
        default_value = "Sentra <no-reply@localhost>"
    )]
    smtp_from: String,
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

/// `sentra serve`.
pub(crate) fn run(args: &ServeArgs) -> anyhow::Result<ExitCode> {
    let keys = keyring(args)?;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let mailer = match &args.smtp_url {
        Some(url) => sentra_web::mail::Mailer::smtp(url, &args.smtp_from)?,
        None => sentra_web::mail::Mailer::Disabled,
    };
    let settings = sentra_web::Settings {
        base_url: args.base_url.clone(),
        mailer,
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
