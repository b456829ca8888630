//! Encrypted fields through the repositories (security bar G3.1, G3.3,
//! G2.4): bank accounts, mail credentials and raw MIME decrypt only in their
//! own row, column and organisation; a plain-text dump holds no canary and
//! no key; bank accounts are found by a per-organisation blind index without
//! decrypting; and every security-relevant change writes one audit event in
//! its own transaction.

mod dump;
mod swaps;

use crate::support;
use sentra_domain::bank::{BankAccount, Iban, SortCode, UkAccountNumber};
use sentra_domain::{OrgId, SupplierId, UserId};
use sentra_store::crypto::{self, CryptoError, ExposeSecret, Keyring, SecretString};
use sentra_store::ids::BankAccountId;
use sentra_store::repo::bank_account::{self, AccountStatus};
use sentra_store::repo::mail_credential;
use sentra_store::repo::supplier::{self, SupplierFields, SupplierStatus};
use sentra_store::testing::TestDb;
use sentra_store::{AppPool, StoreError};
use time::macros::datetime;
use uuid::Uuid;

/// The canary account: sort code 20-29-59, account 63748472.
const CANARY_ACCOUNT: &str = "63748472";
/// The same account as a GB IBAN.
const CANARY_GB_IBAN: &str = "GB04NWBK20295963748472";
/// A foreign IBAN canary.
const CANARY_IBAN: &str = "FR7630006000011234567890189";

fn uk(sort_code: &str, account: &str) -> BankAccount {
    BankAccount::Uk {
        sort_code: SortCode::parse(sort_code).unwrap(),
        account: UkAccountNumber::parse(account).unwrap(),
    }
}

fn iban(text: &str) -> BankAccount {
    BankAccount::Iban {
        iban: Iban::parse(text).unwrap(),
        bic: None,
    }
}

/// A fresh keyring in the file format (`current = "k1"`, `k1`, `bi`, `sign`).
fn keyring_text() -> String {
    crypto::generate_config().unwrap().to_string()
}

/// The value of entry `name` in keyring text, without its quotes.
fn value(text: &str, name: &str) -> String {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .find(|(n, _)| n.trim() == name)
        .map(|(_, v)| v.trim().trim_matches('"').to_owned())
        .unwrap()
}

fn canary() -> BankAccount {
    uk("20-29-59", CANARY_ACCOUNT)
}

