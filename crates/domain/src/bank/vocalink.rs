//! UK modulus checking (Vocalink "Validating account numbers – UK modulus
//! checking", v7.70), with every exception 1–14.
//!
//! The tables (`valacdos.txt`, `scsubtab.txt`) are loaded at run time from a
//! folder the operator provides: Vocalink publishes new editions several times
//! a year and they are Vocalink's copyright, so they are not compiled in.
//!
//! The check runs for every account seen in every email, so it is shaped for
//! the hot path: the rules are grouped by sort-code range and sorted once at
//! load time, a check is one binary search plus arithmetic on a 14-digit array
//! on the stack, and nothing is allocated per call.

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

/// One line of `valacdos.txt`, without its range.
#[derive(Debug, Clone, Copy)]
struct Rule {
    method: Method,
    weights: [i32; 14],
    /// Vocalink exception number, 0 when the line has none.
    exception: u8,
}

/// A sort-code range with its one or two rules (Vocalink never gives more).
#[derive(Debug, Clone)]
struct Range {
    from: u32,
    to: u32,
    first: Rule,
    second: Option<Rule>,
}

/// Parsed Vocalink tables.
#[derive(Debug, Clone, Default)]
pub struct ModulusTables {
    /// Sorted by `from`, non-overlapping (checked at load).
    ranges: Vec<Range>,
    /// Exception 5 sort-code substitutions, sorted by original sort code.
    substitutions: Vec<(u32, u32)>,
}

// Positions of the digits u v w x y z a b c d e f g h.
const A: usize = 6;
const B: usize = 7;
const C: usize = 8;
const G: usize = 12;
const H: usize = 13;

