//! Sentra's one configuration scheme: an optional TOML file (`--config PATH`
//! or `SENTRA_CONFIG`), `SENTRA_*` environment variables over it, and
//! command-line flags over both. Defaults fill the rest.
//!
//! Secrets never come from the TOML file: a database URL with a password, a
//! key, a token or a password there is refused with a message that names
//! the field and where the secret belongs instead (an environment variable,
//! or a file named by a `*_file` setting, mode 0600). The file is meant to
//! be readable by operators and kept in version control.
//!
//! [`Config::load`] is what `serve`, `migrate` and `worker` call (the
//! worker's own settings are in [`worker`]);
//! `sentra config check` ([`check`]) reports every problem at once.
//! Every variable is listed in the README's configuration table.

pub(crate) mod check;
mod file;
mod graph_cert;
mod retired;
pub(crate) mod worker;

use anyhow::Context as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub(crate) use file::FileConfig;

/// The default listen address.
pub(crate) const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// The default pool size.
pub(crate) const DEFAULT_MAX_CONNECTIONS: u32 = 10;
/// The session and page caches' default lifetime (docs/SECURITY.md).
pub(crate) const DEFAULT_CACHE_MS: u64 = 1_000;
/// The longest lifetime accepted: the staleness bound SECURITY.md promises.
pub(crate) const MAX_CACHE_MS: u64 = 2_000;

/// Where a setting's value came from, for `config check`'s report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// Nobody set it.
    Default,
    /// The named environment variable.
    Env(&'static str),
    /// The TOML file (`section.key`).
    File(&'static str),
    /// A file named by a `*_file` setting.
    SecretFile(PathBuf),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Default => f.write_str("default"),
            Self::Env(v) => write!(f, "${v}"),
            Self::File(k) => write!(f, "config file `{k}`"),
            Self::SecretFile(p) => write!(f, "file {}", p.display()),
        }
    }
}

/// A value and where it came from.
#[derive(Debug, Clone)]
pub(crate) struct Sourced<T> {
    /// The value.
    pub value: T,
    /// Its origin.
    pub source: Source,
}

/// The resolved configuration. Problems found while resolving (a variable
/// that does not parse, an unreadable secret file) are collected in
/// `problems` so `config check` can report them all; [`Config::load`]
/// turns the first into an error.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// The TOML file read, if any.
    pub file: Option<PathBuf>,
    /// `server.listen` / `SENTRA_LISTEN`.
    pub listen: Sourced<SocketAddr>,
    /// `server.secure_cookies` / `SENTRA_SECURE_COOKIES` (None: on unless loopback).
    pub secure_cookies: Option<bool>,
    /// `server.insecure_dev_keys` / `SENTRA_INSECURE_DEV_KEYS`.
    pub insecure_dev_keys: bool,
    /// The `sentra_app` URL: `SENTRA_DATABASE_URL`, `SENTRA_DATABASE_URL_FILE`,
    /// `database.url_file`, or `database.url` without a password.
    pub database_url: Option<Sourced<String>>,
    /// The schema owner's URL, likewise (`owner_url`).
    pub owner_database_url: Option<Sourced<String>>,
    /// `database.max_connections` / `SENTRA_DB_MAX_CONNECTIONS`.
    pub max_connections: u32,
    /// `server.cache_ms` / `SENTRA_CACHE_MS`: how long the web process may
    /// serve a session check or a hot page from memory while it is not
    /// hearing the database's change notifications (0: never cache; see
    /// `web::read_cache` for the notified case).
    pub cache_ms: u64,
    /// `keys.file` / `SENTRA_KEY_FILE`.
    pub key_file: Option<Sourced<PathBuf>>,
    /// Whether `SENTRA_KEYS` holds the keyring itself.
    pub keys_in_env: bool,
    /// `engine.vocalink_dir` / `SENTRA_VOCALINK_DIR`.
    pub vocalink_dir: Option<PathBuf>,
    /// `log.filter` / `RUST_LOG`.
    pub log_filter: String,
    /// `server.base_url` / `SENTRA_BASE_URL`, as given (`serve`: none means
    /// relative links).
    pub base_url: Option<String>,
    /// The worker's settings (`sentra worker`).
    pub worker: worker::WorkerSettings,
    /// `[graph]` / `SENTRA_GRAPH_*`: the Microsoft Graph application.
    pub graph: Option<worker::GraphApp>,
    /// Everything wrong, each naming the setting and the fix.
    pub problems: Vec<String>,
}

