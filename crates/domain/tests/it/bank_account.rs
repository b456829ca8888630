//! `BankAccount::checksum_valid` with and without the Vocalink tables.

use crate::vocalink::tables;
use sentra_domain::bank::{BankAccount, SortCode, UkAccountNumber};

fn uk(sort_code: &str, account: &str) -> BankAccount {
    BankAccount::Uk {
        sort_code: SortCode::parse(sort_code).unwrap(),
        account: UkAccountNumber::parse(account).unwrap(),
    }
}

#[test]
fn a_uk_account_failing_modulus_is_invalid_only_when_tables_are_given() {
    let Some(t) = tables() else { return };
    // cases.tsv row 29: "Fail modulus 10 check."
    let failing = uk("089999", "66374959");
    assert_eq!(failing.checksum_valid(Some(&t)), Some(false));
    assert_eq!(failing.checksum_valid(None), None);
    // Row 1, the same sort code passing.
    let passing = uk("089999", "66374958");
    assert_eq!(passing.checksum_valid(Some(&t)), Some(true));
    assert_eq!(passing.checksum_valid(None), None);
}

#[test]
fn a_sort_code_outside_the_tables_counts_as_valid() {
    let Some(t) = tables() else { return };
    // 99-99-99 is in no range; Vocalink says such accounts cannot be checked.
    assert_eq!(
        uk("999999", "12345678").checksum_valid(Some(&t)),
        Some(true)
    );
}
