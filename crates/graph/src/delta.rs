//! Delta query (contract §6): a round of pages from either a date-bounded
//! initial query or a stored `deltaLink`, ending in the next `deltaLink`.
//!
//! Pages may repeat items (the fake does so on purpose); the round keeps the
//! last version of each id, and callers key storage on the immutable id
//! anyway. A `410` anywhere in the round (expired `deltaLink` or mid-round
//! `nextLink`) surfaces as [`GraphError::SyncStateNotFound`]: the caller
//! discards its stored link and starts again from the date.

use crate::client::{GraphClient, Req};
use crate::error::GraphError;
use crate::mail::{MESSAGE_SELECT, Recipient};
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Pages followed in one round before giving up (a server looping on
/// `nextLink` must not keep a worker forever). 5,000 messages at a page size
/// of 10 is 500 pages.
const MAX_PAGES: usize = 2_000;

/// Where a delta round starts.
#[derive(Debug, Clone)]
pub enum DeltaStart<'a> {
    /// A fresh round of the folder, bounded by `receivedDateTime ge since`.
    Since {
        /// The folder (`inbox` or an id).
        folder: &'a str,
        /// The start date.
        since: OffsetDateTime,
    },
    /// The `deltaLink` stored at the end of the previous round.
    Link(&'a str),
}

/// One item of a delta page.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeltaItem {
    /// The immutable message id.
    pub id: String,
    /// Present when the message was deleted or moved out of the folder.
    #[serde(rename = "@removed", default)]
    pub removed: Option<Removed>,
    /// When Exchange received it.
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

/// `@removed` of a delta item.
#[derive(Debug, Clone, Deserialize)]
pub struct Removed {
    /// `deleted` or `changed`.
    #[serde(default)]
    pub reason: String,
}

#[derive(Deserialize)]
struct DeltaPage {
    #[serde(rename = "@odata.nextLink", default)]
    next_link: Option<String>,
    #[serde(rename = "@odata.deltaLink", default)]
    delta_link: Option<String>,
    #[serde(default)]
    value: Vec<DeltaItem>,
}

/// The result of a completed round.
#[derive(Debug, Clone)]
pub struct DeltaRound {
    /// Messages added or changed, once each, in first-seen order.
    pub messages: Vec<DeltaItem>,
    /// Ids removed from the folder.
    pub removed: Vec<String>,
    /// The link to resume from next time; persist it only together with
    /// what the round's messages caused.
    pub delta_link: String,
    /// Pages fetched.
    pub pages: usize,
    /// Items that repeated an id already seen in this round.
    pub duplicates: usize,
}

impl GraphClient {
    /// The first URL of a round that starts from a date.
    fn delta_start_url(
        &self,
        mailbox: &str,
        folder: &str,
        since: OffsetDateTime,
    ) -> Result<url::Url, GraphError> {
        let since = since
            .replace_nanosecond(0)
            .unwrap_or(since)
            .to_offset(time::UtcOffset::UTC)
            .format(&Rfc3339)
            .map_err(|_| GraphError::InvalidRequest("start date".into()))?;
        let mut url =
            self.graph_url(&["users", mailbox, "mailFolders", folder, "messages", "delta"]);
        url.query_pairs_mut()
            .append_pair("$select", MESSAGE_SELECT)
            .append_pair("$filter", &format!("receivedDateTime ge {since}"));
        Ok(url)
    }

    /// Runs one delta round to its `deltaLink`.
    pub async fn delta_round(
        &self,
        tenant: &str,
        mailbox: &str,
        start: DeltaStart<'_>,
    ) -> Result<DeltaRound, GraphError> {
        let mut url = match start {
            DeltaStart::Since { folder, since } => self.delta_start_url(mailbox, folder, since)?,
            DeltaStart::Link(link) => self.check_link(link)?,
        };
        let prefer = format!(
            "odata.maxpagesize={}",
            self.inner.cfg.delta_page_size.clamp(1, 1000)
        );
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut messages: Vec<DeltaItem> = Vec::new();
        let mut removed: Vec<String> = Vec::new();
        let mut removed_seen: HashSet<String> = HashSet::new();
        let mut duplicates = 0;
        for pages in 1..=MAX_PAGES {
            let req = Req {
                prefer: Some(prefer.clone()),
                ..Req::get(url)
            };
            let page: DeltaPage = self.send_json(tenant, Some(mailbox), &req).await?;
            for item in page.value {
                if item.removed.is_some() {
                    // A message seen earlier in the round and removed later
                    // was still received: it stays in `messages`.
                    if removed_seen.insert(item.id.clone()) {
                        removed.push(item.id);
                    }
                    continue;
                }
                if let Some(&i) = index.get(&item.id) {
                    duplicates += 1;
                    messages[i] = item;
                } else {
                    index.insert(item.id.clone(), messages.len());
                    messages.push(item);
                }
            }
            match (page.delta_link, page.next_link) {
                (Some(delta), _) => {
                    // Validate now so a bad link fails this round, not the next.
                    self.check_link(&delta)?;
                    return Ok(DeltaRound {
                        messages,
                        removed,
                        delta_link: delta,
                        pages,
                        duplicates,
                    });
                }
                (None, Some(next)) => url = self.check_link(&next)?,
                (None, None) => {
                    return Err(GraphError::InvalidResponse(
                        "delta page with neither nextLink nor deltaLink".into(),
                    ));
                }
            }
        }
        Err(GraphError::InvalidResponse(format!(
            "delta round longer than {MAX_PAGES} pages"
        )))
    }
}

/// Parses Graph's `receivedDateTime` (`2026-11-08T10:00:00Z`).
pub fn parse_graph_time(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}
