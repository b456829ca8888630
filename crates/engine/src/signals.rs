//! Supplier matching and every signal of the contract. Each signal carries a
//! one-line summary a finance clerk understands and the evidence behind it,
//! with account numbers masked to their last four digits.

use crate::assess::{Context, MatchKind, Owner, Prepared, Signal, effective_sender};
use crate::auth_results;
use crate::classify::Cue;
use crate::domains::{is_freemail, registrable_domain, url_host};
use crate::extract::{Facts, FoundAccount, Location};
use crate::history::History;
use crate::message::{Mailbox, ParsedMessage};
use crate::supplier::{SupplierIdx, name_key};
use sentra_domain::{Category, RiskLevel, SignalCode};

/// Finds the supplier the message is from or about, strongest evidence first.
pub(crate) fn match_supplier(
    msg: &ParsedMessage,
    facts: &Facts,
    ctx: &Context,
) -> Option<(SupplierIdx, MatchKind)> {
    let dir = &ctx.suppliers;
    let sender = effective_sender(msg, ctx);
    if let Some(addr) = sender.and_then(|s| s.address.as_ref()) {
        if let Some(i) = dir.by_email(addr) {
            return Some((i, MatchKind::Email));
        }
        let reg = registrable_domain(addr.domain());
        if let Some(i) = reg.as_deref().and_then(|d| dir.by_domain(d)) {
            return Some((i, MatchKind::Domain));
        }
        if let Some(m) = ctx.lookalikes.check(addr.domain())
            && let Some(Owner::Supplier(i)) = ctx.lookalike_owners.get(m.protected)
        {
            return Some((*i, MatchKind::LookalikeDomain));
        }
    }
    if let Some(i) = sender
        .and_then(|s| s.name.as_deref())
        .and_then(|n| dir.by_display_name(n))
    {
        return Some((i, MatchKind::DisplayName));
    }
    if let Some(i) = facts
        .bank_accounts
        .iter()
        .find_map(|a| dir.by_account(&a.account).first().copied())
    {
        return Some((i, MatchKind::BankAccount));
    }
    let head: String = msg.body_text.chars().take(4000).collect();
    let text = name_key(&format!("{}\n{head}", msg.subject));
    dir.named_in(&text).map(|i| (i, MatchKind::NameInContent))
}

/// Whether messages of this category are bills whose invoice numbers and
/// amounts history should remember and compare.
pub(crate) fn bills(category: Category) -> bool {
    matches!(
        category,
        Category::Invoice | Category::PaymentRequest | Category::BankDetailsChange
    )
}

/// The key history uses for a supplier: its name, or the sender's domain.
pub(crate) fn supplier_key(
    msg: &ParsedMessage,
    ctx: &Context,
    supplier: Option<(SupplierIdx, MatchKind)>,
) -> Option<String> {
    match supplier.and_then(|(i, _)| ctx.suppliers.get(i)) {
        Some(s) => Some(s.name.clone()),
        None => effective_sender(msg, ctx)
            .and_then(Mailbox::domain)
            .and_then(registrable_domain)
            .map(|d| format!("domain:{d}")),
    }
}

