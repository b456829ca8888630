//! MIME parsing into the owned, engine-shaped view of a message.
//!
//! mail-parser does the RFC 5322/MIME work (encoded words, charsets,
//! transfer encodings, nested multiparts). This module decides what the rest of
//! the engine sees: the addresses that matter, thread headers, the receiving
//! server's authentication results, the *fresh* text of the body (quoted reply
//! history is kept apart, forwarded content is kept in), links with their real
//! targets, and attachments with their text and risks.

use crate::attachment::{self, DocKind, ExtractError, RiskyReason, TextExtractor};
use crate::html::{self, Link};
use mail_parser::{Address, MessageParser, MimeHeaders, PartType};
use sentra_domain::EmailAddress;
use time::OffsetDateTime;

/// Largest message the engine reads; bigger ones are analysed on their first
/// 25 MiB (Exchange's own default limit is 25 MB for the whole message).
pub const MAX_MESSAGE_BYTES: usize = 25 * 1024 * 1024;

/// Cap on decoded body text kept for analysis, per message.
const MAX_TEXT_CHARS: usize = 512 * 1024;

/// A display name and address as written in a header.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Mailbox {
    /// The display name, decoded (RFC 2047), if any.
    pub name: Option<String>,
    /// The address, if it parses.
    pub address: Option<EmailAddress>,
}

impl Mailbox {
    /// The lower-cased domain of the address.
    pub fn domain(&self) -> Option<&str> {
        self.address.as_ref().map(EmailAddress::domain)
    }
}

/// An attachment with what the engine learned from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentInfo {
    /// The file name, as given (may contain tricks such as right-to-left overrides).
    pub name: String,
    /// The declared content type (`application/pdf`).
    pub content_type: String,
    /// The kind decided from the bytes.
    pub kind: DocKind,
    /// Size in bytes.
    pub size: usize,
    /// Why it is dangerous, if it is.
    pub risky: Vec<RiskyReason>,
    /// Its text, when it is a kind Sentra reads (`None` for images and the like).
    pub text: Option<Result<String, ExtractError>>,
}

/// The parsed message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedMessage {
    /// `Message-ID`, with angle brackets (`<...>`).
    pub message_id: Option<String>,
    /// `Date`, when present and valid.
    pub date: Option<OffsetDateTime>,
    /// `From` (the first mailbox).
    pub from: Option<Mailbox>,
    /// `Sender`, when different from `From`.
    pub sender: Option<Mailbox>,
    /// `Reply-To` mailboxes.
    pub reply_to: Vec<Mailbox>,
    /// `To` and `Cc` mailboxes.
    pub recipients: Vec<Mailbox>,
    /// `Subject`, decoded.
    pub subject: String,
    /// `In-Reply-To` message ids.
    pub in_reply_to: Vec<String>,
    /// `References` message ids.
    pub references: Vec<String>,
    /// Raw `Authentication-Results` values, top-most first.
    pub authentication_results: Vec<String>,
    /// Whether the message carries bulk-mail markers (`List-Unsubscribe`,
    /// `List-Id`, `Precedence: bulk/list`).
    pub bulk: bool,
    /// The fresh text of the body: text parts (or HTML converted), without
    /// quoted reply history but with forwarded content.
    pub body_text: String,
    /// Quoted reply history removed from `body_text`.
    pub quoted_text: String,
    /// When the body forwards another message: the original sender from the
    /// forwarded header block (`From: Apex <accounts@apex.co.uk>`).
    pub forwarded_from: Option<Mailbox>,
    /// Links from HTML parts and URLs in text parts.
    pub links: Vec<Link>,
    /// Attachments, including the text of attached messages.
    pub attachments: Vec<AttachmentInfo>,
}

/// Why bytes could not be read as an email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseFailure {
    /// No bytes.
    Empty,
    /// No header section at all.
    NoHeaders,
    /// Binary data rather than text.
    Binary,
    /// The MIME parser failed unexpectedly (a bug in a dependency; contained).
    ParserFailure,
}

