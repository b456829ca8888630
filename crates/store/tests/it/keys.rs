//! Key rotation (security bar G3.2) and the keyring's other uses: every
//! encrypted column moves to the new key in small batches while the service
//! keeps reading, a second run does nothing, rows that do not decrypt are
//! reported and left alone, and the keyring's `sign` key signs checkpoints.

use crate::support;
use sentra_domain::bank::{BankAccount, SortCode, UkAccountNumber};
use sentra_domain::{OrgId, SupplierId, UserId};
use sentra_store::audit::{self, verify, verify_note};
use sentra_store::crypto::{self, CryptoError, ExposeSecret, Keyring, SecretString};
use sentra_store::ids::{BankAccountId, MailboxId, MessageId};
use sentra_store::keys::{self, ENCRYPTED_COLUMNS, EncryptedColumn, GLOBAL_ORG, Progress, Scope};
use sentra_store::repo::bank_account::{self, AccountStatus};
use sentra_store::repo::mail_credential;
use sentra_store::repo::message::{self, NewMessage};
use sentra_store::repo::supplier::{self, SupplierFields, SupplierStatus};
use sentra_store::testing::TestDb;
use sentra_store::{AppPool, StoreError, TenantTx};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use time::macros::datetime;
use uuid::Uuid;

/// Keyring texts sharing one blind-index key: the old key only, both keys
/// with the new one current, and the new key only.
struct Texts {
    old: String,
    both: String,
    new: String,
}

fn value(text: &str, name: &str) -> String {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .find(|(n, _)| n.trim() == name)
        .map(|(_, v)| v.trim().trim_matches('"').to_owned())
        .unwrap()
}

fn texts() -> Texts {
    let one = crypto::generate_config().unwrap().to_string();
    let two = crypto::generate_config().unwrap().to_string();
    let (k1, k2, bi) = (value(&one, "k1"), value(&two, "k1"), value(&one, "bi"));
    Texts {
        old: format!("current = k1\nk1 = {k1}\nbi = {bi}"),
        both: format!("current = k2\nk1 = {k1}\nk2 = {k2}\nbi = {bi}"),
        new: format!("current = k2\nk2 = {k2}\nbi = {bi}"),
    }
}

/// One organisation's rows in every encrypted column.
struct Seeded {
    org: OrgId,
    user: UserId,
    accounts: Vec<BankAccountId>,
    mailbox: MailboxId,
    messages: Vec<MessageId>,
    /// Rows without a repository yet, written as a superuser:
    /// (column, org the ciphertext is bound to, row).
    raw_rows: Vec<(EncryptedColumn, OrgId, Uuid)>,
}

/// The plaintext every superuser-written row holds.
const PLAIN: &[u8] = b"secret-value";

async fn seed(db: &TestDb, keys: &Keyring, name: &str) -> Seeded {
    let pool = db.app_pool();
    let (org, user) = support::org(pool, name).await;
    let mailbox = support::mailbox(pool, org, user).await;
    let mut tx = support::tx(pool, org, user).await;
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
    let mut accounts = Vec::new();
    for n in 0..3 {
        let account = BankAccount::Uk {
            sort_code: SortCode::parse("20-29-59").unwrap(),
            account: UkAccountNumber::parse(&format!("6374847{n}")).unwrap(),
        };
        accounts.push(
            bank_account::add(
                &mut tx,
                keys,
                supplier,
                &account,
                AccountStatus::Active,
                Some(user),
            )
            .await
            .unwrap(),
        );
    }
    mail_credential::store(
        &mut tx,
        keys,
        mailbox,
        None,
        &SecretString::from(format!("token-{name}")),
        None,
    )
    .await
    .unwrap();
    let mut messages = Vec::new();
    for n in 0..4 {
        let m = NewMessage {
            mailbox_id: mailbox,
            provider_message_id: format!("pm-{n}"),
            internet_message_id: None,
            received_at: datetime!(2026-03-02 09:15 UTC),
            from_address: None,
            from_domain: None,
            subject: None,
            // one message keeps no raw MIME: nothing to rotate there
            raw_mime: (n != 3).then(|| format!("raw {name} {n}").into_bytes()),
        };
        messages.push(message::insert(&mut tx, keys, &m).await.unwrap().id());
    }
    tx.commit().await.unwrap();
    let raw_rows = seed_without_repositories(db, keys, org, user, supplier).await;
    Seeded {
        org,
        user,
        accounts,
        mailbox,
        messages,
        raw_rows,
    }
}

