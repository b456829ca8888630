//! UK sort codes and account numbers, with the Vocalink standardisation of
//! non-standard account lengths.

use crate::DomainError;
use std::fmt;

/// A six-digit UK sort code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SortCode(String);

impl SortCode {
    /// Parses `20-29-59`, `20 29 59` or `202959`.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let digits: String = s
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '\u{a0}'))
            .collect();
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DomainError::Format { what: "sort code" });
        }
        if digits.len() != 6 {
            return Err(DomainError::Length {
                what: "sort code",
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

impl fmt::Display for SortCode {
    /// `20-29-59`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}-{}", &self.0[0..2], &self.0[2..4], &self.0[4..6])
    }
}

/// A UK account number standardised to eight digits.
///
/// Vocalink's rules for non-standard lengths: six and seven digits are padded
/// with leading zeros; ten-digit numbers keep their last eight digits
/// (`NatWest`), except Co-operative Bank ones, which keep their first eight.
/// Nine-digit Santander numbers need the sort code changed, and telling a
/// Co-operative number apart needs the sort code, so both are handled by
/// [`UkAccountNumber::standardise`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UkAccountNumber(String);

impl UkAccountNumber {
    /// Parses 6 to 10 digits (spaces and hyphens ignored) and standardises to 8.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let digits: String = s
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '\u{a0}'))
            .collect();
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DomainError::Format {
                what: "account number",
            });
        }
        match digits.len() {
            6 | 7 => Ok(Self(format!("{digits:0>8}"))),
            8 => Ok(Self(digits)),
            10 => Ok(Self(digits[2..].to_owned())),
            n => Err(DomainError::Length {
                what: "account number",
                found: n,
                expected: "6 to 8 or 10 digits",
            }),
        }
    }

    /// Standardises a sort code and account number pair, including the
    /// nine-digit Santander form (the first account digit replaces the last
    /// sort code digit) and ten-digit Co-operative Bank numbers (sort codes
    /// 08-00-00 to 08-99-99 outside Citibank's 08-30-xx, first eight digits).
    pub fn standardise(
        sort_code: &str,
        account: &str,
    ) -> Result<(SortCode, UkAccountNumber), DomainError> {
        let digits: String = account
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '\u{a0}'))
            .collect();
        if digits.len() == 9 && digits.bytes().all(|b| b.is_ascii_digit()) {
            let sort = SortCode::parse(sort_code)?;
            let new_sort = format!("{}{}", &sort.as_str()[..5], &digits[..1]);
            return Ok((SortCode(new_sort), UkAccountNumber(digits[1..].to_owned())));
        }
        let sort = SortCode::parse(sort_code)?;
        if digits.len() == 10
            && digits.bytes().all(|b| b.is_ascii_digit())
            && sort.as_str().starts_with("08")
            && !sort.as_str().starts_with("083")
        {
            return Ok((sort, UkAccountNumber(digits[..8].to_owned())));
        }
        Ok((sort, UkAccountNumber::parse(&digits)?))
    }

    /// The eight digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_code_spellings_normalise() {
        for s in ["20-29-59", "20 29 59", "202959", " 20-29-59 "] {
            assert_eq!(SortCode::parse(s).unwrap().as_str(), "202959");
        }
        assert_eq!(SortCode::parse("202959").unwrap().to_string(), "20-29-59");
        assert!(SortCode::parse("20295").is_err());
    }

    #[test]
    fn account_numbers_standardise_to_eight_digits() {
        assert_eq!(
            UkAccountNumber::parse("123456").unwrap().as_str(),
            "00123456"
        );
        assert_eq!(
            UkAccountNumber::parse("1234567").unwrap().as_str(),
            "01234567"
        );
        assert_eq!(
            UkAccountNumber::parse("0112345678").unwrap().as_str(),
            "12345678"
        );
        let (s, a) = UkAccountNumber::standardise("09-01-26", "123456789").unwrap();
        assert_eq!((s.as_str(), a.as_str()), ("090121", "23456789"));
        assert!(UkAccountNumber::parse("12345").is_err());
    }

    #[test]
    fn ten_digit_co_operative_numbers_keep_their_first_eight_digits() {
        let (_, a) = UkAccountNumber::standardise("08-92-99", "1234567890").unwrap();
        assert_eq!(a.as_str(), "12345678");
        // Citibank's 08-30-xx and NatWest keep the last eight.
        let (_, a) = UkAccountNumber::standardise("08-30-01", "1234567890").unwrap();
        assert_eq!(a.as_str(), "34567890");
        let (_, a) = UkAccountNumber::standardise("60-16-13", "1234567890").unwrap();
        assert_eq!(a.as_str(), "34567890");
        assert!(UkAccountNumber::standardise("08-92-99", "12345678901").is_err());
        assert!(UkAccountNumber::standardise("08-92-9", "1234567890").is_err());
    }
}