impl std::fmt::Display for ParseFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Empty => "the file is empty",
            Self::NoHeaders => "no email headers were found",
            Self::Binary => "the file is binary data, not an email",
            Self::ParserFailure => "the MIME parser failed on this message",
        })
    }
}

/// Parses raw bytes. Never panics. PDFs go through `pdf`.
pub fn parse(raw: &[u8], pdf: &dyn TextExtractor) -> Result<ParsedMessage, ParseFailure> {
    let raw = raw.get(..MAX_MESSAGE_BYTES).unwrap_or(raw);
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(ParseFailure::Empty);
    }
    if looks_binary(raw) {
        return Err(ParseFailure::Binary);
    }
    // mail-parser promises not to panic; a contained unwind turns a broken
    // promise into an `unparseable` verdict instead of a crashed scan.
    let parsed = std::panic::catch_unwind(|| MessageParser::default().parse(raw))
        .map_err(|_| ParseFailure::ParserFailure)?;
    let msg = parsed.ok_or(ParseFailure::NoHeaders)?;
    if !has_real_headers(&msg) {
        return Err(ParseFailure::NoHeaders);
    }
    Ok(build(&msg, pdf, 0))
}

/// An email starts with header fields; a file that merely contains a colon
/// somewhere is not one. Require at least one header Sentra knows.
fn has_real_headers(msg: &mail_parser::Message<'_>) -> bool {
    msg.headers().iter().any(|h| {
        matches!(
            h.name().to_ascii_lowercase().as_str(),
            "from"
                | "to"
                | "subject"
                | "date"
                | "message-id"
                | "received"
                | "mime-version"
                | "content-type"
                | "reply-to"
                | "sender"
        )
    })
}

/// NUL bytes in the first kilobyte mean an executable, image or archive.
fn looks_binary(raw: &[u8]) -> bool {
    raw.iter().take(1024).any(|&b| b == 0)
}

fn build(msg: &mail_parser::Message<'_>, pdf: &dyn TextExtractor, depth: usize) -> ParsedMessage {
    let mut out = ParsedMessage {
        message_id: msg
            .message_id()
            .map(|id| format!("<{}>", id.trim_matches(['<', '>']))),
        date: msg
            .date()
            .and_then(|d| OffsetDateTime::from_unix_timestamp(d.to_timestamp()).ok()),
        from: msg.from().and_then(first_mailbox),
        sender: msg.sender().and_then(first_mailbox),
        reply_to: msg.reply_to().map(mailboxes).unwrap_or_default(),
        subject: msg.subject().unwrap_or_default().trim().to_owned(),
        in_reply_to: ids(msg.in_reply_to()),
        references: ids(msg.references()),
        ..ParsedMessage::default()
    };
    out.recipients = msg.to().map(mailboxes).unwrap_or_default();
    out.recipients
        .extend(msg.cc().map(mailboxes).unwrap_or_default());
    for (name, value) in msg.headers_raw() {
        let lower = name.to_ascii_lowercase();
        match lower.as_str() {
            "authentication-results" => out.authentication_results.push(unfold(value)),
            "list-unsubscribe" | "list-id" => out.bulk = true,
            "precedence" => {
                let v = value.trim().to_ascii_lowercase();
                out.bulk |= v == "bulk" || v == "list" || v == "junk";
            }
            _ => {}
        }
    }

    let mut text = String::new();
    let mut html_text = String::new();
    for part in msg.text_bodies() {
        match &part.body {
            PartType::Text(t) => push_capped(&mut text, t),
            PartType::Html(h) => {
                let converted = html::html_to_text(h);
                push_capped(&mut html_text, &converted.text);
            }
            _ => {}
        }
    }
    for part in msg.html_bodies() {
        if let PartType::Html(h) = &part.body {
            let converted = html::html_to_text(h);
            out.links.extend(converted.links);
            if text.is_empty() && html_text.is_empty() {
                push_capped(&mut html_text, &converted.text);
            }
        }
    }
    let body = if text.trim().is_empty() {
        html_text
    } else {
        text
    };
    out.links.extend(text_urls(&body));
    let split = split_quoted(&body, &out.subject);
    out.body_text = split.fresh;
    out.quoted_text = split.quoted;
    out.forwarded_from = split.forwarded_from;

    for part in msg.attachments() {
        attach(&mut out, part, pdf, depth);
    }
    out
}

