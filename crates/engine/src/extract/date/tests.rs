use super::*;
use time::macros::date;

fn extract(text: &str, ctx: &ExtractContext<'_>) -> Vec<Date> {
    super::extract(text, &scan::keyword_hits(text), ctx)
}

fn due(text: &str) -> Vec<Date> {
    extract(text, &ExtractContext::default())
}

fn due_with_reference(text: &str, reference: Date) -> Vec<Date> {
    let ctx = ExtractContext {
        reference_date: Some(reference),
        ..ExtractContext::default()
    };
    extract(text, &ctx)
}

#[test]
fn date_patterns_compile() {
    assert!(TERMS_RE.is_some() && DUE_LABEL_RE.is_some());
    assert!(DATE_RE.is_some());
}

#[test]
fn extracts_due_date_written_in_words() {
    assert_eq!(due("Due date: 1 December 2026"), [date!(2026 - 12 - 01)]);
    assert_eq!(due("Due 1st Dec 2026"), [date!(2026 - 12 - 01)]);
    assert_eq!(
        due("Payment due on the 3rd of March, 2027"),
        [date!(2027 - 03 - 03)]
    );
    assert_eq!(due("due: December 1, 2026"), [date!(2026 - 12 - 01)]);
    assert_eq!(due("DUE DATE 15-Jan-2027"), [date!(2027 - 01 - 15)]);
}

#[test]
fn numeric_due_dates_are_day_first() {
    assert_eq!(due("Payment due: 01/12/2026"), [date!(2026 - 12 - 01)]);
    assert_eq!(due("Due date: 12/01/2026"), [date!(2026 - 01 - 12)]);
    assert_eq!(due("Due date: 12.01.26"), [date!(2026 - 01 - 12)]);
}

#[test]
fn numeric_due_date_that_cannot_be_day_first_is_read_month_first() {
    assert_eq!(due("Due date: 12/25/2026"), [date!(2026 - 12 - 25)]);
}

#[test]
fn numeric_due_dates_are_month_first_for_us_dollar_suppliers() {
    let ctx = ExtractContext {
        default_currency: Some(Currency::USD),
        ..ExtractContext::default()
    };
    assert_eq!(
        extract("Due date: 12/01/2026", &ctx),
        [date!(2026 - 12 - 01)]
    );
}

#[test]
fn extracts_iso_due_date() {
    assert_eq!(
        due("payment is due by 2026-12-01."),
        [date!(2026 - 12 - 01)]
    );
    assert_eq!(due("Pay by 2026/12/01"), [date!(2026 - 12 - 01)]);
}

#[test]
fn extracts_date_after_please_pay_amount() {
    assert_eq!(
        due("Please pay £4,860.00 by 1 December 2026. Thanks"),
        [date!(2026 - 12 - 01)]
    );
}

#[test]
fn extracts_due_date_from_the_next_line_in_tables() {
    assert_eq!(due("Due date |\n| 01/12/2026 |"), [date!(2026 - 12 - 01)]);
}

#[test]
fn ignores_invoice_and_other_unlabelled_dates() {
    assert!(due("Invoice date: 01/11/2026").is_empty());
    assert!(due("Sent on 1 December 2026").is_empty());
    assert!(due("Due: see invoice dated 1 Nov 2026").is_empty());
    assert!(due("Delivered 2026-12-01, order 4411").is_empty());
}

#[test]
fn keeps_only_the_due_date_when_both_are_on_one_line() {
    assert_eq!(
        due("Invoice date: 01/11/2026   Due date: 01/12/2026"),
        [date!(2026 - 12 - 01)]
    );
}

#[test]
fn ignores_impossible_dates() {
    assert!(due("Due date: 31/02/2026").is_empty());
    assert!(due("Due date: 2026-13-01").is_empty());
    assert!(due("Due date: 1 Dec 1066").is_empty());
    assert!(due("Due date: 01/12-2026").is_empty());
}

#[test]
fn due_to_explains_rather_than_dates() {
    assert!(due("Late due to the holiday on 25 December 2026").is_empty());
    assert_eq!(due("due to be paid by 1 Dec 2026"), [date!(2026 - 12 - 01)]);
}

#[test]
fn payment_terms_count_from_the_reference_date() {
    let reference = date!(2026 - 11 - 01);
    assert_eq!(
        due_with_reference("Payment terms: 30 days", reference),
        [date!(2026 - 12 - 01)]
    );
    assert_eq!(
        due_with_reference("This invoice is payable within 14 days.", reference),
        [date!(2026 - 11 - 15)]
    );
    assert_eq!(
        due_with_reference("Terms: Net 30", reference),
        [date!(2026 - 12 - 01)]
    );
    assert_eq!(
        due_with_reference("Please pay within 7 days", reference),
        [date!(2026 - 11 - 08)]
    );
}

#[test]
fn payment_terms_need_a_reference_date() {
    assert!(due("Payment terms: 30 days").is_empty());
}

#[test]
fn net_amount_is_not_net_terms() {
    let reference = date!(2026 - 11 - 01);
    assert!(due_with_reference("Net 4,050.00", reference).is_empty());
    assert!(due_with_reference("Net: 4.050,00", reference).is_empty());
}

#[test]
fn day_and_month_without_year_use_the_reference_year() {
    let reference = date!(2026 - 11 - 20);
    assert_eq!(
        due_with_reference("Due 1st Dec", reference),
        [date!(2026 - 12 - 01)]
    );
    assert_eq!(
        due_with_reference("Due 5 Jan", reference),
        [date!(2027 - 01 - 05)]
    );
    assert!(due("Due 1st Dec").is_empty());
}

#[test]
fn explicit_date_and_terms_are_both_kept_in_order() {
    let reference = date!(2026 - 11 - 01);
    assert_eq!(
        due_with_reference(
            "Terms: 14 days\nDue date: 1 December 2026\nDue: 01/12/2026",
            reference
        ),
        [date!(2026 - 11 - 15), date!(2026 - 12 - 01)]
    );
}
