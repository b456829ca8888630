//! The analysis pipeline: [`prepare`] (bytes only), [`assess`] (organisation
//! and history), scoring under the product's minimum-level policy, and the
//! recommended action.

use crate::classify::{self, Hit};
use crate::domains::registrable_domain;
use crate::extract::{self, ExtractContext, Facts, Location};
use crate::history::HistoryEntry;
use crate::lookalike::LookalikeIndex;
use crate::message::{self, Mailbox, ParseFailure, ParsedMessage};
use crate::supplier::{Executive, SupplierDirectory, SupplierIdx};
use crate::{History, TextExtractor, signals};
use sentra_domain::bank::ModulusTables;
use sentra_domain::{Category, RiskLevel, SignalCode};
use std::sync::Arc;

/// Who a protected domain belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Owner {
    Supplier(SupplierIdx),
    Org,
}

/// Everything the engine knows about the organisation, as plain data. Built
/// once and shared (read-only) by every analysis.
#[derive(Debug, Default)]
pub struct Context {
    pub(crate) suppliers: SupplierDirectory,
    pub(crate) org_domains: Vec<String>,
    pub(crate) executives: Vec<Executive>,
    pub(crate) modulus: Option<Arc<ModulusTables>>,
    pub(crate) lookalikes: LookalikeIndex,
    pub(crate) lookalike_owners: Vec<Owner>,
}

impl Context {
    /// Builds the context and its lookalike index.
    pub fn new(
        suppliers: SupplierDirectory,
        org_domains: &[String],
        executives: Vec<Executive>,
        modulus: Option<Arc<ModulusTables>>,
    ) -> Self {
        let org_domains: Vec<String> = org_domains
            .iter()
            .map(|d| d.trim().trim_start_matches('@').to_ascii_lowercase())
            .filter(|d| !d.is_empty())
            .map(|d| registrable_domain(&d).unwrap_or(d))
            .collect();
        let mut protected = Vec::new();
        let mut owners = Vec::new();
        for d in &org_domains {
            protected.push(d.clone());
            owners.push(Owner::Org);
        }
        let mut supplier_domains: Vec<(&str, SupplierIdx)> = suppliers.domains().collect();
        supplier_domains.sort_unstable();
        for (d, i) in supplier_domains {
            if !protected.iter().any(|p| p == d) {
                protected.push(d.to_owned());
                owners.push(Owner::Supplier(i));
            }
        }
        Self {
            suppliers,
            org_domains,
            executives,
            modulus,
            lookalikes: LookalikeIndex::new(protected),
            lookalike_owners: owners,
        }
    }

    /// The verified suppliers.
    pub fn suppliers(&self) -> &SupplierDirectory {
        &self.suppliers
    }

    /// The modulus tables, when loaded.
    pub fn modulus(&self) -> Option<&ModulusTables> {
        self.modulus.as_deref()
    }

    pub(crate) fn is_org_domain(&self, registrable: &str) -> bool {
        self.org_domains.iter().any(|d| d == registrable)
    }
}

/// A message after the org-independent work: parsed, text read, facts extracted, classified.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The parsed message, or why it could not be parsed.
    pub message: Result<ParsedMessage, ParseFailure>,
    /// Facts from the body (subject included) and every attachment.
    pub facts: Facts,
    pub(crate) hits: Vec<Hit>,
    pub(crate) classification: classify::Classification,
}

impl Prepared {
    /// The message's date, for ordering a scan.
    pub fn date(&self) -> Option<time::OffsetDateTime> {
        self.message.as_ref().ok().and_then(|m| m.date)
    }
}