/// Exception 2 weights when a ≠ 0 and g ≠ 9.
const EXC2_WEIGHTS: [i32; 14] = [0, 0, 1, 2, 5, 3, 6, 4, 8, 7, 10, 9, 3, 1];
/// Exception 2 weights when a ≠ 0 and g = 9.
const EXC2_G9_WEIGHTS: [i32; 14] = [0, 0, 0, 0, 0, 0, 0, 0, 8, 7, 10, 9, 3, 1];
/// Exception 8: the sort code every check in the range is run with.
const EXC8_SORT_CODE: [u8; 6] = [0, 9, 0, 1, 2, 6];
/// Exception 9: the Lloyds sort code the retry is run with.
const EXC9_SORT_CODE: [u8; 6] = [3, 0, 9, 6, 3, 4];

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

    /// Parses the two tables from their text. Errors name the file and line.
    pub fn parse(valacdos: &str, scsubtab: &str) -> Result<Self, DomainError> {
        let mut lines = Vec::new();
        for (i, line) in valacdos.lines().enumerate() {
            if let Some(parsed) = parse_rule_line(line).map_err(|why| DomainError::Table {
                what: "valacdos.txt",
                reason: format!("line {}: {why}", i + 1),
            })? {
                lines.push((parsed.0, parsed.1, i + 1, parsed.2));
            }
        }
        // Stable sort keeps the file order of the two rules of one range,
        // which matters: the first and second check are not interchangeable.
        lines.sort_by_key(|&(from, to, _, _)| (from, to));
        let ranges = group_ranges(&lines)?;

        let mut substitutions = Vec::new();
        for (i, line) in scsubtab.lines().enumerate() {
            let bad = |why: &str| DomainError::Table {
                what: "scsubtab.txt",
                reason: format!("line {}: {why}", i + 1),
            };
            let mut fields = line.split_whitespace();
            let Some(first) = fields.next() else {
                continue;
            };
            let (Some(second), None) = (fields.next(), fields.next()) else {
                return Err(bad("expected 2 fields"));
            };
            let original = parse_sort_code(first).map_err(&bad)?;
            let substitute = parse_sort_code(second).map_err(&bad)?;
            substitutions.push((original, substitute));
        }
        substitutions.sort_unstable();
        if let Some(w) = substitutions.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(DomainError::Table {
                what: "scsubtab.txt",
                reason: format!("sort code {:06} is substituted twice", w[0].0),
            });
        }
        Ok(Self {
            ranges,
            substitutions,
        })
    }

    /// How many rules (lines of `valacdos.txt`) were loaded.
    pub fn rule_count(&self) -> usize {
        self.ranges
            .iter()
            .map(|r| 1 + usize::from(r.second.is_some()))
            .sum()
    }

    /// Checks a standardised sort code and account number.
    pub fn check(&self, sort_code: &SortCode, account: &UkAccountNumber) -> ModulusOutcome {
        let Some(digits) = digits_of(sort_code.as_str(), account.as_str()) else {
            // Unreachable for parsed values; an unreadable number is not a valid one.
            return ModulusOutcome::Invalid;
        };
        let Some(range) = self.find(sort_code_value(&digits)) else {
            return ModulusOutcome::NotCovered;
        };
        if self.range_passes(range, &digits) {
            ModulusOutcome::Valid
        } else {
            ModulusOutcome::Invalid
        }
    }

    fn find(&self, sc: u32) -> Option<&Range> {
        let idx = self.ranges.partition_point(|r| r.from <= sc);
        let range = self.ranges.get(idx.checked_sub(1)?)?;
        (sc <= range.to).then_some(range)
    }

    /// Combines the one or two checks of a range as the spec's exceptions say.
    fn range_passes(&self, range: &Range, d: &[u8; 14]) -> bool {
        let first = &range.first;
        let Some(second) = &range.second else {
            // Exception 14 (Coutts): a failed first check gets a second try
            // with the account shifted right by one digit.
            return self.rule_passes(first, d) || (first.exception == 14 && coutts_retry(first, d));
        };
        // Exception 6: foreign-currency accounts cannot be checked at all.
        if (first.exception == 6 || second.exception == 6)
            && (4..=8).contains(&d[A])
            && d[G] == d[H]
        {
            return true;
        }
        match (first.exception, second.exception) {
            // 2 & 9: the Lloyds retry (second check, sort code 309634) only
            // matters when the first fails. 10 & 11, 12 & 13: either check
            // passing is enough.
            (2, 9) | (10, 11) | (12, 13) => {
                self.rule_passes(first, d) || self.rule_passes(second, d)
            }
            // Everything else, including exception 3 (which skips its own
            // check inside `rule_passes`) and 5: both must pass.
            _ => self.rule_passes(first, d) && self.rule_passes(second, d),
        }
    }

    /// Runs one rule, with the exceptions that change digits, weights or the
    /// final test of that rule.
    fn rule_passes(&self, rule: &Rule, digits: &[u8; 14]) -> bool {
        let mut d = *digits;
        let mut w = rule.weights;
        match rule.exception {
            2 if d[A] != 0 => {
                w = if d[G] == 9 {
                    EXC2_G9_WEIGHTS
                } else {
                    EXC2_WEIGHTS
                };
            }
            3 if d[C] == 6 || d[C] == 9 => return true,
            5 => {
                let sc = sort_code_value(&d);
                if let Ok(i) = self
                    .substitutions
                    .binary_search_by_key(&sc, |&(from, _)| from)
                    && let Some(&(_, to)) = self.substitutions.get(i)
                {
                    set_sort_code(&mut d, to);
                }
            }
            7 if d[G] == 9 => zeroise_u_to_b(&mut w),
            8 => d[..6].copy_from_slice(&EXC8_SORT_CODE),
            9 => d[..6].copy_from_slice(&EXC9_SORT_CODE),
            10 if (d[A] == 0 || d[A] == 9) && d[B] == 9 && d[G] == 9 => zeroise_u_to_b(&mut w),
            _ => {}
        }
        let total = weighted_total(rule.method, &d, &w);
        match (rule.method, rule.exception) {
            (Method::Mod11, 4) => total.rem_euclid(11) == i32::from(d[G] * 10 + d[H]),
            (Method::Mod11, 5) => match total.rem_euclid(11) {
                0 => d[G] == 0,
                1 => false,
                r => 11 - r == i32::from(d[G]),
            },
            (Method::Mod11, _) => total.rem_euclid(11) == 0,
            (Method::DblAl, 1) => (total + 27).rem_euclid(10) == 0,
            (Method::DblAl, 5) => match total.rem_euclid(10) {
                0 => d[H] == 0,
                r => 10 - r == i32::from(d[H]),
            },
            (Method::Mod10 | Method::DblAl, _) => total.rem_euclid(10) == 0,
        }
    }
}

