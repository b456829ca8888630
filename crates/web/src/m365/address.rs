//! The address of a mailbox to monitor, parsed strictly: it goes into Graph
//! URL paths and into the PowerShell an Exchange administrator runs, so
//! only the characters ordinary mailbox addresses use are accepted (no
//! quotes, `$`, `;`, parentheses or spaces that PowerShell would read).

use std::fmt;

/// A lower-cased `local@domain.tld` with a conservative character set.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct MailboxAddress(String);

impl MailboxAddress {
    /// Parses `s` (surrounding whitespace ignored).
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        let s = s.trim().to_ascii_lowercase();
        if s.len() > 254 {
            return Err("the address is too long");
        }
        let (local, domain) = s.rsplit_once('@').ok_or("the address needs an @")?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'+'));
        if !local_ok {
            return Err("the part before the @ may hold only letters, digits and . _ - +");
        }
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !domain_ok {
            return Err("the domain must be a name like contoso.com");
        }
        Ok(Self(s))
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The domain part.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, d)| d)
    }
}

impl fmt::Display for MailboxAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_addresses_parse_lower_cased() {
        let a = MailboxAddress::parse("  Accounts.Payable+ap@Contoso.co.uk ").unwrap();
        assert_eq!(a.as_str(), "accounts.payable+ap@contoso.co.uk");
        assert_eq!(a.domain(), "contoso.co.uk");
    }

    #[test]
    fn anything_powershell_or_a_url_could_misread_is_refused() {
        for bad in [
            "",
            "no-at-sign",
            "a@b",
            "a b@contoso.com",
            "a'b@contoso.com",
            "a$(x)@contoso.com",
            "a;b@contoso.com",
            "a/b@contoso.com",
            "\"a\"@contoso.com",
            ".a@contoso.com",
            "a..b@contoso.com",
            "a@-contoso.com",
            "a@contoso..com",
            "a@contoso.com/x",
            "a@[127.0.0.1]",
        ] {
            assert!(MailboxAddress::parse(bad).is_err(), "{bad:?}");
        }
        assert!(MailboxAddress::parse(&format!("{}@contoso.com", "a".repeat(65))).is_err());
    }
}
