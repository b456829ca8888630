//! What an alert says, and its three wire shapes: Slack (`text` plus
//! `blocks`), Teams Workflows (an Adaptive Card in a `message` envelope,
//! graph-contract §11.4) and a plain-text email.
//!
//! An alert carries enough to act on — risk, sender, subject, the main
//! signals, the case link — and never an account number beyond its last
//! four characters: the stored verdict is already masked, and every line
//! also passes [`redact`], in case a signal quotes a number in prose.

use sentra_store::repo::alert::CaseBrief;
use serde_json::{Value, json};

/// One alert's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertContent {
    /// The headline.
    pub title: String,
    /// Facts, as (label, value).
    pub facts: Vec<(String, String)>,
    /// The main signals, strongest first.
    pub signals: Vec<String>,
    /// Where to act.
    pub link: String,
}

/// Replaces every run of letters and digits holding six or more digits with
/// `****` and its last four characters: account numbers and IBANs never
/// leave in full, while amounts, dates and invoice numbers stay readable.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if word.chars().filter(char::is_ascii_digit).count() >= 6 {
            out.push_str(&sentra_domain::bank::mask(word));
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

fn case_link(base_url: &str, brief: &CaseBrief) -> String {
    format!("{}/cases/{}", base_url.trim_end_matches('/'), brief.case_id)
}

impl AlertContent {
    /// The alert for one case.
    pub fn for_case(brief: &CaseBrief, base_url: &str) -> Self {
        let level = brief.risk_level.as_str();
        let mut facts = vec![
            (
                "Risk".to_owned(),
                format!("{} ({}/100)", level, brief.risk_score),
            ),
            ("Category".to_owned(), brief.category.replace('_', " ")),
            (
                "From".to_owned(),
                redact(brief.from_address.as_deref().unwrap_or("(unknown)")),
            ),
            (
                "Subject".to_owned(),
                redact(brief.subject.as_deref().unwrap_or("(no subject)")),
            ),
        ];
        if let Some(name) = brief
            .extracted
            .pointer("/supplier/name")
            .and_then(Value::as_str)
        {
            facts.push(("Supplier".to_owned(), redact(name)));
        }
        let accounts: Vec<String> = brief
            .extracted
            .get("bank_accounts")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|a| {
                a.get("account_number")
                    .or_else(|| a.get("iban"))
                    .and_then(Value::as_str)
            })
            .map(sentra_domain::bank::mask)
            .collect();
        if !accounts.is_empty() {
            facts.push(("Bank details in the email".to_owned(), accounts.join(", ")));
        }
        let signals = brief
            .signals
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.get("summary").and_then(Value::as_str))
            .take(5)
            .map(redact)
            .collect();
        Self {
            title: format!("Sentra: {level}-risk payment email needs checking"),
            facts,
            signals,
            link: case_link(base_url, brief),
        }
    }

    /// A channel's daily digest.
    pub fn digest(briefs: &[CaseBrief], day: time::Date, base_url: &str) -> Self {
        let signals = briefs
            .iter()
            .map(|b| {
                format!(
                    "{} — {} — {}",
                    b.risk_level.as_str(),
                    redact(b.subject.as_deref().unwrap_or("(no subject)")),
                    case_link(base_url, b)
                )
            })
            .collect();
        Self {
            title: format!(
                "Sentra daily digest for {day}: {} case(s) opened",
                briefs.len()
            ),
            facts: Vec::new(),
            signals,
            link: format!("{}/cases", base_url.trim_end_matches('/')),
        }
    }

    /// A channel test.
    pub fn test(base_url: &str) -> Self {
        Self {
            title: "Sentra test alert: this channel works".to_owned(),
            facts: Vec::new(),
            signals: Vec::new(),
            link: format!("{}/cases", base_url.trim_end_matches('/')),
        }
    }

    /// The plain-text rendering (email body, Slack fallback text).
    pub fn text(&self) -> String {
        use std::fmt::Write as _;
        let mut t = format!("{}\n\n", self.title);
        for (k, v) in &self.facts {
            let _ = writeln!(t, "{k}: {v}");
        }
        if !self.signals.is_empty() {
            t.push('\n');
            for s in &self.signals {
                let _ = writeln!(t, "- {s}");
            }
        }
        let _ = write!(
            t,
            "\nOpen: {}\nVerify by calling the number on file, never one from the email.\n",
            self.link
        );
        t
    }

    /// A Slack incoming-webhook payload.
    pub fn slack(&self) -> Value {
        let facts: Vec<Value> = self
            .facts
            .iter()
            .map(|(k, v)| json!({ "type": "mrkdwn", "text": format!("*{k}*\n{v}") }))
            .collect();
        let mut blocks = vec![json!({
            "type": "header",
            "text": { "type": "plain_text", "text": self.title }
        })];
        if !facts.is_empty() {
            blocks.push(json!({ "type": "section", "fields": facts }));
        }
        if !self.signals.is_empty() {
            let list: Vec<String> = self.signals.iter().map(|s| format!("• {s}")).collect();
            blocks.push(json!({
                "type": "section",
                "text": { "type": "mrkdwn", "text": list.join("\n") }
            }));
        }
        blocks.push(json!({
            "type": "actions",
            "elements": [{
                "type": "button",
                "text": { "type": "plain_text", "text": "Open in Sentra" },
                "url": self.link
            }]
        }));
        json!({ "text": format!("{} {}", self.title, self.link), "blocks": blocks })
    }

    /// A Teams Workflows payload: an Adaptive Card in a message envelope.
    pub fn teams(&self) -> Value {
        let mut body = vec![json!({
            "type": "TextBlock",
            "text": self.title,
            "weight": "Bolder",
            "size": "Medium",
            "wrap": true
        })];
        if !self.facts.is_empty() {
            let facts: Vec<Value> = self
                .facts
                .iter()
                .map(|(k, v)| json!({ "title": k, "value": v }))
                .collect();
            body.push(json!({ "type": "FactSet", "facts": facts }));
        }
        for s in &self.signals {
            body.push(json!({ "type": "TextBlock", "text": format!("• {s}"), "wrap": true }));
        }
        json!({
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": null,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": body,
                    "actions": [{
                        "type": "Action.OpenUrl",
                        "title": "Open in Sentra",
                        "url": self.link
                    }]
                }
            }]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_digit_runs_keep_only_their_last_four_characters() {
        assert_eq!(
            redact(
                "Pay 20-29-59 55779911 or GB33BUKB20201555555555 by 2026-12-01, £12,500.00 INV-0042"
            ),
            "Pay 20-29-59 ****9911 or ****5555 by 2026-12-01, £12,500.00 INV-0042"
        );
    }
}
