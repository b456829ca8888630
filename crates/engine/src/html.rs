//! HTML to text, keeping what matters for fraud detection: table cells stay
//! apart (an IBAN in one cell and a name in the next must not run together)
//! and link targets are kept, because a link's real destination is evidence.
//!
//! This is a single forward scanner, not a DOM parser: mail HTML is often
//! broken, and all we need is the visible text in reading order. Each byte is
//! looked at a bounded number of times, so the conversion is linear in the
//! input whatever the markup, and it never panics. Where browsers have a rule
//! for broken markup (a tag left open at the end of input is dropped, a `<`
//! not followed by a letter is text) the scanner follows it, so the text is
//! what the recipient saw.

mod entities;

/// A hyperlink found in HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The `href` value, entity-decoded.
    pub href: String,
    /// The visible text of the link.
    pub text: String,
}

/// Text and links extracted from an HTML document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HtmlText {
    /// Readable text: block elements end lines, table cells are separated by
    /// ` | `, scripts and styles are dropped, entities are decoded. A web or
    /// `mailto:` link whose target differs from its visible text is written as
    /// `text <href>`, so whoever reads the text sees where it really goes.
    pub text: String,
    /// Every `<a href>` in document order.
    pub links: Vec<Link>,
}

/// Converts HTML to text. Never panics; tolerates any malformed markup; time
/// is linear in the input.
pub fn html_to_text(html: &str) -> HtmlText {
    let bytes = html.as_bytes();
    let mut w = Writer::with_capacity(html.len() / 2);
    let mut pos = 0;
    while pos < bytes.len() {
        let Some(off) = bytes
            .get(pos..)
            .and_then(|rest| memchr::memchr2(b'<', b'&', rest))
        else {
            w.push_str(html.get(pos..).unwrap_or_default());
            break;
        };
        let at = pos + off;
        w.push_str(html.get(pos..at).unwrap_or_default());
        if bytes.get(at) == Some(&b'&') {
            if let Some((c, len)) = entities::decode_entity(html, at, false) {
                w.push_char(c);
                pos = at + len;
            } else {
                w.push_char('&');
                pos = at + 1;
            }
        } else {
            pos = markup(html, at, &mut w);
        }
    }
    w.finish()
}

/// What an element means for the text layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Content never shown (`script`, `style`, `title`…): skipped to its end tag.
    Skip(&'static [u8]),
    /// Starts and ends a line.
    Line,
    /// Starts and ends a paragraph (a blank line).
    Paragraph,
    /// A table cell: cells on one line are joined with ` | `.
    Cell,
    /// A hyperlink.
    Anchor,
    /// Preformatted text: newlines in it are kept.
    Pre,
    /// Anything else: inline, no effect on layout.
    Inline,
}

fn classify(name: &[u8]) -> Kind {
    let mut buf = [0u8; 10];
    if name.len() > buf.len() {
        return Kind::Inline;
    }
    for (d, s) in buf.iter_mut().zip(name) {
        *d = s.to_ascii_lowercase();
    }
    match buf.get(..name.len()).unwrap_or_default() {
        b"script" => Kind::Skip(b"script"),
        b"style" => Kind::Skip(b"style"),
        b"title" => Kind::Skip(b"title"),
        b"template" => Kind::Skip(b"template"),
        b"iframe" => Kind::Skip(b"iframe"),
        b"noembed" => Kind::Skip(b"noembed"),
        b"noframes" => Kind::Skip(b"noframes"),
        b"a" => Kind::Anchor,
        b"td" | b"th" => Kind::Cell,
        b"pre" | b"listing" | b"xmp" => Kind::Pre,
        b"p" | b"h1" | b"h2" | b"h3" | b"h4" | b"h5" | b"h6" | b"table" | b"blockquote" | b"ul"
        | b"ol" | b"dl" | b"hr" => Kind::Paragraph,
        b"br" | b"div" | b"tr" | b"li" | b"dt" | b"dd" | b"address" | b"article" | b"aside"
        | b"body" | b"caption" | b"center" | b"details" | b"dialog" | b"dir" | b"fieldset"
        | b"figcaption" | b"figure" | b"footer" | b"form" | b"header" | b"legend" | b"main"
        | b"menu" | b"nav" | b"option" | b"section" | b"summary" | b"tbody" | b"thead"
        | b"tfoot" | b"html" => Kind::Line,
        _ => Kind::Inline,
    }
}

