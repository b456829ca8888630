//! Walking a chain: [`verify`] reads each organisation's events in `seq`
//! order, in keyset batches inside one read-only snapshot, and stops at the
//! first event that is not what an untouched chain would hold.
//!
//! The rules, checked in this order at each expected `seq` *n* (the previous
//! event's hash is *h*, its own `prev_hash` is *p*):
//!
//! 1. the next row's `seq` is above *n*: [`BreakKind::Gap`] at *n*;
//! 2. the row's content and stored `prev_hash` do not hash to its stored
//!    `hash`: [`BreakKind::HashMismatch`] at *n* (it was edited);
//! 3. its `prev_hash` is not *h* although its own hash is right, so it is an
//!    intact row in the wrong place, or it follows a row that was replaced:
//!    - its `prev_hash` is *p*: the row before it was slipped in between
//!      two neighbours, [`BreakKind::Inserted`] at *n − 1*;
//!    - another row of the org has that hash: it was moved,
//!      [`BreakKind::Reordered`] at *n*;
//!    - no row has: the row it followed was replaced (with a recomputed hash)
//!      or removed and the rest renumbered, [`BreakKind::Replaced`] at
//!      *n − 1* (or [`BreakKind::BadGenesis`] when *n* is 1).

use super::{AuditEvent, GENESIS_HASH};
use crate::{OwnerPool, StoreError};
use sentra_domain::OrgId;
use sqlx::PgConnection;
use std::fmt;
use uuid::Uuid;

/// Rows fetched per round trip: bounded memory whatever the chain's length.
const BATCH: i64 = 10_000;

/// Why the chain is not what was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakKind {
    /// No event has this `seq`, though later ones exist (deleted).
    Gap,
    /// A `seq` below 1.
    InvalidSeq,
    /// The event's content does not match its hash (edited).
    HashMismatch,
    /// The event was slipped in: the next one links straight to the one
    /// before it.
    Inserted,
    /// An intact event in the wrong place: it links to the event at
    /// `links_after`, not to its predecessor.
    Reordered {
        /// The `seq` of the event this one's `prev_hash` names.
        links_after: i64,
    },
    /// The event was replaced by one with a recomputed hash (the next event
    /// links to a hash no row has any more), or the events after it were
    /// deleted and the rest renumbered.
    Replaced,
    /// The first event does not link to the zero hash.
    BadGenesis,
    /// The chain ends before a signed checkpoint's head: `seq` is the first
    /// missing one.
    Truncated {
        /// The head `seq` the checkpoint recorded.
        checkpoint_seq: i64,
    },
    /// The event at a signed checkpoint's head has another hash now: the
    /// chain up to it was rewritten and recomputed.
    DiffersFromCheckpoint,
}

/// The first bad event of a chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainBreak {
    /// The first bad `seq`.
    pub seq: i64,
    /// What is wrong there.
    pub kind: BreakKind,
}

impl fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seq = self.seq;
        match self.kind {
            BreakKind::Gap => write!(f, "seq {seq} is missing (deleted)"),
            BreakKind::InvalidSeq => write!(f, "seq {seq} is not a valid position"),
            BreakKind::HashMismatch => {
                write!(f, "seq {seq} does not match its hash (edited)")
            }
            BreakKind::Inserted => write!(
                f,
                "seq {seq} was inserted (seq {} links to seq {})",
                seq + 1,
                seq - 1
            ),
            BreakKind::Reordered { links_after } => write!(
                f,
                "seq {seq} was moved (it follows seq {links_after}, not seq {})",
                seq - 1
            ),
            BreakKind::Replaced => write!(
                f,
                "seq {seq} was replaced, or events after it deleted and renumbered (seq {} does not link to it)",
                seq + 1
            ),
            BreakKind::BadGenesis => write!(f, "seq {seq} does not start the chain"),
            BreakKind::Truncated { checkpoint_seq } => write!(
                f,
                "seq {seq} is missing: the chain ends before the checkpoint's head seq {checkpoint_seq} (truncated)"
            ),
            BreakKind::DiffersFromCheckpoint => write!(
                f,
                "seq {seq} differs from the signed checkpoint (the chain was rewritten up to here)"
            ),
        }
    }
}

/// The outcome for one organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// The organisation.
    pub org: OrgId,
    /// Events checked (up to and including the first bad one).
    pub checked: u64,
    /// The last good `seq` and its hash (`None` for an empty chain or when
    /// the first event is bad).
    pub head: Option<(i64, [u8; 32])>,
    /// The first problem, or `None` when the chain is intact.
    pub problem: Option<ChainBreak>,
}

impl VerifyReport {
    /// Whether the chain is intact.
    pub fn is_ok(&self) -> bool {
        self.problem.is_none()
    }
}

