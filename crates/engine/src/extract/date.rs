//! Due dates: a date labelled as due (`Due date: 1 December 2026`,
//! `Payment due: 01/12/2026`, `Please pay £… by 1 Dec 2026`) or payment terms
//! (`Payment terms: 30 days`, `payable within 14 days`, `net 30`) counted from
//! the message date.
//!
//! Only labelled dates count: an invoice date is not a due date. The label is
//! found first and the date searched for in a short window after it, which
//! is cheaper than parsing every date in the text and avoids guessing which
//! date a label belongs to. Numeric dates are day-first (UK) unless the
//! supplier bills in US dollars or the day-first reading is impossible.

use super::ExtractContext;
use super::scan::{self, Hits};
use regex::Regex;
use sentra_domain::Currency;
use std::sync::LazyLock;
use time::{Date, Duration, Month};

/// Payment terms: `Payment terms: 30 days`, `payable within 14 days`, `net 30`.
const TERMS_PATTERN: &str = concat!(
    r"(?i)(?:payment[\x20\t]+)?terms?\b[\x20\t]*[:\-–]?[\x20\t]*(?:net[\x20\t]*)?",
    r"[0-9]{1,3}[\x20\t]*(?:calendar[\x20\t]+)?days?\b",
    r"|(?:payable|due|paid|(?:please[\x20\t]+)?pay(?:ment)?|settle(?:ment)?)[\x20\t]+(?:is[\x20\t]+)?",
    r"(?:due[\x20\t]+)?within[\x20\t]+[0-9]{1,3}[\x20\t]*(?:calendar[\x20\t]+)?days?\b",
    r"|net[\x20\t\-]*[0-9]{1,3}\b",
);

/// Labels a due date follows.
const DUE_LABEL_PATTERN: &str = concat!(
    r"(?i)(?:due(?:[\x20\t]+date)?|deadline|pay(?:ment)?[\x20\t]+(?:by|before)",
    r"|payable[\x20\t]+(?:by|on|before)|please[\x20\t]+pay)\b",
);

macro_rules! months {
    () => {
        r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
    };
}

const DATE_PATTERN: &str = concat!(
    r"(?i)\b(?:[0-9]{1,2})(?:st|nd|rd|th)?[\x20\t\-]+(?:of[\x20\t]+)?(?:",
    months!(),
    r")\b(?:\.?,?[\x20\t\-]*(?:[0-9]{4})\b)?",
    r"|\b(?:",
    months!(),
    r")\b\.?[\x20\t]+(?:[0-9]{1,2})(?:st|nd|rd|th)?\b(?:,?[\x20\t]*(?:[0-9]{4})\b)?",
    r"|\b(?:[0-9]{4})[\-/.](?:[0-9]{1,2})[\-/.](?:[0-9]{1,2})\b",
    r"|\b(?:[0-9]{1,2})(?:[/.\-])(?:[0-9]{1,2})(?:[/.\-])(?:[0-9]{4}|[0-9]{2})\b",
);

static TERMS_RE: LazyLock<Option<Regex>> = LazyLock::new(|| scan::compile_anchored(TERMS_PATTERN));
static DUE_LABEL_RE: LazyLock<Option<Regex>> =
    LazyLock::new(|| scan::compile_anchored(DUE_LABEL_PATTERN));
static DATE_RE: LazyLock<Option<Regex>> = LazyLock::new(|| scan::compile(DATE_PATTERN));

/// How far after a label the date may start, in bytes.
const MAX_GAP: usize = 40;
/// Words between a label and a date that mean the date is about something else.
const GAP_STOPWORDS: &[&str] = &["invoice", "issue", "dated", "sent", "received", "paid on"];

/// Finds due dates in `text` at the keyword hits, de-duplicated, in order
/// of appearance.
pub(super) fn extract(text: &str, hits: &Hits, ctx: &ExtractContext<'_>) -> Vec<Date> {
    let mut out: Vec<Date> = Vec::new();
    let (Some(terms), Some(label)) = (TERMS_RE.as_ref(), DUE_LABEL_RE.as_ref()) else {
        return out;
    };
    let mut next = 0;
    for (pos, _) in scan::word_hits(text, hits, scan::DUE) {
        // A date or a number of days follows within the window.
        if pos < next || !scan::digit_within(text, pos, 128) {
            continue;
        }
        let date = if let Some(end) = scan::match_end(terms, text, pos) {
            next = end;
            relative(text, pos, end, ctx)
        } else if let Some(end) = scan::match_end(label, text, pos) {
            next = end;
            if reads_due_to(text, end) {
                continue;
            }
            date_after(text, end, ctx)
        } else {
            continue;
        };
        if let Some(d) = date
            && !out.contains(&d)
        {
            out.push(d);
        }
    }
    out
}

/// "due to the bank holiday" explains, it does not set a date ("due to be
/// paid by" does).
fn reads_due_to(text: &str, label_end: usize) -> bool {
    let after = scan::slice(text, label_end, label_end + 7);
    let lower = after.to_ascii_lowercase();
    lower.starts_with(" to ") && !lower.starts_with(" to be ")
}