async fn new_supplier(pool: &AppPool, org: OrgId, user: UserId, name: &str) -> SupplierId {
    let mut tx = support::tx(pool, org, user).await;
    let id = supplier::create(
        &mut tx,
        &SupplierFields {
            name: name.to_owned(),
            domains: vec![],
            country: Some("GB".to_owned()),
            status: SupplierStatus::Active,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id
}

async fn add_account(
    pool: &AppPool,
    keys: &Keyring,
    org: OrgId,
    user: UserId,
    supplier: SupplierId,
    account: &BankAccount,
) -> BankAccountId {
    let mut tx = support::tx(pool, org, user).await;
    let id = bank_account::add(
        &mut tx,
        keys,
        supplier,
        account,
        AccountStatus::Active,
        Some(user),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id
}

async fn audit_actions(db: &TestDb, org: OrgId) -> Vec<String> {
    sqlx::query_scalar("select action from audit_event where org_id = $1 order by seq")
        .bind(org.as_uuid())
        .fetch_all(db.superuser())
        .await
        .unwrap()
}

async fn count(db: &TestDb, sql: &str, org: OrgId) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .bind(org.as_uuid())
        .fetch_one(db.superuser())
        .await
        .unwrap()
}

fn is_decrypt_failure<T: std::fmt::Debug>(r: &Result<T, StoreError>) -> bool {
    matches!(
        r,
        Err(StoreError::Crypto {
            source: CryptoError::Decrypt,
            ..
        })
    )
}

#[tokio::test]
async fn bank_accounts_are_found_by_blind_index_without_decrypting_and_revealed_by_their_owner() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let pool = db.app_pool();
    let text = keyring_text();
    let keys = Keyring::parse(&text).unwrap();
    let (org, user) = support::org(pool, "A").await;
    let apex = new_supplier(pool, org, user, "Apex").await;
    let other = new_supplier(pool, org, user, "Other").await;
    let id = add_account(pool, &keys, org, user, apex, &canary()).await;

    let mut tx = support::tx(pool, org, user).await;
    // The GB IBAN form of the same account finds it too.
    for form in [canary(), iban(CANARY_GB_IBAN)] {
        assert_eq!(
            bank_account::find_by_account(&mut tx, &keys, &form)
                .await
                .unwrap(),
            vec![(apex, AccountStatus::Active)]
        );
    }
    assert!(
        bank_account::find_by_account(&mut tx, &keys, &uk("20-29-59", "63748473"))
            .await
            .unwrap()
            .is_empty()
    );
    // The lookup needs only the blind-index key: a keyring with the same
    // `bi` key and none of the data keys still finds the account, and
    // cannot decrypt it.
    let fresh = keyring_text();
    let bi_only = Keyring::parse(&format!(
        "current = k9\nk9 = {}\nbi = {}",
        value(&fresh, "k1"),
        value(&text, "bi")
    ))
    .unwrap();
    assert_eq!(
        bank_account::find_by_account(&mut tx, &bi_only, &canary())
            .await
            .unwrap(),
        vec![(apex, AccountStatus::Active)]
    );
    assert!(matches!(
        bank_account::reveal(&mut tx, &bi_only, id).await,
        Err(StoreError::Crypto {
            source: CryptoError::UnknownKey { .. },
            ..
        })
    ));
    assert_eq!(
        bank_account::reveal(&mut tx, &keys, id).await.unwrap(),
        canary()
    );
    let summary = bank_account::get(&mut tx, id).await.unwrap();
    assert_eq!(summary.masked, "20-29-59 ****8472");
    assert_eq!(summary.verified_by, Some(user));
    assert!(summary.verified_at.is_some());

    // The same live account twice for one supplier conflicts; for another
    // supplier it is allowed, and the lookup then shows both.
    let again = bank_account::add(
        &mut tx,
        &keys,
        apex,
        &iban(CANARY_GB_IBAN),
        AccountStatus::PendingApproval,
        None,
    )
    .await;
    assert!(
        matches!(again, Err(StoreError::Conflict { .. })),
        "{again:?}"
    );
    tx.rollback().await.unwrap();
    let mut tx = support::tx(pool, org, user).await;
    let second = bank_account::add(
        &mut tx,
        &keys,
        other,
        &iban(CANARY_GB_IBAN),
        AccountStatus::PendingApproval,
        None,
    )
    .await
    .unwrap();
    let mut found = bank_account::find_by_account(&mut tx, &keys, &canary())
        .await
        .unwrap();
    found.sort_by_key(|(s, _)| (*s != apex, s.as_uuid()));
    assert_eq!(
        found,
        vec![
            (apex, AccountStatus::Active),
            (other, AccountStatus::PendingApproval)
        ]
    );
    // The IBAN is revealed as the IBAN it was given as.
    assert_eq!(
        bank_account::reveal(&mut tx, &keys, second).await.unwrap(),
        iban(CANARY_GB_IBAN)
    );
    // An active account must record who verified it.
    let unverified = bank_account::add(
        &mut tx,
        &keys,
        other,
        &uk("11-22-33", "12345678"),
        AccountStatus::Active,
        None,
    )
    .await;
    assert!(
        matches!(unverified, Err(StoreError::Rejected { .. })),
        "{unverified:?}"
    );
}

#[tokio::test]
async fn the_same_account_gets_unrelated_blind_indexes_in_two_organisations() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let pool = db.app_pool();
    let keys = Keyring::generate_insecure_dev().unwrap();
    let (a, user_a) = support::org(pool, "A").await;
    let (b, user_b) = support::org(pool, "B").await;
    let supplier_a = new_supplier(pool, a, user_a, "Apex").await;
    let supplier_b = new_supplier(pool, b, user_b, "Apex").await;
    add_account(pool, &keys, a, user_a, supplier_a, &canary()).await;
    add_account(pool, &keys, b, user_b, supplier_b, &canary()).await;

    let rows: Vec<(Uuid, Vec<u8>, String)> = sqlx::query_as(
        "select org_id, blind_index, bi_key_id from supplier_bank_account order by org_id",
    )
    .fetch_all(db.superuser())
    .await
    .unwrap();
    assert_eq!(rows.len(), 2);
    assert_ne!(rows[0].1, rows[1].1, "same index in two organisations");
    assert_eq!(rows[0].1.len(), 16);
    assert_eq!(rows[0].2, keys.blind_index_key_id().as_str());
    // And each organisation's lookup sees only its own supplier.
    let mut tx = support::tx(pool, b, user_b).await;
    assert_eq!(
        bank_account::find_by_account(&mut tx, &keys, &canary())
            .await
            .unwrap(),
        vec![(supplier_b, AccountStatus::Active)]
    );
}

