// `sentra scan` run as a process: the public contract (options, JSON shape, exit codes).

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

const SUPPLIERS: &str = "name,domains,emails,phone,country,sort_code,account_number\n\
Apex Scaffolding Ltd,apexscaffolding.co.uk,accounts@apexscaffolding.co.uk,+44 20 7946 0001,GB,08-99-99,66374958\n";

fn eml(from: &str, subject: &str, date: &str, id: &str, body: &str) -> String {
    format!(
        "From: {from}\r\nTo: accounts@hartleybuild.co.uk\r\nSubject: {subject}\r\nDate: {date}\r\nMessage-ID: <{id}>\r\n\r\n{body}\r\n"
    )
}

fn mismatch() -> String {
    eml(
        "Apex Scaffolding <accounts@apexscaffolding.co.uk>",
        "Invoice INV-20431",
        "Mon, 2 Nov 2026 09:14:00 +0000",
        "m1@apex",
        "Please pay invoice INV-20431, total due £4,860.00, to\r\nSort code: 20-29-59\r\nAccount number: 63748472\r\n",
    )
}

fn legit() -> String {
    eml(
        "Apex Scaffolding <accounts@apexscaffolding.co.uk>",
        "Invoice INV-20400",
        "Sun, 1 Nov 2026 09:00:00 +0000",
        "m0@apex",
        "Please pay invoice INV-20400, total due £4,120.00, to\r\nSort code: 08-99-99\r\nAccount number: 66374958\r\n",
    )
}

fn sentra(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sentra"))
        .args(args)
        .current_dir(dir)
        .env_remove("SENTRA_VOCALINK_DIR")
        .output()
        .expect("run sentra")
}

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("suppliers.csv"), SUPPLIERS).unwrap();
    std::fs::create_dir(dir.path().join("mail")).unwrap();
    std::fs::write(dir.path().join("mail/b.eml"), mismatch()).unwrap();
    std::fs::write(dir.path().join("mail/a.eml"), legit()).unwrap();
    dir
}

