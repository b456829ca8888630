use super::*;

fn ctx() -> ExtractContext<'static> {
    ExtractContext::default()
}

fn amounts_with(text: &str, ctx: &ExtractContext<'_>) -> Vec<(String, bool)> {
    extract(text, &scan::keyword_hits(text), ctx)
        .into_iter()
        .map(|a| (a.money.to_string(), a.total))
        .collect()
}

fn amounts(text: &str) -> Vec<(String, bool)> {
    amounts_with(text, &ctx())
}

fn one(text: &str) -> String {
    let found = amounts(text);
    assert_eq!(found.len(), 1, "{text}: {found:?}");
    found.into_iter().next().map(|(m, _)| m).unwrap_or_default()
}

#[test]
fn amount_patterns_compile() {
    assert!(BARE_TOTAL_RE.is_some());
    assert!(LABEL_AC.is_some());
}

#[test]
fn parses_pound_amounts_with_and_without_thousands() {
    assert_eq!(one("£4,860.00"), "GBP 4860.00");
    assert_eq!(one("£4860"), "GBP 4860.00");
    assert_eq!(one("£ 4860.5"), "GBP 4860.50");
    assert_eq!(one("GBP4860.00"), "GBP 4860.00");
    assert_eq!(one("1,234.56 GBP"), "GBP 1234.56");
    assert_eq!(one("4,860.00GBP"), "GBP 4860.00");
    assert!(amounts("XGBP 50, EURO 50, gbp 50").is_empty());
}

#[test]
fn parses_european_format_euro_amounts() {
    assert_eq!(one("€12.450,00"), "EUR 12450.00");
    assert_eq!(one("EUR 12.450,00"), "EUR 12450.00");
    assert_eq!(one("Betrag 12.450,00 €"), "EUR 12450.00");
    assert_eq!(one("€1.234"), "EUR 1234.00");
    assert_eq!(one("€12,50"), "EUR 12.50");
    assert_eq!(one("€12\u{a0}450,00"), "EUR 12450.00");
}

#[test]
fn parses_dollar_variants() {
    assert_eq!(one("$1,234.56"), "USD 1234.56");
    assert_eq!(one("USD 1,234.56"), "USD 1234.56");
    assert_eq!(one("US$1,234.56"), "USD 1234.56");
    assert_eq!(one("AUD 3,300.00"), "AUD 3300.00");
    assert_eq!(one("A$3,300"), "AUD 3300.00");
    assert_eq!(one("AU$3,300"), "AUD 3300.00");
    assert_eq!(one("NZ$99.90"), "NZD 99.90");
}

#[test]
fn bare_dollar_follows_the_suppliers_dollar_currency() {
    let au = ExtractContext {
        default_currency: Some(Currency::AUD),
        ..ExtractContext::default()
    };
    assert_eq!(
        amounts_with("$3,300.00", &au),
        [("AUD 3300.00".to_owned(), false)]
    );
    let uk = ExtractContext {
        default_currency: Some(Currency::GBP),
        ..ExtractContext::default()
    };
    assert_eq!(
        amounts_with("$3,300.00", &uk),
        [("USD 3300.00".to_owned(), false)]
    );
}

#[test]
fn reads_a_currency_code_separated_from_its_number_by_column_padding() {
    assert_eq!(
        one("Invoice total                                   GBP     1,236.40"),
        "GBP 1236.40"
    );
}

#[test]
fn parses_negative_and_credit_amounts() {
    assert_eq!(one("Credit: -£50.00"), "GBP -50.00");
    assert_eq!(one("£-50.00"), "GBP -50.00");
    assert_eq!(one("Refund (-£50.00)"), "GBP -50.00");
    // Brackets in prose are not accounting negatives.
    assert_eq!(
        one("Invoice PPH-10488 (£4,344.00) is now due"),
        "GBP 4344.00"
    );
    assert_eq!(one("-50.00 EUR"), "EUR -50.00");
}

#[test]
fn range_dash_is_not_a_minus_sign() {
    assert_eq!(
        amounts("between £50-£100"),
        [
            ("GBP 50.00".to_owned(), false),
            ("GBP 100.00".to_owned(), false)
        ]
    );
}

