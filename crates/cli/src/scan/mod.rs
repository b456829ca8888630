//! `sentra scan`: analyse `.eml` files, folders and mbox files offline.
//!
//! Inputs are read and checked first (an unreadable path is a usage error and
//! nothing is analysed), then prepared in parallel (parsing and extraction
//! depend only on the bytes), then assessed one by one in ascending `Date:`
//! order so that each message sees the history of the earlier ones.

mod inputs;
mod output;

use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};
use rayon::prelude::*;
use sentra_domain::RiskLevel;
use sentra_domain::bank::ModulusTables;
use sentra_engine::{Context, Executive, History, MessageReport, SupplierDirectory, TextExtractor};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

pub(crate) use inputs::Input;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Human-readable report (colour when a terminal).
    Text,
    /// One JSON document with every message and a summary.
    Json,
    /// One JSON message object per line.
    Jsonl,
}

/// Arguments of `sentra scan`.
#[derive(Debug, Args)]
pub(crate) struct ScanArgs {
    /// `.eml` files, folders (every `*.eml` below them) or mbox files.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Verified supplier records (CSV).
    #[arg(long, value_name = "FILE.csv")]
    pub suppliers: Option<PathBuf>,
    /// The organisation's own mail domains, comma-separated.
    #[arg(long, value_name = "d1,d2", value_delimiter = ',')]
    pub org_domains: Vec<String>,
    /// The organisation's people whose names fraudsters borrow: `"Name <addr>;Name <addr>"`.
    #[arg(long, value_name = "LIST")]
    pub executives: Option<String>,
    /// Folder holding valacdos.txt and scsubtab.txt (UK modulus tables).
    #[arg(long, value_name = "DIR", env = "SENTRA_VOCALINK_DIR")]
    pub vocalink: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Exit with status 3 when any message is at or above this level.
    #[arg(long, value_name = "LEVEL", value_parser = parse_level)]
    pub fail_on: Option<RiskLevel>,
}

fn parse_level(s: &str) -> Result<RiskLevel, String> {
    RiskLevel::parse(s)
        .ok_or_else(|| format!("unknown level {s:?} (none, low, medium, high, critical)"))
}

/// Builds the engine context from the options; every problem is a usage error.
pub(crate) fn build_context(args: &ScanArgs) -> anyhow::Result<Context> {
    let suppliers = match &args.suppliers {
        Some(path) => {
            let data = std::fs::read(path)
                .with_context(|| format!("cannot read supplier file {}", path.display()))?;
            SupplierDirectory::from_csv(&data)
                .with_context(|| format!("invalid supplier file {}", path.display()))?
        }
        None => SupplierDirectory::default(),
    };
    let executives = match &args.executives {
        Some(list) => Executive::parse_list(list)?,
        None => Vec::new(),
    };
    let modulus = match &args.vocalink {
        Some(dir) => Some(Arc::new(ModulusTables::load_dir(dir).with_context(
            || format!("cannot load Vocalink tables from {}", dir.display()),
        )?)),
        None => None,
    };
    Ok(Context::new(
        suppliers,
        &args.org_domains,
        executives,
        modulus,
    ))
}

/// Runs a scan with the given PDF extractor and returns the reports in analysis order.
pub(crate) fn analyse_all(
    inputs: &[Input],
    ctx: &Context,
    pdf: &dyn TextExtractor,
    progress: bool,
) -> Vec<MessageReport> {
    let done = AtomicUsize::new(0);
    let total = inputs.len();
    let show = progress && total >= 200 && std::io::stderr().is_terminal();
    let prepared: Vec<(String, sentra_engine::Prepared)> = inputs
        .par_iter()
        .map(|input| {
            let p = sentra_engine::prepare(&input.bytes, ctx, pdf);
            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
            if show && (n.is_multiple_of((total / 100).max(1)) || n == total) {
                progress_bar(n, total);
            }
            (input.source.clone(), p)
        })
        .collect();
    if show {
        eprintln!();
    }
    sentra_engine::assess_in_order(prepared, ctx, &mut History::new())
}

fn progress_bar(n: usize, total: usize) {
    let width = 40;
    let filled = n * width / total.max(1);
    let mut err = std::io::stderr().lock();
    let _ = write!(
        err,
        "\r[{}{}] {n}/{total}",
        "#".repeat(filled),
        " ".repeat(width - filled)
    );
    let _ = err.flush();
}

/// `sentra scan`.
pub(crate) fn run(args: &ScanArgs, pdf: &dyn TextExtractor) -> anyhow::Result<ExitCode> {
    let inputs = inputs::collect(&args.paths)?;
    let ctx = build_context(args)?;
    if inputs.is_empty() {
        bail!(
            "no messages found in {}",
            args.paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let reports = analyse_all(&inputs, &ctx, pdf, true);
    let stdout = std::io::stdout();
    let colour = stdout.is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match args.format {
        Format::Json => output::json(&mut out, &reports)?,
        Format::Jsonl => output::jsonl(&mut out, &reports)?,
        Format::Text => output::text(&mut out, &reports, colour)?,
    }
    out.flush()?;
    let worst = reports
        .iter()
        .map(|r| r.risk.level)
        .max()
        .unwrap_or(RiskLevel::None);
    Ok(match args.fail_on {
        Some(threshold) if worst >= threshold => ExitCode::from(3),
        _ => ExitCode::SUCCESS,
    })
}