/// Verifies the chain of `org`, or of every organisation, through the owner
/// pool (one read-only snapshot per organisation).
pub async fn verify(pool: &OwnerPool, org: Option<OrgId>) -> Result<Vec<VerifyReport>, StoreError> {
    let orgs = match org {
        Some(org) => vec![org],
        None => all_orgs(pool).await?,
    };
    let mut reports = Vec::with_capacity(orgs.len());
    for org in orgs {
        let mut tx = begin_org_snapshot(pool, org).await?;
        reports.push(verify_org(&mut tx, org).await?);
        tx.commit().await?;
    }
    Ok(reports)
}

/// Every organisation's id, in id order.
pub(super) async fn all_orgs(pool: &OwnerPool) -> Result<Vec<OrgId>, StoreError> {
    let ids: Vec<Uuid> = sqlx::query_scalar("select id from organisation order by id")
        .fetch_all(pool.pool())
        .await?;
    Ok(ids.into_iter().map(OrgId::from_uuid).collect())
}

/// A read-only repeatable-read transaction on the owner pool with
/// `app.org_id` set, so the owner's policies show exactly that org's events.
pub(super) async fn begin_org_snapshot(
    pool: &OwnerPool,
    org: OrgId,
) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, StoreError> {
    let mut tx = pool.pool().begin().await?;
    sqlx::query("set transaction isolation level repeatable read, read only")
        .execute(&mut *tx)
        .await?;
    sqlx::query("select set_config('app.org_id', $1, true)")
        .bind(org.to_string())
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}

/// Walks one org's chain on a connection already scoped to it.
pub(super) async fn verify_org(
    conn: &mut PgConnection,
    org: OrgId,
) -> Result<VerifyReport, StoreError> {
    let mut walker = Walker::new();
    let mut after = i64::MIN;
    loop {
        let batch: Vec<AuditEvent> = sqlx::query_as(
            "select org_id, seq, id, at, actor_user_id, actor, action, target_type, target_id,
                    details, prev_hash, hash
             from audit_event where org_id = $1 and seq > $2 order by seq limit $3",
        )
        .bind(org.as_uuid())
        .bind(after)
        .bind(BATCH)
        .fetch_all(&mut *conn)
        .await?;
        let Some(last) = batch.last() else { break };
        after = last.seq;
        let full = batch.len() as i64 == BATCH;
        for row in &batch {
            match walker.step(row) {
                Step::Ok => {}
                Step::Break(problem) => return Ok(walker.report(org, Some(problem))),
                Step::Unlinked { seq, prev_hash } => {
                    let problem = classify_unlinked(conn, org, seq, &prev_hash).await?;
                    return Ok(walker.report(org, Some(problem)));
                }
            }
        }
        if !full {
            break;
        }
    }
    Ok(walker.report(org, None))
}

/// Rule 3's last two cases: does another row carry the hash this one links to?
async fn classify_unlinked(
    conn: &mut PgConnection,
    org: OrgId,
    seq: i64,
    prev_hash: &[u8],
) -> Result<ChainBreak, StoreError> {
    let found: Option<i64> = sqlx::query_scalar(
        "select seq from audit_event where org_id = $1 and hash = $2 order by seq limit 1",
    )
    .bind(org.as_uuid())
    .bind(prev_hash)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(match found {
        Some(links_after) => ChainBreak {
            seq,
            kind: BreakKind::Reordered { links_after },
        },
        None if seq <= 1 => ChainBreak {
            seq,
            kind: BreakKind::BadGenesis,
        },
        None => ChainBreak {
            seq: seq - 1,
            kind: BreakKind::Replaced,
        },
    })
}

/// What one row did to the walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Step {
    /// In place.
    Ok,
    /// Broken here.
    Break(ChainBreak),
    /// Intact but linked elsewhere: the database must say where.
    Unlinked {
        /// The row's seq.
        seq: i64,
        /// The hash it links to.
        prev_hash: Vec<u8>,
    },
}

/// The pure part of verification: feed rows in `seq` order.
#[derive(Debug, Clone)]
pub(super) struct Walker {
    expected: i64,
    last_hash: [u8; 32],
    last_prev: [u8; 32],
    checked: u64,
}

impl Walker {
    pub(super) fn new() -> Self {
        Self {
            expected: 1,
            last_hash: GENESIS_HASH,
            last_prev: GENESIS_HASH,
            checked: 0,
        }
    }

    pub(super) fn step(&mut self, row: &AuditEvent) -> Step {
        self.checked += 1;
        let n = self.expected;
        if row.seq < n {
            return Step::Break(ChainBreak {
                seq: row.seq,
                kind: BreakKind::InvalidSeq,
            });
        }
        if row.seq > n {
            return Step::Break(ChainBreak {
                seq: n,
                kind: BreakKind::Gap,
            });
        }
        let stored: Option<[u8; 32]> = row.hash.as_slice().try_into().ok();
        let (Some(stored), Some(recomputed)) = (stored, row.recompute_hash()) else {
            return Step::Break(ChainBreak {
                seq: n,
                kind: BreakKind::HashMismatch,
            });
        };
        if stored != recomputed {
            return Step::Break(ChainBreak {
                seq: n,
                kind: BreakKind::HashMismatch,
            });
        }
        if row.prev_hash.as_slice() != self.last_hash {
            if n > 1 && row.prev_hash.as_slice() == self.last_prev {
                return Step::Break(ChainBreak {
                    seq: n - 1,
                    kind: BreakKind::Inserted,
                });
            }
            return Step::Unlinked {
                seq: n,
                prev_hash: row.prev_hash.clone(),
            };
        }
        self.last_prev = self.last_hash;
        self.last_hash = stored;
        self.expected = n + 1;
        Step::Ok
    }