/// Exception 14's second check: only accounts ending 0, 1 or 9 qualify; the
/// last digit is dropped, a 0 inserted before the account, and the same
/// modulus 11 weights applied.
fn coutts_retry(rule: &Rule, d: &[u8; 14]) -> bool {
    if !matches!(d[H], 0 | 1 | 9) {
        return false;
    }
    let mut shifted = *d;
    shifted.copy_within(A..H, A + 1);
    shifted[A] = 0;
    weighted_total(rule.method, &shifted, &rule.weights).rem_euclid(11) == 0
}

fn weighted_total(method: Method, d: &[u8; 14], w: &[i32; 14]) -> i32 {
    let products = d.iter().zip(w).map(|(&a, &b)| i32::from(a) * b);
    match method {
        Method::Mod10 | Method::Mod11 => products.sum(),
        // Double alternate adds the digits of each product, not the product.
        Method::DblAl => products.map(|p| p / 10 + p % 10).sum(),
    }
}

fn zeroise_u_to_b(w: &mut [i32; 14]) {
    w[..8].fill(0);
}

fn sort_code_value(d: &[u8; 14]) -> u32 {
    d[..6].iter().fold(0, |acc, &x| acc * 10 + u32::from(x))
}

fn set_sort_code(d: &mut [u8; 14], sc: u32) {
    let mut rest = sc;
    for slot in d[..6].iter_mut().rev() {
        *slot = (rest % 10) as u8;
        rest /= 10;
    }
}

/// The 14 digits u v w x y z a b c d e f g h, or `None` if the inputs are not
/// six and eight ASCII digits.
fn digits_of(sort_code: &str, account: &str) -> Option<[u8; 14]> {
    if sort_code.len() != 6 || account.len() != 8 {
        return None;
    }
    let mut d = [0u8; 14];
    for (slot, b) in d.iter_mut().zip(sort_code.bytes().chain(account.bytes())) {
        if !b.is_ascii_digit() {
            return None;
        }
        *slot = b - b'0';
    }
    Some(d)
}

fn parse_sort_code(s: &str) -> Result<u32, &'static str> {
    if s.len() != 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err("sort code is not 6 digits");
    }
    s.parse().map_err(|_| "sort code is not 6 digits")
}

/// One line of `valacdos.txt` as (from, to, rule), `None` for a blank line.
fn parse_rule_line(line: &str) -> Result<Option<(u32, u32, Rule)>, &'static str> {
    let mut fields = [""; 18];
    let mut count = 0;
    for f in line.split_whitespace() {
        let Some(slot) = fields.get_mut(count) else {
            return Err("expected 17 or 18 fields");
        };
        *slot = f;
        count += 1;
    }
    match count {
        0 => return Ok(None),
        17 | 18 => {}
        _ => return Err("expected 17 or 18 fields"),
    }
    let from = parse_sort_code(fields[0])?;
    let to = parse_sort_code(fields[1])?;
    if from > to {
        return Err("range ends before it starts");
    }
    let method = match fields[2] {
        "MOD10" => Method::Mod10,
        "MOD11" => Method::Mod11,
        "DBLAL" => Method::DblAl,
        _ => return Err("unknown method"),
    };
    let mut weights = [0i32; 14];
    for (w, f) in weights.iter_mut().zip(&fields[3..17]) {
        *w = f.parse().map_err(|_| "bad weight")?;
        // Real weights reach 128; the bound only keeps totals far from overflow.
        if w.abs() > 9_999 {
            return Err("bad weight");
        }
    }
    let exception = if count == 18 {
        match fields[17].parse::<u8>() {
            Ok(e @ 1..=14) => e,
            _ => return Err("exception is not a number from 1 to 14"),
        }
    } else {
        0
    };
    Ok(Some((
        from,
        to,
        Rule {
            method,
            weights,
            exception,
        },
    )))
}

