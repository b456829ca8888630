//! Shared scanning machinery for the extractors: the keyword prefilter, the
//! once-compiled regexes and small text-position helpers.
//!
//! Extraction runs on every message, so each extractor is gated by a single
//! Aho-Corasick pass over the text, and all regexes use ASCII word boundaries:
//! a Unicode `\b` makes the regex crate leave its fast lazy DFA as soon as the
//! text contains a non-ASCII byte (a `£` sign is enough).

use aho_corasick::{AhoCorasick, MatchKind};
use regex::Regex;
use std::sync::LazyLock;

/// Bank labels (sort code, account, BSB, routing, BIC) occur in the text.
pub(super) const BANK: u32 = 1;
/// "inv" occurs (invoice numbers).
pub(super) const INVOICE: u32 = 1 << 1;
/// A currency symbol or code occurs.
pub(super) const AMOUNT: u32 = 1 << 2;
/// A total label occurs (bare amounts next to "Total").
pub(super) const TOTAL: u32 = 1 << 3;
/// A due-date or payment-terms label occurs.
pub(super) const DUE: u32 = 1 << 4;
/// A tax-id label occurs.
pub(super) const TAX: u32 = 1 << 5;
const ALL: u32 = BANK | INVOICE | AMOUNT | TOTAL | DUE | TAX;

/// Keywords and the extractors they enable. The automaton reports the
/// leftmost-longest keyword, so a keyword that is a prefix of another (`gb`,
/// `gbp`) must have its flags included in the longer one's.
const KEYWORDS: &[(&str, u32)] = &[
    ("sort", BANK),
    ("s/c", BANK),
    ("acc", BANK),
    ("a/c", BANK),
    ("bsb", BANK),
    ("routing", BANK),
    ("transit", BANK),
    ("aba", BANK),
    ("rtn", BANK),
    ("bic", BANK),
    ("swift", BANK),
    ("inv", INVOICE),
    ("£", AMOUNT),
    ("€", AMOUNT),
    ("$", AMOUNT),
    ("gbp", AMOUNT | TAX),
    ("eur", AMOUNT),
    ("usd", AMOUNT),
    ("aud", AMOUNT),
    ("nzd", AMOUNT),
    ("cad", AMOUNT),
    ("chf", AMOUNT),
    ("sek", AMOUNT),
    ("nok", AMOUNT),
    ("dkk", AMOUNT),
    ("pln", AMOUNT),
    ("sgd", AMOUNT),
    ("hkd", AMOUNT),
    ("total", TOTAL),
    ("amount", TOTAL),
    ("balance", TOTAL),
    ("pay", TOTAL | DUE),
    ("due", TOTAL | DUE),
    ("deadline", DUE),
    ("term", DUE),
    ("net", DUE),
    ("settle", DUE),
    ("vat", TAX),
    ("abn", TAX),
    ("gb", TAX),
];

static KEYWORD_AC: LazyLock<Option<AhoCorasick>> = LazyLock::new(|| {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::LeftmostLongest)
        .build(KEYWORDS.iter().map(|(k, _)| k))
        .ok()
});

/// Which extractors can possibly match `text` (a bit set of the flags above).
/// Errs on the side of running an extractor.
pub(super) fn keyword_flags(text: &str) -> u32 {
    let Some(ac) = KEYWORD_AC.as_ref() else {
        return ALL;
    };
    let mut flags = 0;
    for m in ac.find_iter(text) {
        flags |= KEYWORDS
            .get(m.pattern().as_usize())
            .map_or(ALL, |(_, f)| *f);
        if flags == ALL {
            break;
        }
    }
    flags
}

/// Compiles a pattern written with `\b`, turning every `\b` into an ASCII word
/// boundary (see the module doc). `None` only if the pattern is invalid, which
/// the unit tests rule out for every pattern in this module tree.
pub(super) fn compile(pattern: &str) -> Option<Regex> {
    let pattern = pattern.replace(r"\b", r"(?-u:\b)");
    regex::RegexBuilder::new(&pattern)
        .size_limit(1 << 24)
        .build()
        .ok()
}

/// Byte offset of the start of the line containing `pos`.
pub(super) fn line_start(text: &str, pos: usize) -> usize {
    text.as_bytes()
        .get(..pos)
        .and_then(|b| memchr::memrchr(b'\n', b))
        .map_or(0, |i| i + 1)
}

/// Byte offset of the end of the line containing `pos` (the `\n` or the text end).
pub(super) fn line_end(text: &str, pos: usize) -> usize {
    text.as_bytes()
        .get(pos..)
        .and_then(|b| memchr::memchr(b'\n', b))
        .map_or(text.len(), |i| pos + i)
}

/// Number of line breaks between two offsets (in either order).
pub(super) fn lines_between(text: &str, a: usize, b: usize) -> usize {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    text.as_bytes()
        .get(lo..hi)
        .map_or(0, |s| memchr::memchr_iter(b'\n', s).count())
}

/// The largest char boundary at or before `pos`.
pub(super) fn floor_boundary(text: &str, pos: usize) -> usize {
    let mut p = pos.min(text.len());
    while p > 0 && !text.is_char_boundary(p) {
        p -= 1;
    }
    p
}

/// `text[from..to]` clamped to char boundaries; empty when out of range.
pub(super) fn slice(text: &str, from: usize, to: usize) -> &str {
    let to = floor_boundary(text, to);
    let from = floor_boundary(text, from.min(to));
    text.get(from..to).unwrap_or("")
}

/// The character just before byte offset `pos`.
pub(super) fn char_before(text: &str, pos: usize) -> Option<char> {
    text.get(..floor_boundary(text, pos))?.chars().next_back()
}

/// The character starting at byte offset `pos`.
pub(super) fn char_at(text: &str, pos: usize) -> Option<char> {
    text.get(pos..)?.chars().next()
}

/// Whether `s` (ASCII-case-insensitively) contains `needle` (given in lower case).
pub(super) fn contains_ci(s: &str, needle: &str) -> bool {
    let n = needle.as_bytes();
    !n.is_empty()
        && s.as_bytes()
            .windows(n.len())
            .any(|w| w.eq_ignore_ascii_case(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_flags_pick_only_the_extractors_whose_words_occur() {
        assert_eq!(keyword_flags("hello world"), 0);
        assert_eq!(keyword_flags("Sort code"), BANK);
        assert_eq!(keyword_flags("GBP 10"), AMOUNT | TAX);
        assert_eq!(keyword_flags("INVOICE"), INVOICE);
        assert_eq!(keyword_flags("Payment due"), TOTAL | DUE);
    }

    #[test]
    fn compile_rewrites_word_boundaries_to_ascii() {
        let re = compile(r"\bab\b").unwrap();
        assert!(re.is_match("£ab£"));
        assert!(!re.is_match("xab"));
        assert!(compile("(").is_none());
    }

    #[test]
    fn position_helpers_clamp_to_char_boundaries() {
        let t = "a£b\ncd";
        assert_eq!(line_start(t, 5), 5);
        assert_eq!(line_end(t, 0), 4);
        assert_eq!(lines_between(t, 6, 0), 1);
        assert_eq!(slice(t, 0, 2), "a");
        assert_eq!(slice(t, 2, 100), "£b\ncd");
        assert_eq!(char_before(t, 3), Some('£'));
        assert_eq!(char_at(t, 3), Some('b'));
        assert_eq!(char_at(t, 99), None);
        assert!(contains_ci("Invoice Date", "invoice date"));
        assert!(!contains_ci("ab", "abc"));
    }
}