#[tokio::test]
async fn each_security_relevant_change_writes_one_audit_event_in_its_own_transaction() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let pool = db.app_pool();
    let keys = Keyring::generate_insecure_dev().unwrap();
    let (org, user) = support::org(pool, "A").await;
    let apex = new_supplier(pool, org, user, "Apex").await;
    let mailbox = support::mailbox(pool, org, user).await;
    let before = audit_actions(&db, org).await.len();

    // Rolled back: neither the row nor the event.
    let mut tx = support::tx(pool, org, user).await;
    bank_account::add(
        &mut tx,
        &keys,
        apex,
        &canary(),
        AccountStatus::PendingApproval,
        None,
    )
    .await
    .unwrap();
    let token = SecretString::from("rolled-back-token");
    mail_credential::store(&mut tx, &keys, mailbox, None, &token, None)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(audit_actions(&db, org).await.len(), before);
    let rows = "select (select count(*) from supplier_bank_account where org_id = $1)
                     + (select count(*) from mail_credential where org_id = $1)";
    assert_eq!(count(&db, rows, org).await, 0);

    // Committed: one event per change.
    let mut tx = support::tx(pool, org, user).await;
    let id = bank_account::add(
        &mut tx,
        &keys,
        apex,
        &canary(),
        AccountStatus::PendingApproval,
        None,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let mut tx = support::tx(pool, org, user).await;
    bank_account::approve(&mut tx, id, user).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = support::tx(pool, org, user).await;
    let twice = bank_account::approve(&mut tx, id, user).await;
    assert!(
        matches!(twice, Err(StoreError::InvalidTransition { .. })),
        "{twice:?}"
    );
    bank_account::retire(&mut tx, id).await.unwrap();
    let again = bank_account::retire(&mut tx, id).await;
    assert!(
        matches!(again, Err(StoreError::InvalidTransition { .. })),
        "{again:?}"
    );
    tx.commit().await.unwrap();

    let mut tx = support::tx(pool, org, user).await;
    let first = mail_credential::store(
        &mut tx,
        &keys,
        mailbox,
        Some("tenant-1"),
        &SecretString::from("token-one"),
        None,
    )
    .await
    .unwrap();
    let replaced = mail_credential::store(
        &mut tx,
        &keys,
        mailbox,
        Some("tenant-1"),
        &SecretString::from("token-two"),
        Some(datetime!(2030-01-01 00:00 UTC)),
    )
    .await
    .unwrap();
    assert_eq!(first, replaced, "storing again replaces in place");
    let got = mail_credential::get(&mut tx, &keys, mailbox)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.secret.expose_secret(), "token-two");
    assert!(!format!("{got:?}").contains("token-two"));
    assert!(mail_credential::delete(&mut tx, mailbox).await.unwrap());
    assert!(!mail_credential::delete(&mut tx, mailbox).await.unwrap());
    assert!(
        mail_credential::get(&mut tx, &keys, mailbox)
            .await
            .unwrap()
            .is_none()
    );
    tx.commit().await.unwrap();

    let actions = audit_actions(&db, org).await;
    assert_eq!(
        actions[before..],
        [
            "supplier.bank_account.add",
            "supplier.bank_account.approve",
            "supplier.bank_account.retire",
            "mailbox.credential.store",
            "mailbox.credential.store",
            "mailbox.credential.delete",
        ]
    );
    // Events name the masked account, never the account or the token.
    let details: Vec<String> =
        sqlx::query_scalar("select details::text from audit_event where org_id = $1")
            .bind(org.as_uuid())
            .fetch_all(db.superuser())
            .await
            .unwrap();
    let all = details.concat();
    assert!(all.contains("****8472"), "{all}");
    for secret in [CANARY_ACCOUNT, "token-one", "token-two"] {
        assert!(!all.contains(secret), "{secret} in audit details");
    }
    // Another organisation's supplier or mailbox is simply not found.
    let (b, user_b) = support::org(pool, "B").await;
    let mut tx = support::tx(pool, b, user_b).await;
    let foreign = bank_account::add(
        &mut tx,
        &keys,
        apex,
        &canary(),
        AccountStatus::PendingApproval,
        None,
    )
    .await;
    assert!(
        matches!(foreign, Err(StoreError::NotFound { .. })),
        "{foreign:?}"
    );
    let mut tx = support::tx(pool, b, user_b).await;
    let foreign = mail_credential::store(&mut tx, &keys, mailbox, None, &token, None).await;
    assert!(
        matches!(foreign, Err(StoreError::NotFound { .. })),
        "{foreign:?}"
    );
}
