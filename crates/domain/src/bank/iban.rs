//! IBAN (ISO 13616) with per-country length and BBAN format, and BIC (ISO 9362).

use super::{SortCode, UkAccountNumber};
use crate::DomainError;
use std::fmt;

/// An IBAN that has its country's registered length and BBAN format. Values
/// from [`Iban::parse`] also pass the mod-97 check (and the national check
/// digits where Sentra knows them); values from [`Iban::parse_format`] may not.
/// Stored compact and upper-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Iban(String);

/// The SWIFT IBAN registry entry for a country: total length and BBAN format in
/// registry notation (`4!a6!n8!n` = 4 letters, 6 digits, 8 digits; `c` = alphanumeric).
pub fn iban_spec(country: &str) -> Option<(usize, &'static str)> {
    REGISTRY
        .binary_search_by(|(c, _, _)| (*c).cmp(country))
        .ok()
        .and_then(|i| REGISTRY.get(i))
        .map(|(_, len, fmt)| (*len, *fmt))
}

/// (country, IBAN length, BBAN format) for every country of the SWIFT IBAN
/// registry as of 2025 (89 countries), sorted by country for binary search.
///
/// Territories that use another country's code in their IBANs (the French
/// overseas departments use `FR`, Jersey, Guernsey and the Isle of Man use
/// `GB`, Åland uses `FI`) are deliberately absent: an IBAN starting `GP` or
/// `JE` does not exist. Where the registry has revised a BBAN format without
/// changing its length or character classes (for example `CZ` `4!n16!n` versus
/// `4!n6!n10!n`) both spellings accept the same strings.
const REGISTRY: &[(&str, usize, &str)] = &[
    ("AD", 24, "4!n4!n12!c"),
    ("AE", 23, "3!n16!n"),
    ("AL", 28, "8!n16!c"),
    ("AT", 20, "5!n11!n"),
    ("AZ", 28, "4!a20!c"),
    ("BA", 20, "3!n3!n8!n2!n"),
    ("BE", 16, "3!n7!n2!n"),
    ("BG", 22, "4!a4!n2!n8!c"),
    ("BH", 22, "4!a14!c"),
    ("BI", 27, "5!n5!n11!n2!n"),
    ("BR", 29, "8!n5!n10!n1!a1!c"),
    ("BY", 28, "4!c4!n16!c"),
    ("CH", 21, "5!n12!c"),
    ("CR", 22, "4!n14!n"),
    ("CY", 28, "3!n5!n16!c"),
    ("CZ", 24, "4!n6!n10!n"),
    ("DE", 22, "8!n10!n"),
    ("DJ", 27, "5!n5!n11!n2!n"),
    ("DK", 18, "4!n9!n1!n"),
    ("DO", 28, "4!c20!n"),
    ("EE", 20, "2!n2!n11!n1!n"),
    ("EG", 29, "4!n4!n17!n"),
    ("ES", 24, "4!n4!n1!n1!n10!n"),
    ("FI", 18, "3!n11!n"),
    ("FK", 18, "2!a12!n"),
    ("FO", 18, "4!n9!n1!n"),
    ("FR", 27, "5!n5!n11!c2!n"),
    ("GB", 22, "4!a6!n8!n"),
    ("GE", 22, "2!a16!n"),
    ("GI", 23, "4!a15!c"),
    ("GL", 18, "4!n9!n1!n"),
    ("GR", 27, "3!n4!n16!c"),
    ("GT", 28, "4!c20!c"),
    ("HN", 28, "4!a20!n"),
    ("HR", 21, "7!n10!n"),
    ("HU", 28, "3!n4!n1!n15!n1!n"),
    ("IE", 22, "4!a6!n8!n"),
    ("IL", 23, "3!n3!n13!n"),
    ("IQ", 23, "4!a3!n12!n"),
    ("IS", 26, "4!n2!n6!n10!n"),
    ("IT", 27, "1!a5!n5!n12!c"),
    ("JO", 30, "4!a4!n18!c"),
    ("KW", 30, "4!a22!c"),
    ("KZ", 20, "3!n13!c"),
    ("LB", 28, "4!n20!c"),
    ("LC", 32, "4!a24!c"),
    ("LI", 21, "5!n12!c"),
    ("LT", 20, "5!n11!n"),
    ("LU", 20, "3!n13!c"),
    ("LV", 21, "4!a13!c"),
    ("LY", 25, "3!n3!n15!n"),
    ("MC", 27, "5!n5!n11!c2!n"),
    ("MD", 24, "2!c18!c"),
    ("ME", 22, "3!n13!n2!n"),
    ("MK", 19, "3!n10!c2!n"),
    ("MN", 20, "4!n12!n"),
    ("MR", 27, "5!n5!n11!n2!n"),
    ("MT", 31, "4!a5!n18!c"),
    ("MU", 30, "4!a2!n2!n12!n3!n3!a"),
    ("NI", 28, "4!a20!n"),
    ("NL", 18, "4!a10!n"),
    ("NO", 15, "4!n6!n1!n"),
    ("OM", 23, "3!n16!c"),
    ("PK", 24, "4!a16!c"),
    ("PL", 28, "8!n16!n"),
    ("PS", 29, "4!a21!c"),
    ("PT", 25, "4!n4!n11!n2!n"),
    ("QA", 29, "4!a21!c"),
    ("RO", 24, "4!a16!c"),
    ("RS", 22, "3!n13!n2!n"),
    ("RU", 33, "9!n5!n15!c"),
    ("SA", 24, "2!n18!c"),
    ("SC", 31, "4!a2!n2!n16!n3!a"),
    ("SD", 18, "2!n12!n"),
    ("SE", 24, "3!n16!n1!n"),
    ("SI", 19, "5!n8!n2!n"),
    ("SK", 24, "4!n6!n10!n"),
    ("SM", 27, "1!a5!n5!n12!c"),
    ("SO", 23, "4!n3!n12!n"),
    ("ST", 25, "4!n4!n11!n2!n"),
    ("SV", 28, "4!a20!n"),
    ("TL", 23, "3!n14!n2!n"),
    ("TN", 24, "2!n3!n13!n2!n"),
    ("TR", 26, "5!n1!n16!c"),
    ("UA", 29, "6!n19!c"),
    ("VA", 22, "3!n15!n"),
    ("VG", 24, "4!a16!n"),
    ("XK", 20, "4!n10!n2!n"),
    ("YE", 30, "4!a4!n18!c"),
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

/// Spain's CCC check digits: BBAN `EEEE OOOO D1 D2 NNNNNNNNNN`, where D1
/// covers bank and branch (as `00EEEEOOOO`) and D2 the account, each with
/// weights 1 2 4 8 5 10 9 7 3 6 modulo 11 (11 → 0, 10 → 1).
fn spanish_ccc_ok(bban: &str) -> bool {
    fn digit(digits: &[u8]) -> u8 {
        const WEIGHTS: [u32; 10] = [1, 2, 4, 8, 5, 10, 9, 7, 3, 6];
        let sum: u32 = digits
            .iter()
            .zip(WEIGHTS)
            .map(|(d, w)| u32::from(d - b'0') * w)
            .sum();
        match 11 - sum % 11 {
            11 => 0,
            10 => 1,
            d => d as u8,
        }
    }
    let b = bban.as_bytes();
    if b.len() != 20 || !b.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let mut bank_branch = [b'0'; 10];
    bank_branch[2..].copy_from_slice(&b[..8]);
    digit(&bank_branch) == b[8] - b'0' && digit(&b[10..]) == b[9] - b'0'
}

impl Iban {
    /// Parses an IBAN written with spaces, hyphens or dots, in any case, and
    /// checks country, length, BBAN format and the check digits (see
    /// [`Iban::checksum_ok`]).
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let iban = Self::parse_format(s)?;
        if iban.checksum_ok() {
            Ok(iban)
        } else {
            Err(DomainError::Checksum { what: "IBAN" })
        }
    }

    /// Like [`Iban::parse`] but without the mod-97 and national check digits,
    /// so that an IBAN with wrong check digits can still be compared and
    /// reported as invalid. Country, length and BBAN format are still checked.
    pub fn parse_format(s: &str) -> Result<Self, DomainError> {
        let compact: String = s
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '.' | '\u{a0}' | '\t'))
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if !compact.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(DomainError::Format { what: "IBAN" });
        }
        let (Some(country), Some(check)) = (compact.get(..2), compact.get(2..4)) else {
            return Err(DomainError::Length {
                what: "IBAN",
                found: compact.len(),
                expected: "the registered length for its country",
            });
        };
        let (len, format) = iban_spec(country).ok_or(DomainError::Component {
            what: "IBAN",
            component: "country",
        })?;
        if !check.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DomainError::Format { what: "IBAN" });
        }
        if compact.len() != len {
            return Err(DomainError::Length {
                what: "IBAN",
                found: compact.len(),
                expected: "the registered length for its country",
            });
        }
        if !compact
            .get(4..)
            .is_some_and(|bban| matches_format(bban, format))
        {
            return Err(DomainError::Format { what: "IBAN" });
        }
        Ok(Self(compact))
    }

    /// Whether the check digits are right: the ISO 7064 mod-97 digits, and
    /// the national check digits inside the BBAN for the countries where
    /// Sentra implements them (Spain's CCC digits so far).
    pub fn checksum_ok(&self) -> bool {
        mod97(&self.0) == 1 && self.national_ok()
    }

    /// The national check digits inside the BBAN, `true` for countries whose
    /// national scheme is not implemented.
    fn national_ok(&self) -> bool {
        match self.country() {
            "ES" => self.0.get(4..).is_some_and(spanish_ccc_ok),
            _ => true,
        }
    }

    /// Whether `s` passes only the ISO 7064 mod-97 check (after normalising), whatever its country.
    pub fn mod97_ok(s: &str) -> bool {
        let compact: String = s
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_uppercase())
            .collect();
        compact.len() >= 4 && mod97(&compact) == 1
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

