// `sentra admin create-org` and `sentra serve` as processes against a real
// Postgres (skipped when none is reachable).

use sentra_domain::{OrgId, Role, UserId};
use sentra_store::crypto::{self, Keyring};
use sentra_store::repo::user;
use sentra_store::testing::TestDb;
use sentra_store::{keys, memberships};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Output, Stdio};

fn sentra(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sentra"));
    cmd.args(args)
        .env_remove("SENTRA_DATABASE_URL")
        .env_remove("SENTRA_KEY_FILE")
        .env_remove("SENTRA_KEYS")
        .env_remove("SENTRA_ADMIN_PASSWORD")
        .env_remove("SENTRA_LISTEN")
        .env_remove("SENTRA_INSECURE_DEV_KEYS")
        .stdin(Stdio::null());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("run sentra")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn create_org_makes_an_owner_with_an_encrypted_totp_secret() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let Some(db) = rt.block_on(TestDb::create()) else {
        return;
    };
    let config = crypto::generate_config().unwrap();
    let env = [
        ("SENTRA_KEYS", config.as_str()),
        ("SENTRA_ADMIN_PASSWORD", "a long enough owner password"),
    ];
    let args = [
        "admin",
        "create-org",
        "--name",
        "Acme Builders",
        "--owner-email",
        "owner@acme.example",
        "--database-url",
        db.app_url(),
    ];
    let out = sentra(&args, &env);
    assert!(out.status.success(), "{}", text(&out));
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let org: OrgId = printed["org_id"].as_str().unwrap().parse().unwrap();
    let owner: UserId = printed["user_id"].as_str().unwrap().parse().unwrap();
    let secret_b32 = printed["totp_secret"].as_str().unwrap().to_owned();
    assert_eq!(secret_b32.len(), 32, "160 bits in base32");

    let keyring = Keyring::parse(&config).unwrap();
    rt.block_on(async {
        let pool = db.app_pool();
        assert_eq!(
            memberships(pool, owner).await.unwrap(),
            [(org, Role::Owner)]
        );
        let stored = user::find_by_email(pool, "owner@acme.example")
            .await
            .unwrap()
            .unwrap();
        assert!(stored.mfa_enrolled);
        assert!(stored.password_hash.starts_with("$argon2id$"));
        let (enc, _, _) = user::totp_state(pool, owner).await.unwrap();
        let ctx = keys::USER_TOTP.context(keys::GLOBAL_ORG, owner.as_uuid());
        let secret = crypto::decrypt(&keyring, &ctx, &enc.unwrap()).unwrap();
        assert_eq!(sentra_web::totp::base32_encode(&secret), secret_b32);
    });
    // The secret never reaches stderr, and a second owner with the address fails.
    assert!(!String::from_utf8_lossy(&out.stderr).contains(&secret_b32));
    let again = sentra(&args, &env);
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));
}

#[test]
fn create_org_refuses_a_short_password() {
    let config = crypto::generate_config().unwrap();
    let out = sentra(
        &[
            "admin",
            "create-org",
            "--name",
            "A",
            "--owner-email",
            "o@a.example",
            "--database-url",
            "postgres://sentra_app:x@127.0.0.1:1/none",
        ],
        &[
            ("SENTRA_KEYS", config.as_str()),
            ("SENTRA_ADMIN_PASSWORD", "short"),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("12 to 128"), "{}", text(&out));
}

#[test]
fn serve_refuses_throwaway_keys_off_loopback() {
    let out = sentra(
        &["serve", "--database-url", "postgres://x:y@127.0.0.1:1/none"],
        &[
            ("SENTRA_LISTEN", "0.0.0.0:0"),
            ("SENTRA_INSECURE_DEV_KEYS", "1"),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("only loopback"), "{}", text(&out));
}

#[test]
fn serve_answers_readyz_and_stops_cleanly_on_sigterm() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let Some(db) = rt.block_on(TestDb::create()) else {
        return;
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_sentra"))
        .arg("serve")
        .env_remove("SENTRA_KEY_FILE")
        .env_remove("SENTRA_KEYS")
        .env("SENTRA_DATABASE_URL", db.app_url())
        .env("SENTRA_LISTEN", "127.0.0.1:0")
        .env("SENTRA_INSECURE_DEV_KEYS", "1")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sentra serve");
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let addr = loop {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap() == 0 {
            let _ = child.kill();
            panic!("sentra serve exited before listening");
        }
        if let Some(rest) = line.trim().strip_prefix("sentra: listening on http://") {
            break rest.to_owned();
        }
    };
    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    write!(
        conn,
        "GET /readyz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    conn.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(
        response
            .to_ascii_lowercase()
            .contains("x-content-type-options: nosniff")
    );

    let pid = rustix::process::Pid::from_child(&child);
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}
