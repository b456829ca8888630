//! The engine's verdicts: one per message and engine version, so analysing a
//! message again with the same engine changes nothing.

use crate::ids::{AssessmentId, CaseId, MessageId};
use crate::{StoreError, TenantTx};
use sentra_domain::{Category, RiskLevel};
use sqlx::QueryBuilder;
use time::OffsetDateTime;

/// A verdict to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAssessment {
    /// The message assessed.
    pub message_id: MessageId,
    /// The engine version that produced it.
    pub engine_version: String,
    /// What kind of message it is.
    pub category: Category,
    /// How risky.
    pub risk_level: RiskLevel,
    /// 0–100.
    pub risk_score: u8,
    /// The signals, as the engine's JSON array.
    pub signals: serde_json::Value,
    /// Extracted facts with account numbers masked, as a JSON object.
    pub extracted: serde_json::Value,
}

/// A stored verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    /// The id.
    pub id: AssessmentId,
    /// The verdict's content.
    pub verdict: NewAssessment,
    /// When it was stored.
    pub created_at: OffsetDateTime,
}

/// Stores a verdict, or returns the id of the one already stored for this
/// message and engine version. A message of another organisation is
/// [`StoreError::NotFound`]; a score over 100 is [`StoreError::Rejected`].
pub async fn insert(tx: &mut TenantTx, a: &NewAssessment) -> Result<AssessmentId, StoreError> {
    let new: Option<uuid::Uuid> = sqlx::query_scalar(
        "insert into assessment (org_id, message_id, engine_version, category, risk_level,
                                 risk_score, signals, extracted)
         values ($1, $2, $3, $4, $5, $6, $7, $8)
         on conflict (org_id, message_id, engine_version) do nothing
         returning id",
    )
    .bind(tx.org().as_uuid())
    .bind(a.message_id.as_uuid())
    .bind(&a.engine_version)
    .bind(a.category.as_str())
    .bind(a.risk_level.as_str())
    .bind(i16::from(a.risk_score))
    .bind(&a.signals)
    .bind(&a.extracted)
    .fetch_optional(tx.conn())
    .await
    .map_err(|e| super::reference(e.into(), "message"))?;
    if let Some(id) = new {
        return Ok(AssessmentId::from_uuid(id));
    }
    let existing: Option<uuid::Uuid> = sqlx::query_scalar(
        "select id from assessment where message_id = $1 and engine_version = $2",
    )
    .bind(a.message_id.as_uuid())
    .bind(&a.engine_version)
    .fetch_optional(tx.conn())
    .await?;
    Ok(AssessmentId::from_uuid(super::found(
        existing,
        "assessment",
    )?))
}

/// What [`record`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    /// The verdict for this message and engine version.
    pub id: AssessmentId,
    /// Whether this call stored it (false: one was already stored, and this
    /// call changed nothing).
    pub created: bool,
}

/// [`insert`], also storing what the message teaches later ones (`history`,
/// the engine's `HistoryEntry` as a JSON object), and saying whether the
/// verdict is new: the caller's follow-up effects (case, alerts, audit) run
/// only for a new one, so analysing twice never doubles them.
pub async fn record(
    tx: &mut TenantTx,
    a: &NewAssessment,
    history: Option<&serde_json::Value>,
) -> Result<Recorded, StoreError> {
    let new: Option<uuid::Uuid> = sqlx::query_scalar(
        "insert into assessment (org_id, message_id, engine_version, category, risk_level,
                                 risk_score, signals, extracted, history)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         on conflict (org_id, message_id, engine_version) do nothing
         returning id",
    )
    .bind(tx.org().as_uuid())
    .bind(a.message_id.as_uuid())
    .bind(&a.engine_version)
    .bind(a.category.as_str())
    .bind(a.risk_level.as_str())
    .bind(i16::from(a.risk_score))
    .bind(&a.signals)
    .bind(&a.extracted)
    .bind(history)
    .fetch_optional(tx.conn())
    .await
    .map_err(|e| super::reference(e.into(), "message"))?;
    if let Some(id) = new {
        return Ok(Recorded {
            id: AssessmentId::from_uuid(id),
            created: true,
        });
    }
    let existing = for_version(tx, a.message_id, &a.engine_version).await?;
    Ok(Recorded {
        id: super::found(existing, "assessment")?.id,
        created: false,
    })
}