/// Supplier changes, alert channels and TOTP secrets have no repository yet;
/// their ciphertexts are made with the column registry's contexts.
async fn seed_without_repositories(
    db: &TestDb,
    keys: &Keyring,
    org: OrgId,
    user: UserId,
    supplier: SupplierId,
) -> Vec<(EncryptedColumn, OrgId, Uuid)> {
    let su = db.superuser();
    let change = Uuid::new_v4();
    let channel = Uuid::new_v4();
    let enc = |column: EncryptedColumn, org: OrgId, row: Uuid| {
        crypto::encrypt(keys, &column.context(org, row), PLAIN).unwrap()
    };
    sqlx::query(
        "insert into supplier_change (org_id, id, supplier_id, kind, proposed, proposed_enc, proposed_by)
         values ($1, $2, $3, 'bank_account', '{}', $4, $5)",
    )
    .bind(org.as_uuid())
    .bind(change)
    .bind(supplier.as_uuid())
    .bind(enc(keys::SUPPLIER_CHANGE, org, change))
    .bind(user.as_uuid())
    .execute(su)
    .await
    .unwrap();
    sqlx::query(
        "insert into alert_channel (org_id, id, kind, name, target_enc)
         values ($1, $2, 'slack', 'Ops', $3)",
    )
    .bind(org.as_uuid())
    .bind(channel)
    .bind(enc(keys::ALERT_CHANNEL_TARGET, org, channel))
    .execute(su)
    .await
    .unwrap();
    sqlx::query("update app_user set totp_secret_enc = $2, totp_pending_enc = $3 where id = $1")
        .bind(user.as_uuid())
        .bind(enc(keys::USER_TOTP, GLOBAL_ORG, user.as_uuid()))
        .bind(enc(keys::USER_TOTP_PENDING, GLOBAL_ORG, user.as_uuid()))
        .execute(su)
        .await
        .unwrap();
    vec![
        (keys::SUPPLIER_CHANGE, org, change),
        (keys::ALERT_CHANNEL_TARGET, org, channel),
        (keys::USER_TOTP, GLOBAL_ORG, user.as_uuid()),
        (keys::USER_TOTP_PENDING, GLOBAL_ORG, user.as_uuid()),
    ]
}

/// Reads every encrypted value of `s` through the repositories (and the
/// registry's contexts for the rest) with `keys`.
async fn read_all(db: &TestDb, keys: &Keyring, s: &Seeded) -> Result<(), StoreError> {
    read_through_repositories(db.app_pool(), keys, s).await?;
    for (column, org, row) in &s.raw_rows {
        let ct: Vec<u8> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "select {} from {} where id = $1",
            column.column, column.table
        )))
        .bind(row)
        .fetch_one(db.superuser())
        .await
        .unwrap();
        let plain = crypto::decrypt(keys, &column.context(*org, *row), &ct).map_err(|source| {
            StoreError::Crypto {
                what: column.qualified,
                source,
            }
        })?;
        assert_eq!(plain.as_slice(), PLAIN);
    }
    Ok(())
}

async fn read_through_repositories(
    pool: &AppPool,
    keys: &Keyring,
    s: &Seeded,
) -> Result<(), StoreError> {
    let mut tx = TenantTx::begin(pool, s.org, Some(s.user)).await?;
    for id in &s.accounts {
        bank_account::reveal(&mut tx, keys, *id).await?;
    }
    let credential = mail_credential::get(&mut tx, keys, s.mailbox)
        .await?
        .unwrap();
    assert!(credential.secret.expose_secret().starts_with("token-"));
    for id in &s.messages {
        message::raw_mime(&mut tx, keys, *id).await?;
    }
    tx.commit().await
}

/// Every stored ciphertext's key id, across every encrypted column.
async fn key_ids(db: &TestDb) -> Vec<String> {
    let mut ids = Vec::new();
    for column in ENCRYPTED_COLUMNS {
        let cts: Vec<Vec<u8>> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "select {c} from {t} where {c} is not null",
            c = column.column,
            t = column.table
        )))
        .fetch_all(db.superuser())
        .await
        .unwrap();
        ids.extend(
            cts.iter()
                .map(|ct| crypto::key_id_of(ct).unwrap_or("?").to_owned()),
        );
    }
    ids
}

