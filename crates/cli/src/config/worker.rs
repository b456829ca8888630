//! The worker's part of the configuration scheme: concurrency and lease,
//! the public URL used in alert links and Graph notification URLs, the SMTP
//! relay for email alerts, the addresses alerts may reach although not
//! public; and the Microsoft Graph application, which `serve` (connecting
//! mailboxes) and `worker` (syncing them) share. Each
//! setting is a `SENTRA_*` variable over a key of the TOML file; the two
//! secrets (the SMTP password and the Graph client secret) come only from
//! the environment or from a file named by a `*_file` key (mode 0600); the
//! Graph certificate alternative is in [`super::graph_cert`].

use super::file::FileConfig;
use super::{Env, graph_cert, read_secret_file};
use sentra_graph::ClientCredential;
use std::net::IpAddr;
use std::path::PathBuf;
use zeroize::Zeroizing;

/// The default public URL.
pub(crate) const DEFAULT_BASE_URL: &str = "http://127.0.0.1:8080";

/// How the worker runs and where it sends things.
#[derive(Debug, Clone)]
pub(crate) struct WorkerSettings {
    /// `worker.concurrency` / `SENTRA_WORKER_CONCURRENCY` (default 8).
    pub concurrency: usize,
    /// `worker.lease_secs` / `SENTRA_WORKER_LEASE_SECS` (default 60): how
    /// long a claimed job stays leased without a heartbeat, so how soon a
    /// killed worker's jobs run elsewhere.
    pub lease_secs: u64,
    /// `server.base_url` / `SENTRA_BASE_URL`: links in alerts, and the
    /// notification URL's base unless `graph.webhook_base_url` is set.
    pub base_url: String,
    /// `alerts.allow_addrs` / `SENTRA_ALERT_ALLOW_ADDRS`.
    pub alert_allow_addrs: Vec<IpAddr>,
    /// The SMTP relay for email alerts; `None`: email channels fail visibly.
    pub smtp: Option<SmtpConfig>,
}

/// `[smtp]` / `SENTRA_SMTP_*`.
#[derive(Clone)]
pub(crate) struct SmtpConfig {
    /// `smtp.host` / `SENTRA_SMTP_HOST`.
    pub host: String,
    /// `smtp.port` / `SENTRA_SMTP_PORT` (default 587).
    pub port: u16,
    /// `smtp.security` / `SENTRA_SMTP_SECURITY`: `starttls`, `tls` or `plain`.
    pub security: String,
    /// `smtp.username` / `SENTRA_SMTP_USERNAME`.
    pub username: Option<String>,
    /// `SENTRA_SMTP_PASSWORD`, or the file named by `smtp.password_file` /
    /// `SENTRA_SMTP_PASSWORD_FILE`.
    pub password: Option<Zeroizing<String>>,
    /// `smtp.from` / `SENTRA_SMTP_FROM`.
    pub from: String,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

/// `[graph]` / `SENTRA_GRAPH_*`.
#[derive(Clone)]
pub(crate) struct GraphApp {
    /// `graph.client_id` / `SENTRA_GRAPH_CLIENT_ID`.
    pub client_id: String,
    /// The client secret (`SENTRA_GRAPH_CLIENT_SECRET[_FILE]`) or the
    /// certificate (`SENTRA_GRAPH_CERTIFICATE_FILE` + `_PRIVATE_KEY_FILE`).
    pub credential: ClientCredential,
    /// `graph.login_base` / `SENTRA_GRAPH_LOGIN_BASE` (Microsoft's by default).
    pub login_base: String,
    /// `graph.api_base` / `SENTRA_GRAPH_BASE` (Microsoft's by default).
    pub graph_base: String,
    /// `graph.webhook_base_url` / `SENTRA_WEBHOOK_BASE_URL` (default: the base URL).
    pub webhook_base_url: Option<String>,
    /// `graph.maintain_secs` / `SENTRA_GRAPH_MAINTAIN_SECS` (default 600).
    pub maintain_secs: u64,
}

impl std::fmt::Debug for GraphApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphApp")
            .field("client_id", &self.client_id)
            .field("login_base", &self.login_base)
            .field("graph_base", &self.graph_base)
            .field("webhook_base_url", &self.webhook_base_url)
            .field("maintain_secs", &self.maintain_secs)
            .finish_non_exhaustive()
    }
}