/// `reference_date + N days` for the payment terms matched in `start..end`
/// (the only number in the match is the number of days).
fn relative(text: &str, start: usize, end: usize, ctx: &ExtractContext<'_>) -> Option<Date> {
    let matched = text.get(start..end)?;
    let first = matched.find(|c: char| c.is_ascii_digit())?;
    let len = matched
        .get(first..)?
        .bytes()
        .take_while(u8::is_ascii_digit)
        .count();
    let digits = matched.get(first..first + len)?;
    // "Net 4,050.00" is a net amount, not "net 4" days.
    let mut after = text.get(start + first + len..)?.chars();
    if matches!(after.next(), Some('.' | ',')) && after.next().is_some_and(|c| c.is_ascii_digit()) {
        return None;
    }
    let days: i64 = digits.parse().ok()?;
    if !(1..=365).contains(&days) {
        return None;
    }
    ctx.reference_date?.checked_add(Duration::days(days))
}

/// The date in the window after a due label: rest of the label's line, or
/// the next line when the label ends its line (table layouts).
fn date_after(text: &str, label_end: usize, ctx: &ExtractContext<'_>) -> Option<Date> {
    let re = DATE_RE.as_ref()?;
    let mut start = label_end;
    let mut end = scan::line_end(text, start);
    let rest = scan::slice(text, start, end);
    if rest.chars().all(|c| !c.is_alphanumeric()) && end < text.len() {
        start = end + 1;
        end = scan::line_end(text, start);
    }
    let end = scan::floor_boundary(text, end.min(start + MAX_GAP + 30));
    let window = text.get(..end)?;
    if start > window.len() {
        return None;
    }
    let whole = re.find_at(window, start)?;
    if whole.start() > start + MAX_GAP {
        return None;
    }
    let gap = scan::slice(text, start, whole.start());
    if GAP_STOPWORDS.iter().any(|w| scan::contains_ci(gap, w)) {
        return None;
    }
    parse_date(whole.as_str(), ctx)
}

/// Turns one date match into a calendar date; `None` for impossible dates.
/// The pattern has no capture groups (the regex crate then needs only its
/// DFA), so the match is split here into number runs, a month name and the
/// separators between numbers.
fn parse_date(matched: &str, ctx: &ExtractContext<'_>) -> Option<Date> {
    let mut nums: Vec<(i32, usize)> = Vec::with_capacity(3);
    let mut seps: Vec<u8> = Vec::with_capacity(2);
    let mut month = None;
    let b = matched.as_bytes();
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let run = b
            .get(i..)
            .unwrap_or_default()
            .iter()
            .take_while(|x| x.is_ascii_digit() == c.is_ascii_digit() && x.is_ascii_alphanumeric())
            .count()
            .max(1);
        let token = matched.get(i..i + run).unwrap_or("");
        if c.is_ascii_digit() {
            nums.push((token.parse().ok()?, run));
        } else if c.is_ascii_alphabetic() {
            month = month.or_else(|| month_from_name(token));
        } else if !nums.is_empty() && !matches!(c, b' ' | b'\t' | b',') {
            seps.push(c);
        }
        i += run;
    }
    if let Some(month) = month {
        let (day, _) = nums.iter().find(|(_, len)| *len <= 2)?;
        return match nums.iter().find(|(_, len)| *len == 4) {
            Some((year, _)) => make(*year, month, *day),
            None => infer_year(month, *day, ctx.reference_date?),
        };
    }
    let [(a, a_len), (b, _), (y, _)] = nums.as_slice() else {
        return None;
    };
    if *a_len == 4 {
        return make(*a, *b, *y);
    }
    if seps.first() != seps.get(1) {
        return None;
    }
    let year = if *y < 100 { 2000 + y } else { *y };
    let month_first = ctx.default_currency == Some(Currency::USD);
    let (first, second) = if month_first {
        ((*b, *a), (*a, *b))
    } else {
        ((*a, *b), (*b, *a))
    };
    make(year, first.1, first.0).or_else(|| make(year, second.1, second.0))
}

/// A date without a year: the first such date not long before the message.
fn infer_year(month: i32, day: i32, reference: Date) -> Option<Date> {
    let this_year = make(reference.year(), month, day)?;
    if this_year < reference.checked_sub(Duration::days(60))? {
        make(reference.year() + 1, month, day)
    } else {
        Some(this_year)
    }
}

fn make(year: i32, month: i32, day: i32) -> Option<Date> {
    if !(1990..=2100).contains(&year) {
        return None;
    }
    let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
    Date::from_calendar_date(year, month, u8::try_from(day).ok()?).ok()
}

/// The month of a name or its abbreviation (`Dec`, `December`, `Sept`).
fn month_from_name(name: &str) -> Option<i32> {
    if name.len() < 3 {
        return None;
    }
    let lower = name.get(..3)?.to_ascii_lowercase();
    let n = match lower.as_str() {
        "jan" => 1,
        "feb" => 2,
        "mar" => 3,
        "apr" => 4,
        "may" => 5,
        "jun" => 6,
        "jul" => 7,
        "aug" => 8,
        "sep" => 9,
        "oct" => 10,
        "nov" => 11,
        "dec" => 12,
        _ => return None,
    };
    Some(n)
}

#[cfg(test)]
mod tests;
