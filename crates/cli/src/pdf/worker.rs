//! The `sentra pdf-worker` process: a long-lived child that reads PDF frames
//! on stdin and answers each with a text frame on stdout (see
//! the `protocol` module), under the limits in [`super::sandbox`].
//!
//! Anything that goes wrong inside one document is either caught (parse
//! errors, panics) and answered, or kills the process (CPU budget, memory,
//! stack overflow); the parent notices the death and starts a fresh worker.

use std::fs::File;
use std::io::{self, BufWriter};
use std::time::Duration;

use anyhow::Context as _;

use super::protocol::{STATUS_FAILED, STATUS_TEXT, read_frame, write_frame};
use super::{MAX_PDF_BYTES, extract, sandbox};

/// CPU time one document may use before the kernel kills the worker.
const CPU_BUDGET: Duration = Duration::from_secs(5);

/// Runs the worker until stdin closes.
pub fn run() -> anyhow::Result<()> {
    // Panics are answered as failures; their messages would only be noise.
    std::panic::set_hook(Box::new(|_| {}));
    let replies = protocol_stdout().context("taking stdout for the PDF worker protocol")?;
    sandbox::apply_static_limits(sandbox::StaticLimits::default())
        .context("setting the PDF worker's resource limits")?;
    serve(
        &mut io::stdin().lock(),
        &mut BufWriter::new(replies),
        Some(CPU_BUDGET),
    )
}

/// Moves the protocol to a private copy of stdout and points stdout itself at
/// `/dev/null`, so a stray `println!` in a parser cannot corrupt a frame.
fn protocol_stdout() -> io::Result<File> {
    let replies = File::from(rustix::io::dup(io::stdout())?);
    let null = File::options().write(true).open("/dev/null")?;
    rustix::stdio::dup2_stdout(&null)?;
    Ok(replies)
}

/// Answers frames until `input` ends. `cpu_budget` is armed before each
/// document (tests pass `None`: the limit would apply to the test process).
fn serve(
    input: &mut impl io::Read,
    output: &mut impl io::Write,
    cpu_budget: Option<Duration>,
) -> anyhow::Result<()> {
    while let Some(pdf) = read_frame(input, MAX_PDF_BYTES).context("reading a PDF frame")? {
        if let Some(budget) = cpu_budget {
            sandbox::arm_cpu_budget(budget).context("arming the CPU budget")?;
        }
        match extract::pdf_text(&pdf) {
            Ok(text) => write_frame(output, &[&[STATUS_TEXT], text.as_bytes()]),
            Err(reason) => write_frame(output, &[&[STATUS_FAILED], reason.as_bytes()]),
        }
        .context("writing a reply frame")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pdf::sample::single_page_pdf;

    #[test]
    fn serves_documents_until_input_ends() {
        let mut input = Vec::new();
        write_frame(
            &mut input,
            &[&single_page_pdf(
                b"BT /F1 12 Tf 72 720 Td (Pay 63748472) Tj ET",
            )],
        )
        .unwrap();
        write_frame(&mut input, &[b"not a pdf"]).unwrap();
        let mut output = Vec::new();
        serve(&mut input.as_slice(), &mut output, None).unwrap();
        let mut replies = output.as_slice();
        let first = read_frame(&mut replies, 1 << 20).unwrap().unwrap();
        assert_eq!(first.first(), Some(&STATUS_TEXT));
        assert!(String::from_utf8_lossy(&first).contains("Pay 63748472"));
        let second = read_frame(&mut replies, 1 << 20).unwrap().unwrap();
        assert_eq!(second.first(), Some(&STATUS_FAILED));
        assert_eq!(read_frame(&mut replies, 1 << 20).unwrap(), None);
    }
}
