//! Field encryption: round trips, binding to the field's place, tampering,
//! unknown keys, rotation and nonce uniqueness.

use super::*;
use crate::crypto::keyring::testing::keyring;
use std::collections::HashSet;

/// A deterministic generator (`SplitMix64`), so a failing swap can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn uuid(&mut self) -> Uuid {
        Uuid::from_u64_pair(self.next(), self.next())
    }
}

fn ctx() -> FieldContext {
    FieldContext::new(
        "supplier_bank_accounts",
        "account_enc",
        OrgId::from_uuid(Uuid::from_u128(1)),
        Uuid::from_u128(2),
    )
}

#[test]
fn round_trips_plaintext_of_any_length() {
    let keys = keyring("k1", &[("k1", 1)]);
    for len in [0, 1, 15, 16, 17, 64, 1000] {
        let plaintext: Vec<u8> = (0..len).map(|i| i as u8).collect();
        let ct = encrypt(&keys, &ctx(), &plaintext).unwrap();
        assert_eq!(ct.len(), 3 + 2 + 1 + 24 + len + 16);
        assert_eq!(*decrypt(&keys, &ctx(), &ct).unwrap(), plaintext);
    }
}

#[test]
fn ciphertext_starts_with_version_and_key_id_and_hides_the_plaintext() {
    let keys = keyring("k1", &[("k1", 1)]);
    let ct = encrypt(&keys, &ctx(), b"20-29-59 63748472").unwrap();
    assert!(ct.starts_with(b"v1.k1."));
    assert_eq!(key_id_of(&ct), Some("k1"));
    assert!(!ct.windows(8).any(|w| w == b"63748472"));
}

#[test]
fn associated_data_names_table_column_org_and_row() {
    let aad = String::from_utf8(ctx().associated_data()).unwrap();
    assert_eq!(
        aad,
        "sentra:v1:supplier_bank_accounts:account_enc:\
         00000000-0000-0000-0000-000000000001:00000000-0000-0000-0000-000000000002"
    );
}

#[test]
fn ciphertext_moved_to_another_row_column_table_or_org_fails() {
    let keys = keyring("k1", &[("k1", 1)]);
    let base = ctx();
    let ct = encrypt(&keys, &base, b"63748472").unwrap();
    let moved = [
        FieldContext {
            row: Uuid::from_u128(3),
            ..base
        },
        FieldContext {
            column: "iban_enc",
            ..base
        },
        FieldContext {
            table: "suppliers",
            ..base
        },
        FieldContext {
            org: OrgId::from_uuid(Uuid::from_u128(9)),
            ..base
        },
    ];
    for place in moved {
        assert_eq!(
            decrypt(&keys, &place, &ct).unwrap_err(),
            CryptoError::Decrypt
        );
    }
}

#[test]
fn a_thousand_random_swaps_across_rows_columns_tables_and_orgs_all_fail() {
    // Arrange: the same plaintext everywhere, so only the binding can tell them apart.
    let keys = keyring("k1", &[("k1", 1)]);
    let mut rng = Rng(0x5E17_4A00);
    let orgs: Vec<OrgId> = (0..4).map(|_| OrgId::from_uuid(rng.uuid())).collect();
    let places = [
        ("supplier_bank_accounts", "account_enc"),
        ("supplier_bank_accounts", "iban_enc"),
        ("mailboxes", "refresh_token_enc"),
        ("users", "totp_secret_enc"),
    ];
    let mut cells = Vec::new();
    for &org in &orgs {
        for &(table, column) in &places {
            for _ in 0..8 {
                let ctx = FieldContext::new(table, column, org, rng.uuid());
                cells.push((
                    ctx,
                    encrypt(&keys, &ctx, b"GB29NWBK60161331926819").unwrap(),
                ));
            }
        }
    }
    // Act and assert.
    let mut swaps = 0;
    while swaps < 1000 {
        let (from, to) = (rng.below(cells.len()), rng.below(cells.len()));
        if from == to {
            continue;
        }
        let result = decrypt(&keys, &cells[to].0, &cells[from].1);
        assert_eq!(
            result.unwrap_err(),
            CryptoError::Decrypt,
            "swap {from} -> {to}"
        );
        swaps += 1;
    }
    for (ctx, ct) in &cells {
        assert!(decrypt(&keys, ctx, ct).is_ok());
    }
}

#[test]
fn any_tampered_byte_fails_to_decrypt() {
    let keys = keyring("k1", &[("k1", 1)]);
    let ct = encrypt(&keys, &ctx(), b"63748472").unwrap();
    // From the byte after the key id's dot: nonce, ciphertext and tag.
    for i in 6..ct.len() {
        let mut bad = ct.clone();
        bad[i] ^= 0x01;
        assert_eq!(
            decrypt(&keys, &ctx(), &bad).unwrap_err(),
            CryptoError::Decrypt,
            "byte {i}"
        );
    }
    let truncated = &ct[..ct.len() - 1];
    assert!(decrypt(&keys, &ctx(), truncated).is_err());
}

