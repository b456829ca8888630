//! The email text as the message page shows it: account-like numbers
//! masked (the page never shows a full account number, even the one in the
//! email), and the evidence (invoice numbers, accounts, the signals'
//! quoted facts) marked for `<mark>`.

use regex::Regex;
use std::sync::LazyLock;

/// Longest text shown (characters); the rest is cut with a note.
pub const MAX_SHOWN: usize = 20_000;

/// IBAN-like runs (country, check digits, 10–30 more) and runs of 8+
/// digits with optional single spaces or hyphens between them.
static ACCOUNTISH: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){10,30}\b|\b\d(?:[ -]?\d){7,}\b").ok()
});

/// `text` with every account-like run replaced by `****` and its last four
/// letters or digits.
pub fn mask_accounts(text: &str) -> String {
    let Some(re) = ACCOUNTISH.as_ref() else {
        return text.to_owned();
    };
    re.replace_all(text, |caps: &regex::Captures<'_>| {
        let alnum: Vec<char> = caps[0]
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        let tail: String = alnum[alnum.len().saturating_sub(4)..].iter().collect();
        format!("****{tail}")
    })
    .into_owned()
}

/// One run of text, marked or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// The text (escaped by the template).
    pub text: String,
    /// Whether it is evidence.
    pub marked: bool,
}

/// Splits `text` into segments, marking every (ASCII case-insensitive)
/// occurrence of any needle of 3 or more characters; overlaps merge.
pub fn highlight(text: &str, needles: &[String]) -> Vec<Segment> {
    let lower = text.to_ascii_lowercase();
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for needle in needles {
        let n = needle.trim().to_ascii_lowercase();
        if n.chars().count() < 3 {
            continue;
        }
        let mut from = 0;
        while let Some(i) = lower[from..].find(&n) {
            let start = from + i;
            spans.push((start, start + n.len()));
            from = start + n.len();
        }
    }
    spans.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::new();
    for (s, e) in spans {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    let mut out = Vec::new();
    let mut at = 0;
    for (s, e) in merged {
        // Needles are found in the ASCII-lowercased copy, which has the same
        // byte offsets; a needle always starts and ends on char boundaries.
        if s > at {
            out.push(Segment {
                text: text[at..s].to_owned(),
                marked: false,
            });
        }
        out.push(Segment {
            text: text[s..e].to_owned(),
            marked: true,
        });
        at = e;
    }
    if at < text.len() {
        out.push(Segment {
            text: text[at..].to_owned(),
            marked: false,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_numbers_and_ibans_are_masked_short_numbers_kept() {
        let t = "Pay 12345678 sort 20-00-00, IBAN GB33 BUKB 2020 1555 5555 55, invoice 4471.";
        let m = mask_accounts(t);
        assert!(!m.contains("12345678") && m.contains("****5678"), "{m}");
        assert!(!m.contains("1555 5555") && m.contains("****5555"), "{m}");
        assert!(m.contains("20-00-00") && m.contains("invoice 4471"), "{m}");
    }

    #[test]
    fn evidence_is_marked_case_insensitively_and_overlaps_merge() {
        let segs = highlight(
            "Invoice INV-1 from apex-supplies.co",
            &[
                "inv-1".to_owned(),
                "Apex-Supplies".to_owned(),
                "x".to_owned(),
            ],
        );
        let marked: Vec<&str> = segs
            .iter()
            .filter(|s| s.marked)
            .map(|s| s.text.as_str())
            .collect();
        assert_eq!(marked, ["INV-1", "apex-supplies"]);
        let joined: String = segs.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(joined, "Invoice INV-1 from apex-supplies.co");
        let segs = highlight("abcdef", &["abcd".to_owned(), "cdef".to_owned()]);
        assert_eq!(segs.len(), 1);
        assert!(segs[0].marked);
        assert_eq!(highlight("é ab", &["é a".to_owned()]).len(), 2);
    }
}
