//! A plain-text dump of the database holds no canary account number, IBAN,
//! token or raw-MIME text, and no key (security bar G3.1).

use super::{
    CANARY_ACCOUNT, CANARY_GB_IBAN, CANARY_IBAN, add_account, canary, iban, keyring_text,
    new_supplier, value,
};
use crate::support;
use sentra_store::crypto::{Keyring, SecretString};
use sentra_store::repo::mail_credential;
use sentra_store::repo::message::{self, NewMessage};
use sentra_store::testing::TestDb;
use time::macros::datetime;
use uuid::Uuid;

/// `pg_dump` from the PATH or Debian's versioned directory, if installed.
fn pg_dump() -> Option<std::path::PathBuf> {
    let mut candidates = vec![std::path::PathBuf::from("/usr/bin/pg_dump")];
    if let Ok(dirs) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut versions: Vec<_> = dirs.filter_map(Result::ok).map(|d| d.path()).collect();
        versions.sort();
        candidates.extend(versions.into_iter().rev().map(|v| v.join("bin/pg_dump")));
    }
    candidates.into_iter().find(|p| p.exists())
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[tokio::test]
async fn a_plain_text_dump_contains_no_canary_account_iban_token_or_key() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let Some(pg_dump) = pg_dump() else {
        eprintln!("SKIPPED: pg_dump is not installed; dump canary test not run");
        return;
    };
    let pool = db.app_pool();
    let text = keyring_text();
    let keys = Keyring::parse(&text).unwrap();
    let token = format!("ya29.canary-token-{}", Uuid::new_v4().simple());
    let mime_canary = format!("CANARY-MIME-{}", Uuid::new_v4().simple());
    let (org, user) = support::org(pool, "A").await;
    let supplier = new_supplier(pool, org, user, "Apex").await;
    add_account(pool, &keys, org, user, supplier, &canary()).await;
    add_account(pool, &keys, org, user, supplier, &iban(CANARY_IBAN)).await;
    let mailbox = support::mailbox(pool, org, user).await;
    let mut tx = support::tx(pool, org, user).await;
    mail_credential::store(
        &mut tx,
        &keys,
        mailbox,
        Some("entra-tenant"),
        &SecretString::from(token.clone()),
        None,
    )
    .await
    .unwrap();
    let raw = format!(
        "Subject: Invoice\r\n\r\n{mime_canary}: pay sort code 20-29-59 account {CANARY_ACCOUNT}\r\n"
    );
    message::insert(
        &mut tx,
        &keys,
        &NewMessage {
            mailbox_id: mailbox,
            provider_message_id: "pm-canary".to_owned(),
            internet_message_id: None,
            received_at: datetime!(2026-03-02 09:15 UTC),
            from_address: Some("accounts@apex.example".to_owned()),
            from_domain: Some("apex.example".to_owned()),
            subject: Some("Invoice".to_owned()),
            raw_mime: Some(raw.into_bytes()),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let out = std::process::Command::new(&pg_dump)
        .args(["--data-only", "--no-password", "--dbname"])
        .arg(db.superuser_url())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pg_dump failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dump = String::from_utf8(out.stdout).unwrap();
    // The data is there (masked), so the absence below means something.
    assert!(dump.contains("COPY public.supplier_bank_account"), "{dump}");
    assert!(dump.contains("20-29-59 ****8472"));
    assert!(dump.contains("IBAN FR…****0189"));
    assert!(dump.contains("COPY public.mail_credential"));

    let mut canaries: Vec<String> = vec![
        CANARY_ACCOUNT.to_owned(),
        format!("202959{CANARY_ACCOUNT}"),
        CANARY_GB_IBAN.to_owned(),
        CANARY_IBAN.to_owned(),
        "1234567890189".to_owned(),
        token.clone(),
        mime_canary.clone(),
    ];
    // bytea columns are dumped as hex: plaintext stored by mistake in one
    // would show up like this.
    canaries.extend(
        [CANARY_ACCOUNT, CANARY_IBAN, &token, &mime_canary]
            .iter()
            .map(|c| hex(c.as_bytes())),
    );
    for name in ["k1", "bi", "sign"] {
        let v = value(&text, name);
        let b64 = v.rsplit(':').next().unwrap().to_owned();
        let bytes = <base64ct::Base64 as base64ct::Encoding>::decode_vec(&b64).unwrap();
        canaries.push(hex(&bytes));
        canaries.push(b64);
    }
    for canary in &canaries {
        assert!(
            !dump.to_lowercase().contains(&canary.to_lowercase()),
            "the dump contains a canary or key ({} chars)",
            canary.len()
        );
    }
}
