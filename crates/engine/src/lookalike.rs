//! Lookalike-domain detection: does a domain imitate one we protect (a verified
//! supplier's or the organisation's own)? Catches what dnstwist's fuzzers
//! generate: addition, omission, repetition, replacement, transposition,
//! insertion, hyphenation, vowel swap, bitsquatting, homoglyphs (including
//! punycode/IDN), TLD swap and subdomain tricks.

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

/// Precomputed index over the protected domains, built once per organisation
/// (or per scan) and queried for every sender, reply-to and link domain.
#[derive(Debug, Clone, Default)]
pub struct LookalikeIndex {
    protected: Vec<String>,
}

impl LookalikeIndex {
    /// Builds the index. `protected` are registrable domains, lower-case.
    pub fn new(protected: Vec<String>) -> Self {
        Self { protected }
    }

    /// The protected domains, in the order given.
    pub fn protected(&self) -> &[String] {
        &self.protected
    }

    /// Whether `domain` (any host) imitates a protected domain. A domain that
    /// *is* a protected domain, or a subdomain of one, is not a lookalike.
    pub fn check(&self, domain: &str) -> Option<LookalikeMatch> {
        // PLACEHOLDER (being replaced by the lookalike helper).
        let _ = domain;
        None
    }
}
