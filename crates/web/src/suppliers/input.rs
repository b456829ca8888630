//! Validation of supplier fields, shared by the JSON API and the CSV import
//! so that both refuse the same things with the same words. Messages never
//! repeat an account number.

use sentra_domain::bank::{
    AbaRouting, AccountNumber, BankAccount, Bic, Bsb, Iban, UkAccountNumber,
};
use serde::Deserialize;

/// Longest supplier name (the column's check).
pub const MAX_NAME: usize = 200;
/// Longest phone number (the column's check).
pub const MAX_PHONE: usize = 40;
/// Longest phone provenance note (the column's check).
pub const MAX_PHONE_SOURCE: usize = 200;
/// Most domains on one supplier.
pub const MAX_DOMAINS: usize = 50;

/// Free-mail domains are never a supplier's own: a contact writing from
/// gmail.com says nothing about which domain the supplier sends from, and
/// taking it would make every gmail sender look like the supplier.
pub const FREE_MAIL: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "hotmail.co.uk",
    "live.com",
    "live.co.uk",
    "msn.com",
    "yahoo.com",
    "yahoo.co.uk",
    "icloud.com",
    "me.com",
    "aol.com",
    "btinternet.com",
    "proton.me",
    "protonmail.com",
];

/// A trimmed, non-empty name of at most [`MAX_NAME`] characters.
pub fn name(s: &str) -> Result<String, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("the name is empty".to_owned());
    }
    if s.chars().count() > MAX_NAME {
        return Err(format!("the name is longer than {MAX_NAME} characters"));
    }
    if s.chars().any(char::is_control) {
        return Err("the name contains control characters".to_owned());
    }
    Ok(s.to_owned())
}

/// A sending domain: lowercase, without `@` or a trailing dot, with at
/// least one dot, letters, digits, hyphens and dots only.
pub fn domain(s: &str) -> Result<String, String> {
    let d = s
        .trim()
        .trim_start_matches('@')
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let ok = d.len() <= 253
        && d.contains('.')
        && d.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if ok {
        Ok(d)
    } else {
        Err(format!("{:?} is not a domain name", s.trim()))
    }
}

/// The domains of `list`, validated, without duplicates.
pub fn domains<'a>(list: impl IntoIterator<Item = &'a str>) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for d in list {
        if d.trim().is_empty() {
            continue;
        }
        let d = domain(d)?;
        if !out.contains(&d) {
            out.push(d);
        }
    }
    if out.len() > MAX_DOMAINS {
        return Err(format!("more than {MAX_DOMAINS} domains"));
    }
    Ok(out)
}

/// The domain of an email address, unless it is free mail. `None` for a
/// free-mail address; an error when it is not an address.
pub fn email_domain(address: &str) -> Result<Option<String>, String> {
    let address = address.trim();
    let Some((local, host)) = address.rsplit_once('@') else {
        return Err(format!("{address:?} is not an email address"));
    };
    if local.is_empty() {
        return Err(format!("{address:?} is not an email address"));
    }
    let d = domain(host).map_err(|_| format!("{address:?} is not an email address"))?;
    Ok((!FREE_MAIL.contains(&d.as_str())).then_some(d))
}

/// The host of a website address (`https://www.apex.co.uk/contact` →
/// `apex.co.uk`).
pub fn website_domain(url: &str) -> Result<String, String> {
    let rest = url.trim();
    let rest = rest.split_once("://").map_or(rest, |(_, after)| after);
    let host = rest.split(['/', '?', '#', ':']).next().unwrap_or_default();
    let host = host.strip_prefix("www.").unwrap_or(host);
    domain(host).map_err(|_| format!("{:?} is not a website address", url.trim()))
}

/// An ISO 3166-1 alpha-2 code, uppercase.
pub fn country(s: &str) -> Result<String, String> {
    let c = s.trim();
    if c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Ok(c.to_ascii_uppercase());
    }
    // Accounting exports often spell the country out.
    let code = match c.to_ascii_lowercase().as_str() {
        "united kingdom" | "uk" | "great britain" | "england" | "scotland" | "wales"
        | "northern ireland" => "GB",
        "ireland" | "republic of ireland" => "IE",
        "australia" => "AU",
        "new zealand" => "NZ",
        "united states" | "united states of america" | "usa" => "US",
        "canada" => "CA",
        "france" => "FR",
        "germany" => "DE",
        "spain" => "ES",
        "netherlands" => "NL",
        _ => return Err(format!("{c:?} is not an ISO 3166 two-letter country code")),
    };
    Ok(code.to_owned())
}

/// A call-back number: digits with spaces, `+`, `-`, `.`, brackets and an
/// optional `ext`, at most [`MAX_PHONE`] characters, at least 6 digits.
pub fn phone(s: &str) -> Result<String, String> {
    let p = s.split_whitespace().collect::<Vec<_>>().join(" ");
    let digits = p.bytes().filter(u8::is_ascii_digit).count();
    let allowed = p.chars().all(|c| {
        c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '.' | '(' | ')' | 'e' | 'x' | 't')
    });
    if p.chars().count() > MAX_PHONE {
        return Err(format!(
            "the phone number is longer than {MAX_PHONE} characters"
        ));
    }
    if !allowed || digits < 6 {
        return Err("not a phone number (digits, spaces, + - . ( ) only)".to_owned());
    }
    Ok(p)
}

