//! IBAN (ISO 13616) with per-country length and BBAN format, and BIC (ISO 9362).

use super::{SortCode, UkAccountNumber};
use crate::DomainError;
use std::fmt;

/// An IBAN that passes mod-97, has its country's registered length and matches
/// its country's BBAN format. Stored compact and upper-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Iban(String);

/// The SWIFT IBAN registry entry for a country: total length and BBAN format in
/// registry notation (`4!a6!n8!n` = 4 letters, 6 digits, 8 digits; `c` = alphanumeric).
pub fn iban_spec(country: &str) -> Option<(usize, &'static str)> {
    REGISTRY
        .iter()
        .find(|(c, _, _)| *c == country)
        .map(|(_, len, fmt)| (*len, *fmt))
}

/// (country, IBAN length, BBAN format) from the SWIFT IBAN registry.
const REGISTRY: &[(&str, usize, &str)] = &[
    ("AD", 24, "4!n4!n12!c"),
    ("AT", 20, "5!n11!n"),
    ("BE", 16, "3!n7!n2!n"),
    ("CH", 21, "5!n12!c"),
    ("DE", 22, "8!n10!n"),
    ("DK", 18, "4!n9!n1!n"),
    ("ES", 24, "4!n4!n1!n1!n10!n"),
    ("FI", 18, "3!n11!n"),
    ("FR", 27, "5!n5!n11!c2!n"),
    ("GB", 22, "4!a6!n8!n"),
    ("IE", 22, "4!a6!n8!n"),
    ("IT", 27, "1!a5!n5!n12!c"),
    ("LU", 20, "3!n13!c"),
    ("NL", 18, "4!a10!n"),
    ("NO", 15, "4!n6!n1!n"),
    ("PL", 28, "8!n16!n"),
    ("PT", 25, "4!n4!n11!n2!n"),
    ("SE", 24, "3!n16!n1!n"),
];

fn matches_format(bban: &str, format: &str) -> bool {
    let mut rest = bban.as_bytes();
    let spec = format.as_bytes();
    let mut i = 0;
    while i < spec.len() {
        let mut n = 0usize;
        while i < spec.len() && spec[i].is_ascii_digit() {
            n = n * 10 + usize::from(spec[i] - b'0');
            i += 1;
        }
        if i < spec.len() && spec[i] == b'!' {
            i += 1;
        }
        let Some(&kind) = spec.get(i) else {
            return false;
        };
        i += 1;
        if rest.len() < n {
            return false;
        }
        let (head, tail) = rest.split_at(n);
        let ok = head.iter().all(|b| match kind {
            b'n' => b.is_ascii_digit(),
            b'a' => b.is_ascii_uppercase(),
            _ => b.is_ascii_alphanumeric(),
        });
        if !ok {
            return false;
        }
        rest = tail;
    }
    rest.is_empty()
}

fn mod97(s: &str) -> u32 {
    // Move the first four characters to the end and read letters as 10..35,
    // folding into the remainder as we go so no big integers are needed.
    let rearranged = s.bytes().skip(4).chain(s.bytes().take(4));
    let mut rem: u32 = 0;
    for b in rearranged {
        if b.is_ascii_digit() {
            rem = (rem * 10 + u32::from(b - b'0')) % 97;
        } else {
            let v = u32::from(b - b'A') + 10;
            rem = (rem * 100 + v) % 97;
        }
    }
    rem
}

