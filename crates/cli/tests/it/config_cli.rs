//! `sentra config check` as a process: a bad configuration is rejected with
//! a precise message and exit status 1; the shipped example is accepted
//! with its secrets in the environment. `serve` and `worker` share the one
//! `[smtp]` relay, which the check covers; `serve` has no SMTP URL flag.

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

#[test]
fn config_check_accepts_the_documented_example() {
    let keys = sentra_store::crypto::generate_config().unwrap();
    let (out, text) = check(
        &["--config", EXAMPLE],
        &[
            (
                "SENTRA_DATABASE_URL",
                "postgres://sentra_app:pw@127.0.0.1/sentra",
            ),
            ("SENTRA_KEYS", keys.as_str()),
        ],
    );
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
    let base = [
        (
            "SENTRA_DATABASE_URL",
            "postgres://sentra_app:pw@127.0.0.1/sentra",
        ),
        ("SENTRA_KEYS", keys.as_str()),
        ("SENTRA_SMTP_HOST", "relay.example.com"),
        ("SENTRA_SMTP_USERNAME", "sentra"),
        ("SENTRA_SMTP_PASSWORD", "relay-password-9f3k"),
    ];
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
    let mut bad = base.to_vec();
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
