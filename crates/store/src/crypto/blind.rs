//! Blind indexes: keyed hashes that let the store find an encrypted bank
//! account by equality ("has this account been seen for another supplier in
//! this org?") without decrypting every row.
//!
//! `index = HMAC-SHA-256(k_org_purpose, normalised)[..16]`, where
//! `k_org_purpose = HMAC-SHA-256(bi_root, "sentra-bi:v1:" || purpose || ":" || org_id)`.
//! The key is per org, so the same account in two tenants gives unrelated
//! indexes and a dump cannot correlate tenants; per purpose, so an index built
//! for one field cannot be matched against another. The root key lives only in
//! the keyring: bank-account inputs have about 10^14 possible values, which an
//! attacker holding the key could enumerate. Truncation to 128 bits keeps the
//! column small while false positives stay negligible; callers still confirm a
//! match by decrypting.

use super::keyring::{KeyId, Keyring};
use hmac::{Hmac, KeyInit, Mac};
use sentra_domain::OrgId;
use sentra_domain::bank::BankAccount;
use sha2::Sha256;
use std::fmt;
use zeroize::Zeroizing;

/// The purpose string for bank-account indexes.
pub const BANK_ACCOUNT: &str = "bank_account";

/// Bytes kept from the HMAC output.
pub const INDEX_LEN: usize = 16;

/// A blind index value with the id of the root key that produced it; store
/// both, so rotating the root key can find the rows still on the old one.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct BlindIndex {
    key_id: KeyId,
    value: [u8; INDEX_LEN],
}

impl BlindIndex {
    /// Rebuilds an index read back from the database.
    pub const fn from_parts(key_id: KeyId, value: [u8; INDEX_LEN]) -> Self {
        Self { key_id, value }
    }

    /// The blind-index root key id (store in `bi_key_id`).
    pub fn key_id(&self) -> &KeyId {
        &self.key_id
    }

    /// The 16 index bytes (store in a `bytea` column, unique per org).
    pub fn as_bytes(&self) -> &[u8; INDEX_LEN] {
        &self.value
    }
}

impl fmt::Debug for BlindIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlindIndex({}:", self.key_id)?;
        self.value.iter().try_for_each(|b| write!(f, "{b:02x}"))?;
        f.write_str(")")
    }
}

/// The blind index of `normalised` for `purpose` in `org`.
///
/// `normalised` must already be in canonical form (for bank accounts,
/// [`BankAccount::canonical_key`]; see [`bank_account_index`]): two spellings
/// of one value must reach this function as the same string.
pub fn blind_index(keys: &Keyring, org: OrgId, purpose: &str, normalised: &str) -> BlindIndex {
    let (key_id, root) = keys.blind_key();
    // The org id is a fixed-length UUID at the end, so purpose strings cannot
    // collide with each other even if one contains `:`.
    let label = format!("sentra-bi:v1:{purpose}:{org}");
    let derived = Zeroizing::new(hmac_sha256(root, label.as_bytes()));
    let full = hmac_sha256(derived.as_slice(), normalised.as_bytes());
    let mut value = [0u8; INDEX_LEN];
    value.iter_mut().zip(full).for_each(|(v, f)| *v = f);
    BlindIndex {
        key_id: key_id.clone(),
        value,
    }
}

/// The blind index of a bank account, over its canonical key, so a GB IBAN
/// and the sort code and account inside it give the same index.
pub fn bank_account_index(keys: &Keyring, org: OrgId, account: &BankAccount) -> BlindIndex {
    blind_index(keys, org, BANK_ACCOUNT, &account.canonical_key())
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length, so this never falls back.
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(key) else {
        return [0; 32];
    };
    mac.update(message);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::keyring::testing::keyring;
    use sentra_domain::bank::{Iban, SortCode, UkAccountNumber};
    use std::fmt::Write as _;
    use uuid::Uuid;

    fn org(n: u128) -> OrgId {
        OrgId::from_uuid(Uuid::from_u128(n))
    }

    fn uk(sort_code: &str, account: &str) -> BankAccount {
        BankAccount::Uk {
            sort_code: SortCode::parse(sort_code).unwrap(),
            account: UkAccountNumber::parse(account).unwrap(),
        }
    }

    #[test]
    fn blind_index_is_deterministic_and_carries_the_key_id() {
        let keys = keyring("k1", &[("k1", 1)]);
        let a = blind_index(&keys, org(1), BANK_ACCOUNT, "uk:202959:63748472");
        let b = blind_index(&keys, org(1), BANK_ACCOUNT, "uk:202959:63748472");
        assert_eq!(a, b);
        assert_eq!(a.key_id().as_str(), "b1");
        assert_ne!(
            a,
            blind_index(&keys, org(1), BANK_ACCOUNT, "uk:202959:63748473")
        );
    }

    #[test]
    fn same_value_in_two_orgs_gives_different_indexes() {
        let keys = keyring("k1", &[("k1", 1)]);
        let value = "uk:202959:63748472";
        let indexes: std::collections::HashSet<_> = (0..50)
            .map(|n| *blind_index(&keys, org(n), BANK_ACCOUNT, value).as_bytes())
            .collect();
        assert_eq!(indexes.len(), 50);
    }

    #[test]
    fn same_value_for_two_purposes_gives_different_indexes() {
        let keys = keyring("k1", &[("k1", 1)]);
        let a = blind_index(&keys, org(1), BANK_ACCOUNT, "12345678");
        let b = blind_index(&keys, org(1), "vat_number", "12345678");
        assert_ne!(a.as_bytes(), b.as_bytes());
    }

    #[test]
    fn gb_iban_and_its_sort_code_and_account_give_the_same_index() {
        let keys = keyring("k1", &[("k1", 1)]);
        let by_parts = uk("60-16-13", "31926819");
        let by_iban = BankAccount::Iban {
            iban: Iban::parse("GB29 NWBK 6016 1331 9268 19").unwrap(),
            bic: None,
        };
        assert_eq!(
            bank_account_index(&keys, org(1), &by_parts),
            bank_account_index(&keys, org(1), &by_iban)
        );
        assert_ne!(
            bank_account_index(&keys, org(1), &by_parts),
            bank_account_index(&keys, org(1), &uk("60-16-13", "31926818"))
        );
    }

    #[test]
    fn a_different_root_key_gives_unrelated_indexes() {
        let one = keyring("k1", &[("k1", 1)]);
        let other = crate::crypto::Keyring::generate_insecure_dev().unwrap();
        let value = "uk:202959:63748472";
        assert_ne!(
            blind_index(&one, org(1), BANK_ACCOUNT, value).as_bytes(),
            blind_index(&other, org(1), BANK_ACCOUNT, value).as_bytes()
        );
    }

    #[test]
    fn matches_an_independent_hmac_computation() {
        // Pins the derivation so a refactor cannot silently change stored indexes.
        let keys = keyring("k1", &[("k1", 1)]);
        let o = org(7);
        let derived = hmac_sha256(
            &[0xB1; 32],
            format!("sentra-bi:v1:{BANK_ACCOUNT}:{o}").as_bytes(),
        );
        let full = hmac_sha256(&derived, b"uk:202959:63748472");
        let index = blind_index(&keys, o, BANK_ACCOUNT, "uk:202959:63748472");
        assert_eq!(index.as_bytes().as_slice(), &full[..16]);
        assert!(format!("{index:?}").starts_with("BlindIndex(b1:"));
    }

    #[test]
    fn hmac_sha256_matches_rfc_4231_test_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        let hex = mac.iter().fold(String::new(), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        });
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