#[test]
fn scan_json_reports_a_bank_mismatch_as_critical_with_masked_evidence() {
    let dir = setup();
    let out = sentra(
        &[
            "scan",
            "--suppliers",
            "suppliers.csv",
            "--org-domains",
            "hartleybuild.co.uk",
            "--format",
            "json",
            "mail",
        ],
        dir.path(),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let messages = doc["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    // Date order: the legitimate invoice of 1 Nov first.
    assert_eq!(messages[0]["source"], "mail/a.eml");
    assert_eq!(messages[0]["risk"]["level"], "low");
    let m = &messages[1];
    assert_eq!(m["source"], "mail/b.eml");
    assert_eq!(m["message_id"], "<m1@apex>");
    assert_eq!(m["date"], "2026-11-02T09:14:00Z");
    assert_eq!(m["category"], "invoice");
    assert_eq!(m["payment_related"], true);
    assert_eq!(m["risk"]["level"], "critical");
    assert_eq!(m["supplier"]["name"], "Apex Scaffolding Ltd");
    assert_eq!(m["supplier"]["match"], "email");
    let signal = m["signals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["code"] == "bank_details_mismatch")
        .expect("mismatch signal");
    assert_eq!(signal["severity"], "critical");
    let evidence = signal["evidence"].to_string();
    assert!(
        evidence.contains("****8472") && !evidence.contains("63748472"),
        "{evidence}"
    );
    let acct = &m["extracted"]["bank_accounts"][0];
    assert_eq!(acct["scheme"], "uk");
    assert_eq!(acct["sort_code"], "202959");
    assert_eq!(acct["account_number"], "63748472");
    assert_eq!(acct["location"], "body");
    assert!(acct["valid"].is_null(), "no tables given, so valid is null");
    assert_eq!(m["extracted"]["invoice_numbers"][0], "INV-20431");
    assert_eq!(m["extracted"]["amounts"][0]["value"], "4860.00");
    assert_eq!(m["extracted"]["amounts"][0]["currency"], "GBP");
    assert!(
        m["recommended_action"]
            .as_str()
            .unwrap()
            .contains("+44 20 7946 0001")
    );
    assert_eq!(doc["summary"]["messages"], 2);
    assert_eq!(doc["summary"]["by_level"]["critical"], 1);
    assert_eq!(doc["summary"]["by_category"]["invoice"], 2);
}

#[test]
fn scan_jsonl_prints_one_message_per_line_and_nothing_else() {
    let dir = setup();
    let out = sentra(
        &["scan", "--format", "jsonl", "mail/a.eml", "mail/b.eml"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    for line in lines {
        let v: Value = serde_json::from_str(line).unwrap();
        assert!(v["risk"]["score"].is_u64());
    }
}

#[test]
fn scan_text_output_masks_account_numbers() {
    let dir = setup();
    let out = sentra(
        &["scan", "--suppliers", "suppliers.csv", "mail"],
        dir.path(),
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("CRITICAL") && text.contains("bank_details_mismatch"),
        "{text}"
    );
    assert!(
        !text.contains("63748472") && !text.contains("66374958"),
        "{text}"
    );
    assert!(!text.contains("\x1b["), "no colour when not a terminal");
}

#[test]
fn scan_fail_on_exits_3_at_or_above_the_threshold() {
    let dir = setup();
    let out = sentra(
        &[
            "scan",
            "--suppliers",
            "suppliers.csv",
            "--format",
            "jsonl",
            "--fail-on",
            "high",
            "mail",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(3));
    let out = sentra(
        &[
            "scan",
            "--suppliers",
            "suppliers.csv",
            "--format",
            "jsonl",
            "--fail-on",
            "critical",
            "mail/a.eml",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn scan_rejects_bad_usage_with_status_2_and_analyses_nothing() {
    let dir = setup();
    for args in [
        vec!["scan", "--format", "jsonl", "mail", "missing.eml"],
        vec![
            "scan",
            "--format",
            "jsonl",
            "--suppliers",
            "nope.csv",
            "mail",
        ],
        vec!["scan", "--format", "xml", "mail"],
        vec!["scan", "--fail-on", "severe", "mail"],
        vec!["scan", "--vocalink", "mail", "mail"],
        vec!["scan"],
    ] {
        let out = sentra(&args, dir.path());
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?} printed results");
        assert!(!out.stderr.is_empty(), "{args:?} gave no message");
    }
    std::fs::write(
        dir.path().join("bad.csv"),
        "name,sort_code,account_number\nApex,08-99-99,12\n",
    )
    .unwrap();
    let out = sentra(&["scan", "--suppliers", "bad.csv", "mail"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("row 2"));
}

#[test]
fn scan_numbers_mbox_messages_and_reports_unparseable_ones() {
    let dir = setup();
    let mbox = format!(
        "From a@b Mon Nov  2 09:00:00 2026\n{}\nFrom c@d Mon Nov  2 10:00:00 2026\n{}",
        legit().replace("\r\n", "\n"),
        mismatch().replace("\r\n", "\n")
    );
    std::fs::write(dir.path().join("box.mbox"), mbox).unwrap();
    std::fs::write(
        dir.path().join("junk.eml"),
        b"\x00\x01\x02\xff not an email",
    )
    .unwrap();
    let out = sentra(
        &["scan", "--format", "jsonl", "box.mbox", "junk.eml"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0));
    let reports: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let sources: Vec<&str> = reports
        .iter()
        .map(|r| r["source"].as_str().unwrap())
        .collect();
    assert_eq!(sources, ["box.mbox#1", "box.mbox#2", "junk.eml"]);
    let junk = &reports[2];
    assert_eq!(junk["category"], "unparseable");
    assert_eq!(junk["risk"]["level"], "low");
    assert_eq!(junk["signals"][0]["code"], "unparseable");
}

#[test]
fn scan_with_vocalink_tables_marks_account_validity() {
    let Some(data) = sentra_domain::testdata::shared_data_dir() else {
        eprintln!("SKIPPED: ../shared/data is missing");
        return;
    };
    let dir = setup();
    let vocalink = data.join("vocalink");
    let out = sentra(
        &[
            "scan",
            "--format",
            "jsonl",
            "--vocalink",
            vocalink.to_str().unwrap(),
            "mail/b.eml",
        ],
        dir.path(),
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["extracted"]["bank_accounts"][0]["valid"], true);
}

#[test]
fn demo_scans_the_shipped_sample_mailbox() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = sentra(&["demo", "--scan-only"], &root);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("CRITICAL")
            && text.contains("lookalike_domain")
            && text.contains("executive_impersonation"),
        "{text}"
    );
    assert!(text.contains("8 messages: 2 critical, 1 high"), "{text}");
}
