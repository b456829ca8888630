mod fuzzer;
mod unrelated;

use super::*;
use fuzzer::{fuzz, valid_variant};
use std::collections::BTreeMap;
use unrelated::UNRELATED;

const PROTECTED: [&str; 5] = [
    "apexscaffolding.co.uk",
    "northbuild.com",
    "brickworks-supplies.co.uk",
    "acme-plant.com.au",
    "example-builders.ie",
];

fn index() -> LookalikeIndex {
    LookalikeIndex::new(PROTECTED.iter().map(|s| (*s).to_owned()).collect())
}

fn technique(domain: &str) -> Option<Technique> {
    index().check(domain).map(|m| m.technique)
}

#[test]
fn detects_at_least_95_percent_of_dnstwist_variants_for_every_technique() {
    // Arrange
    let index = index();
    let mut totals: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new();
    let mut missed: BTreeMap<&str, Vec<String>> = BTreeMap::new();

    // Act
    for (i, domain) in PROTECTED.iter().enumerate() {
        for (technique, variants) in fuzz(domain) {
            let mut seen = HashSet::new();
            for variant in variants {
                let Some(ascii) = valid_variant(&variant, domain) else {
                    continue;
                };
                // Variants that happen to be another protected domain, or a
                // subdomain of one, are genuine by definition.
                if PROTECTED.contains(&ascii.as_str()) || !seen.insert(ascii.clone()) {
                    continue;
                }
                let entry = totals.entry(technique).or_default();
                entry.0 += 1;
                match index.check(&ascii) {
                    Some(m) if m.protected == i => {
                        entry.1 += 1;
                        let label = format!("{:?}", m.technique).to_lowercase();
                        if label == technique.replace('-', "") {
                            entry.2 += 1;
                        }
                    }
                    _ => missed.entry(technique).or_default().push(variant),
                }
            }
        }
    }

    // Assert
    println!("technique       variants  detected  rate    labelled-as-same");
    for (technique, (total, detected, same)) in &totals {
        println!(
            "{technique:<15} {total:>8}  {detected:>8}  {:>6.2}%  {:>6.2}%",
            100.0 * *detected as f64 / *total as f64,
            100.0 * *same as f64 / *total as f64
        );
    }
    for (technique, list) in &missed {
        println!("missed {technique}: {:?}", &list[..list.len().min(20)]);
    }
    for (technique, (total, detected, _)) in &totals {
        assert!(*total > 0, "{technique} generated nothing");
        assert!(
            *detected as f64 >= 0.95 * *total as f64,
            "{technique}: {detected}/{total}"
        );
    }
}

#[test]
fn real_unrelated_domains_never_match_the_protected_set() {
    // Arrange
    let index = index();
    assert!(UNRELATED.len() >= 200, "{}", UNRELATED.len());

    // Act
    let hits: Vec<(&str, LookalikeMatch)> = UNRELATED
        .iter()
        .filter_map(|d| index.check(d).map(|m| (*d, m)))
        .collect();

    // Assert
    assert!(hits.is_empty(), "false positives: {hits:?}");
}

#[test]
fn real_domains_do_not_match_each_other_when_protected() {
    // Every unrelated domain protected, every other one checked against it:
    // a much larger false-positive surface than the five suppliers.
    let protected: Vec<String> = UNRELATED.iter().map(|s| (*s).to_owned()).collect();
    let index = LookalikeIndex::new(protected);
    let hits: Vec<(&str, &str, Technique)> = UNRELATED
        .iter()
        .filter_map(|d| {
            let m = index.check(d)?;
            Some((*d, index.protected()[m.protected].as_str(), m.technique))
        })
        .collect();
    println!(
        "{} of {} real domains matched another: {hits:?}",
        hits.len(),
        UNRELATED.len()
    );
    assert!(hits.is_empty(), "{hits:?}");
}

#[test]
fn punycode_cyrillic_a_is_detected_as_homoglyph() {
    // Arrange: Cyrillic а (U+0430) for the first Latin a.
    let spoof = idna::domain_to_ascii("\u{430}pexscaffolding.co.uk").unwrap();
    assert!(spoof.starts_with("xn--"), "{spoof}");

    // Act
    let got = index().check(&spoof);

    // Assert
    assert_eq!(
        got,
        Some(LookalikeMatch {
            protected: 0,
            technique: Technique::Homoglyph
        })
    );
    // The Unicode spelling and an upper-case punycode spelling too.
    assert_eq!(
        technique("\u{430}pexscaffolding.co.uk"),
        Some(Technique::Homoglyph)
    );
    assert_eq!(technique(&spoof.to_uppercase()), Some(Technique::Homoglyph));
}

#[test]
fn greek_omicron_and_mixed_script_spoofs_are_homoglyphs() {
    assert_eq!(
        technique("n\u{3bf}rthbuild.com"),
        Some(Technique::Homoglyph)
    );
    assert_eq!(
        technique("n\u{3bf}rthbuild.co.uk"),
        Some(Technique::Homoglyph)
    );
    assert_eq!(
        technique("n\u{3bf}rthbuilt.com"),
        Some(Technique::Homoglyph)
    );
    assert_eq!(technique("acrne-plant.com.au"), Some(Technique::Homoglyph));
    assert_eq!(technique("n0rthbui1d.com"), Some(Technique::Homoglyph));
}

