//! Attachments: what kind of document each is (by content, not by name),
//! text from the kinds Sentra reads, and which ones are dangerous.
//!
//! PDF text comes through a [`TextExtractor`] supplied by the caller, because
//! PDF parsers can panic, loop or exhaust memory on hostile input: the `sentra`
//! binary runs extraction in a sandboxed child process. Everything else (DOCX,
//! HTML, CSV, plain text) is read here, with size caps.

use std::fmt;

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
pub fn sniff(name: Option<&str>, content_type: &str, bytes: &[u8]) -> DocKind {
    // PLACEHOLDER (being replaced by the attachments helper).
    let _ = (name, content_type);
    if bytes.starts_with(b"%PDF-") {
        DocKind::Pdf
    } else {
        DocKind::Other
    }
}

/// Text of a document of a known kind. PDFs go to `pdf`.
pub fn text_of(
    kind: DocKind,
    bytes: &[u8],
    pdf: &dyn TextExtractor,
) -> Result<String, ExtractError> {
    // PLACEHOLDER (being replaced by the attachments helper).
    match kind {
        DocKind::Pdf => pdf.pdf_text(bytes),
        DocKind::Text | DocKind::Csv => Ok(String::from_utf8_lossy(bytes).into_owned()),
        _ => Err(ExtractError::Unsupported),
    }
}

/// Every reason the attachment is dangerous (empty when it looks safe).
pub fn risky_reasons(name: Option<&str>, content_type: &str, bytes: &[u8]) -> Vec<RiskyReason> {
    // PLACEHOLDER (being replaced by the attachments helper).
    let _ = (name, content_type, bytes);
    Vec::new()
}
