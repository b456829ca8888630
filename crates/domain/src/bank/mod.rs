//! Bank accounts in the schemes Sentra's customers pay into, with checksum validation.
//!
//! A [`BankAccount`] is built only from parsed parts, so holding one means the
//! format is right. Whether the *checksum* is right is a separate question
//! (`BankAccount::checksum_valid`), because fraud detection must still compare an
//! account that fails its checksum: a typo'd or forged account is evidence, not noise.

mod aba;
mod au;
mod iban;
mod uk;
mod vocalink;

pub use aba::AbaRouting;
pub use au::Bsb;
pub use iban::{Bic, Iban, iban_spec};
pub use uk::{SortCode, UkAccountNumber};
pub use vocalink::{ModulusOutcome, ModulusTables};

use crate::DomainError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The payment scheme an account belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    /// UK sort code and account number.
    Uk,
    /// International Bank Account Number (with an optional BIC).
    Iban,
    /// Australian BSB and account number.
    Au,
    /// US ABA routing number and account number.
    Us,
}

impl Scheme {
    /// The contract spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Uk => "uk",
            Self::Iban => "iban",
            Self::Au => "au",
            Self::Us => "us",
        }
    }
}

/// A plain account number: digits only, 4 to 17 of them (US accounts run to 17).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AccountNumber(String);

impl AccountNumber {
    /// Parses digits, ignoring spaces and hyphens.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let digits: String = s.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DomainError::Format {
                what: "account number",
            });
        }
        if !(4..=17).contains(&digits.len()) {
            return Err(DomainError::Length {
                what: "account number",
                found: digits.len(),
                expected: "4 to 17 digits",
            });
        }
        Ok(Self(digits))
    }

    /// The digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Masks all but the last four characters: `****4958`.
pub fn mask(s: &str) -> String {
    let chars: Vec<char> = s.chars().filter(char::is_ascii_alphanumeric).collect();
    let keep = chars.len().min(4);
    let tail: String = chars[chars.len() - keep..].iter().collect();
    format!("****{tail}")
}

/// A bank account in one of the supported schemes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BankAccount {
    /// UK sort code and account number.
    Uk {
        /// Six-digit sort code.
        sort_code: SortCode,
        /// Account number (standardised to 8 digits where the Vocalink rules say how).
        account: UkAccountNumber,
    },
    /// IBAN, with the BIC when one was given.
    Iban {
        /// The IBAN.
        iban: Iban,
        /// The BIC (SWIFT code), if known.
        bic: Option<Bic>,
    },
    /// Australian BSB and account number.
    Au {
        /// Six-digit bank-state-branch number.
        bsb: Bsb,
        /// Account number.
        account: AccountNumber,
    },
    /// US ABA routing number and account number.
    Us {
        /// Nine-digit routing number.
        routing: AbaRouting,
        /// Account number.
        account: AccountNumber,
    },
}

impl BankAccount {
    /// Which scheme this account is in.
    pub const fn scheme(&self) -> Scheme {
        match self {
            Self::Uk { .. } => Scheme::Uk,
            Self::Iban { .. } => Scheme::Iban,
            Self::Au { .. } => Scheme::Au,
            Self::Us { .. } => Scheme::Us,
        }
    }

    /// The ISO country the account is held in (`GB` for UK accounts).
    pub fn country(&self) -> &str {
        match self {
            Self::Uk { .. } => "GB",
            Self::Iban { iban, .. } => iban.country(),
            Self::Au { .. } => "AU",
            Self::Us { .. } => "US",
        }
    }

    /// The identifying number whose last four digits people recognise.
    pub fn number(&self) -> &str {
        match self {
            Self::Uk { account, .. } => account.as_str(),
            Self::Iban { iban, .. } => iban.as_str(),
            Self::Au { account, .. } | Self::Us { account, .. } => account.as_str(),
        }
    }

    /// The account with everything but the last four digits of the number hidden,
    /// in words a clerk recognises: `sort code 20-29-59, account ****8472`.
    pub fn masked(&self) -> String {
        match self {
            Self::Uk { sort_code, account } => {
                format!("sort code {sort_code}, account {}", mask(account.as_str()))
            }
            Self::Iban { iban, .. } => format!("IBAN {}{}", iban.country(), mask(iban.as_str())),
            Self::Au { bsb, account } => format!("BSB {bsb}, account {}", mask(account.as_str())),
            Self::Us { routing, account } => {
                format!("routing {routing}, account {}", mask(account.as_str()))
            }
        }
    }

    /// A canonical string that is equal for two spellings of the same account,
    /// used for comparisons and as the input of the blind index. A GB IBAN and
    /// the UK sort code and account inside it give the same key, because
    /// suppliers quote either form for the same account.
    pub fn canonical_key(&self) -> String {
        match self {
            Self::Uk { sort_code, account } => {
                format!("uk:{}:{}", sort_code.as_str(), account.as_str())
            }
            Self::Iban { iban, .. } => match iban.uk_parts() {
                Some((sort_code, account)) => {
                    format!("uk:{}:{}", sort_code.as_str(), account.as_str())
                }
                None => format!("iban:{}", iban.as_str()),
            },
            Self::Au { bsb, account } => format!("au:{}:{}", bsb.as_str(), account.as_str()),
            Self::Us { routing, account } => {
                format!("us:{}:{}", routing.as_str(), account.as_str())
            }
        }
    }

    /// Whether two values denote the same account (see [`Self::canonical_key`]).
    pub fn same_account(&self, other: &BankAccount) -> bool {
        self.canonical_key() == other.canonical_key()
    }

    /// Whether the account passes its scheme's checksum. `None` when no check
    /// applies: UK accounts without modulus tables, or Australian accounts
    /// (BSB numbers carry no check digit).
    pub fn checksum_valid(&self, tables: Option<&ModulusTables>) -> Option<bool> {
        match self {
            Self::Uk { sort_code, account } => {
                tables.map(|t| t.check(sort_code, account) != ModulusOutcome::Invalid)
            }
            Self::Iban { iban, .. } => Some(
                iban.checksum_ok()
                    && iban.uk_parts().is_none_or(|(sort_code, account)| {
                        tables.is_none_or(|t| {
                            t.check(&sort_code, &account) != ModulusOutcome::Invalid
                        })
                    }),
            ),
            Self::Au { .. } => None,
            Self::Us { routing, .. } => Some(routing.checksum_ok()),
        }
    }
}

impl fmt::Display for BankAccount {
    /// Always masked: a `BankAccount` never prints its full number by accident.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_keeps_only_last_four() {
        assert_eq!(mask("63748472"), "****8472");
        assert_eq!(mask("12"), "****12");
        assert_eq!(mask("GB29 NWBK 6016 1331 9268 19"), "****6819");
    }

    #[test]
    fn gb_iban_and_uk_details_are_the_same_account() {
        let uk = BankAccount::Uk {
            sort_code: SortCode::parse("60-16-13").unwrap(),
            account: UkAccountNumber::parse("31926819").unwrap(),
        };
        let iban = BankAccount::Iban {
            iban: Iban::parse("GB29 NWBK 6016 1331 9268 19").unwrap(),
            bic: None,
        };
        assert!(uk.same_account(&iban));
        assert!(!iban.to_string().contains("31926819"));
    }

    #[test]
    fn account_number_rejects_letters_and_lengths() {
        assert!(AccountNumber::parse("12a456").is_err());
        assert!(AccountNumber::parse("123").is_err());
        assert_eq!(
            AccountNumber::parse("1234 5678").unwrap().as_str(),
            "12345678"
        );
    }
}
