//! Classification of a message into the contract's categories, from features a
//! person can check: what the subject and text say, what the attachments are
//! called, and which payment facts were extracted. Every decision comes with
//! the reasons behind it.
//!
//! Phrase lists are matched with one Aho-Corasick automaton (case-insensitive,
//! whole words), so classification costs one pass over the text.

use crate::extract::Facts;
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use sentra_domain::Category;
use std::sync::LazyLock;

/// What a phrase is evidence of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cue {
    Invoice,
    Statement,
    Remittance,
    Quote,
    PaymentRequest,
    /// Asks to change or use new bank details.
    ChangeRequest,
    /// Urgency, secrecy or pressure.
    Urgency,
    /// Marketing and newsletters.
    Marketing,
}

/// (phrase, cue). Phrases are lower-case; matching ignores ASCII case.
const PHRASES: &[(&str, Cue)] = &[
    ("invoice", Cue::Invoice),
    ("tax invoice", Cue::Invoice),
    ("vat invoice", Cue::Invoice),
    ("invoice attached", Cue::Invoice),
    ("please find attached invoice", Cue::Invoice),
    ("amount due", Cue::Invoice),
    ("balance due", Cue::Invoice),
    ("payment due", Cue::Invoice),
    ("due date", Cue::Invoice),
    ("payment terms", Cue::Invoice),
    ("application for payment", Cue::Invoice),
    ("valuation", Cue::Invoice),
    ("bill", Cue::Invoice),
    ("statement", Cue::Statement),
    ("statement of account", Cue::Statement),
    ("account statement", Cue::Statement),
    ("monthly statement", Cue::Statement),
    ("opening balance", Cue::Statement),
    ("closing balance", Cue::Statement),
    ("aged balance", Cue::Statement),
    ("remittance", Cue::Remittance),
    ("remittance advice", Cue::Remittance),
    ("payment advice", Cue::Remittance),
    ("payment notification", Cue::Remittance),
    ("we have paid", Cue::Remittance),
    ("has been paid", Cue::Remittance),
    ("have been paid", Cue::Remittance),
    ("payment has been made", Cue::Remittance),
    ("payment has been sent", Cue::Remittance),
    ("payment was made", Cue::Remittance),
    ("paid today", Cue::Remittance),
    ("quote", Cue::Quote),
    ("quotation", Cue::Quote),
    ("estimate", Cue::Quote),
    ("purchase order", Cue::Quote),
    ("order confirmation", Cue::Quote),
    ("po number", Cue::Quote),
    ("tender", Cue::Quote),
    ("please pay", Cue::PaymentRequest),
    ("payment reminder", Cue::PaymentRequest),
    ("reminder", Cue::PaymentRequest),
    ("is now due", Cue::PaymentRequest),
    ("now overdue", Cue::PaymentRequest),
    ("payment link", Cue::PaymentRequest),
    ("payment portal", Cue::PaymentRequest),
    ("pay securely", Cue::PaymentRequest),
    ("pay online", Cue::PaymentRequest),
    ("please arrange payment", Cue::PaymentRequest),
    ("payment request", Cue::PaymentRequest),
    ("request for payment", Cue::PaymentRequest),
    ("make a payment", Cue::PaymentRequest),
    ("make payment", Cue::PaymentRequest),
    ("process a payment", Cue::PaymentRequest),
    ("process the payment", Cue::PaymentRequest),
    ("bank transfer", Cue::PaymentRequest),
    ("wire transfer", Cue::PaymentRequest),
    ("faster payment", Cue::PaymentRequest),
    ("transfer the funds", Cue::PaymentRequest),
    ("outstanding balance", Cue::PaymentRequest),
    ("outstanding invoice", Cue::PaymentRequest),
    ("overdue", Cue::PaymentRequest),
    ("settle", Cue::PaymentRequest),
    ("gift cards", Cue::PaymentRequest),
    ("gift card", Cue::PaymentRequest),
    ("new bank details", Cue::ChangeRequest),
    ("new banking details", Cue::ChangeRequest),
    ("new account details", Cue::ChangeRequest),
    ("new bank account", Cue::ChangeRequest),
    ("updated bank details", Cue::ChangeRequest),
    ("updated banking details", Cue::ChangeRequest),
    ("updated account details", Cue::ChangeRequest),
    ("update our bank details", Cue::ChangeRequest),
    ("update your records", Cue::ChangeRequest),
    ("change of bank", Cue::ChangeRequest),
    ("change of bank details", Cue::ChangeRequest),
    ("change in bank details", Cue::ChangeRequest),
    ("change of account details", Cue::ChangeRequest),
    ("changed our bank", Cue::ChangeRequest),
    ("changed banks", Cue::ChangeRequest),
    ("changed bank", Cue::ChangeRequest),
    ("bank details have changed", Cue::ChangeRequest),
    ("banking details have changed", Cue::ChangeRequest),
    ("account details have changed", Cue::ChangeRequest),
    ("bank details have been updated", Cue::ChangeRequest),
    ("moved our banking", Cue::ChangeRequest),
    ("switched banks", Cue::ChangeRequest),
    ("new remittance details", Cue::ChangeRequest),
    ("please use the following account", Cue::ChangeRequest),
    ("please use the account below", Cue::ChangeRequest),
    ("pay into our new account", Cue::ChangeRequest),
    ("payments to our new account", Cue::ChangeRequest),
    ("do not pay into the old account", Cue::ChangeRequest),
    ("old account is no longer", Cue::ChangeRequest),
    ("account is under audit", Cue::ChangeRequest),
    ("urgent", Cue::Urgency),
    ("urgently", Cue::Urgency),
    ("immediately", Cue::Urgency),
    ("asap", Cue::Urgency),
    ("as soon as possible", Cue::Urgency),
    ("today without fail", Cue::Urgency),
    ("by end of day", Cue::Urgency),
    ("by close of business", Cue::Urgency),
    ("before close of business", Cue::Urgency),
    ("time sensitive", Cue::Urgency),
    ("time-sensitive", Cue::Urgency),
    ("final notice", Cue::Urgency),
    ("final demand", Cue::Urgency),
    ("legal action", Cue::Urgency),
    // Not bare "confidential": every email disclaimer says it.
    ("strictly confidential", Cue::Urgency),
    ("keep this confidential", Cue::Urgency),
    ("keep it confidential", Cue::Urgency),
    ("confidential matter", Cue::Urgency),
    ("confidential acquisition", Cue::Urgency),
    ("keep this between us", Cue::Urgency),
    ("keep this to yourself", Cue::Urgency),
    ("do not discuss", Cue::Urgency),
    ("don't discuss", Cue::Urgency),
    ("don't tell", Cue::Urgency),
    ("do not call", Cue::Urgency),
    ("i'm in a meeting", Cue::Urgency),
    ("i am in a meeting", Cue::Urgency),
    ("can't talk", Cue::Urgency),
    ("only by email", Cue::Urgency),
    ("are you at your desk", Cue::Urgency),
    ("unsubscribe", Cue::Marketing),
    ("view in browser", Cue::Marketing),
    ("view this email in your browser", Cue::Marketing),
    ("newsletter", Cue::Marketing),
    ("webinar", Cue::Marketing),
    ("special offer", Cue::Marketing),
    ("limited time offer", Cue::Marketing),
    ("% off", Cue::Marketing),
    ("shop now", Cue::Marketing),
    ("register now", Cue::Marketing),
    ("book your place", Cue::Marketing),
    ("free trial", Cue::Marketing),
    ("manage your preferences", Cue::Marketing),
    ("promotion", Cue::Marketing),
];

