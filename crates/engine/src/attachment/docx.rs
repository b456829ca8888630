//! Text of Word 2007+ documents: only `word/document.xml` is read, with caps
//! on its size and compression ratio, and turned into text by a small scan of
//! the XML (runs of `<w:t>` text, paragraphs as lines, table cells separated
//! by ` | ` so that a label and its value stay on one line).

use std::io::{Cursor, Read};

use super::ExtractError;
use super::text::{cap, decode_text};

/// The most `word/document.xml` may expand to.
const MAX_XML_BYTES: u64 = 20 << 20;
/// Above this expansion ratio a large entry is treated as a zip bomb.
const MAX_RATIO: u64 = 200;
/// Small entries may compress very well (empty table rows); only entries
/// larger than this are held to [`MAX_RATIO`].
const RATIO_FLOOR_BYTES: u64 = 1 << 20;

/// The text of a DOCX document.
pub(super) fn docx_text(bytes: &[u8]) -> Result<String, ExtractError> {
    // The zip crate is fuzzed, but a panic in it must still not take the
    // engine down: any panic becomes a failed extraction.
    std::panic::catch_unwind(|| read_document_xml(bytes))
        .unwrap_or_else(|_| Err(failed("the DOCX file is malformed")))
        .map(|xml| document_xml_to_text(&xml, super::MAX_TEXT_BYTES))
}

fn read_document_xml(bytes: &[u8]) -> Result<String, ExtractError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|_| failed("the DOCX file is not a readable ZIP archive"))?;
    let entry = archive.by_name("word/document.xml").map_err(|e| match e {
        zip::result::ZipError::FileNotFound => failed("the DOCX file has no document body"),
        zip::result::ZipError::UnsupportedArchive(_) => {
            failed("the DOCX file is encrypted or uses an unsupported compression")
        }
        _ => failed("the DOCX file is malformed"),
    })?;
    let declared = entry.size();
    let compressed = entry.compressed_size().max(1);
    if declared > MAX_XML_BYTES {
        return Err(failed("the DOCX document body is too large"));
    }
    if declared > RATIO_FLOOR_BYTES && declared / compressed > MAX_RATIO {
        return Err(failed("the DOCX file looks like a zip bomb"));
    }
    // Declared sizes can lie: read one byte past the cap to notice.
    let mut xml = Vec::with_capacity(usize::try_from(declared.min(MAX_XML_BYTES)).unwrap_or(0));
    entry
        .take(MAX_XML_BYTES + 1)
        .read_to_end(&mut xml)
        .map_err(|_| failed("the DOCX document body is corrupt"))?;
    let read = xml.len() as u64;
    if read > MAX_XML_BYTES {
        return Err(failed("the DOCX document body is too large"));
    }
    if read > RATIO_FLOOR_BYTES && read / compressed > MAX_RATIO {
        return Err(failed("the DOCX file looks like a zip bomb"));
    }
    Ok(decode_text(&xml, xml.len()))
}

fn failed(reason: &str) -> ExtractError {
    ExtractError::Failed(reason.to_owned())
}

/// What a scan of the document XML is inside of.
#[derive(Default)]
struct Scan {
    out: String,
    /// Inside `<w:t>`: character data is document text.
    in_text: bool,
    /// Depth of `<w:tabs>` (tab stop definitions, not tab characters).
    tab_stops: u32,
    /// Depth of table cells (nested tables nest cells).
    cells: u32,
    /// Depth of `<mc:Fallback>`, which repeats text boxes for old readers.
    fallback: u32,
}

impl Scan {
    fn paragraph_end(&mut self) {
        if self.cells > 0 {
            self.space();
        } else {
            trim_trailing_spaces(&mut self.out);
            self.out.push('\n');
        }
    }

    fn space(&mut self) {
        if !self.out.ends_with([' ', '\n', '\t']) && !self.out.is_empty() {
            self.out.push(' ');
        }
    }

    fn tag(&mut self, name: &str, closing: bool, self_closing: bool) {
        let local = name.rsplit(':').next().unwrap_or(name);
        if self.fallback > 0 && local != "Fallback" {
            return;
        }
        match (local, closing) {
            ("t", false) => self.in_text = !self_closing,
            ("t", true) => self.in_text = false,
            ("tab", false) if self.tab_stops == 0 => self.out.push('\t'),
            ("tabs", false) if !self_closing => self.tab_stops += 1,
            ("tabs", true) => self.tab_stops = self.tab_stops.saturating_sub(1),
            ("br" | "cr", false) if self.cells > 0 => self.space(),
            ("br" | "cr", false) => self.out.push('\n'),
            ("noBreakHyphen", false) => self.out.push('-'),
            ("p", false) if self_closing => self.paragraph_end(),
            ("p", true) => self.paragraph_end(),
            ("tc", false) if !self_closing => self.cells += 1,
            ("tc", true) => {
                self.cells = self.cells.saturating_sub(1);
                trim_trailing_spaces(&mut self.out);
                self.out.push_str(" | ");
            }
            ("tr", true) => {
                if let Some(stripped) = self.out.strip_suffix(" | ") {
                    let len = stripped.len();
                    self.out.truncate(len);
                }
                self.out.push('\n');
            }
            ("Fallback", false) if !self_closing => self.fallback += 1,
            ("Fallback", true) => self.fallback = self.fallback.saturating_sub(1),
            _ => {}
        }
    }
}

