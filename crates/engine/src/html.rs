//! HTML to text, keeping what matters for fraud detection: table cells stay
//! apart (an IBAN in one cell and a name in the next must not run together)
//! and link targets are kept, because a link's real destination is evidence.

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
    /// ` | `, scripts and styles are dropped, entities are decoded.
    pub text: String,
    /// Every `<a href>` in document order.
    pub links: Vec<Link>,
}

/// Converts HTML to text. Never panics; tolerates any malformed markup.
pub fn html_to_text(html: &str) -> HtmlText {
    // PLACEHOLDER (being replaced by the html helper): strips tags naively.
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    HtmlText {
        text,
        links: Vec::new(),
    }
}
