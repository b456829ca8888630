//! The TOML configuration file: its shape (unknown keys are errors, with
//! their line; retired keys name their replacement), and the refusal of
//! secrets inside it.

use serde::Deserialize;
use std::path::PathBuf;

/// The whole file. Every section and key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileConfig {
    #[serde(default)]
    pub server: Server,
    #[serde(default)]
    pub database: Database,
    #[serde(default)]
    pub keys: Keys,
    #[serde(default)]
    pub engine: Engine,
    #[serde(default)]
    pub log: Log,
    #[serde(default)]
    pub worker: Worker,
    #[serde(default)]
    pub alerts: Alerts,
    #[serde(default)]
    pub smtp: Smtp,
    #[serde(default)]
    pub graph: Graph,
}

/// `[server]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Server {
    pub listen: Option<String>,
    pub base_url: Option<String>,
    pub secure_cookies: Option<bool>,
    pub insecure_dev_keys: Option<bool>,
    pub cache_ms: Option<u64>,
}

/// `[database]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Database {
    pub url: Option<String>,
    pub url_file: Option<PathBuf>,
    pub owner_url: Option<String>,
    pub owner_url_file: Option<PathBuf>,
    pub max_connections: Option<u32>,
}

/// `[keys]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Keys {
    pub file: Option<PathBuf>,
}

/// `[engine]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Engine {
    pub vocalink_dir: Option<PathBuf>,
}

/// `[log]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Log {
    pub filter: Option<String>,
}

/// `[worker]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Worker {
    pub concurrency: Option<usize>,
    pub lease_secs: Option<u64>,
}

/// `[alerts]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Alerts {
    #[serde(default)]
    pub allow_addrs: Vec<std::net::IpAddr>,
}

/// `[smtp]`: the relay for email alerts (the password only from a file).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Smtp {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub security: Option<String>,
    pub username: Option<String>,
    pub password_file: Option<PathBuf>,
    pub from: Option<String>,
}

/// `[graph]`: the Microsoft Graph application (the secret only from a file).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Graph {
    pub client_id: Option<String>,
    pub client_secret_file: Option<PathBuf>,
    pub certificate_file: Option<PathBuf>,
    pub private_key_file: Option<PathBuf>,
    pub login_base: Option<String>,
    pub api_base: Option<String>,
    pub webhook_base_url: Option<String>,
    pub maintain_secs: Option<u64>,
}

/// Key names that hold secrets, and where each secret belongs instead.
const SECRET_KEYS: &[(&str, &str)] = &[
    (
        "password",
        "an environment variable (for the app role: SENTRA_APP_DB_PASSWORD)",
    ),
    ("app_password", "SENTRA_APP_DB_PASSWORD"),
    (
        "keys",
        "SENTRA_KEYS, or a key file named by `keys.file` (mode 0600)",
    ),
    ("key", "a key file named by `keys.file` (mode 0600)"),
    ("data_key", "a key file named by `keys.file` (mode 0600)"),
    ("signing_key", "SENTRA_AUDIT_SIGNING_KEY or the key file"),
    ("secret", "an environment variable or a file (mode 0600)"),
    (
        "client_secret",
        "an environment variable or a file (mode 0600)",
    ),
    ("token", "an environment variable or a file (mode 0600)"),
    ("api_key", "an environment variable or a file (mode 0600)"),
];

/// Why a file was refused: the message names the key and the fix.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum FileError {
    /// Not TOML, or not the expected shape.
    Syntax(String),
    /// A secret inside the file.
    Secret {
        /// The dotted key.
        key: String,
        /// Where the secret belongs.
        fix: String,
    },
    /// A key Sentra no longer reads ([`super::retired`]).
    Retired {
        /// The dotted key.
        key: &'static str,
        /// The keys that replaced it.
        instead: &'static str,
    },
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Syntax(s) => f.write_str(s),
            Self::Secret { key, fix } => write!(
                f,
                "`{key}` holds a secret, and secrets are not accepted in the configuration file; {fix}"
            ),
            Self::Retired { key, instead } => {
                write!(f, "`{key}` is no longer read; use {instead} instead")
            }
        }
    }
}

impl FileConfig {
    /// Parses and checks `text`.
    pub(crate) fn parse(text: &str) -> Result<Self, FileError> {
        let table: toml::Table =
            toml::from_str(text).map_err(|e| FileError::Syntax(e.to_string().trim().to_owned()))?;
        // Before the secret check: an old SMTP URL with a password is
        // retired, not a database URL to move into SENTRA_DATABASE_URL.
        if let Some((key, instead)) = super::retired::key_in(&table) {
            return Err(FileError::Retired { key, instead });
        }
        find_secret(&table, "")?;
        toml::from_str(text).map_err(|e| FileError::Syntax(e.to_string().trim().to_owned()))
    }
}

/// The first secret-looking key anywhere in `table`, or a database URL that
/// carries a password.
fn find_secret(table: &toml::Table, prefix: &str) -> Result<(), FileError> {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        let lower = k.to_ascii_lowercase();
        if let Some((_, fix)) = SECRET_KEYS.iter().find(|(name, _)| *name == lower)
            // `[keys]` itself is the section naming the key file.
            && !(lower == "keys" && v.is_table())
        {
            return Err(FileError::Secret {
                key,
                fix: format!("use {fix} instead"),
            });
        }
        match v {
            toml::Value::Table(t) => find_secret(t, &key)?,
            toml::Value::String(s) if url_has_password(s) => {
                let var = if lower.starts_with("owner") {
                    "SENTRA_OWNER_DATABASE_URL"
                } else {
                    "SENTRA_DATABASE_URL"
                };
                return Err(FileError::Secret {
                    key: format!("{key} (a URL with a password)"),
                    fix: format!(
                        "put the URL in {var}, or in a file named by `{key}_file` (mode 0600), or use a URL without a password (peer or certificate authentication)"
                    ),
                });
            }
            _ => {}
        }
    }
    Ok(())
}

/// `scheme://user:password@host…`.
fn url_has_password(s: &str) -> bool {
    let Some((_, rest)) = s.split_once("://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    authority
        .rsplit_once('@')
        .is_some_and(|(userinfo, _)| userinfo.contains(':'))
}
