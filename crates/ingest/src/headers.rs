//! What the store needs from a message before any analysis: the header
//! fields kept in clear (`Message-ID`, `From`, subject, date) and the
//! content digest that deduplicates copies of one email across mailboxes.
//! Only the header block is parsed here (cheap); the engine reads the rest.

use mail_parser::MessageParser;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// The stored header fields of one message, clipped to the column limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    /// `Message-ID`, without angle brackets.
    pub internet_message_id: Option<String>,
    /// The `From` address.
    pub from_address: Option<String>,
    /// Its domain, lowercase.
    pub from_domain: Option<String>,
    /// The subject line.
    pub subject: Option<String>,
    /// The `Date` header.
    pub date: Option<OffsetDateTime>,
    /// SHA-256 of from, subject and body: equal for copies of one email
    /// whatever transport headers each mailbox added.
    pub content_sha256: [u8; 32],
}

/// At most `max` characters of `s`, `None` when blank: the message table's
/// length checks must never turn an odd header into a failed ingest.
pub fn clip(s: Option<&str>, max: usize) -> Option<String> {
    let s = s?.trim();
    (!s.is_empty()).then(|| s.chars().take(max).collect())
}

/// The bytes after the header block (after the first empty line), or
/// nothing when there is none.
fn body_of(raw: &[u8]) -> &[u8] {
    let crlf = raw.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4);
    let lf = raw.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    let start = match (crlf, lf) {
        (Some(a), Some(b)) => a.min(b),
        (Some(a), None) | (None, Some(a)) => a,
        (None, None) => raw.len(),
    };
    raw.get(start..).unwrap_or_default()
}

/// Reads the header block of `raw`. Never fails: unreadable headers leave
/// the fields empty (the engine then reports the message as unparseable).
pub fn read(raw: &[u8]) -> Meta {
    let parsed = MessageParser::new().parse_headers(raw);
    let message_id = parsed.as_ref().and_then(|m| m.message_id());
    let from = parsed
        .as_ref()
        .and_then(|m| m.from())
        .and_then(|a| a.first())
        .and_then(|a| a.address());
    let subject = parsed.as_ref().and_then(|m| m.subject());
    let date = parsed
        .as_ref()
        .and_then(|m| m.date())
        .and_then(|d| OffsetDateTime::from_unix_timestamp(d.to_timestamp()).ok());
    let from_address = clip(from, 320);
    let from_domain = from_address
        .as_deref()
        .and_then(|a| a.rsplit_once('@'))
        .and_then(|(_, d)| clip(Some(&d.to_ascii_lowercase()), 255));
    let mut h = Sha256::new();
    h.update(from.unwrap_or_default().to_ascii_lowercase().as_bytes());
    h.update([0]);
    h.update(subject.unwrap_or_default().as_bytes());
    h.update([0]);
    h.update(body_of(raw));
    Meta {
        internet_message_id: clip(message_id, 998),
        from_address,
        from_domain,
        subject: clip(subject, 2000),
        date,
        content_sha256: h.finalize().into(),
    }
}

/// Lowercase hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const EML: &str = "Received: from a by b\r\nMessage-ID: <1@apex.example>\r\nFrom: Apex <Accounts@Apex.example>\r\nSubject: Invoice 42\r\nDate: Thu, 26 Nov 2026 09:00:00 +0000\r\n\r\nPlease pay.\r\n";

    #[test]
    fn header_fields_are_read_and_the_domain_lowercased() {
        let m = read(EML.as_bytes());
        assert_eq!(m.internet_message_id.as_deref(), Some("1@apex.example"));
        assert_eq!(m.from_address.as_deref(), Some("Accounts@Apex.example"));
        assert_eq!(m.from_domain.as_deref(), Some("apex.example"));
        assert_eq!(m.subject.as_deref(), Some("Invoice 42"));
        assert!(m.date.is_some());
    }

    #[test]
    fn the_digest_ignores_transport_headers_but_not_the_body() {
        let a = read(EML.as_bytes());
        let other_hop = EML.replace("Received: from a by b", "Received: from c by d");
        assert_eq!(read(other_hop.as_bytes()).content_sha256, a.content_sha256);
        let forged = EML.replace("Please pay.", "Please pay the new account.");
        assert_ne!(read(forged.as_bytes()).content_sha256, a.content_sha256);
    }

    #[test]
    fn garbage_gives_empty_fields_not_a_panic() {
        let m = read(b"\xff\xfe not an email");
        assert_eq!(m.internet_message_id, None);
        assert_eq!(clip(Some("   "), 3), None);
        assert_eq!(clip(Some("ééé"), 2).as_deref(), Some("éé"));
    }
}
