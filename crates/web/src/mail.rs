//! Outgoing mail: invitation links and password reset links.
//!
//! With an SMTP relay configured (the `[smtp]` section / `SENTRA_SMTP_*`,
//! shared with the worker's email alerts), mail goes out through lettre
//! over rustls, each send wrapped in a timeout because lettre's own covers
//! only the connect. Without it nothing is sent: invitations answer with a
//! copyable link instead, and password reset links can only be made by an
//! administrator
//! (`POST /api/v1/users/{id}/password-reset`). Sends run in the background,
//! so a reset request for an existing address takes as long as one for an
//! unknown address. Message bodies carry the link; neither is ever logged.

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long one send may take.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(20);

/// One message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The recipient's address.
    pub to: String,
    /// The subject.
    pub subject: String,
    /// The plain-text body.
    pub body: String,
}

/// Where mail goes.
#[derive(Clone, Default)]
pub enum Mailer {
    /// Nowhere: no SMTP configured.
    #[default]
    Disabled,
    /// An SMTP relay.
    Smtp {
        /// The transport (boxed: it is large and the other variants small).
        transport: Box<AsyncSmtpTransport<Tokio1Executor>>,
        /// The `From` address.
        from: Box<Mailbox>,
    },
    /// Kept in memory (tests).
    Capture(Arc<Mutex<Vec<Outgoing>>>),
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Disabled => "Mailer::Disabled",
            Self::Smtp { .. } => "Mailer::Smtp",
            Self::Capture(_) => "Mailer::Capture",
        })
    }
}

/// Why the SMTP settings were refused.
#[derive(Debug, thiserror::Error)]
pub enum MailConfigError {
    /// The sender address does not parse.
    #[error("SENTRA_SMTP_FROM (smtp.from) is not a valid address")]
    From,
}

impl Mailer {
    /// An SMTP mailer over `transport` (built by the caller from the
    /// `[smtp]` configuration), sending as `from`.
    pub fn smtp(
        transport: AsyncSmtpTransport<Tokio1Executor>,
        from: &str,
    ) -> Result<Self, MailConfigError> {
        let from = from.parse().map_err(|_| MailConfigError::From)?;
        Ok(Self::Smtp {
            transport: Box::new(transport),
            from: Box::new(from),
        })
    }

    /// Whether mail can be delivered at all.
    pub fn enabled(&self) -> bool {
        !matches!(self, Self::Disabled)
    }

    /// Sends `mail` in the background; failures are logged without the body.
    pub fn send_in_background(&self, mail: Outgoing) {
        match self {
            Self::Disabled => {}
            Self::Capture(sink) => {
                if let Ok(mut sink) = sink.lock() {
                    sink.push(mail);
                }
            }
            Self::Smtp { transport, from } => {
                let (transport, from) = (transport.clone(), (**from).clone());
                tokio::spawn(async move {
                    let Ok(to) = mail.to.parse::<Mailbox>() else {
                        tracing::warn!("mail not sent: recipient address does not parse");
                        return;
                    };
                    let Ok(message) = Message::builder()
                        .from(from)
                        .to(to)
                        .subject(mail.subject)
                        .body(mail.body)
                    else {
                        tracing::warn!("mail not sent: message could not be built");
                        return;
                    };
                    match tokio::time::timeout(SEND_TIMEOUT, transport.send(message)).await {
                        Ok(Ok(_)) => tracing::info!("mail sent"),
                        Ok(Err(e)) => tracing::warn!(error = %e, "mail not sent"),
                        Err(_) => tracing::warn!("mail not sent: timed out"),
                    }
                });
            }
        }
    }
}
