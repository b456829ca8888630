//! Money amounts as exact decimal minor units with an ISO 4217 currency.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An ISO 4217 currency code (three upper-case letters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

impl Currency {
    /// Pound sterling.
    pub const GBP: Currency = Currency(*b"GBP");
    /// Euro.
    pub const EUR: Currency = Currency(*b"EUR");
    /// US dollar.
    pub const USD: Currency = Currency(*b"USD");
    /// Australian dollar.
    pub const AUD: Currency = Currency(*b"AUD");

    /// Parses a three-letter code, case-insensitively.
    pub fn parse(s: &str) -> Option<Self> {
        let b = s.trim().as_bytes();
        if b.len() == 3 && b.iter().all(u8::is_ascii_alphabetic) {
            Some(Self([
                b[0].to_ascii_uppercase(),
                b[1].to_ascii_uppercase(),
                b[2].to_ascii_uppercase(),
            ]))
        } else {
            None
        }
    }

    /// The code as a string slice.
    pub fn as_str(&self) -> &str {
        // The bytes are always ASCII letters (checked in `parse`), so this cannot fail.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| serde::de::Error::custom("invalid currency code"))
    }
}

/// An exact amount in hundredths (all currencies Sentra handles use two decimals).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Money {
    /// Amount in minor units (pence, cents).
    pub minor: i64,
    /// Its currency.
    pub currency: Currency,
}

impl Money {
    /// Builds an amount from minor units.
    pub const fn new(minor: i64, currency: Currency) -> Self {
        Self { minor, currency }
    }

    /// The amount as a plain decimal string with two decimals (`"4860.00"`).
    pub fn decimal_string(&self) -> String {
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        format!("{sign}{}.{:02}", abs / 100, abs % 100)
    }

    /// The amount as a float, for statistics only (never for arithmetic on money).
    pub fn as_f64(&self) -> f64 {
        self.minor as f64 / 100.0
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.currency, self.decimal_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_formats_with_two_decimals_and_sign() {
        assert_eq!(
            Money::new(486_000, Currency::GBP).decimal_string(),
            "4860.00"
        );
        assert_eq!(Money::new(5, Currency::EUR).decimal_string(), "0.05");
        assert_eq!(Money::new(-1234, Currency::USD).to_string(), "USD -12.34");
    }

    #[test]
    fn currency_parse_rejects_non_letters() {
        assert_eq!(Currency::parse("gbp"), Some(Currency::GBP));
        assert_eq!(Currency::parse("G1P"), None);
        assert_eq!(Currency::parse("EURO"), None);
    }
}
