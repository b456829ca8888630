//! BICs from python-stdnum's doctest.

use crate::lines_of;
use sentra_domain::DomainError;
use sentra_domain::bank::Bic;

#[test]
fn all_400_valid_bics_are_accepted() {
    let Some(lines) = lines_of("bic", "valid.txt") else {
        return;
    };
    assert_eq!(lines.len(), 400);
    let rejected: Vec<String> = lines
        .iter()
        .enumerate()
        .filter_map(|(i, l)| {
            Bic::parse(l)
                .err()
                .map(|e| format!("line {}: {l:?}: {e}", i + 1))
        })
        .collect();
    assert!(
        rejected.is_empty(),
        "{} of 400 rejected:\n{}",
        rejected.len(),
        rejected.join("\n")
    );
}

#[test]
fn the_invalid_bic_is_rejected_by_its_country_code() {
    let Some(lines) = lines_of("bic", "invalid.txt") else {
        return;
    };
    assert_eq!(lines, ["MULTIPLE"]);
    for l in &lines {
        assert!(
            matches!(
                Bic::parse(l),
                Err(DomainError::Component {
                    component: "country",
                    ..
                })
            ),
            "{l}"
        );
    }
}
