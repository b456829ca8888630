//! The engine's history for a message: the stored entries of earlier
//! messages that share its sender domain, a thread id or its supplier key,
//! the newest [`HISTORY_LIMIT`] received before it, replayed oldest first.
//!
//! One message loads them with one query ([`load`]). A sync batch loads
//! the entries for all its messages' keys once ([`BatchHistory`]) and picks
//! each message's share in memory, adding each message's own entry once it
//! is analysed, so later messages of the batch see it. Without that, every
//! message of a long-lived supplier shipped up to 2,000 entries from the
//! database: the batch's cost grew with the square of its history.
//!
//! # Same answer as the query
//!
//! The share picked for a message is exactly what [`load`] would read at
//! the start of the batch's transaction plus the batch's own entries: the
//! same key test (mirroring the SQL, `NULL` never matching), the same order
//! (`received_at`, then message id, newest first), the same limit. (A
//! message another worker commits while the batch runs is seen by the next
//! batch, not this one: arrival order, which no reading can avoid.) The
//! preload is itself limited; when it was cut short and a message's share
//! might reach past its end, that message falls back to the query. The
//! unit tests compare the pick with a brute-force reading of the same rows.

use crate::IngestError;
use sentra_engine::{History, HistoryEntry};
use sentra_store::TenantTx;
use sentra_store::ids::MessageId;
use sentra_store::repo::assessment::{
    self, AnyHistoryKeys, HISTORY_LIMIT, HistoryKeys, HistoryRow,
};
use serde_json::Value;
use std::cmp::Reverse;
use time::OffsetDateTime;

/// A message's history keys, from its entry (none without one).
pub(crate) fn keys_of(entry: Option<&HistoryEntry>) -> Option<HistoryKeys> {
    let e = entry?;
    Some(HistoryKeys {
        sender_domain: e.sender_domain.clone(),
        thread_ids: e.thread_ids(),
        supplier_key: e.supplier_key.clone(),
    })
}

/// Replays entries, oldest first.
fn replay<'a>(entries: impl Iterator<Item = &'a HistoryEntry>) -> History {
    let mut history = History::new();
    for e in entries {
        history.record_entry(e);
    }
    history
}

/// An entry as the engine reads it. One an older engine wrote in another
/// shape is skipped (`None`), not fatal: history only sharpens signals.
fn parse(v: Value) -> Option<HistoryEntry> {
    serde_json::from_value(v).ok()
}

/// One message's history, with one query.
pub(crate) async fn load(
    tx: &mut TenantTx,
    keys: &HistoryKeys,
    received_at: OffsetDateTime,
) -> Result<History, IngestError> {
    let entries: Vec<HistoryEntry> = assessment::history_entries(tx, keys, received_at)
        .await?
        .into_iter()
        .filter_map(parse)
        .collect();
    Ok(replay(entries.iter()))
}

/// What the SQL key test reads of a stored entry (`->>` of each field).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct RowKeys {
    sender_domain: Option<String>,
    supplier_key: Option<String>,
    message_id: Option<String>,
    refers_to: Vec<String>,
}

