//! The key journeys in headless Chromium (`tests/browser/journeys.js`, on
//! playwright-core and axe-core from `npm ci`): sign-up with authenticator
//! enrolment, supplier import, an uploaded fraudulent email worked to
//! confirmed fraud, dual control with step-up, a cross-site form post, and
//! axe plus a 375 px width check on every main page. The app runs on a real
//! loopback listener over a seeded test database; the script gets what it
//! needs in one environment variable and answers with one JSON line, which
//! this module checks together with the database.
//!
//! Without node, Chromium or the npm packages the test prints `SKIPPED:`
//! and passes, unless `SENTRA_REQUIRE_BROWSER=1` (set by `scripts/test.sh`
//! where Chromium is installed). With `SENTRA_SCREENSHOTS=1` the run also
//! writes the README's screenshots into `docs/screenshots/`.

mod seed;

use crate::{PASSWORD, Seeded, TestApp};
use seed::{APEX_PHONE, seed};
use sentra_testkit::emails::FRAUD_BANK_CHANGE;
use sentra_web::totp;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// Where the browser tools are, or why the test cannot run.
struct Tools {
    chrome: PathBuf,
    dir: PathBuf,
}

impl Tools {
    /// The tools, or `None` after printing `SKIPPED:` (a panic instead
    /// when `SENTRA_REQUIRE_BROWSER=1`: CI must not skip silently).
    fn find() -> Option<Self> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
        let chrome = std::env::var_os("CHROME_BIN")
            .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
        let node = std::process::Command::new("node")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        let missing = if !node {
            Some("node is not installed".to_owned())
        } else if !chrome.exists() {
            Some(format!("no Chromium at {}", chrome.display()))
        } else if !dir.join("node_modules/playwright-core").is_dir()
            || !dir.join("node_modules/axe-core").is_dir()
        {
            Some(format!("run `npm ci` in {}", dir.display()))
        } else {
            None
        };
        match missing {
            None => Some(Self { chrome, dir }),
            Some(why) if std::env::var("SENTRA_REQUIRE_BROWSER").as_deref() == Ok("1") => {
                panic!("SENTRA_REQUIRE_BROWSER=1 but {why}")
            }
            Some(why) => {
                println!("SKIPPED: browser journeys ({why})");
                None
            }
        }
    }
}

/// Runs the script; returns its report (panics with its failures).
async fn run(tools: &Tools, input: &Value) -> Value {
    let (dir, input) = (tools.dir.clone(), input.to_string());
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .arg("journeys.js")
            .current_dir(dir)
            .env("SENTRA_BROWSER_INPUT", input)
            .output()
    })
    .await
    .expect("join")
    .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report: Value = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no JSON report; stderr:\n{stderr}"));
    assert!(
        output.status.success(),
        "browser journeys failed ({}):\n{}\nstderr:\n{stderr}",
        output.status,
        serde_json::to_string_pretty(&report["failures"]).unwrap_or_default()
    );
    report
}

