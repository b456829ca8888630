//! Bank details: UK sort code + account, IBAN (+ BIC), Australian BSB +
//! account and US routing + account.
//!
//! One regex pass finds every labelled value (sort code, BSB, routing number,
//! account number, BIC); the values are then paired by proximity, closest
//! first, within a few lines, because invoices print the two halves of an
//! account in every layout: one line, two lines, a table, account first. A
//! number without a label is never an account (phone numbers, order numbers
//! and VAT numbers look the same), with one exception: a dashed `20-29-59`
//! next to an account label is a sort code. IBANs are distinctive enough to
//! find without a label; an IBAN with wrong check digits is kept, because a
//! mistyped or forged IBAN is evidence.

use super::scan::{self, char_at};
use super::tax::TaxFound;
use super::{ExtractContext, FoundAccount, Location};
use regex::{Captures, Regex};
use sentra_domain::bank::{
    AbaRouting, AccountNumber, BankAccount, Bic, Bsb, Iban, UkAccountNumber, iban_spec,
};
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
/// An account number, possibly grouped (`6374 8472`); the grouping is
/// resolved per scheme by [`account_digits`].
macro_rules! acc_value {
    () => {
        r"[0-9]{2,17}(?:[\x20\-][0-9]{2,8}){0,4}"
    };
}
macro_rules! sort_code_label {
    () => {
        r"\b(?:sort[\x20\t\-]?code|s/c)"
    };
}

const BANK_PATTERN: &str = concat!(
    r"(?i)",
    // "Sort code / account: 20-29-59 63748472", "BSB & Account: 062-000 1234 5678".
    r"(?:",
    sort_code_label!(),
    r"|(?P<cbsb>\bbsb))[\x20\t]*(?:and|&|/|,|\+)[\x20\t]*",
    acc_label!(),
    gap!(),
    r"(?P<cfirst>[0-9]{3}[\-\x20]?[0-9]{3}|[0-9]{2}[\-\x20]?[0-9]{2}[\-\x20]?[0-9]{2})",
    r"[\x20\t]*[,/|;\-–]?[\x20\t]*(?P<cacc>",
    acc_value!(),
    r")\b",
    r"|",
    sort_code_label!(),
    r"(?:[\x20\t]*(?:number|no)\b\.?)?",
    gap!(),
    r"(?P<sc>[0-9]{2}[\-\x20]?[0-9]{2}[\-\x20]?[0-9]{2})\b",
    r"|\bbsb(?:[\x20\t]*(?:number|no)\b\.?)?",
    gap!(),
    r"(?P<bsb>[0-9]{3}[\-\x20]?[0-9]{3})\b",
    r"|(?:\b(?:(?:aba|ach|wire|fedwire)[\x20\t]+)?(?:routing|transit)\b",
    r"(?:[\x20\t]*(?:&|and|/)[\x20\t]*transit\b)?",
    r"(?:[\x20\t]*(?:number|num|no|nr)\b\.?|[\x20\t]*#)?(?:[\x20\t]*\((?:aba|ach|rtn)\))?",
    r"|\b(?:aba|rtn)\b(?:[\x20\t]*routing\b)?(?:[\x20\t]*(?:number|num|no|nr)\b\.?|[\x20\t]*#)?)",
    gap!(),
    r"(?P<rt>[0-9]{9})\b",
    r"|\b(?:bic|swift)\b(?:[\x20\t]*/[\x20\t]*(?:bic|swift)\b)?(?:[\x20\t]*(?:code|address|no)\b\.?)?",
    gap!(),
    r"(?P<bic>[A-Za-z]{6}[A-Za-z0-9]{2}(?:[A-Za-z0-9]{3})?)\b",
    r"|",
    acc_label!(),
    gap!(),
    r"(?P<acc>",
    acc_value!(),
    r")\b",
);

const IBAN_PATTERN: &str =
    r"\b[A-Za-z]{2}[0-9]{2}(?:[\x20\u{a0}]?[A-Za-z0-9]{4}){2,8}(?:[\x20\u{a0}]?[A-Za-z0-9]{1,4})?";

const DASHED_SORT_CODE_PATTERN: &str = r"\b[0-9]{2}-[0-9]{2}-[0-9]{2}\b";

static BANK_RE: LazyLock<Option<Regex>> = LazyLock::new(|| scan::compile(BANK_PATTERN));
static IBAN_RE: LazyLock<Option<Regex>> = LazyLock::new(|| scan::compile(IBAN_PATTERN));
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

