//! The one masked form of a bank account that the store keeps in clear beside
//! the ciphertext, so lists and audit lines can show which account is meant
//! without decrypting: the routing part (not secret, printed on every
//! invoice) and at most the last four characters of the account number.

use sentra_domain::bank::BankAccount;
pub use sentra_domain::bank::mask;

/// The stored clear masked form: `20-29-59 ****8472`, `IBAN GB…****6819`,
/// `BSB 062-000 ****5678`, `ABA 021000021 ****1234`.
pub fn masked_display(account: &BankAccount) -> String {
    match account {
        BankAccount::Uk { sort_code, account } => {
            format!("{sort_code} {}", mask(account.as_str()))
        }
        BankAccount::Iban { iban, .. } => {
            format!("IBAN {}…{}", iban.country(), mask(iban.as_str()))
        }
        BankAccount::Au { bsb, account } => format!("BSB {bsb} {}", mask(account.as_str())),
        BankAccount::Us { routing, account } => {
            format!("ABA {routing} {}", mask(account.as_str()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sentra_domain::bank::{AbaRouting, AccountNumber, Bsb, Iban, SortCode, UkAccountNumber};

    fn digits(s: &str) -> usize {
        s.bytes().filter(u8::is_ascii_digit).count()
    }

    /// The masked form minus its clear routing part, which must hold at most
    /// four digits and end with the number's last four characters.
    fn assert_masked(account: &BankAccount, routing_part: &str) {
        let shown = masked_display(account);
        let rest = shown
            .strip_prefix(routing_part)
            .unwrap_or_else(|| panic!("{shown}"));
        assert!(digits(rest) <= 4, "{shown}");
        let number: Vec<char> = account.number().chars().collect();
        let tail: String = number[number.len().saturating_sub(4)..].iter().collect();
        assert!(shown.ends_with(&format!("****{tail}")), "{shown}");
    }

    #[test]
    fn shows_uk_sort_code_and_last_four_of_the_account() {
        let account = BankAccount::Uk {
            sort_code: SortCode::parse("08-99-99").unwrap(),
            account: UkAccountNumber::parse("66374958").unwrap(),
        };
        assert_eq!(masked_display(&account), "08-99-99 ****4958");
    }

    #[test]
    fn shows_iban_country_and_last_four_only() {
        let account = BankAccount::Iban {
            iban: Iban::parse("GB29 NWBK 6016 1331 9268 19").unwrap(),
            bic: None,
        };
        assert_eq!(masked_display(&account), "IBAN GB…****6819");
        assert_eq!(digits(&masked_display(&account)), 4);
    }

    #[test]
    fn shows_au_and_us_routing_and_last_four() {
        let au = BankAccount::Au {
            bsb: Bsb::parse("062-000").unwrap(),
            account: AccountNumber::parse("12345678").unwrap(),
        };
        assert_eq!(masked_display(&au), "BSB 062-000 ****5678");
        let us = BankAccount::Us {
            routing: AbaRouting::parse("021000021").unwrap(),
            account: AccountNumber::parse("12345678901234567").unwrap(),
        };
        assert_eq!(masked_display(&us), "ABA 021000021 ****4567");
        assert_masked(&us, "ABA 021000021 ");
    }

    #[test]
    fn never_shows_more_than_four_digits_of_generated_uk_accounts() {
        let mut n: u64 = 0x1234_5678;
        for _ in 0..1000 {
            n = n
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let sort_code = format!("{:06}", (n >> 8) % 1_000_000);
            let account_digits = format!("{:08}", (n >> 24) % 100_000_000);
            let account = BankAccount::Uk {
                sort_code: SortCode::parse(&sort_code).unwrap(),
                account: UkAccountNumber::parse(&account_digits).unwrap(),
            };
            let sc = SortCode::parse(&sort_code).unwrap().to_string();
            assert_masked(&account, &format!("{sc} "));
        }
    }

    #[test]
    fn never_shows_more_than_four_digits_of_any_shared_test_iban() {
        let Some(dir) = sentra_domain::testdata::shared_data_dir() else {
            eprintln!("skipped: shared test data folder (../shared/data) is missing");
            return;
        };
        let path = dir.join("iban/valid.txt");
        let Ok(text) = std::fs::read_to_string(&path) else {
            eprintln!("skipped: {} is missing", path.display());
            return;
        };
        let mut checked = 0;
        for line in text.split('\n').filter(|l| !l.is_empty()) {
            let Ok(iban) = Iban::parse_format(line) else {
                continue;
            };
            let account = BankAccount::Iban { iban, bic: None };
            assert_masked(&account, "IBAN ");
            checked += 1;
        }
        assert!(checked > 100, "only {checked} IBANs parsed");
    }
}
