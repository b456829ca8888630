//! Extraction of payment facts from text: bank details, invoice numbers,
//! amounts with currency, due dates and tax ids.
//!
//! Every extractor takes plain text (already decoded from MIME, HTML or an
//! attachment) and never panics. Bank details are validated with the `domain`
//! crate; an account that fails its checksum is still returned (with
//! `valid: Some(false)`), because a forged or mistyped account is evidence.

mod amount;
mod bank;
mod date;
mod invoice;
mod scan;
mod tax;

use sentra_domain::bank::{BankAccount, ModulusTables};
use sentra_domain::tax::{Abn, UkVat};
use sentra_domain::{Currency, Money};
use std::fmt;
use time::Date;

/// Where a fact was found.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Location {
    /// The message body (text or HTML part).
    Body,
    /// An attachment, by file name.
    Attachment(String),
}

impl fmt::Display for Location {
    /// `body` or `attachment:<file name>`, as in the engine contract.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Body => f.write_str("body"),
            Self::Attachment(name) => write!(f, "attachment:{name}"),
        }
    }
}

/// A bank account found in text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundAccount {
    /// The account (format-valid; see `valid` for the checksum).
    pub account: BankAccount,
    /// Checksum result: `Some(true)` passes, `Some(false)` fails, `None` when
    /// no check applies (UK without modulus tables, Australian BSB accounts).
    pub valid: Option<bool>,
    /// Where it was found.
    pub location: Location,
}

/// An amount of money found in text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundAmount {
    /// The amount.
    pub money: Money,
    /// Whether the text labels it as the total or amount due.
    pub total: bool,
}

/// A tax identifier found in text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaxId {
    /// UK VAT registration number.
    UkVat(UkVat),
    /// Australian Business Number.
    Abn(Abn),
}

impl fmt::Display for TaxId {
    /// `GB980780684` or `ABN 51 824 753 556`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UkVat(v) => write!(f, "{v}"),
            Self::Abn(a) => write!(f, "ABN {a}"),
        }
    }
}

/// Everything extracted from one or more texts of a message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// Bank accounts, de-duplicated per location, in order of appearance.
    pub bank_accounts: Vec<FoundAccount>,
    /// Invoice numbers as written (`INV-20431`), de-duplicated.
    pub invoice_numbers: Vec<String>,
    /// Amounts; the total due first.
    pub amounts: Vec<FoundAmount>,
    /// Due dates, de-duplicated, in order of appearance.
    pub due_dates: Vec<Date>,
    /// Tax ids, de-duplicated.
    pub tax_ids: Vec<TaxId>,
}

/// What extraction needs to know besides the text.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExtractContext<'a> {
    /// Vocalink tables for UK modulus checks, when the operator provided them.
    pub modulus: Option<&'a ModulusTables>,
    /// The message's date, for relative due dates ("within 30 days").
    pub reference_date: Option<Date>,
    /// Currency to assume for a bare amount next to the word "total" when the
    /// text names none (from the supplier's country); `None` leaves such amounts out.
    pub default_currency: Option<Currency>,
}

impl Facts {
    /// Adds `other`'s facts, keeping order and removing duplicates
    /// (bank accounts are duplicates only at the same location).
    pub fn merge(&mut self, other: Facts) {
        for a in other.bank_accounts {
            if !self
                .bank_accounts
                .iter()
                .any(|b| b.location == a.location && b.account.same_account(&a.account))
            {
                self.bank_accounts.push(a);
            }
        }
        for n in other.invoice_numbers {
            if !self.invoice_numbers.contains(&n) {
                self.invoice_numbers.push(n);
            }
        }
        for a in other.amounts {
            if !self.amounts.contains(&a) {
                self.amounts.push(a);
            }
        }
        // Keep "total due first" across merged texts.
        self.amounts.sort_by_key(|a| !a.total);
        for d in other.due_dates {
            if !self.due_dates.contains(&d) {
                self.due_dates.push(d);
            }
        }
        for t in other.tax_ids {
            if !self.tax_ids.contains(&t) {
                self.tax_ids.push(t);
            }
        }
    }
}

/// Extracts all facts from one text.
///
/// Cheap prefilters run first: a text without any ASCII digit cannot hold any
/// fact, and one pass of a keyword automaton finds every label, so each
/// extractor runs its pattern only where its keywords are (IBANs, which need
/// no label, have their own byte scanner).
pub fn extract(text: &str, location: &Location, ctx: &ExtractContext<'_>) -> Facts {
    let mut facts = Facts::default();
    if !text.bytes().any(|b| b.is_ascii_digit()) {
        return facts;
    }
    let hits = scan::keyword_hits(text);
    let tax = if hits.flags & scan::TAX != 0 {
        tax::extract(text, &hits)
    } else {
        tax::TaxFound::default()
    };
    facts.bank_accounts = bank::extract(text, &hits, location, ctx, &tax);
    if hits.flags & scan::INVOICE != 0 {
        facts.invoice_numbers = invoice::extract(text, &hits);
    }
    if hits.flags & (scan::AMOUNT | scan::TOTAL) != 0 {
        facts.amounts = amount::extract(text, &hits, ctx);
    }
    if hits.flags & scan::DUE != 0 {
        facts.due_dates = date::extract(text, &hits, ctx);
    }
    facts.tax_ids = tax.ids;
    facts
}

#[cfg(test)]
mod tests;