fn where_found(loc: &Location) -> String {
    match loc {
        Location::Body => "email body".to_owned(),
        Location::Attachment(name) => format!("attachment {name}"),
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn describe(a: &FoundAccount) -> String {
    format!(
        "{} ({})",
        capitalised(&a.account.masked()),
        where_found(&a.location)
    )
}

/// Severity that depends on whether the message is about paying someone.
fn on_payment(payment_related: bool, yes: RiskLevel, no: RiskLevel) -> RiskLevel {
    if payment_related { yes } else { no }
}

fn push(
    out: &mut Vec<Signal>,
    code: SignalCode,
    severity: RiskLevel,
    summary: String,
    evidence: Vec<String>,
) {
    out.push(Signal {
        code,
        severity,
        summary,
        evidence,
    });
}

/// The distinct phrases of one cue, in order of first appearance.
fn phrases(p: &Prepared, cue: Cue) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for h in p.hits.iter().filter(|h| h.cue == cue) {
        if !out.contains(&h.phrase) {
            out.push(h.phrase);
        }
    }
    out
}

/// Every signal that applies to the message.
pub(crate) fn collect(
    msg: &ParsedMessage,
    p: &Prepared,
    ctx: &Context,
    history: &History,
    supplier: Option<(SupplierIdx, MatchKind)>,
    payment_related: bool,
) -> Vec<Signal> {
    let mut out = Vec::new();
    let facts = &p.facts;
    let sup = supplier.and_then(|(i, _)| ctx.suppliers.get(i));
    let sender = effective_sender(msg, ctx);
    let sender_domain = sender
        .and_then(Mailbox::domain)
        .and_then(registrable_domain);
    let from_domain = msg
        .from
        .as_ref()
        .and_then(Mailbox::domain)
        .and_then(registrable_domain);

    bank_signals(&mut out, facts, sup, p.classification.category);

    let change_phrases = phrases(p, Cue::ChangeRequest);
    if !change_phrases.is_empty() || p.classification.category == Category::BankDetailsChange {
        let who = sup.map_or("the sender", |s| s.name.as_str());
        push(
            &mut out,
            SignalCode::BankDetailsChangeRequest,
            RiskLevel::High,
            format!(
                "The email asks you to pay {who} into different bank details. A change must be confirmed by calling the number on file."
            ),
            change_phrases
                .iter()
                .take(3)
                .map(|p| format!("Says “{p}”"))
                .collect(),
        );
    }

    lookalike_signals(&mut out, msg, ctx, payment_related);

    if let Some(s) = sender {
        impersonation_signals(&mut out, s, ctx, supplier, payment_related);
    }

    if let Some(fd) = &from_domain {
        let other: Vec<String> = msg
            .reply_to
            .iter()
            .filter_map(|r| r.address.as_ref())
            .filter(|a| registrable_domain(a.domain()).is_some_and(|d| &d != fd))
            .map(ToString::to_string)
            .collect();
        if !other.is_empty() {
            push(
                &mut out,
                SignalCode::ReplyToMismatch,
                on_payment(payment_related, RiskLevel::High, RiskLevel::Low),
                format!(
                    "Replies would go to {} instead of the sender's own domain {fd}.",
                    other.join(", ")
                ),
                other
                    .iter()
                    .map(|o| format!("Reply-To: {o}"))
                    .chain(std::iter::once(format!("From domain: {fd}")))
                    .collect(),
            );
        }
    }

    let failures = auth_results::failures(&msg.authentication_results);
    if !failures.is_empty() {
        let methods: Vec<String> = failures.iter().map(|f| f.method.to_uppercase()).collect();
        push(
            &mut out,
            SignalCode::AuthenticationFailure,
            on_payment(payment_related, RiskLevel::High, RiskLevel::Low),
            format!(
                "Your mail server could not confirm this email really came from the sender ({} failed).",
                methods.join(", ")
            ),
            failures
                .iter()
                .map(|f| {
                    format!(
                        "{}=fail{}",
                        f.method,
                        f.detail
                            .as_deref()
                            .map(|d| format!(" {d}"))
                            .unwrap_or_default()
                    )
                })
                .collect(),
        );
    }

    if payment_related && let Some(d) = &sender_domain {
        if is_freemail(d) {
            push(
                &mut out,
                SignalCode::FreemailSender,
                RiskLevel::Medium,
                format!(
                    "A payment email from a free personal mail account ({d}), not a business domain."
                ),
                vec![format!("Sender domain: {d}")],
            );
        }
        let known = sup.is_some_and(|s| {
            s.domains
                .iter()
                .any(|sd| registrable_domain(sd).as_deref() == Some(d.as_str()))
        });
        if !known && !ctx.is_org_domain(d) && !history.knows_sender_domain(d) {
            push(
                &mut out,
                SignalCode::FirstContact,
                RiskLevel::Medium,
                format!("This is the first email seen from {d}."),
                vec![format!("Sender domain: {d}")],
            );
        }
    }

    let urgency = phrases(p, Cue::Urgency);
    if !urgency.is_empty() {
        push(
            &mut out,
            SignalCode::UrgencyPressure,
            on_payment(payment_related, RiskLevel::Medium, RiskLevel::Low),
            "The email pushes for speed or secrecy, a common tactic in payment fraud.".to_owned(),
            urgency
                .iter()
                .take(4)
                .map(|p| format!("Says “{p}”"))
                .collect(),
        );
    }

    thread_signals(
        &mut out,
        msg,
        ctx,
        history,
        sender_domain.as_deref(),
        payment_related,
    );
    history_signals(&mut out, msg, p, ctx, history, supplier);

    let risky: Vec<String> = msg
        .attachments
        .iter()
        .filter(|a| !a.risky.is_empty())
        .map(|a| {
            format!(
                "{} — {}",
                crate::message::display_safe(&a.name),
                a.risky
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
        .collect();
    if !risky.is_empty() {
        push(
            &mut out,
            SignalCode::RiskyAttachment,
            RiskLevel::Medium,
            "An attachment could harm your computer or hide what it is. Do not open it.".to_owned(),
            risky,
        );
    }
    out
}

/// `bank_account_country_mismatch` for the accounts held outside the
/// supplier's country (nothing when the supplier's country is unknown).
fn country_signal(out: &mut Vec<Signal>, s: &crate::Supplier, accounts: &[&FoundAccount]) {
    let Some(country) = &s.country else { return };
    let foreign: Vec<String> = accounts
        .iter()
        .filter(|a| a.account.country() != country)
        .map(|a| {
            format!(
                "{} is held in {}; {} is in {country}",
                capitalised(&a.account.masked()),
                a.account.country(),
                s.name
            )
        })
        .collect();
    if !foreign.is_empty() {
        push(
            out,
            SignalCode::BankAccountCountryMismatch,
            RiskLevel::Medium,
            format!("The account is in a different country from {}.", s.name),
            foreign,
        );
    }
}

fn bank_signals(
    out: &mut Vec<Signal>,
    facts: &Facts,
    sup: Option<&crate::Supplier>,
    category: Category,
) {
    if facts.bank_accounts.is_empty() {
        return;
    }
    let invalid: Vec<String> = facts
        .bank_accounts
        .iter()
        .filter(|a| a.valid == Some(false))
        .map(describe)
        .collect();
    if !invalid.is_empty() {
        push(out, SignalCode::BankAccountInvalid, RiskLevel::High, "Bank details in the email fail the bank's own check-digit test: they are mistyped or made up.".to_owned(), invalid);
    }
    match sup {
        Some(s) if !s.accounts.is_empty() => {
            let differing: Vec<&FoundAccount> = facts
                .bank_accounts
                .iter()
                .filter(|a| !s.accounts.iter().any(|v| v.same_account(&a.account)))
                .collect();
            if !differing.is_empty() {
                let mut evidence: Vec<String> = differing.iter().map(|a| describe(a)).collect();
                evidence.extend(
                    s.accounts
                        .iter()
                        .map(|v| format!("Verified: {}", v.masked())),
                );
                push(
                    out,
                    SignalCode::BankDetailsMismatch,
                    RiskLevel::Critical,
                    format!(
                        "The bank details differ from the verified details for {}.",
                        s.name
                    ),
                    evidence,
                );
            }
            country_signal(out, s, &differing);
        }
        _ if category != Category::Remittance => {
            let who = sup.map_or_else(|| "this sender".to_owned(), |s| s.name.clone());
            push(
                out,
                SignalCode::BankDetailsUnverified,
                RiskLevel::Medium,
                format!(
                    "The email gives bank details, and there are no verified bank details for {who} to compare them with."
                ),
                facts.bank_accounts.iter().map(describe).collect(),
            );
            if let Some(s) = sup {
                let all: Vec<&FoundAccount> = facts.bank_accounts.iter().collect();
                country_signal(out, s, &all);
            }
        }
        _ => {}
    }
    let body: Vec<&FoundAccount> = facts
        .bank_accounts
        .iter()
        .filter(|a| a.location == Location::Body)
        .collect();
    let attached: Vec<&FoundAccount> = facts
        .bank_accounts
        .iter()
        .filter(|a| a.location != Location::Body)
        .collect();
    if !body.is_empty() && !attached.is_empty() {
        let differ: Vec<&&FoundAccount> = attached
            .iter()
            .filter(|a| !body.iter().any(|b| b.account.same_account(&a.account)))
            .collect();
        if !differ.is_empty() {
            let mut evidence: Vec<String> = body.iter().map(|a| describe(a)).collect();
            evidence.extend(differ.iter().map(|a| describe(a)));
            push(out, SignalCode::AttachmentBankDetailsDiffer, RiskLevel::Critical, "The bank details in the attachment are not the ones in the email body: one of them has been tampered with.".to_owned(), evidence);
        }
    }
}

fn lookalike_signals(
    out: &mut Vec<Signal>,
    msg: &ParsedMessage,
    ctx: &Context,
    payment_related: bool,
) {
    let mut evidence = Vec::new();
    let mut checked: Vec<String> = Vec::new();
    let mut check = |label: &str, host: &str, evidence: &mut Vec<String>| {
        let host = host.to_ascii_lowercase();
        if checked.contains(&host) {
            return;
        }
        checked.push(host.clone());
        if let Some(m) = ctx.lookalikes.check(&host)
            && let Some(real) = ctx.lookalikes.protected().get(m.protected)
        {
            let owner = match ctx.lookalike_owners.get(m.protected) {
                Some(Owner::Supplier(i)) => ctx
                    .suppliers
                    .get(*i)
                    .map_or_else(String::new, |s| format!(" ({})", s.name)),
                _ => " (your own domain)".to_owned(),
            };
            evidence.push(format!(
                "{label} {host} imitates {real}{owner}: {}",
                m.technique.describe()
            ));
        }
    };
    if let Some(d) = msg.from.as_ref().and_then(Mailbox::domain) {
        check("Sender domain", d, &mut evidence);
    }
    for r in &msg.reply_to {
        if let Some(d) = r.domain() {
            check("Reply-To domain", d, &mut evidence);
        }
    }
    if let Some(d) = msg.forwarded_from.as_ref().and_then(Mailbox::domain) {
        check("Original sender domain", d, &mut evidence);
    }
    for link in msg.links.iter().take(50) {
        if let Some(host) = url_host(&link.href) {
            check("Link to", &host, &mut evidence);
        }
    }
    if !evidence.is_empty() {
        push(out, SignalCode::LookalikeDomain, on_payment(payment_related, RiskLevel::Critical, RiskLevel::High), "A domain in this email imitates one you trust, changed so slightly that it is easy to miss.".to_owned(), evidence);
    }
}

fn impersonation_signals(
    out: &mut Vec<Signal>,
    sender: &Mailbox,
    ctx: &Context,
    supplier: Option<(SupplierIdx, MatchKind)>,
    payment_related: bool,
) {
    let (Some(name), Some(addr)) = (sender.name.as_deref(), sender.address.as_ref()) else {
        return;
    };
    let domain = registrable_domain(addr.domain()).unwrap_or_else(|| addr.domain().to_owned());
    let key = name_key(name);
    for exec in &ctx.executives {
        let exec_key = name_key(&exec.name);
        if exec_key.is_empty()
            || exec.address.normalised() == addr.normalised()
            || ctx.is_org_domain(&domain)
        {
            continue;
        }
        let words: Vec<&str> = exec_key.split(' ').collect();
        if key == exec_key
            || (words.len() >= 2 && words.iter().all(|w| key.split(' ').any(|k| k == *w)))
        {
            push(
                out,
                SignalCode::ExecutiveImpersonation,
                on_payment(payment_related, RiskLevel::High, RiskLevel::Medium),
                format!(
                    "The email claims to be from {} but comes from an address that is not theirs.",
                    exec.name
                ),
                vec![
                    format!("Display name “{name}” from {addr}"),
                    format!("{}'s address: {}", exec.name, exec.address),
                ],
            );
            return;
        }
    }
    // A display name that is itself an address ("accounts@apex.co.uk <x@evil.com>").
    if let Some(shown) = name
        .split_whitespace()
        .find(|w| w.contains('@'))
        .and_then(|w| {
            sentra_domain::EmailAddress::parse(
                w.trim_matches(|c: char| !c.is_alphanumeric() && c != '@' && c != '.'),
            )
            .ok()
        })
        && registrable_domain(shown.domain()).is_some_and(|d| d != domain)
    {
        push(
            out,
            SignalCode::DisplayNameImpersonation,
            on_payment(payment_related, RiskLevel::High, RiskLevel::Medium),
            format!(
                "The sender's name shows the address {shown}, but the email really comes from {addr}."
            ),
            vec![
                format!("Display name “{name}”"),
                format!("Actual address: {addr}"),
            ],
        );
        return;
    }
    let matched_by_address = matches!(supplier, Some((_, MatchKind::Email | MatchKind::Domain)));
    if !matched_by_address
        && let Some(s) = ctx
            .suppliers
            .by_display_name(name)
            .and_then(|i| ctx.suppliers.get(i))
        && !s
            .domains
            .iter()
            .any(|d| registrable_domain(d).as_deref() == Some(domain.as_str()))
    {
        let real = s
            .domains
            .first()
            .map_or_else(|| "its known addresses".to_owned(), Clone::clone);
        push(
            out,
            SignalCode::DisplayNameImpersonation,
            on_payment(payment_related, RiskLevel::High, RiskLevel::Medium),
            format!(
                "The sender uses the name {} but writes from {domain}, not {real}.",
                s.name
            ),
            vec![
                format!("Display name “{name}” from {addr}"),
                format!("{} uses {real}", s.name),
            ],
        );
    }
}

fn thread_signals(
    out: &mut Vec<Signal>,
    msg: &ParsedMessage,
    ctx: &Context,
    history: &History,
    sender_domain: Option<&str>,
    payment_related: bool,
) {
    let severity = on_payment(payment_related, RiskLevel::High, RiskLevel::Medium);
    let refs: Vec<&str> = msg
        .in_reply_to
        .iter()
        .chain(msg.references.iter())
        .map(String::as_str)
        .collect();
    let subject = msg.subject.to_ascii_lowercase();
    let looks_reply = ["re:", "re :", "aw:", "sv:", "antw:"]
        .iter()
        .any(|p| subject.starts_with(p));
    if refs.is_empty() {
        if looks_reply {
            push(out, SignalCode::ThreadHijack, severity, "The subject says this is a reply, but it is not part of any earlier conversation: a fake reply.".to_owned(), vec![format!("Subject “{}” without In-Reply-To or References", msg.subject)]);
        }
        return;
    }
    let (Some(thread), Some(domain)) = (history.thread(&refs), sender_domain) else {
        return;
    };
    if thread.participants.contains(domain) || ctx.is_org_domain(domain) {
        return;
    }
    let imitated = thread.participants.iter().find(|p| {
        crate::lookalike::LookalikeIndex::new(vec![(*p).clone()])
            .check(domain)
            .is_some()
    });
    let evidence = if let Some(p) = imitated {
        vec![format!("{domain} imitates thread participant {p}")]
    } else {
        let mut parts: Vec<&String> = thread.participants.iter().collect();
        parts.sort();
        vec![format!(
            "{domain} was not in this conversation (participants: {})",
            parts
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )]
    };
    push(
        out,
        SignalCode::ThreadHijack,
        severity,
        "Someone new has joined an existing email conversation, a sign the thread was hijacked."
            .to_owned(),
        evidence,
    );
}

fn history_signals(
    out: &mut Vec<Signal>,
    msg: &ParsedMessage,
    p: &Prepared,
    ctx: &Context,
    history: &History,
    supplier: Option<(SupplierIdx, MatchKind)>,
) {
    // Statements and remittances list earlier invoices by design; only bills
    // and payment requests are compared with what the supplier sent before.
    if !bills(p.classification.category) {
        return;
    }
    let facts = &p.facts;
    let Some(key) = supplier_key(msg, ctx, supplier) else {
        return;
    };
    let name = key.strip_prefix("domain:").unwrap_or(&key);
    let total = facts.amounts.first().map(|a| a.money);
    let due = facts.due_dates.first().copied();
    for n in &facts.invoice_numbers {
        if let Some(seen) = history.invoice(&key, n) {
            let amount_differs = matches!((seen.amount, total), (Some(a), Some(b)) if a != b);
            let due_differs = matches!((seen.due, due), (Some(a), Some(b)) if a != b);
            if amount_differs || due_differs {
                let mut evidence = vec![format!("Invoice {n} was seen before in {}", seen.seen_in)];
                if let (true, Some(a), Some(b)) = (amount_differs, seen.amount, total) {
                    evidence.push(format!("Amount then {a}, now {b}"));
                }
                if let (true, Some(a), Some(b)) = (due_differs, seen.due, due) {
                    evidence.push(format!("Due date then {a}, now {b}"));
                }
                push(
                    out,
                    SignalCode::DuplicateInvoice,
                    RiskLevel::Medium,
                    format!(
                        "Invoice {n} from {name} was already received with a different amount or date."
                    ),
                    evidence,
                );
                break;
            }
        }
    }
    let Some(total) = total else { return };
    let past: Vec<i64> = history
        .amounts(&key)
        .iter()
        .filter(|m| m.currency == total.currency)
        .map(|m| m.minor)
        .collect();
    if past.len() < 3 {
        return;
    }
    let mut sorted = past.clone();
    sorted.sort_unstable();
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or(0);
    let (min, max) = (
        sorted.first().copied().unwrap_or(0),
        sorted.last().copied().unwrap_or(0),
    );
    // "Far outside": more than three times the usual and twice the largest
    // ever, so ordinary month-to-month variation never fires.
    if median > 0 && total.minor > median.saturating_mul(3) && total.minor > max.saturating_mul(2) {
        let fmt = |minor: i64| sentra_domain::Money::new(minor, total.currency).to_string();
        push(
            out,
            SignalCode::AmountAnomaly,
            RiskLevel::Medium,
            format!("The amount is far higher than {name} usually invoices."),
            vec![
                format!("This email: {total}"),
                format!(
                    "Earlier {} amounts ranged {} to {} (median {})",
                    past.len(),
                    fmt(min),
                    fmt(max),
                    fmt(median)
                ),
            ],
        );
    }
}
