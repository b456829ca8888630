//! `sentra migrate`: applies the embedded database migrations as the schema
//! owner, and optionally sets the `sentra_app` role's password.

use crate::config::Config;
use anyhow::Context as _;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `sentra migrate`.
#[derive(Debug, Args)]
pub(crate) struct MigrateArgs {
    /// The TOML configuration file (default: `$SENTRA_CONFIG`, else none).
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
    /// The schema owner's database URL, not the app role's (default:
    /// `$SENTRA_OWNER_DATABASE_URL`, `database.owner_url_file`).
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// Also set the `sentra_app` role's password (needs `createrole`).
    #[arg(long, env = "SENTRA_APP_DB_PASSWORD", hide_env_values = true)]
    app_password: Option<String>,
}

/// `sentra migrate`.
pub(crate) fn run(args: &MigrateArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(args.config.as_deref())?;
    let database_url = args
        .database_url
        .clone()
        .or_else(|| config.owner_database_url.map(|u| u.value))
        .context("no owner database URL: pass --database-url or set SENTRA_OWNER_DATABASE_URL (see `sentra config check`)")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let report = sentra_store::migrate(&database_url)
            .await
            .context("applying migrations")?;
        match (report.applied.as_slice(), report.current) {
            ([], Some(v)) => eprintln!("database is up to date (version {v})"),
            ([], None) => eprintln!("no migrations to apply"),
            (applied, current) => eprintln!(
                "applied {} migration(s): {applied:?}; now at version {}",
                applied.len(),
                current.unwrap_or_default()
            ),
        }
        if let Some(password) = &args.app_password {
            sentra_store::migrate::set_app_password(&database_url, password)
                .await
                .context("setting the sentra_app password")?;
            eprintln!("set the sentra_app password");
        }
        Ok(ExitCode::SUCCESS)
    })
}
