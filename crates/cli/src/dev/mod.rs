//! `sentra dev …`: tools for developers and benchmarks, not for operators.

mod corpus;

use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `sentra dev`.
#[derive(Debug, Args)]
pub(crate) struct DevArgs {
    #[command(subcommand)]
    command: DevCommand,
}

#[derive(Debug, Subcommand)]
enum DevCommand {
    /// Write a reproducible mixed mailbox (and its suppliers.csv) for benchmarks.
    GenCorpus {
        /// Output folder (created): `suppliers.csv` and `mail/NNNNNN.eml`.
        #[arg(long)]
        out: PathBuf,
        /// Number of messages.
        #[arg(long, default_value_t = 10_000)]
        count: usize,
        /// Random seed; the same seed gives the same corpus.
        #[arg(long, default_value_t = 2026)]
        seed: u64,
    },
}

/// `sentra dev`.
pub(crate) fn run(args: &DevArgs) -> anyhow::Result<ExitCode> {
    match &args.command {
        DevCommand::GenCorpus { out, count, seed } => {
            corpus::generate(out, *count, *seed)?;
            eprintln!("wrote {count} messages to {}", out.join("mail").display());
            Ok(ExitCode::SUCCESS)
        }
    }
}