async fn one<T>(app: &TestApp, sql: &'static str, binds: &[uuid::Uuid]) -> T
where
    T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + Unpin,
{
    let mut q = sqlx::query_scalar::<_, T>(sql);
    for b in binds {
        q = q.bind(*b);
    }
    q.fetch_one(app.db.superuser()).await.expect(sql)
}

fn texts(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_journeys_work_in_headless_chromium_and_every_main_page_passes_axe() {
    let Some(tools) = Tools::find() else {
        return;
    };
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    // Arrange
    let seed = seed(&app).await;
    let files = std::env::temp_dir().join(format!("sentra-browser-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&files).expect("temp dir");
    let fraud_eml = files.join("change-of-bank-details.eml");
    std::fs::write(&fraud_eml, FRAUD_BANK_CHANGE).expect("eml");
    let screenshots = (std::env::var("SENTRA_SCREENSHOTS").as_deref() == Ok("1")).then(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots");
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        dir
    });
    let b32 = |s: &Seeded| totp::base32_encode(s.secret.as_deref().expect("enrolled"));
    let input = json!({
        "base_url": app.base,
        "chrome": tools.chrome,
        "password": PASSWORD,
        "owner": { "email": seed.owner.email, "totp": b32(&seed.owner) },
        "approver": { "cookie": seed.approver_cookie, "totp": b32(&seed.approver) },
        "apex_id": seed.apex.to_string(),
        "verified_phone": APEX_PHONE,
        "xero_csv": Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/suppliers/xero.csv"),
        "fraud_eml": fraud_eml,
        "screenshot_dir": screenshots,
    });

    // Act
    let report = run(&tools, &input).await;
    let _ = std::fs::remove_dir_all(&files);

    // Assert: 1. sign-up, enrolment, recovery codes, sign out and in again.
    let signup = &report["signup"];
    assert_eq!(signup["recovery_codes"], 10, "{signup}");
    assert_eq!(signup["distinct_codes"], 10);
    assert_eq!(signup["after_sign_in"], "Dashboard");
    assert!(
        signup["header"]
            .as_str()
            .expect("header")
            .contains("Brook & Daughters Joinery")
    );
    let founder = signup["email"].as_str().expect("email");
    let (enrolled, codes_left, step): (bool, i32, Option<i64>) = sqlx::query_as(
        "select totp_secret_enc is not null, cardinality(recovery_code_hashes), last_totp_step
         from app_user where email = $1",
    )
    .bind(founder)
    .fetch_one(app.db.superuser())
    .await
    .expect("founder");
    assert!(enrolled && codes_left == 10 && step.is_some());
    let owns: i64 = sqlx::query_scalar(
        "select count(*) from membership m join app_user u on u.id = m.user_id
         join organisation o on o.id = m.org_id
         where u.email = $1 and m.role = 'owner' and o.name = 'Brook & Daughters Joinery'",
    )
    .bind(founder)
    .fetch_one(app.db.superuser())
    .await
    .expect("membership");
    assert_eq!(owns, 1);

    // 2. The Xero import: previewed, then written and listed.
    let import = &report["import"];
    let org = seed.owner.org.as_uuid();
    for name in ["Harbour Plant Hire", "Northgate Roofing"] {
        assert!(texts(&import["previewed"]).contains(&name), "{import}");
        assert!(texts(&import["listed"]).contains(&name), "{import}");
    }
    let imported: i64 = one(
        &app,
        "select count(*) from supplier where org_id = $1
         and name in ('Harbour Plant Hire', 'Northgate Roofing')",
        &[org],
    )
    .await;
    assert_eq!(imported, 2);

    // 3. The uploaded email's case, worked to confirmed fraud on the verified number.
    let fraud = &report["fraud_case"];
    assert!(
        fraud["refused"]
            .as_str()
            .expect("refusal")
            .contains("not an email"),
        "{fraud}"
    );
    assert_eq!(fraud["status"], "Confirmed fraud", "{fraud}");
    assert!(
        texts(&fraud["calls"])
            .iter()
            .any(|c| c.contains(APEX_PHONE))
    );
    let case = uuid::Uuid::parse_str(fraud["case_id"].as_str().expect("case")).expect("uuid");
    let message = uuid::Uuid::parse_str(fraud["message_id"].as_str().expect("msg")).expect("uuid");
    let status: String = one(
        &app,
        "select status from fraud_case where org_id = $1 and id = $2 and message_id = $3",
        &[org, case, message],
    )
    .await;
    assert_eq!(status, "confirmed_fraud");
    let called: String = one(
        &app,
        "select number_called from verification where org_id = $1 and case_id = $2
         and outcome = 'confirmed_fraud'",
        &[org, case],
    )
    .await;
    assert_eq!(called, APEX_PHONE);

    // 4. Dual control: the proposer refused, the approver (stepped up) approved.
    let dual = &report["dual_control"];
    assert!(
        texts(&dual["pending"]).iter().any(|p| p.contains("8472")),
        "{dual}"
    );
    assert_eq!(dual["own_approve_buttons"], 0, "{dual}");
    assert!(
        dual["own_row"]
            .as_str()
            .expect("row")
            .contains("You proposed this")
    );
    assert_eq!(dual["self_approve_status"], 403);
    assert!(
        dual["self_approve_page"]
            .as_str()
            .expect("page")
            .contains("someone other than its proposer")
    );
    assert_eq!(dual["step_up_notice"], 1);
    assert_eq!(dual["step_up_notice_after"], 0);
    assert_eq!(dual["still_waiting"], 0);
    assert!(
        texts(&dual["accounts"])
            .iter()
            .any(|a| a.ends_with("****8472 | uk | active")),
        "{dual}"
    );
    let change = uuid::Uuid::parse_str(dual["change_id"].as_str().expect("id")).expect("uuid");
    let decided_by: uuid::Uuid = one(
        &app,
        "select decided_by from supplier_change where org_id = $1 and id = $2
         and status = 'approved'",
        &[org, change],
    )
    .await;
    assert_eq!(decided_by, seed.approver.user.as_uuid());
    let active: Vec<String> = sqlx::query_scalar(
        "select masked from supplier_bank_account
         where org_id = $1 and supplier_id = $2 and status = 'active'",
    )
    .bind(org)
    .bind(seed.apex.as_uuid())
    .fetch_all(app.db.superuser())
    .await
    .expect("accounts");
    assert_eq!(active.len(), 1, "{active:?}");
    assert!(active[0].ends_with("****8472"), "{active:?}");

    // 5. The cross-site post: refused with the cookie present; nothing changed.
    let cross = &report["cross_site"];
    assert_eq!(cross["status"], 403, "{cross}");
    assert_eq!(cross["cookie_sent"], true, "the victim's cookie went along");
    assert_eq!(cross["name_after"], "Apex Scaffolding Ltd");
    let name: String = one(
        &app,
        "select name from supplier where org_id = $1 and id = $2",
        &[org, seed.apex.as_uuid()],
    )
    .await;
    assert_eq!(name, "Apex Scaffolding Ltd");
    let updates: i64 = one(
        &app,
        "select count(*) from audit_event where org_id = $1 and action = 'supplier.update'",
        &[org],
    )
    .await;
    assert_eq!(updates, 0);

    // 6. axe and the phone width on every page visited (error states too).
    for href in texts(&report["sweep"]["nav_missing"]) {
        println!("note: the navigation links to {href}, which answers 404 (not built yet?)");
    }
    let keyboard = &report["sweep"]["keyboard"];
    assert_eq!(keyboard["first_stop"], "Skip to main content", "{keyboard}");
    assert_eq!(keyboard["after_skip"], "email", "{keyboard}");
    assert!(
        report["sweep"]["sign_in_refused"]
            .as_str()
            .expect("refusal")
            .contains("do not match")
    );
    let pages = report["a11y"].as_array().expect("a11y");
    assert!(pages.len() >= 28, "{} pages checked", pages.len());
    for p in pages {
        // The lesser findings are reported, not failed: worth a look.
        for v in p["violations"].as_array().into_iter().flatten() {
            if matches!(v["impact"].as_str(), Some("moderate" | "minor")) {
                println!(
                    "axe {} on {}: {} ({})",
                    v["impact"], p["page"], v["id"], v["help"]
                );
            }
        }
        let bad: Vec<&Value> = p["violations"]
            .as_array()
            .expect("violations")
            .iter()
            .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
            .collect();
        assert!(bad.is_empty(), "{}: {bad:?}", p["page"]);
    }
    for w in report["overflow"].as_array().expect("overflow") {
        assert!(w["scroll_width"].as_u64().expect("width") <= 375, "{w}");
    }
}