/// A whole number in `range`, from the variable or the file.
fn number<T>(
    env: &dyn Env,
    var: &str,
    from_file: Option<T>,
    default: T,
    range: std::ops::RangeInclusive<T>,
    problems: &mut Vec<String>,
) -> T
where
    T: std::str::FromStr + PartialOrd + Copy + std::fmt::Display,
{
    let value = match env.get(var) {
        Some(v) => {
            let Ok(n) = v.trim().parse::<T>() else {
                problems.push(format!("{var}={v:?} is not a whole number"));
                return default;
            };
            n
        }
        None => from_file.unwrap_or(default),
    };
    if !range.contains(&value) {
        problems.push(format!(
            "{var} (or its file key) is {value}, out of range ({} to {})",
            range.start(),
            range.end()
        ));
        return default;
    }
    value
}

/// A secret from the variable, else from the file the `*_FILE` variable or
/// the `*_file` key names.
fn secret(
    env: &dyn Env,
    var: &str,
    file_var: &str,
    file_key: Option<&PathBuf>,
    what: &str,
    problems: &mut Vec<String>,
) -> Option<Zeroizing<String>> {
    if let Some(v) = env.get(var) {
        return Some(Zeroizing::new(v));
    }
    let path = env
        .get(file_var)
        .map(PathBuf::from)
        .or_else(|| file_key.cloned())?;
    read_secret_file(&path, what, problems).map(Zeroizing::new)
}

fn url(name: &str, value: &str, problems: &mut Vec<String>) {
    let ok = value
        .split_once("://")
        .is_some_and(|(scheme, rest)| matches!(scheme, "http" | "https") && !rest.is_empty());
    if !ok {
        problems.push(format!("{name} {value:?} is not an http(s) URL"));
    }
}

/// Resolves the worker's settings.
pub(crate) fn resolve(
    file: &FileConfig,
    env: &dyn Env,
    problems: &mut Vec<String>,
) -> WorkerSettings {
    let w = &file.worker;
    let concurrency = number(
        env,
        "SENTRA_WORKER_CONCURRENCY",
        w.concurrency,
        8,
        1..=256,
        problems,
    );
    let lease_secs = number(
        env,
        "SENTRA_WORKER_LEASE_SECS",
        w.lease_secs,
        60,
        1..=86_400,
        problems,
    );
    let base_url = env
        .get("SENTRA_BASE_URL")
        .or_else(|| file.server.base_url.clone())
        .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned());
    url("SENTRA_BASE_URL (server.base_url)", &base_url, problems);
    let alert_allow_addrs = match env.get("SENTRA_ALERT_ALLOW_ADDRS") {
        Some(list) => list
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .filter_map(|a| {
                let ip = a.parse::<IpAddr>().ok();
                if ip.is_none() {
                    problems.push(format!(
                        "SENTRA_ALERT_ALLOW_ADDRS: {a:?} is not an IP address"
                    ));
                }
                ip
            })
            .collect(),
        None => file.alerts.allow_addrs.clone(),
    };
    let smtp = smtp(file, env, &alert_allow_addrs, problems);
    WorkerSettings {
        concurrency,
        lease_secs,
        base_url,
        alert_allow_addrs,
        smtp,
    }
}

