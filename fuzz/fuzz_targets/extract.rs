//! Fuzz target: the text extractors (bank details, amounts, dates, invoice
//! numbers, tax ids) and the HTML converter must never panic on any text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sentra_engine::extract::{ExtractContext, Location, extract};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = extract(&text, &Location::Body, &ExtractContext::default());
    let _ = sentra_engine::html::html_to_text(&text);
});