/// The verdict for a message at one engine version, if stored.
pub async fn for_version(
    tx: &mut TenantTx,
    message: MessageId,
    engine_version: &str,
) -> Result<Option<Assessment>, StoreError> {
    let row: Option<Row> = sqlx::query_as(
        "select id, message_id, engine_version, category, risk_level, risk_score, signals,
                extracted, created_at
         from assessment where message_id = $1 and engine_version = $2",
    )
    .bind(message.as_uuid())
    .bind(engine_version)
    .fetch_optional(tx.conn())
    .await?;
    row.map(from_row).transpose()
}

/// Which stored history entries a new message needs: those sharing its
/// sender domain, one of its thread ids, or its supplier key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryKeys {
    /// The registrable domain of the sender.
    pub sender_domain: Option<String>,
    /// Its own `Message-ID` and the ids it refers to.
    pub thread_ids: Vec<String>,
    /// The engine's supplier key.
    pub supplier_key: Option<String>,
}

/// The most history entries [`history_entries`] returns.
pub const HISTORY_LIMIT: i64 = 2000;

/// Several messages' [`HistoryKeys`] at once (a batch's): an entry matches
/// when it shares any one of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnyHistoryKeys {
    /// Registrable sender domains.
    pub sender_domains: Vec<String>,
    /// Thread ids (`Message-ID`s and the ids they refer to).
    pub thread_ids: Vec<String>,
    /// Supplier keys.
    pub supplier_keys: Vec<String>,
}

impl AnyHistoryKeys {
    /// Adds one message's keys.
    pub fn add(&mut self, keys: &HistoryKeys) {
        fn push(set: &mut Vec<String>, v: &String) {
            if !set.contains(v) {
                set.push(v.clone());
            }
        }
        if let Some(d) = &keys.sender_domain {
            push(&mut self.sender_domains, d);
        }
        for id in &keys.thread_ids {
            push(&mut self.thread_ids, id);
        }
        if let Some(k) = &keys.supplier_key {
            push(&mut self.supplier_keys, k);
        }
    }

    fn is_empty(&self) -> bool {
        self.sender_domains.is_empty()
            && self.thread_ids.is_empty()
            && self.supplier_keys.is_empty()
    }
}

/// One stored history entry with its message's place in the order the
/// history is read in (`received_at`, then id).
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryRow {
    /// The message the entry is about.
    pub message_id: MessageId,
    /// When its mailbox received it.
    pub received_at: OffsetDateTime,
    /// The entry (a JSON object).
    pub entry: serde_json::Value,
}

/// The stored history entries (JSON objects, oldest first) of messages
/// received strictly before `before` that share a key with `keys`, one per
/// message (its newest verdict's), at most [`HISTORY_LIMIT`] (the newest).
/// Only messages received earlier count, so a message's verdict does not
/// depend on the order messages happened to be analysed in.
pub async fn history_entries(
    tx: &mut TenantTx,
    keys: &HistoryKeys,
    before: OffsetDateTime,
) -> Result<Vec<serde_json::Value>, StoreError> {
    let mut any = AnyHistoryKeys::default();
    any.add(keys);
    let rows = history_rows(tx, &any, before, HISTORY_LIMIT).await?;
    Ok(rows.into_iter().rev().map(|r| r.entry).collect())
}