/// Parses and extracts; depends only on the bytes (and the modulus tables).
pub fn prepare(raw: &[u8], ctx: &Context, pdf: &dyn TextExtractor) -> Prepared {
    let message = message::parse(raw, pdf);
    let Ok(msg) = &message else {
        let classification = classify::Classification {
            category: Category::Unparseable,
            reasons: Vec::new(),
        };
        return Prepared {
            message,
            facts: Facts::default(),
            hits: Vec::new(),
            classification,
        };
    };
    let ectx = ExtractContext {
        modulus: ctx.modulus(),
        reference_date: msg.date.map(time::OffsetDateTime::date),
        default_currency: None,
    };
    let mut body = String::with_capacity(msg.subject.len() + msg.body_text.len() + 1);
    body.push_str(&msg.subject);
    body.push('\n');
    body.push_str(&msg.body_text);
    let mut facts = extract::extract(&body, &Location::Body, &ectx);
    let mut hits = Vec::new();
    classify::hits(&msg.subject, true, &mut hits);
    classify::hits(&msg.body_text, false, &mut hits);
    for a in &msg.attachments {
        if let Some(Ok(text)) = &a.text {
            facts.merge(extract::extract(
                text,
                &Location::Attachment(a.name.clone()),
                &ectx,
            ));
            classify::hits(text, false, &mut hits);
        }
    }
    let names: Vec<&str> = msg.attachments.iter().map(|a| a.name.as_str()).collect();
    let classification = classify::classify(&hits, &facts, &names, msg.bulk);
    Prepared {
        message,
        facts,
        hits,
        classification,
    }
}

/// How the supplier was recognised (the contract's `supplier.match`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchKind {
    /// The sender's domain is the supplier's.
    Domain,
    /// The sender's address is a known contact.
    Email,
    /// The sender's domain imitates the supplier's.
    LookalikeDomain,
    /// The display name claims the supplier.
    DisplayName,
    /// A verified account of the supplier appears.
    BankAccount,
    /// The supplier is named in the subject or text.
    NameInContent,
}

impl MatchKind {
    /// The contract spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Domain => "domain",
            Self::Email => "email",
            Self::LookalikeDomain => "lookalike_domain",
            Self::DisplayName => "display_name",
            Self::BankAccount => "bank_account",
            Self::NameInContent => "name_in_content",
        }
    }
}

/// One reason for concern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signal {
    /// The contract code.
    pub code: SignalCode,
    /// How serious it is on this message.
    pub severity: RiskLevel,
    /// One line a finance clerk understands.
    pub summary: String,
    /// The facts behind it (account numbers masked).
    pub evidence: Vec<String>,
}

/// The verdict on one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    /// What kind of message it is.
    pub category: Category,
    /// Whether it is about paying someone.
    pub payment_related: bool,
    /// Why it got its category, in words.
    pub explanation: String,
    /// Overall level.
    pub level: RiskLevel,
    /// 0–100, monotone with `level`.
    pub score: u8,
    /// The supplier involved and how it was recognised.
    pub supplier: Option<(SupplierIdx, MatchKind)>,
    /// Signals, most severe first.
    pub signals: Vec<Signal>,
    /// What the clerk should do.
    pub recommended_action: String,
}

/// The sender the message speaks for: the forwarded sender when someone at
/// the organisation forwards a supplier's email, otherwise `From`.
pub(crate) fn effective_sender<'a>(msg: &'a ParsedMessage, ctx: &Context) -> Option<&'a Mailbox> {
    let from = msg.from.as_ref();
    let internal = from
        .and_then(Mailbox::domain)
        .and_then(registrable_domain)
        .is_some_and(|d| ctx.is_org_domain(&d));
    if internal {
        msg.forwarded_from.as_ref().or(from)
    } else {
        from
    }
}