#[test]
fn the_protected_domain_and_its_subdomains_are_not_lookalikes() {
    let index = index();
    for d in [
        "apexscaffolding.co.uk",
        "mail.apexscaffolding.co.uk",
        "APEXSCAFFOLDING.CO.UK.",
        "accounts@apexscaffolding.co.uk",
        "a.b.c.northbuild.com",
    ] {
        assert_eq!(index.check(d), None, "{d}");
    }
}

#[test]
fn each_technique_is_named_for_a_typical_example() {
    let cases = [
        ("apexscaffoldingq.co.uk", Technique::Addition),
        ("apexscafolding.co.uk", Technique::Omission),
        ("apexscafffolding.co.uk", Technique::Repetition),
        ("apexscaffoldinh.co.uk", Technique::Replacement),
        ("apexscaffodling.co.uk", Technique::Transposition),
        ("apexscaffoldinhg.co.uk", Technique::Insertion),
        ("apex-scaffolding.co.uk", Technique::Hyphenation),
        ("brickworkssupplies.co.uk", Technique::Hyphenation),
        ("apexscaffoldong.co.uk", Technique::VowelSwap),
        ("apexscaffoldinw.co.uk", Technique::Bitsquatting),
        ("apexscaffo1ding.co.uk", Technique::Homoglyph),
        ("apexscaffolding.co", Technique::TldSwap),
        ("apexscaffolding.com", Technique::TldSwap),
        ("northbuild.co.uk", Technique::TldSwap),
        ("apexscaffolding.co.uk.secure-pay.com", Technique::Subdomain),
        ("apexscaffolding-co-uk.com", Technique::Subdomain),
        ("apexscaffolding.secure-pay.com", Technique::Subdomain),
        ("apexscafolding.secure-pay.com", Technique::Subdomain),
        ("apex.scaffolding.co.uk", Technique::Subdomain),
        ("apexscaffoldingltd.com", Technique::Subdomain),
        ("secure-northbuild.net", Technique::Subdomain),
    ];
    let index = index();
    for (domain, want) in cases {
        let got = index.check(domain).map(|m| m.technique);
        assert_eq!(got, Some(want), "{domain}");
    }
}

#[test]
fn short_names_need_strong_evidence() {
    let index = LookalikeIndex::new(vec!["sage.com".into(), "apex.co.uk".into()]);
    // One-letter edits of short names are ordinary, different businesses.
    for d in [
        "sago.com",
        "safe.com",
        "sag.com",
        "sagee.com",
        "apx.co.uk",
        "aplex.co.uk",
        "sa-ge.com",
    ] {
        assert_eq!(index.check(d), None, "{d}");
    }
    // A bare short name as a subdomain label is too common to mean anything.
    assert_eq!(index.check("sage.example.com"), None);
    // Look-alike spelling, another ending, or the whole domain embedded do count.
    let t = |d: &str| index.check(d).map(|m| m.technique);
    assert_eq!(t("s\u{430}ge.com"), Some(Technique::Homoglyph));
    assert_eq!(t("apex.co"), Some(Technique::TldSwap));
    assert_eq!(t("apex.co.uk.secure-pay.com"), Some(Technique::Subdomain));
    assert_eq!(t("apex-co-uk.com"), Some(Technique::Subdomain));
}

#[test]
fn exact_tenant_names_on_shared_platforms_are_not_flagged_but_near_misses_are() {
    let index = index();
    assert_eq!(index.check("northbuild.sharepoint.com"), None);
    assert_eq!(index.check("northbuild-my.sharepoint.com"), None);
    assert_eq!(index.check("northbuild.us5.list-manage.com"), None);
    assert_eq!(
        index
            .check("northbuilld.sharepoint.com")
            .map(|m| m.technique),
        Some(Technique::Subdomain)
    );
}

#[test]
fn match_reports_the_index_given_to_new_even_when_entries_are_skipped() {
    let index = LookalikeIndex::new(vec![
        "not a domain".into(),
        "co.uk".into(),
        "northbuild.com".into(),
    ]);
    assert_eq!(index.protected().len(), 3);
    assert_eq!(
        index.check("northbiuld.com"),
        Some(LookalikeMatch {
            protected: 2,
            technique: Technique::Transposition
        })
    );
}

#[test]
fn garbage_input_returns_none_without_panicking() {
    let index = index();
    let long = "a".repeat(5000);
    let many_labels = "apexscaffolding.".repeat(300) + "com";
    let many_hyphens = "apex-".repeat(300) + "x.com";
    for d in [
        "",
        ".",
        "@",
        "com",
        "co.uk",
        "192.168.0.1",
        "[::1]",
        "localhost",
        "exa mple.com",
        "xn--.com",
        "xn--zz-.com",
        "-.com",
        long.as_str(),
        many_hyphens.as_str(),
        "日本.jp",
    ] {
        let _ = index.check(d);
    }
    // Over-long hosts are not domain names at all.
    assert_eq!(index.check(&many_labels), None);
    assert_eq!(LookalikeIndex::default().check("apexscaffolding.com"), None);
}
