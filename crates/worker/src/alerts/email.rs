//! Email alerts over SMTP (lettre, rustls). Recipients are the members
//! holding the channel's roles plus any extra addresses on the channel, so an
//! alert never goes only to the person who triggered it. lettre's own
//! timeout covers only connecting, so the whole send is also bounded here
//! (dependencies.md: a stalled server otherwise hangs `send`).

use super::content::AlertContent;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;
use zeroize::Zeroizing;

/// How SMTP connections are secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Implicit TLS (port 465).
    Tls,
    /// STARTTLS, required (port 587).
    StartTls,
    /// No TLS: only for a relay on an allow-listed address (tests, a local
    /// relay that does TLS onwards).
    Plain,
}

/// The SMTP relay alerts go through (`SENTRA_SMTP_*`).
#[derive(Clone)]
pub struct SmtpSettings {
    /// Relay host name.
    pub host: String,
    /// Relay port.
    pub port: u16,
    /// How the connection is secured.
    pub security: SmtpSecurity,
    /// User name and password, if the relay wants them.
    pub credentials: Option<(String, Zeroizing<String>)>,
    /// The `From` of alert emails.
    pub from: String,
    /// The bound on one whole send.
    pub timeout: Duration,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

/// Sends `content` to `to` as one message with the recipients in `Bcc`, so
/// members' addresses are not disclosed to each other.
pub async fn send(
    smtp: &SmtpSettings,
    to: &[String],
    content: &AlertContent,
) -> Result<(), String> {
    if to.is_empty() {
        return Err("the email channel has no recipients".to_owned());
    }
    let from: Mailbox = smtp
        .from
        .parse()
        .map_err(|_| "the configured From address is invalid".to_owned())?;
    let mut builder = Message::builder()
        .from(from.clone())
        .to(from)
        .subject(content.title.clone());
    for r in to {
        let mailbox: Mailbox = r
            .parse()
            .map_err(|_| "a recipient address is invalid".to_owned())?;
        builder = builder.bcc(mailbox);
    }
    let message = builder
        .body(content.text())
        .map_err(|e| format!("building the email failed: {e}"))?;
    let transport = transport(smtp)?;
    match tokio::time::timeout(smtp.timeout, transport.send(message)).await {
        Err(_) => Err("the SMTP relay timed out".to_owned()),
        // lettre's errors name the server's reply, never credentials.
        Ok(Err(e)) => Err(format!("the SMTP relay refused or failed: {e}")),
        Ok(Ok(_)) => Ok(()),
    }
}

/// The transport for `smtp`: its host, port, TLS mode, credentials and
/// connect timeout. `sentra serve` builds its invitation and reset mailer
/// with it too, so both processes read the one `[smtp]` configuration the
/// same way.
pub fn transport(smtp: &SmtpSettings) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let mut transport = match smtp.security {
        SmtpSecurity::Plain => {
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.host.as_str())
        }
        SmtpSecurity::Tls | SmtpSecurity::StartTls => {
            let params = TlsParameters::new(smtp.host.clone())
                .map_err(|e| format!("smtp tls set-up failed: {e}"))?;
            let tls = if smtp.security == SmtpSecurity::Tls {
                Tls::Wrapper(params)
            } else {
                Tls::Required(params)
            };
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.host.as_str()).tls(tls)
        }
    }
    .port(smtp.port)
    .timeout(Some(smtp.timeout));
    if let Some((user, password)) = &smtp.credentials {
        transport = transport.credentials(Credentials::new(user.clone(), password.to_string()));
    }
    Ok(transport.build())
}
