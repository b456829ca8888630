//! Australian BSB (bank-state-branch) numbers.

use crate::DomainError;
use std::fmt;

/// A six-digit BSB. BSBs carry no check digit; existence can be checked against
/// the `AusPayNet` directory, which Sentra does not ship.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Bsb(String);

impl Bsb {
    /// Parses `062-000`, `062 000` or `062000`.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let digits: String = s.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DomainError::Format { what: "BSB" });
        }
        if digits.len() != 6 {
            return Err(DomainError::Length {
                what: "BSB",
                found: digits.len(),
                expected: "6 digits",
            });
        }
        Ok(Self(digits))
    }

    /// The six digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Bsb {
    /// `062-000`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", &self.0[..3], &self.0[3..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bsb_accepts_common_spellings() {
        for s in ["062-000", "062 000", "062000"] {
            assert_eq!(Bsb::parse(s).unwrap().to_string(), "062-000");
        }
        assert!(Bsb::parse("06200").is_err());
        assert!(Bsb::parse("06a000").is_err());
    }
}
