//! Document kind from magic bytes first, then the declared content type, then
//! the file name's extension: senders (and attackers) mislabel attachments, and
//! only the bytes say what a reader will actually do with them.

use memchr::memmem;

use super::DocKind;
use super::zipscan;

/// How far into the file a PDF header may start; PDF readers accept junk
/// before `%PDF-`, and attackers use that to hide PDFs from naive checks.
const PDF_HEADER_WINDOW: usize = 1024;

/// The kind of a document.
pub(super) fn sniff(name: Option<&str>, content_type: &str, bytes: &[u8]) -> DocKind {
    if bytes.starts_with(b"%PDF-") {
        return DocKind::Pdf;
    }
    if is_zip(bytes) {
        return if zipscan::summarise(bytes).has_word_document {
            DocKind::Docx
        } else {
            DocKind::Other
        };
    }
    if is_binary_format(bytes) {
        return DocKind::Other;
    }
    if is_pdf(bytes) {
        return DocKind::Pdf;
    }
    if let Some(kind) = kind_of_content_type(content_type) {
        return kind;
    }
    if let Some(kind) = name
        .and_then(extension)
        .as_deref()
        .and_then(kind_of_extension)
    {
        return kind;
    }
    if looks_like_html(bytes) {
        return DocKind::Html;
    }
    DocKind::Other
}

/// A PDF header at the start or shortly after it.
pub(super) fn is_pdf(bytes: &[u8]) -> bool {
    let window = bytes.get(..PDF_HEADER_WINDOW).unwrap_or(bytes);
    memmem::find(window, b"%PDF-").is_some()
}

/// A ZIP archive (local header first, or an empty archive).
pub(super) fn is_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06")
}

/// A Microsoft compound file (legacy Office documents, MSI installers).
pub(super) fn is_ole(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1")
}

/// A native executable: Windows PE, ELF or Mach-O.
pub(super) fn is_executable(bytes: &[u8]) -> bool {
    const MACH_O: [&[u8]; 5] = [
        b"\xFE\xED\xFA\xCE",
        b"\xFE\xED\xFA\xCF",
        b"\xCE\xFA\xED\xFE",
        b"\xCF\xFA\xED\xFE",
        b"\xCA\xFE\xBA\xBE",
    ];
    is_windows_executable(bytes)
        || bytes.starts_with(b"\x7FELF")
        || MACH_O.iter().any(|magic| bytes.starts_with(magic))
}

/// `MZ` alone is too weak (a text file may start "MZ Builders"): require the
/// PE header it points to, or the NUL bytes that no text header has.
fn is_windows_executable(bytes: &[u8]) -> bool {
    if !bytes.starts_with(b"MZ") {
        return false;
    }
    let pe_header = zipscan::u32_at(bytes, 0x3C)
        .and_then(|offset| bytes.get(offset as usize..))
        .is_some_and(|at| at.starts_with(b"PE\0\0"));
    pe_header || bytes.get(2..64).is_some_and(|header| header.contains(&0))
}

/// 7-Zip archive.
pub(super) fn is_7z(bytes: &[u8]) -> bool {
    bytes.starts_with(b"7z\xBC\xAF\x27\x1C")
}

/// RAR archive (versions 1.5–4 and 5).
pub(super) fn is_rar(bytes: &[u8]) -> bool {
    bytes.starts_with(b"Rar!\x1A\x07")
}

/// Formats whose bytes are never text, whatever the label says.
fn is_binary_format(bytes: &[u8]) -> bool {
    const MAGIC: [&[u8]; 9] = [
        b"\x89PNG",
        b"\xFF\xD8\xFF",
        b"GIF8",
        b"\x1F\x8B",
        b"II*\0",
        b"MM\0*",
        b"BZh",
        b"\xFD7zXZ\0",
        b"RIFF",
    ];
    is_ole(bytes)
        || is_executable(bytes)
        || is_7z(bytes)
        || is_rar(bytes)
        || MAGIC.iter().any(|magic| bytes.starts_with(magic))
}

/// HTML by content: the first thing after whitespace (and a BOM) is an HTML
/// document start.
pub(super) fn looks_like_html(bytes: &[u8]) -> bool {
    starts_with_markup(
        bytes,
        &[b"<!doctype html", b"<html", b"<head", b"<body", b"<script"],
    )
}

/// SVG by content.
pub(super) fn looks_like_svg(bytes: &[u8]) -> bool {
    starts_with_markup(bytes, &[b"<svg"])
        || (starts_with_markup(bytes, &[b"<?xml"])
            && memmem::find(
                &bytes.get(..1024).unwrap_or(bytes).to_ascii_lowercase(),
                b"<svg",
            )
            .is_some())
}

