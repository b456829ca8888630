use super::*;
use sentra_domain::bank::ModulusTables;

fn found(text: &str) -> Vec<FoundAccount> {
    let hits = scan::keyword_hits(text);
    let tax = super::super::tax::extract(text, &hits);
    extract(
        text,
        &hits,
        &Location::Body,
        &ExtractContext::default(),
        &tax,
    )
}

/// Canonical keys, which name scheme and digits compactly.
fn keys(text: &str) -> Vec<String> {
    found(text)
        .iter()
        .map(|f| f.account.canonical_key())
        .collect()
}

const UK: &str = "uk:202959:63748472";

#[test]
fn bank_patterns_compile() {
    assert!(LABELS.is_some());
    assert!(DASHED_RE.is_some());
}

#[test]
fn extracts_sort_code_and_account_on_one_line() {
    assert_eq!(keys("Sort code: 20-29-59  Account: 63748472"), [UK]);
}

#[test]
fn extracts_compact_sort_code_with_acc_no_label() {
    assert_eq!(keys("Sort Code 202959 Acc No 63748472"), [UK]);
}

#[test]
fn extracts_s_c_and_a_c_abbreviations() {
    assert_eq!(keys("S/C 20 29 59, A/C 63748472"), [UK]);
    assert_eq!(keys("A/C No: 63748472 S/C: 20-29-59"), [UK]);
}

#[test]
fn extracts_account_number_written_in_groups() {
    assert_eq!(keys("sort code 20-29-59 account number 6374 8472"), [UK]);
}

#[test]
fn extracts_table_layout_with_rows_between() {
    let text = "Bank | Barclays\nSort code | 20-29-59\nAccount name | Apex Ltd\nAccount number | 63748472\n";
    assert_eq!(keys(text), [UK]);
}

#[test]
fn extracts_labels_with_values_on_the_next_line() {
    assert_eq!(
        keys("Sort code:\n20-29-59\nAccount number:\n63748472"),
        [UK]
    );
}

#[test]
fn extracts_account_written_before_sort_code() {
    assert_eq!(keys("Account No. 63748472\nSort code: 20-29-59"), [UK]);
    assert_eq!(keys("Acct: 63748472 Sort-code: 20-29-59"), [UK]);
    assert_eq!(
        keys("Our account number is 63748472, sort code is 20-29-59."),
        [UK]
    );
}

#[test]
fn extracts_combined_sort_code_and_account_label() {
    assert_eq!(keys("Sort code / Account: 20-29-59 / 63748472"), [UK]);
    assert_eq!(keys("Sort Code & Account Number: 20-29-59 63748472"), [UK]);
    assert_eq!(keys("Account: 20-29-59 63748472"), [UK]);
}

#[test]
fn standardises_six_seven_nine_and_ten_digit_accounts() {
    assert_eq!(
        keys("Sort code 20-29-59 Account 123456"),
        ["uk:202959:00123456"]
    );
    assert_eq!(
        keys("Sort code 20-29-59 Account 1234567"),
        ["uk:202959:01234567"]
    );
    assert_eq!(
        keys("Sort code 09-01-26 Account 123456789"),
        ["uk:090121:23456789"]
    );
    assert_eq!(
        keys("Sort code 60-16-13 Account 0131926819"),
        ["uk:601613:31926819"]
    );
}

#[test]
fn pairs_each_sort_code_with_its_closest_account() {
    let text = "Old details: Sort code 11-22-33 Account 11112222\n\
                New details: Sort code 20-29-59 Account 63748472\n";
    assert_eq!(keys(text), ["uk:112233:11112222", UK]);
}

#[test]
fn accepts_unlabelled_dashed_sort_code_next_to_account_label() {
    assert_eq!(keys("Barclays 20-29-59\nAccount: 63748472"), [UK]);
}

#[test]
fn ignores_plain_six_digit_numbers_without_sort_code_label() {
    assert!(keys("Ref 202959 Account: 63748472").is_empty());
    assert!(keys("Barclays 20-29-59, see attached.").is_empty());
}

#[test]
fn ignores_a_half_without_the_other() {
    assert!(keys("Sort code: 20-29-59").is_empty());
    assert!(keys("Account number: 63748472").is_empty());
}

#[test]
fn ignores_accounts_too_far_from_the_sort_code() {
    let text = format!(
        "Sort code: 20-29-59\n{}Account: 63748472",
        "line\n".repeat(6)
    );
    assert!(keys(&text).is_empty());
}

