//! Settings Sentra once read and no longer does, each with what replaced
//! it. Setting one is a problem reported by name (by `config check`, and by
//! `migrate`, `serve` and `worker`, which refuse to start), never silently
//! ignored: an operator who upgraded with the old spelling would otherwise
//! run without, say, an email relay and not know why.
//!
//! The old value is never repeated in the message: the SMTP URL carried the
//! relay's password.

use super::Env;

/// A retired setting and the ones that replaced it.
struct Retired {
    /// The old environment variable.
    var: &'static str,
    /// The old configuration-file key (`section.key`).
    key: &'static str,
    /// The variables to use instead.
    vars_instead: &'static str,
    /// The file keys to use instead.
    keys_instead: &'static str,
}

/// Every retired setting. `serve` read the relay from one URL (`--smtp-url`
/// / `SENTRA_SMTP_URL`) until it moved onto the worker's `[smtp]` section.
const RETIRED: &[Retired] = &[Retired {
    var: "SENTRA_SMTP_URL",
    key: "smtp.url",
    vars_instead: "SENTRA_SMTP_HOST, SENTRA_SMTP_PORT, SENTRA_SMTP_SECURITY, SENTRA_SMTP_USERNAME, \
                   SENTRA_SMTP_PASSWORD (or SENTRA_SMTP_PASSWORD_FILE) and SENTRA_SMTP_FROM",
    keys_instead: "smtp.host, smtp.port, smtp.security, smtp.username, smtp.from and \
                   smtp.password_file (or SENTRA_SMTP_PASSWORD)",
}];

/// A problem for every retired variable that is set.
pub(crate) fn check_env(env: &dyn Env, problems: &mut Vec<String>) {
    for r in RETIRED {
        if env.get(r.var).is_some() {
            problems.push(format!(
                "{} is no longer read; use {} instead",
                r.var, r.vars_instead
            ));
        }
    }
}

/// The first retired key in the file's `table`, as (key, its replacement).
pub(crate) fn key_in(table: &toml::Table) -> Option<(&'static str, &'static str)> {
    RETIRED.iter().find_map(|r| {
        let (section, key) = r.key.split_once('.')?;
        table
            .get(section)
            .and_then(toml::Value::as_table)
            .is_some_and(|t| t.contains_key(key))
            .then_some((r.key, r.keys_instead))
    })
}
