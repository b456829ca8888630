//! `sentra config check` as a process: a bad configuration is rejected with
//! a precise message and exit status 1; the shipped example is accepted
//! with its secrets in the environment. `serve` and `worker` share the one
//! `[smtp]` relay, which the check covers; `serve` has no SMTP URL flag, and
//! the retired `SENTRA_SMTP_URL` / `smtp.url` are named with their
//! replacements. The README's table lists every variable the code reads.

use std::process::{Command, Output};

fn check(args: &[&str], envs: &[(&str, &str)]) -> (Output, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sentra"));
    cmd.args(["config", "check"]).args(args);
    for var in [
        "SENTRA_CONFIG",
        "SENTRA_DATABASE_URL",
        "SENTRA_DATABASE_URL_FILE",
        "SENTRA_OWNER_DATABASE_URL",
        "SENTRA_KEY_FILE",
        "SENTRA_KEYS",
        "SENTRA_LISTEN",
        "SENTRA_INSECURE_DEV_KEYS",
        "RUST_LOG",
        "SENTRA_SMTP_HOST",
        "SENTRA_SMTP_PORT",
        "SENTRA_SMTP_SECURITY",
        "SENTRA_SMTP_USERNAME",
        "SENTRA_SMTP_PASSWORD",
        "SENTRA_SMTP_PASSWORD_FILE",
        "SENTRA_SMTP_FROM",
        "SENTRA_SMTP_URL",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(envs.iter().copied());
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out, text)
}

const EXAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../config/sentra.example.toml"
);

/// What the example leaves to the environment: the app database URL and
/// the keyring (`keys`, a fresh one).
fn secrets(keys: &str) -> Vec<(&'static str, &str)> {
    vec![
        (
            "SENTRA_DATABASE_URL",
            "postgres://sentra_app:pw@127.0.0.1/sentra",
        ),
        ("SENTRA_KEYS", keys),
    ]
}

#[test]
fn config_check_accepts_the_documented_example() {
    let keys = sentra_store::crypto::generate_config().unwrap();
    let (out, text) = check(&["--config", EXAMPLE], &secrets(&keys));
    assert!(out.status.success(), "{text}");
    assert!(text.contains("OK: the configuration is complete"), "{text}");
}

#[test]
fn config_check_rejects_a_secret_in_the_file_and_says_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("sentra.toml");
    std::fs::write(
        &bad,
        "[database]\nurl = \"postgres://sentra_app:hunter2@db/sentra\"\n",
    )
    .unwrap();
    let (out, text) = check(&["--config", bad.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("`database.url (a URL with a password)` holds a secret"),
        "{text}"
    );
    assert!(text.contains("SENTRA_DATABASE_URL"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");

    // Through SENTRA_CONFIG, with nothing else set: what is missing, and how to fix it.
    std::fs::write(&bad, "[server]\nlisten = \"127.0.0.1:8080\"\n").unwrap();
    let (out, text) = check(&[], &[("SENTRA_CONFIG", bad.to_str().unwrap())]);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("missing: the app database URL"), "{text}");
    assert!(text.contains("missing: the keyring"), "{text}");
}

#[test]
fn config_check_covers_the_smtp_relay_that_serve_and_worker_share() {
    let keys = sentra_store::crypto::generate_config().unwrap();
    let mut base = secrets(&keys);
    base.extend([
        ("SENTRA_SMTP_HOST", "relay.example.com"),
        ("SENTRA_SMTP_USERNAME", "sentra"),
        ("SENTRA_SMTP_PASSWORD", "relay-password-9f3k"),
    ]);
    let (out, text) = check(&["--config", EXAMPLE], &base);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains(
            "email relay:        relay.example.com:587 (starttls, password set), from alerts@sentra.example.com (serve: invitations, resets; worker: alerts)"
        ),
        "{text}"
    );
    assert!(!text.contains("relay-password-9f3k"), "{text}");

    // A bad relay setting is a problem for both processes.
    let mut bad = base.clone();
    bad.push(("SENTRA_SMTP_SECURITY", "sometimes"));
    let (out, text) = check(&["--config", EXAMPLE], &bad);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("SENTRA_SMTP_SECURITY (smtp.security) must be starttls, tls or plain"),
        "{text}"
    );
    assert!(!text.contains("relay-password-9f3k"), "{text}");
}

