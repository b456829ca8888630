//! IBANs found without a label, and the BICs that go with them.
//!
//! IBAN candidates are the word starts the keyword scan marked as two letters
//! and two digits; each is read to its country's registered length, so a
//! following word is never swallowed and a run that is too long is refused.

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
