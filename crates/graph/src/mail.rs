//! Mail endpoints (contract §5): a folder (which also proves a mailbox is
//! readable), a page of messages, and the raw RFC 822 message from `$value`,
//! streamed into a size-capped buffer and treated as bytes whatever its
//! `Content-Type`.

use crate::client::{GraphClient, Req, read_limited};
use crate::error::GraphError;
use serde::Deserialize;

/// A mail folder.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MailFolder {
    /// The folder id.
    pub id: String,
    /// Its name, for display.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Messages in it.
    #[serde(default)]
    pub total_item_count: Option<u64>,
}

/// An email address in a message's JSON projection.
#[derive(Debug, Clone, Deserialize)]
pub struct Recipient {
    /// `{name, address}`.
    #[serde(rename = "emailAddress")]
    pub email_address: EmailAddressJson,
}

/// `emailAddress` of a recipient.
#[derive(Debug, Clone, Deserialize)]
pub struct EmailAddressJson {
    /// The display name.
    #[serde(default)]
    pub name: Option<String>,
    /// The address.
    #[serde(default)]
    pub address: Option<String>,
}

/// The fields of a message Sentra reads from listings and delta pages.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageSummary {
    /// The (immutable) message id.
    pub id: String,
    /// When Exchange received it (ISO 8601).
    #[serde(default)]
    pub received_date_time: Option<String>,
    /// The `Message-ID` header.
    #[serde(default)]
    pub internet_message_id: Option<String>,
    /// The subject.
    #[serde(default)]
    pub subject: Option<String>,
    /// The sender.
    #[serde(default)]
    pub from: Option<Recipient>,
}

#[derive(Deserialize)]
struct Page<T> {
    value: Vec<T>,
    #[serde(rename = "@odata.nextLink", default)]
    next_link: Option<String>,
}

/// The `$select` Sentra uses for messages.
pub(crate) const MESSAGE_SELECT: &str = "id,receivedDateTime,internetMessageId,subject,from";

impl GraphClient {
    /// `GET /users/{mailbox}/mailFolders/{folder}`. Succeeds only when the
    /// app may read the mailbox, which is what the scope check relies on.
    pub async fn mail_folder(
        &self,
        tenant: &str,
        mailbox: &str,
        folder: &str,
    ) -> Result<MailFolder, GraphError> {
        let url = self.graph_url(&["users", mailbox, "mailFolders", folder]);
        self.send_json(tenant, Some(mailbox), &Req::get(url)).await
    }

    /// Up to `limit` messages of a folder, newest first, following
    /// `nextLink`s verbatim.
    pub async fn list_messages(
        &self,
        tenant: &str,
        mailbox: &str,
        folder: &str,
        limit: usize,
    ) -> Result<Vec<MessageSummary>, GraphError> {
        let mut url = self.graph_url(&["users", mailbox, "mailFolders", folder, "messages"]);
        url.query_pairs_mut()
            .append_pair("$select", MESSAGE_SELECT)
            .append_pair("$orderby", "receivedDateTime desc")
            .append_pair("$top", &limit.clamp(1, 100).to_string());
        let mut out = Vec::new();
        let mut next = Some(url);
        while let Some(url) = next.take() {
            let page: Page<MessageSummary> = self
                .send_json(tenant, Some(mailbox), &Req::get(url))
                .await?;
            out.extend(page.value);
            if out.len() >= limit {
                out.truncate(limit);
                break;
            }
            next = page.next_link.map(|l| self.check_link(&l)).transpose()?;
        }
        Ok(out)
    }

    /// The raw RFC 822 message from `GET /users/{mailbox}/messages/{id}/$value`,
    /// at most `max_mime_bytes` (configuration) long: reading stops and
    /// [`GraphError::TooLarge`] is returned as soon as the cap is passed.
    pub async fn message_mime(
        &self,
        tenant: &str,
        mailbox: &str,
        message_id: &str,
    ) -> Result<Vec<u8>, GraphError> {
        self.message_mime_capped(tenant, mailbox, message_id, self.inner.cfg.max_mime_bytes)
            .await
    }

    /// [`Self::message_mime`] with an explicit cap.
    pub async fn message_mime_capped(
        &self,
        tenant: &str,
        mailbox: &str,
        message_id: &str,
        cap: usize,
    ) -> Result<Vec<u8>, GraphError> {
        if message_id.is_empty() {
            return Err(GraphError::InvalidRequest("empty message id".into()));
        }
        let url = self.graph_url(&["users", mailbox, "messages", message_id, "$value"]);
        let admitted = self.send(tenant, Some(mailbox), &Req::get(url)).await?;
        read_limited(admitted.response, cap).await
    }
}
