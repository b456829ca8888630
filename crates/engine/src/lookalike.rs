//! Lookalike-domain detection: does a domain imitate one we protect (a verified
//! supplier's or the organisation's own)? Catches what dnstwist's fuzzers
//! generate: addition, omission, repetition, replacement, transposition,
//! insertion, hyphenation, vowel swap, bitsquatting, homoglyphs (including
//! punycode/IDN), TLD swap and subdomain tricks.
//!
//! Everything is compared on the *name* of a registrable domain (`apex` in
//! `mail.apex.co.uk`), because that is the part a fraudster cannot copy: they
//! can put anything in subdomains and pick any public suffix. A check is a
//! few hash lookups (same name, same visual skeleton, same name without
//! hyphens) plus a bounded edit distance against the protected names of
//! similar length, so it stays in the microseconds with thousands of
//! protected domains.
//!
//! False positives cost trust, so short names (four characters or fewer) need
//! stronger evidence: for them only a look-alike spelling, a different ending
//! or an embedding of the whole domain counts, never a one-letter edit
//! (`sage` and `sale` are both real businesses).

mod confusables;
mod distance;

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use crate::domains::{normalise_host, registrable_of_normalised, split_registrable};

/// How a domain imitates a protected one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Technique {
    /// A character added (`apexx.com`).
    Addition,
    /// A character left out (`apx.com`).
    Omission,
    /// A character doubled (`appex.com`).
    Repetition,
    /// A character replaced, usually by a keyboard neighbour (`apez.com`).
    Replacement,
    /// Two adjacent characters swapped (`paex.com`).
    Transposition,
    /// A keyboard neighbour inserted next to a character (`apexs.com`).
    Insertion,
    /// A hyphen added or removed (`apex-scaffolding.com`).
    Hyphenation,
    /// One vowel replaced by another (`apix.com`).
    VowelSwap,
    /// One bit flipped in one character (`aqex.com`).
    Bitsquatting,
    /// Visually similar characters, including Unicode/punycode (`аpex.com`, `rn` for `m`).
    Homoglyph,
    /// Same name under another public suffix (`apex.co` for `apex.co.uk`).
    TldSwap,
    /// The protected name used as a subdomain of another domain (`apex.co.uk.pay-portal.com`).
    Subdomain,
}

impl Technique {
    /// Plain-English description for evidence lines.
    pub const fn describe(self) -> &'static str {
        match self {
            Self::Addition => "an extra letter",
            Self::Omission => "a missing letter",
            Self::Repetition => "a doubled letter",
            Self::Replacement => "a replaced letter",
            Self::Transposition => "swapped letters",
            Self::Insertion => "an inserted letter",
            Self::Hyphenation => "an added or removed hyphen",
            Self::VowelSwap => "a changed vowel",
            Self::Bitsquatting => "a one-bit character change",
            Self::Homoglyph => "look-alike characters",
            Self::TldSwap => "a different ending",
            Self::Subdomain => "the real name hidden inside another domain",
        }
    }
}

/// A detected imitation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookalikeMatch {
    /// Index into the protected list given to [`LookalikeIndex::new`].
    pub protected: usize,
    /// How it imitates.
    pub technique: Technique,
}

/// Names this long or shorter only match on strong evidence (see module doc).
const SHORT_NAME: usize = 4;
/// Names at least this long tolerate two edits; shorter ones one.
const LONG_NAME: usize = 10;
/// Names at least this long are recognised when used as the start or end of
/// another name (`apexscaffoldingltd`); shorter ones are too likely to be
/// ordinary words inside unrelated names.
const EMBED_MIN: usize = 8;
/// How many leading or trailing characters key the embedding maps.
const EMBED_KEY: usize = EMBED_MIN;
/// Most labels or hyphen-separated parts of a host looked at for embedding;
/// real hosts have a handful, and the cap keeps hostile ones cheap.
const MAX_PARTS: usize = 8;

/// One protected domain, pre-digested for comparison.
#[derive(Debug, Clone)]
struct Entry {
    /// Position in the list given to [`LookalikeIndex::new`].
    index: usize,
    /// Registrable domain, lower-case ASCII (punycode).
    domain: String,
    /// The label before the public suffix, as Unicode.
    name: String,
    /// The public suffix (`co.uk`).
    suffix: String,
    /// `name` as characters, for edit distance.
    chars: Vec<char>,
    /// Character-presence mask of `chars`.
    mask: u64,
    /// Character counts of `chars`.
    hist: distance::Histogram,
}

impl Entry {
    /// Name length in characters, hyphens included.
    fn len(&self) -> usize {
        self.chars.len()
    }

