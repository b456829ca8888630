//! Amounts with a currency: `£4,860.00`, `€12.450,00`, `1,234.56 GBP`,
//! `US$1,234.56`, `-£50.00`, and a bare number labelled total when the caller
//! knows the supplier's currency.
//!
//! Separators follow one rule (documented on [`parse_minor`]) so that
//! European and British spellings of the same amount agree. Whether an amount
//! is the total due is read from the label just before it on its line (or on
//! the line above, for tables).

use super::scan::{self, Hits, char_at, char_before};
use super::{ExtractContext, FoundAmount};
use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use regex::Regex;
use sentra_domain::{Currency, Money};
use std::sync::LazyLock;

/// Currency codes read as amounts (upper case only: `eur` inside a word or a
/// lower-case `usd` in prose is too weak a signal).
const CODES: &[&str] = &[
    "GBP", "EUR", "USD", "AUD", "NZD", "CAD", "CHF", "SEK", "NOK", "DKK", "PLN", "SGD", "HKD",
];

/// A bare number right after a total label; only decimals with two places,
/// so "Total items: 3" and "total within 30 days" are not amounts. The
/// number ends the match and the gap before it holds no digit, so it is
/// read back from the match end.
const BARE_TOTAL_PATTERN: &str = concat!(
    r"(?i)\b(?:total|amount[\x20\t]+(?:due|payable|outstanding|owing)",
    r"|balance[\x20\t]+(?:due|outstanding|owing)|please[\x20\t]+pay)\b",
    r"[^0-9\r\n£€$]{0,30}?",
    r"(?:[0-9]{1,3}(?:,[0-9]{3})+\.[0-9]{2}|[0-9]{1,3}(?:\.[0-9]{3})+,[0-9]{2}",
    r"|[0-9]+[.,][0-9]{2})\b",
);

static BARE_TOTAL_RE: LazyLock<Option<Regex>> =
    LazyLock::new(|| scan::compile_anchored(BARE_TOTAL_PATTERN));

/// Label words around an amount. `Pos` words mark the total due; `Neg` words
/// (close to the total word) mean a part of it (subtotal, VAT, amount paid);
/// `Inc` words cancel a tax word (`Total (inc VAT)`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Label {
    Pos,
    Neg,
    Tax,
    Inc,
}

const LABELS: &[(&str, Label)] = &[
    ("total", Label::Pos),
    ("amount due", Label::Pos),
    ("balance due", Label::Pos),
    ("amount payable", Label::Pos),
    ("please pay", Label::Pos),
    ("amount outstanding", Label::Pos),
    ("balance outstanding", Label::Pos),
    ("amount owing", Label::Pos),
    ("balance owing", Label::Pos),
    ("subtotal", Label::Neg),
    ("sub-total", Label::Neg),
    ("sub total", Label::Neg),
    ("excl", Label::Neg),
    ("ex vat", Label::Neg),
    ("ex. vat", Label::Neg),
    ("ex-vat", Label::Neg),
    ("ex gst", Label::Neg),
    ("before vat", Label::Neg),
    ("before tax", Label::Neg),
    ("net", Label::Neg),
    ("paid", Label::Neg),
    ("received", Label::Neg),
    ("deposit", Label::Neg),
    ("discount", Label::Neg),
    ("vat", Label::Tax),
    ("tax", Label::Tax),
    ("gst", Label::Tax),
    ("inc", Label::Inc),
    ("gross", Label::Inc),
];

static LABEL_AC: LazyLock<Option<AhoCorasick>> = LazyLock::new(|| {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::LeftmostLongest)
        .kind(Some(AhoCorasickKind::DFA))
        .build(LABELS.iter().map(|(k, _)| k))
        .ok()
});

