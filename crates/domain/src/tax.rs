//! Tax identifiers found on invoices: UK VAT registration numbers and Australian ABNs.

use crate::DomainError;
use std::fmt;

/// A UK VAT registration number, in one of the forms python-stdnum's `gb.vat`
/// accepts:
///
/// - 9 digits (`980 7806 84`), with the weighted check below;
/// - 12 digits: a branch trader, the 9-digit number plus a 3-digit branch
///   that the check ignores;
/// - `GD000`–`GD499`: a government department;
/// - `HA500`–`HA999`: a health authority;
/// - `GD8888` or `HA8888`, three digits in the same ranges, and those three
///   digits modulo 97 as two check digits (`GD888810003`).
///
/// The 9-digit check weights the digits 8 7 6 5 4 3 2 10 1 and takes the sum
/// modulo 97. Numbers issued before 2010 give 0 ("mod 97"); the newer "97-55"
/// scheme adds 55 before the modulo, so a remainder of 42 is valid too. Like
/// stdnum, a remainder of 55 is also accepted, and numbers below 100 000 000
/// are only valid under the old scheme.
///
/// A `GB` prefix, or `XI` for Northern Ireland traders (the same registration
/// numbers), is stripped; the value holds the body only and prints with `GB`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UkVat(String);

const VAT: &str = "UK VAT number";

impl UkVat {
    /// Parses `GB 980 7806 84`, `980780684`, `GD100`, `XI 242 3380 87 388` and similar.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let compact: String = s
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-' && *c != '.')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let body = compact
            .strip_prefix("GB")
            .or_else(|| compact.strip_prefix("XI"))
            .unwrap_or(&compact);
        if !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(DomainError::Format { what: VAT });
        }
        let b = body.as_bytes();
        match b.len() {
            5 => {
                let n = digits_value(&b[2..]).ok_or(DomainError::Format { what: VAT })?;
                check_public_body(&b[..2], n)?;
            }
            11 if b.starts_with(b"GD8888") || b.starts_with(b"HA8888") => {
                let (Some(n), Some(check)) = (digits_value(&b[6..9]), digits_value(&b[9..])) else {
                    return Err(DomainError::Format { what: VAT });
                };
                check_public_body(&b[..2], n)?;
                if n % 97 != check {
                    return Err(DomainError::Checksum { what: VAT });
                }
            }
            9 | 12 => {
                if !b.iter().all(u8::is_ascii_digit) {
                    return Err(DomainError::Format { what: VAT });
                }
                let sum: u32 = b[..9]
                    .iter()
                    .zip([8, 7, 6, 5, 4, 3, 2, 10, 1])
                    .map(|(d, w)| u32::from(d - b'0') * w)
                    .sum();
                let ok = if b[..3] >= b"100"[..] {
                    matches!(sum % 97, 0 | 42 | 55)
                } else {
                    sum.is_multiple_of(97)
                };
                if !ok {
                    return Err(DomainError::Checksum { what: VAT });
                }
            }
            n => {
                return Err(DomainError::Length {
                    what: VAT,
                    found: n,
                    expected: "9 or 12 digits, or GD/HA and 3 digits",
                });
            }
        }
        Ok(Self(body.to_owned()))
    }

    /// The number without the `GB` prefix: `980780684`, `GD100`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is a government department or health authority number
    /// (`GD…` / `HA…`) rather than a business registration.
    pub fn is_public_body(&self) -> bool {
        self.0.starts_with("GD") || self.0.starts_with("HA")
    }
}

/// The value of a run of ASCII digits, `None` if any byte is not a digit.
fn digits_value(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |acc, d| {
        d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0'))
    })
}

/// Government departments are numbered below 500, health authorities from 500.
fn check_public_body(prefix: &[u8], n: u32) -> Result<(), DomainError> {
    match prefix {
        b"GD" if n < 500 => Ok(()),
        b"HA" if n >= 500 => Ok(()),
        _ => Err(DomainError::Component {
            what: VAT,
            component: "government department or health authority number",
        }),
    }
}