/// Handles the markup starting at `at` (a `<`) and returns where scanning
/// resumes.
fn markup(html: &str, at: usize, w: &mut Writer) -> usize {
    let b = html.as_bytes();
    match b.get(at + 1) {
        Some(b'!') => {
            if b.get(at..at + 4) == Some(b"<!--") {
                let body = at + 4;
                // `<!-->` and `<!--->` are complete (empty) comments.
                if b.get(body) == Some(&b'>') {
                    return body + 1;
                }
                if b.get(body..body + 2) == Some(b"->") {
                    return body + 2;
                }
                // An unclosed comment hides the rest of the document.
                return find(b, body, b"-->").map_or(b.len(), |i| i + 3);
            }
            if b.get(at..at + 9)
                .is_some_and(|s| s.eq_ignore_ascii_case(b"<![cdata["))
            {
                return find(b, at + 9, b"]]>").map_or(b.len(), |i| i + 3);
            }
            skip_past_gt(b, at + 2)
        }
        Some(b'?') => skip_past_gt(b, at + 2),
        Some(b'/') => match b.get(at + 2) {
            Some(c) if c.is_ascii_alphabetic() => {
                let name_end = scan_name(b, at + 2);
                let kind = classify(b.get(at + 2..name_end).unwrap_or_default());
                let Some((end, _)) = parse_attributes(b, name_end, false) else {
                    return b.len();
                };
                w.end_tag(kind);
                end
            }
            Some(b'>') => at + 3,
            None => {
                w.push_str("</");
                b.len()
            }
            // `</` followed by anything else opens a bogus comment.
            Some(_) => skip_past_gt(b, at + 2),
        },
        Some(c) if c.is_ascii_alphabetic() => {
            let name_end = scan_name(b, at + 1);
            let kind = classify(b.get(at + 1..name_end).unwrap_or_default());
            // A tag still open at the end of input is dropped, as browsers do.
            let Some((end, href)) = parse_attributes(b, name_end, kind == Kind::Anchor) else {
                return b.len();
            };
            match kind {
                Kind::Skip(name) => find_end_tag(b, end, name)
                    .map_or(b.len(), |lt| skip_past_gt(b, lt + 2 + name.len())),
                Kind::Anchor => {
                    if let Some(raw) = href.and_then(|(s, e)| html.get(s..e)) {
                        w.open_link(clean_href(&entities::decode_attribute(raw)));
                    }
                    end
                }
                _ => {
                    w.start_tag(kind);
                    end
                }
            }
        }
        _ => {
            w.push_char('<');
            at + 1
        }
    }
}

fn is_html_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c')
}

/// End of a tag name starting at `i`.
fn scan_name(b: &[u8], mut i: usize) -> usize {
    while b
        .get(i)
        .is_some_and(|&c| !is_html_space(c) && c != b'/' && c != b'>')
    {
        i += 1;
    }
    i
}

/// Position of the first `needle` at or after `from`.
fn find(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    let rest = b.get(from..)?;
    memchr::memmem::find(rest, needle).map(|i| from + i)
}

/// Position just after the next `>`, or the end of input.
fn skip_past_gt(b: &[u8], from: usize) -> usize {
    b.get(from..)
        .and_then(|rest| memchr::memchr(b'>', rest))
        .map_or(b.len(), |i| from + i + 1)
}

/// Position of the `<` of the end tag `</name` closing a skipped element.
fn find_end_tag(b: &[u8], from: usize, name: &[u8]) -> Option<usize> {
    let mut i = from;
    while let Some(off) = b.get(i..).and_then(|rest| memchr::memchr(b'<', rest)) {
        let lt = i + off;
        let after = lt + 2 + name.len();
        if b.get(lt + 1) == Some(&b'/')
            && b.get(lt + 2..after)
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
            && b.get(after)
                .is_none_or(|&c| is_html_space(c) || c == b'/' || c == b'>')
        {
            return Some(lt);
        }
        i = lt + 1;
    }
    None
}

/// Byte range of an attribute value.
type Span = (usize, usize);

/// Walks a tag's attributes from `i` (just after the name) to its closing
/// `>`, honouring quotes so a `>` inside a value does not end the tag.
/// Returns the position after `>` and, if `want_href`, the first `href`
/// value's range. `None` if the input ends inside the tag.
fn parse_attributes(b: &[u8], mut i: usize, want_href: bool) -> Option<(usize, Option<Span>)> {
    let mut href = None;
    loop {
        while b.get(i).is_some_and(|&c| is_html_space(c) || c == b'/') {
            i += 1;
        }
        match b.get(i)? {
            b'>' => return Some((i + 1, href)),
            // Browsers start a name with `=` when one appears here; consuming
            // it also guarantees progress.
            b'=' => i += 1,
            _ => {}
        }
        let name_start = i;
        while b
            .get(i)
            .is_some_and(|&c| !is_html_space(c) && !matches!(c, b'/' | b'>' | b'='))
        {
            i += 1;
        }
        let name = b.get(name_start..i).unwrap_or_default();
        while b.get(i).copied().is_some_and(is_html_space) {
            i += 1;
        }
        if b.get(i) != Some(&b'=') {
            continue;
        }
        i += 1;
        while b.get(i).copied().is_some_and(is_html_space) {
            i += 1;
        }
        let value = if let &q @ (b'"' | b'\'') = b.get(i)? {
            let start = i + 1;
            let end = start + memchr::memchr(q, b.get(start..)?)?;
            i = end + 1;
            (start, end)
        } else {
            let start = i;
            while b.get(i).is_some_and(|&c| !is_html_space(c) && c != b'>') {
                i += 1;
            }
            (start, i)
        };
        if want_href && href.is_none() && name.eq_ignore_ascii_case(b"href") {
            href = Some(value);
        }
    }
}

