//! Amounts with a currency: `£4,860.00`, `€12.450,00`, `1,234.56 GBP`,
//! `US$1,234.56`, `-£50.00`, and a bare number labelled total when the caller
//! knows the supplier's currency.
//!
//! Separators follow one rule (documented on [`parse_minor`]) so that
//! European and British spellings of the same amount agree. Whether an amount
//! is the total due is read from the label just before it on its line (or on
//! the line above, for tables).

use super::scan::{self, char_at, char_before};
use super::{ExtractContext, FoundAmount};
use aho_corasick::{AhoCorasick, MatchKind};
use regex::Regex;
use sentra_domain::{Currency, Money};
use std::sync::LazyLock;

macro_rules! codes {
    () => {
        "GBP|EUR|USD|AUD|NZD|CAD|CHF|SEK|NOK|DKK|PLN|SGD|HKD"
    };
}

const AMOUNT_PATTERN: &str = concat!(
    r"(?:(?P<sym>\b(?:US|AU|NZ|CA|HK|S|C|A)\$|£|€|\$)|\b(?P<code>",
    codes!(),
    r"))[\x20\t\u{a0}]?(?P<neg>[-−])?[\x20\t\u{a0}]?",
    r"(?P<num>[0-9]+(?:[.,\u{a0}\u{202f}][0-9]+)*)",
    r"|\b(?P<num2>[0-9]+(?:[.,\u{a0}\u{202f}][0-9]+)*)[\x20\u{a0}]?(?:(?P<code2>",
    codes!(),
    r")\b|(?P<sym2>€|£))",
);

/// A bare number right after a total label; only decimals with two places,
/// so "Total items: 3" and "total within 30 days" are not amounts.
const BARE_TOTAL_PATTERN: &str = concat!(
    r"(?i)\b(?:total|amount[\x20\t]+(?:due|payable|outstanding|owing)",
    r"|balance[\x20\t]+(?:due|outstanding|owing)|please[\x20\t]+pay)\b",
    r"[^0-9\r\n£€$]{0,30}?",
    r"(?P<num>[0-9]{1,3}(?:,[0-9]{3})+\.[0-9]{2}|[0-9]{1,3}(?:\.[0-9]{3})+,[0-9]{2}",
    r"|[0-9]+[.,][0-9]{2})\b",
);

static AMOUNT_RE: LazyLock<Option<Regex>> = LazyLock::new(|| scan::compile(AMOUNT_PATTERN));
static BARE_TOTAL_RE: LazyLock<Option<Regex>> = LazyLock::new(|| scan::compile(BARE_TOTAL_PATTERN));

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
        .build(LABELS.iter().map(|(k, _)| k))
        .ok()
});