/// Finds bank accounts in `text`. `labels` says whether the keyword prefilter
/// saw any bank label; IBANs are searched for regardless.
pub(super) fn extract(
    text: &str,
    location: &Location,
    ctx: &ExtractContext<'_>,
    labels: bool,
    tax: &TaxFound,
) -> Vec<FoundAccount> {
    let labelled = if labels {
        scan_labels(text)
    } else {
        Labelled::default()
    };
    let mut found = labelled.complete;
    pair(text, &labelled.anchors, &labelled.accounts, &mut found);
    found.retain(|(_, a)| !is_vat_number(a, tax));
    let mut ibans = find_ibans(text);
    attach_bics(text, &mut ibans, labelled.bics);
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

fn scan_labels(text: &str) -> Labelled<'_> {
    let mut out = Labelled::default();
    let Some(re) = BANK_RE.as_ref() else {
        return out;
    };
    for caps in re.captures_iter(text) {
        collect_label(text, &caps, &mut out);
    }
    out
}

fn collect_label<'t>(text: &'t str, caps: &Captures<'t>, out: &mut Labelled<'t>) {
    let anchor = |kind, m: regex::Match<'t>| Anchor {
        kind,
        value: m.as_str(),
        start: m.start(),
        end: m.end(),
    };
    if let (Some(first), Some(acc)) = (caps.name("cfirst"), caps.name("cacc")) {
        let kind = if caps.name("cbsb").is_some() {
            Kind::Bsb
        } else {
            Kind::SortCode
        };
        if let Some(a) = build(kind, first.as_str(), acc.as_str()) {
            out.complete.push((first.start(), a));
        }
    } else if let Some(m) = caps.name("sc") {
        out.anchors.push(anchor(Kind::SortCode, m));
    } else if let Some(m) = caps.name("bsb") {
        out.anchors.push(anchor(Kind::Bsb, m));
    } else if let Some(m) = caps.name("rt") {
        out.anchors.push(anchor(Kind::Routing, m));
    } else if let Some(m) = caps.name("bic") {
        if let Ok(bic) = Bic::parse(m.as_str()) {
            out.bics.push((m.start(), bic));
        }
    } else if let Some(m) = caps.name("acc") {
        // "Account: 20-29-59 63748472" carries its own sort code.
        if let Some((sc, acc)) = split_embedded_sort_code(m.as_str())
            && let Some(a) = build(Kind::SortCode, sc, acc)
        {
            out.complete.push((m.start(), a));
            return;
        }
        let label_start = caps.get(0).map_or(m.start(), |w| w.start());
        let before = scan::slice(text, label_start.saturating_sub(16), label_start);
        let customer = ["your", "customer", "member"]
            .iter()
            .any(|w| scan::contains_ci(before, w));
        out.accounts.push(AccountValue {
            value: m.as_str(),
            start: m.start(),
            end: m.end(),
            customer,
        });
    }
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

/// Finds IBANs with or without a label: (position, end, account).
fn find_ibans(text: &str) -> Vec<(usize, usize, BankAccount)> {
    let mut out = Vec::new();
    let Some(re) = IBAN_RE.as_ref() else {
        return out;
    };
    let mut pos = 0;
    while pos < text.len() {
        let Some(m) = re.find_at(text, pos) else {
            break;
        };
        if let Some((iban, end)) = take_iban(text, m.start(), m.as_str()) {
            out.push((m.start(), end, BankAccount::Iban { iban, bic: None }));
            pos = end;
        } else {
            // The match may have swallowed the start of a real IBAN
            // ("ref AB12 GB29 NWBK…"): look again from the next group.
            pos = m.start() + 1;
        }
    }
    out
}

/// Cuts a candidate to its country's registered length and checks its format
/// (not its check digits). The cut must fall at a group boundary.
fn take_iban(text: &str, start: usize, candidate: &str) -> Option<(Iban, usize)> {
    let country = candidate.get(..2)?.to_ascii_uppercase();
    let (len, _) = iban_spec(&country)?;
    let mut count = 0;
    let mut cut = None;
    for (i, c) in candidate.char_indices() {
        if c.is_ascii_alphanumeric() {
            count += 1;
            if count == len {
                cut = Some(i + 1);
                break;
            }
        }
    }
    let cut = cut?;
    if char_at(text, start + cut).is_some_and(char::is_alphanumeric) {
        return None;
    }
    let iban = Iban::parse_format(candidate.get(..cut)?).ok()?;
    Some((iban, start + cut))
}

/// Gives each BIC to the closest IBAN within the pairing window.
fn attach_bics(text: &str, ibans: &mut [(usize, usize, BankAccount)], bics: Vec<(usize, Bic)>) {
    for (pos, bic) in bics {
        let nearest = ibans
            .iter_mut()
            .map(|entry| {
                let bytes = distance(entry.0, entry.1, pos, pos);
                let lines = scan::lines_between(text, entry.0, pos);
                ((lines, bytes), entry)
            })
            .filter(|((lines, bytes), _)| *lines <= MAX_LINES && *bytes <= MAX_BYTES)
            .min_by_key(|(cost, _)| *cost);
        if let Some((
            _,
            (
                _,
                _,
                BankAccount::Iban {
                    bic: slot @ None, ..
                },
            ),
        )) = nearest
        {
            *slot = Some(bic);
        }
    }
}

#[cfg(test)]
mod tests;
