//! IBANs from python-stdnum's doctest: every valid line as written, and every
//! invalid one rejected for the reason its category gives.

use crate::{lines_of, tsv_rows};
use sentra_domain::DomainError;
use sentra_domain::bank::Iban;

#[test]
fn every_valid_iban_is_accepted_as_written() {
    let Some(lines) = lines_of("iban", "valid.txt") else {
        return;
    };
    assert_eq!(lines.len(), 194);
    let rejected: Vec<String> = lines
        .iter()
        .enumerate()
        .filter_map(|(i, l)| {
            Iban::parse(l)
                .err()
                .map(|e| format!("line {}: {l:?}: {e}", i + 1))
        })
        .collect();
    assert!(
        rejected.is_empty(),
        "{} of 194 rejected:\n{}",
        rejected.len(),
        rejected.join("\n")
    );
}

#[test]
fn every_invalid_iban_is_rejected_for_its_category() {
    let Some(rows) = tsv_rows("iban", "invalid.tsv") else {
        return;
    };
    assert_eq!(rows.len(), 23);
    let mut seen = [0usize; 5];
    for (i, row) in rows.iter().enumerate() {
        let [iban, category, mod97, _note] = row.as_slice() else {
            panic!("invalid.tsv row {} has {} columns", i + 1, row.len());
        };
        let ctx = format!("row {} {iban:?} ({category})", i + 1);
        assert_eq!(Iban::mod97_ok(iban), mod97 == "Y", "{ctx}: mod97 column");
        let err = Iban::parse(iban).expect_err(&ctx);
        match category.as_str() {
            "checksum" => {
                seen[0] += 1;
                assert!(
                    matches!(err, DomainError::Checksum { .. }),
                    "{ctx}: {err:?}"
                );
                // The format is right, so the value can still be held and reported.
                let held = Iban::parse_format(iban).unwrap_or_else(|e| panic!("{ctx}: {e}"));
                assert!(!held.checksum_ok(), "{ctx}");
            }
            "length" => {
                seen[1] += 1;
                assert!(matches!(err, DomainError::Length { .. }), "{ctx}: {err:?}");
                assert!(Iban::parse_format(iban).is_err(), "{ctx}");
            }
            "format" => {
                seen[2] += 1;
                assert!(matches!(err, DomainError::Format { .. }), "{ctx}: {err:?}");
                assert!(Iban::parse_format(iban).is_err(), "{ctx}");
            }
            "country" => {
                seen[3] += 1;
                assert!(
                    matches!(
                        err,
                        DomainError::Component {
                            component: "country",
                            ..
                        }
                    ),
                    "{ctx}: {err:?}"
                );
                assert!(Iban::parse_format(iban).is_err(), "{ctx}");
            }
            "national" => {
                // Sentra checks Spain's CCC digits, so these fail as a checksum
                // even though mod-97, length and format are right.
                seen[4] += 1;
                assert!(
                    matches!(err, DomainError::Checksum { .. }),
                    "{ctx}: {err:?}"
                );
                assert!(Iban::parse_format(iban).is_ok(), "{ctx}");
            }
            other => panic!("{ctx}: unknown category {other}"),
        }
    }
    assert_eq!(seen, [11, 4, 3, 3, 2]);
}

#[test]
fn every_spanish_valid_iban_passes_the_national_check() {
    let Some(lines) = lines_of("iban", "valid.txt") else {
        return;
    };
    let spanish: Vec<Iban> = lines
        .iter()
        .filter_map(|l| Iban::parse_format(l).ok())
        .filter(|i| i.country() == "ES")
        .collect();
    assert_eq!(spanish.len(), 25);
    assert!(spanish.iter().all(Iban::checksum_ok));
}