/// Browsers drop tabs and newlines inside URLs and trim surrounding spaces.
fn clean_href(href: &str) -> String {
    href.trim_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect()
}

/// Characters that render as nothing. Dropping them matters: `I\u{200B}BAN`
/// must read as `IBAN`, and fraudsters use them to split words that filters
/// look for.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{AD}'
            | '\u{34F}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

/// A link whose text has started but whose `</a>` has not been seen.
#[derive(Debug)]
struct OpenLink {
    href: String,
    /// Where the link's text starts in the output.
    start: usize,
}

/// Builds the output text, collapsing whitespace lazily: spaces, line breaks
/// and cell separators are only written once the next visible character
/// arrives, so none of them can pile up or trail.
#[derive(Debug)]
struct Writer {
    out: String,
    line_has_text: bool,
    pending_space: bool,
    pending_cell: bool,
    /// Newlines owed before the next character: 1 ends a line, 2 a paragraph.
    pending_break: u8,
    pre_depth: u32,
    link: Option<OpenLink>,
    links: Vec<Link>,
}

impl Writer {
    fn with_capacity(n: usize) -> Self {
        Self {
            out: String::with_capacity(n),
            line_has_text: false,
            pending_space: false,
            pending_cell: false,
            pending_break: 0,
            pre_depth: 0,
            link: None,
            links: Vec::new(),
        }
    }

    fn push_str(&mut self, s: &str) {
        for c in s.chars() {
            self.push_char(c);
        }
    }

    fn push_char(&mut self, c: char) {
        if c == '\n' && self.pre_depth > 0 {
            self.line_break(1);
        } else if c.is_whitespace() || c.is_control() {
            self.pending_space |= self.line_has_text;
        } else if !is_invisible(c) {
            if self.pending_break > 0 {
                for _ in 0..self.pending_break {
                    self.out.push('\n');
                }
            } else if self.pending_cell {
                self.out.push_str(" | ");
            } else if self.pending_space {
                self.out.push(' ');
            }
            self.pending_break = 0;
            self.pending_cell = false;
            self.pending_space = false;
            self.line_has_text = true;
            self.out.push(c);
        }
    }

    /// Ends the current line (`n` = 1) or paragraph (`n` = 2).
    fn line_break(&mut self, n: u8) {
        if !self.out.is_empty() {
            self.pending_break = self.pending_break.max(n);
        }
        self.line_has_text = false;
        self.pending_space = false;
        self.pending_cell = false;
    }

    fn start_tag(&mut self, kind: Kind) {
        match kind {
            Kind::Line => self.line_break(1),
            Kind::Paragraph => self.line_break(2),
            Kind::Pre => {
                self.line_break(2);
                self.pre_depth = self.pre_depth.saturating_add(1);
            }
            Kind::Cell => self.pending_cell |= self.line_has_text,
            Kind::Skip(_) | Kind::Anchor | Kind::Inline => {}
        }
    }

    fn end_tag(&mut self, kind: Kind) {
        match kind {
            Kind::Line => self.line_break(1),
            Kind::Paragraph => self.line_break(2),
            Kind::Pre => {
                self.line_break(2);
                self.pre_depth = self.pre_depth.saturating_sub(1);
            }
            Kind::Anchor => self.close_link(),
            Kind::Cell | Kind::Skip(_) | Kind::Inline => {}
        }
    }

    fn open_link(&mut self, href: String) {
        // Links cannot nest: a new `<a>` closes the open one, as in browsers.
        self.close_link();
        self.link = Some(OpenLink {
            href,
            start: self.out.len(),
        });
    }

    fn close_link(&mut self) {
        let Some(link) = self.link.take() else {
            return;
        };
        let text = self
            .out
            .get(link.start..)
            .unwrap_or_default()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        if shows_target(&link.href, &text) {
            self.push_char(' ');
            self.push_char('<');
            self.push_str(&link.href);
            self.push_char('>');
        }
        self.links.push(Link {
            href: link.href,
            text,
        });
    }

    fn finish(mut self) -> HtmlText {
        self.close_link();
        HtmlText {
            text: self.out,
            links: self.links,
        }
    }
}

/// Whether a link's target should be written after its text: for web and
/// mail links whose visible text does not already say where they go.
fn shows_target(href: &str, text: &str) -> bool {
    let lower = href.to_ascii_lowercase();
    let target = if let Some(rest) = lower.strip_prefix("mailto:") {
        rest.split('?').next().unwrap_or_default()
    } else if let Some(rest) = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
    {
        rest
    } else {
        return false;
    };
    let text = text.to_lowercase();
    let text = text.strip_prefix("mailto:").unwrap_or(&text);
    let text = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
        .unwrap_or(text);
    let norm = |s: &str| {
        s.strip_prefix("www.")
            .unwrap_or(s)
            .trim_end_matches('/')
            .to_owned()
    };
    norm(target) != norm(text)
}

#[cfg(test)]
mod tests;
