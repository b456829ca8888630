//! `sentra dev …`: tools for developers and benchmarks, not for operators.

mod bench;
mod corpus;
mod fake_graph;

use clap::{Args, Subcommand};
use std::net::SocketAddr;
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
    /// Time mail-parser's bare parse and the whole engine, single-threaded and
    /// in-process, over the `*.eml` files of a folder (inputs read first).
    Bench {
        /// Folder of `.eml` files (e.g. a generated corpus's `mail/`).
        path: PathBuf,
        /// Supplier CSV for the engine run.
        #[arg(long)]
        suppliers: Option<PathBuf>,
    },
    /// Run the fake Microsoft Graph server (login and Graph bases, `/_fake`
    /// admin API) on a loopback address until Ctrl-C. See `docs/FAKE_GRAPH.md`.
    FakeGraph {
        /// Loopback address to bind; port 0 picks a free one (printed).
        #[arg(long, default_value = "127.0.0.1:8089")]
        listen: SocketAddr,
        /// Random seed for ids, tokens and deliberate duplicates.
        #[arg(long, default_value_t = sentra_testkit::DEFAULT_SEED)]
        seed: u64,
        /// Seed the standard tenant: one app, a monitored and an unmonitored mailbox.
        #[arg(long)]
        seed_standard: bool,
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
        DevCommand::Bench { path, suppliers } => {
            bench::run(path, suppliers.as_deref())?;
            Ok(ExitCode::SUCCESS)
        }
        DevCommand::FakeGraph {
            listen,
            seed,
            seed_standard,
        } => fake_graph::run(*listen, *seed, *seed_standard),
    }
}
