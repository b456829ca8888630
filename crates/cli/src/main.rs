//! The `sentra` binary: command-line entry point for every Sentra process.

fn main() -> anyhow::Result<()> {
    Ok(())
}