async fn rotate_events(db: &TestDb) -> i64 {
    sqlx::query_scalar("select count(*) from audit_event where action = 'keys.rotate'")
        .fetch_one(db.superuser())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_moves_every_ciphertext_to_the_new_key_while_the_service_keeps_reading() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let t = texts();
    let old = Keyring::parse(&t.old).unwrap();
    let both = Keyring::parse(&t.both).unwrap();
    let new = Keyring::parse(&t.new).unwrap();
    let a = seed(&db, &old, "A").await;
    let b = seed(&db, &old, "B").await;
    // per org: 3 accounts, 1 credential, 3 raw MIME, 1 change, 1 channel,
    // 1 TOTP secret and 1 pending TOTP secret
    let total = 2 * 11;
    let before = key_ids(&db).await;
    assert_eq!(before.len(), total);
    assert!(before.iter().all(|k| k == "k1"));
    assert!(read_all(&db, &new, &a).await.is_err());

    // The service keeps reading (with both keys) throughout.
    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicU64::new(0));
    let reader = {
        let (stop, reads, pool) = (stop.clone(), reads.clone(), db.app_pool().clone());
        let keys = Keyring::parse(&t.both).unwrap();
        let a = Seeded {
            raw_rows: vec![],
            accounts: a.accounts.clone(),
            messages: a.messages.clone(),
            ..a
        };
        tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                read_through_repositories(&pool, &keys, &a).await?;
                reads.fetch_add(1, Ordering::SeqCst);
            }
            Ok::<_, StoreError>(())
        })
    };
    let owner = db.owner_pool(2).await.unwrap();
    let mut progress: Vec<Progress> = Vec::new();
    let report = keys::rotate(&owner, &both, 2, |p| progress.push(p.clone()))
        .await
        .unwrap();
    stop.store(true, Ordering::SeqCst);
    reader.await.unwrap().unwrap();
    assert!(reads.load(Ordering::SeqCst) > 0);

    assert_eq!(report.key_id.as_str(), "k2");
    assert_eq!(report.rotated(), total as u64);
    assert!(report.is_complete(), "{report:#?}");
    assert!(report.failures.is_empty());
    let per_column: Vec<(&str, u64)> = report
        .columns
        .iter()
        .map(|c| (c.column.qualified, c.rotated))
        .collect();
    assert_eq!(
        per_column,
        [
            ("supplier_bank_account.ciphertext", 6),
            ("supplier_change.proposed_enc", 2),
            ("mail_credential.secret_enc", 2),
            ("message.raw_mime", 6),
            ("alert_channel.target_enc", 2),
            ("app_user.totp_secret_enc", 2),
            ("app_user.totp_pending_enc", 2),
        ]
    );
    // Batches of at most 2, reported as they commit.
    assert!(progress.iter().all(|p| p.rotated <= 2 && p.failed == 0));
    assert_eq!(
        progress.iter().map(|p| p.rotated).sum::<u64>(),
        total as u64
    );
    assert!(progress.len() >= 12, "{}", progress.len());
    let accounts_a: Vec<u64> = progress
        .iter()
        .filter(|p| p.column == keys::BANK_ACCOUNT && p.org == Some(a.org))
        .map(|p| p.rotated)
        .collect();
    assert_eq!(accounts_a, [2, 1]);
    assert!(
        progress
            .iter()
            .filter(|p| p.column.scope == Scope::Global)
            .all(|p| p.org.is_none())
    );

    // Everything is on k2 and readable with k2 alone.
    assert!(key_ids(&db).await.iter().all(|k| k == "k2"));
    for s in [&a, &b] {
        read_all(&db, &new, s).await.unwrap();
    }
    assert_eq!(
        keys::not_on_current_key(&owner, &new).await.unwrap(),
        vec![0; ENCRYPTED_COLUMNS.len()]
    );
    // Each tenant batch is in its organisation's chain, which still verifies.
    let events = rotate_events(&db).await;
    assert!(events >= 10, "{events}");
    assert!(
        verify(&owner, None)
            .await
            .unwrap()
            .iter()
            .all(audit::VerifyReport::is_ok)
    );

    // Idempotent: a second run finds nothing, reports nothing, records nothing.
    let mut calls = 0;
    let again = keys::rotate(&owner, &both, 2, |_| calls += 1)
        .await
        .unwrap();
    assert_eq!((again.rotated(), again.remaining(), calls), (0, 0, 0));
    assert_eq!(rotate_events(&db).await, events);
}

