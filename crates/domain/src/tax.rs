//! Tax identifiers found on invoices: UK VAT registration numbers and Australian ABNs.

use crate::DomainError;
use std::fmt;

/// A UK VAT registration number (9 or 12 digits, or the GD/HA government forms).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UkVat(String);

impl UkVat {
    /// Parses `GB 980 7806 84`, `980780684`, `GD100` and similar.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let compact: String = s
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-' && *c != '.')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let body = compact.strip_prefix("GB").unwrap_or(&compact);
        let digits = body.as_bytes();
        if body.len() == 9 || body.len() == 12 {
            if !digits.iter().all(u8::is_ascii_digit) {
                return Err(DomainError::Format {
                    what: "UK VAT number",
                });
            }
            let sum: i32 = digits[..9]
                .iter()
                .zip([8, 7, 6, 5, 4, 3, 2, 10, 1])
                .map(|(d, w)| i32::from(d - b'0') * w)
                .sum();
            if sum % 97 == 0 || (sum + 55) % 97 == 0 {
                return Ok(Self(body.to_owned()));
            }
            return Err(DomainError::Checksum {
                what: "UK VAT number",
            });
        }
        Err(DomainError::Length {
            what: "UK VAT number",
            found: body.len(),
            expected: "9 or 12 digits",
        })
    }

    /// The number without the `GB` prefix.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UkVat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GB{}", self.0)
    }
}

/// An Australian Business Number (11 digits, weighted mod-89 check).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Abn(String);

impl Abn {
    /// Parses 11 digits with any whitespace (including no-break spaces) between them.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        if !compact.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DomainError::Format { what: "ABN" });
        }
        if compact.len() != 11 {
            return Err(DomainError::Length {
                what: "ABN",
                found: compact.len(),
                expected: "11 digits",
            });
        }
        let weights = [10, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19];
        let sum: i32 = compact
            .bytes()
            .enumerate()
            .map(|(i, b)| {
                let d = i32::from(b - b'0') - i32::from(i == 0);
                d * weights[i]
            })
            .sum();
        if sum % 89 != 0 {
            return Err(DomainError::Checksum { what: "ABN" });
        }
        Ok(Self(compact))
    }

    /// The 11 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Abn {
    /// `51 824 753 556`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {}",
            &self.0[..2],
            &self.0[2..5],
            &self.0[5..8],
            &self.0[8..]
        )
    }
}