/// Adds organisation knowledge and history to a prepared message.
pub fn assess(p: &Prepared, ctx: &Context, history: &History) -> Assessment {
    let category = p.classification.category;
    let payment_related = category.is_payment_related();
    let explanation = match category {
        Category::Unparseable => "It could not be read as an email.".to_owned(),
        _ if p.classification.reasons.is_empty() => {
            format!("Classified as {}.", category.as_str().replace('_', " "))
        }
        _ => format!(
            "Classified as {} because {}.",
            category.as_str().replace('_', " "),
            join_reasons(&p.classification.reasons)
        ),
    };
    let (supplier, mut signals) = match &p.message {
        Ok(msg) => {
            let supplier = signals::match_supplier(msg, &p.facts, ctx);
            let found = signals::collect(msg, p, ctx, history, supplier, payment_related);
            (supplier, found)
        }
        Err(why) => (
            None,
            vec![Signal {
                code: SignalCode::Unparseable,
                severity: RiskLevel::Low,
                summary: format!("This message could not be read: {why}."),
                evidence: vec![why.to_string()],
            }],
        ),
    };
    signals.sort_by_key(|s| std::cmp::Reverse(s.severity));
    let (level, score) = score(&signals, payment_related);
    let supplier_rec = supplier.and_then(|(i, _)| ctx.suppliers.get(i));
    // When the email borrows one of the organisation's own people, the call
    // that settles it is to that person, not to a supplier.
    let impersonated = signals
        .iter()
        .any(|s| s.code == SignalCode::ExecutiveImpersonation);
    let who = if impersonated {
        p.message
            .as_ref()
            .ok()
            .and_then(|m| m.from.as_ref())
            .and_then(|f| f.name.as_deref())
            .and_then(|n| {
                ctx.executives
                    .iter()
                    .find(|e| crate::supplier::name_key(&e.name) == crate::supplier::name_key(n))
                    .map(|e| e.name.as_str())
            })
    } else {
        None
    };
    let recommended_action = match who {
        Some(name) if level >= RiskLevel::Medium => format!(
            "Do not act on this email. Speak to {name} in person or on the number you already have for them before any payment is made."
        ),
        _ => recommend(level, category, supplier_rec),
    };
    Assessment {
        category,
        payment_related,
        explanation,
        level,
        score,
        supplier,
        signals,
        recommended_action,
    }
}

/// Parses, prepares and assesses one message in one call.
pub fn analyse(
    raw: &[u8],
    ctx: &Context,
    history: &History,
    pdf: &dyn TextExtractor,
) -> Assessment {
    assess(&prepare(raw, ctx, pdf), ctx, history)
}

/// Makes a message visible to the messages after it (first contact, threads,
/// invoice numbers and amounts per supplier).
pub fn remember(history: &mut History, p: &Prepared, a: &Assessment, ctx: &Context, seen_in: &str) {
    if let Some(entry) = entry_for(p, a.category, a.supplier, ctx, seen_in) {
        history.record_entry(&entry);
    }
}

/// What this message will teach later ones, as an owned, storable
/// [`HistoryEntry`]; `None` when it could not be parsed. Depends only on the
/// message and the organisation, not on history, so the service can compute
/// it before [`assess`] and use its keys to load just the history that
/// matters (same sender domain, same thread, same supplier).
pub fn history_entry(p: &Prepared, ctx: &Context, seen_in: &str) -> Option<HistoryEntry> {
    let msg = p.message.as_ref().ok()?;
    let supplier = signals::match_supplier(msg, &p.facts, ctx);
    entry_for(p, p.classification.category, supplier, ctx, seen_in)
}

fn entry_for(
    p: &Prepared,
    category: Category,
    supplier: Option<(SupplierIdx, MatchKind)>,
    ctx: &Context,
    seen_in: &str,
) -> Option<HistoryEntry> {
    let msg = p.message.as_ref().ok()?;
    let sender_domain = effective_sender(msg, ctx)
        .and_then(Mailbox::domain)
        .and_then(registrable_domain);
    let participants: Vec<String> = msg
        .from
        .iter()
        .chain(msg.recipients.iter())
        .chain(msg.reply_to.iter())
        .filter_map(Mailbox::domain)
        .filter_map(registrable_domain)
        .collect();
    let refers_to: Vec<String> = msg
        .in_reply_to
        .iter()
        .chain(msg.references.iter())
        .cloned()
        .collect();
    Some(HistoryEntry {
        sender_domain,
        participants,
        message_id: msg.message_id.clone(),
        refers_to,
        supplier_key: if signals::bills(category) {
            signals::supplier_key(msg, ctx, supplier)
        } else {
            None
        },
        invoice_numbers: p.facts.invoice_numbers.clone(),
        total: p.facts.amounts.first().map(|m| m.money),
        due: p.facts.due_dates.first().copied(),
        seen_in: seen_in.to_owned(),
    })
}