static AUTOMATON: LazyLock<Option<AhoCorasick>> = LazyLock::new(|| {
    AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::LeftmostLongest)
        .build(PHRASES.iter().map(|(p, _)| p))
        .ok()
});

/// A phrase found in the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hit {
    pub cue: Cue,
    pub phrase: &'static str,
    pub in_subject: bool,
}

/// Whole-word phrase hits in `text` (a trailing plural `s` still counts as whole).
pub(crate) fn hits(text: &str, in_subject: bool, out: &mut Vec<Hit>) {
    let Some(ac) = AUTOMATON.as_ref() else { return };
    let bytes = text.as_bytes();
    for m in ac.find_iter(text) {
        let before = m.start().checked_sub(1).and_then(|i| bytes.get(i));
        let mut end = m.end();
        if bytes.get(end).is_some_and(|b| *b == b's' || *b == b'S') {
            end += 1;
        }
        let after = bytes.get(end);
        let boundary = |b: Option<&u8>| b.is_none_or(|b| !b.is_ascii_alphanumeric());
        let Some((phrase, cue)) = PHRASES.get(m.pattern().as_usize()) else {
            continue;
        };
        // "% off" starts with a symbol; its left side needs no word boundary.
        if (boundary(before) || phrase.starts_with('%')) && boundary(after) {
            out.push(Hit {
                cue: *cue,
                phrase,
                in_subject,
            });
        }
    }
}