#[tokio::test]
async fn a_row_that_does_not_decrypt_is_reported_and_left_alone() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let t = texts();
    let old = Keyring::parse(&t.old).unwrap();
    let both = Keyring::parse(&t.both).unwrap();
    let new = Keyring::parse(&t.new).unwrap();
    let a = seed(&db, &old, "A").await;
    let moved = a.accounts[1].as_uuid();
    sqlx::query(
        "update supplier_bank_account set ciphertext =
           (select ciphertext from supplier_bank_account where id = $1) where id = $2",
    )
    .bind(a.accounts[0].as_uuid())
    .bind(moved)
    .execute(db.superuser())
    .await
    .unwrap();
    let owner = db.owner_pool(1).await.unwrap();

    // Without the old key nothing can be rotated, and nothing is overwritten.
    let blind = keys::rotate(&owner, &new, 100, |_| {}).await.unwrap();
    assert_eq!((blind.rotated(), blind.remaining()), (0, 11));
    assert!(
        blind
            .failures
            .iter()
            .all(|f| matches!(&f.error, CryptoError::UnknownKey { key_id } if key_id == "k1"))
    );
    assert!(key_ids(&db).await.iter().all(|k| k == "k1"));

    for _ in 0..2 {
        let report = keys::rotate(&owner, &both, 100, |_| {}).await.unwrap();
        assert_eq!(report.remaining(), 1);
        assert!(!report.is_complete());
        assert_eq!(report.failures.len(), 1);
        let f = &report.failures[0];
        assert_eq!(
            (f.column, f.org, f.row, &f.error),
            (
                keys::BANK_ACCOUNT,
                Some(a.org),
                moved,
                &CryptoError::Decrypt
            )
        );
        assert_eq!(report.columns[0].failed, 1);
    }
    let ids = key_ids(&db).await;
    assert_eq!(ids.iter().filter(|k| *k == "k1").count(), 1);
    assert!(ids.iter().filter(|k| *k != "k1").all(|k| k == "k2"));

    assert!(matches!(
        keys::rotate(&owner, &both, 0, |_| {}).await,
        Err(StoreError::Config { .. })
    ));
}

#[tokio::test]
async fn every_encrypted_column_in_the_schema_is_in_the_rotation_list() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    // Every bytea column is a ciphertext except the blind index, digests
    // (the audit chain's hashes, `*_hash`, `*_sha256` content fingerprints)
    // and sqlx's migration checksums.
    let mut in_schema: Vec<String> = sqlx::query_scalar(
        "select table_name || '.' || column_name from information_schema.columns
         where table_schema = 'public' and data_type = 'bytea'
           and column_name not in ('blind_index', 'prev_hash', 'hash')
           and column_name not like '%\\_hash' and column_name not like '%\\_sha256'
           and table_name <> '_sqlx_migrations'",
    )
    .fetch_all(db.superuser())
    .await
    .unwrap();
    in_schema.sort();
    let mut listed: Vec<String> = ENCRYPTED_COLUMNS
        .iter()
        .map(|c| c.qualified.to_owned())
        .collect();
    listed.sort();
    assert_eq!(in_schema, listed);
    // and the scope matches whether the table has org_id
    for column in ENCRYPTED_COLUMNS {
        let tenant: bool = sqlx::query_scalar(
            "select exists (select 1 from information_schema.columns
                            where table_schema = 'public' and table_name = $1
                              and column_name = 'org_id')",
        )
        .bind(column.table)
        .fetch_one(db.superuser())
        .await
        .unwrap();
        assert_eq!(
            tenant,
            column.scope == Scope::Tenant,
            "{}",
            column.qualified
        );
    }
}

#[tokio::test]
async fn the_keyrings_sign_key_signs_checkpoints_that_verify_with_its_public_key() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let keys = Keyring::generate_insecure_dev().unwrap();
    let (org, user) = support::org(db.app_pool(), "A").await;
    let mut tx = support::tx(db.app_pool(), org, user).await;
    audit::append(&mut tx, audit::NewEvent::new("user", "test.event"))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let owner = db.owner_pool(1).await.unwrap();
    let note = audit::checkpoint_with_keyring(&owner, &keys).await.unwrap();
    let public = crypto::checkpoint_public_key(&keys).unwrap().to_bytes();
    let body = verify_note(&public, &note).unwrap();
    assert!(body.contains(&format!("org {org} 1 ")), "{body}");
    // A keyring without a `sign` entry cannot sign.
    let text = crypto::generate_config().unwrap().to_string();
    let unsigned: String = text
        .lines()
        .filter(|l| !l.starts_with("sign"))
        .collect::<Vec<_>>()
        .join("\n");
    let unsigned = Keyring::parse(&unsigned).unwrap();
    assert!(matches!(
        audit::checkpoint_with_keyring(&owner, &unsigned).await,
        Err(StoreError::Checkpoint { .. })
    ));
}
