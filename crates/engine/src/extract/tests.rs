//! Whole-text tests of [`extract`]: realistic messages, false positives,
//! the public test vectors and a no-panic property test.

use super::*;
use sentra_domain::bank::{Bic, Iban};
use std::fs;
use time::macros::date;

pub(super) const INVOICE_EMAIL: &str = "\
Subject: Invoice INV-20431 from Apex Building Supplies

Dear Accounts Team,

Please find attached invoice INV-20431 for materials delivered to the
Harbour Street site on 14 November 2026 (your PO 88213).

Invoice No: INV-20431
Invoice date: 01/11/2026
Due date: 1 December 2026
Payment terms: 30 days

Description                      Qty    Unit price     Amount
Timber joists 47x200 4.8m         40       £45.00    £1,800.00
Plasterboard 12.5mm 2400x1200    120       £12.50    £1,500.00
Delivery (Zone 2)                  1      £750.00      £750.00

Subtotal: £4,050.00
VAT @ 20%: £810.00
Total due: £4,860.00

Please pay by bank transfer to:
Account name: Apex Building Supplies Ltd
Sort code: 20-29-59
Account number: 63748472
IBAN: GB29 NWBK 6016 1331 9268 19   BIC: NWBKGB2L

VAT Reg No: GB 980 7806 84
Company registration 01234567. Registered office: 1 Dock Road, London E16 2QT.
Tel: +44 20 7946 0958

Kind regards,
Sarah Jones
Credit Control
";

pub(super) const NEWSLETTER: &str = "\
Subject: Your December trade newsletter

Hello builder,

This month: new invoice software for small firms, winter opening hours
and 20% off selected power tools until 31 December 2026.

Opening hours: Mon-Fri 07:00-17:00, Sat 08:00-12:00. Call 0800 123 4567
or +44 20 7946 0958. Our Bristol branch (BS1 6XN) reopens on 5 January.

Webinar: managing cash flow in 2027, Thursday 10 December at 12:30.
Register at https://example.com/events/2027-cashflow?id=88213.

Tip of the month: always check an invoice against the purchase order
before you pay, and never change bank details on the strength of an email.

Order reference numbers now have 10 digits (e.g. 1234567890).
Unsubscribe at any time. Trade Supplies Ltd, registered in England 01234567.
";

fn ctx() -> ExtractContext<'static> {
    ExtractContext {
        modulus: None,
        reference_date: Some(date!(2026 - 11 - 01)),
        default_currency: Some(Currency::GBP),
    }
}

#[test]
fn extracts_every_fact_from_a_realistic_invoice_email() {
    // Act
    let facts = extract(INVOICE_EMAIL, &Location::Body, &ctx());

    // Assert
    let accounts: Vec<String> = facts
        .bank_accounts
        .iter()
        .map(|a| a.account.canonical_key())
        .collect();
    assert_eq!(accounts, ["uk:202959:63748472", "uk:601613:31926819"]);
    assert_eq!(facts.invoice_numbers, ["INV-20431"]);
    let first = facts
        .amounts
        .first()
        .map(|a| (a.money.to_string(), a.total));
    assert_eq!(first, Some(("GBP 4860.00".to_owned(), true)));
    assert_eq!(facts.amounts.iter().filter(|a| a.total).count(), 1);
    assert_eq!(facts.due_dates, [date!(2026 - 12 - 01)]);
    let tax: Vec<String> = facts.tax_ids.iter().map(ToString::to_string).collect();
    assert_eq!(tax, ["GB980780684"]);
}

#[test]
fn newsletter_mentioning_invoices_yields_no_payment_facts() {
    let facts = extract(NEWSLETTER, &Location::Body, &ctx());
    assert!(facts.bank_accounts.is_empty(), "{:?}", facts.bank_accounts);
    assert!(
        facts.invoice_numbers.is_empty(),
        "{:?}",
        facts.invoice_numbers
    );
    assert!(facts.due_dates.is_empty(), "{:?}", facts.due_dates);
    assert!(facts.tax_ids.is_empty(), "{:?}", facts.tax_ids);
    assert!(facts.amounts.is_empty(), "{:?}", facts.amounts);
}

