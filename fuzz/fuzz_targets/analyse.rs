//! Fuzz target: the engine's entry point must never panic, whatever the bytes.
//! Run with `cargo +nightly fuzz run analyse` (seed it with ../../shared/data/mime).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sentra_engine::{Context, History, NoPdfExtractor, SupplierDirectory};
use std::sync::LazyLock;

static CTX: LazyLock<Context> = LazyLock::new(|| {
    let csv = b"name,domains,phone,country,sort_code,account_number\nApex Scaffolding Ltd,apexscaffolding.co.uk,+44 20 7946 0001,GB,08-99-99,66374958\n";
    let suppliers = SupplierDirectory::from_csv(csv).unwrap_or_default();
    Context::new(suppliers, &["hartleybuild.co.uk".to_owned()], Vec::new(), None)
});

fuzz_target!(|data: &[u8]| {
    let mut history = History::new();
    let p = sentra_engine::prepare(data, &CTX, &NoPdfExtractor);
    let a = sentra_engine::assess(&p, &CTX, &history);
    sentra_engine::remember(&mut history, &p, &a, &CTX, "fuzz");
    let _ = sentra_engine::message_report("fuzz", &p, &a, &CTX);
});