/// Finds amounts in `text` at the currency and total keyword hits: totals
/// first, then the others, each in order of appearance, one entry per
/// distinct amount.
pub(super) fn extract(text: &str, hits: &Hits, ctx: &ExtractContext<'_>) -> Vec<FoundAmount> {
    // (start, end, amount); spans let bare totals skip numbers already read.
    let mut found: Vec<(usize, usize, FoundAmount)> = Vec::with_capacity(16);
    let mut prev_end = 0;
    for &(pos, flags) in &hits.list {
        if flags & scan::AMOUNT == 0 || pos < prev_end {
            continue;
        }
        let Some((start, end, money)) = amount_at(text, pos, prev_end, ctx) else {
            continue;
        };
        let total = is_total(text, hits, start, prev_end);
        prev_end = end;
        found.push((start, end, FoundAmount { money, total }));
    }
    if hits.flags & scan::TOTAL != 0
        && let Some(currency) = ctx.default_currency
        && let Some(re) = BARE_TOTAL_RE.as_ref()
    {
        let mut bare = Vec::new();
        let mut next = 0;
        for (pos, _) in scan::word_hits(text, hits, scan::TOTAL) {
            if pos < next || !scan::digit_within(text, pos, 80) {
                continue;
            }
            let Some(end) = scan::match_end(re, text, pos) else {
                continue;
            };
            next = end;
            let Some(start) = number_start(text, end) else {
                continue;
            };
            let overlaps = found.iter().any(|(s, e, _)| *s < end && start < *e);
            let after = char_at(text, end);
            if overlaps
                || after.is_some_and(|c| c == '%' || c.is_alphanumeric())
                || !is_total(text, hits, start, 0)
            {
                continue;
            }
            if let Some(minor) = text.get(start..end).and_then(parse_minor) {
                let money = Money::new(minor, currency);
                bare.push((start, end, FoundAmount { money, total: true }));
            }
        }
        found.extend(bare);
        found.sort_by_key(|(s, _, _)| *s);
    }
    let mut out: Vec<FoundAmount> = Vec::with_capacity(found.len());
    for (_, _, a) in found {
        if let Some(existing) = out.iter_mut().find(|o| o.money == a.money) {
            existing.total |= a.total;
        } else {
            out.push(a);
        }
    }
    // Stable: totals first, each group in order of appearance.
    out.sort_by_key(|a| !a.total);
    out
}

/// The amount around the currency marker at `pos`, as (start, end, money).
/// Prefix forms (`£4,860`, `GBP 4860`, `US$5`) and suffix forms (`12,50 €`,
/// `1,234.56 GBP`) are both read; for `€` and codes the suffix form is tried
/// first, because Europeans write the symbol after the number.
fn amount_at(
    text: &str,
    pos: usize,
    prev_end: usize,
    ctx: &ExtractContext<'_>,
) -> Option<(usize, usize, Money)> {
    let (marker_start, marker_end, currency, suffix_first) = marker_at(text, pos, ctx)?;
    let prefix = || -> Option<(usize, usize, i64)> {
        let b = text.as_bytes();
        let mut i = marker_end;
        // Invoices align columns: `GBP     1,236.40` is one amount. Up to
        // eight spaces, tabs or no-break spaces may sit between the two.
        for _ in 0..8 {
            if b.get(i).is_some_and(|c| matches!(c, b' ' | b'\t')) {
                i += 1;
            } else if text.get(i..).is_some_and(|t| t.starts_with('\u{a0}')) {
                i += 2;
            } else {
                break;
            }
        }
        let minus = text
            .get(i..)
            .and_then(|t| t.chars().next())
            .filter(|c| matches!(c, '-' | '−'));
        i += minus.map_or(0, char::len_utf8);
        i += usize::from(minus.is_some() && b.get(i) == Some(&b' '));
        let end = number_end(text, i)?;
        if char_at(text, end).is_some_and(|c| c.is_alphabetic() || c == '%') {
            return None;
        }
        let mut minor = parse_minor(text.get(i..end)?)?;
        if minus.is_some() || negative_before(text, marker_start, end) {
            minor = -minor;
        }
        Some((marker_start, end, minor))
    };
    let suffix = || -> Option<(usize, usize, i64)> {
        let mut end = marker_start;
        if text.get(..end).is_some_and(|t| t.ends_with('\u{a0}')) {
            end -= 2;
        } else if text.get(..end).is_some_and(|t| t.ends_with(' ')) {
            end -= 1;
        }
        let start = number_start(text, end)?;
        if start < prev_end || char_before(text, start).is_some_and(scan::is_word_char) {
            return None;
        }
        let mut minor = parse_minor(text.get(start..end)?)?;
        if negative_before(text, start, marker_end) {
            minor = -minor;
        }
        Some((start, marker_end, minor))
    };
    let (start, end, minor) = if suffix_first {
        suffix().or_else(prefix)?
    } else {
        prefix().or_else(suffix)?
    };
    Some((start, end, Money::new(minor, currency)))
}

