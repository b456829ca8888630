//! Ciphertexts moved by a superuser between rows, columns or organisations
//! fail to decrypt through the repositories (security bar G3.1).

use super::{CANARY_IBAN, add_account, canary, iban, is_decrypt_failure, new_supplier};
use crate::support;
use sentra_domain::{OrgId, UserId};
use sentra_store::crypto::{self, CryptoError, Keyring, SecretString};
use sentra_store::ids::{BankAccountId, MailboxId, MessageId};
use sentra_store::keys::{self, EncryptedColumn};
use sentra_store::repo::bank_account;
use sentra_store::repo::mail_credential;
use sentra_store::repo::message::{self, NewMessage};
use sentra_store::testing::TestDb;
use sentra_store::{AppPool, StoreError, TenantTx};
use time::macros::datetime;
use uuid::Uuid;

/// One organisation's encrypted rows: two bank accounts, a credential, two
/// messages with raw MIME.
struct Seeded {
    org: OrgId,
    user: UserId,
    accounts: [BankAccountId; 2],
    mailbox: MailboxId,
    credential: Uuid,
    messages: [MessageId; 2],
}

async fn seed_encrypted(pool: &AppPool, keys: &Keyring, name: &str) -> Seeded {
    let (org, user) = support::org(pool, name).await;
    let supplier = new_supplier(pool, org, user, "Apex").await;
    let mailbox = support::mailbox(pool, org, user).await;
    let accounts = [
        add_account(pool, keys, org, user, supplier, &canary()).await,
        add_account(pool, keys, org, user, supplier, &iban(CANARY_IBAN)).await,
    ];
    let mut tx = support::tx(pool, org, user).await;
    let credential = mail_credential::store(
        &mut tx,
        keys,
        mailbox,
        None,
        &SecretString::from(format!("token-{name}")),
        None,
    )
    .await
    .unwrap()
    .as_uuid();
    let mut messages = Vec::new();
    for n in 0..2 {
        let m = NewMessage {
            mailbox_id: mailbox,
            provider_message_id: format!("pm-{n}"),
            internet_message_id: None,
            received_at: datetime!(2026-03-02 09:15 UTC),
            from_address: None,
            from_domain: None,
            subject: None,
            raw_mime: Some(format!("Subject: {name} {n}\r\n\r\nbody").into_bytes()),
        };
        messages.push(message::insert(&mut tx, keys, &m).await.unwrap().id());
    }
    tx.commit().await.unwrap();
    Seeded {
        org,
        user,
        accounts,
        mailbox,
        credential,
        messages: [messages[0], messages[1]],
    }
}

/// Copies `from_table.from_col` of row `from` over `to_table.to_col` of row
/// `to`, as a superuser would, bypassing everything.
async fn transplant(
    db: &TestDb,
    from: (EncryptedColumn, Uuid),
    to: (EncryptedColumn, Uuid),
) -> Vec<u8> {
    let (src, src_id) = from;
    let (dst, dst_id) = to;
    let original: Vec<u8> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "select {} from {} where id = $1",
        dst.column, dst.table
    )))
    .bind(dst_id)
    .fetch_one(db.superuser())
    .await
    .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "update {dst_t} set {dst_c} = (select {src_c} from {src_t} where id = $1) where id = $2",
        dst_t = dst.table,
        dst_c = dst.column,
        src_t = src.table,
        src_c = src.column,
    )))
    .bind(src_id)
    .bind(dst_id)
    .execute(db.superuser())
    .await
    .unwrap();
    original
}

async fn restore(db: &TestDb, to: (EncryptedColumn, Uuid), original: Vec<u8>) {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "update {} set {} = $1 where id = $2",
        to.0.table, to.0.column
    )))
    .bind(original)
    .bind(to.1)
    .execute(db.superuser())
    .await
    .unwrap();
}

/// Reads the target row back through its repository as its organisation.
async fn read_back(
    pool: &AppPool,
    keys: &Keyring,
    owner: &Seeded,
    target: (EncryptedColumn, Uuid),
) -> Result<(), StoreError> {
    let mut tx = TenantTx::begin(pool, owner.org, Some(owner.user))
        .await
        .unwrap();
    match target.0.table {
        "supplier_bank_account" => {
            bank_account::reveal(&mut tx, keys, BankAccountId::from_uuid(target.1))
                .await
                .map(drop)
        }
        "mail_credential" => mail_credential::get(&mut tx, keys, owner.mailbox)
            .await
            .map(drop),
        "message" => message::raw_mime(&mut tx, keys, MessageId::from_uuid(target.1))
            .await
            .map(drop),
        other => panic!("no repository reads {other}"),
    }
}

