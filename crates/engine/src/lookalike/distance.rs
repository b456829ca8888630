//! Bounded edit distance between two labels and naming of the edit that turns
//! one into the other (so evidence can say "a doubled letter", not just
//! "similar").
//!
//! The distance is the optimal-string-alignment variant of Damerau-Levenshtein
//! (insertions, deletions, substitutions, adjacent transpositions), which is
//! exactly the set of single edits dnstwist's fuzzers make. It is only ever
//! asked "is it at most 1 or 2?", so it strips the common prefix and suffix
//! first and gives up as soon as a row exceeds the bound: for unrelated names
//! it costs a handful of comparisons.

use super::Technique;

/// DNS labels are at most 63 characters; anything longer is not compared.
pub(super) const MAX_LABEL: usize = 63;

/// A bitmask of which characters occur in a label. An edit introduces at most
/// one new character, so two labels within distance `k` differ in at most `k`
/// characters each way: a test that rejects most unrelated names in a few
/// instructions, before any distance is computed.
pub(super) fn char_mask(chars: &[char]) -> u64 {
    chars.iter().fold(0, |m, &c| {
        let bit = match c {
            'a'..='z' => u32::from(c) - u32::from('a'),
            '0'..='9' => 26 + u32::from(c) - u32::from('0'),
            '-' => 36,
            _ => 37 + u32::from(c) % 27,
        };
        m | (1 << bit)
    })
}

/// Whether the masks of two labels allow a distance of at most `k`.
pub(super) fn masks_allow(a: u64, b: u64, k: usize) -> bool {
    at_most_bits(a & !b, k) && at_most_bits(b & !a, k)
}

/// Whether `x` has at most `k` bits set. Clearing the lowest bit `k` times
/// is cheaper than a population count in builds that cannot assume the
/// `popcnt` instruction.
fn at_most_bits(mut x: u64, k: usize) -> bool {
    for _ in 0..k {
        x &= x.wrapping_sub(1);
    }
    x == 0
}

/// How often each character occurs in a label (digits share four slots,
/// everything unusual one). An edit changes the sum of slot differences by
/// at most two, so labels within `k` edits are within `2k`: unlike the mask
/// this also sees repeated letters, and rejects nearly every unrelated name
/// that the mask lets through.
pub(super) type Histogram = [u8; 32];

pub(super) fn histogram(chars: &[char]) -> Histogram {
    let mut h = [0u8; 32];
    for &c in chars {
        let slot = match c {
            'a'..='z' => (u32::from(c) - u32::from('a')) as usize,
            '0'..='9' => 26 + (u32::from(c) - u32::from('0')) as usize % 4,
            '-' => 30,
            _ => 31,
        };
        if let Some(n) = h.get_mut(slot) {
            *n = n.saturating_add(1);
        }
    }
    h
}

/// Whether two histograms allow a distance of at most `k`.
pub(super) fn histograms_allow(a: &Histogram, b: &Histogram, k: usize) -> bool {
    a.iter()
        .zip(b)
        .map(|(x, y)| usize::from(x.abs_diff(*y)))
        .sum::<usize>()
        <= 2 * k
}

/// The two labels with their common prefix and suffix removed, and the
/// prefix length.
fn trim_common<'a>(a: &'a [char], b: &'a [char]) -> (&'a [char], &'a [char], usize) {
    let p = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let (a, b) = (
        a.get(p..).unwrap_or_default(),
        b.get(p..).unwrap_or_default(),
    );
    let s = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    (
        a.get(..a.len() - s).unwrap_or_default(),
        b.get(..b.len() - s).unwrap_or_default(),
        p,
    )
}

