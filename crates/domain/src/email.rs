//! Email addresses, normalised so that comparisons are meaningful.

use crate::DomainError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A syntactically plausible email address: `local@domain`, with the domain
/// lower-cased and any trailing dot removed. The local part keeps its case
/// (RFC 5321) but comparisons in Sentra use [`EmailAddress::normalised`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress {
    full: String,
    at: usize,
}

impl EmailAddress {
    /// Parses an address such as `accounts@apexscaffolding.co.uk`.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let s = s.trim().trim_start_matches('<').trim_end_matches('>');
        let at = s.rfind('@').ok_or(DomainError::Format {
            what: "email address",
        })?;
        let (local, domain) = (&s[..at], &s[at + 1..]);
        let domain = domain.trim_end_matches('.');
        let valid_local = !local.is_empty()
            && local.len() <= 64
            && !local.chars().any(|c| c.is_whitespace() || c.is_control());
        let valid_domain = !domain.is_empty()
            && domain.len() <= 253
            && !domain.starts_with('.')
            && !domain.contains("..")
            && domain.chars().all(|c| {
                c.is_alphanumeric() || c == '-' || c == '.' || c == '[' || c == ']' || c == ':'
            });
        if !valid_local || !valid_domain {
            return Err(DomainError::Format {
                what: "email address",
            });
        }
        let full = format!("{local}@{}", domain.to_lowercase());
        Ok(Self {
            at: local.len(),
            full,
        })
    }

    /// The whole address.
    pub fn as_str(&self) -> &str {
        &self.full
    }

    /// The part before the `@`.
    pub fn local(&self) -> &str {
        &self.full[..self.at]
    }

    /// The lower-cased domain.
    pub fn domain(&self) -> &str {
        &self.full[self.at + 1..]
    }

    /// The address lower-cased, for equality checks.
    pub fn normalised(&self) -> String {
        self.full.to_lowercase()
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full)
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<EmailAddress> for String {
    fn from(e: EmailAddress) -> Self {
        e.full
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_lowercases_domain_and_strips_brackets() {
        let e = EmailAddress::parse(" <Accounts@ApexScaffolding.CO.UK.> ").unwrap();
        assert_eq!(e.as_str(), "Accounts@apexscaffolding.co.uk");
        assert_eq!(e.domain(), "apexscaffolding.co.uk");
        assert_eq!(e.local(), "Accounts");
    }

    #[test]
    fn parse_rejects_garbage() {
        for bad in [
            "",
            "no-at-sign",
            "@domain.com",
            "a@",
            "a b@c.com",
            "a@b..com",
            "a@.com",
        ] {
            assert!(
                EmailAddress::parse(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
    }
}
