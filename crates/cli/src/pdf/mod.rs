//! PDF text for the engine, read in sandboxed child processes.
//!
//! PDF parsers are large, and on hostile input they panic, loop, exhaust
//! memory or overflow the stack. [`SandboxedPdfExtractor`] therefore never
//! parses a PDF itself: it hands each document to a worker process (the
//! `sentra` binary run as `sentra pdf-worker`, see [`worker`]) that has
//! limited its own memory, CPU time, files and children ([`sandbox`]). Workers
//! are kept warm between documents, one per concurrent caller, and a worker
//! that dies or overruns its wall-clock deadline is killed and replaced.

mod extract;
mod fast;
mod protocol;
pub mod sample;
pub mod sandbox;
pub mod worker;

use std::ffi::OsString;
use std::io::{self, BufReader, BufWriter, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use rustix::process::Signal;
use sentra_engine::attachment::{ExtractError, TextExtractor};

pub use extract::{fast_path_text, pdf_extract_text, pdf_text as pdf_text_in_process};

use protocol::{STATUS_FAILED, STATUS_TEXT, read_frame, write_frame};

/// Larger PDFs are refused without being parsed.
pub const MAX_PDF_BYTES: usize = 20 << 20;
/// Replies are text capped by the engine's limit, plus the status byte.
const MAX_REPLY_BYTES: usize = extract::MAX_TEXT_BYTES + 1;
/// Wall-clock time one document may take, by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A [`TextExtractor`] that reads PDFs in sandboxed worker processes.
///
/// Safe to share between threads (rayon workers): each concurrent call
/// checks out its own worker. Dropping the extractor kills its workers.
#[derive(Debug)]
pub struct SandboxedPdfExtractor {
    program: PathBuf,
    args: Vec<OsString>,
    timeout: Duration,
    max_idle: usize,
    idle: Mutex<Vec<Worker>>,
}

impl SandboxedPdfExtractor {
    /// Workers run the current executable as `sentra pdf-worker`.
    pub fn new() -> io::Result<Self> {
        Ok(Self::with_program(std::env::current_exe()?, ["pdf-worker"]))
    }

    /// Workers run `program` with `args` (tests name the `sentra` binary,
    /// because their own executable is the test harness).
    pub fn with_program<I, S>(program: impl Into<PathBuf>, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        Self {
            program: program.into(),
            args: args.into_iter().map(Into::into).collect(),
            timeout: DEFAULT_TIMEOUT,
            max_idle: thread::available_parallelism().map_or(4, usize::from),
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Sets the wall-clock time one document may take.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Process ids of the idle workers (for tests and diagnostics).
    pub fn idle_worker_ids(&self) -> Vec<u32> {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|w| w.child.id())
            .collect()
    }

    fn checkout(&self) -> io::Result<Worker> {
        loop {
            let idle = self
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop();
            let Some(mut worker) = idle else {
                return Worker::spawn(&self.program, &self.args);
            };
            // A worker that died while idle (killed from outside) is dropped
            // here rather than failing the next document.
            if matches!(worker.child.try_wait(), Ok(None)) {
                return Ok(worker);
            }
            worker.stop();
        }
    }

    fn checkin(&self, worker: Worker) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < self.max_idle {
            idle.push(worker);
        }
        // Otherwise the worker drops here and is stopped.
    }
}

impl TextExtractor for SandboxedPdfExtractor {
    fn pdf_text(&self, pdf: &[u8]) -> Result<String, ExtractError> {
        if pdf.len() > MAX_PDF_BYTES {
            return Err(ExtractError::Failed(
                "the PDF is larger than 20 MiB".to_owned(),
            ));
        }
        let mut worker = self
            .checkout()
            .map_err(|_| ExtractError::Failed("the PDF reader could not be started".to_owned()))?;
        match worker.extract(pdf, self.timeout) {
            Ok(reply) => {
                self.checkin(worker);
                reply
            }
            Err(death) => Err(worker.bury(death)),
        }
    }
}

/// Why a worker stopped answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Death {
    /// It did not answer within the wall-clock timeout.
    Timeout,
    /// The pipe broke or the reply was malformed: it died or misbehaved.
    Broken,
}

