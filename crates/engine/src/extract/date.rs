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
use super::scan;
use regex::{Captures, Regex};
use sentra_domain::Currency;
use std::sync::LazyLock;
use time::{Date, Duration, Month};

const DUE_PATTERN: &str = concat!(
    r"(?i)\b(?:payment[\x20\t]+)?terms?\b[\x20\t]*[:\-–]?[\x20\t]*(?:net[\x20\t]*)?",
    r"(?P<d1>[0-9]{1,3})[\x20\t]*(?:calendar[\x20\t]+)?days?\b",
    r"|\b(?:payable|due|paid|(?:please[\x20\t]+)?pay(?:ment)?|settle(?:ment)?)[\x20\t]+(?:is[\x20\t]+)?(?:due[\x20\t]+)?",
    r"within[\x20\t]+(?P<d2>[0-9]{1,3})[\x20\t]*(?:calendar[\x20\t]+)?days?\b",
    r"|\bnet[\x20\t\-]*(?P<d3>[0-9]{1,3})\b",
    r"|\b(?P<label>due(?:[\x20\t]+date)?|deadline|pay(?:ment)?[\x20\t]+(?:by|before)|payable[\x20\t]+(?:by|on|before)",
    r"|please[\x20\t]+pay|to[\x20\t]+be[\x20\t]+paid[\x20\t]+(?:by|on|before))\b",
);

macro_rules! months {
    () => {
        r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
    };
}

const DATE_PATTERN: &str = concat!(
    r"(?i)\b(?P<d>[0-9]{1,2})(?:st|nd|rd|th)?[\x20\t\-]+(?:of[\x20\t]+)?(?P<mon>",
    months!(),
    r")\b(?:\.?,?[\x20\t\-]*(?P<y>[0-9]{4})\b)?",
    r"|\b(?P<mon2>",
    months!(),
    r")\b\.?[\x20\t]+(?P<d2>[0-9]{1,2})(?:st|nd|rd|th)?\b(?:,?[\x20\t]*(?P<y2>[0-9]{4})\b)?",
    r"|\b(?P<iy>[0-9]{4})[\-/.](?P<im>[0-9]{1,2})[\-/.](?P<id>[0-9]{1,2})\b",
    r"|\b(?P<n1>[0-9]{1,2})(?P<s1>[/.\-])(?P<n2>[0-9]{1,2})(?P<s2>[/.\-])(?P<n3>[0-9]{4}|[0-9]{2})\b",
);

static DUE_RE: LazyLock<Option<Regex>> = LazyLock::new(|| scan::compile(DUE_PATTERN));
static DATE_RE: LazyLock<Option<Regex>> = LazyLock::new(|| scan::compile(DATE_PATTERN));

/// How far after a label the date may start, in bytes.
const MAX_GAP: usize = 40;
/// Words between a label and a date that mean the date is about something else.
const GAP_STOPWORDS: &[&str] = &["invoice", "issue", "dated", "sent", "received", "paid on"];

/// Finds due dates in `text`, de-duplicated, in order of appearance.
pub(super) fn extract(text: &str, ctx: &ExtractContext<'_>) -> Vec<Date> {
    let mut out: Vec<Date> = Vec::new();
    let Some(re) = DUE_RE.as_ref() else {
        return out;
    };
    for caps in re.captures_iter(text) {
        let date = if let Some(m) = caps.name("label") {
            if reads_due_to(text, m.end()) {
                continue;
            }
            date_after(text, m.end(), ctx)
        } else {
            relative(text, &caps, ctx)
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

/// `reference_date + N days` for payment terms.
fn relative(text: &str, caps: &Captures<'_>, ctx: &ExtractContext<'_>) -> Option<Date> {
    let m = caps
        .name("d1")
        .or_else(|| caps.name("d2"))
        .or_else(|| caps.name("d3"))?;
    // "Net 4,050.00" is a net amount, not "net 4" days.
    let mut after = text.get(m.end()..)?.chars();
    if matches!(after.next(), Some('.' | ',')) && after.next().is_some_and(|c| c.is_ascii_digit()) {
        return None;
    }
    let days: i64 = m.as_str().parse().ok()?;
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
    let caps = re.captures_at(window, start)?;
    let whole = caps.get(0)?;
    if whole.start() > start + MAX_GAP {
        return None;
    }
    let gap = scan::slice(text, start, whole.start());
    if GAP_STOPWORDS.iter().any(|w| scan::contains_ci(gap, w)) {
        return None;
    }
    parse_date(&caps, ctx)
}

/// Turns one date match into a calendar date; `None` for impossible dates.
fn parse_date(caps: &Captures<'_>, ctx: &ExtractContext<'_>) -> Option<Date> {
    let num = |name: &str| caps.name(name).and_then(|m| m.as_str().parse::<i32>().ok());
    if let Some(mon) = caps.name("mon").or_else(|| caps.name("mon2")) {
        let month = month_from_name(mon.as_str())?;
        let day = num("d").or_else(|| num("d2"))?;
        return match num("y").or_else(|| num("y2")) {
            Some(year) => make(year, month, day),
            None => infer_year(month, day, ctx.reference_date?),
        };
    }
    if let Some(year) = num("iy") {
        return make(year, num("im")?, num("id")?);
    }
    let (a, b, y) = (num("n1")?, num("n2")?, num("n3")?);
    if caps.name("s1").map(|m| m.as_str()) != caps.name("s2").map(|m| m.as_str()) {
        return None;
    }
    let year = if y < 100 { 2000 + y } else { y };
    let month_first = ctx.default_currency == Some(Currency::USD);
    let (first, second) = if month_first {
        ((b, a), (a, b))
    } else {
        ((a, b), (b, a))
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

fn month_from_name(name: &str) -> Option<i32> {
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