impl RowKeys {
    fn of(v: &Value) -> Self {
        let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        Self {
            sender_domain: text("sender_domain"),
            supplier_key: text("supplier_key"),
            message_id: text("message_id"),
            refers_to: v
                .get("refers_to")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// The SQL's test: sender domain, supplier key, or (with thread ids)
    /// the entry's own id or one it refers to (`?|`).
    fn match_(&self, q: &HistoryKeys) -> bool {
        let same = |a: &Option<String>, b: &Option<String>| a.is_some() && a == b;
        same(&self.sender_domain, &q.sender_domain)
            || same(&self.supplier_key, &q.supplier_key)
            || (!q.thread_ids.is_empty()
                && (self
                    .message_id
                    .as_ref()
                    .is_some_and(|m| q.thread_ids.contains(m))
                    || self.refers_to.iter().any(|r| q.thread_ids.contains(r))))
    }
}

/// An entry with its place in the order and its keys.
#[derive(Debug, Clone)]
struct Row {
    received_at: OffsetDateTime,
    id: uuid::Uuid,
    keys: RowKeys,
    entry: Option<HistoryEntry>,
}

impl Row {
    fn new(received_at: OffsetDateTime, id: MessageId, entry: Value) -> Self {
        Self {
            received_at,
            id: id.as_uuid(),
            keys: RowKeys::of(&entry),
            entry: parse(entry),
        }
    }

    /// Newest first, as the query orders.
    fn rank(&self) -> Reverse<(OffsetDateTime, uuid::Uuid)> {
        Reverse((self.received_at, self.id))
    }
}

/// A sync batch's history: the stored entries for every key of the batch,
/// loaded once, plus the entries of the batch's messages analysed so far.
#[derive(Debug)]
pub(crate) struct BatchHistory {
    /// Stored before the batch, newest first.
    stored: Vec<Row>,
    /// Whether the preload stopped at its limit (older matching entries
    /// may exist).
    cut: bool,
    /// The batch's own entries, in the order they were analysed.
    own: Vec<Row>,
    /// The most entries a message reads.
    limit: usize,
}

/// Entries preloaded per batch: twice one message's limit, so that the
/// other keys of the batch rarely crowd a message's share past the end.
const PRELOAD: i64 = 2 * HISTORY_LIMIT;

impl BatchHistory {
    /// Loads the entries for every key in `keys` received before `before`
    /// (the batch's latest message).
    pub(crate) async fn load(
        tx: &mut TenantTx,
        keys: &AnyHistoryKeys,
        before: OffsetDateTime,
    ) -> Result<Self, IngestError> {
        let rows = assessment::history_rows(tx, keys, before, PRELOAD).await?;
        let cut = i64::try_from(rows.len()).unwrap_or(i64::MAX) >= PRELOAD;
        Ok(Self::from_rows(
            rows,
            cut,
            usize::try_from(HISTORY_LIMIT).unwrap_or(usize::MAX),
        ))
    }

    fn from_rows(rows: Vec<HistoryRow>, cut: bool, limit: usize) -> Self {
        Self {
            stored: rows
                .into_iter()
                .map(|r| Row::new(r.received_at, r.message_id, r.entry))
                .collect(),
            cut,
            own: Vec::new(),
            limit,
        }
    }

    /// The entries a message with `keys` received at `received_at` reads,
    /// oldest first; `None` when the preload cannot tell (cut short before
    /// the message's share was complete): ask the database.
    fn pick(&self, keys: &HistoryKeys, received_at: OffsetDateTime) -> Option<Vec<&Row>> {
        let mut share: Vec<&Row> = self
            .stored
            .iter()
            .chain(&self.own)
            .filter(|r| r.received_at < received_at && r.keys.match_(keys))
            .collect();
        share.sort_by_key(|r| r.rank());
        if self.cut {
            // Past the preload's last row, stored entries are unknown: only
            // the part of the share ranked before it is certain.
            let last = self.stored.last().map(Row::rank)?;
            share.retain(|r| r.rank() <= last);
            if share.len() < self.limit {
                return None;
            }
        }
        share.truncate(self.limit);
        share.reverse();
        Some(share)
    }

    /// The history of a message with `keys`, from the preload when it can
    /// tell, else from the database.
    pub(crate) async fn history(
        &self,
        tx: &mut TenantTx,
        keys: &HistoryKeys,
        received_at: OffsetDateTime,
    ) -> Result<History, IngestError> {
        match self.pick(keys, received_at) {
            Some(rows) => Ok(replay(rows.into_iter().filter_map(|r| r.entry.as_ref()))),
            None => load(tx, keys, received_at).await,
        }
    }

    /// Makes a message's stored entry visible to the batch's later ones.
    pub(crate) fn push(&mut self, received_at: OffsetDateTime, id: MessageId, entry: Value) {
        self.own.push(Row::new(received_at, id, entry));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    fn row(minute: i64, id: u128, entry: Value) -> HistoryRow {
        HistoryRow {
            message_id: MessageId::from_uuid(uuid::Uuid::from_u128(id)),
            received_at: datetime!(2026-11-01 09:00 UTC) + time::Duration::minutes(minute),
            entry,
        }
    }

    fn entry(
        domain: Option<&str>,
        supplier: Option<&str>,
        mid: Option<&str>,
        refs: &[&str],
    ) -> Value {
        json!({
            "sender_domain": domain,
            "supplier_key": supplier,
            "message_id": mid,
            "refers_to": refs,
            "participants": [],
            "invoice_numbers": [],
            "total": null,
            "due": null,
            "seen_in": "x",
        })
    }

    /// The query's answer over all rows, brute force.
    fn reference(
        all: &[HistoryRow],
        keys: &HistoryKeys,
        before: OffsetDateTime,
        limit: usize,
    ) -> Vec<uuid::Uuid> {
        let mut share: Vec<&HistoryRow> = all
            .iter()
            .filter(|r| r.received_at < before && RowKeys::of(&r.entry).match_(keys))
            .collect();
        share.sort_by_key(|r| Reverse((r.received_at, r.message_id.as_uuid())));
        share.truncate(limit);
        share
            .into_iter()
            .rev()
            .map(|r| r.message_id.as_uuid())
            .collect()
    }

    fn keys(domain: Option<&str>, supplier: Option<&str>, ids: &[&str]) -> HistoryKeys {
        HistoryKeys {
            sender_domain: domain.map(str::to_owned),
            thread_ids: ids.iter().map(|s| (*s).to_owned()).collect(),
            supplier_key: supplier.map(str::to_owned),
        }
    }

    #[test]
    fn the_key_test_mirrors_the_sql_and_null_never_matches() {
        let k = RowKeys::of(&entry(None, Some("Apex"), Some("<1@a>"), &["<0@a>"]));
        assert!(k.match_(&keys(None, Some("Apex"), &[])));
        assert!(
            !k.match_(&keys(None, None, &[])),
            "NULL = NULL is not a match"
        );
        assert!(k.match_(&keys(Some("x.com"), None, &["<1@a>"])));
        assert!(k.match_(&keys(None, None, &["<0@a>"])), "?| on refers_to");
        assert!(!k.match_(&keys(Some("a.com"), Some("Other"), &["<9@a>"])));
        let d = RowKeys::of(&entry(Some("a.com"), None, None, &[]));
        assert!(d.match_(&keys(Some("a.com"), None, &[])));
    }

    /// Many messages of a few suppliers, domains and threads, some in the
    /// same minute (the id breaks the tie); a third of them form the batch,
    /// received between the stored ones (arriving late). Each is picked
    /// with every preload size and limit, the preload built as the query
    /// builds it (the batch's keys, before its latest message, newest
    /// first), and compared with the brute-force answer; the batch's own
    /// entries join as each is "analysed".
    #[test]
    fn a_pick_is_the_querys_answer_or_a_fallback_never_a_different_answer() {
        let suppliers = [Some("Apex"), Some("Brick"), None];
        let domains = [Some("apex.co.uk"), Some("brick.com"), Some("x.com"), None];
        let (mut stored, mut batch) = (Vec::new(), Vec::new());
        for i in 0..90u128 {
            let n = usize::try_from(i).unwrap();
            let mid = format!("<{i}@m>");
            let refs: Vec<String> = if i % 5 == 0 {
                vec![]
            } else {
                vec![format!("<{}@m>", i - 1)]
            };
            let refs: Vec<&str> = refs.iter().map(String::as_str).collect();
            let e = entry(domains[n % 4], suppliers[n % 3], Some(&mid), &refs);
            let r = row(i64::try_from(i / 2).unwrap(), 1000 - i, e);
            // The batch stops short of the newest stored messages.
            if i % 3 == 1 && i < 75 {
                batch.push(r);
            } else {
                stored.push(r);
            }
        }
        let latest = batch.iter().map(|r| r.received_at).max().unwrap();
        let mut union = AnyHistoryKeys::default();
        for r in &batch {
            union.add(&keys_of_value(&r.entry));
        }
        let any = |r: &HistoryRow| {
            let k = RowKeys::of(&r.entry);
            let as_one =
                |d: &Option<String>, set: &[String]| d.as_ref().is_some_and(|d| set.contains(d));
            as_one(&k.sender_domain, &union.sender_domains)
                || as_one(&k.supplier_key, &union.supplier_keys)
                || as_one(&k.message_id, &union.thread_ids)
                || k.refers_to.iter().any(|r| union.thread_ids.contains(r))
        };
        let mut candidates: Vec<HistoryRow> = stored
            .iter()
            .filter(|r| r.received_at < latest && any(r))
            .cloned()
            .collect();
        candidates.sort_by_key(|r| Reverse((r.received_at, r.message_id.as_uuid())));
        let (mut picked, mut fell_back, mut late_cut) = (0, 0, 0);
        for preload in [0, 1, 3, 10, 25, 40, 100] {
            for limit in [1, 4, 7, 100] {
                let cut = preload <= candidates.len();
                let rows = candidates.iter().take(preload).cloned().collect();
                let mut h = BatchHistory::from_rows(rows, cut, limit);
                let mut seen: Vec<HistoryRow> = stored.clone();
                for r in &batch {
                    let k = keys_of_value(&r.entry);
                    let want = reference(&seen, &k, r.received_at, limit);
                    match h.pick(&k, r.received_at) {
                        Some(got) => {
                            picked += 1;
                            let got: Vec<uuid::Uuid> = got.iter().map(|r| r.id).collect();
                            assert_eq!(got, want, "preload {preload}, limit {limit}");
                        }
                        None => fell_back += 1,
                    }
                    if cut
                        && h.stored
                            .last()
                            .is_some_and(|b| r.received_at < b.received_at)
                    {
                        late_cut += 1;
                    }
                    h.push(r.received_at, r.message_id, r.entry.clone());
                    seen.push(r.clone());
                }
            }
        }
        assert!(
            picked > 0 && fell_back > 0 && late_cut > 0,
            "{picked} picked, {fell_back} fell back, {late_cut} older than a cut preload's end"
        );
    }

    fn keys_of_value(v: &Value) -> HistoryKeys {
        let k = RowKeys::of(v);
        HistoryKeys {
            sender_domain: k.sender_domain,
            thread_ids: k.message_id.into_iter().chain(k.refers_to).collect(),
            supplier_key: k.supplier_key,
        }
    }
}