#[test]
fn text_without_digits_yields_nothing() {
    let facts = extract(
        "Invoice attached. Sort code and account below.",
        &Location::Body,
        &ctx(),
    );
    assert_eq!(facts, Facts::default());
}

#[test]
fn crlf_line_endings_give_the_same_facts() {
    let crlf = INVOICE_EMAIL.replace('\n', "\r\n");
    assert_eq!(
        extract(&crlf, &Location::Body, &ctx()),
        extract(INVOICE_EMAIL, &Location::Body, &ctx())
    );
}

#[test]
fn merge_of_body_and_attachment_keeps_both_locations() {
    let mut facts = extract(INVOICE_EMAIL, &Location::Body, &ctx());
    let pdf = Location::Attachment("INV-20431.pdf".to_owned());
    facts.merge(extract(INVOICE_EMAIL, &pdf, &ctx()));
    assert_eq!(facts.bank_accounts.len(), 4);
    assert_eq!(facts.invoice_numbers, ["INV-20431"]);
}

/// A small xorshift generator so the property test needs no dependency.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const PIECES: &[&str] = &[
    "Sort code",
    "S/C",
    "A/C",
    "Account No.",
    "Acct",
    "BSB",
    "Routing",
    "ABA",
    "IBAN",
    "BIC",
    "SWIFT",
    "Invoice #",
    "Inv.",
    "INV-",
    "Total due",
    "Subtotal",
    "Please pay",
    "Due date",
    "Payment terms",
    "net",
    "within",
    "days",
    "VAT Reg No",
    "ABN",
    "GB",
    "£",
    "€",
    "$",
    "US$",
    "A$",
    "EUR",
    "GBP",
    "-",
    "−",
    "/",
    ".",
    ",",
    ":",
    "|",
    "#",
    "(",
    ")",
    " ",
    " ",
    "\n",
    "\r\n",
    "\t",
    "\u{a0}",
    "\u{202f}",
    "é",
    "ſ",
    "K",
    "日本",
    "🙂",
    "0",
    "1",
    "2",
    "9",
    "20",
    "29",
    "59",
    "062",
    "000",
    "021000021",
    "63748472",
    "GB29",
    "NWBK",
    "6016",
    "1331",
    "9268",
    "19",
    "31/02/2026",
    "2026-12-01",
    "1st",
    "December",
    "Dec",
    "4,860.00",
    "12.450,00",
    "1.234",
    "51 824 753 556",
    "980 7806 84",
];

#[test]
fn random_bytes_and_random_unicode_never_panic() {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let contexts = [ctx(), ExtractContext::default()];
    for round in 0..4000 {
        let text = if round % 2 == 0 {
            let len = rng.below(300);
            let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            String::from_utf8_lossy(&bytes).into_owned()
        } else {
            let len = rng.below(60);
            (0..len)
                .map(|_| PIECES.get(rng.below(PIECES.len())).copied().unwrap_or(""))
                .collect()
        };
        let c = contexts.get(round % 2).copied().unwrap_or_default();
        let facts = extract(&text, &Location::Body, &c);
        // Every account found carries a format-valid value.
        for a in &facts.bank_accounts {
            assert!(!a.account.number().is_empty());
        }
    }
}

#[test]
fn large_adversarial_text_is_handled() {
    let text =
        "Sort code 20-29-59 Account 63748472 £1,234.56 Invoice #1 Due 1 Dec 2026 ".repeat(2000);
    let facts = extract(&text, &Location::Body, &ctx());
    assert_eq!(facts.bank_accounts.len(), 1);
}

fn read_lines(path: &std::path::Path) -> Option<Vec<String>> {
    let text = fs::read_to_string(path).ok()?;
    Some(
        text.split('\n')
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect(),
    )
}

