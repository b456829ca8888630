//! Bank details: UK sort code + account, IBAN (+ BIC), Australian BSB +
//! account and US routing + account.
//!
//! Labelled values (sort code, BSB, routing number, account number, BIC) are
//! read at the keyword hits; they are then paired by proximity, closest
//! first, within a few lines, because invoices print the two halves of an
//! account in every layout: one line, two lines, a table, account first. A
//! number without a label is never an account (phone numbers, order numbers
//! and VAT numbers look the same), with one exception: a dashed `20-29-59`
//! next to an account label is a sort code. IBANs are distinctive enough to
//! find without a label; an IBAN with wrong check digits is kept, because a
//! mistyped or forged IBAN is evidence.

use super::scan::{self, Hits};
use super::tax::TaxFound;
use super::{ExtractContext, FoundAccount, Location};
use regex::Regex;
use sentra_domain::bank::{AbaRouting, AccountNumber, BankAccount, Bic, Bsb, UkAccountNumber};
use std::sync::LazyLock;

macro_rules! acc_label {
    () => {
        r"\b(?:account|acct|acc|a/c)\b\.?(?:[\x20\t]*(?:number|num|no|nr)\b\.?|[\x20\t]*#)?"
    };
}
/// Between a label and its value: punctuation, "is", or a line break (tables).
macro_rules! gap {
    () => {
        r"(?:[\x20\t]*[:#|=.\-–—])*[\x20\t]*(?:is[\x20\t]+)?(?:\r?\n[\x20\t|:]*)?"
    };
}
macro_rules! sort_code_label {
    () => {
        r"\b(?:sort[\x20\t\-]?code|s/c)"
    };
}

/// Joins a first label to an account label: `Sort code / account`.
macro_rules! and_account {
    () => {
        concat!(r"[\x20\t]*(?:and|&|/|,|\+)[\x20\t]*", acc_label!(), gap!())
    };
}

const SORT_COMBINED_LABEL: &str = concat!(r"(?i)", sort_code_label!(), and_account!());
const SORT_LABEL: &str = concat!(
    r"(?i)",
    sort_code_label!(),
    r"(?:[\x20\t]*(?:number|no)\b\.?)?",
    gap!()
);
const BSB_COMBINED_LABEL: &str = concat!(r"(?i)\bbsb", and_account!());
const BSB_LABEL: &str = concat!(r"(?i)\bbsb(?:[\x20\t]*(?:number|no)\b\.?)?", gap!());
const ROUTING_LABEL: &str = concat!(
    r"(?i)(?:\b(?:(?:aba|ach|wire|fedwire)[\x20\t]+)?(?:routing|transit)\b",
    r"(?:[\x20\t]*(?:&|and|/)[\x20\t]*transit\b)?",
    r"(?:[\x20\t]*(?:number|num|no|nr)\b\.?|[\x20\t]*#)?(?:[\x20\t]*\((?:aba|ach|rtn)\))?",
    r"|\b(?:aba|rtn)\b(?:[\x20\t]*routing\b)?(?:[\x20\t]*(?:number|num|no|nr)\b\.?|[\x20\t]*#)?)",
    gap!(),
);
const BIC_LABEL: &str = concat!(
    r"(?i)\b(?:bic|swift)\b(?:[\x20\t]*/[\x20\t]*(?:bic|swift)\b)?",
    r"(?:[\x20\t]*(?:code|address|no)\b\.?)?",
    gap!(),
);
const ACCOUNT_LABEL: &str = concat!(r"(?i)", acc_label!(), gap!());

const DASHED_SORT_CODE_PATTERN: &str = r"\b[0-9]{2}-[0-9]{2}-[0-9]{2}\b";

/// The compiled label patterns (capture-free: values are read by hand).
struct Labels {
    sort_combined: Regex,
    sort: Regex,
    bsb_combined: Regex,
    bsb: Regex,
    routing: Regex,
    bic: Regex,
    account: Regex,
}