impl fmt::Display for UkVat {
    /// `GB980780684`, `GB242338087388`, `GBGD100`: the `GB` prefix and the
    /// compact body, which is how the EU's VIES lists every form (including
    /// `GBGD999` and `GBHA999`) and which [`UkVat::parse`] reads back.
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
        // Subtract 1 from the first digit, then weight and sum.
        let sum: i32 = compact
            .bytes()
            .zip([10, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19])
            .enumerate()
            .map(|(i, (b, w))| (i32::from(b - b'0') - i32::from(i == 0)) * w)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uk_vat_accepts_every_form_and_prints_it_back_parseably() {
        for (input, body, shown) in [
            ("GB 980 7806 84", "980780684", "GB980780684"),
            ("gb980780684", "980780684", "GB980780684"),
            ("XI 980 7806 84", "980780684", "GB980780684"),
            ("242338087388", "242338087388", "GB242338087388"),
            ("GD100", "GD100", "GBGD100"),
            ("HA501", "HA501", "GBHA501"),
            ("GD888810003", "GD888810003", "GBGD888810003"),
            ("HA888856782", "HA888856782", "GBHA888856782"),
        ] {
            let vat = UkVat::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(vat.as_str(), body);
            assert_eq!(vat.to_string(), shown);
            assert_eq!(UkVat::parse(&vat.to_string()).unwrap(), vat);
        }
        assert!(UkVat::parse("GD100").unwrap().is_public_body());
        assert!(!UkVat::parse("980780684").unwrap().is_public_body());
    }

    #[test]
    fn uk_vat_new_scheme_only_applies_from_100_000_000() {
        // 100 1908 74 passes only as "97-55" (remainder 42).
        assert!(UkVat::parse("100190874").is_ok());
        // 001 2345 89 also has remainder 42, but the new scheme does not
        // cover numbers below 100 000 000.
        assert!(matches!(
            UkVat::parse("001234589"),
            Err(DomainError::Checksum { .. })
        ));
    }

    #[test]
    fn uk_vat_errors_say_what_is_wrong() {
        let kind = |s: &str| match UkVat::parse(s) {
            Err(DomainError::Checksum { .. }) => "checksum",
            Err(DomainError::Length { .. }) => "length",
            Err(DomainError::Format { .. }) => "format",
            Err(DomainError::Component { .. }) => "component",
            Err(e) => panic!("{s}: unexpected {e:?}"),
            Ok(v) => panic!("{s}: accepted as {v}"),
        };
        assert_eq!(kind("802311781"), "checksum");
        assert_eq!(kind("9807806842"), "length");
        assert_eq!(kind("9807806B4"), "format");
        assert_eq!(kind("GD8888567B2"), "format");
        assert_eq!(kind("GDÄ12"), "format");
        assert_eq!(kind("ZZ100"), "component");
        assert_eq!(kind("GD600"), "component");
        assert_eq!(kind("HA201"), "component");
        assert_eq!(kind("GD888860018"), "component");
        assert_eq!(kind("HA888856700"), "checksum");
        assert_eq!(kind(""), "length");
    }

    #[test]
    fn abn_accepts_grouped_digits_and_rejects_altered_ones() {
        let abn = Abn::parse("51 824 753 556").unwrap();
        assert_eq!(abn.as_str(), "51824753556");
        assert_eq!(abn.to_string(), "51 824 753 556");
        assert!(Abn::parse("51\u{a0}824 753 556").is_ok());
        for altered in ["51 824 753 557", "52 824 753 556", "51 824 735 556"] {
            assert!(
                matches!(Abn::parse(altered), Err(DomainError::Checksum { .. })),
                "{altered}"
            );
        }
        assert!(matches!(
            Abn::parse("51 824 753 55"),
            Err(DomainError::Length { .. })
        ));
        assert!(matches!(
            Abn::parse("51 824 753 55x"),
            Err(DomainError::Format { .. })
        ));
    }
}