/// The category and the reasons for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Classification {
    pub category: Category,
    pub reasons: Vec<String>,
}

/// Decides the category from phrase hits, attachment names and extracted facts.
pub(crate) fn classify(
    hits: &[Hit],
    facts: &Facts,
    attachment_names: &[&str],
    bulk: bool,
) -> Classification {
    let mut reasons = Vec::new();
    let count = |cue: Cue| {
        hits.iter()
            .filter(|h| h.cue == cue)
            .map(|h| if h.in_subject { 3 } else { 1 })
            .sum::<i32>()
    };
    let first = |cue: Cue| hits.iter().find(|h| h.cue == cue).map(|h| h.phrase);
    let marketing = count(Cue::Marketing);
    let concrete = !facts.bank_accounts.is_empty() || !facts.invoice_numbers.is_empty();

    if count(Cue::ChangeRequest) > 0 {
        if let Some(p) = first(Cue::ChangeRequest) {
            reasons.push(format!("it says “{p}”"));
        }
        return Classification {
            category: Category::BankDetailsChange,
            reasons,
        };
    }
    if (bulk || marketing >= 2) && !concrete {
        reasons.push(if bulk {
            "it is bulk mail (it has an unsubscribe header)".to_owned()
        } else {
            "it reads like marketing".to_owned()
        });
        reasons.push("it has no invoice number or bank details".to_owned());
        return Classification {
            category: Category::NotPaymentRelated,
            reasons,
        };
    }

    let attachment_says = |words: &[&str]| {
        attachment_names.iter().any(|n| {
            let n = n.to_ascii_lowercase();
            words.iter().any(|w| n.contains(w))
        })
    };
    let mut scores = [
        (
            Category::Remittance,
            count(Cue::Remittance) * 2 + i32::from(attachment_says(&["remittance"])) * 3,
        ),
        (
            Category::Statement,
            count(Cue::Statement) * 2 + i32::from(attachment_says(&["statement"])) * 3,
        ),
        (
            Category::QuoteOrOrder,
            count(Cue::Quote) * 2
                + i32::from(attachment_says(&[
                    "quote",
                    "quotation",
                    "estimate",
                    "purchase order",
                ])) * 3,
        ),
        (
            Category::Invoice,
            count(Cue::Invoice)
                + i32::from(!facts.invoice_numbers.is_empty()) * 2
                + i32::from(facts.amounts.iter().any(|a| a.total))
                + i32::from(!facts.due_dates.is_empty())
                + i32::from(attachment_says(&["invoice", "inv-", "inv_", "inv "])) * 3,
        ),
        (
            Category::PaymentRequest,
            count(Cue::PaymentRequest) * 2 + i32::from(!facts.bank_accounts.is_empty()) * 2,
        ),
    ];
    // Stable sort keeps the tie-break order above: a remittance that quotes an
    // invoice number is still a remittance.
    scores.sort_by_key(|(_, s)| std::cmp::Reverse(*s));
    let (category, score) = scores
        .first()
        .copied()
        .unwrap_or((Category::NotPaymentRelated, 0));
    if score < 2 {
        reasons.push("nothing in it is about paying or being paid".to_owned());
        return Classification {
            category: Category::NotPaymentRelated,
            reasons,
        };
    }
    let cue = match category {
        Category::Remittance => Cue::Remittance,
        Category::Statement => Cue::Statement,
        Category::QuoteOrOrder => Cue::Quote,
        Category::Invoice => Cue::Invoice,
        _ => Cue::PaymentRequest,
    };
    if let Some(h) = hits.iter().find(|h| h.cue == cue) {
        reasons.push(if h.in_subject {
            format!("the subject says “{}”", h.phrase)
        } else {
            format!("the text says “{}”", h.phrase)
        });
    }
    if let Some(n) = facts.invoice_numbers.first() {
        reasons.push(format!("invoice number {n}"));
    }
    if let Some(a) = facts.amounts.first() {
        reasons.push(format!(
            "{} {}",
            if a.total {
                "a total of"
            } else {
                "an amount of"
            },
            a.money
        ));
    }
    if let Some(d) = facts.due_dates.first() {
        reasons.push(format!("due {d}"));
    }
    if let Some(name) = attachment_names.first() {
        reasons.push(format!("attachment {}", crate::message::display_safe(name)));
    }
    if !facts.bank_accounts.is_empty() {
        reasons.push("it gives bank details".to_owned());
    }
    Classification { category, reasons }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify_text(subject: &str, body: &str, bulk: bool) -> Category {
        let mut h = Vec::new();
        hits(subject, true, &mut h);
        hits(body, false, &mut h);
        classify(&h, &Facts::default(), &[], bulk).category
    }

    #[test]
    fn categories_follow_the_strongest_cues() {
        assert_eq!(
            classify_text(
                "Invoice for October works",
                "Please find attached our invoice. Payment terms 30 days.",
                false
            ),
            Category::Invoice
        );
        assert_eq!(
            classify_text(
                "Remittance advice",
                "We have paid invoice 1234 today.",
                false
            ),
            Category::Remittance
        );
        assert_eq!(
            classify_text(
                "Statement of account - October",
                "Please see your statement.",
                false
            ),
            Category::Statement
        );
        assert_eq!(
            classify_text("Quotation Q-881", "Our quote for the scaffold hire.", false),
            Category::QuoteOrOrder
        );
        assert_eq!(
            classify_text(
                "Important",
                "Please note our new bank details below.",
                false
            ),
            Category::BankDetailsChange
        );
        assert_eq!(
            classify_text(
                "Quick favour",
                "Please make a payment today, I'm in a meeting.",
                false
            ),
            Category::PaymentRequest
        );
        assert_eq!(
            classify_text("Site visit Tuesday", "See you at 9.", false),
            Category::NotPaymentRelated
        );
    }

    #[test]
    fn marketing_that_mentions_invoices_is_not_payment_related() {
        let body = "Tired of chasing invoices? Try our invoicing app. Free trial! Unsubscribe | View in browser";
        assert_eq!(
            classify_text("Get paid faster with SmartInvoice", body, true),
            Category::NotPaymentRelated
        );
        assert_eq!(
            classify_text(
                "Newsletter",
                "Webinar: invoice tips. 20% off. Unsubscribe.",
                false
            ),
            Category::NotPaymentRelated
        );
    }

    #[test]
    fn phrases_match_whole_words_only() {
        let mut h = Vec::new();
        hits("billing quotes invoices settlement", false, &mut h);
        let phrases: Vec<&str> = h.iter().map(|h| h.phrase).collect();
        assert_eq!(phrases, ["quote", "invoice"]);
    }
}
