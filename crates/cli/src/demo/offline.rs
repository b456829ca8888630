//! `sentra demo --scan-only`: the engine alone, offline. Scans the sample
//! mailbox shipped in `examples/` against its sample supplier records,
//! exactly as `sentra scan` would; no database, no web server.

use crate::scan::{self, Format, ScanArgs};
use std::path::PathBuf;
use std::process::ExitCode;

/// Finds `examples/` next to the working directory or the repository the binary was built from.
fn examples_dir(explicit: Option<&PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(dir) = explicit {
        return Ok(dir.clone());
    }
    let candidates = [
        PathBuf::from("examples"),
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples"),
    ];
    candidates
        .into_iter()
        .find(|d| d.join("suppliers.csv").is_file())
        .ok_or_else(|| anyhow::anyhow!("cannot find the examples folder; run from the repository root or pass --examples DIR"))
}

/// `sentra demo --scan-only`.
pub(crate) fn run(
    examples: Option<&PathBuf>,
    pdf: &dyn sentra_engine::TextExtractor,
) -> anyhow::Result<ExitCode> {
    let dir = examples_dir(examples)?;
    println!(
        "Sentra demo: scanning the sample mailbox in {} for Hartley Build Ltd.\n",
        dir.join("mailbox").display()
    );
    let scan_args = ScanArgs {
        paths: vec![dir.join("mailbox")],
        suppliers: Some(dir.join("suppliers.csv")),
        org_domains: vec!["hartleybuild.co.uk".to_owned()],
        executives: Some("Sarah Hartley <sarah.hartley@hartleybuild.co.uk>;Tom Reed <tom.reed@hartleybuild.co.uk>".to_owned()),
        vocalink: std::env::var_os("SENTRA_VOCALINK_DIR").map(PathBuf::from),
        format: Format::Text,
        fail_on: None,
    };
    scan::run(&scan_args, pdf)
}