#[test]
fn ignores_phone_numbers_dates_and_amounts_as_accounts() {
    assert!(keys("Sort code 20-29-59. Call +44 20 7946 0958 or 020 7946 0958").is_empty());
    assert!(keys("Sort code 20-29-59 Account: 01/12/2026").is_empty());
    assert!(keys("Sort code 20-29-59 Account: £4,860.00").is_empty());
    assert!(keys("Sort code: 20-29-59\nInvoice No: 12345678\nOrder 87654321").is_empty());
    assert!(keys("Sort code: SW1A 1AA Account: EC1A 1BB").is_empty());
}

#[test]
fn ignores_accounts_payable_and_customer_account_numbers() {
    assert!(keys("Sort code 20-29-59. Accounts: 020 7946 0958").is_empty());
    assert!(keys("Sort code 20-29-59\nYour account number: 63748472").is_empty());
    assert!(keys("Account name: Apex 2000 Ltd\nSort code 20-29-59").is_empty());
}

#[test]
fn never_reports_a_vat_number_as_an_account() {
    assert!(keys("Sort code: 20-29-59\nVAT Reg No: 980780684").is_empty());
    assert!(keys("Sort code: 20-29-59 Account: 980780684\nVAT No: 980 7806 84").is_empty());
}

#[test]
fn dashed_date_is_not_a_sort_code() {
    assert!(keys("Date: 01-12-26\nAccount: 63748472").is_empty());
}

#[test]
fn extracts_spaced_compact_and_lower_case_ibans() {
    let gb = "uk:601613:31926819";
    assert_eq!(keys("IBAN: GB29 NWBK 6016 1331 9268 19"), [gb]);
    assert_eq!(keys("pay to gb29nwbk60161331926819 today"), [gb]);
    assert_eq!(
        keys("DE89 3704 0044 0532 0130 00"),
        ["iban:DE89370400440532013000"]
    );
}

#[test]
fn iban_with_wrong_check_digits_is_returned_as_invalid() {
    let f = found("IBAN GB28 NWBK 6016 1331 9268 19");
    assert_eq!(f.len(), 1);
    assert_eq!(f.first().map(|a| a.valid), Some(Some(false)));
    let ok = found("IBAN GB29 NWBK 6016 1331 9268 19");
    assert_eq!(ok.first().map(|a| a.valid), Some(Some(true)));
}

#[test]
fn ignores_iban_like_tokens_with_wrong_country_length_or_format() {
    assert!(keys("XX29 NWBK 6016 1331 9268 19").is_empty());
    assert!(keys("GB29 NWBK 6016 1331 9268 1").is_empty());
    assert!(keys("GB29 NWBK 6016 1331 9268 190").is_empty());
    assert!(keys("GB29 1234 6016 1331 9268 19").is_empty());
    assert!(keys("ab12 cdef ghij klmn").is_empty());
}

#[test]
fn cuts_an_iban_before_a_following_word() {
    assert_eq!(
        keys("IBAN BE68 5390 0754 7034 Bank of Brussels"),
        ["iban:BE68539007547034"]
    );
}

#[test]
fn finds_two_ibans_separated_by_one_space() {
    assert_eq!(
        keys("gb29nwbk60161331926819 DE89370400440532013000"),
        ["uk:601613:31926819", "iban:DE89370400440532013000"]
    );
}

#[test]
fn attaches_bic_next_to_iban() {
    for text in [
        "IBAN: GB29 NWBK 6016 1331 9268 19\nBIC: NWBKGB2L",
        "SWIFT code: nwbkgb2l IBAN GB29NWBK60161331926819",
        "IBAN GB29 NWBK 6016 1331 9268 19 (SWIFT/BIC NWBKGB2L)",
    ] {
        let f = found(text);
        let bic = match f.first().map(|a| &a.account) {
            Some(BankAccount::Iban { bic, .. }) => bic.as_ref().map(|b| b.as_str().to_owned()),
            _ => None,
        };
        assert_eq!(bic.as_deref(), Some("NWBKGB2L"), "{text}");
    }
}

#[test]
fn ignores_invalid_bic() {
    let f = found("IBAN: GB29 NWBK 6016 1331 9268 19\nBIC: MULTIPLE");
    assert!(matches!(
        f.first().map(|a| &a.account),
        Some(BankAccount::Iban { bic: None, .. })
    ));
}

#[test]
fn gb_iban_and_matching_sort_code_are_one_account() {
    let text = "Sort code 60-16-13 Account 31926819\nIBAN GB29 NWBK 6016 1331 9268 19";
    assert_eq!(keys(text), ["uk:601613:31926819"]);
}

