// The database commands run as processes against a real Postgres:
// `sentra migrate`, `sentra audit verify`, `sentra keys rotate`. Each test
// gets its own database (sentra_store::testing::TestDb) and skips when no
// server is reachable.

use sentra_domain::OrgId;
use sentra_domain::bank::{BankAccount, SortCode, UkAccountNumber};
use sentra_store::TenantTx;
use sentra_store::audit::{self, NewEvent};
use sentra_store::crypto::{self, Keyring};
use sentra_store::repo::bank_account::{self, AccountStatus};
use sentra_store::repo::supplier::{self, SupplierFields, SupplierStatus};
use sentra_store::testing::TestDb;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

/// Runs `sentra` with no database or key settings inherited from the caller.
fn sentra(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sentra"))
        .args(args)
        .env_remove("SENTRA_OWNER_DATABASE_URL")
        .env_remove("SENTRA_KEY_FILE")
        .env_remove("SENTRA_KEYS")
        .env_remove("SENTRA_AUDIT_SIGNING_KEY")
        .output()
        .expect("run sentra")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

async fn new_org(db: &TestDb) -> OrgId {
    let id: uuid::Uuid =
        sqlx::query_scalar("insert into organisation (name) values ('A') returning id")
            .fetch_one(db.superuser())
            .await
            .unwrap();
    OrgId::from_uuid(id)
}

fn write_key_file(path: &Path, text: &str, mode: u32) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn value(text: &str, name: &str) -> String {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .find(|(n, _)| n.trim() == name)
        .map(|(_, v)| v.trim().trim_matches('"').to_owned())
        .unwrap()
}

#[test]
fn migrate_applies_every_migration_once_then_reports_up_to_date() {
    let rt = runtime();
    let Some(db) = rt.block_on(TestDb::create()) else {
        return;
    };
    let empty = format!("{}_cli", db.name());
    rt.block_on(
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "create database {empty} owner sentra_owner"
        )))
        .execute(db.superuser()),
    )
    .unwrap();
    let url = db.owner_url().replace(db.name(), &empty);
    let first = sentra(&["migrate", "--database-url", &url]);
    let second = sentra(&["migrate", "--database-url", &url]);
    rt.block_on(
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "drop database {empty} with (force)"
        )))
        .execute(db.superuser()),
    )
    .unwrap();
    let all = sentra_store::migrate::MIGRATOR.iter().count();
    assert!(first.status.success(), "{}", text(&first));
    assert!(
        text(&first).contains(&format!("applied {all} migration(s)")),
        "{}",
        text(&first)
    );
    assert!(second.status.success(), "{}", text(&second));
    assert!(
        text(&second).contains("database is up to date"),
        "{}",
        text(&second)
    );
    // A bad URL fails with exit 2 and never echoes the password.
    let bad = sentra(&[
        "migrate",
        "--database-url",
        "postgres://sentra_owner:hunter2@127.0.0.1:1/none",
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(!text(&bad).contains("hunter2"), "{}", text(&bad));
}

#[test]
fn audit_verify_passes_a_clean_log_and_names_the_first_tampered_seq() {
    let rt = runtime();
    let Some(db) = rt.block_on(TestDb::create()) else {
        return;
    };
    let org = rt.block_on(async {
        let org = new_org(&db).await;
        for n in 0..6 {
            let mut tx = TenantTx::begin(db.app_pool(), org, None).await.unwrap();
            audit::append(&mut tx, NewEvent::new("user", format!("test.event_{n}")))
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }
        org
    });
    let url = db.owner_url();
    let clean = sentra(&["audit", "verify", "--database-url", url]);
    assert!(clean.status.success(), "{}", text(&clean));
    assert!(
        text(&clean).contains(&format!("org {org}: ok, 6 events")),
        "{}",
        text(&clean)
    );

    // A superuser edits event 4 with the triggers switched off.
    rt.block_on(async {
        let mut tx = db.superuser().begin().await.unwrap();
        sqlx::query("set local session_replication_role = replica")
            .execute(&mut *tx)
            .await
            .unwrap();
        sqlx::query("update audit_event set actor = 'someone else' where org_id = $1 and seq = 4")
            .bind(org.as_uuid())
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    });
    let tampered = sentra(&["audit", "verify", "--database-url", url]);
    assert_eq!(tampered.status.code(), Some(1), "{}", text(&tampered));
    assert!(
        text(&tampered).contains(&format!("org {org}: BROKEN: seq 4 ")),
        "{}",
        text(&tampered)
    );
}

#[test]
fn keys_rotate_reports_progress_and_moves_every_row_to_the_new_key() {
    let rt = runtime();
    let Some(db) = rt.block_on(TestDb::create()) else {
        return;
    };
    let generated = sentra(&["keys", "generate"]);
    assert!(generated.status.success(), "{}", text(&generated));
    let first = String::from_utf8(generated.stdout).unwrap();
    let second = crypto::generate_config().unwrap().to_string();
    let old = Keyring::parse(&first).unwrap();
    rt.block_on(async {
        let org = new_org(&db).await;
        let mut tx = TenantTx::begin(db.app_pool(), org, None).await.unwrap();
        let supplier = supplier::create(
            &mut tx,
            &SupplierFields {
                name: "Apex".to_owned(),
                domains: vec![],
                country: None,
                status: SupplierStatus::Active,
            },
        )
        .await
        .unwrap();
        for n in 0..3 {
            let account = BankAccount::Uk {
                sort_code: SortCode::parse("20-29-59").unwrap(),
                account: UkAccountNumber::parse(&format!("6374847{n}")).unwrap(),
            };
            bank_account::add(
                &mut tx,
                &old,
                supplier,
                &account,
                AccountStatus::PendingApproval,
                None,
            )
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
    });

    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("sentra.keys");
    let both = format!(
        "current = k2\nk1 = {}\nk2 = {}\nbi = {}\nsign = {}\n",
        value(&first, "k1"),
        value(&second, "k1"),
        value(&first, "bi"),
        value(&first, "sign"),
    );
    let file = key_file.to_string_lossy().into_owned();
    let url = db.owner_url();

    // A key file others can read is refused before anything happens.
    write_key_file(&key_file, &both, 0o644);
    let open = sentra(&["keys", "rotate", "--database-url", url, "--key-file", &file]);
    assert_eq!(open.status.code(), Some(2), "{}", text(&open));
    assert!(text(&open).contains("chmod 600"), "{}", text(&open));

    write_key_file(&key_file, &both, 0o600);
    let run = sentra(&[
        "keys",
        "rotate",
        "--database-url",
        url,
        "--key-file",
        &file,
        "--batch",
        "1",
    ]);
    let out = text(&run);
    assert!(run.status.success(), "{out}");
    assert!(out.contains("rotating to key k2 in batches of 1"), "{out}");
    let progress: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("supplier_bank_account.ciphertext: org "))
        .collect();
    assert_eq!(progress.len(), 3, "{out}");
    assert!(
        progress[2].ends_with("re-encrypted 1 row(s) (3 so far)"),
        "{out}"
    );
    assert!(
        out.contains("supplier_bank_account.ciphertext: 3 re-encrypted, 0 failed, 0 not on key k2"),
        "{out}"
    );
    assert!(
        out.contains("done: 3 row(s) re-encrypted; every ciphertext is under key k2"),
        "{out}"
    );
    let ids: Vec<Vec<u8>> = rt
        .block_on(
            sqlx::query_scalar("select ciphertext from supplier_bank_account")
                .fetch_all(db.superuser()),
        )
        .unwrap();
    assert!(ids.iter().all(|ct| crypto::key_id_of(ct) == Some("k2")));

    // The same keyring from SENTRA_KEYS: nothing left to do.
    let again = Command::new(env!("CARGO_BIN_EXE_sentra"))
        .args(["keys", "rotate", "--database-url", url])
        .env_remove("SENTRA_KEY_FILE")
        .env("SENTRA_KEYS", both.replace('\n', ";"))
        .output()
        .unwrap();
    let out = text(&again);
    assert!(again.status.success(), "{out}");
    assert!(out.contains("done: 0 row(s) re-encrypted"), "{out}");
    assert!(!out.contains(": org "), "{out}");
}