fn attach(
    out: &mut ParsedMessage,
    part: &mail_parser::MessagePart<'_>,
    pdf: &dyn TextExtractor,
    depth: usize,
) {
    let content_type = part
        .content_type()
        .map(|ct| match &ct.c_subtype {
            Some(sub) => format!("{}/{}", ct.c_type, sub),
            None => ct.c_type.to_string(),
        })
        .unwrap_or_default()
        .to_ascii_lowercase();
    let name = part.attachment_name().map(str::to_owned);
    match &part.body {
        PartType::Message(inner) => {
            // An attached email (forward as attachment): its text is content,
            // and its own attachments are this message's attachments too.
            if depth < 3 {
                let nested = build(inner, pdf, depth + 1);
                let label = name.unwrap_or_else(|| nested.subject.clone());
                let mut text = nested.body_text;
                if let Some(from) = nested.from.as_ref().and_then(|f| f.address.as_ref()) {
                    text = format!("From: {from}\nSubject: {}\n{text}", nested.subject);
                }
                out.attachments.push(AttachmentInfo {
                    name: if label.is_empty() {
                        "forwarded message".to_owned()
                    } else {
                        label
                    },
                    content_type: "message/rfc822".to_owned(),
                    kind: DocKind::Text,
                    size: part.len(),
                    risky: Vec::new(),
                    text: Some(Ok(text)),
                });
                out.attachments.extend(nested.attachments);
                out.links.extend(nested.links);
                if out.forwarded_from.is_none() {
                    out.forwarded_from = nested.from;
                }
            }
        }
        PartType::Multipart(_) => {}
        body => {
            let bytes: &[u8] = match body {
                PartType::Text(t) | PartType::Html(t) => t.as_bytes(),
                PartType::Binary(b) | PartType::InlineBinary(b) => b,
                _ => &[],
            };
            let kind = attachment::sniff(name.as_deref(), &content_type, bytes);
            let risky = attachment::risky_reasons(name.as_deref(), &content_type, bytes);
            let text = match kind {
                DocKind::Other => None,
                _ => Some(attachment::text_of(kind, bytes, pdf)),
            };
            out.attachments.push(AttachmentInfo {
                name: name.unwrap_or_else(|| format!("unnamed {content_type}")),
                content_type,
                kind,
                size: bytes.len(),
                risky,
                text,
            });
        }
    }
}

/// A file name safe to show: control characters and bidirectional overrides
/// (which can make `fdp.exe` display as `exe.pdf`) are replaced with `�`.
pub fn display_safe(name: &str) -> String {
    name.replace(
        |c: char| {
            c.is_control()
                || ('\u{202a}'..='\u{202e}').contains(&c)
                || ('\u{2066}'..='\u{2069}').contains(&c)
        },
        "\u{fffd}",
    )
}

fn push_capped(buf: &mut String, s: &str) {
    if buf.len() >= MAX_TEXT_CHARS {
        return;
    }
    if !buf.is_empty() {
        buf.push('\n');
    }
    let room = MAX_TEXT_CHARS - buf.len();
    let mut end = s.len().min(room);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    buf.push_str(s.get(..end).unwrap_or_default());
}

fn first_mailbox(addr: &Address<'_>) -> Option<Mailbox> {
    mailboxes(addr).into_iter().next()
}

fn mailboxes(addr: &Address<'_>) -> Vec<Mailbox> {
    addr.iter()
        .map(|a| Mailbox {
            name: a
                .name()
                .map(|n| n.trim().trim_matches('"').trim().to_owned())
                .filter(|n| !n.is_empty()),
            address: a.address().and_then(|s| EmailAddress::parse(s).ok()),
        })
        .filter(|m| m.name.is_some() || m.address.is_some())
        .collect()
}