#[test]
fn serve_takes_no_smtp_url_on_the_command_line() {
    let out = Command::new(env!("CARGO_BIN_EXE_sentra"))
        .args([
            "serve",
            "--smtp-url",
            "smtps://user:secret-pw@relay.example",
        ])
        .env_remove("SENTRA_SMTP_URL")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("unexpected argument '--smtp-url'"), "{err}");
    assert!(!err.contains("secret-pw"), "{err}");
}

/// The names `SENTRA_SMTP_URL` gave way to, as the message lists them.
const SMTP_VARS: &str = "SENTRA_SMTP_HOST, SENTRA_SMTP_PORT, SENTRA_SMTP_SECURITY, \
                         SENTRA_SMTP_USERNAME, SENTRA_SMTP_PASSWORD (or \
                         SENTRA_SMTP_PASSWORD_FILE) and SENTRA_SMTP_FROM";

#[test]
fn the_retired_smtp_url_is_named_with_its_replacements_never_ignored() {
    let keys = sentra_store::crypto::generate_config().unwrap();
    let old_url = (
        "SENTRA_SMTP_URL",
        "smtps://sentra:relay-pw-7q2x@relay.example.com",
    );
    let complete = secrets(&keys);
    let retired = format!("SENTRA_SMTP_URL is no longer read; use {SMTP_VARS} instead");

    // Alone, and beside the settings that replaced it: both are a problem,
    // with the names to use, and the old URL's password is not repeated.
    let mut alone = complete.clone();
    alone.push(old_url);
    let mut beside = alone.clone();
    beside.push(("SENTRA_SMTP_HOST", "relay.example.com"));
    for envs in [alone, beside] {
        let (out, text) = check(&["--config", EXAMPLE], &envs);
        assert_eq!(out.status.code(), Some(1), "{text}");
        assert!(text.contains(&retired), "{text}");
        assert!(!text.contains("relay-pw-7q2x"), "{text}");
    }
    // Without it, the same configuration is complete.
    let (out, text) = check(&["--config", EXAMPLE], &complete);
    assert!(out.status.success(), "{text}");
    assert!(!text.contains("SENTRA_SMTP_URL"), "{text}");

    // `sentra worker` refuses to start with it, before connecting anywhere.
    let mut worker = Command::new(env!("CARGO_BIN_EXE_sentra"));
    worker.args(["worker", "--config", EXAMPLE]);
    for (k, v) in complete.iter().chain([&old_url]) {
        worker.env(k, v);
    }
    let out = worker.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains(&retired), "{err}");
    assert!(!err.contains("relay-pw-7q2x"), "{err}");

    // In the file, `[smtp] url` is retired too: named with the keys that
    // replaced it, not mistaken for a database URL holding a password.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sentra.toml");
    std::fs::write(
        &file,
        "[smtp]\nurl = \"smtps://sentra:relay-pw-7q2x@relay.example.com\"\n",
    )
    .unwrap();
    let (out, text) = check(&["--config", file.to_str().unwrap()], &complete);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(
            "`smtp.url` is no longer read; use smtp.host, smtp.port, smtp.security, \
             smtp.username, smtp.from and smtp.password_file (or SENTRA_SMTP_PASSWORD) instead"
        ),
        "{text}"
    );
    assert!(
        !text.contains("holds a secret") && !text.contains("SENTRA_DATABASE_URL"),
        "{text}"
    );
    assert!(!text.contains("relay-pw-7q2x"), "{text}");
}

/// Every `SENTRA_*` name quoted in the configuration code, as a literal.
fn variables_in(dir: &std::path::Path) -> std::collections::BTreeSet<String> {
    let mut names = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (i, _) in text.match_indices("\"SENTRA_") {
            let name: String = text[i + 1..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            // Only whole literals (`"SENTRA_X"`), not names inside a message.
            if text[i + 1 + name.len()..].starts_with('"') {
                names.insert(name);
            }
        }
    }
    names
}

#[test]
fn the_readme_table_lists_every_variable_the_configuration_reads_or_retired() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    // The first column of the configuration table's rows.
    let table: Vec<&str> = readme
        .lines()
        .filter(|l| l.starts_with("| `"))
        .filter_map(|l| l.split('|').nth(1))
        .collect();
    let names = variables_in(&std::path::Path::new(root).join("crates/cli/src/config"));
    assert!(names.contains("SENTRA_SMTP_HOST") && names.contains("SENTRA_SMTP_URL"));
    let missing: Vec<&String> = names
        .iter()
        .filter(|n| !table.iter().any(|cell| cell.contains(&format!("`{n}`"))))
        .collect();
    assert!(missing.is_empty(), "not in the README's table: {missing:?}");
}