/// [`history_entries`] for several messages' keys at once, with each
/// entry's place in the order, NEWEST first, at most `limit`: a batch loads
/// its history once and picks each message's share in memory.
pub async fn history_rows(
    tx: &mut TenantTx,
    keys: &AnyHistoryKeys,
    before: OffsetDateTime,
    limit: i64,
) -> Result<Vec<HistoryRow>, StoreError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let org = tx.org().as_uuid();
    let rows: Vec<(serde_json::Value, OffsetDateTime, uuid::Uuid)> = sqlx::query_as(
        "select history, received_at, id from (
           select distinct on (a.message_id) a.history, m.received_at, m.id
           from assessment a join message m on m.id = a.message_id
           where a.org_id = $1 and m.org_id = $1 and a.history is not null
             and m.received_at < $5
             and ((a.history ->> 'sender_domain') = any($2)
                  or (a.history ->> 'supplier_key') = any($3)
                  or (cardinality($4::text[]) > 0
                      and ((a.history ->> 'message_id') = any($4)
                           or (a.history -> 'refers_to') ?| $4)))
           order by a.message_id, a.created_at desc
         ) h
         order by received_at desc, id desc
         limit $6",
    )
    .bind(org)
    .bind(&keys.sender_domains)
    .bind(&keys.supplier_keys)
    .bind(&keys.thread_ids)
    .bind(before)
    .bind(limit)
    // Planned for each call's values, never as a cached generic plan: with
    // no statistics yet (a new database's first backfill, where everything
    // is one transaction's rows) the generic plan joined every assessment
    // to every message of the organisation, 180 ms a call at 800 messages
    // (auto_explain, docs/PERFORMANCE.md). Planning costs under 0.5 ms.
    .persistent(false)
    .fetch_all(tx.conn())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(entry, received_at, id)| HistoryRow {
            message_id: MessageId::from_uuid(id),
            received_at,
            entry,
        })
        .collect())
}

type Row = (
    uuid::Uuid,
    uuid::Uuid,
    String,
    String,
    String,
    i16,
    serde_json::Value,
    serde_json::Value,
    OffsetDateTime,
);

/// The newest verdict for a message, if it has been assessed.
pub async fn latest_for_message(
    tx: &mut TenantTx,
    message: MessageId,
) -> Result<Option<Assessment>, StoreError> {
    let row: Option<Row> = sqlx::query_as(
        "select id, message_id, engine_version, category, risk_level, risk_score, signals,
                extracted, created_at
         from assessment where message_id = $1
         order by created_at desc, id desc limit 1",
    )
    .bind(message.as_uuid())
    .fetch_optional(tx.conn())
    .await?;
    row.map(from_row).transpose()
}

/// A verdict's category, level and score as stored, checked (shared with
/// the lean list in [`super::listing`]).
pub(crate) fn parse_verdict(
    category: &str,
    level: &str,
    score: i16,
) -> Result<(Category, RiskLevel, u8), StoreError> {
    Ok((
        Category::parse(category).ok_or(StoreError::Decode {
            what: "assessment.category",
        })?,
        RiskLevel::parse(level).ok_or(StoreError::Decode {
            what: "assessment.risk_level",
        })?,
        u8::try_from(score).map_err(|_| StoreError::Decode {
            what: "assessment.risk_score",
        })?,
    ))
}

fn from_row(row: Row) -> Result<Assessment, StoreError> {
    let (id, message, engine_version, category, level, score, signals, extracted, created_at) = row;
    let (category, risk_level, risk_score) = parse_verdict(&category, &level, score)?;
    Ok(Assessment {
        id: AssessmentId::from_uuid(id),
        verdict: NewAssessment {
            message_id: MessageId::from_uuid(message),
            engine_version,
            category,
            risk_level,
            risk_score,
            signals,
            extracted,
        },
        created_at,
    })
}

