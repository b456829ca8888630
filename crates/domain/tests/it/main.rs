//! Integration tests of the domain crate against the shared public test
//! vectors (`../shared/data`): Vocalink modulus cases, IBANs, BICs, UK VAT
//! numbers and ABNs. One binary, so the crate links once for all of them.

mod bank_account;
mod bic;
mod iban;
mod tax;
mod vocalink;

use std::path::PathBuf;

/// The shared data folder `sub`, or `None` (after printing why) when the
/// shared data is not on this machine.
pub(crate) fn data_dir(sub: &str) -> Option<PathBuf> {
    let dir = sentra_domain::testdata::shared_data_dir();
    if dir.is_none() {
        eprintln!(
            "SKIPPED: shared test data folder ../shared/data not found; {sub} vectors not checked"
        );
    }
    dir.map(|d| d.join(sub))
}

/// The lines of a shared list file exactly as written: split on `\n` only,
/// nothing trimmed, the empty piece after a final newline dropped.
pub(crate) fn lines_of(sub: &str, file: &str) -> Option<Vec<String>> {
    let path = data_dir(sub)?.join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut lines: Vec<String> = text.split('\n').map(str::to_owned).collect();
    if lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    assert!(!lines.is_empty(), "{} is empty", path.display());
    Some(lines)
}

/// Rows of a shared TSV file after its header, split on tabs.
pub(crate) fn tsv_rows(sub: &str, file: &str) -> Option<Vec<Vec<String>>> {
    let lines = lines_of(sub, file)?;
    Some(
        lines
            .iter()
            .skip(1)
            .map(|l| l.split('\t').map(str::to_owned).collect())
            .collect(),
    )
}
