//! Alert delivery: what an alert says ([`content`]), and sending it to a
//! channel — email over SMTP ([`email`]), Slack and Teams webhooks through
//! the SSRF-guarded client ([`outbound`]).

pub mod content;
pub mod email;
pub mod outbound;

use content::AlertContent;
use email::SmtpSettings;
use outbound::OutboundPolicy;
use sentra_store::repo::alert::ChannelKind;

/// Everything alert delivery needs from configuration.
#[derive(Debug, Clone)]
pub struct AlertSettings {
    /// The web application's public URL (`SENTRA_BASE_URL`), for case links.
    pub base_url: String,
    /// Where webhooks may go.
    pub outbound: OutboundPolicy,
    /// The SMTP relay; `None`: email channels fail visibly.
    pub smtp: Option<SmtpSettings>,
}

/// A channel's resolved destination.
#[derive(Debug)]
pub enum Destination<'a> {
    /// Email addresses.
    Email(&'a [String]),
    /// A webhook URL (Slack or Teams).
    Webhook(ChannelKind, &'a str),
}

impl AlertSettings {
    /// Delivers `content`. Errors are safe to store (no URL, no secrets).
    pub async fn deliver(&self, to: Destination<'_>, content: &AlertContent) -> Result<(), String> {
        match to {
            Destination::Email(recipients) => {
                let smtp = self
                    .smtp
                    .as_ref()
                    .ok_or_else(|| "no SMTP relay is configured".to_owned())?;
                email::send(smtp, recipients, content).await
            }
            Destination::Webhook(kind, url) => {
                let body = match kind {
                    ChannelKind::Teams => content.teams(),
                    ChannelKind::Slack | ChannelKind::Email => content.slack(),
                };
                let vetted = self.outbound.vet(url).await.map_err(|e| e.to_string())?;
                self.outbound
                    .post_json(&vetted, &body)
                    .await
                    .map_err(|e| e.to_string())
            }
        }
    }
}
