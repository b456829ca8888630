//! The engine contract's MESSAGE shape (`sentra scan --format json`, and the
//! API's message resource), built from a prepared message and its assessment.
//! Account numbers appear in full only inside `extracted`; everywhere else the
//! assessment already masks them.

use crate::assess::{Assessment, Context, Prepared};
use crate::extract::FoundAccount;
use crate::message::Mailbox;
use sentra_domain::bank::BankAccount;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;

/// A name and address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressOut {
    /// Display name.
    pub name: Option<String>,
    /// Address.
    pub address: Option<String>,
}

/// Risk level and score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskOut {
    /// `none` … `critical`.
    pub level: sentra_domain::RiskLevel,
    /// 0–100.
    pub score: u8,
}

/// The supplier involved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupplierOut {
    /// Name exactly as in the supplier records.
    pub name: String,
    /// How it was recognised.
    #[serde(rename = "match")]
    pub match_kind: String,
}

/// One signal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignalOut {
    /// Contract code.
    pub code: sentra_domain::SignalCode,
    /// Severity on this message.
    pub severity: sentra_domain::RiskLevel,
    /// One line for a finance clerk.
    pub summary: String,
    /// Facts behind it.
    pub evidence: Vec<String>,
}

/// A bank account as extracted (full numbers: the operator's own data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountOut {
    /// `uk`, `iban`, `au` or `us`.
    pub scheme: String,
    /// UK sort code, six digits.
    pub sort_code: Option<String>,
    /// Account number.
    pub account_number: Option<String>,
    /// IBAN, compact.
    pub iban: Option<String>,
    /// BIC.
    pub bic: Option<String>,
    /// Australian BSB, six digits.
    pub bsb: Option<String>,
    /// US routing number.
    pub routing_number: Option<String>,
    /// Checksum result; `null` when no check applies or no tables were given.
    pub valid: Option<bool>,
    /// `body` or `attachment:<file name>`.
    pub location: String,
}

/// An amount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmountOut {
    /// Decimal with two places (`"4860.00"`).
    pub value: String,
    /// ISO 4217 code.
    pub currency: String,
}

/// Extracted facts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ExtractedOut {
    /// Bank accounts.
    pub bank_accounts: Vec<AccountOut>,
    /// Invoice numbers.
    pub invoice_numbers: Vec<String>,
    /// Amounts, total due first.
    pub amounts: Vec<AmountOut>,
    /// Due dates, `YYYY-MM-DD`.
    pub due_dates: Vec<String>,
    /// Tax ids.
    pub tax_ids: Vec<String>,
}

/// The contract's MESSAGE object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageReport {
    /// Where the message came from (path, `path#n` for mbox, or an id).
    pub source: String,
    /// `Message-ID` with angle brackets.
    pub message_id: Option<String>,
    /// `Date` in UTC, RFC 3339.
    pub date: Option<String>,
    /// Sender.
    pub from: Option<AddressOut>,
    /// Reply-To addresses.
    pub reply_to: Vec<AddressOut>,
    /// Subject.
    pub subject: String,
    /// Category.
    pub category: sentra_domain::Category,
    /// Whether it is about paying someone.
    pub payment_related: bool,
    /// Risk.
    pub risk: RiskOut,
    /// Supplier involved.
    pub supplier: Option<SupplierOut>,
    /// Signals, most severe first.
    pub signals: Vec<SignalOut>,
    /// Extracted facts.
    pub extracted: ExtractedOut,
    /// What to do.
    pub recommended_action: String,
    /// Why it got its category.
    pub explanation: String,
}

fn address(m: &Mailbox) -> AddressOut {
    AddressOut {
        name: m.name.clone(),
        address: m.address.as_ref().map(ToString::to_string),
    }
}

fn account(a: &FoundAccount) -> AccountOut {
    let mut out = AccountOut {
        scheme: a.account.scheme().as_str().to_owned(),
        sort_code: None,
        account_number: None,
        iban: None,
        bic: None,
        bsb: None,
        routing_number: None,
        valid: a.valid,
        location: a.location.to_string(),
    };
    match &a.account {
        BankAccount::Uk { sort_code, account } => {
            out.sort_code = Some(sort_code.as_str().to_owned());
            out.account_number = Some(account.as_str().to_owned());
        }
        BankAccount::Iban { iban, bic } => {
            out.iban = Some(iban.as_str().to_owned());
            out.bic = bic.as_ref().map(|b| b.as_str().to_owned());
        }
        BankAccount::Au { bsb, account } => {
            out.bsb = Some(bsb.as_str().to_owned());
            out.account_number = Some(account.as_str().to_owned());
        }
        BankAccount::Us { routing, account } => {
            out.routing_number = Some(routing.as_str().to_owned());
            out.account_number = Some(account.as_str().to_owned());
        }
    }
    out
}

/// Builds the MESSAGE object.
pub fn message_report(source: &str, p: &Prepared, a: &Assessment, ctx: &Context) -> MessageReport {
    let msg = p.message.as_ref().ok();
    MessageReport {
        source: source.to_owned(),
        message_id: msg.and_then(|m| m.message_id.clone()),
        date: msg
            .and_then(|m| m.date)
            .and_then(|d| d.to_offset(time::UtcOffset::UTC).format(&Rfc3339).ok()),
        from: msg.and_then(|m| m.from.as_ref()).map(address),
        reply_to: msg
            .map(|m| m.reply_to.iter().map(address).collect())
            .unwrap_or_default(),
        subject: msg.map(|m| m.subject.clone()).unwrap_or_default(),
        category: a.category,
        payment_related: a.payment_related,
        risk: RiskOut {
            level: a.level,
            score: a.score,
        },
        supplier: a.supplier.and_then(|(i, how)| {
            ctx.suppliers().get(i).map(|s| SupplierOut {
                name: s.name.clone(),
                match_kind: how.as_str().to_owned(),
            })
        }),
        signals: a
            .signals
            .iter()
            .map(|s| SignalOut {
                code: s.code,
                severity: s.severity,
                summary: s.summary.clone(),
                evidence: s.evidence.clone(),
            })
            .collect(),
        extracted: ExtractedOut {
            bank_accounts: p.facts.bank_accounts.iter().map(account).collect(),
            invoice_numbers: p.facts.invoice_numbers.clone(),
            amounts: p
                .facts
                .amounts
                .iter()
                .map(|m| AmountOut {
                    value: m.money.decimal_string(),
                    currency: m.money.currency.to_string(),
                })
                .collect(),
            due_dates: p.facts.due_dates.iter().map(ToString::to_string).collect(),
            tax_ids: p.facts.tax_ids.iter().map(ToString::to_string).collect(),
        },
        recommended_action: a.recommended_action.clone(),
        explanation: a.explanation.clone(),
    }
}
