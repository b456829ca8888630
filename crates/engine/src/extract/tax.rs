//! Tax identifiers: UK VAT registration numbers and Australian ABNs.
//!
//! Found by label (`VAT Reg No:`, `ABN`) or, for VAT, by the distinctive
//! `GB` + nine digits form, and kept only when the domain checksum passes.
//! The label is matched by a capture-free regex and the number read by hand.
//! The digits of every VAT number are also handed to the bank extractor so a
//! VAT number is never reported as an account.

use super::TaxId;
use super::scan::{self, Hits};
use regex::Regex;
use sentra_domain::tax::{Abn, UkVat};
use std::sync::LazyLock;

/// What the tax extractor found, including what the bank extractor must avoid.
#[derive(Debug, Default)]
pub(super) struct TaxFound {
    /// Valid tax ids, de-duplicated, in order of appearance.
    pub(super) ids: Vec<TaxId>,
    /// Digits of every VAT-looking number (valid or not) that was labelled or
    /// GB-prefixed; such digits are never an account number.
    pub(super) vat_digits: Vec<String>,
}

/// The label before a VAT number (`VAT Reg No:`, `VAT registration number`).
const VAT_LABEL: &str = concat!(
    r"(?i)vat\b(?:[\x20\t]*(?:reg(?:istration)?\b\.?|registered))?",
    r"(?:[\x20\t]*(?:number|num|no|nr|id)\b\.?)?[\x20\t:#|=\-–]*",
);
/// The label before an ABN.
const ABN_LABEL: &str = r"(?i)abn\b[\x20\t\u{a0}:#.\-–]*";

static VAT_RE: LazyLock<Option<Regex>> = LazyLock::new(|| scan::compile_anchored(VAT_LABEL));
static ABN_RE: LazyLock<Option<Regex>> = LazyLock::new(|| scan::compile_anchored(ABN_LABEL));

/// Finds tax ids in `text` at the keyword hits.
pub(super) fn extract(text: &str, hits: &Hits) -> TaxFound {
    let mut found = TaxFound::default();
    let mut next = 0;
    for (pos, _) in scan::word_hits(text, hits, scan::TAX) {
        if pos < next || !scan::digit_within(text, pos, 64) {
            continue;
        }
        let Some(rest) = text.get(pos..) else {
            continue;
        };
        let end = if rest.starts_with("GB") {
            gb_vat_at(text, pos).map(|end| (pos, end))
        } else if rest.get(..3).is_some_and(|w| w.eq_ignore_ascii_case("abn")) {
            ABN_RE
                .as_ref()
                .and_then(|re| scan::match_end(re, text, pos))
                .and_then(|start| abn_at(text, start).map(|end| (start, end)))
        } else {
            VAT_RE
                .as_ref()
                .and_then(|re| scan::match_end(re, text, pos))
                .and_then(|start| vat_at(text, start).map(|end| (start, end)))
        };
        let Some((start, end)) = end else { continue };
        next = end;
        let Some(value) = text.get(start..end) else {
            continue;
        };
        if rest.get(..3).is_some_and(|w| w.eq_ignore_ascii_case("abn")) {
            if let Ok(a) = Abn::parse(value) {
                push_unique(&mut found.ids, TaxId::Abn(a));
            }
            continue;
        }
        if let Ok(v) = UkVat::parse(value) {
            push_unique(&mut found.ids, TaxId::UkVat(v));
        }
        let digits: String = value.chars().filter(char::is_ascii_digit).collect();
        if !found.vat_digits.contains(&digits) {
            found.vat_digits.push(digits);
        }
    }
    found
}

/// A VAT number after its label: optional `GB`, then 9 or 12 digits with
/// single spaces anywhere; returns its end.
fn vat_at(text: &str, pos: usize) -> Option<usize> {
    let mut start = pos;
    if text
        .get(pos..pos + 2)
        .is_some_and(|w| w.eq_ignore_ascii_case("gb"))
    {
        start += 2;
        if matches!(text.as_bytes().get(start), Some(b' ' | b'\t')) {
            start += 1;
        }
    }
    let ends = scan::spaced_digits(text, start, &[' ', '\t'], 12);
    [12, 9]
        .into_iter()
        .filter_map(|n| ends.get(n - 1).copied())
        .find(|end| scan::word_ends(text, *end))
}

/// The unlabelled `GB 980 7806 84` form; returns its end.
fn gb_vat_at(text: &str, pos: usize) -> Option<usize> {
    let mut start = pos + 2;
    if text.as_bytes().get(start) == Some(&b' ') {
        start += 1;
    }
    let end = scan::digit_groups(text, start, &[3, 4, 2], b" ")?;
    scan::word_ends(text, end).then_some(end)
}

/// Eleven ABN digits with single (no-break) spaces anywhere; returns the end.
fn abn_at(text: &str, pos: usize) -> Option<usize> {
    let ends = scan::spaced_digits(text, pos, &[' ', '\u{a0}'], 11);
    let end = *ends.get(10)?;
    scan::word_ends(text, end).then_some(end)
}

fn push_unique(ids: &mut Vec<TaxId>, id: TaxId) {
    if !ids.contains(&id) {
        ids.push(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> TaxFound {
        extract(text, &scan::keyword_hits(text))
    }

    fn ids(text: &str) -> Vec<String> {
        run(text).ids.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn tax_patterns_compile() {
        assert!(VAT_RE.is_some() && ABN_RE.is_some());
    }

    #[test]
    fn extracts_vat_reg_no_with_gb_prefix_and_spaces() {
        assert_eq!(ids("VAT Reg No: GB 980 7806 84"), ["GB980780684"]);
    }

    #[test]
    fn extracts_vat_number_written_as_plain_digits() {
        assert_eq!(ids("VAT number 980780684."), ["GB980780684"]);
        assert_eq!(ids("VAT registration number: 980 780 684"), ["GB980780684"]);
        assert_eq!(ids("vat no. GB980780684"), ["GB980780684"]);
    }

    #[test]
    fn extracts_unlabelled_gb_prefixed_vat_number() {
        assert_eq!(ids("Apex Ltd, GB980780684, London"), ["GB980780684"]);
    }

    #[test]
    fn extracts_abn_spaced_or_compact() {
        assert_eq!(ids("ABN 51 824 753 556"), ["ABN 51 824 753 556"]);
        assert_eq!(ids("ABN: 51824753556"), ["ABN 51 824 753 556"]);
        assert_eq!(
            ids("abn\u{a0}51\u{a0}824\u{a0}753\u{a0}556"),
            ["ABN 51 824 753 556"]
        );
    }

    #[test]
    fn ignores_tax_ids_that_fail_their_checksum() {
        assert!(ids("VAT Reg No: GB 980 7806 85").is_empty());
        assert!(ids("ABN 51 824 753 557").is_empty());
        // The failing number is still remembered so it is not taken as an account.
        assert_eq!(run("VAT no 980780685").vat_digits, ["980780685"]);
    }

    #[test]
    fn ignores_vat_rates_and_amounts() {
        assert!(ids("VAT @ 20%: £810.00").is_empty());
        assert!(ids("VAT: 810.00").is_empty());
        assert!(run("VAT 20%").vat_digits.is_empty());
    }

    #[test]
    fn deduplicates_repeated_tax_ids() {
        assert_eq!(
            ids("VAT No GB980780684 ... VAT: 980 7806 84"),
            ["GB980780684"]
        );
    }
}