fn trim_trailing_spaces(out: &mut String) {
    let len = out.trim_end_matches([' ', '\t']).len();
    out.truncate(len);
}

/// Turns `WordprocessingML` into text, stopping once `max` bytes are written.
pub(super) fn document_xml_to_text(xml: &str, max: usize) -> String {
    let mut scan = Scan::default();
    let mut rest = xml;
    while !rest.is_empty() && scan.out.len() <= max {
        let Some(lt) = rest.find('<') else {
            if scan.in_text && scan.fallback == 0 {
                decode_entities(rest, &mut scan.out);
            }
            break;
        };
        let (chars, markup) = rest.split_at(lt);
        if scan.in_text && scan.fallback == 0 {
            decode_entities(chars, &mut scan.out);
        }
        rest = skip_markup(markup, &mut scan);
    }
    let out = scan.out.trim_end().to_owned();
    cap(out, max)
}

/// Handles the markup at the start of `markup` (which begins with `<`) and
/// returns what follows it.
fn skip_markup<'a>(markup: &'a str, scan: &mut Scan) -> &'a str {
    let body = markup.get(1..).unwrap_or_default();
    if let Some(comment) = body.strip_prefix("!--") {
        return comment
            .find("-->")
            .and_then(|end| comment.get(end + 3..))
            .unwrap_or_default();
    }
    if let Some(cdata) = body.strip_prefix("![CDATA[") {
        let end = cdata.find("]]>").unwrap_or(cdata.len());
        if scan.in_text && scan.fallback == 0 {
            scan.out.push_str(cdata.get(..end).unwrap_or_default());
        }
        return cdata.get(end + 3..).unwrap_or_default();
    }
    let end = tag_end(body);
    let tag = body.get(..end).unwrap_or_default();
    let after = body.get(end + 1..).unwrap_or_default();
    if tag.starts_with(['?', '!']) {
        return after;
    }
    let closing = tag.starts_with('/');
    let self_closing = tag.ends_with('/');
    let name = tag
        .trim_start_matches('/')
        .split(|c: char| c.is_whitespace() || c == '/')
        .next()
        .unwrap_or_default();
    scan.tag(name, closing, self_closing);
    after
}

/// Index of the `>` that ends a tag, skipping quoted attribute values.
fn tag_end(body: &str) -> usize {
    let mut quote: Option<char> = None;
    for (i, c) in body.char_indices() {
        match (quote, c) {
            (None, '>') => return i,
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            _ => {}
        }
    }
    body.len()
}

/// Appends `text` with XML character and entity references decoded.
pub(super) fn decode_entities(text: &str, out: &mut String) {
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        let (before, from_amp) = rest.split_at(amp);
        out.push_str(before);
        let reference = from_amp
            .get(1..)
            .and_then(|r| r.get(..r.find(';').filter(|&semi| semi <= 10)?));
        let decoded = reference.and_then(|name| Some((name.len(), decode_reference(name)?)));
        if let Some((len, c)) = decoded {
            out.push(c);
            rest = from_amp.get(len + 2..).unwrap_or_default();
        } else {
            out.push('&');
            rest = from_amp.get(1..).unwrap_or_default();
        }
    }
    out.push_str(rest);
}

