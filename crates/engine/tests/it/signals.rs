// One focused test per signal code: the smallest message that raises it, and
// the closest legitimate message that must not.

use sentra_domain::{RiskLevel, SignalCode};
use sentra_engine::{Context, Executive, History, NoPdfExtractor, SupplierDirectory};

const SUPPLIERS: &str = "name,domains,emails,phone,country,sort_code,account_number,iban\n\
Apex Scaffolding Ltd,apexscaffolding.co.uk,accounts@apexscaffolding.co.uk,+44 20 7946 0001,GB,08-99-99,66374958,\n\
Liffey Steel Ltd,liffeysteel.ie,,+353 1 555 0100,IE,,,IE29 AIBK 9311 5212 3456 78\n\
Greenway Skips Ltd,greenwayskips.co.uk,,+44 161 496 0000,GB,,,\n";

fn ctx() -> Context {
    let suppliers = SupplierDirectory::from_csv(SUPPLIERS.as_bytes()).unwrap();
    let execs = Executive::parse_list("Sarah Hartley <sarah.hartley@hartleybuild.co.uk>").unwrap();
    Context::new(suppliers, &["hartleybuild.co.uk".to_owned()], execs, None)
}

fn email(headers: &str, body: &str) -> Vec<u8> {
    format!("{headers}\r\nTo: accounts@hartleybuild.co.uk\r\nDate: Mon, 2 Nov 2026 09:00:00 +0000\r\nMessage-ID: <{}@test>\r\n\r\n{body}\r\n", headers.len()).into_bytes()
}

const APEX: &str =
    "From: Apex Scaffolding <accounts@apexscaffolding.co.uk>\r\nSubject: Invoice INV-1001";
const GOOD_BODY: &str = "Please pay invoice INV-1001, total due £4,120.00.\r\nSort code: 08-99-99\r\nAccount number: 66374958\r\n";

/// Analyses `raw` after the `earlier` messages (in order) and returns its signal codes and level.
fn run(earlier: &[Vec<u8>], raw: &[u8]) -> (Vec<SignalCode>, RiskLevel) {
    let ctx = ctx();
    let mut history = History::new();
    for (i, m) in earlier.iter().enumerate() {
        let p = sentra_engine::prepare(m, &ctx, &NoPdfExtractor);
        let a = sentra_engine::assess(&p, &ctx, &history);
        sentra_engine::remember(&mut history, &p, &a, &ctx, &format!("earlier-{i}"));
    }
    let a = sentra_engine::analyse(raw, &ctx, &history, &NoPdfExtractor);
    (a.signals.iter().map(|s| s.code).collect(), a.level)
}

fn has(raw: &[u8], code: SignalCode) -> bool {
    run(&[], raw).0.contains(&code)
}

#[test]
fn a_legitimate_invoice_from_the_verified_supplier_raises_nothing() {
    let (codes, level) = run(&[], &email(APEX, GOOD_BODY));
    assert!(codes.is_empty(), "{codes:?}");
    assert_eq!(level, RiskLevel::Low);
}

#[test]
fn bank_details_mismatch_is_critical_when_the_account_differs_from_the_verified_one() {
    let raw = email(
        APEX,
        "Please pay INV-1001, total due £4,120.00.\r\nSort code: 20-29-59\r\nAccount number: 63748472\r\n",
    );
    let (codes, level) = run(&[], &raw);
    assert!(codes.contains(&SignalCode::BankDetailsMismatch));
    assert_eq!(level, RiskLevel::Critical);
}

#[test]
fn bank_details_unverified_when_no_verified_account_exists() {
    let raw = email(
        "From: Greenway <accounts@greenwayskips.co.uk>\r\nSubject: Invoice GS-1",
        "Invoice GS-1 total £300.00. Sort code 20-29-59 account 63748472.",
    );
    assert!(has(&raw, SignalCode::BankDetailsUnverified));
    assert!(!has(
        &email(APEX, GOOD_BODY),
        SignalCode::BankDetailsUnverified
    ));
}

#[test]
fn bank_details_change_request_even_from_the_real_supplier() {
    let raw = email(
        APEX,
        "Please note our new bank details for all future payments.",
    );
    let (codes, level) = run(&[], &raw);
    assert!(codes.contains(&SignalCode::BankDetailsChangeRequest));
    assert!(level >= RiskLevel::High);
}

#[test]
fn bank_account_invalid_when_the_iban_check_digits_are_wrong() {
    let raw = email(
        "From: Liffey <ar@liffeysteel.ie>\r\nSubject: Invoice LS-9",
        "Invoice LS-9, total due €900.00. IBAN: IE29 AIBK 9311 5212 3456 79",
    );
    let (codes, level) = run(&[], &raw);
    assert!(codes.contains(&SignalCode::BankAccountInvalid), "{codes:?}");
    assert!(level >= RiskLevel::High);
}

