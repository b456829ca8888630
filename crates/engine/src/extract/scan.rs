//! Shared scanning machinery for the extractors: the keyword scan, the
//! once-compiled anchored regexes and small text-position helpers.
//!
//! Extraction runs on every message, so the text is walked once by a byte
//! scanner that records where keywords start a word (and where an IBAN may
//! start). Each extractor then runs its label regex anchored at those
//! positions only and reads the value after the label by hand: a
//! capture-free regex is answered by the DFA alone, which is several times
//! cheaper than resolving capture groups. All regexes use ASCII word
//! boundaries: a Unicode `\b` makes the regex crate leave its fast engines
//! on the first non-ASCII byte.

use regex::Regex;
use std::sync::LazyLock;

/// A sort code label (`sort code`, `s/c`).
pub(super) const SORT_CODE: u32 = 1;
/// An account label (`account`, `acc`, `acct`, `a/c`).
pub(super) const ACCOUNT: u32 = 1 << 7;
/// A BSB label.
pub(super) const BSB: u32 = 1 << 8;
/// A routing number label (`routing`, `transit`, `ABA`, `RTN`).
pub(super) const ROUTING: u32 = 1 << 9;
/// A BIC label (`BIC`, `SWIFT`).
pub(super) const BIC: u32 = 1 << 10;
/// Any bank label.
pub(super) const BANK: u32 = SORT_CODE | ACCOUNT | BSB | ROUTING | BIC;
/// "inv" occurs (invoice numbers).
pub(super) const INVOICE: u32 = 1 << 1;
/// A currency symbol or code occurs.
pub(super) const AMOUNT: u32 = 1 << 2;
/// A total label occurs (bare amounts next to "Total").
pub(super) const TOTAL: u32 = 1 << 3;
/// A due-date or payment-terms label occurs.
pub(super) const DUE: u32 = 1 << 4;
/// A tax-id label occurs.
pub(super) const TAX: u32 = 1 << 5;
/// Two letters and two digits start a word: a possible IBAN.
pub(super) const IBAN: u32 = 1 << 6;

/// Keywords (lower case) and the extractors they enable. A keyword only
/// counts at the start of a word (or, for currency codes, right after a digit:
/// `4860GBP`); all keywords matching at one position add their flags.
const KEYWORDS: &[(&str, u32)] = &[
    ("sort", SORT_CODE),
    ("s/c", SORT_CODE),
    ("acc", ACCOUNT),
    ("a/c", ACCOUNT),
    ("bsb", BSB),
    ("routing", ROUTING),
    ("transit", ROUTING),
    ("aba", ROUTING),
    ("ach", ROUTING),
    ("wire", ROUTING),
    ("fedwire", ROUTING),
    ("rtn", ROUTING),
    ("bic", BIC),
    ("swift", BIC),
    ("inv", INVOICE),
    ("gbp", AMOUNT),
    ("eur", AMOUNT),
    ("usd", AMOUNT),
    ("aud", AMOUNT),
    ("nzd", AMOUNT),
    ("cad", AMOUNT),
    ("chf", AMOUNT),
    ("sek", AMOUNT),
    ("nok", AMOUNT),
    ("dkk", AMOUNT),
    ("pln", AMOUNT),
    ("sgd", AMOUNT),
    ("hkd", AMOUNT),
    ("total", TOTAL),
    ("amount", TOTAL),
    ("balance", TOTAL),
    ("please", TOTAL | DUE),
    ("pay", TOTAL | DUE),
    ("due", TOTAL | DUE),
    ("deadline", DUE),
    ("term", DUE),
    ("net", DUE),
    ("settle", DUE),
    ("paid", DUE),
    ("vat", TAX),
    ("abn", TAX),
    ("gb", TAX),
];

/// A keyword as a masked little-endian `u64` of its (at most eight) bytes,
/// so a word start is tested against it with one comparison.
#[derive(Clone, Copy)]
struct Packed {
    bits: u64,
    mask: u64,
    flags: u32,
}

/// Up to eight bytes from the start of `bytes`, ASCII-lower-cased, packed.
fn pack(bytes: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    for (d, s) in w.iter_mut().zip(bytes) {
        *d = s.to_ascii_lowercase();
    }
    u64::from_le_bytes(w)
}

/// Keywords grouped by first letter, and a bitmap of the letter pairs that
/// begin a keyword (`prefixes[first] & 1 << second`), which rejects most
/// words of running text with one lookup.
struct Table {
    by_letter: [Vec<Packed>; 26],
    prefixes: [u32; 26],
}