static LABELS: LazyLock<Option<Labels>> = LazyLock::new(|| {
    Some(Labels {
        sort_combined: scan::compile_anchored(SORT_COMBINED_LABEL)?,
        sort: scan::compile_anchored(SORT_LABEL)?,
        bsb_combined: scan::compile_anchored(BSB_COMBINED_LABEL)?,
        bsb: scan::compile_anchored(BSB_LABEL)?,
        routing: scan::compile_anchored(ROUTING_LABEL)?,
        bic: scan::compile_anchored(BIC_LABEL)?,
        account: scan::compile_anchored(ACCOUNT_LABEL)?,
    })
});
static DASHED_RE: LazyLock<Option<Regex>> =
    LazyLock::new(|| scan::compile(DASHED_SORT_CODE_PATTERN));

/// How far apart the two halves of an account may be.
const MAX_LINES: usize = 4;
const MAX_BYTES: usize = 400;
/// The closer limits for an unlabelled dashed sort code.
const DASHED_MAX_LINES: usize = 1;
const DASHED_MAX_BYTES: usize = 150;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    SortCode,
    Bsb,
    Routing,
}

/// A labelled sort code, BSB or routing number.
struct Anchor<'t> {
    kind: Kind,
    value: &'t str,
    start: usize,
    end: usize,
}

/// A labelled account number.
struct AccountValue<'t> {
    value: &'t str,
    start: usize,
    end: usize,
    /// Labelled as the reader's own account (`Your account number`), which is
    /// a customer reference, not the supplier's bank account.
    customer: bool,
}

/// Everything the label pass found.
#[derive(Default)]
struct Labelled<'t> {
    anchors: Vec<Anchor<'t>>,
    accounts: Vec<AccountValue<'t>>,
    bics: Vec<(usize, Bic)>,
    /// Accounts complete in one match (combined labels), with their position.
    complete: Vec<(usize, BankAccount)>,
}

/// Finds bank accounts in `text`: labelled halves at the keyword hits, IBANs
/// anywhere.
pub(super) fn extract(
    text: &str,
    hits: &Hits,
    location: &Location,
    ctx: &ExtractContext<'_>,
    tax: &TaxFound,
) -> Vec<FoundAccount> {
    let labelled = if hits.flags & scan::BANK != 0 {
        scan_labels(text, hits)
    } else {
        Labelled::default()
    };
    let mut found = labelled.complete;
    pair(text, &labelled.anchors, &labelled.accounts, &mut found);
    found.retain(|(_, a)| !is_vat_number(a, tax));
    let mut ibans = if hits.flags & scan::IBAN != 0 {
        iban::find_ibans(text, hits)
    } else {
        Vec::new()
    };
    // Strict readings win; a loose one only adds an IBAN they missed.
    for loose in iban::find_labelled_loose(text) {
        if !ibans.iter().any(|(s, e, _)| *s < loose.1 && loose.0 < *e) {
            ibans.push(loose);
        }
    }
    iban::attach_bics(text, &mut ibans, labelled.bics);
    found.extend(ibans.into_iter().map(|(pos, _, a)| (pos, a)));
    found.sort_by_key(|(pos, _)| *pos);

    let mut out: Vec<FoundAccount> = Vec::with_capacity(found.len());
    let mut keys: Vec<String> = Vec::with_capacity(found.len());
    for (_, account) in found {
        let key = account.canonical_key();
        if let Some(i) = keys.iter().position(|k| *k == key) {
            if let Some(existing) = out.get_mut(i) {
                upgrade_bic(existing, account);
            }
            continue;
        }
        keys.push(key);
        out.push(FoundAccount {
            valid: account.checksum_valid(ctx.modulus),
            account,
            location: location.clone(),
        });
    }
    out
}

/// A repeated IBAN that names its BIC completes an earlier one that did not.
fn upgrade_bic(existing: &mut FoundAccount, repeat: BankAccount) {
    if let BankAccount::Iban {
        bic: old @ None, ..
    } = &mut existing.account
        && let BankAccount::Iban { bic: Some(b), .. } = repeat
    {
        *old = Some(b);
    }
}