fn ids(value: &mail_parser::HeaderValue<'_>) -> Vec<String> {
    let list: Vec<&str> = match value {
        mail_parser::HeaderValue::Text(t) => vec![t.as_ref()],
        mail_parser::HeaderValue::TextList(l) => l.iter().map(AsRef::as_ref).collect(),
        _ => Vec::new(),
    };
    list.into_iter()
        .map(|id| format!("<{}>", id.trim().trim_matches(['<', '>'])))
        .filter(|id| id.len() > 2)
        .collect()
}

fn unfold(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// URLs written in plain text (`https://…`), as links whose text is the URL.
fn text_urls(text: &str) -> Vec<Link> {
    let mut links = Vec::new();
    for (start, _) in text.match_indices("http") {
        let rest = text.get(start..).unwrap_or_default();
        if !(rest.starts_with("http://") || rest.starts_with("https://")) {
            continue;
        }
        let end = rest
            .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | ')' | ']'))
            .unwrap_or(rest.len());
        let url = rest
            .get(..end)
            .unwrap_or_default()
            .trim_end_matches(['.', ',', ';']);
        if url.len() > 10 && !links.iter().any(|l: &Link| l.href == url) {
            links.push(Link {
                href: url.to_owned(),
                text: url.to_owned(),
            });
        }
        if links.len() >= 200 {
            break;
        }
    }
    links
}

/// The body split into what the sender wrote now and the history it quotes.
struct Split {
    fresh: String,
    quoted: String,
    forwarded_from: Option<Mailbox>,
}

/// Separates quoted reply history from fresh text. Forwarded messages keep
/// their forwarded content as fresh text (that *is* the content), and the
/// original sender is read from the forwarded header block.
fn split_quoted(body: &str, subject: &str) -> Split {
    let subject_lower = subject.to_ascii_lowercase();
    let is_forward = subject_lower.starts_with("fw:")
        || subject_lower.starts_with("fwd:")
        || subject_lower.starts_with("fw ");
    let mut fresh = String::with_capacity(body.len());
    let mut quoted = String::new();
    let mut forwarded_from = None;
    let mut in_history = false;
    let mut lines = body.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim();
        let lower = trimmed.to_ascii_lowercase();
        let forward_marker = lower.contains("forwarded message")
            || (is_forward && lower.contains("original message"));
        if forward_marker {
            // Content below a forward marker is the message being forwarded.
            if forwarded_from.is_none() {
                forwarded_from = find_forwarded_from(&mut lines.clone());
            }
            fresh.push_str(line);
            fresh.push('\n');
            continue;
        }
        if !in_history && !is_forward {
            let outlook_block = lower.starts_with("from:")
                && lines.peek().is_some_and(|n| {
                    let n = n.trim().to_ascii_lowercase();
                    n.starts_with("sent:") || n.starts_with("date:")
                });
            let wrote = lower.starts_with("on ") && lower.ends_with("wrote:");
            let original = lower.contains("-----original message-----");
            if outlook_block || wrote || original {
                in_history = true;
            }
        }
        if in_history || trimmed.starts_with('>') {
            quoted.push_str(line);
            quoted.push('\n');
        } else {
            fresh.push_str(line);
            fresh.push('\n');
        }
    }
    if is_forward && forwarded_from.is_none() {
        forwarded_from = find_forwarded_from(&mut body.lines().peekable());
    }
    Split {
        fresh,
        quoted,
        forwarded_from,
    }
}