#[test]
fn bank_account_country_mismatch_when_an_irish_supplier_gives_a_lithuanian_iban() {
    let raw = email(
        "From: Liffey <ar@liffeysteel.ie>\r\nSubject: Invoice LS-10",
        "Invoice LS-10, total due €900.00. IBAN: LT12 1000 0111 0100 1000",
    );
    assert!(has(&raw, SignalCode::BankAccountCountryMismatch));
}

#[test]
fn attachment_bank_details_differ_from_the_body() {
    let raw = format!(
        "{APEX}\r\nTo: accounts@hartleybuild.co.uk\r\nDate: Mon, 2 Nov 2026 09:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n{GOOD_BODY}\r\n--b\r\nContent-Type: text/plain; name=\"remit.txt\"\r\nContent-Disposition: attachment; filename=\"remit.txt\"\r\n\r\nSort code: 20-29-59\r\nAccount number: 63748472\r\n--b--\r\n"
    );
    let (codes, level) = run(&[], raw.as_bytes());
    assert!(
        codes.contains(&SignalCode::AttachmentBankDetailsDiffer),
        "{codes:?}"
    );
    assert_eq!(level, RiskLevel::Critical);
}

#[test]
fn lookalike_domain_is_critical_on_payment_mail_and_not_raised_for_the_real_domain() {
    let raw = email(
        "From: Apex Scaffolding <accounts@apexscaffolding.co>\r\nSubject: Invoice INV-1001",
        GOOD_BODY,
    );
    let (codes, level) = run(&[], &raw);
    assert!(codes.contains(&SignalCode::LookalikeDomain));
    assert_eq!(level, RiskLevel::Critical);
    assert!(!has(&email(APEX, GOOD_BODY), SignalCode::LookalikeDomain));
}

#[test]
fn display_name_impersonation_when_the_name_claims_a_supplier_from_another_domain() {
    let raw = email(
        "From: Apex Scaffolding Ltd <apex.accounts@outlook.com>\r\nSubject: Overdue invoice INV-1001",
        "Please pay invoice INV-1001 today.",
    );
    assert!(has(&raw, SignalCode::DisplayNameImpersonation));
}

#[test]
fn executive_impersonation_when_the_md_writes_from_gmail_but_not_from_her_own_address() {
    let fake = email(
        "From: Sarah Hartley <sarah.hartley.md@gmail.com>\r\nSubject: Quick favour",
        "Please make a payment of £9,800.00 today.",
    );
    assert!(has(&fake, SignalCode::ExecutiveImpersonation));
    let real = email(
        "From: Sarah Hartley <sarah.hartley@hartleybuild.co.uk>\r\nSubject: Quick favour",
        "Please make a payment of £9,800.00 today.",
    );
    assert!(!has(&real, SignalCode::ExecutiveImpersonation));
}

#[test]
fn reply_to_mismatch_when_replies_go_to_another_organisation() {
    let raw = email(
        &format!("{APEX}\r\nReply-To: apex@ledger-mail.com"),
        GOOD_BODY,
    );
    assert!(has(&raw, SignalCode::ReplyToMismatch));
    let same_org = email(
        &format!("{APEX}\r\nReply-To: credit@mail.apexscaffolding.co.uk"),
        GOOD_BODY,
    );
    assert!(!has(&same_org, SignalCode::ReplyToMismatch));
}

#[test]
fn authentication_failure_only_for_real_failures_from_the_receiving_server() {
    let fail = email(
        &format!(
            "Authentication-Results: spf.protection.outlook.com; spf=fail smtp.mailfrom=apexscaffolding.co.uk; dmarc=fail header.from=apexscaffolding.co.uk\r\n{APEX}"
        ),
        GOOD_BODY,
    );
    assert!(has(&fail, SignalCode::AuthenticationFailure));
    let soft = email(
        &format!(
            "Authentication-Results: spf.protection.outlook.com; spf=softfail; dmarc=none\r\n{APEX}"
        ),
        GOOD_BODY,
    );
    assert!(!has(&soft, SignalCode::AuthenticationFailure));
}

#[test]
fn freemail_sender_and_first_contact_on_payment_mail_from_a_new_gmail_address() {
    let raw = email(
        "From: Dave Sparks <dave.sparks.electrical@gmail.com>\r\nSubject: Invoice 1047",
        "Invoice 1047, total due £1,890.00. Thanks, Dave",
    );
    let (codes, _) = run(&[], &raw);
    assert!(
        codes.contains(&SignalCode::FreemailSender) && codes.contains(&SignalCode::FirstContact),
        "{codes:?}"
    );
    // The second email from the same domain is not a first contact.
    let (codes, _) = run(std::slice::from_ref(&raw), &raw);
    assert!(!codes.contains(&SignalCode::FirstContact));
}