/// Finds amounts in `text`: totals first, then the others, each in order of
/// appearance, one entry per distinct amount.
pub(super) fn extract(text: &str, ctx: &ExtractContext<'_>, flags: u32) -> Vec<FoundAmount> {
    // (start, end, amount); spans let bare totals skip numbers already read.
    let mut found: Vec<(usize, usize, FoundAmount)> = Vec::new();
    if flags & scan::AMOUNT != 0
        && let Some(re) = AMOUNT_RE.as_ref()
    {
        let mut prev_end = 0;
        for caps in re.captures_iter(text) {
            let Some(whole) = caps.get(0) else { continue };
            let Some(money) = money_from(text, &caps, ctx) else {
                continue;
            };
            let total = is_total(text, whole.start(), prev_end);
            prev_end = whole.end();
            found.push((whole.start(), whole.end(), FoundAmount { money, total }));
        }
    }
    if flags & scan::TOTAL != 0
        && let Some(currency) = ctx.default_currency
        && let Some(re) = BARE_TOTAL_RE.as_ref()
    {
        for caps in re.captures_iter(text) {
            let Some(num) = caps.name("num") else {
                continue;
            };
            let overlaps = found
                .iter()
                .any(|(s, e, _)| *s < num.end() && num.start() < *e);
            let after = char_at(text, num.end());
            if overlaps
                || after.is_some_and(|c| c == '%' || c.is_alphanumeric())
                || !is_total(text, num.start(), 0)
            {
                continue;
            }
            if let Some(minor) = parse_minor(num.as_str()) {
                let money = Money::new(minor, currency);
                found.push((num.start(), num.end(), FoundAmount { money, total: true }));
            }
        }
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

/// Builds the money value of one amount match, or `None` when the number is
/// malformed or is really a multiplier (`£5k`) or a percentage.
fn money_from(text: &str, caps: &regex::Captures<'_>, ctx: &ExtractContext<'_>) -> Option<Money> {
    let whole = caps.get(0)?;
    let (num, currency) = if let Some(num) = caps.name("num") {
        let currency = match (caps.name("sym"), caps.name("code")) {
            (Some(s), _) => symbol_currency(s.as_str(), ctx)?,
            (None, Some(c)) => Currency::parse(c.as_str())?,
            (None, None) => return None,
        };
        if char_at(text, num.end()).is_some_and(|c| c.is_alphabetic() || c == '%') {
            return None;
        }
        (num, currency)
    } else {
        let num = caps.name("num2")?;
        let currency = match (caps.name("code2"), caps.name("sym2")) {
            (Some(c), _) => Currency::parse(c.as_str())?,
            (None, Some(s)) => symbol_currency(s.as_str(), ctx)?,
            (None, None) => return None,
        };
        (num, currency)
    };
    let mut minor = parse_minor(num.as_str())?;
    if caps.name("neg").is_some() || negative_before(text, whole.start(), whole.end()) {
        minor = -minor;
    }
    Some(Money::new(minor, currency))
}

/// A minus sign directly before the amount (not a range like `£50-£100`), or
/// accounting brackets `(£50.00)`.
fn negative_before(text: &str, start: usize, end: usize) -> bool {
    match char_before(text, start) {
        Some(c @ ('-' | '−')) => {
            let before = char_before(text, start.saturating_sub(c.len_utf8()));
            before.is_none_or(|b| b.is_whitespace() || matches!(b, '(' | ':' | '|'))
        }
        Some('(') => char_at(text, end) == Some(')'),
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
    let last_sep = s.rfind(['.', ',']);
    let (int_part, frac) = match last_sep {
        None => (s, ""),
        Some(i) => {
            let sep = s.get(i..=i)?;
            let other = if sep == "." { ',' } else { '.' };
            let tail = s.get(i + 1..)?;
            let head = s.get(..i)?;
            let same_kind = head.matches(sep).count();
            if head.contains(other) {
                // Both kinds: the last is the decimal point.
                if head.contains(sep) || tail.len() > 2 {
                    return None;
                }
                (head, tail)
            } else if same_kind == 0 && tail.len() <= 2 {
                (head, tail)
            } else {
                (s, "")
            }
        }
    };
    // Every remaining separator groups thousands.
    let mut value: i64 = 0;
    let mut digits = 0usize;
    for (n, group) in int_part.split(['.', ',', '\u{a0}', '\u{202f}']).enumerate() {
        let ok = if n == 0 {
            (1..=3).contains(&group.len()) || (group.len() > 3 && int_part.len() == group.len())
        } else {
            group.len() == 3
        };
        if !ok {
            return None;
        }
        for b in group.bytes() {
            value = value
                .checked_mul(10)?
                .checked_add(i64::from(b.checked_sub(b'0')?))?;
            digits += 1;
        }
    }
    if digits > 15 {
        return None;
    }
    let mut cents: i64 = 0;
    for (k, b) in frac.bytes().enumerate() {
        let d = i64::from(b.checked_sub(b'0')?);
        cents += if k == 0 { d * 10 } else { d };
    }
    value.checked_mul(100)?.checked_add(cents)
}

/// Whether the label before `start` (on its line, after the previous amount,
/// or on the line above when the amount starts its line) marks the total due.
fn is_total(text: &str, start: usize, prev_end: usize) -> bool {
    let line = scan::line_start(text, start);
    let from = line.max(prev_end).max(start.saturating_sub(80));
    let mut seg = scan::slice(text, from, start);
    if !seg.chars().any(char::is_alphanumeric) && line > 0 {
        let above = scan::line_start(text, line - 1);
        seg = scan::slice(text, above.max((line - 1).saturating_sub(80)), line - 1);
    }
    label_is_total(seg)
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
