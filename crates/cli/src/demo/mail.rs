//! The demo's mailbox: the engine's golden corpus (57 messages to Hartley
//! Build's accounts@ mailbox: invoices, statements, remittances, quotes,
//! newsletters, internal mail and every fraud pattern the engine knows),
//! compiled into the binary so the demo runs from any folder, and the
//! "live" fraudulent message sent a minute after start.
//!
//! The messages live in the fake Microsoft 365 mailbox
//! `accounts@hartleybuild.co.uk` ([`super::graph`]), from which the worker's
//! Graph sync fetches them. [`MailboxIngest`] is the fallback for a worker
//! without the sync: it hands each message straight to the ingest pipeline
//! (`sentra-ingest`, the code the sync runs), received at its own `Date:` so
//! the engine's history builds up in order: stored once, analysed, a case at
//! the organisation's threshold, alerts recorded.

use anyhow::Context as _;
use sentra_domain::OrgId;
use sentra_store::AppPool;
use sentra_store::crypto::Keyring;
use sentra_store::ids::MailboxId;
use std::sync::Arc;

/// Embeds corpus files by name.
macro_rules! corpus {
    ($($file:literal),* $(,)?) => {
        &[$(($file, include_bytes!(concat!("../../../engine/tests/fixtures/corpus/", $file)).as_slice())),*]
    };
}

/// Every corpus message, in date order (file names sort by date).
pub(crate) const CORPUS: &[(&str, &[u8])] = corpus![
    "010-hartley-site-meeting-castlegate.eml",
    "020-castlegate-programme-update.eml",
    "030-apex-invoice-sept-hire.eml",
    "040-pennine-invoice-10412-html.eml",
    "050-brackley-order-confirmation.eml",
    "060-apex-invoice-1041.eml",
    "070-hartley-reply-apex-1041.eml",
    "080-apex-reply-1041-hire-period.eml",
    "090-liffey-invoice-3318-iban.eml",
    "100-rheinwerk-invoice-4471-eur.eml",
    "110-brackley-newsletter-october.eml",
    "120-tillbox-saas-newsletter.eml",
    "130-castlegate-remittance-oct.eml",
    "140-pennine-invoice-10436-cp1252.eml",
    "150-greenway-invoice-2207-unverified.eml",
    "160-brackley-invoice-118204.eml",
    "170-coastline-tax-invoice-aud.eml",
    "180-apex-statement-october.eml",
    "190-pennine-invoice-10459-base64.eml",
    "200-ceo-fraud-are-you-at-desk.eml",
    "210-ceo-fraud-payment-request.eml",
    "220-keystone-invoice-usd.eml",
    "230-apex-display-name-outlook-chaser.eml",
    "240-pennine-reminder-10412.eml",
    "250-apex-quote-northfield.eml",
    "260-apex-lookalike-co-bank-change.eml",
    "270-apex-genuine-change-notice.eml",
    "280-apex-thread-hijack-hyphen.eml",
    "290-kestrel-invoice-invalid-account.eml",
    "300-pennine-invoice-10477-amount-anomaly.eml",
    "310-brackley-duplicate-invoice-118204.eml",
    "320-greenway-reply-to-mismatch.eml",
    "330-hartley-internal-po-keystone.eml",
    "340-apex-spoofed-auth-failure.eml",
    "350-fake-reply-northgate-final-notice.eml",
    "360-liffey-compromised-lt-iban.eml",
    "370-quickbill-invoice-pdf-exe.eml",
    "380-castlegate-remittance-docm.eml",
    "390-electrician-freemail-first-contact.eml",
    "400-forwarded-apexscaffo1ding-bank-change.eml",
    "410-brackley-compromised-mismatch.eml",
    "420-pennine-attachment-details-differ.eml",
    "430-halden-invoice-html-attachment.eml",
    "440-corrib-invoice-invalid-iban.eml",
    "450-greenway-encrypted-zip.eml",
    "460-oakmere-remittance-first-contact.eml",
    "470-apex-invoice-pdf-details-differ.eml",
    "480-arden-invoice-rtl-override.eml",
    "490-tom-reed-lookalike-own-domain.eml",
    "500-pennine-punycode-payment-link.eml",
    "510-castlegate-remittance-nov.eml",
    "520-brackley-statement-november.eml",
    "530-rheinwerk-invoice-4630-qp.eml",
    "540-apex-invoice-1152-legit.eml",
    "550-hartley-christmas-closure.eml",
    "990-unparseable-binary.eml",
    "995-unparseable-no-headers.eml",
];

/// What the analysis made of one delivered message.
#[derive(Debug, Clone)]
pub(crate) struct Delivered {
    /// The case opened for it, if any.
    pub case_id: Option<String>,
}

