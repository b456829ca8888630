//! UK VAT numbers and ABNs from python-stdnum's doctests.

use crate::{lines_of, tsv_rows};
use sentra_domain::DomainError;
use sentra_domain::tax::{Abn, UkVat};

#[test]
fn all_46_valid_uk_vat_numbers_are_accepted() {
    let Some(lines) = lines_of("gb_vat", "valid.txt") else {
        return;
    };
    assert_eq!(lines.len(), 46);
    let rejected: Vec<String> = lines
        .iter()
        .enumerate()
        .filter_map(|(i, l)| {
            UkVat::parse(l)
                .err()
                .map(|e| format!("line {}: {l:?}: {e}", i + 1))
        })
        .collect();
    assert!(
        rejected.is_empty(),
        "{} of 46 rejected:\n{}",
        rejected.len(),
        rejected.join("\n")
    );
}

#[test]
fn all_11_invalid_uk_vat_numbers_are_rejected_with_stdnums_reason() {
    let Some(lines) = lines_of("gb_vat", "invalid.txt") else {
        return;
    };
    assert_eq!(lines.len(), 11);
    for l in &lines {
        assert!(UkVat::parse(l).is_err(), "{l:?} accepted");
    }
    let Some(rows) = tsv_rows("gb_vat", "invalid.tsv") else {
        return;
    };
    assert_eq!(rows.len(), 11);
    for (i, row) in rows.iter().enumerate() {
        let [vat, error, _note] = row.as_slice() else {
            panic!("invalid.tsv row {} has {} columns", i + 1, row.len());
        };
        let err = UkVat::parse(vat).expect_err(vat);
        let same = match error.as_str() {
            "InvalidChecksum" => matches!(err, DomainError::Checksum { .. }),
            "InvalidLength" => matches!(err, DomainError::Length { .. }),
            "InvalidFormat" => matches!(err, DomainError::Format { .. }),
            "InvalidComponent" => matches!(err, DomainError::Component { .. }),
            other => panic!("row {}: unknown error class {other}", i + 1),
        };
        assert!(
            same,
            "row {} {vat:?}: stdnum says {error}, Sentra says {err:?}",
            i + 1
        );
    }
}

#[test]
fn all_102_valid_abns_are_accepted_including_no_break_spaces() {
    let Some(lines) = lines_of("abn", "valid.txt") else {
        return;
    };
    assert_eq!(lines.len(), 102);
    assert!(lines[9].ends_with('\u{a0}') && lines[43].ends_with('\u{a0}'));
    let rejected: Vec<String> = lines
        .iter()
        .enumerate()
        .filter_map(|(i, l)| {
            Abn::parse(l)
                .err()
                .map(|e| format!("line {}: {l:?}: {e}", i + 1))
        })
        .collect();
    assert!(
        rejected.is_empty(),
        "{} of 102 rejected:\n{}",
        rejected.len(),
        rejected.join("\n")
    );
    assert_eq!(
        Abn::parse(&lines[43]).unwrap(),
        Abn::parse(&lines[42]).unwrap()
    );
}