static TABLE: LazyLock<Table> = LazyLock::new(|| {
    let mut t = Table {
        by_letter: Default::default(),
        prefixes: [0; 26],
    };
    for (kw, flags) in KEYWORDS {
        let b = kw.as_bytes();
        let first = usize::from(b.first().map_or(0, |c| c.wrapping_sub(b'a')));
        if let Some(second) = b.get(1).filter(|c| c.is_ascii_lowercase())
            && let Some(bits) = t.prefixes.get_mut(first)
        {
            *bits |= 1 << (second - b'a');
        }
        let mask = u64::MAX
            .checked_shr(64 - 8 * b.len().min(8) as u32)
            .unwrap_or(0);
        if let Some(slot) = t.by_letter.get_mut(first) {
            slot.push(Packed {
                bits: pack(b),
                mask,
                flags: *flags,
            });
        }
    }
    t
});

/// Flags of the keywords starting at `rest` (a word start whose first byte
/// is the letter `first`, lower-cased to 0..26).
fn keywords_at(table: &Table, rest: &[u8], first: usize) -> u32 {
    let second = rest.get(1).copied().unwrap_or(0);
    let candidate = if second == b'/' {
        true
    } else if second.is_ascii_alphabetic() {
        let bit = 1u32 << (second.to_ascii_lowercase() - b'a');
        table.prefixes.get(first).is_some_and(|p| p & bit != 0)
    } else {
        false
    };
    if !candidate {
        return 0;
    }
    let word = pack(rest);
    table
        .by_letter
        .get(first)
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .filter(|k| word & k.mask == k.bits)
        .fold(0, |acc, k| acc | k.flags)
}

/// Where the keywords are. Extractors run their anchored patterns only at
/// these positions instead of scanning the whole text once each.
#[derive(Debug, Default)]
pub(super) struct Hits {
    /// (byte offset, flags of the keywords found there), in text order.
    pub(super) list: Vec<(usize, u32)>,
    /// Union of all flags.
    pub(super) flags: u32,
}