/// One worker process and the thread that reads its replies.
#[derive(Debug)]
struct Worker {
    child: Child,
    stdin: Option<BufWriter<ChildStdin>>,
    replies: Receiver<io::Result<Vec<u8>>>,
    reader: Option<JoinHandle<()>>,
}

impl Worker {
    fn spawn(program: &PathBuf, args: &[OsString]) -> io::Result<Self> {
        let mut child = Command::new(program)
            .args(args)
            // Secrets in the environment (database URL, keys) have no
            // business in a process that parses attacker-supplied files.
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::other("worker pipes missing"));
        };
        let (sender, replies) = mpsc::channel();
        // Replies are read on a thread so the caller can wait with a timeout;
        // the thread ends when the worker's stdout closes.
        let reader = thread::Builder::new()
            .name("pdf-worker-reader".to_owned())
            .spawn(move || {
                let mut stdout = BufReader::new(stdout);
                loop {
                    let frame = read_frame(&mut stdout, MAX_REPLY_BYTES);
                    let done = !matches!(frame, Ok(Some(_)));
                    let message = match frame {
                        Ok(Some(f)) => Ok(f),
                        Ok(None) => Err(io::ErrorKind::UnexpectedEof.into()),
                        Err(e) => Err(e),
                    };
                    if sender.send(message).is_err() || done {
                        return;
                    }
                }
            });
        let reader = match reader {
            Ok(handle) => handle,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(e);
            }
        };
        Ok(Self {
            child,
            stdin: Some(BufWriter::new(stdin)),
            replies,
            reader: Some(reader),
        })
    }

    /// Sends one document and waits for its reply.
    fn extract(
        &mut self,
        pdf: &[u8],
        timeout: Duration,
    ) -> Result<Result<String, ExtractError>, Death> {
        let Some(stdin) = self.stdin.as_mut() else {
            return Err(Death::Broken);
        };
        write_frame(stdin, &[pdf]).map_err(|_| Death::Broken)?;
        let frame = match self.replies.recv_timeout(timeout) {
            Ok(Ok(frame)) => frame,
            Ok(Err(_)) | Err(RecvTimeoutError::Disconnected) => return Err(Death::Broken),
            Err(RecvTimeoutError::Timeout) => return Err(Death::Timeout),
        };
        let (status, body) = frame.split_first().ok_or(Death::Broken)?;
        match *status {
            STATUS_TEXT => Ok(Ok(String::from_utf8_lossy(body).into_owned())),
            STATUS_FAILED => Ok(Err(ExtractError::Failed(
                String::from_utf8_lossy(body).into_owned(),
            ))),
            _ => Err(Death::Broken),
        }
    }

    /// Stops a worker that died or overran, and says what that means for
    /// the document it was reading.
    fn bury(mut self, death: Death) -> ExtractError {
        if death == Death::Timeout {
            self.stop();
            return ExtractError::LimitExceeded;
        }
        let status = self.wait_briefly();
        self.stop();
        match status.and_then(|s| s.signal()) {
            Some(sig) if LIMIT_SIGNALS.iter().any(|s| s.as_raw() == sig) => {
                ExtractError::LimitExceeded
            }
            _ => ExtractError::Failed("the PDF reader stopped unexpectedly".to_owned()),
        }
    }

    /// The exit status of a worker whose pipe broke; it is normally already
    /// exiting, so this waits only a moment.
    fn wait_briefly(&mut self) -> Option<ExitStatus> {
        let deadline = Instant::now() + Duration::from_millis(500);
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(1)),
                _ => return None,
            }
        }
    }

    fn stop(&mut self) {
        // Closing stdin lets an idle worker exit on its own; the kill covers a
        // busy or stuck one. Killing an already reaped child is a no-op.
        if let Some(mut stdin) = self.stdin.take() {
            let _ = stdin.flush();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

/// Signals that mean the worker hit a limit: `SIGXCPU` (CPU budget),
/// `SIGKILL` (hard limits, the OOM killer), `SIGABRT` (allocation failure
/// under the address-space limit) and `SIGSEGV`/`SIGBUS` (stack overflow).
const LIMIT_SIGNALS: [Signal; 5] = [
    Signal::XCPU,
    Signal::KILL,
    Signal::ABORT,
    Signal::SEGV,
    Signal::BUS,
];

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop();
    }
}