/// Reads environment variables; a seam so tests need not touch the process
/// environment.
pub(crate) trait Env {
    /// The variable's value, when set and not empty.
    fn get(&self, name: &str) -> Option<String>;
}

/// The process environment.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ProcessEnv;

impl Env for ProcessEnv {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

fn boolish(name: &str, v: &str, problems: &mut Vec<String>) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" | "y" => Some(true),
        "0" | "false" | "no" | "off" | "n" => Some(false),
        _ => {
            problems.push(format!("{name}={v:?} is not a boolean (use true or false)"));
            None
        }
    }
}

/// Reads a secret from a file, trimmed; refuses files others can read.
fn read_secret_file(path: &Path, what: &str, problems: &mut Vec<String>) -> Option<String> {
    use std::os::unix::fs::PermissionsExt as _;
    match std::fs::read_to_string(path) {
        Ok(text) => {
            if let Ok(meta) = std::fs::metadata(path)
                && meta.permissions().mode() & 0o007 != 0
            {
                problems.push(format!(
                    "{what}: {} is readable by every user (mode {:o}); chmod 600 it",
                    path.display(),
                    meta.permissions().mode() & 0o777
                ));
            }
            let t = text.trim().to_owned();
            if t.is_empty() {
                problems.push(format!("{what}: {} is empty", path.display()));
                return None;
            }
            Some(t)
        }
        Err(e) => {
            problems.push(format!("{what}: cannot read {}: {e}", path.display()));
            None
        }
    }
}

/// The names one database URL setting goes by.
struct UrlNames {
    var: &'static str,
    file_var: &'static str,
    url_key: &'static str,
    url_file_key: &'static str,
}

/// Resolves one database URL: the variable, then the variable naming a
/// file, then the file's `*_file` key, then its URL key (no password).
fn resolve_url(
    env: &dyn Env,
    names: &UrlNames,
    url: Option<&String>,
    url_file: Option<&PathBuf>,
    problems: &mut Vec<String>,
) -> Option<Sourced<String>> {
    if let Some(v) = env.get(names.var) {
        return Some(Sourced {
            value: v,
            source: Source::Env(names.var),
        });
    }
    let from_file = |path: PathBuf, problems: &mut Vec<String>| {
        read_secret_file(&path, names.url_file_key, problems).map(|value| Sourced {
            value,
            source: Source::SecretFile(path),
        })
    };
    if let Some(p) = env.get(names.file_var) {
        return from_file(PathBuf::from(p), problems);
    }
    if let Some(p) = url_file {
        return from_file(p.clone(), problems);
    }
    url.map(|u| Sourced {
        value: u.clone(),
        source: Source::File(names.url_key),
    })
}