impl Hits {
    /// Whether a hit carrying `flag` starts in `from..to`.
    pub(super) fn any_in(&self, from: usize, to: usize, flag: u32) -> bool {
        let first = self.list.partition_point(|(p, _)| *p < from);
        self.list
            .get(first..)
            .unwrap_or_default()
            .iter()
            .take_while(|(p, _)| *p < to)
            .any(|(_, f)| f & flag != 0)
    }
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `w` that is an ASCII letter. Exact per byte:
/// no addition carries into the next byte.
fn letter_mask(w: u64) -> u64 {
    let ascii = !w & HI;
    let lower7 = (w | (0x20 * LO)) & (0x7F * LO);
    let at_least_a = lower7 + 0x1F * LO;
    let past_z = lower7 + 0x05 * LO;
    ascii & at_least_a & !past_z & HI
}

/// The high bit of each byte of `w` equal to `byte` (exact per byte).
fn byte_mask(w: u64, byte: u8) -> u64 {
    let x = w ^ (LO * u64::from(byte));
    !(((x & (0x7F * LO)) + 0x7F * LO) | x) & HI
}

/// Walks `text` once and records keyword and IBAN-candidate positions.
///
/// Eight bytes at a time: word starts (a letter after a non-letter) and the
/// lead bytes of `$`, `£` (C2 A3) and `€` (E2 82 AC) are found with bit masks,
/// so only those positions cost more than a few instructions.
pub(super) fn keyword_hits(text: &str) -> Hits {
    let b = text.as_bytes();
    let mut hits = Hits {
        list: Vec::with_capacity(text.len() / 24 + 8),
        flags: 0,
    };
    let table = &*TABLE;
    let mut base = 0;
    let mut carry = 0u64;
    while base < b.len() {
        let full = b
            .get(base..base + 8)
            .and_then(|c| <[u8; 8]>::try_from(c).ok());
        let w = if let Some(chunk) = full {
            u64::from_le_bytes(chunk)
        } else {
            // The last, short chunk, padded with zeros (neither letters nor
            // currency bytes).
            let mut chunk = [0u8; 8];
            for (d, s) in chunk.iter_mut().zip(b.get(base..).unwrap_or_default()) {
                *d = *s;
            }
            u64::from_le_bytes(chunk)
        };
        let letters = letter_mask(w);
        let starts = letters & !((letters << 8) | carry);
        carry = (letters >> 56) & 0x80;
        let currency = byte_mask(w, b'$') | byte_mask(w, 0xC2) | byte_mask(w, 0xE2);
        let mut bits = starts | currency;
        while bits != 0 {
            let i = base + bits.trailing_zeros() as usize / 8;
            bits &= bits - 1;
            let (flags, pos) = hit_at(table, b, i);
            if flags != 0 {
                hits.flags |= flags;
                hits.list.push((pos, flags));
            }
        }
        base += 8;
    }
    hits
}

/// The flags of a word start or currency lead byte at `i`.
fn hit_at(table: &Table, b: &[u8], i: usize) -> (u32, usize) {
    let rest = b.get(i..).unwrap_or_default();
    let Some(&c) = rest.first() else {
        return (0, i);
    };
    if !c.is_ascii_alphabetic() {
        let currency = match c {
            b'$' => true,
            0xC2 => rest.get(1) == Some(&0xA3),
            _ => rest.get(1..3) == Some(&[0x82, 0xAC]),
        };
        return (if currency { AMOUNT } else { 0 }, i);
    }
    // Not a word start when glued to `_` (digits may precede a currency
    // code: `4860GBP`).
    let prev = i
        .checked_sub(1)
        .and_then(|p| b.get(p))
        .copied()
        .unwrap_or(b' ');
    if prev == b'_' {
        return (0, i);
    }
    let mut flags = keywords_at(table, rest, usize::from(c.to_ascii_lowercase() - b'a'));
    if !prev.is_ascii_digit()
        && let Some(&[_, c1, c2, c3]) = rest.get(..4)
        && c1.is_ascii_alphabetic()
        && c2.is_ascii_digit()
        && c3.is_ascii_digit()
    {
        flags |= IBAN;
    }
    (flags, i)
}

/// Which extractors can possibly match `text` (a bit set of the flags above).
#[cfg(test)]
pub(super) fn keyword_flags(text: &str) -> u32 {
    keyword_hits(text).flags
}

/// How far past its keyword a label (with the gap before its value) may
/// reach. Values are read from the whole text, so this only bounds the DFA.
const MAX_LABEL: usize = 128;

/// The hits (position, flags) carrying `flag` whose keyword starts a word.
pub(super) fn word_hits<'h>(
    text: &'h str,
    hits: &'h Hits,
    flag: u32,
) -> impl Iterator<Item = (usize, u32)> + 'h {
    hits.list
        .iter()
        .filter(move |(pos, flags)| {
            flags & flag != 0 && !char_before(text, *pos).is_some_and(is_word_char)
        })
        .copied()
}

/// The end of the match of an anchored, capture-free pattern at `pos`. Label
/// patterns have no capture groups so the regex crate answers from its DFA
/// alone; values are read after the label by the small parsers below.
pub(super) fn match_end(re: &Regex, text: &str, pos: usize) -> Option<usize> {
    let hay = text.get(pos..floor_boundary(text, pos + MAX_LABEL))?;
    re.find(hay).map(|m| pos + m.end())
}

/// Whether a digit occurs in the `n` bytes from `pos`: every value sought
/// after a label has one, so a label without is skipped before any regex.
pub(super) fn digit_within(text: &str, pos: usize, n: usize) -> bool {
    text.as_bytes()
        .get(pos..)
        .unwrap_or_default()
        .iter()
        .take(n)
        .any(u8::is_ascii_digit)
}

/// Whether regex's ASCII `\b` would hold after a word character at `pos`.
pub(super) fn word_ends(text: &str, pos: usize) -> bool {
    !char_at(text, pos).is_some_and(is_word_char)
}

/// Reads digit groups of the given sizes at `pos`, each optionally preceded
/// (except the first) by one separator from `seps`: `20-29-59`, `062 000`.
/// Returns the end; the caller decides whether a word boundary must follow.
pub(super) fn digit_groups(text: &str, pos: usize, sizes: &[usize], seps: &[u8]) -> Option<usize> {
    let b = text.as_bytes();
    let mut i = pos;
    for (n, size) in sizes.iter().enumerate() {
        if n > 0 && b.get(i).is_some_and(|c| seps.contains(c)) {
            i += 1;
        }
        let group = b.get(i..i + size)?;
        if !group.iter().all(u8::is_ascii_digit) {
            return None;
        }
        i += size;
    }
    Some(i)
}