fn scan_labels<'t>(text: &'t str, hits: &Hits) -> Labelled<'t> {
    let mut out = Labelled::default();
    let Some(labels) = LABELS.as_ref() else {
        return out;
    };
    let mut next = 0;
    for (pos, flags) in scan::word_hits(text, hits, scan::BANK) {
        // Values may sit on the next line of a table; none is far away, and
        // all but a BIC contain digits.
        if pos < next || (flags & scan::BIC == 0 && !scan::digit_within(text, pos, 160)) {
            continue;
        }
        if let Some(end) = read_label(text, pos, flags, labels, &mut out) {
            next = end;
        }
    }
    out
}

/// Reads the label at `pos` and its value(s) into `out`; returns the end.
fn read_label<'t>(
    text: &'t str,
    pos: usize,
    flags: u32,
    labels: &Labels,
    out: &mut Labelled<'t>,
) -> Option<usize> {
    let (kind, combined, single, size): (Kind, &Regex, &Regex, &[usize]) =
        if flags & scan::SORT_CODE != 0 {
            (
                Kind::SortCode,
                &labels.sort_combined,
                &labels.sort,
                &[2, 2, 2],
            )
        } else if flags & scan::BSB != 0 {
            (Kind::Bsb, &labels.bsb_combined, &labels.bsb, &[3, 3])
        } else if flags & scan::ROUTING != 0 {
            let start = scan::match_end(&labels.routing, text, pos)?;
            let end = scan::digit_groups(text, start, &[9], b"")?;
            return push_anchor(text, Kind::Routing, start, end, out);
        } else if flags & scan::BIC != 0 {
            let start = scan::match_end(&labels.bic, text, pos)?;
            let end = bic_end(text, start)?;
            if let Some(bic) = text.get(start..end).and_then(|v| Bic::parse(v).ok()) {
                out.bics.push((start, bic));
            }
            return Some(end);
        } else {
            let start = scan::match_end(&labels.account, text, pos)?;
            let end = account_end(text, start)?;
            return push_account(text, pos, start, end, out);
        };
    // "Sort code / account: 20-29-59 63748472" gives both halves at once.
    if let Some(first) = scan::match_end(combined, text, pos)
        && let Some(first_end) = scan::digit_groups(text, first, size, b"- ")
        && let Some(acc) = combined_account_start(text, first_end)
        && let Some(acc_end) = account_end(text, acc)
    {
        if let (Some(f), Some(a)) = (text.get(first..first_end), text.get(acc..acc_end))
            && let Some(account) = build(kind, f, a)
        {
            out.complete.push((first, account));
        }
        return Some(acc_end);
    }
    let start = scan::match_end(single, text, pos)?;
    let end = scan::digit_groups(text, start, size, b"- ")?;
    push_anchor(text, kind, start, end, out)
}

/// Records a labelled sort code, BSB or routing number ending at a word end.
fn push_anchor<'t>(
    text: &'t str,
    kind: Kind,
    start: usize,
    end: usize,
    out: &mut Labelled<'t>,
) -> Option<usize> {
    if !scan::word_ends(text, end) {
        return None;
    }
    out.anchors.push(Anchor {
        kind,
        value: text.get(start..end)?,
        start,
        end,
    });
    Some(end)
}

/// Records a labelled account number (`label` is where its label starts).
fn push_account<'t>(
    text: &'t str,
    label: usize,
    start: usize,
    end: usize,
    out: &mut Labelled<'t>,
) -> Option<usize> {
    let value = text.get(start..end)?;
    // "Account: 20-29-59 63748472" carries its own sort code.
    if let Some((sc, acc)) = split_embedded_sort_code(value)
        && let Some(a) = build(Kind::SortCode, sc, acc)
    {
        out.complete.push((start, a));
        return Some(end);
    }
    let before = scan::slice(text, label.saturating_sub(16), label);
    let customer = ["your", "customer", "member"]
        .iter()
        .any(|w| scan::contains_ci(before, w));
    out.accounts.push(AccountValue {
        value,
        start,
        end,
        customer,
    });
    Some(end)
}

