//! `sentra config check`: resolves the configuration exactly as `serve`
//! would, opens the key file, and reports every setting with where it came
//! from (secrets redacted), then every problem with its fix. Exit status 0
//! when complete, 1 when anything is wrong or missing.

use super::{Config, Env, ProcessEnv, Source};
use clap::{Args, Subcommand};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `sentra config`.
#[derive(Debug, Args)]
pub(crate) struct ConfigArgs {
    #[command(subcommand)]
    command: ConfigCommand,
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Validate the configuration (file and environment) and say what is missing or wrong.
    Check {
        /// The TOML file (default: `$SENTRA_CONFIG`, else none).
        #[arg(long, value_name = "PATH")]
        config: Option<PathBuf>,
    },
}

/// `sentra config`.
pub(crate) fn run(args: &ConfigArgs) -> ExitCode {
    match &args.command {
        ConfigCommand::Check { config } => {
            let mut out = std::io::stdout().lock();
            check(config.as_deref(), &ProcessEnv, &mut out)
        }
    }
}

/// `postgres://user:****@host/db`: the URL without its password.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "(not a URL)".to_owned();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            let masked = if userinfo.contains(':') { ":****" } else { "" };
            format!("{scheme}://{user}{masked}@{host}{tail}")
        }
        None => url.to_owned(),
    }
}

fn check_url(what: &str, url: &str, problems: &mut Vec<String>) {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        problems.push(format!(
            "{what} must start with postgres:// or postgresql:// (got {})",
            redact(url)
        ));
    }
}

/// Checks and reports to `out`; returns the exit status.
pub(crate) fn check(
    path: Option<&std::path::Path>,
    env: &dyn Env,
    out: &mut dyn Write,
) -> ExitCode {
    let config = match Config::resolve(path, env) {
        Ok(c) => c,
        Err(e) => {
            let _ = writeln!(out, "error: {e:#}");
            return ExitCode::from(1);
        }
    };
    let mut problems = config.problems.clone();
    let mut notes = Vec::new();
    let _ = writeln!(
        out,
        "configuration file: {}",
        config.file.as_ref().map_or_else(
            || "none (environment and defaults only)".to_owned(),
            |p| p.display().to_string()
        )
    );
    let _ = writeln!(
        out,
        "listen:             {} ({})",
        config.listen.value, config.listen.source
    );
    match &config.database_url {
        Some(u) => {
            let _ = writeln!(out, "database url:       {} ({})", redact(&u.value), u.source);
            check_url("the app database URL", &u.value, &mut problems);
        }
        None => problems.push(
            "missing: the app database URL (the `sentra_app` role, for `serve` and `worker`): set SENTRA_DATABASE_URL, or name a file holding it (mode 0600) with SENTRA_DATABASE_URL_FILE or `database.url_file`".to_owned(),
        ),
    }
    match &config.owner_database_url {
        Some(u) => {
            let _ = writeln!(out, "owner database url: {} ({})", redact(&u.value), u.source);
            check_url("the owner database URL", &u.value, &mut problems);
        }
        None => notes.push(
            "the owner database URL is not set: only `migrate`, `audit` and `keys rotate` need it (SENTRA_OWNER_DATABASE_URL or `database.owner_url_file`)",
        ),
    }
    let _ = writeln!(out, "pool size:          {}", config.max_connections);
    let _ = writeln!(out, "read cache:         {} ms", config.cache_ms);
    check_keys(&config, env, &mut problems, out);
    if let Some(dir) = &config.vocalink_dir {
        let _ = writeln!(out, "vocalink tables:    {}", dir.display());
        for f in ["valacdos.txt", "scsubtab.txt"] {
            if !dir.join(f).is_file() {
                problems.push(format!(
                    "the Vocalink folder {} has no {f} (download both tables from Vocalink's modulus checking page)",
                    dir.display()
                ));
            }
        }
    }
    if tracing_subscriber::EnvFilter::try_new(&config.log_filter).is_err() {
        problems.push(format!(
            "the log filter {:?} is not a valid filter (like `info` or `sentra=debug,info`)",
            config.log_filter
        ));
    }
    report_worker(&config.worker, config.graph.as_ref(), out);
    let loopback = config.listen.value.ip().is_loopback();
    if !loopback && config.secure_cookies == Some(false) {
        notes.push("cookies are not `Secure` on a non-loopback listener: only behind a proxy that never serves plain http");
    }
    for n in &notes {
        let _ = writeln!(out, "note: {n}");
    }
    if problems.is_empty() {
        let _ = writeln!(out, "OK: the configuration is complete");
        return ExitCode::SUCCESS;
    }
    let _ = writeln!(out, "{} problem(s):", problems.len());
    for p in &problems {
        let _ = writeln!(out, "  - {p}");
    }
    ExitCode::from(1)
}