/// Reads up to `max` digits at `pos`, allowing one separator from `seps`
/// between any two digits; returns the end offset after each digit read.
pub(super) fn spaced_digits(text: &str, pos: usize, seps: &[char], max: usize) -> Vec<usize> {
    let mut ends = Vec::with_capacity(max);
    let mut chars = text.get(pos..).unwrap_or("").char_indices().peekable();
    let mut after_sep = false;
    while ends.len() < max {
        let Some((i, c)) = chars.next() else { break };
        if c.is_ascii_digit() {
            ends.push(pos + i + 1);
            after_sep = false;
        } else if seps.contains(&c)
            && !after_sep
            && !ends.is_empty()
            && chars.peek().is_some_and(|(_, n)| n.is_ascii_digit())
        {
            after_sep = true;
        } else {
            break;
        }
    }
    ends
}

/// A character that regex's ASCII `\b` counts as part of a word.
pub(super) fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Compiles a pattern written with `\b`, turning every `\b` into an ASCII word
/// boundary (see the module doc). `None` only if the pattern is invalid, which
/// the unit tests rule out for every pattern in this module tree.
pub(super) fn compile(pattern: &str) -> Option<Regex> {
    let pattern = pattern.replace(r"\b", r"(?-u:\b)");
    regex::RegexBuilder::new(&pattern)
        .size_limit(1 << 24)
        .build()
        .ok()
}

/// Like [`compile`], anchored at the start of the haystack, for use with
/// [`match_end`].
pub(super) fn compile_anchored(pattern: &str) -> Option<Regex> {
    compile(&format!("^(?:{pattern})"))
}

/// Byte offset of the start of the line containing `pos`.
pub(super) fn line_start(text: &str, pos: usize) -> usize {
    text.as_bytes()
        .get(..pos)
        .and_then(|b| memchr::memrchr(b'\n', b))
        .map_or(0, |i| i + 1)
}

/// Byte offset of the end of the line containing `pos` (the `\n` or the text end).
pub(super) fn line_end(text: &str, pos: usize) -> usize {
    text.as_bytes()
        .get(pos..)
        .and_then(|b| memchr::memchr(b'\n', b))
        .map_or(text.len(), |i| pos + i)
}

/// Number of line breaks between two offsets (in either order).
pub(super) fn lines_between(text: &str, a: usize, b: usize) -> usize {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    text.as_bytes()
        .get(lo..hi)
        .map_or(0, |s| memchr::memchr_iter(b'\n', s).count())
}

/// The largest char boundary at or before `pos`.
pub(super) fn floor_boundary(text: &str, pos: usize) -> usize {
    let mut p = pos.min(text.len());
    while p > 0 && !text.is_char_boundary(p) {
        p -= 1;
    }
    p
}

/// `text[from..to]` clamped to char boundaries; empty when out of range.
pub(super) fn slice(text: &str, from: usize, to: usize) -> &str {
    let to = floor_boundary(text, to);
    let from = floor_boundary(text, from.min(to));
    text.get(from..to).unwrap_or("")
}

/// The character just before byte offset `pos`.
pub(super) fn char_before(text: &str, pos: usize) -> Option<char> {
    text.get(..floor_boundary(text, pos))?.chars().next_back()
}

/// The character starting at byte offset `pos`.
pub(super) fn char_at(text: &str, pos: usize) -> Option<char> {
    text.get(pos..)?.chars().next()
}