    /// Most edits a candidate may be away from this name and still match.
    fn max_edits(&self) -> usize {
        match self.len() {
            0..=SHORT_NAME => 0,
            n if n < LONG_NAME => 1,
            _ => 2,
        }
    }
}

/// The part of an [`Entry`] the edit-distance scan reads for every
/// candidate of a plausible length.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    mask: u64,
    max_edits: usize,
    pos: usize,
}

/// Precomputed index over the protected domains, built once per organisation
/// (or per scan) and queried for every sender, reply-to and link domain.
#[derive(Debug, Clone, Default)]
pub struct LookalikeIndex {
    protected: Vec<String>,
    entries: Vec<Entry>,
    /// Protected registrable domains: a host under one of these is genuine.
    genuine: HashSet<String, FastHash>,
    /// Entry positions by name (`apex`).
    by_name: Positions,
    /// Entry positions by visual skeleton of the name.
    by_skeleton: Positions,
    /// Entry positions by name without hyphens (`brickworkssupplies`).
    by_unhyphenated: Positions,
    /// Entries that tolerate edits, by name length in characters, with the
    /// data the first filters need kept inline so the scan stays in cache.
    by_len: Vec<Vec<Candidate>>,
    /// Entry positions by the first / last [`EMBED_KEY`] characters of the
    /// unhyphenated name, for names of at least [`EMBED_MIN`] characters.
    by_head: Positions,
    by_tail: Positions,
}

/// The Unicode form of a label: punycode (`xn--…`) decoded, others as given.
fn unicode_label(label: &str) -> Cow<'_, str> {
    label
        .strip_prefix("xn--")
        .and_then(idna::punycode::decode_to_string)
        .map_or(Cow::Borrowed(label), Cow::Owned)
}

fn unhyphenated(name: &str) -> String {
    name.chars().filter(|&c| c != '-').collect()
}

fn head(s: &str) -> Option<String> {
    (s.chars().count() >= EMBED_MIN).then(|| s.chars().take(EMBED_KEY).collect())
}

fn tail(s: &str) -> Option<String> {
    let n = s.chars().count();
    (n >= EMBED_MIN).then(|| s.chars().skip(n - EMBED_KEY).collect())
}

impl LookalikeIndex {
    /// Builds the index. `protected` are registrable domains, lower-case;
    /// hosts are accepted too and reduced to their registrable domain.
    /// Entries that are not domain names are kept in [`Self::protected`] but
    /// never match.
    pub fn new(protected: Vec<String>) -> Self {
        let mut index = Self {
            protected,
            ..Self::default()
        };
        for (i, raw) in index.protected.iter().enumerate() {
            let Some(host) = normalise_host(raw) else {
                continue;
            };
            let Some(domain) = registrable_of_normalised(&host) else {
                continue;
            };
            let Some((label, suffix)) = split_registrable(domain) else {
                continue;
            };
            let name = unicode_label(label).into_owned();
            let chars: Vec<char> = name.chars().collect();
            let entry = Entry {
                index: i,
                domain: domain.to_owned(),
                suffix: suffix.to_owned(),
                mask: distance::char_mask(&chars),
                hist: distance::histogram(&chars),
                chars,
                name,
            };
            let pos = index.entries.len();
            index.genuine.insert(entry.domain.clone());
            push(&mut index.by_name, entry.name.clone(), pos);
            push(
                &mut index.by_skeleton,
                confusables::skeleton(&entry.name),
                pos,
            );
            let flat = unhyphenated(&entry.name);
            if let Some(h) = head(&flat) {
                push(&mut index.by_head, h, pos);
            }
            if let Some(t) = tail(&flat) {
                push(&mut index.by_tail, t, pos);
            }
            push(&mut index.by_unhyphenated, flat, pos);
            if entry.max_edits() > 0 && entry.len() <= distance::MAX_LABEL {
                if index.by_len.len() <= entry.len() {
                    index.by_len.resize(entry.len() + 1, Vec::new());
                }
                if let Some(bucket) = index.by_len.get_mut(entry.len()) {
                    bucket.push(Candidate {
                        mask: entry.mask,
                        max_edits: entry.max_edits(),
                        pos,
                    });
                }
            }
            index.entries.push(entry);
        }
        index
    }

    /// The protected domains, in the order given.
    pub fn protected(&self) -> &[String] {
        &self.protected
    }

