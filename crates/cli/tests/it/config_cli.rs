//! `sentra config check` as a process: a bad configuration is rejected with
//! a precise message and exit status 1; the shipped example is accepted
//! with its secrets in the environment.

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