/// The optimal-string-alignment distance between `a` and `b` if it is at
/// most `k`, otherwise `k + 1`.
pub(super) fn bounded_distance(a: &[char], b: &[char], k: usize) -> usize {
    let over = k + 1;
    let (a, b, _) = trim_common(a, b);
    if a.len().abs_diff(b.len()) > k {
        return over;
    }
    if a.is_empty() || b.is_empty() {
        return a.len().max(b.len());
    }
    if a.len() > MAX_LABEL || b.len() > MAX_LABEL {
        return over;
    }
    // Three rolling rows of the dynamic-programming table, on the stack.
    let mut before = [0usize; MAX_LABEL + 1];
    let mut prev = [0usize; MAX_LABEL + 1];
    let mut cur = [0usize; MAX_LABEL + 1];
    for (j, cell) in prev.iter_mut().enumerate().take(b.len() + 1) {
        *cell = j;
    }
    for (i, &ca) in a.iter().enumerate() {
        let row = i + 1;
        if let Some(first) = cur.first_mut() {
            *first = row;
        }
        let mut row_min = row;
        for (j, &cb) in b.iter().enumerate() {
            let col = j + 1;
            let get = |r: &[usize; MAX_LABEL + 1], c: usize| r.get(c).copied().unwrap_or(over);
            let mut v = (get(&prev, col) + 1)
                .min(get(&cur, j) + 1)
                .min(get(&prev, j) + usize::from(ca != cb));
            if i > 0 && j > 0 && a.get(i - 1) == Some(&cb) && b.get(j - 1) == Some(&ca) && ca != cb
            {
                v = v.min(get(&before, j - 1) + 1);
            }
            if let Some(cell) = cur.get_mut(col) {
                *cell = v;
            }
            row_min = row_min.min(v);
        }
        if row_min > k {
            return over;
        }
        std::mem::swap(&mut before, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev.get(b.len()).copied().unwrap_or(over).min(over)
}

/// Keyboard neighbours on a QWERTY layout (dnstwist's table), used to tell a
/// slipped finger from a deliberate change.
fn qwerty_neighbours(c: char) -> &'static str {
    match c {
        '1' => "2q",
        '2' => "3wq1",
        '3' => "4ew2",
        '4' => "5re3",
        '5' => "6tr4",
        '6' => "7yt5",
        '7' => "8uy6",
        '8' => "9iu7",
        '9' => "0oi8",
        '0' => "po9",
        'q' => "12wa",
        'w' => "3esaq2",
        'e' => "4rdsw3",
        'r' => "5tfde4",
        't' => "6ygfr5",
        'y' => "7uhgt6",
        'u' => "8ijhy7",
        'i' => "9okju8",
        'o' => "0plki9",
        'p' => "lo0",
        'a' => "qwsz",
        's' => "edxzaw",
        'd' => "rfcxse",
        'f' => "tgvcdr",
        'g' => "yhbvft",
        'h' => "ujnbgy",
        'j' => "ikmnhu",
        'k' => "olmji",
        'l' => "kop",
        'z' => "asx",
        'x' => "zsdc",
        'c' => "xdfv",
        'v' => "cfgb",
        'b' => "vghn",
        'n' => "bhjm",
        'm' => "njk",
        _ => "",
    }
}

fn keyboard_adjacent(a: char, b: char) -> bool {
    qwerty_neighbours(a).contains(b) || qwerty_neighbours(b).contains(a)
}

fn is_vowel(c: char) -> bool {
    matches!(c, 'a' | 'e' | 'i' | 'o' | 'u')
}

/// Pairs of ASCII characters that pass for each other in most fonts,
/// smaller character first.
const ASCII_HOMOGLYPHS: [(char, char); 12] = [
    ('0', 'o'),
    ('1', 'l'),
    ('1', 'i'),
    ('i', 'l'),
    ('b', 'd'),
    ('c', 'e'),
    ('g', 'q'),
    ('m', 'n'),
    ('n', 'r'),
    ('u', 'v'),
    ('3', '8'),
    ('6', '9'),
];

fn ascii_homoglyphs(a: char, b: char) -> bool {
    ASCII_HOMOGLYPHS.contains(&(a.min(b), a.max(b)))
}

/// Names the edit that turns the protected label into the candidate, given
/// that they are within a small distance of each other.
pub(super) fn classify(candidate: &[char], protected: &[char]) -> Technique {
    let (ra, rb, p) = trim_common(candidate, protected);
    match (ra, rb) {
        (&[added], &[]) => {
            let before = p.checked_sub(1).and_then(|i| candidate.get(i)).copied();
            let after = candidate.get(p + 1).copied();
            let neighbours = [before, after];
            if added == '-' {
                Technique::Hyphenation
            } else if neighbours.contains(&Some(added)) {
                Technique::Repetition
            } else if neighbours
                .iter()
                .flatten()
                .any(|&n| keyboard_adjacent(added, n))
            {
                Technique::Insertion
            } else {
                Technique::Addition
            }
        }
        (&[], &[removed]) => {
            if removed == '-' {
                Technique::Hyphenation
            } else {
                Technique::Omission
            }
        }
        (&[new], &[old]) => {
            if is_vowel(new) && is_vowel(old) {
                Technique::VowelSwap
            } else if ascii_homoglyphs(new, old) {
                Technique::Homoglyph
            } else if keyboard_adjacent(new, old) {
                Technique::Replacement
            } else if new.is_ascii()
                && old.is_ascii()
                && (u32::from(new) ^ u32::from(old)).is_power_of_two()
            {
                Technique::Bitsquatting
            } else {
                Technique::Replacement
            }
        }
        (&[a0, a1], &[b0, b1]) if a0 == b1 && a1 == b0 => Technique::Transposition,
        _ => match candidate.len().cmp(&protected.len()) {
            std::cmp::Ordering::Greater => Technique::Addition,
            std::cmp::Ordering::Less => Technique::Omission,
            std::cmp::Ordering::Equal => Technique::Replacement,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    fn dist(a: &str, b: &str, k: usize) -> usize {
        bounded_distance(&chars(a), &chars(b), k)
    }

    #[test]
    fn bounded_distance_counts_single_edits_as_one() {
        assert_eq!(dist("apex", "apex", 2), 0);
        assert_eq!(dist("apexx", "apex", 2), 1);
        assert_eq!(dist("apx", "apex", 2), 1);
        assert_eq!(dist("apez", "apex", 2), 1);
        assert_eq!(dist("paex", "apex", 2), 1);
        assert_eq!(dist("northbiuld", "northbuild", 2), 1);
    }

    #[test]
    fn bounded_distance_stops_at_the_bound() {
        assert_eq!(dist("apexscafolding", "apexscaffoldinq", 2), 2);
        assert_eq!(dist("google", "apexscaffolding", 2), 3);
        assert_eq!(dist("abcdefgh", "zbcdefgy", 1), 2);
        assert_eq!(dist("", "abc", 1), 2);
    }

    #[test]
    fn classify_names_each_single_edit() {
        let c = |a: &str, b: &str| classify(&chars(a), &chars(b));
        assert_eq!(
            c("apexscafffolding", "apexscaffolding"),
            Technique::Repetition
        );
        assert_eq!(c("apexq", "apex"), Technique::Addition);
        assert_eq!(c("apexz", "apex"), Technique::Insertion);
        assert_eq!(c("apx", "apex"), Technique::Omission);
        assert_eq!(c("apez", "apex"), Technique::Replacement);
        assert_eq!(c("paex", "apex"), Technique::Transposition);
        assert_eq!(c("ap-ex", "apex"), Technique::Hyphenation);
        assert_eq!(c("acmeplant", "acme-plant"), Technique::Hyphenation);
        assert_eq!(c("apix", "apex"), Technique::VowelSwap);
        assert_eq!(c("cpex", "apex"), Technique::Bitsquatting);
        assert_eq!(c("apex1", "apexl"), Technique::Homoglyph);
    }
}