/// Between the two halves of a combined value: spaces and at most one of
/// `, / | ; - –`. Returns where the account starts.
fn combined_account_start(text: &str, pos: usize) -> Option<usize> {
    let rest = text.get(pos..)?;
    let trimmed = rest.trim_start_matches([' ', '\t']);
    let trimmed = trimmed
        .strip_prefix([',', '/', '|', ';', '-', '–'])
        .unwrap_or(trimmed)
        .trim_start_matches([' ', '\t']);
    Some(pos + rest.len() - trimmed.len())
}

/// An account number, possibly grouped: 2–17 digits, then up to four groups
/// of 2–8 digits each after one space or hyphen, ending at a word end (the
/// grouping is resolved per scheme by [`account_digits`]). Returns the end.
fn account_end(text: &str, pos: usize) -> Option<usize> {
    let b = text.as_bytes();
    let run = |i: usize| {
        b.get(i..)
            .map_or(0, |r| r.iter().take_while(|c| c.is_ascii_digit()).count())
    };
    let first = run(pos);
    if !(2..=17).contains(&first) {
        return None;
    }
    let mut ends = vec![pos + first];
    let mut i = pos + first;
    while ends.len() < 5 && matches!(b.get(i), Some(b' ' | b'-')) {
        let n = run(i + 1);
        if !(2..=8).contains(&n) {
            break;
        }
        i += 1 + n;
        ends.push(i);
    }
    ends.into_iter().rev().find(|e| scan::word_ends(text, *e))
}

/// A BIC value: a run of exactly 8 or 11 ASCII letters and digits whose
/// first six are letters. Returns the end.
fn bic_end(text: &str, pos: usize) -> Option<usize> {
    let b = text.as_bytes().get(pos..)?;
    let len = b.iter().take_while(|c| c.is_ascii_alphanumeric()).count();
    let letters = b.iter().take(6).all(u8::is_ascii_alphabetic);
    (matches!(len, 8 | 11) && letters && scan::word_ends(text, pos + len)).then_some(pos + len)
}

/// `20-29-59 63748472` → (`20-29-59`, `63748472`).
fn split_embedded_sort_code(v: &str) -> Option<(&str, &str)> {
    let sc = v.get(..8)?;
    let b = sc.as_bytes();
    let dashed = b.iter().enumerate().all(|(i, c)| {
        if i == 2 || i == 5 {
            *c == b'-'
        } else {
            c.is_ascii_digit()
        }
    });
    let rest = v.get(8..)?.strip_prefix([' ', '-'])?;
    (dashed && rest.len() >= 6).then_some((sc, rest))
}

/// Builds the account of a scheme from its two labelled halves.
fn build(kind: Kind, first: &str, account: &str) -> Option<BankAccount> {
    match kind {
        Kind::SortCode => {
            let digits = account_digits(account, 6, 10)?;
            let (sort_code, account) = UkAccountNumber::standardise(first, &digits).ok()?;
            Some(BankAccount::Uk { sort_code, account })
        }
        Kind::Bsb => Some(BankAccount::Au {
            bsb: Bsb::parse(first).ok()?,
            account: AccountNumber::parse(&account_digits(account, 4, 10)?).ok()?,
        }),
        Kind::Routing => Some(BankAccount::Us {
            routing: AbaRouting::parse_format(first).ok()?,
            account: AccountNumber::parse(&account_digits(account, 4, 17)?).ok()?,
        }),
    }
}

/// Resolves a possibly grouped account value to `min..=max` digits. A first
/// group that is already a whole account stands alone (`63748472 2026`);
/// short groups are joined while they fit (`6374 8472`).
fn account_digits(raw: &str, min: usize, max: usize) -> Option<String> {
    let mut groups = raw.split([' ', '-']).filter(|g| !g.is_empty());
    let first = groups.next()?;
    let mut digits = first.to_owned();
    if first.len() < 6 {
        for g in groups {
            if digits.len() + g.len() > max {
                break;
            }
            digits.push_str(g);
        }
    }
    (min..=max).contains(&digits.len()).then_some(digits)
}