/// Which assessed messages [`list_assessed`] returns; `None` matches all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssessedFilter {
    /// Only verdicts at this level.
    pub level: Option<RiskLevel>,
    /// Only verdicts of this category.
    pub category: Option<Category>,
    /// Only messages the engine tied to the supplier of this name
    /// (case-insensitive; read from `extracted.supplier.name`).
    pub supplier: Option<String>,
    /// Only this message.
    pub message: Option<MessageId>,
    /// Only messages received at or after this.
    pub received_from: Option<OffsetDateTime>,
    /// Only messages received before this.
    pub received_to: Option<OffsetDateTime>,
    /// Only verdicts at this level or above.
    pub min_level: Option<RiskLevel>,
}

/// A message with its newest verdict and its case, if one was opened.
#[derive(Debug, Clone, PartialEq)]
pub struct AssessedMessage {
    /// When the message was received (or submitted).
    pub received_at: OffsetDateTime,
    /// The `From` address.
    pub from_address: Option<String>,
    /// The subject line.
    pub subject: Option<String>,
    /// The newest verdict (its `verdict.message_id` is the message's id).
    pub assessment: Assessment,
    /// The message's case.
    pub case_id: Option<CaseId>,
}

type AssessedRow = (
    OffsetDateTime,
    Option<String>,
    Option<String>,
    Option<uuid::Uuid>,
    uuid::Uuid,
    uuid::Uuid,
    String,
    String,
    String,
    i16,
    serde_json::Value,
    serde_json::Value,
    OffsetDateTime,
);

/// Assessed messages matching `filter`, newest received first, at most
/// `limit` (capped at 1,000). Messages never assessed are not listed. The
/// lists that show only a summary use [`super::listing::page`].
pub async fn list_assessed(
    tx: &mut TenantTx,
    filter: &AssessedFilter,
    limit: u32,
) -> Result<Vec<AssessedMessage>, StoreError> {
    list_assessed_page(tx, filter, 0, limit).await
}

/// [`list_assessed`] skipping the first `offset` matches (pages of a list).
pub async fn list_assessed_page(
    tx: &mut TenantTx,
    filter: &AssessedFilter,
    offset: u32,
    limit: u32,
) -> Result<Vec<AssessedMessage>, StoreError> {
    // The same page as the lean list (`listing::page`), with the whole
    // verdict.
    let mut q = QueryBuilder::new(
        "select p.received_at, p.from_address, p.subject, c.id,
                p.id, p.message_id, p.engine_version, p.category, p.risk_level, p.risk_score,
                p.signals, p.extracted, p.created_at
         from (select m.received_at, m.from_address, m.subject,
                      a.id, a.message_id, a.engine_version, a.category, a.risk_level,
                      a.risk_score, a.signals, a.extracted, a.created_at",
    );
    super::listing::push_page(&mut q, filter, offset, limit);
    q.push(
        ") p
         left join fraud_case c on c.message_id = p.message_id
         order by p.received_at desc, p.message_id desc",
    );
    let rows: Vec<AssessedRow> = q.build_query_as().fetch_all(tx.conn()).await?;
    rows.into_iter()
        .map(|row| {
            let (
                received_at,
                from_address,
                subject,
                case_id,
                id,
                message,
                version,
                category,
                level,
                score,
                signals,
                extracted,
                created_at,
            ) = row;
            let assessment = from_row((
                id, message, version, category, level, score, signals, extracted, created_at,
            ))?;
            Ok(AssessedMessage {
                received_at,
                from_address,
                subject,
                assessment,
                case_id: case_id.map(CaseId::from_uuid),
            })
        })
        .collect()
}

/// One assessed message; a message never assessed, missing, or another
/// organisation's is [`StoreError::NotFound`].
pub async fn get_assessed(
    tx: &mut TenantTx,
    message: MessageId,
) -> Result<AssessedMessage, StoreError> {
    let filter = AssessedFilter {
        message: Some(message),
        ..AssessedFilter::default()
    };
    super::found(
        list_assessed(tx, &filter, 1).await?.into_iter().next(),
        "message",
    )
}
