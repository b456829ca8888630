//! IBANs found without a label, and the BICs that go with them.
//!
//! IBAN candidates are the word starts the keyword scan marked as two letters
//! and two digits; each is read to its country's registered length, so a
//! following word is never swallowed and a run that is too long is refused.
//!
//! People also write IBANs grouped their own way (`NO 40 2333 3333 333`,
//! `ES15-0049-0000-…`, `DE89.3704.…`). Those are read only right after an
//! `IBAN` label and only when their check digits hold: a loose reading
//! without either would turn ordinary numbers into accounts.

use super::super::scan::{self, Hits, char_at};
use super::{MAX_BYTES, MAX_LINES, distance};
use sentra_domain::bank::{BankAccount, Bic, Iban, iban_spec};

/// Finds IBANs with or without a label: (position, end, account), at the
/// word starts the keyword scan marked as two letters and two digits (a regex
/// with no literal to look for would walk its DFA over every byte).
pub(super) fn find_ibans(text: &str, hits: &Hits) -> Vec<(usize, usize, BankAccount)> {
    let mut out = Vec::new();
    let mut next = 0;
    for &(pos, flags) in &hits.list {
        if flags & scan::IBAN != 0
            && pos >= next
            && let Some((iban, end)) = take_iban(text, pos)
        {
            out.push((pos, end, BankAccount::Iban { iban, bic: None }));
            next = end;
        }
    }
    out
}

/// Reads an IBAN starting at `start`: exactly its country's registered
/// number of characters, with single spaces allowed only between groups of
/// four, ending at a word boundary, in the country's format (check digits
/// are not checked here).
fn take_iban(text: &str, start: usize) -> Option<(Iban, usize)> {
    let country = text.get(start..start + 2)?.to_ascii_uppercase();
    let (len, _) = iban_spec(&country)?;
    let mut compact = String::with_capacity(len);
    let mut pos = start;
    let mut after_space = false;
    while compact.len() < len {
        let c = char_at(text, pos)?;
        if c.is_ascii_alphanumeric() {
            compact.push(c.to_ascii_uppercase());
            after_space = false;
        } else if matches!(c, ' ' | '\u{a0}') && !after_space && compact.len().is_multiple_of(4) {
            after_space = true;
        } else {
            return None;
        }
        pos += c.len_utf8();
    }
    if char_at(text, pos).is_some_and(char::is_alphanumeric) {
        return None;
    }
    Some((Iban::parse_format(&compact).ok()?, pos))
}

/// The most label text (`IBAN number:`) skipped before a loosely grouped
/// IBAN, in bytes.
const MAX_LABEL_GAP: usize = 16;

/// Finds IBANs written with irregular grouping (any single space, hyphen or
/// dot between characters) right after an `IBAN` label; only those whose
/// check digits are valid are kept.
pub(super) fn find_labelled_loose(text: &str) -> Vec<(usize, usize, BankAccount)> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(found) = find_label(bytes, from) {
        from = found + 4;
        let before_ok = found
            .checked_sub(1)
            .and_then(|p| bytes.get(p))
            .is_none_or(|b| !b.is_ascii_alphanumeric());
        if !before_ok {
            continue;
        }
        let Some(start) = value_start(bytes, from) else {
            continue;
        };
        if let Some((iban, end)) = take_loose(text, start) {
            out.push((start, end, BankAccount::Iban { iban, bic: None }));
            from = end;
        }
    }
    out
}

/// The next `iban` (any case) at or after `from`.
fn find_label(bytes: &[u8], from: usize) -> Option<usize> {
    let rest = bytes.get(from..)?;
    memchr::memchr2_iter(b'i', b'I', rest)
        .find(|&i| {
            rest.get(i..i + 4)
                .is_some_and(|w| w.eq_ignore_ascii_case(b"iban"))
        })
        .map(|i| from + i)
}

/// Skips what follows a label (`:`, `No.`, `number`, spaces) to the first
/// letter of the value.
fn value_start(bytes: &[u8], mut pos: usize) -> Option<usize> {
    let limit = pos + MAX_LABEL_GAP;
    for word in [&b"number"[..], b"no.", b"no", b"nr.", b"nr"] {
        let at = bytes
            .iter()
            .skip(pos)
            .position(|b| !matches!(b, b' ' | b'\t'))
            .map_or(pos, |n| pos + n);
        if bytes
            .get(at..at + word.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(word))
            && bytes
                .get(at + word.len())
                .is_some_and(|b| !b.is_ascii_alphabetic())
        {
            pos = at + word.len();
            break;
        }
    }
    while pos < limit {
        let b = *bytes.get(pos)?;
        if b.is_ascii_alphabetic() {
            return Some(pos);
        }
        if !matches!(b, b' ' | b'\t' | b':' | b'-' | b'#' | b'.') && b != 0xC2 && b != 0xA0 {
            return None;
        }
        pos += 1;
    }
    None
}

/// Reads a loosely grouped IBAN at `start`: its country's registered length
/// of letters and digits, any single separator between two of them, a word
/// boundary after, and valid check digits.
fn take_loose(text: &str, start: usize) -> Option<(Iban, usize)> {
    let country = text.get(start..start + 2)?.to_ascii_uppercase();
    let (len, _) = iban_spec(&country)?;
    let mut compact = String::with_capacity(len);
    let mut pos = start;
    let mut after_sep = false;
    while compact.len() < len {
        let c = char_at(text, pos)?;
        if c.is_ascii_alphanumeric() {
            compact.push(c.to_ascii_uppercase());
            after_sep = false;
        } else if matches!(c, ' ' | '\u{a0}' | '-' | '.') && !after_sep && !compact.is_empty() {
            after_sep = true;
        } else {
            return None;
        }
        pos += c.len_utf8();
    }
    if char_at(text, pos).is_some_and(char::is_alphanumeric) {
        return None;
    }
    Some((Iban::parse(&compact).ok()?, pos))
}

/// Gives each BIC to the closest IBAN within the pairing window.
pub(super) fn attach_bics(
    text: &str,
    ibans: &mut [(usize, usize, BankAccount)],
    bics: Vec<(usize, Bic)>,
) {
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