fn smtp(
    file: &FileConfig,
    env: &dyn Env,
    allow: &[IpAddr],
    problems: &mut Vec<String>,
) -> Option<SmtpConfig> {
    let s = &file.smtp;
    let host = env.get("SENTRA_SMTP_HOST").or_else(|| s.host.clone())?;
    let port = number(env, "SENTRA_SMTP_PORT", s.port, 587, 1..=65_535, problems);
    let security = env
        .get("SENTRA_SMTP_SECURITY")
        .or_else(|| s.security.clone())
        .unwrap_or_else(|| "starttls".to_owned());
    match security.as_str() {
        "starttls" | "tls" => {}
        "plain" => {
            let ip: Option<IpAddr> = host.parse().ok();
            if !ip.is_some_and(|ip| allow.contains(&ip)) {
                problems.push(
                    "SENTRA_SMTP_SECURITY=plain needs SENTRA_SMTP_HOST to be an address in SENTRA_ALERT_ALLOW_ADDRS".to_owned(),
                );
            }
        }
        other => problems.push(format!(
            "SENTRA_SMTP_SECURITY (smtp.security) must be starttls, tls or plain, not {other:?}"
        )),
    }
    Some(SmtpConfig {
        host,
        port,
        security,
        username: env
            .get("SENTRA_SMTP_USERNAME")
            .or_else(|| s.username.clone()),
        password: secret(
            env,
            "SENTRA_SMTP_PASSWORD",
            "SENTRA_SMTP_PASSWORD_FILE",
            s.password_file.as_ref(),
            "smtp.password_file",
            problems,
        ),
        from: env
            .get("SENTRA_SMTP_FROM")
            .or_else(|| s.from.clone())
            .unwrap_or_else(|| "alerts@sentra.invalid".to_owned()),
    })
}

/// Sentra's Microsoft Graph application (`serve` connects mailboxes with
/// it, `worker` syncs them); `None` when neither the id nor the secret is
/// set.
pub(crate) fn graph(
    file: &FileConfig,
    env: &dyn Env,
    problems: &mut Vec<String>,
) -> Option<GraphApp> {
    let g = &file.graph;
    let client_id = env
        .get("SENTRA_GRAPH_CLIENT_ID")
        .or_else(|| g.client_id.clone());
    let client_secret = secret(
        env,
        "SENTRA_GRAPH_CLIENT_SECRET",
        "SENTRA_GRAPH_CLIENT_SECRET_FILE",
        g.client_secret_file.as_ref(),
        "graph.client_secret_file",
        problems,
    );
    let credential = graph_cert::credential(g, env, client_secret, problems);
    let (client_id, credential) = match (client_id, credential) {
        (Some(id), Some(credential)) => (id, credential),
        (None, None) => return None,
        (Some(_), None) => {
            problems.push("SENTRA_GRAPH_CLIENT_ID is set without a credential: set SENTRA_GRAPH_CLIENT_SECRET (or name a file holding it, mode 0600, with SENTRA_GRAPH_CLIENT_SECRET_FILE or `graph.client_secret_file`), or a certificate with SENTRA_GRAPH_CERTIFICATE_FILE and SENTRA_GRAPH_PRIVATE_KEY_FILE".to_owned());
            return None;
        }
        (None, Some(_)) => {
            problems.push(
                "a Graph credential is set without SENTRA_GRAPH_CLIENT_ID (graph.client_id)"
                    .to_owned(),
            );
            return None;
        }
    };
    let login_base = env
        .get("SENTRA_GRAPH_LOGIN_BASE")
        .or_else(|| g.login_base.clone())
        .unwrap_or_else(|| sentra_graph::config::LOGIN_BASE.to_owned());
    let graph_base = env
        .get("SENTRA_GRAPH_BASE")
        .or_else(|| g.api_base.clone())
        .unwrap_or_else(|| sentra_graph::config::GRAPH_BASE.to_owned());
    url(
        "SENTRA_GRAPH_LOGIN_BASE (graph.login_base)",
        &login_base,
        problems,
    );
    url("SENTRA_GRAPH_BASE (graph.api_base)", &graph_base, problems);
    let webhook_base_url = env
        .get("SENTRA_WEBHOOK_BASE_URL")
        .or_else(|| g.webhook_base_url.clone());
    if let Some(u) = &webhook_base_url {
        url(
            "SENTRA_WEBHOOK_BASE_URL (graph.webhook_base_url)",
            u,
            problems,
        );
    }
    let maintain_secs = number(
        env,
        "SENTRA_GRAPH_MAINTAIN_SECS",
        g.maintain_secs,
        600,
        1..=86_400,
        problems,
    );
    Some(GraphApp {
        client_id,
        credential,
        login_base,
        graph_base,
        webhook_base_url,
        maintain_secs,
    })
}
