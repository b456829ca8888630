//! Attachments: what kind of document each is (by content, not by name),
//! text from the kinds Sentra reads, and which ones are dangerous.
//!
//! PDF text comes through a [`TextExtractor`] supplied by the caller, because
//! PDF parsers can panic, loop or exhaust memory on hostile input: the `sentra`
//! binary runs extraction in a sandboxed child process. Everything else (DOCX,
//! HTML, CSV, plain text) is read here, with size caps.

mod archive;
mod docx;
mod risky;
mod sniff;
mod text;
mod zipscan;

use std::fmt;

/// The most text [`text_of`] returns, in bytes: enough for any invoice, and a
/// bound on the work every later stage does.
pub const MAX_TEXT_BYTES: usize = 1 << 20;

/// HTML attachments larger than this are read only up to here.
const MAX_HTML_BYTES: usize = 4 << 20;

/// The document kinds Sentra distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocKind {
    /// PDF (`%PDF-` magic).
    Pdf,
    /// Word 2007+ document (a ZIP with `word/document.xml`).
    Docx,
    /// HTML.
    Html,
    /// Comma-separated values.
    Csv,
    /// Plain text.
    Text,
    /// Anything else (images, archives, executables…): no text is read.
    Other,
}

/// Why text could not be read from an attachment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExtractError {
    /// No extractor is available for this kind (for example PDF in a build without the sandbox).
    #[error("no text extractor available for this document type")]
    Unsupported,
    /// The document is malformed, encrypted or exceeded a limit; the reason is safe to show.
    #[error("could not read document: {0}")]
    Failed(String),
    /// Extraction ran out of time or memory in the sandbox.
    #[error("document extraction exceeded its time or memory limit")]
    LimitExceeded,
}

/// Reads text out of PDF documents. Implementations must be safe to call from
/// several threads and must turn every failure into an [`ExtractError`].
pub trait TextExtractor: Send + Sync {
    /// The text of a PDF document.
    fn pdf_text(&self, pdf: &[u8]) -> Result<String, ExtractError>;
}

/// An extractor that reads no PDFs (the engine's default, and for tests).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoPdfExtractor;

impl TextExtractor for NoPdfExtractor {
    fn pdf_text(&self, _pdf: &[u8]) -> Result<String, ExtractError> {
        Err(ExtractError::Unsupported)
    }
}

/// Why an attachment is dangerous.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RiskyReason {
    /// An executable or installer (by content or extension).
    Executable,
    /// An Office document that can carry macros (`.docm`, `.xlsm`, `vbaProject.bin`, legacy OLE with macros).
    Macro,
    /// HTML, SVG or script that runs when opened.
    HtmlOrScript,
    /// A password-protected (encrypted) archive that mail scanners cannot look into.
    EncryptedArchive,
    /// A name with two extensions hiding the real one (`invoice.pdf.exe`).
    DoubleExtension,
    /// A right-to-left override character that reverses how the name displays.
    RightToLeftOverride,
}

impl fmt::Display for RiskyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Executable => "an executable program",
            Self::Macro => "a document with macros",
            Self::HtmlOrScript => "a web page or script that runs when opened",
            Self::EncryptedArchive => "a password-protected archive",
            Self::DoubleExtension => "a file name with a hidden second extension",
            Self::RightToLeftOverride => "a file name with a right-to-left override character",
        })
    }
}

/// Decides the kind of a document from its bytes first, then its declared type and name.
///
/// Content wins over labels: a ZIP named `invoice.txt` is not read as text,
/// and a PDF sent as `application/octet-stream` is still a PDF.
pub fn sniff(name: Option<&str>, content_type: &str, bytes: &[u8]) -> DocKind {
    sniff::sniff(name, content_type, bytes)
}

/// Text of a document of a known kind. PDFs go to `pdf`.
///
/// The text is capped at [`MAX_TEXT_BYTES`]; DOCX reading refuses entries
/// larger than 20 MiB and zip bombs. [`DocKind::Other`] has no text
/// ([`ExtractError::Unsupported`]).
pub fn text_of(
    kind: DocKind,
    bytes: &[u8],
    pdf: &dyn TextExtractor,
) -> Result<String, ExtractError> {
    let text = match kind {
        DocKind::Pdf => pdf.pdf_text(bytes)?,
        DocKind::Docx => docx::docx_text(bytes)?,
        DocKind::Html => {
            let html = text::decode_text(bytes, MAX_HTML_BYTES);
            crate::html::html_to_text(&html).text
        }
        DocKind::Csv => text::csv_as_labelled(&text::decode_text(bytes, MAX_TEXT_BYTES)),
        DocKind::Text => text::decode_text(bytes, MAX_TEXT_BYTES),
        DocKind::Other => return Err(ExtractError::Unsupported),
    };
    Ok(text::cap(text, MAX_TEXT_BYTES))
}

/// Every reason the attachment is dangerous (empty when it looks safe), in
/// the order the [`RiskyReason`] variants are declared, without duplicates.
///
/// Call it for parts that are attachments: an HTML *body* is normal, an HTML
/// *attachment* is not.
pub fn risky_reasons(name: Option<&str>, content_type: &str, bytes: &[u8]) -> Vec<RiskyReason> {
    risky::risky_reasons(name, content_type, bytes)
}