#[tokio::test]
async fn ciphertexts_moved_between_rows_columns_or_organisations_do_not_decrypt() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let pool = db.app_pool();
    let keys = Keyring::generate_insecure_dev().unwrap();
    let a = seed_encrypted(pool, &keys, "A").await;
    let b = seed_encrypted(pool, &keys, "B").await;
    let (acct, cred, mime) = (
        keys::BANK_ACCOUNT,
        keys::MAIL_CREDENTIAL,
        keys::MESSAGE_RAW_MIME,
    );
    let a_acct = |i: usize| (acct, a.accounts[i].as_uuid());
    let a_mime = |i: usize| (mime, a.messages[i].as_uuid());
    let b_acct = (acct, b.accounts[0].as_uuid());
    let b_mime = (mime, b.messages[0].as_uuid());
    // (source, target, landing in): every move lands in a row of A.
    let moves = [
        // another row, same column and organisation
        ("row", a_acct(1), a_acct(0)),
        ("row", a_mime(1), a_mime(0)),
        // another column
        ("column", a_acct(0), (cred, a.credential)),
        ("column", (cred, a.credential), a_mime(0)),
        ("column", a_mime(0), a_acct(1)),
        // another organisation
        ("organisation", b_acct, a_acct(0)),
        ("organisation", (cred, b.credential), (cred, a.credential)),
        ("organisation", b_mime, a_mime(1)),
    ];
    // Everything reads before the moves.
    for (_, _, target) in moves {
        read_back(pool, &keys, &a, target).await.unwrap();
    }
    for (kind, source, target) in moves {
        let original = transplant(&db, source, target).await;
        let r = read_back(pool, &keys, &a, target).await;
        assert!(
            is_decrypt_failure(&r),
            "a ciphertext moved to another {kind} ({} -> {}) gave {r:?}",
            source.0.qualified,
            target.0.qualified
        );
        restore(&db, target, original).await;
        read_back(pool, &keys, &a, target).await.unwrap();
    }
    // A flipped bit anywhere is caught too.
    let target = a_acct(0);
    let original: Vec<u8> =
        sqlx::query_scalar("select ciphertext from supplier_bank_account where id = $1")
            .bind(target.1)
            .fetch_one(db.superuser())
            .await
            .unwrap();
    let mut flipped = original.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    restore(&db, target, flipped).await;
    assert!(is_decrypt_failure(
        &read_back(pool, &keys, &a, target).await
    ));
    restore(&db, target, original).await;

    // G3.1: 1,000 random swaps among every stored ciphertext of both
    // organisations, each checked against the place it was moved to.
    let mut cells: Vec<(EncryptedColumn, OrgId, Uuid, Vec<u8>)> = Vec::new();
    for column in [acct, cred, mime] {
        let rows: Vec<(Uuid, Uuid, Vec<u8>)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "select org_id, id, {} from {} where {} is not null",
            column.column, column.table, column.column
        )))
        .fetch_all(db.superuser())
        .await
        .unwrap();
        cells.extend(
            rows.into_iter()
                .map(|(org, id, ct)| (column, OrgId::from_uuid(org), id, ct)),
        );
    }
    assert_eq!(cells.len(), 10);
    for (column, org, id, ct) in &cells {
        crypto::decrypt(&keys, &column.context(*org, *id), ct).unwrap();
    }
    let mut rng = crate::audit::Rng::new(0x5eed_c0de);
    for _ in 0..1000 {
        let from = rng.range(0, cells.len() as i64 - 1) as usize;
        let mut to = rng.range(0, cells.len() as i64 - 2) as usize;
        if to >= from {
            to += 1;
        }
        let (_, _, _, ct) = &cells[from];
        let (column, org, id, _) = &cells[to];
        assert_eq!(
            crypto::decrypt(&keys, &column.context(*org, *id), ct),
            Err(CryptoError::Decrypt)
        );
    }
}