fn shared(folder_file: &str) -> Option<Vec<String>> {
    let Some(dir) = sentra_domain::testdata::shared_data_dir() else {
        eprintln!("skipping: shared test data folder not found");
        return None;
    };
    let path = dir.join(folder_file);
    let lines = read_lines(&path);
    if lines.is_none() {
        eprintln!("skipping: {} missing", path.display());
    }
    lines
}

#[test]
fn finds_every_valid_iban_of_a_registered_country_in_running_text() {
    let Some(lines) = shared("iban/valid.txt") else {
        return;
    };
    let mut checked = 0;
    for line in &lines {
        let Ok(iban) = Iban::parse_format(line) else {
            continue; // country not in the domain registry yet
        };
        let compact = iban.as_str().to_owned();
        for written in [
            iban.grouped(),
            compact.clone(),
            compact.to_ascii_lowercase(),
        ] {
            let text = format!("Please pay to IBAN {written}. Thanks");
            let facts = extract(&text, &Location::Body, &ExtractContext::default());
            let got: Vec<&str> = facts
                .bank_accounts
                .iter()
                .filter_map(|a| match &a.account {
                    BankAccount::Iban { iban, .. } => Some(iban.as_str()),
                    _ => None,
                })
                .collect();
            assert_eq!(got, [compact.as_str()], "{written}");
            assert_eq!(
                facts.bank_accounts.first().and_then(|a| a.valid),
                Some(true)
            );
        }
        checked += 1;
    }
    assert!(checked > 0);
}

#[test]
fn bic_list_attaches_to_an_iban_and_is_never_an_account_alone() {
    let Some(lines) = shared("bic/valid.txt") else {
        return;
    };
    for bic in &lines {
        let alone = extract(
            &format!("SWIFT: {bic}"),
            &Location::Body,
            &ExtractContext::default(),
        );
        assert!(alone.bank_accounts.is_empty(), "{bic}");
        let Ok(parsed) = Bic::parse(bic) else {
            continue; // country not in the domain list yet
        };
        let text = format!("IBAN GB29 NWBK 6016 1331 9268 19\nBIC: {bic}");
        let facts = extract(&text, &Location::Body, &ExtractContext::default());
        let got = match facts.bank_accounts.first().map(|a| &a.account) {
            Some(BankAccount::Iban { bic, .. }) => bic.clone(),
            _ => None,
        };
        assert_eq!(got, Some(parsed), "{bic}");
    }
}

#[test]
fn labelled_vat_numbers_are_extracted_exactly_when_the_domain_accepts_them() {
    for file in ["gb_vat/valid.txt", "gb_vat/invalid.txt"] {
        let Some(lines) = shared(file) else {
            return;
        };
        for vat in &lines {
            let facts = extract(&format!("VAT Reg No: {vat}\n"), &Location::Body, &ctx());
            let expected: Vec<TaxId> = match UkVat::parse(vat) {
                // Government-department and health-authority forms (GD/HA)
                // are not read from text: suppliers don't invoice with them.
                Ok(v)
                    if !v.is_public_body()
                        && vat.bytes().filter(u8::is_ascii_digit).count() >= 9 =>
                {
                    vec![TaxId::UkVat(v)]
                }
                _ => Vec::new(),
            };
            assert_eq!(facts.tax_ids, expected, "{vat}");
            assert!(facts.bank_accounts.is_empty());
        }
    }
}

#[test]
fn labelled_abns_from_the_public_list_are_all_extracted() {
    let Some(lines) = shared("abn/valid.txt") else {
        return;
    };
    for abn in &lines {
        let facts = extract(&format!("ABN: {abn} Pty Ltd"), &Location::Body, &ctx());
        assert!(
            matches!(facts.tax_ids.as_slice(), [TaxId::Abn(_)]),
            "{abn:?}: {:?}",
            facts.tax_ids
        );
    }
}