fn join_reasons(r: &[String]) -> String {
    match r {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Level = the highest signal severity (at least `low` for payment-related
/// mail). Score bands per level keep the score monotone with the level; within
/// a band, further signals raise the score.
fn score(signals: &[Signal], payment_related: bool) -> (RiskLevel, u8) {
    let mut level = signals
        .iter()
        .map(|s| s.severity)
        .max()
        .unwrap_or(RiskLevel::None);
    if payment_related && level < RiskLevel::Low {
        level = RiskLevel::Low;
    }
    if !payment_related && signals.is_empty() {
        level = RiskLevel::None;
    }
    let (base, top): (u16, u16) = match level {
        RiskLevel::None => (0, 0),
        RiskLevel::Low => (10, 24),
        RiskLevel::Medium => (40, 59),
        RiskLevel::High => (70, 84),
        RiskLevel::Critical => (90, 100),
    };
    let weight = |s: &RiskLevel| -> u16 {
        match s {
            RiskLevel::None => 0,
            RiskLevel::Low => 1,
            RiskLevel::Medium => 2,
            RiskLevel::High => 3,
            RiskLevel::Critical => 4,
        }
    };
    // The strongest signal sets the band; every other signal adds its weight.
    let extra: u16 = signals.iter().skip(1).map(|s| weight(&s.severity)).sum();
    let extra = if payment_related { extra + 1 } else { extra };
    let score = (base + extra).min(top);
    (level, u8::try_from(score).unwrap_or(100))
}

fn recommend(level: RiskLevel, category: Category, supplier: Option<&crate::Supplier>) -> String {
    let who = supplier.map_or_else(|| "the sender".to_owned(), |s| s.name.clone());
    let call = match supplier.and_then(|s| s.phone.as_deref()) {
        Some(phone) => format!("Call {who} on the verified number {phone}"),
        None => format!("Call {who} on a number you already hold (not one from this email)"),
    };
    match level {
        RiskLevel::Critical => format!(
            "Do not pay. {call} to confirm the bank details before any payment. Do not use contact details from this email."
        ),
        RiskLevel::High => {
            format!("Hold payment. {call} and confirm the request and bank details before paying.")
        }
        RiskLevel::Medium => {
            format!("Check before paying. {call} if anything here is new or unexpected.")
        }
        RiskLevel::Low => match category {
            Category::Remittance | Category::Statement => {
                "Nothing unusual found. Reconcile as normal.".to_owned()
            }
            Category::QuoteOrOrder => {
                "Nothing unusual found. No payment is due from this message.".to_owned()
            }
            _ => "Nothing unusual found. Pay only to the verified bank details on file.".to_owned(),
        },
        RiskLevel::None => "No action needed.".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(severity: RiskLevel) -> Signal {
        Signal {
            code: SignalCode::UrgencyPressure,
            severity,
            summary: String::new(),
            evidence: Vec::new(),
        }
    }

    #[test]
    fn score_is_monotone_with_level_whatever_the_signal_count() {
        let levels = [
            RiskLevel::Low,
            RiskLevel::Medium,
            RiskLevel::High,
            RiskLevel::Critical,
        ];
        for pair in levels.windows(2) {
            let (lower, higher) = (pair[0], pair[1]);
            let lower_max = score(&vec![sig(lower); 30], true).1;
            let higher_min = score(&[sig(higher)], false).1;
            assert!(
                lower_max < higher_min,
                "{lower:?} max {lower_max} >= {higher:?} min {higher_min}"
            );
        }
        assert_eq!(score(&[], false), (RiskLevel::None, 0));
        assert_eq!(score(&[], true).0, RiskLevel::Low);
        assert_eq!(score(&vec![sig(RiskLevel::Critical); 50], true).1, 100);
    }

    #[test]
    fn recommended_action_names_the_verified_number() {
        let s = crate::Supplier {
            name: "Apex Scaffolding Ltd".into(),
            phone: Some("+44 20 7946 0000".into()),
            ..crate::Supplier::default()
        };
        let a = recommend(RiskLevel::Critical, Category::Invoice, Some(&s));
        assert!(
            a.starts_with("Do not pay.")
                && a.contains("+44 20 7946 0000")
                && a.contains("Apex Scaffolding Ltd")
        );
        assert!(
            recommend(RiskLevel::High, Category::Invoice, None).contains("not one from this email")
        );
    }
}