fn check_keys(config: &Config, env: &dyn Env, problems: &mut Vec<String>, out: &mut dyn Write) {
    if config.insecure_dev_keys {
        let _ = writeln!(out, "keys:               throw-away development keys");
        if !config.listen.value.ip().is_loopback() {
            problems.push(format!(
                "SENTRA_INSECURE_DEV_KEYS is refused for {}: only loopback listeners may use throw-away keys",
                config.listen.value
            ));
        }
        return;
    }
    if let Some(file) = &config.key_file {
        let _ = writeln!(
            out,
            "keys:               {} ({})",
            file.value.display(),
            file.source
        );
        if let Err(e) = sentra_store::crypto::Keyring::from_file(&file.value) {
            problems.push(format!("the key file {}: {e}", file.value.display()));
        }
        if matches!(file.source, Source::File(_)) && config.keys_in_env {
            let _ = writeln!(out, "note: SENTRA_KEYS is set but the key file wins");
        }
        return;
    }
    if config.keys_in_env {
        let _ = writeln!(out, "keys:               $SENTRA_KEYS");
        let text = zeroize::Zeroizing::new(env.get("SENTRA_KEYS").unwrap_or_default());
        if let Err(e) = sentra_store::crypto::Keyring::parse(&text) {
            problems.push(format!("SENTRA_KEYS: {e}"));
        }
        return;
    }
    problems.push(
        "missing: the keyring: set `keys.file` or SENTRA_KEY_FILE to a key file (mode 0600; `sentra keys generate > FILE` makes one), or put its content in SENTRA_KEYS".to_owned(),
    );
}

/// The worker's settings (secrets never printed, only whether they are set).
fn report_worker(
    w: &super::worker::WorkerSettings,
    graph: Option<&super::worker::GraphApp>,
    out: &mut dyn Write,
) {
    let _ = writeln!(
        out,
        "worker:             {} jobs at once, lease {} s, links to {}",
        w.concurrency, w.lease_secs, w.base_url
    );
    match &w.smtp {
        Some(s) => {
            let _ = writeln!(
                out,
                "email relay:        {}:{} ({}{}), from {} (serve: invitations, resets; worker: alerts)",
                s.host,
                s.port,
                s.security,
                if s.password.is_some() {
                    ", password set"
                } else {
                    ""
                },
                s.from
            );
        }
        None => {
            let _ = writeln!(
                out,
                "email relay:        none (invitations answer with a link, reset mail is not sent, email alert channels fail visibly; set SENTRA_SMTP_HOST)"
            );
        }
    }
    match graph {
        Some(g) => {
            let _ = writeln!(
                out,
                "microsoft 365 sync: application {} ({}), login {}, graph {}, notifications to {}",
                g.client_id,
                match &g.credential {
                    sentra_graph::ClientCredential::Certificate(c) =>
                        format!("certificate {}", c.thumbprint_hex()),
                    sentra_graph::ClientCredential::Secret(_) => "secret set".to_owned(),
                },
                g.login_base,
                g.graph_base,
                g.webhook_base_url.as_deref().unwrap_or(&w.base_url)
            );
        }
        None => {
            let _ = writeln!(
                out,
                "microsoft 365 sync: off (set SENTRA_GRAPH_CLIENT_ID and SENTRA_GRAPH_CLIENT_SECRET, or a certificate)"
            );
        }
    }
}