    /// Whether `domain` (any host) imitates a protected domain. A domain that
    /// *is* a protected domain, or a subdomain of one, is not a lookalike.
    /// An email address is accepted too (its domain is checked).
    pub fn check(&self, domain: &str) -> Option<LookalikeMatch> {
        if self.entries.is_empty() {
            return None;
        }
        let host = domain.rsplit('@').next()?;
        let host = normalise_host(host)?;
        let registrable = registrable_of_normalised(&host)?;
        if self.genuine.contains(registrable) {
            return None;
        }
        let (label, _) = split_registrable(registrable)?;
        let name = unicode_label(label);
        self.check_name(&name)
            .or_else(|| self.check_embedding(&host, registrable, &name))
            .map(|(pos, technique)| LookalikeMatch {
                protected: self.entries.get(pos).map_or(0, |e| e.index),
                technique,
            })
    }

    /// Compares the candidate's name with the protected names. The checks
    /// run from strongest to weakest evidence, so the technique reported is
    /// the most telling one.
    fn check_name(&self, name: &str) -> Option<(usize, Technique)> {
        // The registrable domain differs, so an equal name means the suffix does.
        if let Some(&pos) = lookup(&self.by_name, name).first() {
            return Some((pos, Technique::TldSwap));
        }
        let skeleton = confusables::skeleton(name);
        if let Some(&pos) = lookup(&self.by_skeleton, &skeleton).first() {
            return Some((pos, Technique::Homoglyph));
        }
        let flat = unhyphenated(name);
        if let Some(&pos) = lookup(&self.by_unhyphenated, &flat)
            .iter()
            .find(|&&p| self.entries.get(p).is_some_and(|e| e.len() > SHORT_NAME))
        {
            return Some((pos, Technique::Hyphenation));
        }
        // Non-ASCII names are compared in their folded (Latin) form: an edit
        // on top of look-alike characters is still a look-alike.
        let idn = !name.is_ascii();
        let chars: Vec<char> = if idn {
            confusables::fold(name).chars().collect()
        } else {
            name.chars().collect()
        };
        self.nearest(&chars)
            .map(|(pos, technique)| (pos, if idn { Technique::Homoglyph } else { technique }))
    }

    /// The closest protected name within its edit allowance, with the edit.
    fn nearest(&self, chars: &[char]) -> Option<(usize, Technique)> {
        let len = chars.len();
        if len > distance::MAX_LABEL {
            return None;
        }
        let mask = distance::char_mask(chars);
        let hist = distance::histogram(chars);
        let mut best: Option<(usize, usize)> = None;
        let first = len.saturating_sub(2);
        let buckets = self.by_len.iter().enumerate().take(len + 3).skip(first);
        for (bucket_len, bucket) in buckets {
            let diff = len.abs_diff(bucket_len);
            for c in bucket {
                let k = c.max_edits;
                if diff > k || !distance::masks_allow(mask, c.mask, k) {
                    continue;
                }
                let Some(entry) = self.entries.get(c.pos) else {
                    continue;
                };
                if !distance::histograms_allow(&hist, &entry.hist, k) {
                    continue;
                }
                let d = distance::bounded_distance(chars, &entry.chars, k);
                if d == 0 || d > k {
                    continue;
                }
                if best.is_none_or(|(_, bd)| d < bd) {
                    best = Some((c.pos, d));
                }
                if d == 1 {
                    break;
                }
            }
            if best.is_some_and(|(_, d)| d == 1) {
                break;
            }
        }
        let (pos, _) = best?;
        let entry = self.entries.get(pos)?;
        Some((pos, distance::classify(chars, &entry.chars)))
    }

