//! What earlier messages taught: which sender domains have written before,
//! who takes part in which thread, and which invoice numbers and amounts each
//! supplier has sent. `sentra scan` builds it within one run, in date order;
//! the service builds it from the database.

use sentra_domain::Money;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use time::Date;

/// A thread: the registrable domains that have taken part in it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Thread {
    /// Registrable domains of every sender and recipient seen in the thread.
    pub participants: HashSet<String>,
}

/// An invoice number seen before, with what it said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceSeen {
    /// Total amount, if one was found.
    pub amount: Option<Money>,
    /// Due date, if one was found.
    pub due: Option<Date>,
    /// Where it was seen (file path or message id), for evidence.
    pub seen_in: String,
}

/// Everything earlier messages taught the engine.
#[derive(Debug, Clone, Default)]
pub struct History {
    sender_domains: HashSet<String>,
    thread_of: HashMap<String, usize>,
    threads: Vec<Thread>,
    invoices: HashMap<(String, String), InvoiceSeen>,
    amounts: HashMap<String, Vec<Money>>,
}

/// What [`History::record`] needs from one message.
#[derive(Debug, Clone, Default)]
pub struct Observation<'a> {
    /// Registrable domain of the sender.
    pub sender_domain: Option<&'a str>,
    /// Registrable domains of sender and recipients.
    pub participants: Vec<String>,
    /// The message's own id and the ids it refers to.
    pub message_id: Option<&'a str>,
    /// `In-Reply-To` and `References` ids.
    pub refers_to: Vec<&'a str>,
    /// The supplier key (the supplier's name, or `domain:<d>` when unknown).
    pub supplier_key: Option<String>,
    /// Invoice numbers in the message.
    pub invoice_numbers: &'a [String],
    /// The total amount.
    pub total: Option<Money>,
    /// The due date.
    pub due: Option<Date>,
    /// Where the message came from, for later evidence.
    pub seen_in: &'a str,
}

/// An owned [`Observation`]: what one message teaches, in a form that can be
/// stored with its assessment and recorded into a [`History`] later (the
/// service rebuilds history from these; see [`crate::history_entry`]). Its
/// keys (`sender_domain`, `message_id` and `refers_to`, `supplier_key`) are
/// also what a new message's history has to be looked up by.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// Registrable domain of the sender.
    pub sender_domain: Option<String>,
    /// Registrable domains of sender and recipients.
    pub participants: Vec<String>,
    /// The message's own `Message-ID`.
    pub message_id: Option<String>,
    /// `In-Reply-To` and `References` ids.
    pub refers_to: Vec<String>,
    /// The supplier key (the supplier's name, or `domain:<d>` when unknown);
    /// only for mail that bills.
    pub supplier_key: Option<String>,
    /// Invoice numbers in the message.
    pub invoice_numbers: Vec<String>,
    /// The total amount.
    pub total: Option<Money>,
    /// The due date.
    pub due: Option<Date>,
    /// Where the message came from, for later evidence.
    pub seen_in: String,
}

impl HistoryEntry {
    /// The message's own id and the ids it refers to: the thread keys.
    pub fn thread_ids(&self) -> Vec<String> {
        self.message_id
            .iter()
            .chain(self.refers_to.iter())
            .cloned()
            .collect()
    }
}

impl History {
    /// Records a stored [`HistoryEntry`], exactly as [`History::record`]
    /// records the observation it was made from.
    pub fn record_entry(&mut self, e: &HistoryEntry) {
        self.record(&Observation {
            sender_domain: e.sender_domain.as_deref(),
            participants: e.participants.clone(),
            message_id: e.message_id.as_deref(),
            refers_to: e.refers_to.iter().map(String::as_str).collect(),
            supplier_key: e.supplier_key.clone(),
            invoice_numbers: &e.invoice_numbers,
            total: e.total,
            due: e.due,
            seen_in: &e.seen_in,
        });
    }

    /// An empty history.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether a message from this registrable domain has been seen.
    pub fn knows_sender_domain(&self, domain: &str) -> bool {
        self.sender_domains.contains(domain)
    }