fn decode_reference(name: &str) -> Option<char> {
    match name {
        "lt" => Some('<'),
        "gt" => Some('>'),
        "amp" => Some('&'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => {
            let number = name.strip_prefix('#')?;
            let code = match number.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => number.parse().ok()?,
            };
            char::from_u32(code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::zipscan::build::{Entry, zip};
    use super::*;

    fn docx(document_xml: &str) -> Vec<u8> {
        zip(&[
            Entry {
                name: "[Content_Types].xml",
                data: b"<Types/>",
                flags: 0,
            },
            Entry {
                name: "word/document.xml",
                data: document_xml.as_bytes(),
                flags: 0,
            },
        ])
    }

    const BODY: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>
<w:p><w:pPr><w:tabs><w:tab w:val="left" w:pos="720"/></w:tabs></w:pPr><w:r><w:t>Invoice</w:t></w:r><w:r><w:tab/><w:t xml:space="preserve"> INV-20431 </w:t></w:r></w:p>
<w:p><w:r><w:t>Smith &amp; Sons &lt;Ltd&gt; &#163;1,200 &#x20AC;5</w:t></w:r></w:p>
<w:tbl><w:tr><w:tc><w:p><w:r><w:t>Sort code</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>20-29-59</w:t></w:r></w:p></w:tc></w:tr>
<w:tr><w:tc><w:p><w:r><w:t>Account</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>6374</w:t></w:r><w:r><w:t>8472</w:t></w:r></w:p></w:tc></w:tr></w:tbl>
<w:p><w:r><w:delText>old text</w:delText><w:instrText>PAGE</w:instrText><w:t>Thanks</w:t><w:br/><w:t>Accounts</w:t></w:r></w:p>
</w:body></w:document>"#;

    #[test]
    fn reads_paragraphs_tabs_tables_and_entities() {
        let text = docx_text(&docx(BODY));
        assert_eq!(
            text.as_deref(),
            Ok(
                "Invoice\t INV-20431\nSmith & Sons <Ltd> £1,200 €5\nSort code | 20-29-59\nAccount | 63748472\nThanks\nAccounts"
            )
        );
    }

    #[test]
    fn text_box_fallback_is_not_read_twice() {
        let xml = "<w:p><mc:AlternateContent><mc:Choice><w:t>Box</w:t></mc:Choice><mc:Fallback><w:t>Box</w:t></mc:Fallback></mc:AlternateContent></w:p>";
        assert_eq!(document_xml_to_text(xml, 100), "Box");
    }

    #[test]
    fn unknown_and_broken_entities_are_kept_literally() {
        let mut out = String::new();
        decode_entities("a &nbsp; b & c &#xZZ; &#1114112; &", &mut out);
        assert_eq!(out, "a &nbsp; b & c &#xZZ; &#1114112; &");
    }

    #[test]
    fn attribute_values_with_angle_brackets_do_not_end_a_tag() {
        let xml = r#"<w:p><w:r w:x="a>b"><w:t>ok</w:t></w:r></w:p>"#;
        assert_eq!(document_xml_to_text(xml, 100), "ok");
    }

    #[test]
    fn output_is_capped() {
        let xml = format!("<w:p><w:t>{}</w:t></w:p>", "x".repeat(5000));
        assert_eq!(document_xml_to_text(&xml, 100).len(), 100);
    }

    #[test]
    fn unterminated_markup_does_not_fail() {
        for xml in [
            "<w:t>abc",
            "<w:t",
            "<!-- x",
            "<![CDATA[x",
            "<w:t>a&amp",
            "<",
            "&#",
        ] {
            let _ = document_xml_to_text(xml, 100);
        }
        assert_eq!(document_xml_to_text("<w:t>abc", 100), "abc");
    }

    #[test]
    fn zip_without_document_is_a_failure() {
        let bytes = zip(&[Entry {
            name: "xl/workbook.xml",
            data: b"<x/>",
            flags: 0,
        }]);
        assert!(matches!(docx_text(&bytes), Err(ExtractError::Failed(_))));
    }

    #[test]
    fn garbage_is_a_failure() {
        assert!(matches!(
            docx_text(b"PK\x03\x04garbage"),
            Err(ExtractError::Failed(_))
        ));
        assert!(matches!(docx_text(b""), Err(ExtractError::Failed(_))));
    }

    #[test]
    fn zip_bomb_is_refused() {
        use std::io::Write;
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        assert!(writer.start_file("word/document.xml", options).is_ok());
        let block = vec![b' '; 1 << 20];
        for _ in 0..8 {
            assert!(writer.write_all(&block).is_ok());
        }
        let bytes = writer.finish().map(Cursor::into_inner).unwrap_or_default();
        assert!(bytes.len() < 64 << 10, "deflate should squeeze spaces");
        let err = docx_text(&bytes);
        assert!(
            matches!(err, Err(ExtractError::Failed(ref m)) if m.contains("zip bomb")),
            "{err:?}"
        );
    }

    #[test]
    fn a_real_deflated_docx_reads() {
        use std::io::Write;
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        assert!(writer.start_file("word/document.xml", options).is_ok());
        assert!(writer.write_all(BODY.as_bytes()).is_ok());
        let bytes = writer.finish().map(Cursor::into_inner).unwrap_or_default();
        let text = docx_text(&bytes).unwrap_or_default();
        assert!(text.contains("Account | 63748472"), "{text}");
    }
}
