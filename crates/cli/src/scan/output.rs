//! Rendering scan results: the contract's JSON and JSON Lines, and a readable
//! text report. Text never shows full account numbers (the JSON's `extracted`
//! does, by contract: it is the operator's own data on the operator's machine).

use sentra_domain::{Category, RiskLevel};
use sentra_engine::MessageReport;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;

#[derive(Serialize)]
struct Summary {
    messages: usize,
    by_level: BTreeMap<&'static str, usize>,
    by_category: BTreeMap<&'static str, usize>,
}

fn summary(reports: &[MessageReport]) -> Summary {
    let mut by_level: BTreeMap<&'static str, usize> =
        RiskLevel::ALL.iter().map(|l| (l.as_str(), 0)).collect();
    let mut by_category: BTreeMap<&'static str, usize> =
        Category::ALL.iter().map(|c| (c.as_str(), 0)).collect();
    for r in reports {
        *by_level.entry(r.risk.level.as_str()).or_default() += 1;
        *by_category.entry(r.category.as_str()).or_default() += 1;
    }
    Summary {
        messages: reports.len(),
        by_level,
        by_category,
    }
}

/// `{"messages": [...], "summary": {...}}`.
pub(crate) fn json(out: &mut impl Write, reports: &[MessageReport]) -> anyhow::Result<()> {
    #[derive(Serialize)]
    struct Doc<'a> {
        messages: &'a [MessageReport],
        summary: Summary,
    }
    serde_json::to_writer_pretty(
        &mut *out,
        &Doc {
            messages: reports,
            summary: summary(reports),
        },
    )?;
    writeln!(out)?;
    Ok(())
}

/// One MESSAGE per line and nothing else.
pub(crate) fn jsonl(out: &mut impl Write, reports: &[MessageReport]) -> anyhow::Result<()> {
    for r in reports {
        serde_json::to_writer(&mut *out, r)?;
        writeln!(out)?;
    }
    Ok(())
}

struct Style {
    on: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    }
    fn level(&self, l: RiskLevel) -> String {
        let code = match l {
            RiskLevel::Critical => "1;97;41",
            RiskLevel::High => "1;31",
            RiskLevel::Medium => "1;33",
            RiskLevel::Low => "32",
            RiskLevel::None => "2",
        };
        self.paint(code, &format!("{:<8}", l.as_str().to_uppercase()))
    }
}

/// A readable report, most severe message first within the scan order.
pub(crate) fn text(
    out: &mut impl Write,
    reports: &[MessageReport],
    colour: bool,
) -> anyhow::Result<()> {
    let st = Style { on: colour };
    for r in reports {
        writeln!(
            out,
            "{} {:>3}  {:<20} {}",
            st.level(r.risk.level),
            r.risk.score,
            r.category.as_str(),
            st.paint("1", &r.source)
        )?;
        let from = r.from.as_ref().map(|f| match (&f.name, &f.address) {
            (Some(n), Some(a)) => format!("{n} <{a}>"),
            (None, Some(a)) => a.clone(),
            (Some(n), None) => n.clone(),
            (None, None) => String::new(),
        });
        writeln!(
            out,
            "    From:    {}",
            from.unwrap_or_else(|| "(unknown)".to_owned())
        )?;
        writeln!(out, "    Subject: {}", r.subject)?;
        if let Some(s) = &r.supplier {
            writeln!(
                out,
                "    Supplier: {} (matched by {})",
                s.name,
                s.match_kind.replace('_', " ")
            )?;
        }
        for s in &r.signals {
            writeln!(
                out,
                "    {} {}  {}",
                st.paint("1", "!"),
                st.paint("1", s.code.as_str()),
                s.summary
            )?;
            for e in &s.evidence {
                writeln!(out, "        - {e}")?;
            }
        }
        if r.risk.level >= RiskLevel::Medium {
            writeln!(
                out,
                "    {} {}",
                st.paint("1", "→"),
                st.paint("1", &r.recommended_action)
            )?;
        } else if r.category != Category::NotPaymentRelated {
            writeln!(out, "    → {}", r.recommended_action)?;
        }
        writeln!(out)?;
    }
    let s = summary(reports);
    let levels: Vec<String> = RiskLevel::ALL
        .iter()
        .rev()
        .map(|l| {
            format!(
                "{} {}",
                s.by_level.get(l.as_str()).copied().unwrap_or(0),
                l.as_str()
            )
        })
        .collect();
    writeln!(out, "{} messages: {}", s.messages, levels.join(", "))?;
    Ok(())
}