fn starts_with_markup(bytes: &[u8], starts: &[&[u8]]) -> bool {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let first = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let Some(head) = bytes.get(first..first.saturating_add(16).min(bytes.len())) else {
        return false;
    };
    let head = head.to_ascii_lowercase();
    starts.iter().any(|s| head.starts_with(s))
}

/// The essence of a MIME content type (`text/html; charset=…` → `text/html`), lowercased.
pub(super) fn mime_essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

fn kind_of_content_type(content_type: &str) -> Option<DocKind> {
    match mime_essence(content_type).as_str() {
        "text/html" | "application/xhtml+xml" => Some(DocKind::Html),
        "text/csv" | "application/csv" | "text/comma-separated-values" => Some(DocKind::Csv),
        "text/plain" => Some(DocKind::Text),
        _ => None,
    }
}

fn kind_of_extension(ext: &str) -> Option<DocKind> {
    match ext {
        "htm" | "html" | "xhtml" => Some(DocKind::Html),
        "csv" => Some(DocKind::Csv),
        "txt" | "text" => Some(DocKind::Text),
        _ => None,
    }
}

/// The last extension of a file name, lowercased, ignoring a directory part
/// and the trailing dots and spaces Windows drops.
pub(super) fn extension(name: &str) -> Option<String> {
    super::risky::extensions(name).last().cloned()
}

#[cfg(test)]
mod tests {
    use super::super::zipscan::build::{Entry, zip};
    use super::*;

    #[test]
    fn pdf_magic_beats_every_label() {
        assert_eq!(
            sniff(Some("notes.txt"), "text/plain", b"%PDF-1.7\n"),
            DocKind::Pdf
        );
        assert_eq!(
            sniff(None, "application/octet-stream", b"\r\n\r\n%PDF-1.4"),
            DocKind::Pdf
        );
    }

    #[test]
    fn zip_with_word_document_is_docx_and_other_zips_are_not() {
        let docx = zip(&[Entry {
            name: "word/document.xml",
            data: b"<x/>",
            flags: 0,
        }]);
        let xlsx = zip(&[Entry {
            name: "xl/workbook.xml",
            data: b"<x/>",
            flags: 0,
        }]);
        assert_eq!(
            sniff(Some("a.bin"), "application/octet-stream", &docx),
            DocKind::Docx
        );
        assert_eq!(sniff(Some("a.docx"), "text/plain", &xlsx), DocKind::Other);
    }

    #[test]
    fn binary_formats_are_other_even_when_labelled_text() {
        let mut pe = b"MZ\x90\0".to_vec();
        pe.resize(64, 0);
        for bytes in [
            &b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1rest"[..],
            &pe,
            b"\x7FELF\x02\x01",
            b"\x89PNG\r\n",
            b"\xFF\xD8\xFF\xE0",
        ] {
            assert_eq!(sniff(Some("a.txt"), "text/plain", bytes), DocKind::Other);
        }
    }

    #[test]
    fn text_starting_with_mz_is_not_an_executable() {
        let text = b"MZ Builders Ltd - remittance advice for invoice 20431, paid in full.";
        assert_eq!(sniff(Some("remit.txt"), "text/plain", text), DocKind::Text);
        assert!(!is_executable(text));
    }

    #[test]
    fn content_type_then_extension_decide_text_kinds() {
        assert_eq!(
            sniff(None, "text/html; charset=utf-8", b"hi"),
            DocKind::Html
        );
        assert_eq!(sniff(Some("a.bin"), "TEXT/CSV", b"a,b"), DocKind::Csv);
        assert_eq!(sniff(None, "text/plain", b"hello"), DocKind::Text);
        assert_eq!(
            sniff(Some("Remittance.HTM"), "application/octet-stream", b"x"),
            DocKind::Html
        );
        assert_eq!(
            sniff(Some("payees.csv"), "application/octet-stream", b"a,b"),
            DocKind::Csv
        );
        assert_eq!(sniff(Some("note.txt"), "", b"x"), DocKind::Text);
    }

    #[test]
    fn unlabelled_html_is_recognised_by_content() {
        assert_eq!(
            sniff(None, "application/octet-stream", b"\n  <!DOCTYPE html><p>x"),
            DocKind::Html
        );
    }

    #[test]
    fn unknown_things_are_other() {
        assert_eq!(
            sniff(Some("photo.heic"), "image/heic", b"\0\0\0 ftypheic"),
            DocKind::Other
        );
        assert_eq!(sniff(None, "", b""), DocKind::Other);
    }
}