/// Pairs anchors with account values, closest pairs first, each used once.
/// Account values left over may pair with an unlabelled dashed sort code.
fn pair(
    text: &str,
    anchors: &[Anchor<'_>],
    accounts: &[AccountValue<'_>],
    found: &mut Vec<(usize, BankAccount)>,
) {
    if accounts.is_empty() {
        return;
    }
    // (lines, bytes, anchor index, account index)
    let mut candidates: Vec<(usize, usize, usize, usize)> = Vec::new();
    for (i, a) in anchors.iter().enumerate() {
        let lo = accounts.partition_point(|acc| acc.end + MAX_BYTES < a.start);
        for (j, acc) in accounts.iter().enumerate().skip(lo) {
            if acc.start > a.end + MAX_BYTES {
                break;
            }
            if acc.customer {
                continue;
            }
            let bytes = distance(a.start, a.end, acc.start, acc.end);
            let lines = scan::lines_between(text, a.start, acc.start);
            if bytes <= MAX_BYTES && lines <= MAX_LINES {
                candidates.push((lines, bytes, i, j));
            }
        }
    }
    candidates.sort_unstable();
    let mut anchor_used = vec![false; anchors.len()];
    let mut account_used = vec![false; accounts.len()];
    for (_, _, i, j) in candidates {
        if anchor_used.get(i).copied().unwrap_or(true)
            || account_used.get(j).copied().unwrap_or(true)
        {
            continue;
        }
        let (Some(a), Some(acc)) = (anchors.get(i), accounts.get(j)) else {
            continue;
        };
        if let Some(account) = build(a.kind, a.value, acc.value) {
            found.push((a.start.min(acc.start), account));
            if let Some(u) = anchor_used.get_mut(i) {
                *u = true;
            }
            if let Some(u) = account_used.get_mut(j) {
                *u = true;
            }
        }
    }
    for (acc, used) in accounts.iter().zip(account_used) {
        // A labelled anchor nearby wins over any unlabelled number.
        let anchored = anchors
            .iter()
            .any(|a| distance(a.start, a.end, acc.start, acc.end) <= MAX_BYTES);
        if used || acc.customer || anchored {
            continue;
        }
        if let Some((pos, sc)) = dashed_sort_code_near(text, acc)
            && let Some(account) = build(Kind::SortCode, sc, acc.value)
        {
            found.push((pos.min(acc.start), account));
        }
    }
}

fn distance(a_start: usize, a_end: usize, b_start: usize, b_end: usize) -> usize {
    if b_start >= a_end {
        b_start - a_end
    } else {
        a_start.saturating_sub(b_end)
    }
}

/// The closest unlabelled `NN-NN-NN` near an account value, unless its line
/// talks about a date (`Date: 01-12-26`).
fn dashed_sort_code_near<'t>(text: &'t str, acc: &AccountValue<'_>) -> Option<(usize, &'t str)> {
    let re = DASHED_RE.as_ref()?;
    let from = scan::line_start(text, scan::line_start(text, acc.start).saturating_sub(1));
    let from = from.max(acc.start.saturating_sub(DASHED_MAX_BYTES));
    let to = scan::line_end(text, (scan::line_end(text, acc.end) + 1).min(text.len()));
    let to = scan::floor_boundary(text, to.min(acc.end + DASHED_MAX_BYTES));
    let from = scan::floor_boundary(text, from);
    let window = text.get(..to)?;
    re.find_iter(window.get(from..)?)
        .map(|m| (from + m.start(), from + m.end(), m.as_str()))
        .filter(|(s, e, _)| {
            let line = scan::slice(text, scan::line_start(text, *s), scan::line_end(text, *s));
            (*e <= acc.start || *s >= acc.end)
                && !scan::contains_ci(line, "date")
                && scan::lines_between(text, *s, acc.start) <= DASHED_MAX_LINES
        })
        .min_by_key(|(s, e, _)| distance(*s, *e, acc.start, acc.end))
        .map(|(s, _, v)| (s, v))
}

/// An account whose number is a VAT number found in the same text is a
/// misreading (a VAT number is never a bank account).
fn is_vat_number(account: &BankAccount, tax: &TaxFound) -> bool {
    let n = account.number();
    tax.vat_digits
        .iter()
        .any(|v| v == n || (n.len() >= 8 && v.ends_with(n)))
}

mod iban;

#[cfg(test)]
mod tests;
