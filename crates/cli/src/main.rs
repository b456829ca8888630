//! The `sentra` binary: command-line entry point for every Sentra process.

fn main() -> anyhow::Result<()> {
    // The sandboxed PDF reader is this binary run as a child process; it must
    // start before any other set-up (see `sentra_cli::pdf`).
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == "pdf-worker")
    {
        return sentra_cli::pdf::worker::run();
    }
    Ok(())
}
