//! `sentra dev bench`: in-process, single-threaded timings that separate the
//! engine's own cost from I/O and process start-up: mail-parser's bare parse
//! (the floor), then the whole engine (parse, text, attachments through the
//! PDF sandbox, extraction, classification, assessment).

use anyhow::Context as _;
use sentra_engine::{Context, History, SupplierDirectory};
use std::path::Path;
use std::time::Instant;

/// CPU time of this process and its reaped children, in seconds.
fn cpu_seconds() -> f64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    t.tv_sec as f64 + t.tv_nsec as f64 / 1e9
}

pub(crate) fn run(dir: &Path, suppliers: Option<&Path>) -> anyhow::Result<()> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    let inputs: Vec<Vec<u8>> = files.iter().map(std::fs::read).collect::<Result<_, _>>()?;
    let n = inputs.len();
    let bytes: usize = inputs.iter().map(Vec::len).sum();
    println!("{n} messages, {:.1} MiB", bytes as f64 / 1_048_576.0);

    let started = Instant::now();
    let mut parts = 0usize;
    for raw in &inputs {
        parts += mail_parser::MessageParser::default()
            .parse(raw)
            .map_or(0, |m| m.parts.len());
    }
    let parse = started.elapsed().as_secs_f64();
    println!(
        "mail-parser bare parse: {:.3} s, {:.0} messages/s ({parts} parts)",
        parse,
        n as f64 / parse
    );

    let dirctx = match suppliers {
        Some(p) => SupplierDirectory::from_csv(&std::fs::read(p)?)?,
        None => SupplierDirectory::default(),
    };
    let ctx = Context::new(dirctx, &["hartleybuild.co.uk".to_owned()], Vec::new(), None);
    let pdf = crate::pdf_extractor()?;
    let mut history = History::new();
    let cpu0 = cpu_seconds();
    let started = Instant::now();
    let prepared: Vec<(String, sentra_engine::Prepared)> = inputs
        .iter()
        .enumerate()
        .map(|(i, raw)| (i.to_string(), sentra_engine::prepare(raw, &ctx, &pdf)))
        .collect();
    let reports = sentra_engine::assess_in_order(prepared, &ctx, &mut history);
    let wall = started.elapsed().as_secs_f64();
    let cpu_parent = cpu_seconds() - cpu0;
    drop(pdf);
    let flagged = reports
        .iter()
        .filter(|r| r.risk.level >= sentra_domain::RiskLevel::Medium)
        .count();
    println!(
        "engine, one thread: {wall:.3} s wall, {cpu_parent:.3} s CPU in this process, {:.0} messages/s, {:.1}x mail-parser's bare parse time ({flagged} flagged medium or above)",
        n as f64 / wall,
        wall / parse
    );
    Ok(())
}
