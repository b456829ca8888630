//! The sandboxed PDF extractor against the real `sentra pdf-worker`.

use std::time::{Duration, Instant};

use sentra_cli::pdf::sample::{
    invoice_pdf, pdf_from_objects, single_page_pdf, typical_invoice_lines,
};
use sentra_cli::pdf::{SandboxedPdfExtractor, sandbox};
use sentra_engine::attachment::{ExtractError, TextExtractor};

fn extractor() -> SandboxedPdfExtractor {
    SandboxedPdfExtractor::with_program(env!("CARGO_BIN_EXE_sentra"), ["pdf-worker"])
}

fn good_pdf() -> Vec<u8> {
    single_page_pdf(b"BT /F1 12 Tf 72 720 Td (Sort code 20-29-59 Account 63748472) Tj ET")
}

fn assert_reads_good_pdf(extractor: &SandboxedPdfExtractor) {
    let text = extractor.pdf_text(&good_pdf());
    assert!(
        text.as_deref()
            .is_ok_and(|t| t.contains("Sort code 20-29-59 Account 63748472")),
        "{text:?}"
    );
}

#[test]
fn reads_text_from_a_hand_written_pdf() {
    assert_reads_good_pdf(&extractor());
}

#[test]
fn reads_every_line_of_a_generated_invoice() {
    let text = extractor()
        .pdf_text(&invoice_pdf(&typical_invoice_lines()))
        .unwrap_or_default();
    for needle in [
        "Invoice number: INV-20431",
        "Sort code: 20-29-59",
        "Account number: 63748472",
        "Total due: £5,052.60",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in {text}");
    }
}

#[test]
fn keeps_one_warm_worker_between_documents() {
    let extractor = extractor();
    assert_reads_good_pdf(&extractor);
    let first = extractor.idle_worker_ids();
    assert_reads_good_pdf(&extractor);
    assert_eq!(first.len(), 1);
    assert_eq!(extractor.idle_worker_ids(), first);
}

#[test]
fn garbage_bytes_fail_and_the_worker_survives() {
    let extractor = extractor();
    let result = extractor.pdf_text(b"%PDF-1.4 this is not really a PDF \x00\xff");
    assert!(matches!(result, Err(ExtractError::Failed(_))), "{result:?}");
    assert_eq!(extractor.idle_worker_ids().len(), 1);
    assert_reads_good_pdf(&extractor);
}

#[test]
fn deeply_nested_arrays_give_an_error_not_a_hang_and_the_next_pdf_works() {
    let extractor = extractor();
    let mut hostile = b"%PDF-1.4\n1 0 obj\n".to_vec();
    hostile.extend(std::iter::repeat_n(b'[', 1_000_000));
    hostile.extend_from_slice(b"\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n");
    let started = Instant::now();
    let result = extractor.pdf_text(&hostile);
    assert!(result.is_err(), "{result:?}");
    // A hang guard, not a timing: generous for a loaded machine.
    assert!(started.elapsed() < Duration::from_mins(1));
    assert_reads_good_pdf(&extractor);
}

#[test]
fn a_huge_declared_stream_length_is_an_error() {
    let extractor = extractor();
    let hostile = String::from_utf8_lossy(&good_pdf()).replace("/Length ", "/Length 99999999999");
    let started = Instant::now();
    let result = extractor.pdf_text(hostile.as_bytes());
    // A reader may recover the stream by its `endstream` or refuse it; what
    // matters is that the answer comes back at once and the worker lives.
    assert!(
        !matches!(result, Err(ExtractError::LimitExceeded)),
        "{result:?}"
    );
    assert!(started.elapsed() < Duration::from_mins(1));
    assert_reads_good_pdf(&extractor);
}

#[test]
fn a_worker_that_overruns_the_timeout_is_killed_and_replaced() {
    // `sleep` never answers: the timeout must fire, and the next document
    // gets a fresh process.
    let extractor = SandboxedPdfExtractor::with_program("/bin/sleep", ["30"])
        .with_timeout(Duration::from_millis(200));
    let started = Instant::now();
    assert_eq!(
        extractor.pdf_text(&good_pdf()),
        Err(ExtractError::LimitExceeded)
    );
    // Well under the child's 30 s sleep: the timeout fired, not the child's exit.
    assert!(started.elapsed() < Duration::from_secs(25));
    assert!(extractor.idle_worker_ids().is_empty());
}

#[test]
fn a_worker_that_exits_is_a_failure() {
    let extractor = SandboxedPdfExtractor::with_program("/bin/true", Vec::<String>::new());
    assert!(matches!(
        extractor.pdf_text(&good_pdf()),
        Err(ExtractError::Failed(_))
    ));
}

#[test]
fn a_missing_worker_program_is_a_failure() {
    let extractor = SandboxedPdfExtractor::with_program("/nonexistent/sentra", ["pdf-worker"]);
    assert!(matches!(
        extractor.pdf_text(&good_pdf()),
        Err(ExtractError::Failed(_))
    ));
}

#[test]
fn oversized_pdfs_are_refused_without_a_worker() {
    let extractor = extractor();
    let huge = vec![b' '; sentra_cli::pdf::MAX_PDF_BYTES + 1];
    assert!(matches!(
        extractor.pdf_text(&huge),
        Err(ExtractError::Failed(_))
    ));
    assert!(extractor.idle_worker_ids().is_empty());
}

#[test]
fn concurrent_callers_each_get_a_worker() {
    let extractor = extractor();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..5 {
                    assert_reads_good_pdf(&extractor);
                }
            });
        }
    });
    let idle = extractor.idle_worker_ids().len();
    assert!((1..=4).contains(&idle), "{idle}");
}