    /// The known thread any of these ids belongs to.
    pub fn thread(&self, ids: &[&str]) -> Option<&Thread> {
        ids.iter()
            .find_map(|id| self.thread_of.get(*id))
            .and_then(|t| self.threads.get(*t))
    }

    /// The invoice with this number from this supplier, if seen.
    pub fn invoice(&self, supplier_key: &str, number: &str) -> Option<&InvoiceSeen> {
        self.invoices
            .get(&(supplier_key.to_owned(), normalise_invoice(number)))
    }

    /// Earlier totals from this supplier.
    pub fn amounts(&self, supplier_key: &str) -> &[Money] {
        self.amounts.get(supplier_key).map_or(&[], Vec::as_slice)
    }

    /// Makes one message visible to the messages after it.
    pub fn record(&mut self, o: &Observation<'_>) {
        if let Some(d) = o.sender_domain {
            self.sender_domains.insert(d.to_owned());
        }
        let known = o
            .refers_to
            .iter()
            .chain(o.message_id.iter())
            .find_map(|id| self.thread_of.get(*id))
            .copied();
        let thread = known.unwrap_or_else(|| {
            self.threads.push(Thread::default());
            self.threads.len() - 1
        });
        for id in o.refers_to.iter().chain(o.message_id.iter()) {
            self.thread_of.entry((*id).to_owned()).or_insert(thread);
        }
        if let Some(t) = self.threads.get_mut(thread) {
            t.participants.extend(o.participants.iter().cloned());
        }
        if let Some(key) = &o.supplier_key {
            for n in o.invoice_numbers {
                self.invoices
                    .entry((key.clone(), normalise_invoice(n)))
                    .or_insert_with(|| InvoiceSeen {
                        amount: o.total,
                        due: o.due,
                        seen_in: o.seen_in.to_owned(),
                    });
            }
            if let Some(total) = o.total {
                // A re-sent invoice is one amount, not two data points.
                let fresh = o.invoice_numbers.is_empty()
                    || o.invoice_numbers.iter().all(|n| {
                        self.invoices
                            .get(&(key.clone(), normalise_invoice(n)))
                            .is_none_or(|s| s.seen_in == o.seen_in)
                    });
                if fresh {
                    self.amounts.entry(key.clone()).or_default().push(total);
                }
            }
        }
    }
}

/// `INV-0042`, `inv 0042` and `INV0042` are the same invoice.
fn normalise_invoice(n: &str) -> String {
    n.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sentra_domain::Currency;

    #[test]
    fn threads_join_through_references_and_collect_participants() {
        let mut h = History::new();
        h.record(&Observation {
            message_id: Some("<1@a>"),
            participants: vec!["a.com".into(), "org.com".into()],
            seen_in: "m1",
            ..Observation::default()
        });
        h.record(&Observation {
            message_id: Some("<2@org>"),
            refers_to: vec!["<1@a>"],
            participants: vec!["org.com".into()],
            seen_in: "m2",
            ..Observation::default()
        });
        let t = h.thread(&["<2@org>"]).unwrap();
        assert!(t.participants.contains("a.com") && t.participants.contains("org.com"));
        assert!(h.thread(&["<9@x>"]).is_none());
    }

    #[test]
    fn invoices_and_amounts_are_kept_per_supplier() {
        let mut h = History::new();
        let numbers = vec!["INV-0042".to_owned()];
        let total = Some(Money::new(10_000, Currency::GBP));
        h.record(&Observation {
            supplier_key: Some("Apex".into()),
            invoice_numbers: &numbers,
            total,
            seen_in: "a.eml",
            ..Observation::default()
        });
        assert_eq!(h.invoice("Apex", "inv 0042").unwrap().amount, total);
        assert!(h.invoice("Other", "INV-0042").is_none());
        // The same invoice again does not count as a second amount.
        h.record(&Observation {
            supplier_key: Some("Apex".into()),
            invoice_numbers: &numbers,
            total,
            seen_in: "b.eml",
            ..Observation::default()
        });
        assert_eq!(h.amounts("Apex").len(), 1);
    }
}