/// The currency marker at a keyword hit: (start, end, currency, whether the
/// suffix form is tried first). `US$` and friends start before the `$` hit.
fn marker_at(
    text: &str,
    pos: usize,
    ctx: &ExtractContext<'_>,
) -> Option<(usize, usize, Currency, bool)> {
    let rest = text.get(pos..)?;
    if let Some(sym) = ['£', '€', '$'].into_iter().find(|c| rest.starts_with(*c)) {
        let end = pos + sym.len_utf8();
        if sym != '$' {
            let currency = symbol_currency(if sym == '£' { "£" } else { "€" }, ctx)?;
            return Some((pos, end, currency, sym == '€'));
        }
        let before = text.get(..pos)?;
        for prefix in ["US", "AU", "NZ", "CA", "HK", "A", "C", "S"] {
            if let Some(head) = before.strip_suffix(prefix)
                && !head.chars().next_back().is_some_and(scan::is_word_char)
            {
                let currency = symbol_currency(&format!("{prefix}$"), ctx)?;
                return Some((pos - prefix.len(), end, currency, false));
            }
        }
        return Some((pos, end, symbol_currency("$", ctx)?, false));
    }
    let code = rest.get(..3)?;
    if !CODES.contains(&code)
        || char_at(text, pos + 3).is_some_and(|c| c.is_ascii_alphabetic())
        || char_before(text, pos).is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
    {
        return None;
    }
    Some((pos, pos + 3, Currency::parse(code)?, true))
}

/// Separators that may sit inside a number: `.`, `,`, no-break space and
/// narrow no-break space (each must have digits on both sides).
const NUMBER_SEPARATORS: [char; 4] = ['.', ',', '\u{a0}', '\u{202f}'];

/// The end of the number starting at `start` (which must be a digit).
fn number_end(text: &str, start: usize) -> Option<usize> {
    let rest = text.get(start..)?;
    if !rest.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let mut end = start;
    let mut chars = rest.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let digit_next = chars.peek().is_some_and(|(_, n)| n.is_ascii_digit());
        if c.is_ascii_digit() {
            end = start + i + 1;
        } else if !(NUMBER_SEPARATORS.contains(&c) && digit_next) {
            break;
        }
    }
    Some(end)
}

/// The start of the number ending at `end` (the char before must be a digit).
fn number_start(text: &str, end: usize) -> Option<usize> {
    let head = text.get(..end)?;
    if !head.ends_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let mut start = end;
    let mut chars = head.char_indices().rev().peekable();
    while let Some((i, c)) = chars.next() {
        let digit_before = chars.peek().is_some_and(|(_, p)| p.is_ascii_digit());
        if c.is_ascii_digit() {
            start = i;
        } else if !(NUMBER_SEPARATORS.contains(&c) && digit_before) {
            break;
        }
    }
    Some(start)
}

/// A minus sign directly before the amount (not a range like `£50-£100`).
/// Brackets are not read as accounting negatives: in email prose
/// `Invoice 10488 (£4,344.00)` is far more common than a bracketed credit.
fn negative_before(text: &str, start: usize, _end: usize) -> bool {
    match char_before(text, start) {
        Some(c @ ('-' | '−')) => {
            let before = char_before(text, start.saturating_sub(c.len_utf8()));
            before.is_none_or(|b| b.is_whitespace() || matches!(b, '(' | ':' | '|'))
        }
        _ => false,
    }
}

/// The currency of a symbol. A bare `$` is the supplier's dollar when the
/// context says the supplier bills in another dollar, US dollars otherwise.
fn symbol_currency(sym: &str, ctx: &ExtractContext<'_>) -> Option<Currency> {
    let code = match sym {
        "£" => "GBP",
        "€" => "EUR",
        "$" => {
            return Some(match ctx.default_currency {
                Some(c) if matches!(c.as_str(), "AUD" | "NZD" | "CAD" | "SGD" | "HKD") => c,
                _ => Currency::USD,
            });
        }
        s if s.eq_ignore_ascii_case("US$") => "USD",
        s if s.eq_ignore_ascii_case("AU$") || s.eq_ignore_ascii_case("A$") => "AUD",
        s if s.eq_ignore_ascii_case("NZ$") => "NZD",
        s if s.eq_ignore_ascii_case("CA$") || s.eq_ignore_ascii_case("C$") => "CAD",
        s if s.eq_ignore_ascii_case("HK$") => "HKD",
        s if s.eq_ignore_ascii_case("S$") => "SGD",
        _ => return None,
    };
    Currency::parse(code)
}