/// Whether `s` (ASCII-case-insensitively) contains `needle` (given in lower case).
pub(super) fn contains_ci(s: &str, needle: &str) -> bool {
    let n = needle.as_bytes();
    !n.is_empty()
        && s.as_bytes()
            .windows(n.len())
            .any(|w| w.eq_ignore_ascii_case(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_flags_pick_only_the_extractors_whose_words_occur() {
        assert_eq!(keyword_flags("hello world"), 0);
        assert_eq!(keyword_flags("Sort code"), SORT_CODE);
        assert_eq!(keyword_flags("ABA, BIC, acct"), ROUTING | BIC | ACCOUNT);
        assert_eq!(keyword_flags("fedwire"), ROUTING);
        assert_eq!(keyword_flags("GBP 10"), AMOUNT | TAX);
        assert_eq!(keyword_flags("4860GBP"), AMOUNT | TAX);
        assert_eq!(keyword_flags("INVOICE"), INVOICE);
        assert_eq!(keyword_flags("Payment due"), TOTAL | DUE);
        assert_eq!(keyword_flags("£5 €6 $7"), AMOUNT);
        assert_eq!(keyword_flags("gb29nwbk"), TAX | IBAN);
        // Inside a word a keyword does not count.
        assert_eq!(keyword_flags("unpaid, subtotal, cabinet"), 0);
    }

    #[test]
    fn byte_masks_are_exact_for_every_byte_value() {
        for v in 0..=255u8 {
            for lane in 0..8 {
                let w = u64::from(v) << (8 * lane) | 0x2020_2020_2020_2020 & !(0xFF << (8 * lane));
                let bit = 0x80u64 << (8 * lane);
                assert_eq!(letter_mask(w) & bit != 0, v.is_ascii_alphabetic(), "{v:#x}");
                assert_eq!(byte_mask(w, 0xC2) & bit != 0, v == 0xC2, "{v:#x}");
            }
        }
    }

    #[test]
    fn keyword_hits_agree_with_a_byte_by_byte_scan() {
        let text = "xx_acc a/c Sort__sort 4860GBP £5 €6 $7 gb29nwbk é-inv ZZ99 9ab12 VAT";
        let hits = keyword_hits(text);
        let b = text.as_bytes();
        let mut expected = Vec::new();
        for i in 0..b.len() {
            let word_start =
                b[i].is_ascii_alphabetic() && (i == 0 || !b[i - 1].is_ascii_alphabetic());
            if word_start || matches!(b[i], b'$' | 0xC2 | 0xE2) {
                let (f, p) = hit_at(&TABLE, b, i);
                if f != 0 {
                    expected.push((p, f));
                }
            }
        }
        assert_eq!(hits.list, expected);
        assert!(hits.list.len() >= 10);
    }

    #[test]
    fn keyword_hits_record_word_start_positions() {
        let hits = keyword_hits("Sort code, then £5");
        let positions: Vec<usize> = hits.list.iter().map(|(p, _)| *p).collect();
        assert_eq!(positions, [0, 16]);
    }

    #[test]
    fn hits_any_in_finds_flags_by_range() {
        let hits = keyword_hits("Total: £5, then VAT");
        assert!(hits.any_in(0, 3, TOTAL));
        assert!(!hits.any_in(1, 19, TOTAL));
        assert!(hits.any_in(1, 19, TAX));
        assert!(digit_within("ab 5", 0, 4) && !digit_within("ab 5", 0, 3));
    }

    #[test]
    fn compile_rewrites_word_boundaries_to_ascii() {
        let re = compile(r"\bab\b").unwrap();
        assert!(re.is_match("£ab£"));
        assert!(!re.is_match("xab"));
        assert!(compile("(").is_none());
    }

    #[test]
    fn value_readers_follow_their_grammar() {
        assert_eq!(digit_groups("20-29-59x", 0, &[2, 2, 2], b"- "), Some(8));
        assert_eq!(digit_groups("202959", 0, &[2, 2, 2], b"- "), Some(6));
        assert_eq!(digit_groups("20--29-59", 0, &[2, 2, 2], b"- "), None);
        assert_eq!(digit_groups("2029", 0, &[2, 2, 2], b"- "), None);
        assert_eq!(spaced_digits("98 0 7806 84", 0, &[' '], 12).len(), 9);
        assert_eq!(spaced_digits("98  07", 0, &[' '], 12).len(), 2);
        assert_eq!(spaced_digits("1 x", 0, &[' '], 12), [1]);
        assert!(word_ends("ab cd", 2) && !word_ends("ab_cd", 2) && word_ends("ab", 2));
    }

    #[test]
    fn position_helpers_clamp_to_char_boundaries() {
        let t = "a£b\ncd";
        assert_eq!(line_start(t, 5), 5);
        assert_eq!(line_end(t, 0), 4);
        assert_eq!(lines_between(t, 6, 0), 1);
        assert_eq!(slice(t, 0, 2), "a");
        assert_eq!(slice(t, 2, 100), "£b\ncd");
        assert_eq!(char_before(t, 3), Some('£'));
        assert_eq!(char_at(t, 3), Some('b'));
        assert_eq!(char_at(t, 99), None);
        assert!(contains_ci("Invoice Date", "invoice date"));
        assert!(!contains_ci("ab", "abc"));
    }
}