impl Config {
    /// Resolves the configuration from `path` (or `SENTRA_CONFIG`) and the
    /// process environment, failing on the first problem.
    pub(crate) fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        let config = Self::resolve(path, &ProcessEnv)?;
        if let Some(first) = config.problems.first() {
            anyhow::bail!(
                "configuration: {first}{}",
                if config.problems.len() > 1 {
                    format!(
                        " (and {} more; run `sentra config check`)",
                        config.problems.len() - 1
                    )
                } else {
                    String::new()
                }
            );
        }
        Ok(config)
    }

    /// Resolves without failing on problems (they are collected); fails
    /// only when the TOML file cannot be read or parsed or holds a secret.
    pub(crate) fn resolve(path: Option<&Path>, env: &dyn Env) -> anyhow::Result<Self> {
        let file_path = path
            .map(Path::to_path_buf)
            .or_else(|| env.get("SENTRA_CONFIG").map(PathBuf::from));
        let file = match &file_path {
            Some(p) => {
                let text = std::fs::read_to_string(p).with_context(|| {
                    format!("cannot read the configuration file {}", p.display())
                })?;
                FileConfig::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?
            }
            None => FileConfig::default(),
        };
        let mut problems = Vec::new();
        retired::check_env(env, &mut problems);

        let listen = if let Some(v) = env.get("SENTRA_LISTEN") {
            parse_listen(
                &v,
                "SENTRA_LISTEN",
                Source::Env("SENTRA_LISTEN"),
                &mut problems,
            )
        } else if let Some(v) = &file.server.listen {
            parse_listen(
                v,
                "server.listen",
                Source::File("server.listen"),
                &mut problems,
            )
        } else {
            None
        }
        .unwrap_or_else(|| Sourced {
            value: DEFAULT_LISTEN
                .parse()
                .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 8080))),
            source: Source::Default,
        });
        let secure_cookies = match env.get("SENTRA_SECURE_COOKIES") {
            Some(v) => boolish("SENTRA_SECURE_COOKIES", &v, &mut problems),
            None => file.server.secure_cookies,
        };
        let insecure_dev_keys = match env.get("SENTRA_INSECURE_DEV_KEYS") {
            Some(v) => boolish("SENTRA_INSECURE_DEV_KEYS", &v, &mut problems),
            None => file.server.insecure_dev_keys,
        }
        .unwrap_or(false);
        let database_url = resolve_url(
            env,
            &UrlNames {
                var: "SENTRA_DATABASE_URL",
                file_var: "SENTRA_DATABASE_URL_FILE",
                url_key: "database.url",
                url_file_key: "database.url_file",
            },
            file.database.url.as_ref(),
            file.database.url_file.as_ref(),
            &mut problems,
        );
        let owner_database_url = resolve_url(
            env,
            &UrlNames {
                var: "SENTRA_OWNER_DATABASE_URL",
                file_var: "SENTRA_OWNER_DATABASE_URL_FILE",
                url_key: "database.owner_url",
                url_file_key: "database.owner_url_file",
            },
            file.database.owner_url.as_ref(),
            file.database.owner_url_file.as_ref(),
            &mut problems,
        );
        let max_connections = match env.get("SENTRA_DB_MAX_CONNECTIONS") {
            Some(v) => v.trim().parse::<u32>().map_or_else(
                |_| {
                    problems.push(format!(
                        "SENTRA_DB_MAX_CONNECTIONS={v:?} is not a whole number"
                    ));
                    None
                },
                Some,
            ),
            None => file.database.max_connections,
        }
        .unwrap_or(DEFAULT_MAX_CONNECTIONS);
        if !(1..=1000).contains(&max_connections) {
            problems.push(format!(
                "the database pool size {max_connections} is out of range (1 to 1000)"
            ));
        }
        let cache_ms = match env.get("SENTRA_CACHE_MS") {
            Some(v) => v.trim().parse::<u64>().map_or_else(
                |_| {
                    problems.push(format!("SENTRA_CACHE_MS={v:?} is not a whole number"));
                    None
                },
                Some,
            ),
            None => file.server.cache_ms,
        }
        .unwrap_or(DEFAULT_CACHE_MS);
        if cache_ms > MAX_CACHE_MS {
            problems.push(format!(
                "the cache lifetime {cache_ms} ms is over {MAX_CACHE_MS} ms: a revoked session \
                 or a changed page would linger that long"
            ));
        }
        let key_file = env
            .get("SENTRA_KEY_FILE")
            .map(|v| Sourced {
                value: PathBuf::from(v),
                source: Source::Env("SENTRA_KEY_FILE"),
            })
            .or_else(|| {
                file.keys.file.clone().map(|value| Sourced {
                    value,
                    source: Source::File("keys.file"),
                })
            });
        let worker = worker::resolve(&file, env, &mut problems);
        let graph = worker::graph(&file, env, &mut problems);
        Ok(Self {
            file: file_path,
            listen,
            secure_cookies,
            insecure_dev_keys,
            database_url,
            owner_database_url,
            max_connections,
            cache_ms,
            key_file,
            keys_in_env: env.get("SENTRA_KEYS").is_some(),
            vocalink_dir: env
                .get("SENTRA_VOCALINK_DIR")
                .map(PathBuf::from)
                .or(file.engine.vocalink_dir),
            log_filter: env
                .get("RUST_LOG")
                .or(file.log.filter)
                .unwrap_or_else(|| "info".to_owned()),
            base_url: env.get("SENTRA_BASE_URL").or(file.server.base_url),
            worker,
            graph,
            problems,
        })
    }
}

fn parse_listen(
    v: &str,
    name: &str,
    source: Source,
    problems: &mut Vec<String>,
) -> Option<Sourced<SocketAddr>> {
    if let Ok(value) = v.trim().parse::<SocketAddr>() {
        Some(Sourced { value, source })
    } else {
        problems.push(format!(
            "{name}={v:?} is not an address and port (like 127.0.0.1:8080 or [::1]:8080)"
        ));
        None
    }
}

#[cfg(test)]
mod tests;