#[test]
fn marks_labelled_totals_and_puts_them_first() {
    let text = "Subtotal: £4,050.00\nVAT @ 20%: £810.00\nTotal due: £4,860.00\n";
    assert_eq!(
        amounts(text),
        [
            ("GBP 4860.00".to_owned(), true),
            ("GBP 4050.00".to_owned(), false),
            ("GBP 810.00".to_owned(), false),
        ]
    );
}

#[test]
fn recognises_each_total_label() {
    for label in [
        "Total",
        "Amount due",
        "Balance due",
        "Total due",
        "Amount payable",
        "Grand total",
        "Please pay",
        "Invoice total",
        "TOTAL (inc. VAT)",
        "Amount outstanding",
    ] {
        let text = format!("{label}: £4,860.00");
        assert_eq!(
            amounts(&text),
            [("GBP 4860.00".to_owned(), true)],
            "{label}"
        );
    }
}

#[test]
fn parts_of_a_total_are_not_the_total() {
    for label in [
        "Subtotal",
        "Sub-total",
        "Total VAT",
        "VAT total",
        "Total excl. VAT",
        "Net total",
        "Total paid",
        "Amount",
        "Deposit",
    ] {
        let text = format!("{label}: £4,860.00");
        assert_eq!(
            amounts(&text),
            [("GBP 4860.00".to_owned(), false)],
            "{label}"
        );
    }
}

#[test]
fn total_label_on_the_line_above_counts_for_tables() {
    let text = "Description | Amount\nTotal due\n£4,860.00\n";
    assert_eq!(amounts(text), [("GBP 4860.00".to_owned(), true)]);
}

#[test]
fn second_amount_on_a_total_line_is_not_the_total() {
    let text = "Total: £4,860.00 (includes £810.00 VAT)";
    assert_eq!(
        amounts(text),
        [
            ("GBP 4860.00".to_owned(), true),
            ("GBP 810.00".to_owned(), false)
        ]
    );
}

#[test]
fn same_amount_twice_is_listed_once_and_keeps_its_total_mark() {
    let text = "Invoice for £4,860.00.\nAmount due: £4,860.00";
    assert_eq!(amounts(text), [("GBP 4860.00".to_owned(), true)]);
}

#[test]
fn bare_total_uses_default_currency_only_when_labelled() {
    let ctx = ExtractContext {
        default_currency: Some(Currency::GBP),
        ..ExtractContext::default()
    };
    assert_eq!(
        amounts_with("Total: 4,860.00", &ctx),
        [("GBP 4860.00".to_owned(), true)]
    );
    assert!(amounts_with("Price 4,860.00", &ctx).is_empty());
    assert!(amounts_with("Total items: 3", &ctx).is_empty());
    assert!(amounts_with("Total VAT: 810.00", &ctx).is_empty());
    assert!(amounts_with("Total: 4,860.00", &ExtractContext::default()).is_empty());
    // Already read with its own currency: not doubled with the default.
    assert_eq!(
        amounts_with("Total: EUR 4.860,00", &ctx),
        [("EUR 4860.00".to_owned(), true)]
    );
}

#[test]
fn ignores_numbers_without_currency() {
    assert!(amounts("Order 4860 shipped on 01/12/2026, call 020 7946 0958").is_empty());
    assert!(amounts("Total: 4,860.00").is_empty());
}

#[test]
fn ignores_multipliers_percentages_and_malformed_numbers() {
    assert!(amounts("a £5k budget").is_empty());
    assert!(amounts("£5m").is_empty());
    assert!(amounts("$1,234.567").is_empty());
    assert!(amounts("£1,23,4").is_empty());
    assert!(amounts("£99999999999999999999").is_empty());
}

#[test]
fn parse_minor_follows_the_separator_rule() {
    assert_eq!(parse_minor("12.450,00"), Some(1_245_000));
    assert_eq!(parse_minor("1,234.56"), Some(123_456));
    assert_eq!(parse_minor("1.234"), Some(123_400));
    assert_eq!(parse_minor("1,234"), Some(123_400));
    assert_eq!(parse_minor("12,5"), Some(1250));
    assert_eq!(parse_minor("1.234.567"), Some(123_456_700));
    assert_eq!(parse_minor("1.234.567,8"), Some(123_456_780));
    assert_eq!(parse_minor("0.05"), Some(5));
    assert_eq!(parse_minor("1.23.45"), None);
    assert_eq!(parse_minor("1,234.5,6"), None);
    assert_eq!(parse_minor("1234,567"), None);
    assert_eq!(parse_minor(""), None);
}