/// Where the demo's mail goes to be analysed.
pub(crate) trait MailSink {
    /// Delivers one raw RFC 5322 message.
    async fn deliver(&self, raw: &[u8]) -> anyhow::Result<Delivered>;
}

/// Delivers into the demo organisation's Microsoft 365 mailbox through the
/// ingest pipeline.
pub(crate) struct MailboxIngest {
    ingestor: sentra_ingest::Ingestor,
    org: OrgId,
    mailbox: MailboxId,
}

/// The demo mailbox's address.
pub(crate) const MAILBOX: &str = "accounts@hartleybuild.co.uk";

impl MailboxIngest {
    /// The pipeline over `pool`, delivering into `mailbox` of `org`.
    pub(crate) fn open(
        pool: AppPool,
        keys: Arc<Keyring>,
        org: OrgId,
        mailbox: MailboxId,
    ) -> anyhow::Result<Self> {
        let pdf: Arc<dyn sentra_engine::TextExtractor> = Arc::new(
            sentra_cli::pdf::SandboxedPdfExtractor::new().context("starting the PDF sandbox")?,
        );
        Ok(Self {
            ingestor: sentra_ingest::Ingestor::new(pool, keys).with_pdf(pdf),
            org,
            mailbox,
        })
    }
}

impl MailSink for MailboxIngest {
    async fn deliver(&self, raw: &[u8]) -> anyhow::Result<Delivered> {
        let meta = sentra_ingest::headers::read(raw);
        let provider_id = format!("demo:{}", sentra_ingest::headers::hex(&meta.content_sha256));
        let done = self
            .ingestor
            .ingest_raw(
                self.org,
                None,
                &sentra_ingest::Incoming {
                    mailbox: self.mailbox,
                    provider_id: &provider_id,
                    raw,
                    received_at: meta.date,
                },
                sentra_ingest::Source::Sync,
            )
            .await
            .context("ingesting a message")?;
        Ok(Delivered {
            case_id: done.analysed.case_id.map(|c| c.to_string()),
        })
    }
}

/// Delivers the whole corpus, in order; returns how many cases opened.
pub(crate) async fn deliver_corpus(sink: &impl MailSink) -> anyhow::Result<usize> {
    let mut cases = 0;
    for (name, raw) in CORPUS {
        let d = sink
            .deliver(raw)
            .await
            .with_context(|| format!("delivering {name}"))?;
        cases += usize::from(d.case_id.is_some());
    }
    Ok(cases)
}

/// The live message: a fresh "change of bank details" from a look-alike of
/// Pennine Plant Hire's domain, dated now, with a new Message-ID.
pub(crate) fn live_message(now: time::OffsetDateTime) -> Vec<u8> {
    let date = now
        .format(&time::format_description::well_known::Rfc2822)
        .unwrap_or_else(|_| "Mon, 30 Nov 2026 09:00:00 +0000".to_owned());
    let id = uuid::Uuid::new_v4().simple();
    format!(
        "Return-Path: <accounts@pennineplant-hire.co.uk>\r\n\
Authentication-Results: mx.hartleybuild.co.uk; spf=pass smtp.mailfrom=pennineplant-hire.co.uk; dkim=none; dmarc=none\r\n\
From: Pennine Plant Hire Ltd - Accounts <accounts@pennineplant-hire.co.uk>\r\n\
To: Hartley Build Accounts <accounts@hartleybuild.co.uk>\r\n\
Subject: URGENT: new bank details for all outstanding Pennine invoices\r\n\
Date: {date}\r\n\
Message-ID: <{id}@pennineplant-hire.co.uk>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
Good morning,\r\n\
\r\n\
Following our annual audit we have changed banks. Our old account is no longer\r\n\
in use, so please update your records and pay all outstanding invoices,\r\n\
including invoice 10477 for GBP 18,640.00, to our new account today:\r\n\
\r\n\
  Account name: Pennine Plant Hire Ltd\r\n\
  Sort code: 20-00-00\r\n\
  Account number: 55779911\r\n\
\r\n\
Please confirm by return once payment has been made. We are unable to take\r\n\
calls this week as the office is moving, so email is best.\r\n\
\r\n\
Kind regards,\r\n\
Joanne Pickering\r\n\
Credit Control, Pennine Plant Hire Ltd\r\n"
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_corpus_is_big_enough_and_the_live_message_parses() {
        assert!(CORPUS.len() >= 40, "{}", CORPUS.len());
        let raw = live_message(time::OffsetDateTime::UNIX_EPOCH);
        let text = String::from_utf8(raw).unwrap();
        assert!(
            text.contains("Date: Thu, 01 Jan 1970 00:00:00 +0000"),
            "{text}"
        );
    }
}
