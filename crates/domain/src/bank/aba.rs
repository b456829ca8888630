//! US ABA routing transit numbers (nine digits, 3-7-1 weighted check digit).

use crate::DomainError;
use std::fmt;

/// A US routing number that passes the ABA checksum.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AbaRouting(String);

impl AbaRouting {
    /// Parses nine digits (spaces and hyphens ignored) and checks
    /// `3(d1+d4+d7) + 7(d2+d5+d8) + (d3+d6+d9) ≡ 0 (mod 10)`.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let r = Self::parse_format(s)?;
        if r.checksum_ok() {
            Ok(r)
        } else {
            Err(DomainError::Checksum {
                what: "routing number",
            })
        }
    }

    /// Nine digits, without the checksum (so a wrong number can still be reported).
    pub fn parse_format(s: &str) -> Result<Self, DomainError> {
        let digits: Vec<u32> = s
            .chars()
            .filter(|c| !matches!(c, ' ' | '-'))
            .map(|c| {
                c.to_digit(10).ok_or(DomainError::Format {
                    what: "routing number",
                })
            })
            .collect::<Result<_, _>>()?;
        if digits.len() != 9 {
            return Err(DomainError::Length {
                what: "routing number",
                found: digits.len(),
                expected: "9 digits",
            });
        }
        Ok(Self(
            digits
                .iter()
                .map(|d| char::from_digit(*d, 10).unwrap_or('0'))
                .collect(),
        ))
    }

    /// Whether the 3-7-1 check digit is right.
    pub fn checksum_ok(&self) -> bool {
        let sum: u32 = self
            .0
            .bytes()
            .zip([3, 7, 1].iter().cycle())
            .map(|(d, w)| u32::from(d - b'0') * w)
            .sum();
        sum.is_multiple_of(10)
    }

    /// The nine digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AbaRouting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_routing_numbers_pass_and_altered_ones_fail() {
        for ok in ["021000021", "011000015", "026009593", "121000358"] {
            assert!(AbaRouting::parse(ok).is_ok(), "{ok}");
        }
        assert!(matches!(
            AbaRouting::parse("021000022"),
            Err(DomainError::Checksum { .. })
        ));
        assert!(matches!(
            AbaRouting::parse("02100002"),
            Err(DomainError::Length { .. })
        ));
        assert!(matches!(
            AbaRouting::parse("02100002x"),
            Err(DomainError::Format { .. })
        ));
    }
}