/// Groups sorted (from, to, line, rule) rows into ranges of one or two rules
/// and rejects overlaps, which would make the lookup ambiguous.
fn group_ranges(lines: &[(u32, u32, usize, Rule)]) -> Result<Vec<Range>, DomainError> {
    let bad = |line: usize, why: String| DomainError::Table {
        what: "valacdos.txt",
        reason: format!("line {line}: {why}"),
    };
    let mut ranges: Vec<Range> = Vec::with_capacity(lines.len());
    let mut last_line = 0;
    for &(from, to, line, rule) in lines {
        if let Some(prev) = ranges.last_mut() {
            if prev.from == from && prev.to == to {
                if prev.second.is_some() {
                    return Err(bad(line, "a third rule for one range".to_owned()));
                }
                prev.second = Some(rule);
                last_line = line;
                continue;
            }
            if from <= prev.to {
                return Err(bad(
                    line,
                    format!("range overlaps the range on line {last_line}"),
                ));
            }
        }
        ranges.push(Range {
            from,
            to,
            first: rule,
            second: None,
        });
        last_line = line;
    }
    Ok(ranges)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROW: &str =
        "089999 089999 MOD10    0    0    0    0    0    0    7    1    3    7    1    3    7    1";

    fn check(t: &ModulusTables, sc: &str, acc: &str) -> ModulusOutcome {
        t.check(
            &SortCode::parse(sc).unwrap(),
            &UkAccountNumber::parse(acc).unwrap(),
        )
    }

    fn table_error(valacdos: &str, scsubtab: &str) -> (&'static str, String) {
        match ModulusTables::parse(valacdos, scsubtab) {
            Err(DomainError::Table { what, reason }) => (what, reason),
            other => panic!("expected a table error, got {other:?}"),
        }
    }

    #[test]
    fn a_single_mod10_rule_checks_and_uncovered_sort_codes_are_reported() {
        let t = ModulusTables::parse(ROW, "").unwrap();
        assert_eq!(t.rule_count(), 1);
        assert_eq!(check(&t, "089999", "66374958"), ModulusOutcome::Valid);
        assert_eq!(check(&t, "089999", "66374959"), ModulusOutcome::Invalid);
        assert_eq!(check(&t, "089998", "66374958"), ModulusOutcome::NotCovered);
        assert_eq!(check(&t, "090000", "66374958"), ModulusOutcome::NotCovered);
    }

    #[test]
    fn an_empty_table_covers_nothing() {
        let t = ModulusTables::parse("\n\n", "").unwrap();
        assert_eq!(t.rule_count(), 0);
        assert_eq!(check(&t, "000000", "00000000"), ModulusOutcome::NotCovered);
    }

    #[test]
    fn an_unknown_method_names_its_line() {
        let text = format!("{ROW}\n010004 016715 MOD12 0 0 0 0 0 0 8 7 6 5 4 3 2 1\n");
        let (what, reason) = table_error(&text, "");
        assert_eq!(what, "valacdos.txt");
        assert_eq!(reason, "line 2: unknown method");
    }

    #[test]
    fn wrong_field_counts_and_bad_numbers_name_their_line() {
        let (_, reason) = table_error("010004 016715 MOD11 0 0 0", "");
        assert_eq!(reason, "line 1: expected 17 or 18 fields");
        let (_, reason) = table_error("010004 016715 MOD11 0 0 0 0 0 0 8 7 6 5 4 3 2 1 1 1", "");
        assert_eq!(reason, "line 1: expected 17 or 18 fields");
        let (_, reason) = table_error(
            &format!("{ROW}\n\n01000x 016715 MOD11 0 0 0 0 0 0 8 7 6 5 4 3 2 1"),
            "",
        );
        assert_eq!(reason, "line 3: sort code is not 6 digits");
        let (_, reason) = table_error("010004 016715 MOD11 0 0 0 0 0 0 8 7 6 5 4 3 2 x", "");
        assert_eq!(reason, "line 1: bad weight");
        let (_, reason) = table_error("016715 010004 MOD11 0 0 0 0 0 0 8 7 6 5 4 3 2 1", "");
        assert_eq!(reason, "line 1: range ends before it starts");
    }

    #[test]
    fn exceptions_outside_one_to_fourteen_are_rejected() {
        for exc in ["0", "15", "x"] {
            let line = format!("010004 016715 MOD11 0 0 0 0 0 0 8 7 6 5 4 3 2 1 {exc}");
            let (_, reason) = table_error(&line, "");
            assert_eq!(reason, "line 1: exception is not a number from 1 to 14");
        }
    }

    #[test]
    fn overlapping_ranges_and_third_rules_are_rejected() {
        let text = "010004 016715 MOD11 0 0 0 0 0 0 8 7 6 5 4 3 2 1\n\
                    016700 016800 MOD11 0 0 0 0 0 0 8 7 6 5 4 3 2 1";
        let (_, reason) = table_error(text, "");
        assert_eq!(reason, "line 2: range overlaps the range on line 1");
        let text = format!("{ROW}\n{ROW}\n{ROW}");
        let (_, reason) = table_error(&text, "");
        assert_eq!(reason, "line 3: a third rule for one range");
    }

    #[test]
    fn bad_substitution_lines_name_their_line() {
        let (what, reason) = table_error(ROW, "938173 938017\n938289\n");
        assert_eq!(what, "scsubtab.txt");
        assert_eq!(reason, "line 2: expected 2 fields");
        let (_, reason) = table_error(ROW, "938173 93801x\n");
        assert_eq!(reason, "line 1: sort code is not 6 digits");
        let (_, reason) = table_error(ROW, "938173 938017 938018\n");
        assert_eq!(reason, "line 1: expected 2 fields");
        let (_, reason) = table_error(ROW, "938173 938017\n938173 938018\n");
        assert_eq!(reason, "sort code 938173 is substituted twice");
    }

    #[test]
    fn the_two_rules_of_a_range_keep_file_order_even_when_lines_are_apart() {
        // The 10 & 11 pair split by an unrelated line must still pair up as
        // first = 10, second = 11.
        let text = "871427 871427 MOD11 0 0 0 0 0 0 8 7 6 5 4 3 2 1 10\n\
                    089999 089999 MOD10 0 0 0 0 0 0 7 1 3 7 1 3 7 1\n\
                    871427 871427 MOD11 0 0 0 0 0 0 0 0 6 5 4 3 2 1 11";
        let t = ModulusTables::parse(text, "").unwrap();
        assert_eq!(t.rule_count(), 3);
        let r = t.find(871_427).unwrap();
        assert_eq!(r.first.exception, 10);
        assert_eq!(r.second.map(|s| s.exception), Some(11));
    }

    #[test]
    fn coutts_retry_only_applies_to_accounts_ending_0_1_or_9() {
        let text = "180002 180002 MOD11 0 0 0 0 0 0 8 7 6 5 4 3 2 1 14";
        let t = ModulusTables::parse(text, "").unwrap();
        assert_eq!(check(&t, "180002", "00000190"), ModulusOutcome::Valid);
        // Same shifted digits but ending in 5: no retry, so invalid.
        assert_eq!(check(&t, "180002", "00000195"), ModulusOutcome::Invalid);
    }

    #[test]
    fn sort_code_digits_round_trip() {
        let mut d = [0u8; 14];
        set_sort_code(&mut d, 90_126);
        assert_eq!(&d[..6], &EXC8_SORT_CODE);
        assert_eq!(sort_code_value(&d), 90_126);
    }
}