    pub(super) fn report(&self, org: OrgId, problem: Option<ChainBreak>) -> VerifyReport {
        let head = (self.expected > 1).then_some((self.expected - 1, self.last_hash));
        VerifyReport {
            org,
            checked: self.checked,
            head,
            problem,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::chain_hash;
    use super::*;
    use serde_json::json;
    use sqlx::types::Json;

    fn chain(n: usize) -> Vec<AuditEvent> {
        let org = Uuid::new_v4();
        let mut prev = GENESIS_HASH;
        (1..=n as i64)
            .map(|seq| {
                let mut e = AuditEvent {
                    org_id: org,
                    seq,
                    id: Uuid::new_v4(),
                    at: time::OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(seq),
                    actor_user_id: None,
                    actor: "system:test".to_owned(),
                    action: "test.event".to_owned(),
                    target_type: None,
                    target_id: None,
                    details: Json(json!({ "n": seq })),
                    prev_hash: prev.to_vec(),
                    hash: Vec::new(),
                };
                prev = chain_hash(&prev, &e).unwrap();
                e.hash = prev.to_vec();
                e
            })
            .collect()
    }

    fn walk(rows: &[AuditEvent]) -> Step {
        let mut w = Walker::new();
        for r in rows {
            let step = w.step(r);
            if step != Step::Ok {
                return step;
            }
        }
        Step::Ok
    }

    fn broken(seq: i64, kind: BreakKind) -> Step {
        Step::Break(ChainBreak { seq, kind })
    }

    #[test]
    fn an_untouched_chain_walks_to_its_head() {
        let rows = chain(10);
        let mut w = Walker::new();
        assert!(rows.iter().all(|r| w.step(r) == Step::Ok));
        let report = w.report(OrgId::from_uuid(rows[0].org_id), None);
        assert_eq!(
            report.head,
            Some((10, rows[9].hash.clone().try_into().unwrap()))
        );
        assert_eq!(report.checked, 10);
    }

    #[test]
    fn an_edited_field_is_a_hash_mismatch_at_that_seq() {
        let mut rows = chain(10);
        rows[4].details = Json(json!({ "n": 500 }));
        assert_eq!(walk(&rows), broken(5, BreakKind::HashMismatch));
    }

    #[test]
    fn an_edited_prev_hash_is_a_hash_mismatch_at_that_seq() {
        let mut rows = chain(10);
        rows[6].prev_hash[0] ^= 1;
        assert_eq!(walk(&rows), broken(7, BreakKind::HashMismatch));
    }

    #[test]
    fn a_deleted_row_is_a_gap_at_its_seq() {
        let mut rows = chain(10);
        rows.remove(3);
        assert_eq!(walk(&rows), broken(4, BreakKind::Gap));
    }

    #[test]
    fn a_slipped_in_row_with_a_correct_hash_is_named_as_inserted() {
        let mut rows = chain(10);
        let mut forged = rows[2].clone();
        forged.id = Uuid::new_v4();
        forged.action = "forged".to_owned();
        forged.prev_hash.clone_from(&rows[2].prev_hash);
        let prev: [u8; 32] = forged.prev_hash.clone().try_into().unwrap();
        forged.hash = chain_hash(&prev, &forged).unwrap().to_vec();
        rows.insert(2, forged);
        for (i, r) in rows.iter_mut().enumerate() {
            r.seq = i as i64 + 1;
        }
        assert_eq!(walk(&rows), broken(3, BreakKind::Inserted));
    }

    #[test]
    fn a_moved_row_needs_the_database_to_say_where_it_belongs() {
        let mut rows = chain(10);
        rows.swap(2, 7);
        rows[2].seq = 3;
        rows[7].seq = 8;
        assert_eq!(
            walk(&rows),
            Step::Unlinked {
                seq: 3,
                prev_hash: rows[2].prev_hash.clone()
            }
        );
    }

    #[test]
    fn a_short_hash_is_a_mismatch_not_a_panic() {
        let mut rows = chain(3);
        rows[1].hash.truncate(5);
        assert_eq!(walk(&rows), broken(2, BreakKind::HashMismatch));
        let mut rows = chain(3);
        rows[0].prev_hash.clear();
        assert_eq!(walk(&rows), broken(1, BreakKind::HashMismatch));
    }

    #[test]
    fn every_break_names_its_seq_in_words() {
        let text = ChainBreak {
            seq: 42,
            kind: BreakKind::Truncated { checkpoint_seq: 50 },
        }
        .to_string();
        assert!(text.contains("seq 42") && text.contains("50"), "{text}");
    }
}