/// Parses a number to hundredths.
///
/// The rule: with both `.` and `,` present, the last one is the decimal
/// separator and the other groups thousands. With one kind only, a single
/// separator followed by one or two digits is the decimal point, followed by
/// three digits a thousands separator (`€1.234` is 1234). Several separators
/// of one kind must all group thousands. No-break spaces only group thousands.
/// Anything else (`1,23,4`, three decimals) is rejected rather than guessed.
pub(super) fn parse_minor(s: &str) -> Option<i64> {
    // One pass: digit groups and the separator before each group.
    let mut groups: [(u8, usize, i64); 8] = [(0, 0, 0); 8];
    let mut count = 0;
    let mut digits = 0;
    let mut sep = 0u8;
    let mut len = 0usize;
    let mut value: i64 = 0;
    let mut close = |sep: u8, len: usize, value: i64, count: &mut usize| -> Option<()> {
        *groups.get_mut(*count)? = (sep, len, value);
        *count += 1;
        Some(())
    };
    for c in s.chars() {
        if c.is_ascii_digit() {
            value = value * 10 + i64::from(c as u8 - b'0');
            len += 1;
            digits += 1;
            if digits > 15 {
                return None;
            }
            continue;
        }
        let kind = match c {
            '.' => b'.',
            ',' => b',',
            '\u{a0}' | '\u{202f}' => b' ',
            _ => return None,
        };
        if len == 0 {
            return None;
        }
        close(sep, len, value, &mut count)?;
        (sep, len, value) = (kind, 0, 0);
    }
    if len == 0 {
        return None;
    }
    close(sep, len, value, &mut count)?;
    let groups = groups.get(..count)?;
    let (&(last_sep, last_len, last_value), head) = groups.split_last()?;
    // The decimal separator, if any: the last `.`/`,` when the other kind
    // appears before it, or when it is the only one and has 1–2 digits after.
    let other = |k: u8| head.iter().skip(1).any(|(s, _, _)| *s != k && *s != b' ');
    let same = |k: u8| head.iter().skip(1).any(|(s, _, _)| *s == k);
    let decimal = match last_sep {
        b'.' | b',' if other(last_sep) => {
            if same(last_sep) || last_len > 2 {
                return None;
            }
            true
        }
        b'.' | b',' => !same(last_sep) && last_len <= 2,
        _ => false,
    };
    let int_groups = if decimal { head } else { groups };
    let mut int: i64 = 0;
    for (n, (_, len, v)) in int_groups.iter().enumerate() {
        let ok = if n == 0 {
            (1..=3).contains(len) || int_groups.len() == 1
        } else {
            *len == 3
        };
        if !ok {
            return None;
        }
        int = if n == 0 {
            *v
        } else {
            int.checked_mul(1000)?.checked_add(*v)?
        };
    }
    let cents = if decimal {
        if last_len == 1 {
            last_value * 10
        } else {
            last_value
        }
    } else {
        0
    };
    int.checked_mul(100)?.checked_add(cents)
}

/// Every total word starts at a keyword hit (`total`, `amount`, `balance`,
/// `please`), so a segment without one is rejected without reading it.
fn is_total(text: &str, hits: &Hits, start: usize, prev_end: usize) -> bool {
    let line = scan::line_start(text, start);
    let mut from = line.max(prev_end).max(start.saturating_sub(80));
    let mut to = start;
    if !scan::slice(text, from, to)
        .chars()
        .any(char::is_alphanumeric)
        && line > 0
    {
        to = line - 1;
        from = scan::line_start(text, to).max(to.saturating_sub(80));
    }
    hits.any_in(from, to, scan::TOTAL) && label_is_total(scan::slice(text, from, to))
}

/// Applies the label rule to a label segment: the last total word decides,
/// unless a part-of-total word sits after it or just before it (`Net total`).
fn label_is_total(seg: &str) -> bool {
    let Some(ac) = LABEL_AC.as_ref() else {
        return false;
    };
    let hits: Vec<(usize, Label)> = ac
        .find_iter(seg)
        .filter_map(|m| {
            let label = LABELS.get(m.pattern().as_usize())?.1;
            word_start(seg, m.start()).then_some((m.start(), label))
        })
        .collect();
    let Some(pos) = hits
        .iter()
        .rev()
        .find(|(_, l)| *l == Label::Pos)
        .map(|(p, _)| *p)
    else {
        return false;
    };
    let near = |p: usize| p + 6 >= pos;
    let mut tax = false;
    let mut inc = false;
    for (p, l) in &hits {
        if !near(*p) {
            continue;
        }
        match l {
            Label::Neg => return false,
            Label::Tax => tax = true,
            Label::Inc => inc = true,
            Label::Pos => {}
        }
    }
    !tax || inc
}

/// Whether a keyword hit starts a word (so `tax` does not fire inside `syntax`).
fn word_start(seg: &str, at: usize) -> bool {
    char_before(seg, at).is_none_or(|c| !c.is_alphanumeric())
}

#[cfg(test)]
mod tests;
