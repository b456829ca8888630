//! Invoice numbers: a value labelled `Invoice`/`Inv` (`Invoice No: INV-20431`,
//! `Invoice #20431`, `Inv. 10234`), or a self-labelled `INV-20431` token.
//!
//! A value must contain a digit, so `Invoice attached` gives nothing, and
//! values that are really dates or amounts are dropped.

use super::scan::{self, Hits};
use regex::Regex;
use std::sync::LazyLock;

/// `Invoice No:`, `Invoice #`, `Inv. number`: a label with a number mark.
const MARKED_LABEL: &str = concat!(
    r"(?i)(?:invoice|inv)\b\.?[\x20\t]*(?:(?:number|num|no|nr|ref(?:erence)?|id)\b\.?|#|№)",
    r"(?:[\x20\t]*[:#\-–|=])*[\x20\t]*(?:is[\x20\t]+)?",
);
/// `Invoice:`, `Invoice`, `Inv.`: a label without one.
const LABEL: &str = r"(?i)(?:invoice|inv)\b\.?(?:[\x20\t]*[:#\-–|=])*[\x20\t]*(?:is[\x20\t]+)?";

static MARKED_RE: LazyLock<Option<Regex>> = LazyLock::new(|| scan::compile_anchored(MARKED_LABEL));
static LABEL_RE: LazyLock<Option<Regex>> = LazyLock::new(|| scan::compile_anchored(LABEL));

/// Finds invoice numbers in `text` at the keyword hits, as written,
/// de-duplicated, in order.
pub(super) fn extract(text: &str, hits: &Hits) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut next = 0;
    for (pos, _) in scan::word_hits(text, hits, scan::INVOICE) {
        if pos < next || !scan::digit_within(text, pos, 96) {
            continue;
        }
        let Some(((start, end), marked)) = self_labelled(text, pos)
            .map(|v| (v, true))
            .or_else(|| labelled(text, pos, MARKED_RE.as_ref()).map(|v| (v, true)))
            .or_else(|| labelled(text, pos, LABEL_RE.as_ref()).map(|v| (v, false)))
        else {
            continue;
        };
        next = end;
        let Some(value) = text.get(start..end) else {
            continue;
        };
        let value = strip_file_extension(value.trim_end_matches(['.', '-', '/', '_']));
        if plausible(value, marked) && !out.iter().any(|o| o == value) {
            out.push(value.to_owned());
        }
    }
    out
}

/// `Invoice HCE-2291.pdf` names the file the invoice is in: the number is
/// `HCE-2291`.
fn strip_file_extension(value: &str) -> &str {
    const EXTENSIONS: [&str; 9] = [
        ".pdf", ".docx", ".doc", ".xlsx", ".xls", ".csv", ".zip", ".html", ".htm",
    ];
    EXTENSIONS
        .iter()
        .find_map(|ext| {
            let cut = value.len().checked_sub(ext.len())?;
            let tail = value.get(cut..)?;
            tail.eq_ignore_ascii_case(ext)
                .then(|| value.get(..cut))
                .flatten()
        })
        .unwrap_or(value)
}

/// `INV-20431`, `INV20431`, `inv/2026/42`: the token names itself. Returns
/// the token's span.
fn self_labelled(text: &str, pos: usize) -> Option<(usize, usize)> {
    let b = text.as_bytes();
    let mut i = pos + 3;
    i += usize::from(b.get(i).is_some_and(|c| matches!(c, b'-' | b'/' | b'#')));
    if !b.get(i).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let tail = b.get(i + 1..).unwrap_or_default();
    let len = tail
        .iter()
        .take(30)
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'/' | b'_' | b'-'))
        .count();
    Some((pos, i + 1 + len))
}

/// The span of the value after a label: an ASCII letter or digit, then up to
/// 39 more of letters, digits and `/_.-`.
fn labelled(text: &str, pos: usize, re: Option<&Regex>) -> Option<(usize, usize)> {
    let start = scan::match_end(re?, text, pos)?;
    let b = text.as_bytes();
    if !b.get(start).is_some_and(u8::is_ascii_alphanumeric) {
        return None;
    }
    let len = b
        .get(start + 1..)
        .unwrap_or_default()
        .iter()
        .take(39)
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'/' | b'_' | b'.' | b'-'))
        .count();
    Some((start, start + 1 + len))
}