#[test]
fn extracts_australian_bsb_and_account() {
    let f = found("BSB: 062-000  Account: 1234 5678");
    assert_eq!(f.len(), 1);
    assert_eq!(
        f.first().map(|a| a.account.canonical_key()).as_deref(),
        Some("au:062000:12345678")
    );
    assert_eq!(f.first().map(|a| a.valid), Some(None));
    assert_eq!(keys("BSB 062000 Acc 12345678"), ["au:062000:12345678"]);
    assert_eq!(keys("BSB/Account: 062-000 / 1234"), ["au:062000:1234"]);
}

#[test]
fn extracts_us_routing_and_account() {
    let f = found("Routing number: 021000021  Account: 123456789012");
    assert_eq!(
        f.first().map(|a| a.account.canonical_key()).as_deref(),
        Some("us:021000021:123456789012")
    );
    assert_eq!(f.first().map(|a| a.valid), Some(Some(true)));
    for text in [
        "ABA: 021000021\nAccount #: 123456789012",
        "RTN 021000021 Acct 123456789012",
        "ACH routing: 021000021, account number 123456789012",
        "Routing (ABA): 021000021 Account No. 1234 5678 9012",
    ] {
        assert_eq!(keys(text), ["us:021000021:123456789012"], "{text}");
    }
}

#[test]
fn us_routing_with_bad_checksum_is_invalid() {
    let f = found("ABA 021000022 Account 1234567");
    assert_eq!(f.first().map(|a| a.valid), Some(Some(false)));
}

#[test]
fn keeps_location_and_deduplicates_repeats() {
    let text = "Sort code 20-29-59 Account 63748472\n...\nSort code: 20 29 59 A/C: 63748472";
    let hits = scan::keyword_hits(text);
    let tax = super::super::tax::extract(text, &hits);
    let loc = Location::Attachment("inv.pdf".to_owned());
    let f = extract(text, &hits, &loc, &ExtractContext::default(), &tax);
    assert_eq!(f.len(), 1);
    assert_eq!(f.first().map(|a| a.location.clone()), Some(loc));
}

#[test]
fn uk_validity_uses_modulus_tables_when_given() {
    let Some(dir) = sentra_domain::testdata::shared_data_dir() else {
        eprintln!("skipping: shared test data folder not found");
        return;
    };
    let Ok(tables) = ModulusTables::load_dir(&dir.join("vocalink")) else {
        eprintln!(
            "skipping: vocalink tables not loadable from {}",
            dir.display()
        );
        return;
    };
    let ctx = ExtractContext {
        modulus: Some(&tables),
        ..ExtractContext::default()
    };
    let run = |text: &str| {
        extract(
            text,
            &scan::keyword_hits(text),
            &Location::Body,
            &ctx,
            &TaxFound::default(),
        )
        .first()
        .map(|a| a.valid)
    };
    assert_eq!(run("Sort code 20-29-59 Account 63748472"), Some(Some(true)));
    assert_eq!(
        run("Sort code 93-80-63 Account 15764273"),
        Some(Some(false))
    );
    assert_eq!(
        found("Sort code 20-29-59 Account 63748472")
            .first()
            .map(|a| a.valid),
        Some(None)
    );
}

#[test]
fn repeated_iban_with_bic_completes_the_first_mention() {
    let text = "Pay to GB29 NWBK 6016 1331 9268 19.\n\n\n\n\n\n\nIBAN GB29 NWBK 6016 1331 9268 19 BIC NWBKGB2L";
    let f = found(text);
    assert_eq!(f.len(), 1);
    assert!(matches!(
        f.first().map(|a| &a.account),
        Some(BankAccount::Iban { bic: Some(_), .. })
    ));
}

#[test]
fn reads_irregularly_grouped_ibans_after_a_label() {
    assert_eq!(keys("IBAN: NO 93 8601 1117 947"), ["iban:NO9386011117947"]);
    assert_eq!(
        keys("Our IBAN no. ES91-2100-0418-4502-0005-1332 (new)"),
        ["iban:ES9121000418450200051332"]
    );
    assert_eq!(
        keys("iban DE89.3704.0044.0532.0130.00"),
        ["iban:DE89370400440532013000"]
    );
}

#[test]
fn loose_grouping_needs_the_label_and_valid_check_digits() {
    // Without the label a loose run is not read as an IBAN.
    assert!(keys("Ref NO 93 8601 1117 947").is_empty());
    // With the label but wrong check digits: not read loosely.
    assert!(keys("IBAN: NO 94 8601 1117 947").is_empty());
    // A label glued into another word is not a label.
    assert!(keys("LIBAN: NO 93 8601 1117 947").is_empty());
    // Hostile input: labels with nothing after them never panic.
    for text in [
        "IBAN",
        "iban:",
        "IBAN no",
        "IBAN: GB",
        "IBAN - \u{a0}",
        "ibaniban",
    ] {
        let _ = keys(text);
    }
}
