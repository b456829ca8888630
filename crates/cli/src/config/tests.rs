//! The configuration scheme's rules: precedence, secrets refused in the
//! file, precise messages.

use super::check::{check, redact};
use super::*;
use std::collections::HashMap;

struct FakeEnv(HashMap<&'static str, String>);

impl Env for FakeEnv {
    fn get(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
}

fn env(pairs: &[(&'static str, &str)]) -> FakeEnv {
    FakeEnv(pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect())
}

fn file(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(&mut f, text.as_bytes()).unwrap();
    f
}

fn checked(text: Option<&str>, e: &FakeEnv) -> (bool, String) {
    let f = text.map(file);
    let mut out = Vec::new();
    let code = check(f.as_ref().map(tempfile::NamedTempFile::path), e, &mut out);
    (code == ExitCode::SUCCESS, String::from_utf8(out).unwrap())
}

use std::process::ExitCode;

#[test]
fn environment_beats_the_file_and_the_file_beats_defaults() {
    let f = file("[server]\nlisten = \"127.0.0.1:9000\"\n[database]\nmax_connections = 4\n");
    let c = Config::resolve(Some(f.path()), &env(&[])).unwrap();
    assert_eq!(c.listen.value.port(), 9000);
    assert_eq!(c.listen.source, Source::File("server.listen"));
    assert_eq!(c.max_connections, 4);
    let c = Config::resolve(Some(f.path()), &env(&[("SENTRA_LISTEN", "127.0.0.1:9100")])).unwrap();
    assert_eq!(c.listen.value.port(), 9100);
    let c = Config::resolve(None, &env(&[])).unwrap();
    assert_eq!(c.listen.value.to_string(), DEFAULT_LISTEN);
    assert_eq!(c.max_connections, DEFAULT_MAX_CONNECTIONS);
}

#[test]
fn secrets_in_the_file_are_refused_naming_the_key_and_the_fix() {
    for (text, key, fix) in [
        (
            "[database]\nurl = \"postgres://sentra_app:hunter2@db/sentra\"\n",
            "database.url",
            "SENTRA_DATABASE_URL",
        ),
        (
            "[database]\nowner_url = \"postgres://o:pw@db/sentra\"\n",
            "database.owner_url",
            "SENTRA_OWNER_DATABASE_URL",
        ),
        (
            "[database]\npassword = \"x\"\n",
            "database.password",
            "SENTRA_APP_DB_PASSWORD",
        ),
        ("keys = \"k1:abc\"\n", "keys", "SENTRA_KEYS"),
        (
            "[graph]\nclient_secret = \"s\"\n",
            "graph.client_secret",
            "environment",
        ),
    ] {
        let err = FileConfig::parse(text).unwrap_err().to_string();
        assert!(err.contains(&format!("`{key}")), "{text}: {err}");
        assert!(err.contains("secrets are not accepted"), "{err}");
        assert!(err.contains(fix), "{text}: {err}");
        assert!(
            !err.contains("hunter2"),
            "the secret itself is never echoed: {err}"
        );
    }
    // A URL without a password (peer authentication) is fine.
    assert!(
        FileConfig::parse(
            "[database]\nurl = \"postgres://sentra_app@/sentra?host=/run/postgresql\"\n"
        )
        .is_ok()
    );
}

#[test]
fn unknown_keys_and_bad_values_are_precise() {
    let err = FileConfig::parse("[server]\nlisen = \"x\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("lisen") && err.contains("line 2"), "{err}");
    let (ok, out) = checked(Some("[server]\nlisten = \"localhost\"\n"), &env(&[]));
    assert!(!ok);
    assert!(
        out.contains("server.listen=\"localhost\" is not an address and port"),
        "{out}"
    );
    let (ok, out) = checked(None, &env(&[("SENTRA_DB_MAX_CONNECTIONS", "ten")]));
    assert!(!ok);
    assert!(
        out.contains("SENTRA_DB_MAX_CONNECTIONS=\"ten\" is not a whole number"),
        "{out}"
    );
}

#[test]
fn check_says_what_is_missing() {
    let (ok, out) = checked(None, &env(&[]));
    assert!(!ok);
    assert!(out.contains("missing: the app database URL"), "{out}");
    assert!(out.contains("missing: the keyring"), "{out}");
}

#[test]
fn check_accepts_the_shipped_example_with_its_secrets_in_the_environment() {
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../config/sentra.example.toml"
    );
    let keys = sentra_store::crypto::generate_config().unwrap();
    let e = env(&[
        (
            "SENTRA_DATABASE_URL",
            "postgres://sentra_app:pw@127.0.0.1:5432/sentra",
        ),
        ("SENTRA_KEYS", keys.as_str()),
    ]);
    let mut out = Vec::new();
    let code = check(Some(std::path::Path::new(example)), &e, &mut out);
    let out = String::from_utf8(out).unwrap();
    assert_eq!(code, ExitCode::SUCCESS, "{out}");
    assert!(out.contains("OK: the configuration is complete"), "{out}");
    assert!(!out.contains(":pw@"), "passwords are redacted: {out}");
}

#[test]
fn throwaway_keys_off_loopback_and_open_key_files_are_refused() {
    let (ok, out) = checked(
        Some("[server]\nlisten = \"0.0.0.0:8080\"\ninsecure_dev_keys = true\n"),
        &env(&[("SENTRA_DATABASE_URL", "postgres://a@b/c")]),
    );
    assert!(!ok);
    assert!(out.contains("only loopback"), "{out}");
    let keyfile = file(&sentra_store::crypto::generate_config().unwrap());
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(keyfile.path(), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let (ok, out) = checked(
        None,
        &env(&[
            ("SENTRA_DATABASE_URL", "postgres://a@b/c"),
            ("SENTRA_KEY_FILE", keyfile.path().to_str().unwrap()),
        ]),
    );
    assert!(!ok);
    assert!(out.contains("the key file"), "{out}");
}

#[test]
fn urls_are_redacted() {
    assert_eq!(
        redact("postgres://u:secret@h:5432/db?x=1"),
        "postgres://u:****@h:5432/db?x=1"
    );
    assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
    assert_eq!(redact("nonsense"), "(not a URL)");
}

#[test]
fn worker_settings_come_from_the_environment_over_the_file() {
    let f = file(
        "[worker]\nconcurrency = 3\nlease_secs = 20\n[graph]\nclient_id = \"app\"\nmaintain_secs = 30\n[smtp]\nhost = \"relay.example\"\n",
    );
    let c = Config::resolve(
        Some(f.path()),
        &env(&[
            ("SENTRA_WORKER_CONCURRENCY", "5"),
            ("SENTRA_GRAPH_CLIENT_SECRET", "s3cret"),
            ("SENTRA_GRAPH_BASE", "http://127.0.0.1:9999/v1.0"),
        ]),
    )
    .unwrap();
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    assert_eq!((c.worker.concurrency, c.worker.lease_secs), (5, 20));
    let g = c.graph.expect("graph settings");
    assert_eq!(g.client_id, "app");
    assert_eq!(g.graph_base, "http://127.0.0.1:9999/v1.0");
    assert_eq!(g.login_base, sentra_graph::config::LOGIN_BASE);
    assert_eq!(g.maintain_secs, 30);
    let smtp = c.worker.smtp.expect("smtp settings");
    assert_eq!(
        (smtp.host.as_str(), smtp.port, smtp.security.as_str()),
        ("relay.example", 587, "starttls")
    );
    // Nothing configured: no sync, no relay, the defaults.
    let c = Config::resolve(None, &env(&[])).unwrap();
    assert!(c.graph.is_none() && c.worker.smtp.is_none());
    assert_eq!((c.worker.concurrency, c.worker.lease_secs), (8, 60));
}

#[test]
fn worker_secrets_in_the_file_and_half_configured_settings_are_refused() {
    for text in [
        "[graph]\nclient_secret = \"x\"\n",
        "[smtp]\npassword = \"x\"\n",
    ] {
        let (ok, out) = checked(Some(text), &env(&[]));
        assert!(!ok && out.contains("holds a secret"), "{text}: {out}");
    }
    for (pairs, expected) in [
        (
            &[("SENTRA_GRAPH_CLIENT_ID", "app")][..],
            "SENTRA_GRAPH_CLIENT_ID is set without a credential",
        ),
        (
            &[
                ("SENTRA_SMTP_HOST", "10.0.0.5"),
                ("SENTRA_SMTP_SECURITY", "plain"),
            ][..],
            "needs SENTRA_SMTP_HOST to be an address in SENTRA_ALERT_ALLOW_ADDRS",
        ),
        (
            &[("SENTRA_WORKER_CONCURRENCY", "many")][..],
            "is not a whole number",
        ),
        (
            &[
                ("SENTRA_GRAPH_CLIENT_ID", "a"),
                ("SENTRA_GRAPH_CLIENT_SECRET", "b"),
                ("SENTRA_GRAPH_BASE", "graph"),
            ][..],
            "is not an http(s) URL",
        ),
    ] {
        let c = Config::resolve(None, &env(pairs)).unwrap();
        assert!(
            c.problems.iter().any(|p| p.contains(expected)),
            "{pairs:?}: {:?}",
            c.problems
        );
        assert!(c.problems.iter().all(|p| !p.contains("s3cret")));
    }
}

/// A file with `text` and `mode`.
fn file_mode(text: &str, mode: u32) -> tempfile::NamedTempFile {
    use std::os::unix::fs::PermissionsExt as _;
    let f = file(text);
    std::fs::set_permissions(f.path(), std::fs::Permissions::from_mode(mode)).unwrap();
    f
}

// TEST-ONLY key pair from the fake Graph server's fixtures.
const CERT_PEM: &str = include_str!("../../../testkit/fixtures/cert/app.cert.pem");
const KEY_PEM: &str = include_str!("../../../testkit/fixtures/cert/app.key.pem");

#[test]
fn graph_certificate_credential_is_loaded_and_checked() {
    let (cert, key) = (file_mode(CERT_PEM, 0o644), file_mode(KEY_PEM, 0o600));
    let path = |f: &tempfile::NamedTempFile| f.path().to_str().unwrap().to_owned();
    let (cert_path, key_path) = (path(&cert), path(&key));
    let base = [
        ("SENTRA_GRAPH_CLIENT_ID", "app"),
        ("SENTRA_GRAPH_CERTIFICATE_FILE", cert_path.as_str()),
        ("SENTRA_GRAPH_PRIVATE_KEY_FILE", key_path.as_str()),
    ];
    let c = Config::resolve(None, &env(&base)).unwrap();
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    let app = c.graph.expect("graph app");
    assert!(matches!(
        app.credential,
        sentra_graph::ClientCredential::Certificate(_)
    ));
    // The key's body never shows in the Debug output.
    let key_line = KEY_PEM.lines().nth(1).unwrap();
    assert!(!format!("{app:?} {:?}", app.credential).contains(&key_line[..20]));

    // The same from the file's keys.
    let f = file(&format!(
        "[graph]\nclient_id = \"app\"\ncertificate_file = {cert_path:?}\nprivate_key_file = {key_path:?}\n"
    ));
    let c = Config::resolve(Some(f.path()), &env(&[])).unwrap();
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    assert!(c.graph.is_some());

    let open_key = file_mode(KEY_PEM, 0o644);
    let open_key_path = path(&open_key);
    let not_pem = file_mode("not a key", 0o600);
    let not_pem_path = path(&not_pem);
    for (pairs, expected) in [
        (
            vec![
                base[0],
                base[1],
                base[2],
                ("SENTRA_GRAPH_CLIENT_SECRET", "s3cret"),
            ],
            "mutually exclusive",
        ),
        (vec![base[0], base[1]], "is set without its key"),
        (vec![base[0], base[2]], "is set without its certificate"),
        (
            vec![
                base[0],
                base[1],
                ("SENTRA_GRAPH_PRIVATE_KEY_FILE", open_key_path.as_str()),
            ],
            "readable by every user",
        ),
        (
            vec![
                base[0],
                base[1],
                ("SENTRA_GRAPH_PRIVATE_KEY_FILE", not_pem_path.as_str()),
            ],
            "no PEM PKCS#8 PRIVATE KEY block",
        ),
        (
            vec![
                base[0],
                ("SENTRA_GRAPH_CERTIFICATE_FILE", key_path.as_str()),
                base[2],
            ],
            "no PEM CERTIFICATE block",
        ),
    ] {
        let c = Config::resolve(None, &env(&pairs)).unwrap();
        assert!(
            c.problems.iter().any(|p| p.contains(expected)),
            "{expected}: {:?}",
            c.problems
        );
        assert!(
            c.problems
                .iter()
                .all(|p| !p.contains("s3cret") && !p.contains(&key_line[..20])),
            "{:?}",
            c.problems
        );
    }
}