#[cfg(test)]
mod tests {
    use super::zipscan::build::{Entry, zip};
    use super::*;

    struct FixedPdf;
    impl TextExtractor for FixedPdf {
        fn pdf_text(&self, pdf: &[u8]) -> Result<String, ExtractError> {
            Ok(format!("{} bytes of pdf", pdf.len()))
        }
    }

    #[test]
    fn pdf_text_comes_from_the_extractor() {
        assert_eq!(
            text_of(DocKind::Pdf, b"%PDF-1.4", &FixedPdf).as_deref(),
            Ok("8 bytes of pdf")
        );
        assert_eq!(
            text_of(DocKind::Pdf, b"%PDF-1.4", &NoPdfExtractor),
            Err(ExtractError::Unsupported)
        );
    }

    #[test]
    fn html_is_converted_to_text() {
        let text = text_of(
            DocKind::Html,
            b"<p>Sort code <b>20-29-59</b></p>",
            &NoPdfExtractor,
        )
        .unwrap_or_default();
        assert!(
            text.contains("Sort code") && text.contains("20-29-59") && !text.contains('<'),
            "{text}"
        );
    }

    #[test]
    fn csv_rows_become_labelled_lines_and_utf16_csv_is_decoded() {
        assert_eq!(
            text_of(
                DocKind::Csv,
                b"Payee,Sort code,Account Number\nAcme,20-29-59,63748472\n",
                &NoPdfExtractor
            )
            .as_deref(),
            Ok("Payee: Acme\nSort code: 20-29-59\nAccount Number: 63748472\n\n")
        );
        let mut utf16 = vec![0xFF, 0xFE];
        utf16.extend("a,b".encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(
            text_of(DocKind::Csv, &utf16, &NoPdfExtractor).as_deref(),
            Ok("a,b")
        );
    }

    #[test]
    fn docx_text_is_read() {
        let bytes = zip(&[Entry {
            name: "word/document.xml",
            data: b"<w:p><w:t>Pay to 63748472</w:t></w:p>",
            flags: 0,
        }]);
        assert_eq!(sniff(Some("x.docx"), "", &bytes), DocKind::Docx);
        assert_eq!(
            text_of(DocKind::Docx, &bytes, &NoPdfExtractor).as_deref(),
            Ok("Pay to 63748472")
        );
    }

    #[test]
    fn other_documents_have_no_text() {
        assert_eq!(
            text_of(DocKind::Other, b"\x89PNG", &NoPdfExtractor),
            Err(ExtractError::Unsupported)
        );
    }

    #[test]
    fn text_is_capped_at_one_mebibyte() {
        let big = vec![b'a'; MAX_TEXT_BYTES * 3];
        assert_eq!(
            text_of(DocKind::Text, &big, &NoPdfExtractor).map(|t| t.len()),
            Ok(MAX_TEXT_BYTES)
        );
        let pdf_text = text_of(DocKind::Pdf, &big, &FixedPdf).map(|t| t.len());
        assert!(pdf_text.is_ok_and(|n| n <= MAX_TEXT_BYTES));
    }

    /// Mutated and random inputs through every entry point: nothing may panic.
    #[test]
    fn hostile_bytes_never_panic() {
        let seeds: Vec<Vec<u8>> = vec![
            zip(&[
                Entry { name: "word/document.xml", data: b"<w:tbl><w:tr><w:tc><w:p><w:t>a&amp;b</w:t></w:p></w:tc></w:tr></w:tbl>", flags: 0 },
                Entry { name: "word/vbaProject.bin", data: b"x", flags: 1 },
            ]),
            b"Rar!\x1A\x07\x01\x00\0\0\0\0\x0A\x02\x03\x0B\x00\x01\x00\x03\x01\x00\x00".to_vec(),
            b"Rar!\x1A\x07\x00\0\0\x74\x04\x80\x20\0\x05\0\0\0".to_vec(),
            b"7z\xBC\xAF\x27\x1C\0\x04\0\0\0\0\x00\0\0\0\0\0\0\0\x04\0\0\0\0\0\0\0\0\0\0\0\x06\xF1\x07\x01".to_vec(),
            b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1_VBA_PROJECT".to_vec(),
            b"\xFF\xFE<\0h\0t\0m\0l\0>\0".to_vec(),
        ];
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let names = [
            None,
            Some("a.pdf.exe"),
            Some("\u{202E}x.docx"),
            Some("..."),
            Some(". . ."),
            Some("a."),
        ];
        for round in 0..3000 {
            let mut bytes = seeds.get(round % seeds.len()).cloned().unwrap_or_default();
            for _ in 0..(next() % 8) {
                let len = bytes.len().max(1);
                let at = (next() as usize) % len;
                match next() % 3 {
                    0 => {
                        if let Some(b) = bytes.get_mut(at) {
                            *b = next() as u8;
                        }
                    }
                    1 => bytes.truncate(at),
                    _ => bytes.insert(at.min(bytes.len()), next() as u8),
                }
            }
            let name = names.get(round % names.len()).copied().flatten();
            let kind = sniff(name, "application/octet-stream", &bytes);
            let _ = text_of(kind, &bytes, &NoPdfExtractor);
            let _ = text_of(DocKind::Docx, &bytes, &NoPdfExtractor);
            let _ = risky_reasons(name, "text/html", &bytes);
        }
    }
}
