//! Vocalink v7.70: every test case of the specification against the real tables.

use crate::{data_dir, tsv_rows};
use sentra_domain::bank::{ModulusOutcome, ModulusTables, SortCode, UkAccountNumber};

pub(crate) fn tables() -> Option<ModulusTables> {
    let dir = data_dir("vocalink")?;
    Some(ModulusTables::load_dir(&dir).expect("the shared Vocalink tables load"))
}

#[test]
fn the_v770_tables_load_with_every_rule() {
    let Some(t) = tables() else { return };
    assert_eq!(t.rule_count(), 1138);
}

#[test]
fn all_34_specification_cases_give_the_expected_result() {
    let Some(t) = tables() else { return };
    let Some(rows) = tsv_rows("vocalink", "cases.tsv") else {
        return;
    };
    assert_eq!(rows.len(), 34);
    let mut failures = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let [sc, acc, expected, description] = row.as_slice() else {
            panic!("cases.tsv row {} has {} columns", i + 1, row.len());
        };
        let outcome = t.check(
            &SortCode::parse(sc).unwrap(),
            &UkAccountNumber::parse(acc).unwrap(),
        );
        assert_ne!(
            outcome,
            ModulusOutcome::NotCovered,
            "row {} not covered",
            i + 1
        );
        let valid = outcome == ModulusOutcome::Valid;
        if valid != (expected == "Y") {
            failures.push(format!(
                "row {} ({sc} {acc}): expected {expected}, got {outcome:?}: {description}",
                i + 1
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of 34 cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn missing_table_files_are_a_table_error_naming_the_path() {
    let err = ModulusTables::load_dir(std::path::Path::new("/nonexistent/vocalink")).unwrap_err();
    assert!(
        err.to_string()
            .contains("/nonexistent/vocalink/valacdos.txt"),
        "{err}"
    );
}