#[test]
fn a_key_id_changed_to_another_held_key_fails_to_decrypt() {
    let keys = keyring("k1", &[("k1", 1), ("k2", 2)]);
    let mut ct = encrypt(&keys, &ctx(), b"63748472").unwrap();
    ct[4] = b'2';
    assert_eq!(
        decrypt(&keys, &ctx(), &ct).unwrap_err(),
        CryptoError::Decrypt
    );
}

#[test]
fn unknown_key_id_fails_clearly_naming_the_key() {
    let old = keyring("k7", &[("k7", 7)]);
    let ct = encrypt(&old, &ctx(), b"63748472").unwrap();
    let keys = keyring("k1", &[("k1", 1)]);
    let err = decrypt(&keys, &ctx(), &ct).unwrap_err();
    assert_eq!(
        err,
        CryptoError::UnknownKey {
            key_id: "k7".to_owned()
        }
    );
    assert_eq!(
        err.to_string(),
        "cannot decrypt: key k7 is not in the keyring"
    );
}

#[test]
fn garbage_is_malformed_and_errors_never_contain_plaintext() {
    let keys = keyring("k1", &[("k1", 1)]);
    let too_short = [b"v1.k1.".as_slice(), &[0; 39]].concat();
    let long_id = [b"v1.abcdefghijklmnopq.".as_slice(), &[0; 40]].concat();
    for bad in [
        b"".as_slice(),
        b"v1.",
        b"v2.k1.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        b"v1.K1.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        &too_short,
        &long_id,
        b"63748472",
    ] {
        let err = decrypt(&keys, &ctx(), bad).unwrap_err();
        assert_eq!(err, CryptoError::Malformed);
        assert_eq!(key_id_of(bad), None);
        assert!(!err.to_string().contains("63748472"));
    }
    let wrong_place = encrypt(&keys, &ctx(), b"63748472").unwrap();
    let err = decrypt(
        &keys,
        &FieldContext {
            column: "x",
            ..ctx()
        },
        &wrong_place,
    );
    assert_eq!(err.unwrap_err().to_string(), "cannot decrypt");
}

#[test]
fn rotation_reencrypts_old_rows_under_the_new_key_so_the_old_key_can_go() {
    // Arrange: rows written under k1.
    let before = keyring("k1", &[("k1", 1)]);
    let rows: Vec<(FieldContext, Vec<u8>)> = (0..20u128)
        .map(|i| {
            let ctx = FieldContext {
                row: Uuid::from_u128(100 + i),
                ..ctx()
            };
            (
                ctx,
                encrypt(&before, &ctx, format!("secret {i}").as_bytes()).unwrap(),
            )
        })
        .collect();
    // Act: k2 becomes current; k1 stays readable.
    let during = keyring("k2", &[("k1", 1), ("k2", 2)]);
    let after = keyring("k2", &[("k2", 2)]);
    for (i, (ctx, old)) in rows.iter().enumerate() {
        assert!(!needs_reencrypt(&before, old));
        assert!(needs_reencrypt(&during, old));
        let new = reencrypt(&during, ctx, old).unwrap();
        // Assert: new key id, readable once k1 is gone, still bound to its place.
        assert_eq!(key_id_of(&new), Some("k2"));
        assert!(!needs_reencrypt(&during, &new));
        assert_eq!(
            *decrypt(&after, ctx, &new).unwrap(),
            format!("secret {i}").into_bytes()
        );
        assert!(decrypt(&after, ctx, old).is_err());
        let elsewhere = FieldContext {
            row: Uuid::from_u128(1),
            ..*ctx
        };
        assert_eq!(
            decrypt(&after, &elsewhere, &new).unwrap_err(),
            CryptoError::Decrypt
        );
    }
}

#[test]
fn malformed_bytes_need_reencrypt_and_reencrypt_reports_them() {
    let keys = keyring("k1", &[("k1", 1)]);
    assert!(needs_reencrypt(&keys, b"plain text left over"));
    assert_eq!(
        reencrypt(&keys, &ctx(), b"plain text left over").unwrap_err(),
        CryptoError::Malformed
    );
}

#[test]
fn nonces_are_unique_over_a_hundred_thousand_encryptions() {
    let keys = keyring("k1", &[("k1", 1)]);
    let mut seen = HashSet::with_capacity(100_000);
    for _ in 0..100_000 {
        let ct = encrypt(&keys, &ctx(), b"").unwrap();
        let nonce: [u8; 24] = ct[6..30].try_into().unwrap();
        assert!(seen.insert(nonce), "nonce repeated");
    }
}