impl Iban {
    /// Parses an IBAN written with spaces, hyphens or dots, in any case, and
    /// checks country, length, BBAN format and the mod-97 check digits.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let iban = Self::parse_format(s)?;
        if iban.checksum_ok() {
            Ok(iban)
        } else {
            Err(DomainError::Checksum { what: "IBAN" })
        }
    }

    /// Like [`Iban::parse`] but without the mod-97 check, so that an IBAN with
    /// wrong check digits can still be compared and reported as invalid.
    pub fn parse_format(s: &str) -> Result<Self, DomainError> {
        let compact: String = s
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '.' | '\u{a0}' | '\t'))
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if compact.len() < 5 || !compact.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(DomainError::Format { what: "IBAN" });
        }
        let (country, check) = (&compact[..2], &compact[2..4]);
        if !country.bytes().all(|b| b.is_ascii_uppercase())
            || !check.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(DomainError::Format { what: "IBAN" });
        }
        let (len, format) = iban_spec(country).ok_or(DomainError::Component {
            what: "IBAN",
            component: "country",
        })?;
        if compact.len() != len {
            return Err(DomainError::Length {
                what: "IBAN",
                found: compact.len(),
                expected: "the registered length for its country",
            });
        }
        if !matches_format(&compact[4..], format) {
            return Err(DomainError::Format { what: "IBAN" });
        }
        Ok(Self(compact))
    }

    /// Whether the mod-97 check digits are right.
    pub fn checksum_ok(&self) -> bool {
        mod97(&self.0) == 1
    }

    /// Whether `s` passes only the ISO 7064 mod-97 check (after normalising), whatever its country.
    pub fn mod97_ok(s: &str) -> bool {
        let compact: String = s
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_uppercase())
            .collect();
        compact.len() >= 5 && mod97(&compact) == 1
    }

    /// Compact upper-case form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The two-letter country code.
    pub fn country(&self) -> &str {
        &self.0[..2]
    }

    /// Sort code and account number of a GB IBAN (`GBkk BANK SSSSSS AAAAAAAA`).
    pub fn uk_parts(&self) -> Option<(SortCode, UkAccountNumber)> {
        if self.country() != "GB" || self.0.len() != 22 {
            return None;
        }
        Some((
            SortCode::parse(&self.0[8..14]).ok()?,
            UkAccountNumber::parse(&self.0[14..22]).ok()?,
        ))
    }

    /// Printed in groups of four, as on an invoice.
    pub fn grouped(&self) -> String {
        let mut out = String::with_capacity(self.0.len() + self.0.len() / 4);
        for (i, c) in self.0.chars().enumerate() {
            if i > 0 && i % 4 == 0 {
                out.push(' ');
            }
            out.push(c);
        }
        out
    }
}

impl fmt::Display for Iban {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.grouped())
    }
}

/// A BIC (SWIFT code): 4 letters of bank, 2 of country, 2 of location, optionally 3 of branch.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Bic(String);

impl Bic {
    /// Parses an 8- or 11-character BIC, case-insensitively.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let c: String = s
            .trim()
            .chars()
            .filter(|c| *c != ' ')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if c.len() != 8 && c.len() != 11 {
            return Err(DomainError::Length {
                what: "BIC",
                found: c.len(),
                expected: "8 or 11 characters",
            });
        }
        let b = c.as_bytes();
        if !b[..6].iter().all(u8::is_ascii_uppercase)
            || !b[6..].iter().all(u8::is_ascii_alphanumeric)
        {
            return Err(DomainError::Format { what: "BIC" });
        }
        if !crate::bank::iban::is_country(&c[4..6]) {
            return Err(DomainError::Component {
                what: "BIC",
                component: "country",
            });
        }
        Ok(Self(c))
    }

    /// The BIC, upper-case.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The two-letter country code inside the BIC.
    pub fn country(&self) -> &str {
        &self.0[4..6]
    }
}

impl fmt::Display for Bic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether `code` is an ISO 3166-1 alpha-2 country code (plus `XK`, Kosovo, which banks use).
pub(crate) fn is_country(code: &str) -> bool {
    COUNTRIES.split(' ').any(|c| c == code)
}

const COUNTRIES: &str = "AD AE AT AU BE CA CH DE DK ES FI FR GB IE IT LU NL NO NZ PL PT SE US XK";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iban_accepts_spaced_lower_case_and_rejects_bad_checksum() {
        let iban = Iban::parse("gb29 nwbk 6016 1331 9268 19").unwrap();
        assert_eq!(iban.as_str(), "GB29NWBK60161331926819");
        assert_eq!(iban.to_string(), "GB29 NWBK 6016 1331 9268 19");
        assert!(matches!(
            Iban::parse("GB28NWBK60161331926819"),
            Err(DomainError::Checksum { .. })
        ));
        assert!(matches!(
            Iban::parse("GB29NWBK6016133192681"),
            Err(DomainError::Length { .. })
        ));
    }

    #[test]
    fn bic_checks_shape_and_country() {
        assert!(Bic::parse("NWBKGB2L").is_ok());
        assert!(Bic::parse("deutdeff500").is_ok());
        assert!(Bic::parse("MULTIPLE").is_err());
        assert!(Bic::parse("NWBKG").is_err());
    }
}