#[test]
fn a_worker_killed_by_its_cpu_limit_is_a_limit_exceeded() {
    let extractor = SandboxedPdfExtractor::with_program("/bin/sh", ["-c", "kill -s XCPU $$"]);
    assert_eq!(
        extractor.pdf_text(&good_pdf()),
        Err(ExtractError::LimitExceeded)
    );
}

#[test]
fn a_self_referencing_form_is_an_error_and_the_worker_goes_on() {
    let stream = |content: &[u8], dict: &str| {
        let mut v = format!("<< /Length {} {dict} >>\nstream\n", content.len()).into_bytes();
        v.extend_from_slice(content);
        v.extend_from_slice(b"\nendstream");
        v
    };
    let pdf = pdf_from_objects(&[
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /Resources << /XObject << /X1 4 0 R >> >> /Contents 5 0 R >>".to_vec(),
        stream(b"/X1 Do", "/Type /XObject /Subtype /Form /BBox [0 0 9 9] /Resources << /XObject << /X1 4 0 R >> >>"),
        stream(b"/X1 Do", ""),
    ]);
    let extractor = extractor();
    assert!(extractor.pdf_text(&pdf).is_err());
    assert_reads_good_pdf(&extractor);
}

/// Not a test on its own: the body of the child processes that the sandbox
/// tests below start from this same test executable.
#[test]
fn sandbox_child() {
    match std::env::var("SENTRA_SANDBOX_CHILD").as_deref() {
        Ok("cpu") => {
            if sandbox::arm_cpu_budget(Duration::from_secs(1)).is_err() {
                std::process::exit(3);
            }
            let mut x = 0u64;
            loop {
                x = std::hint::black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1));
            }
        }
        Ok("memory") => {
            if sandbox::apply_static_limits(sandbox::StaticLimits::default()).is_err() {
                std::process::exit(3);
            }
            let big: Vec<u8> = vec![1; 2 << 30];
            std::process::exit(i32::from(!std::hint::black_box(big).is_empty()));
        }
        _ => {}
    }
}

fn run_sandbox_child(mode: &str) -> std::process::ExitStatus {
    let Ok(me) = std::env::current_exe() else {
        panic!("no current exe");
    };
    std::process::Command::new(me)
        .args(["--exact", "pdf::sandbox_child", "--test-threads=1"])
        .env("SENTRA_SANDBOX_CHILD", mode)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("spawning the sandbox child: {e}"))
}

#[test]
fn the_cpu_budget_kills_a_spinning_process_with_sigxcpu() {
    use std::os::unix::process::ExitStatusExt;
    // The signal is the proof: only the CPU rlimit sends SIGXCPU. No
    // wall-clock bound, since a starved child (a loaded or niced machine)
    // takes longer in real time to spend its CPU seconds.
    let status = run_sandbox_child("cpu");
    assert_eq!(
        status.signal(),
        Some(rustix::process::Signal::XCPU.as_raw()),
        "{status:?}"
    );
}

#[test]
fn the_address_space_limit_stops_a_huge_allocation() {
    use std::os::unix::process::ExitStatusExt;
    let status = run_sandbox_child("memory");
    assert_eq!(
        status.signal(),
        Some(rustix::process::Signal::ABORT.as_raw()),
        "{status:?}"
    );
}

/// CPU time of process `pid` in nanoseconds, from `/proc/<pid>/schedstat`.
fn process_cpu_ns(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/schedstat"))
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Cost of one generated invoice PDF: fast path and pdf-extract in process,
/// and end to end through a warm sandboxed worker (parent and child CPU).
/// Run with `cargo test --release -p sentra-cli --test it measure -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement, not a check; run in release"]
fn measure_invoice_pdf_cost() {
    let pdf = invoice_pdf(&typical_invoice_lines());
    let rounds: u32 = 2000;
    let per_doc = |elapsed: Duration| elapsed.as_secs_f64() * 1e6 / f64::from(rounds);

    let started = Instant::now();
    for _ in 0..rounds {
        assert!(sentra_cli::pdf::fast_path_text(&pdf).is_some());
    }
    println!(
        "fast path in process: {:.1} µs/doc",
        per_doc(started.elapsed())
    );

    let started = Instant::now();
    for _ in 0..rounds / 10 {
        assert!(sentra_cli::pdf::pdf_extract_text(&pdf).is_ok());
    }
    println!(
        "pdf-extract in process: {:.1} µs/doc",
        per_doc(started.elapsed()) * 10.0
    );

    let extractor = extractor();
    assert_reads_good_pdf(&extractor);
    let worker = extractor.idle_worker_ids().first().copied().unwrap_or(0);
    let parent_before = sandbox::cpu_used();
    let child_before = process_cpu_ns(worker);
    let started = Instant::now();
    for _ in 0..rounds {
        assert!(extractor.pdf_text(&pdf).is_ok());
    }
    let wall = per_doc(started.elapsed());
    let parent = per_doc(sandbox::cpu_used().saturating_sub(parent_before));
    let child =
        process_cpu_ns(worker).saturating_sub(child_before) as f64 / 1e3 / f64::from(rounds);
    assert_eq!(
        extractor.idle_worker_ids(),
        vec![worker],
        "the same warm worker served every document"
    );
    println!(
        "sandboxed end to end ({} bytes): wall {wall:.1} µs/doc, CPU parent {parent:.1} + worker {child:.1} = {:.1} µs/doc",
        pdf.len(),
        parent + child
    );
}
