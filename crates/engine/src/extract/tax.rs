//! Tax identifiers: UK VAT registration numbers and Australian ABNs.
//!
//! Found by label (`VAT Reg No:`, `ABN`) or, for VAT, by the distinctive
//! `GB` + nine digits form, and kept only when the domain checksum passes.
//! The digits of every VAT number are also handed to the bank extractor so a
//! VAT number is never reported as an account.

use super::TaxId;
use super::scan;
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

const PATTERN: &str = concat!(
    r"(?i)\bvat\b(?:[\x20\t]*(?:reg(?:istration)?\b\.?|registered))?",
    r"(?:[\x20\t]*(?:number|num|no|nr|id)\b\.?)?[\x20\t:#|=\-–]*",
    r"(?P<vat>(?:gb[\x20\t]?)?[0-9](?:[\x20\t]?[0-9]){8}(?:(?:[\x20\t]?[0-9]){3})?)\b",
    r"|\b(?P<gbvat>(?-i:GB)[\x20]?[0-9]{3}[\x20]?[0-9]{4}[\x20]?[0-9]{2})\b",
    r"|\babn\b[\x20\t\u{a0}:#.\-–]*(?P<abn>[0-9](?:[\x20\u{a0}]?[0-9]){10})\b",
);

static TAX_RE: LazyLock<Option<Regex>> = LazyLock::new(|| scan::compile(PATTERN));

/// Finds tax ids in `text`.
pub(super) fn extract(text: &str) -> TaxFound {
    let mut found = TaxFound::default();
    let Some(re) = TAX_RE.as_ref() else {
        return found;
    };
    for caps in re.captures_iter(text) {
        if let Some(m) = caps.name("vat").or_else(|| caps.name("gbvat")) {
            let digits: String = m.as_str().chars().filter(char::is_ascii_digit).collect();
            if let Ok(v) = UkVat::parse(m.as_str()) {
                push_unique(&mut found.ids, TaxId::UkVat(v));
            }
            if !found.vat_digits.contains(&digits) {
                found.vat_digits.push(digits);
            }
        } else if let Some(m) = caps.name("abn")
            && let Ok(a) = Abn::parse(m.as_str())
        {
            push_unique(&mut found.ids, TaxId::Abn(a));
        }
    }
    found
}

fn push_unique(ids: &mut Vec<TaxId>, id: TaxId) {
    if !ids.contains(&id) {
        ids.push(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(text: &str) -> Vec<String> {
        extract(text).ids.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn tax_pattern_compiles() {
        assert!(TAX_RE.is_some());
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
        assert_eq!(extract("VAT no 980780685").vat_digits, ["980780685"]);
    }

    #[test]
    fn ignores_vat_rates_and_amounts() {
        assert!(ids("VAT @ 20%: £810.00").is_empty());
        assert!(ids("VAT: 810.00").is_empty());
        assert!(extract("VAT 20%").vat_digits.is_empty());
    }

    #[test]
    fn deduplicates_repeated_tax_ids() {
        assert_eq!(
            ids("VAT No GB980780684 ... VAT: 980 7806 84"),
            ["GB980780684"]
        );
    }
}
