//! Where the demo's email alerts go: a minimal SMTP receiver on a loopback
//! port that accepts every message and prints one line for it (recipients
//! and subject), so live alerting is visible in the terminal without a mail
//! server. The in-process worker sends to it over plain SMTP, which the
//! worker allows only to an allow-listed address (127.0.0.1 here).
//!
//! While the demo seeds, the alerts for the backlog are only counted (one
//! line then says how many); from `ready` on, each is printed. It reads at
//! most [`MAX_MESSAGE`] bytes of a message and keeps nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpListener;

/// The `From` of the demo's alert emails (not printed as a recipient).
pub(crate) const FROM: &str = "alerts@sentra-demo.invalid";

/// The running inbox.
#[derive(Debug, Clone)]
pub(crate) struct Inbox {
    /// Its port on 127.0.0.1.
    pub port: u16,
    loud: Arc<AtomicBool>,
    received: Arc<AtomicUsize>,
}

impl Inbox {
    /// From now on, print each alert; returns how many arrived before.
    pub(crate) fn print_from_now(&self) -> usize {
        self.loud.store(true, Ordering::SeqCst);
        self.received.load(Ordering::SeqCst)
    }
}

/// A message larger than this is refused (alerts are a few kilobytes).
const MAX_MESSAGE: usize = 1024 * 1024;

/// Starts the receiver. It runs until the process ends.
pub(crate) async fn start() -> anyhow::Result<Inbox> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let inbox = Inbox {
        port: listener.local_addr()?.port(),
        loud: Arc::new(AtomicBool::new(false)),
        received: Arc::new(AtomicUsize::new(0)),
    };
    let shared = inbox.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(session(stream, shared.clone()));
        }
    });
    Ok(inbox)
}

/// One SMTP session: EHLO, MAIL, RCPT…, DATA, QUIT.
async fn session(stream: tokio::net::TcpStream, inbox: Inbox) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let _ = write.write_all(b"220 sentra-demo ESMTP\r\n").await;
    let mut rcpt: Vec<String> = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let upper = line.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            b"250 sentra-demo\r\n"
        } else if upper.starts_with("RCPT TO:") {
            rcpt.push(
                line.get(8..)
                    .unwrap_or_default()
                    .trim()
                    .trim_matches(['<', '>'])
                    .to_owned(),
            );
            b"250 ok\r\n"
        } else if upper.starts_with("DATA") {
            let _ = write.write_all(b"354 go on\r\n").await;
            let Some((subject, case_url)) = read_data(&mut lines).await else {
                return;
            };
            inbox.received.fetch_add(1, Ordering::SeqCst);
            if inbox.loud.load(Ordering::SeqCst) {
                rcpt.retain(|r| r != FROM);
                super::say(&format!(
                    "alert:     email to {}: \"{subject}\" {case_url}",
                    rcpt.join(", ")
                ));
            }
            rcpt.clear();
            b"250 delivered to the terminal\r\n"
        } else if upper.starts_with("QUIT") {
            let _ = write.write_all(b"221 bye\r\n").await;
            return;
        } else {
            b"250 ok\r\n"
        };
        if write.write_all(reply).await.is_err() {
            return;
        }
    }
}

/// Reads DATA up to the lone dot; returns the decoded subject and the case
/// link in the body, or `None` when the client went away or sent too much.
async fn read_data(
    lines: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
) -> Option<(String, String)> {
    let mut data = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
            return None;
        }
        if line == ".\r\n" || line == ".\n" {
            break;
        }
        if data.len() + line.len() > MAX_MESSAGE {
            return None;
        }
        data.extend_from_slice(line.as_bytes());
    }
    let parsed = mail_parser::MessageParser::default().parse(&data);
    let subject = parsed
        .as_ref()
        .and_then(|m| m.subject().map(str::to_owned))
        .unwrap_or_else(|| "(no subject)".to_owned());
    let body = parsed
        .as_ref()
        .and_then(|m| m.body_text(0).map(std::borrow::Cow::into_owned))
        .unwrap_or_default();
    let case_url = body
        .split_whitespace()
        .find(|w| w.contains("/cases/"))
        .unwrap_or_default()
        .trim_matches(['<', '>', '(', ')', '.'])
        .to_owned();
    Some((subject, case_url))
}