/// Whether a labelled value reads as an invoice number rather than a word,
/// a date, an amount or a year.
fn plausible(value: &str, marked: bool) -> bool {
    let digits = value.bytes().filter(u8::is_ascii_digit).count();
    if digits == 0 || value.len() < 2 || (!marked && value.len() < 3) {
        return false;
    }
    let all_digits = digits == value.len();
    // "Invoice 2026" (no "No"/"#") is a period, not a number.
    if all_digits
        && !marked
        && value.len() == 4
        && (value.starts_with("19") || value.starts_with("20"))
    {
        return false;
    }
    !looks_like_date(value) && !looks_like_amount(value)
}

/// `01/12/2026`, `1.12.26`, `2026-12-01`: three numeric parts, one of them a year.
fn looks_like_date(v: &str) -> bool {
    let parts: Vec<&str> = v.split(['/', '-', '.']).collect();
    let [a, b, c] = parts.as_slice() else {
        return false;
    };
    let num = |s: &str| !s.is_empty() && s.len() <= 4 && s.bytes().all(|x| x.is_ascii_digit());
    if !(num(a) && num(b) && num(c)) {
        return false;
    }
    let lens = (a.len(), b.len(), c.len());
    matches!(lens, (1 | 2, 1 | 2, 2 | 4) | (4, 1 | 2, 1 | 2))
}

/// `4860.00`: digits, a point, exactly two decimals.
fn looks_like_amount(v: &str) -> bool {
    v.split_once('.').is_some_and(|(i, d)| {
        !i.is_empty()
            && i.bytes().all(|x| x.is_ascii_digit())
            && d.len() == 2
            && d.bytes().all(|x| x.is_ascii_digit())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extract(text: &str) -> Vec<String> {
        super::extract(text, &scan::keyword_hits(text))
    }

    #[test]
    fn invoice_patterns_compile() {
        assert!(MARKED_RE.is_some() && LABEL_RE.is_some());
    }

    #[test]
    fn extracts_invoice_no_with_prefixed_value() {
        assert_eq!(extract("Invoice No: INV-20431"), ["INV-20431"]);
    }

    #[test]
    fn extracts_invoice_hash_number() {
        assert_eq!(extract("Invoice #20431"), ["20431"]);
        assert_eq!(extract("Invoice #: 20431."), ["20431"]);
        assert_eq!(extract("INVOICE # 20431"), ["20431"]);
    }

    #[test]
    fn extracts_invoice_number_with_slash() {
        assert_eq!(
            extract("Invoice number: 2026/0042, due soon"),
            ["2026/0042"]
        );
    }

    #[test]
    fn extracts_abbreviated_inv_label() {
        assert_eq!(extract("Inv. 10234"), ["10234"]);
        assert_eq!(extract("Inv No 10234"), ["10234"]);
    }

    #[test]
    fn extracts_number_from_subject_line() {
        assert_eq!(extract("Invoice INV-20431 from Apex"), ["INV-20431"]);
        assert_eq!(extract("Tax Invoice 88123 - Apex Pty Ltd"), ["88123"]);
    }

    #[test]
    fn extracts_self_labelled_inv_token_after_other_labels() {
        assert_eq!(extract("Our ref: INV20431"), ["INV20431"]);
        assert_eq!(extract("ref inv-20431/a."), ["inv-20431/a"]);
    }

    #[test]
    fn drops_a_file_extension_after_the_number() {
        assert_eq!(
            extract("Please open Invoice HCE-2291.pdf today"),
            ["HCE-2291"]
        );
    }

    #[test]
    fn trims_trailing_punctuation() {
        assert_eq!(extract("see Invoice No. INV-20431."), ["INV-20431"]);
        assert_eq!(extract("Invoice: A-77-"), ["A-77"]);
    }

    #[test]
    fn ignores_invoice_followed_by_words() {
        assert!(extract("Invoice attached for March 2026").is_empty());
        assert!(extract("Please find the invoice from Apex, 3 pages").is_empty());
        assert!(extract("Invoice date: 01/12/2026").is_empty());
    }

    #[test]
    fn ignores_dates_amounts_and_years_as_invoice_numbers() {
        assert!(extract("Invoice 01/12/2026").is_empty());
        assert!(extract("Invoice 2026-12-01").is_empty());
        assert!(extract("Invoice 4860.00").is_empty());
        assert!(extract("Invoice 2026 summary").is_empty());
        assert!(extract("Invoice 3 of 4").is_empty());
        assert_eq!(extract("Invoice No 2026"), ["2026"]);
    }

    #[test]
    fn ignores_plural_and_embedded_words() {
        assert!(extract("Invoices 2026 and 2027").is_empty());
        assert!(extract("inventory 12345, investor 99").is_empty());
    }

    #[test]
    fn deduplicates_and_keeps_order() {
        assert_eq!(
            extract("Invoice INV-2 then Invoice #301, again INV-2"),
            ["INV-2", "301"]
        );
    }
}