/// Where a phone number came from: at most [`MAX_PHONE_SOURCE`] characters.
pub fn phone_source(s: &str) -> Result<Option<String>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    if s.chars().count() > MAX_PHONE_SOURCE {
        return Err(format!(
            "the phone source is longer than {MAX_PHONE_SOURCE} characters"
        ));
    }
    Ok(Some(s.to_owned()))
}

/// A bank account as the JSON API takes it, by scheme.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "scheme", rename_all = "lowercase", deny_unknown_fields)]
pub enum BankAccountIn {
    /// UK sort code and account number.
    Uk {
        /// `20-29-59`.
        sort_code: String,
        /// 6 to 10 digits.
        account_number: String,
    },
    /// IBAN with an optional BIC.
    Iban {
        /// The IBAN (check digits verified).
        iban: String,
        /// The BIC.
        bic: Option<String>,
    },
    /// Australian BSB and account.
    Au {
        /// Six digits.
        bsb: String,
        /// The account.
        account_number: String,
    },
    /// US routing and account.
    Us {
        /// Nine digits (checksum verified).
        routing_number: String,
        /// The account.
        account_number: String,
    },
}

impl BankAccountIn {
    /// The parsed account; checksums are verified where the scheme has one
    /// (IBAN mod 97, ABA). UK modulus checking needs the Vocalink tables,
    /// which the web service does not load yet.
    pub fn parse(&self) -> Result<BankAccount, String> {
        match self {
            Self::Uk {
                sort_code,
                account_number,
            } => uk(sort_code, account_number),
            Self::Iban { iban: i, bic } => iban(i, bic.as_deref()),
            Self::Au {
                bsb,
                account_number,
            } => au(bsb, account_number),
            Self::Us {
                routing_number,
                account_number,
            } => us(routing_number, account_number),
        }
    }
}

/// A UK account from its sort code and number (Vocalink standardisation).
pub fn uk(sort_code: &str, number: &str) -> Result<BankAccount, String> {
    let (sort_code, account) =
        UkAccountNumber::standardise(sort_code, number).map_err(|e| e.to_string())?;
    Ok(BankAccount::Uk { sort_code, account })
}

/// An IBAN account, check digits verified.
pub fn iban(iban: &str, bic: Option<&str>) -> Result<BankAccount, String> {
    let iban = Iban::parse(iban).map_err(|e| e.to_string())?;
    let bic = bic
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .map(Bic::parse)
        .transpose()
        .map_err(|e| e.to_string())?;
    Ok(BankAccount::Iban { iban, bic })
}

/// An Australian account.
pub fn au(bsb: &str, number: &str) -> Result<BankAccount, String> {
    Ok(BankAccount::Au {
        bsb: Bsb::parse(bsb).map_err(|e| e.to_string())?,
        account: AccountNumber::parse(number).map_err(|e| e.to_string())?,
    })
}

/// A US account, routing checksum verified.
pub fn us(routing: &str, number: &str) -> Result<BankAccount, String> {
    Ok(BankAccount::Us {
        routing: AbaRouting::parse(routing).map_err(|e| e.to_string())?,
        account: AccountNumber::parse(number).map_err(|e| e.to_string())?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_normalised_and_junk_is_refused() {
        assert_eq!(domain(" @Apex.CO.uk. "), Ok("apex.co.uk".to_owned()));
        assert!(domain("localhost").is_err());
        assert!(domain("apex .co.uk").is_err());
        assert!(domain("-apex.co.uk").is_err());
        assert_eq!(
            domains(["a.com", "A.com", "", "b.org"]),
            Ok(vec!["a.com".to_owned(), "b.org".to_owned()])
        );
    }

    #[test]
    fn free_mail_addresses_give_no_domain() {
        assert_eq!(email_domain("jo@gmail.com"), Ok(None));
        assert_eq!(
            email_domain("accounts@apex.co.uk"),
            Ok(Some("apex.co.uk".to_owned()))
        );
        assert!(email_domain("not an address").is_err());
        assert_eq!(
            website_domain("https://www.apex.co.uk/contact?x=1"),
            Ok("apex.co.uk".to_owned())
        );
    }

    #[test]
    fn phones_and_countries_are_checked() {
        assert_eq!(
            phone(" +44 20  7946 0321 "),
            Ok("+44 20 7946 0321".to_owned())
        );
        assert!(phone("call me").is_err());
        assert!(phone("123").is_err());
        assert_eq!(country("gb"), Ok("GB".to_owned()));
        assert_eq!(country("United Kingdom"), Ok("GB".to_owned()));
        assert!(country("Narnia").is_err());
    }

    #[test]
    fn bank_errors_never_repeat_the_number() {
        let bad = "GB00 NWBK 6016 1331 9268 19";
        let e = iban(bad, None).unwrap_err();
        assert!(e.contains("checksum"), "{e}");
        assert!(!e.contains("31926819"));
        assert!(us("021000022", "12345678").is_err());
        assert!(uk("20-29-59", "63748472").is_ok());
        assert!(au("062-000", "12345678").is_ok());
    }
}
