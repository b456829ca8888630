//! In-process PDF text extraction: what the worker runs on each document,
//! inside its limits. Never call this on untrusted input outside the worker:
//! the parsers below it can loop, exhaust memory or overflow the stack.

use std::panic::{AssertUnwindSafe, catch_unwind};

/// The most text a document yields, in bytes (the engine's own cap).
pub const MAX_TEXT_BYTES: usize = sentra_engine::attachment::MAX_TEXT_BYTES;

/// The text of a PDF, or a short reason safe to show to a user: the fast
/// path when it can read the document, pdf-extract otherwise.
pub fn pdf_text(pdf: &[u8]) -> Result<String, String> {
    if let Some(text) = fast_path_text(pdf) {
        return Ok(text);
    }
    pdf_extract_text(pdf)
}

/// The fast path alone (`None`: it cannot read this document).
pub fn fast_path_text(pdf: &[u8]) -> Option<String> {
    catch_unwind(|| super::fast::pdf_text(pdf, MAX_TEXT_BYTES))
        .ok()
        .flatten()
        .map(cap)
}

/// pdf-extract alone.
pub fn pdf_extract_text(pdf: &[u8]) -> Result<String, String> {
    let text = catch_unwind(AssertUnwindSafe(|| pdf_extract::extract_text_from_mem(pdf)))
        .map_err(|_| "the PDF is malformed".to_owned())?
        .map_err(|e| describe(&e))?;
    Ok(cap(text))
}

/// A reason that names the kind of problem without echoing document content.
fn describe(error: &pdf_extract::OutputError) -> String {
    match error {
        pdf_extract::OutputError::PdfError(
            lopdf::Error::Decryption(_) | lopdf::Error::InvalidPassword,
        ) => "the PDF is encrypted".to_owned(),
        _ => "the PDF is malformed or uses unsupported features".to_owned(),
    }
}

fn cap(mut text: String) -> String {
    if text.len() > MAX_TEXT_BYTES {
        let mut end = MAX_TEXT_BYTES;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}