#[test]
fn urgency_pressure_from_secrecy_language_but_not_from_a_disclaimer() {
    let raw = email(
        APEX,
        &format!("{GOOD_BODY}Please pay urgently and keep this between us."),
    );
    assert!(has(&raw, SignalCode::UrgencyPressure));
    let disclaimer = email(
        APEX,
        &format!("{GOOD_BODY}This email and any attachments are confidential."),
    );
    assert!(!has(&disclaimer, SignalCode::UrgencyPressure));
}

#[test]
fn thread_hijack_for_a_new_party_in_a_known_thread_and_for_a_fake_reply() {
    let first = email(APEX, GOOD_BODY);
    let first_id = String::from_utf8_lossy(&first)
        .lines()
        .find(|l| l.starts_with("Message-ID:"))
        .unwrap()
        .trim_start_matches("Message-ID: ")
        .to_owned();
    let hijack = email(
        &format!(
            "From: Apex <accounts@apex-payments.com>\r\nSubject: Re: Invoice INV-1001\r\nIn-Reply-To: {first_id}\r\nReferences: {first_id}"
        ),
        "Please use our other account for this one.",
    );
    let (codes, _) = run(&[first], &hijack);
    assert!(codes.contains(&SignalCode::ThreadHijack), "{codes:?}");
    let fake = email(
        "From: Apex <accounts@apexscaffolding.co.uk>\r\nSubject: RE: Invoice INV-1001",
        GOOD_BODY,
    );
    assert!(has(&fake, SignalCode::ThreadHijack));
}

#[test]
fn amount_anomaly_after_three_ordinary_invoices() {
    let earlier: Vec<Vec<u8>> = [4_100, 4_350, 4_520]
        .iter()
        .enumerate()
        .map(|(i, pounds)| email(&format!("From: Apex <accounts@apexscaffolding.co.uk>\r\nSubject: Invoice INV-20{i}"), &format!("Invoice INV-20{i}, total due £{pounds}.00. Sort code 08-99-99 account 66374958.")))
        .collect();
    let big = email(
        "From: Apex <accounts@apexscaffolding.co.uk>\r\nSubject: Invoice INV-299",
        "Invoice INV-299, total due £48,600.00. Sort code 08-99-99 account 66374958.",
    );
    assert!(run(&earlier, &big).0.contains(&SignalCode::AmountAnomaly));
    let usual = email(
        "From: Apex <accounts@apexscaffolding.co.uk>\r\nSubject: Invoice INV-298",
        "Invoice INV-298, total due £4,700.00. Sort code 08-99-99 account 66374958.",
    );
    assert!(!run(&earlier, &usual).0.contains(&SignalCode::AmountAnomaly));
}

#[test]
fn duplicate_invoice_when_a_number_comes_back_with_another_amount() {
    let first = email(APEX, GOOD_BODY);
    let changed = email(
        APEX,
        "Please pay invoice INV-1001, total due £4,920.00.\r\nSort code: 08-99-99\r\nAccount number: 66374958\r\n",
    );
    assert!(
        run(std::slice::from_ref(&first), &changed)
            .0
            .contains(&SignalCode::DuplicateInvoice)
    );
    // The same invoice sent again (a reminder) is not a duplicate.
    assert!(
        !run(std::slice::from_ref(&first), &first)
            .0
            .contains(&SignalCode::DuplicateInvoice)
    );
}

#[test]
fn risky_attachment_for_a_double_extension_executable() {
    let raw = format!(
        "{APEX}\r\nTo: accounts@hartleybuild.co.uk\r\nDate: Mon, 2 Nov 2026 09:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n{GOOD_BODY}\r\n--b\r\nContent-Type: application/octet-stream; name=\"INV-1001.pdf.exe\"\r\nContent-Disposition: attachment; filename=\"INV-1001.pdf.exe\"\r\nContent-Transfer-Encoding: base64\r\n\r\nTVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAA=\r\n--b--\r\n"
    );
    let (codes, level) = run(&[], raw.as_bytes());
    assert!(codes.contains(&SignalCode::RiskyAttachment), "{codes:?}");
    assert!(level >= RiskLevel::Medium);
}

#[test]
fn unparseable_bytes_are_reported_not_crashed_on() {
    let (codes, level) = run(&[], b"\x00\x01\x02 binary junk");
    assert_eq!(codes, [SignalCode::Unparseable]);
    assert_eq!(level, RiskLevel::Low);
}