    /// Finds a protected name used inside a different domain: as a subdomain
    /// (`apex.co.uk.pay.com`, `apex.pay.com`, `apexx.pay.com`), split by a
    /// dot (`ap.ex.co.uk`), as hyphenated parts (`apex-co-uk.com`,
    /// `secure-apexscaffolding.com`) or as the start or end of a longer name
    /// (`apexscaffoldingltd.com`).
    fn check_embedding(
        &self,
        host: &str,
        registrable: &str,
        name: &str,
    ) -> Option<(usize, Technique)> {
        let found = |pos: usize| Some((pos, Technique::Subdomain));
        let subdomains = host
            .strip_suffix(registrable)
            .and_then(|s| s.strip_suffix('.'))
            .unwrap_or_default();
        // Nearest label first: `a.b.pay.com` gives `b`, then `a`.
        let mut joined = name.to_owned();
        for label in subdomains
            .rsplit('.')
            .filter(|l| !l.is_empty())
            .take(MAX_PARTS)
        {
            let label = unicode_label(label);
            joined.insert_str(0, &label);
            if let Some(&pos) = self.long_entries(lookup(&self.by_name, &joined)).first() {
                return found(pos);
            }
            if let Some((pos, technique)) = self.check_name(&label) {
                let exact = technique == Technique::TldSwap;
                let entry = self.entries.get(pos)?;
                let whole_domain = format!(".{host}.").contains(&format!(".{}.", entry.domain));
                if (entry.len() > SHORT_NAME || whole_domain)
                    && !(exact && !whole_domain && is_tenant_platform(registrable))
                {
                    return found(pos);
                }
            }
        }
        if name.contains('-')
            && let Some(pos) = self.check_hyphen_parts(name)
        {
            return found(pos);
        }
        let flat = unhyphenated(name);
        let longer = |pos: &&usize, starts: bool| {
            self.entries.get(**pos).is_some_and(|e| {
                let protected = unhyphenated(&e.name);
                flat.len() > protected.len()
                    && if starts {
                        flat.starts_with(&protected)
                    } else {
                        flat.ends_with(&protected)
                    }
            })
        };
        if let Some(&pos) =
            head(&flat).and_then(|h| lookup(&self.by_head, &h).iter().find(|p| longer(p, true)))
        {
            return found(pos);
        }
        if let Some(&pos) =
            tail(&flat).and_then(|t| lookup(&self.by_tail, &t).iter().find(|p| longer(p, false)))
        {
            return found(pos);
        }
        None
    }

    /// A protected name among the hyphen-separated parts of `name`
    /// (`secure-apex-scaffolding-pay`). Short protected names only count when
    /// followed by their own suffix (`acme-co-uk`).
    fn check_hyphen_parts(&self, name: &str) -> Option<usize> {
        let parts: Vec<&str> = name.split('-').take(MAX_PARTS).collect();
        for start in 0..parts.len() {
            for end in start + 1..=parts.len() {
                let run = parts.get(start..end)?;
                if run.len() == parts.len() {
                    continue;
                }
                let hyphenated = run.join("-");
                let candidates = lookup(&self.by_name, &hyphenated)
                    .iter()
                    .chain(lookup(&self.by_unhyphenated, &run.concat()));
                for &pos in candidates {
                    let entry = self.entries.get(pos)?;
                    let rest = parts.get(end..).unwrap_or_default();
                    let suffix_follows = entry
                        .suffix
                        .split('.')
                        .zip(rest.iter().chain(std::iter::repeat(&"")))
                        .all(|(want, got)| want == *got);
                    if entry.len() > SHORT_NAME || suffix_follows {
                        return Some(pos);
                    }
                }
            }
        }
        None
    }

    /// The entries in `positions` whose names are long enough to match on a
    /// weaker signal.
    fn long_entries(&self, positions: &[usize]) -> Vec<usize> {
        positions
            .iter()
            .copied()
            .filter(|&p| self.entries.get(p).is_some_and(|e| e.len() > SHORT_NAME))
            .collect()
    }
}

/// Multi-tenant platforms whose tenant names are first come, first served:
/// `apex.sharepoint.com` (Apex's document share) or `apex.us5.list-manage.com`
/// (Apex's newsletter links) is far more likely Apex's own account than an
/// imitation, so an exact name there is not flagged (a near miss still is).
fn is_tenant_platform(registrable: &str) -> bool {
    matches!(
        registrable,
        "sharepoint.com"
            | "zendesk.com"
            | "freshdesk.com"
            | "atlassian.net"
            | "list-manage.com"
            | "salesforce.com"
            | "force.com"
            | "slack.com"
            | "box.com"
            | "egnyte.com"
    )
}

/// Entry positions by a string key.
type Positions = HashMap<String, Vec<usize>, FastHash>;

/// The keys are protected names the organisation chose, not attacker input,
/// so a fast non-keyed hash (the multiply-rotate one rustc uses) is safe and
/// several times cheaper than `SipHash` for these short strings.
type FastHash = BuildHasherDefault<FxHasher>;

#[derive(Debug, Default, Clone, Copy)]
struct FxHasher(u64);

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let word = <[u8; 8]>::try_from(chunk).map_or(0, u64::from_le_bytes);
            self.add(word);
        }
        for &b in chunks.remainder() {
            self.add(u64::from(b));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The protected entries stored under `key` in `map`.
fn lookup<'a>(map: &'a Positions, key: &str) -> &'a [usize] {
    map.get(key).map_or(&[], Vec::as_slice)
}

/// Appends `pos` to the list stored under `key`.
fn push(map: &mut Positions, key: String, pos: usize) {
    map.entry(key).or_default().push(pos);
}

#[cfg(test)]
mod tests;