fn find_forwarded_from<'a>(lines: &mut (impl Iterator<Item = &'a str> + Clone)) -> Option<Mailbox> {
    for line in lines.take(12) {
        let trimmed = line.trim().trim_start_matches('>').trim();
        let Some(rest) = trimmed
            .strip_prefix("From:")
            .or_else(|| trimmed.strip_prefix("from:"))
        else {
            continue;
        };
        let rest = rest.trim().replace('*', "");
        let (name, addr) = match (rest.rfind('<'), rest.rfind('>')) {
            (Some(open), Some(close)) if open < close => (
                rest.get(..open)
                    .map(|n| n.trim().trim_matches('"').trim().to_owned()),
                rest.get(open + 1..close).unwrap_or_default().to_owned(),
            ),
            _ => (None, rest.clone()),
        };
        let address = EmailAddress::parse(&addr).ok();
        if address.is_some() {
            return Some(Mailbox {
                name: name.filter(|n| !n.is_empty()),
                address,
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NoPdfExtractor;

    fn p(raw: &str) -> ParsedMessage {
        parse(raw.as_bytes(), &NoPdfExtractor).unwrap()
    }

    #[test]
    fn parses_encoded_headers_and_addresses() {
        let m = p(
            "From: =?utf-8?q?Apex_Scaffolding_Lt=C3=B0?= <Accounts@ApexScaffolding.co.uk>\r\nReply-To: pay@other.com\r\nTo: accounts@builder.co.uk\r\nSubject: =?utf-8?b?SW52b2ljZSBJTlYtMjA0MzE=?=\r\nMessage-ID: <abc@apex>\r\nDate: Mon, 2 Nov 2026 09:14:00 +0000\r\n\r\nHello\r\n",
        );
        assert_eq!(m.subject, "Invoice INV-20431");
        let from = m.from.unwrap();
        assert_eq!(from.name.as_deref(), Some("Apex Scaffolding Ltð"));
        assert_eq!(from.domain(), Some("apexscaffolding.co.uk"));
        assert_eq!(m.reply_to[0].domain(), Some("other.com"));
        assert_eq!(m.message_id.as_deref(), Some("<abc@apex>"));
        assert_eq!(m.date.unwrap().unix_timestamp(), 1_793_610_840);
    }

    #[test]
    fn quoted_reply_history_is_kept_apart_from_fresh_text() {
        let m = p(
            "From: a@b.com\nSubject: Re: invoice\n\nPlease use our new account.\n\nOn Mon, 2 Nov 2026, Bob <bob@c.com> wrote:\n> Sort code 20-29-59\n> thanks\n",
        );
        assert!(m.body_text.contains("new account"));
        assert!(!m.body_text.contains("20-29-59"));
        assert!(m.quoted_text.contains("20-29-59"));
    }

    #[test]
    fn forwarded_content_stays_and_names_the_original_sender() {
        let m = p(
            "From: clerk@builder.co.uk\nSubject: Fw: Invoice 123\n\nFYI\n\n---------- Forwarded message ---------\nFrom: Apex Accounts <accounts@apexscaffold1ng.co.uk>\nDate: Mon, 2 Nov 2026\nSubject: Invoice 123\n\nSort code 20-29-59\n",
        );
        assert!(m.body_text.contains("20-29-59"));
        assert_eq!(
            m.forwarded_from.unwrap().domain(),
            Some("apexscaffold1ng.co.uk")
        );
    }

    #[test]
    fn bulk_markers_and_authentication_results_are_collected_in_order() {
        let m = p(
            "Authentication-Results: mx.example.com; spf=fail\nAuthentication-Results: other; dkim=pass\nList-Unsubscribe: <mailto:x@y>\nFrom: a@b.com\nSubject: hi\n\nbody\n",
        );
        assert!(m.bulk);
        assert_eq!(
            m.authentication_results,
            vec!["mx.example.com; spf=fail", "other; dkim=pass"]
        );
    }

    #[test]
    fn html_only_mail_gives_text_and_links() {
        let m = p(
            "From: a@b.com\nSubject: hi\nContent-Type: text/html\n\n<p>Pay here</p><a href=\"https://evil.example/pay\">portal</a>\n",
        );
        assert!(m.body_text.contains("Pay here"));
        assert!(m.links.iter().any(|l| l.href == "https://evil.example/pay"));
    }

    #[test]
    fn garbage_is_rejected_with_a_reason_not_a_panic() {
        assert_eq!(parse(b"", &NoPdfExtractor), Err(ParseFailure::Empty));
        assert_eq!(
            parse(b"\x00\x01\x02binary", &NoPdfExtractor),
            Err(ParseFailure::Binary)
        );
        assert_eq!(
            parse(b"just some words without headers", &NoPdfExtractor),
            Err(ParseFailure::NoHeaders)
        );
    }
}
