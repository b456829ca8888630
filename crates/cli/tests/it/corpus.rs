// The fixture corpus run through `sentra scan` as a process (with the real PDF
// sandbox): every message meets its expectations in expected.tsv, and its full
// report equals the golden file. `SENTRA_BLESS=1 cargo test -p sentra-cli --test it corpus`
// rewrites the golden files after a deliberate change; review the diff.

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

const ORG: &str = "hartleybuild.co.uk";
const EXECUTIVES: &str =
    "Sarah Hartley <sarah.hartley@hartleybuild.co.uk>;Tom Reed <tom.reed@hartleybuild.co.uk>";

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../engine/tests/fixtures/corpus")
}

fn scan(dir: &Path, files: &[String]) -> Vec<Value> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sentra"));
    cmd.current_dir(dir).args([
        "scan",
        "--format",
        "jsonl",
        "--suppliers",
        "suppliers.csv",
        "--org-domains",
        ORG,
        "--executives",
        EXECUTIVES,
    ]);
    if let Some(data) = sentra_domain::testdata::shared_data_dir() {
        cmd.arg("--vocalink").arg(data.join("vocalink"));
    }
    let out = cmd.args(files).output().expect("run sentra");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn list(field: &str) -> BTreeSet<String> {
    if field == "-" {
        BTreeSet::new()
    } else {
        field.split(',').map(|s| s.trim().to_owned()).collect()
    }
}

#[test]
fn corpus_messages_meet_their_expectations_and_match_golden_reports() {
    let dir = corpus_dir();
    let expected = std::fs::read_to_string(dir.join("expected.tsv")).unwrap();
    let rows: Vec<Vec<&str>> = expected
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split('\t').collect())
        .collect();
    let files: Vec<String> = rows.iter().map(|r| r[0].to_owned()).collect();
    let reports = scan(&dir, &files);
    assert_eq!(reports.len(), rows.len());

    let mut problems = Vec::new();
    for row in &rows {
        let (file, category, level, supplier, required, forbidden) =
            (row[0], row[1], row[2], row[3], list(row[4]), list(row[5]));
        let Some(r) = reports.iter().find(|r| r["source"] == file) else {
            problems.push(format!("{file}: no report"));
            continue;
        };
        let codes: BTreeSet<String> = r["signals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["code"].as_str().unwrap().to_owned())
            .collect();
        if r["category"] != category {
            problems.push(format!(
                "{file}: category {} (expected {category})",
                r["category"]
            ));
        }
        if r["risk"]["level"] != level {
            problems.push(format!(
                "{file}: level {} (expected {level}); signals {codes:?}",
                r["risk"]["level"]
            ));
        }
        let got_supplier = r["supplier"]["name"].as_str().unwrap_or("-");
        if got_supplier != supplier {
            problems.push(format!(
                "{file}: supplier {got_supplier} (expected {supplier})"
            ));
        }
        let missing: Vec<&String> = required.difference(&codes).collect();
        if !missing.is_empty() {
            problems.push(format!("{file}: missing signals {missing:?}"));
        }
        let unwanted: Vec<&String> = forbidden.intersection(&codes).collect();
        if !unwanted.is_empty() {
            problems.push(format!("{file}: unwanted signals {unwanted:?}"));
        }
    }
    assert!(
        problems.is_empty(),
        "{} expectation(s) not met:\n{}",
        problems.len(),
        problems.join("\n")
    );

    // Golden reports: the whole MESSAGE object, byte for byte.
    let golden = dir.join("golden");
    let bless = std::env::var_os("SENTRA_BLESS").is_some();
    let mut differ = Vec::new();
    for r in &reports {
        let name = r["source"].as_str().unwrap().replace(".eml", ".json");
        let path = golden.join(&name);
        let actual = serde_json::to_string_pretty(r).unwrap() + "\n";
        if bless {
            std::fs::create_dir_all(&golden).unwrap();
            std::fs::write(&path, &actual).unwrap();
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(want) if want == actual => {}
            Ok(_) => {
                std::fs::write(path.with_extension("json.failed"), &actual).unwrap();
                differ.push(name);
            }
            Err(_) => differ.push(format!("{name} (no golden file; run with SENTRA_BLESS=1)")),
        }
    }
    assert!(
        differ.is_empty(),
        "reports differ from golden files (see *.json.failed):\n{}",
        differ.join("\n")
    );
}

#[test]
fn corpus_reports_do_not_depend_on_line_endings() {
    let dir = corpus_dir();
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(dir.join("suppliers.csv"), tmp.path().join("suppliers.csv")).unwrap();
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("eml"))
            || name.starts_with("99")
        {
            continue;
        }
        let raw = std::fs::read(&path).unwrap();
        // Byte-level, so 8-bit charsets survive untouched.
        let mut lf = Vec::with_capacity(raw.len());
        for (i, b) in raw.iter().enumerate() {
            if !(*b == b'\r' && raw.get(i + 1) == Some(&b'\n')) {
                lf.push(*b);
            }
        }
        let flipped: Vec<u8> = if lf.len() < raw.len() {
            lf
        } else {
            lf.iter()
                .flat_map(|b| {
                    if *b == b'\n' {
                        vec![b'\r', b'\n']
                    } else {
                        vec![*b]
                    }
                })
                .collect()
        };
        std::fs::write(tmp.path().join(&name), flipped).unwrap();
        names.push(name);
    }
    names.sort();
    let original = scan(&dir, &names);
    let flipped = scan(tmp.path(), &names);
    for (a, b) in original.iter().zip(&flipped) {
        assert_eq!(a["category"], b["category"], "{}", a["source"]);
        assert_eq!(a["risk"], b["risk"], "{}", a["source"]);
        assert_eq!(a["signals"], b["signals"], "{}", a["source"]);
        assert_eq!(a["extracted"], b["extracted"], "{}", a["source"]);
    }
}
