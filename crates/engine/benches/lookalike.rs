//! Cost of one `LookalikeIndex::check` against 500 protected domains: it runs
//! for every sender, reply-to and link domain of every message, so it must
//! stay in the low microseconds.

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use sentra_engine::lookalike::LookalikeIndex;

const FIRST: [&str; 25] = [
    "apex", "north", "brick", "acme", "stone", "river", "oak", "swift", "metro", "prime", "summit",
    "harbour", "castle", "bridge", "ember", "granite", "willow", "falcon", "beacon", "meadow",
    "copper", "anchor", "pioneer", "atlas", "vertex",
];
const SECOND: [&str; 20] = [
    "scaffolding",
    "build",
    "works",
    "plant",
    "supplies",
    "builders",
    "electrical",
    "plumbing",
    "roofing",
    "joinery",
    "hire",
    "timber",
    "concrete",
    "glazing",
    "drainage",
    "civils",
    "interiors",
    "haulage",
    "paving",
    "steel",
];
const SUFFIXES: [&str; 5] = ["co.uk", "com", "com.au", "ie", "net"];

/// 500 distinct, realistic supplier domains.
fn protected() -> Vec<String> {
    let mut out = Vec::with_capacity(500);
    for (i, first) in FIRST.iter().enumerate() {
        for (j, second) in SECOND.iter().enumerate() {
            let hyphen = if (i + j) % 3 == 0 { "-" } else { "" };
            let suffix = SUFFIXES.get((i * 7 + j) % SUFFIXES.len()).unwrap_or(&"com");
            out.push(format!("{first}{hyphen}{second}.{suffix}"));
        }
    }
    out
}

/// What real traffic looks like: mostly unrelated and genuine domains, some
/// lookalikes of several kinds.
const QUERIES: [&str; 16] = [
    "google.com",
    "mail.outlook.com",
    "em.mailchimpapp.net",
    "xero.com",
    "hmrc.gov.uk",
    "travisperkins.co.uk",
    "screwfix.com",
    "links.docusign.net",
    "apexscaffolding.co.uk",
    "mail.northbuild.com",
    "apexscafolding.co.uk",
    "xn--pexscaffolding-3nf.co.uk",
    "northbuild.co",
    "apexscaffolding.co.uk.secure-pay.com",
    "stone-works-payments.com",
    "brick-suplies.net",
];

fn bench(c: &mut Criterion) {
    let index = LookalikeIndex::new(protected());
    // One iteration is all 16 queries: divide by 16 for the cost of a check.
    c.bench_function("lookalike_check_500_protected_mixed", |b| {
        b.iter(|| {
            for q in QUERIES {
                black_box(index.check(black_box(q)));
            }
        });
    });
    c.bench_function("lookalike_check_500_protected_unrelated", |b| {
        b.iter(|| black_box(index.check(black_box("travisperkins.co.uk"))));
    });
    c.bench_function("lookalike_check_500_protected_idn", |b| {
        b.iter(|| black_box(index.check(black_box("xn--pexscaffolding-3nf.co.uk"))));
    });
    c.bench_function("lookalike_index_build_500", |b| {
        b.iter(|| black_box(LookalikeIndex::new(protected())));
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
