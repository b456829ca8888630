//! The `sentra` binary: command-line entry point for every Sentra process.
//!
//! Subcommands are thin: they turn arguments into configuration, call the
//! library crates, and turn results into output and exit codes. Errors are
//! `anyhow` here and only here.

mod admin;
mod audit_cmd;
mod config;
mod demo;
mod dev;
mod graph_args;
mod keys_cmd;
mod migrate;
mod scan;
mod serve;
mod worker_cmd;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Sentra: payment-fraud defence for construction and trades businesses.
#[derive(Debug, Parser)]
#[command(name = "sentra", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Analyse email files offline and report what looks like payment fraud.
    Scan(scan::ScanArgs),
    /// Run the whole product on realistic data: a private database, the web app, seeded mail.
    Demo(demo::DemoArgs),
    /// Verify the audit log's hash chains, or sign a checkpoint of their heads.
    Audit(audit_cmd::AuditArgs),
    /// Generate a key file, or re-encrypt every encrypted column under a new key.
    Keys(keys_cmd::KeysArgs),
    /// Apply the database migrations (as the schema owner).
    Migrate(migrate::MigrateArgs),
    /// Run the web application.
    Serve(serve::ServeArgs),
    /// Run background jobs (Microsoft 365 sync, analysis, alerts) until stopped.
    Worker(worker_cmd::WorkerArgs),
    /// Check the configuration (TOML file plus SENTRA_* environment).
    Config(config::check::ConfigArgs),
    /// Operator commands (create an organisation and its owner).
    Admin(admin::AdminArgs),
    /// Developer tools (benchmark corpora).
    #[command(hide = true)]
    Dev(dev::DevArgs),
    /// Internal: the sandboxed PDF text worker (started by Sentra itself).
    #[command(hide = true)]
    PdfWorker,
}

/// The PDF extractor every command uses: pooled, sandboxed children of this binary.
fn pdf_extractor() -> std::io::Result<sentra_cli::pdf::SandboxedPdfExtractor> {
    sentra_cli::pdf::SandboxedPdfExtractor::new()
}

fn main() -> ExitCode {
    // The sandboxed PDF reader is this binary run as a child process; it must
    // start before any other set-up and speaks a binary protocol on stdio.
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == "pdf-worker")
    {
        return match sentra_cli::pdf::worker::run() {
            Ok(()) => ExitCode::SUCCESS,
            Err(_) => ExitCode::FAILURE,
        };
    }
    // reqwest is built without a default TLS provider (see the root
    // Cargo.toml): every HTTPS client in the process (alerts, mail, Graph)
    // uses ring, the provider sqlx already links.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    let pdf = match pdf_extractor() {
        Ok(pdf) => pdf,
        Err(e) => {
            eprintln!("sentra: cannot locate this program to run the PDF sandbox: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Dev(args) => dev::run(&args),
        Command::Migrate(args) => migrate::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Worker(args) => worker_cmd::run(&args, std::sync::Arc::new(pdf)),
        Command::Admin(args) => admin::run(&args),
        Command::Config(args) => Ok(config::check::run(&args)),
        Command::Audit(args) => audit_cmd::run(&args),
        Command::Keys(args) => keys_cmd::run(&args),
        Command::Scan(args) => scan::run(&args, &pdf),
        Command::Demo(args) => demo::run(&args, &pdf),
        Command::PdfWorker => Ok(ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("sentra: {e:#}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