/// Whether `code` is an ISO 3166-1 alpha-2 country code (plus `XK`, Kosovo,
/// which banks use although ISO has not assigned it).
pub(crate) fn is_country(code: &str) -> bool {
    COUNTRIES.binary_search(&code).is_ok()
}

/// The 249 officially assigned ISO 3166-1 alpha-2 codes plus `XK`, sorted.
const COUNTRIES: &[&str] = &[
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "XK", "YE", "YT", "ZA", "ZM", "ZW",
];

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
    fn registry_is_sorted_and_lengths_agree_with_formats() {
        assert_eq!(REGISTRY.len(), 89);
        assert!(REGISTRY.windows(2).all(|w| w[0].0 < w[1].0));
        for (country, len, format) in REGISTRY {
            let bban_len: usize = format
                .split(|c: char| c.is_ascii_alphabetic())
                .filter_map(|part| part.trim_end_matches('!').parse::<usize>().ok())
                .sum();
            assert_eq!(bban_len + 4, *len, "{country} {format}");
            assert!(is_country(country), "{country}");
        }
        assert_eq!(iban_spec("NO"), Some((15, "4!n6!n1!n")));
        assert_eq!(iban_spec("YE"), Some((30, "4!a4!n18!c")));
        // Territories use their parent's code, never their own.
        for territory in ["GP", "JE", "GG", "IM", "AX", "US", "XX"] {
            assert_eq!(iban_spec(territory), None, "{territory}");
        }
    }

    #[test]
    fn short_and_garbled_input_is_rejected_without_panicking() {
        for s in [
            "",
            "G",
            "GB2",
            "GB",
            "ÄÖ29NWBK60161331926819",
            "GB29NWBK6016133192681€",
        ] {
            assert!(Iban::parse(s).is_err(), "{s:?}");
        }
        assert!(matches!(
            Iban::parse("GBX9NWBK60161331926819"),
            Err(DomainError::Format { .. })
        ));
        assert!(matches!(
            Iban::parse("ZZ29NWBK60161331926819"),
            Err(DomainError::Component { .. })
        ));
    }

    #[test]
    fn spanish_ccc_digits_are_checked() {
        // 2100 0418 45 0200051332: D1 = 4 over 0021000418, D2 = 5 over the account.
        assert!(spanish_ccc_ok("21000418450200051332"));
        assert!(!spanish_ccc_ok("21000418450200051331"));
        assert!(!spanish_ccc_ok("21000418550200051332"));
        assert!(!spanish_ccc_ok("2100041845020005133"));
        let wrong = Iban::parse_format("ES2121000418450200051331").unwrap();
        assert!(Iban::mod97_ok(wrong.as_str()));
        assert!(!wrong.checksum_ok());
    }

    #[test]
    fn bic_checks_shape_and_country() {
        assert!(Bic::parse("NWBKGB2L").is_ok());
        assert!(Bic::parse("deutdeff500").is_ok());
        assert!(Bic::parse("BKPRXKPR").is_ok());
        assert!(matches!(
            Bic::parse("MULTIPLE"),
            Err(DomainError::Component { .. })
        ));
        assert!(Bic::parse("NWBKG").is_err());
        assert!(Bic::parse("NWB1GB2L").is_err());
        assert!(Bic::parse("ÄWBKGB2L").is_err());
    }

    #[test]
    fn country_list_is_the_full_iso_list_plus_kosovo() {
        assert_eq!(COUNTRIES.len(), 250);
        assert!(COUNTRIES.windows(2).all(|w| w[0] < w[1]));
        for c in ["AQ", "GB", "SS", "XK", "ZW", "BQ"] {
            assert!(is_country(c), "{c}");
        }
        for c in ["IP", "UK", "EU", "XX", "gb", "G"] {
            assert!(!is_country(c), "{c}");
        }
    }
}
