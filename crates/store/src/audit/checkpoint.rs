//! Signed checkpoints: the per-organisation chain heads, signed with Ed25519
//! by a key that is not in the database, to be kept outside it (security bar
//! G2.3). A superuser can rewrite a chain consistently or cut its tail; a
//! checkpoint taken earlier still names the old head, so
//! [`verify_against_checkpoint`] catches both.
//!
//! The note is C2SP `tlog-checkpoint`-shaped: the body is
//!
//! ```text
//! sentra.audit.v1                       origin
//! 1234                                  events covered (sum of head seqs)
//! <base64 root>                         RFC 6962 Merkle root over the org lines
//! time 2026-03-01T09:30:00.000000Z      when it was taken
//! org <uuid> <seq> <hash hex>           one line per org with events, by org id
//! ```
//!
//! followed by a blank line and a C2SP signed-note signature line
//! (`— sentra <base64(key hash ‖ signature)>`), byte-compatible with the
//! store's crypto module: [`checkpoint`] signs with a bare seed,
//! [`checkpoint_with_keyring`] with the keyring's `sign` key.

use super::verify::{
    BreakKind, ChainBreak, VerifyReport, all_orgs, begin_org_snapshot, verify_org,
};
use super::{format_at, hex, unhex32};
use crate::crypto::{self, Keyring};
use crate::{OwnerPool, StoreError};
use base64ct::{Base64, Encoding};
use ed25519_dalek::SigningKey;
use sentra_domain::OrgId;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use uuid::Uuid;

/// The first line of every Sentra audit checkpoint.
const ORIGIN: &str = "sentra.audit.v1";

/// One organisation's head in a checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointHead {
    /// The organisation.
    pub org: OrgId,
    /// Its last `seq` when the checkpoint was taken.
    pub seq: i64,
    /// That event's hash.
    pub hash: [u8; 32],
}

/// Verifies every organisation's chain and signs a checkpoint of their heads
/// with the Ed25519 key whose 32-byte seed is `signing_seed`. Refuses
/// ([`StoreError::AuditChainBroken`]) when any chain is broken: a checkpoint
/// must never vouch for a tampered chain.
pub async fn checkpoint(pool: &OwnerPool, signing_seed: &[u8; 32]) -> Result<String, StoreError> {
    sign_note(signing_seed, &verified_body(pool).await?)
}

/// [`checkpoint`] signed with the keyring's `sign` key (the same signed-note
/// format, verified by [`verify_note`] with that key's public half).
pub async fn checkpoint_with_keyring(
    pool: &OwnerPool,
    keys: &Keyring,
) -> Result<String, StoreError> {
    if !keys.has_signing_key() {
        return Err(StoreError::Checkpoint {
            reason: "the keyring has no `sign` key",
        });
    }
    let body = verified_body(pool).await?;
    crypto::sign_checkpoint(keys, &body).map_err(|_| StoreError::Checkpoint {
        reason: "the body is empty or has blank lines or control characters",
    })
}

/// Verifies every chain and returns the checkpoint body of their heads, now.
async fn verified_body(pool: &OwnerPool) -> Result<String, StoreError> {
    let reports = super::verify(pool, None).await?;
    let mut heads = Vec::new();
    for report in reports {
        if let Some(problem) = report.problem {
            return Err(StoreError::AuditChainBroken {
                org: report.org.as_uuid(),
                seq: problem.seq,
            });
        }
        if let Some((seq, hash)) = report.head {
            heads.push(CheckpointHead {
                org: report.org,
                seq,
                hash,
            });
        }
    }
    let now = time::OffsetDateTime::now_utc();
    Ok(checkpoint_body(&heads, &format_at(now)?))
}

/// Checks every chain, and each organisation the checkpoint names against
/// its head there: the event at the checkpoint's `seq` must still exist and
/// carry the same hash. Errors only when the note itself is malformed or its
/// signature does not verify with `public_key` (32 raw Ed25519 bytes).
pub async fn verify_against_checkpoint(
    pool: &OwnerPool,
    checkpoint_text: &str,
    public_key: &[u8; 32],
) -> Result<Vec<VerifyReport>, StoreError> {
    let body = verify_note(public_key, checkpoint_text)?;
    let heads: BTreeMap<OrgId, CheckpointHead> = parse_checkpoint(&body)?
        .into_iter()
        .map(|h| (h.org, h))
        .collect();
    let mut orgs = all_orgs(pool).await?;
    orgs.extend(
        heads
            .keys()
            .filter(|o| !orgs.contains(o))
            .copied()
            .collect::<Vec<_>>(),
    );
    let mut reports = Vec::with_capacity(orgs.len());
    for org in orgs {
        let mut tx = begin_org_snapshot(pool, org).await?;
        let mut report = verify_org(&mut tx, org).await?;
        if let Some(head) = heads.get(&org) {
            let earlier = report.problem.is_none_or(|p| p.seq > head.seq);
            if earlier && let Some(problem) = compare_head(&mut tx, &report, head).await? {
                report.problem = Some(problem);
            }
        }
        tx.commit().await?;
        reports.push(report);
    }
    Ok(reports)
}

async fn compare_head(
    conn: &mut sqlx::PgConnection,
    report: &VerifyReport,
    head: &CheckpointHead,
) -> Result<Option<ChainBreak>, StoreError> {
    let current = report.head.map_or(0, |(seq, _)| seq);
    if current < head.seq && report.problem.is_none() {
        return Ok(Some(ChainBreak {
            seq: current + 1,
            kind: BreakKind::Truncated {
                checkpoint_seq: head.seq,
            },
        }));
    }
    let stored: Option<Vec<u8>> =
        sqlx::query_scalar("select hash from audit_event where org_id = $1 and seq = $2")
            .bind(head.org.as_uuid())
            .bind(head.seq)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(match stored {
        Some(h) if h.as_slice() == head.hash => None,
        Some(_) => Some(ChainBreak {
            seq: head.seq,
            kind: BreakKind::DiffersFromCheckpoint,
        }),
        None => Some(ChainBreak {
            seq: head.seq,
            kind: BreakKind::Truncated {
                checkpoint_seq: head.seq,
            },
        }),
    })
}

/// The checkpoint body for `heads` (sorted here by org id).
fn checkpoint_body(heads: &[CheckpointHead], time: &str) -> String {
    let mut heads = heads.to_vec();
    heads.sort_by_key(|h| h.org);
    let lines: Vec<String> = heads.iter().map(org_line).collect();
    let size: i64 = heads.iter().map(|h| h.seq).sum();
    let root = merkle_root(&lines);
    let mut body = format!(
        "{ORIGIN}\n{size}\n{}\ntime {time}\n",
        Base64::encode_string(&root)
    );
    for line in lines {
        body.push_str(&line);
        body.push('\n');
    }
    body
}

fn org_line(h: &CheckpointHead) -> String {
    format!("org {} {} {}", h.org, h.seq, hex(&h.hash))
}

/// Parses a checkpoint body (already signature-checked) into its heads,
/// checking the origin, the size and the Merkle root against the org lines.
pub fn parse_checkpoint(body: &str) -> Result<Vec<CheckpointHead>, StoreError> {
    let bad = |reason| StoreError::Checkpoint { reason };
    let mut lines = body.lines();
    if lines.next() != Some(ORIGIN) {
        return Err(bad("not a Sentra audit checkpoint (origin line)"));
    }
    let size: i64 = lines
        .next()
        .and_then(|l| l.parse().ok())
        .ok_or(bad("the size line is not a number"))?;
    let root = lines
        .next()
        .and_then(|l| Base64::decode_vec(l).ok())
        .ok_or(bad("the root line is not base64"))?;
    let mut heads = Vec::new();
    let mut org_lines = Vec::new();
    for line in lines {
        if line.starts_with("time ") {
            continue;
        }
        let mut parts = line.split(' ');
        let (Some("org"), Some(org), Some(seq), Some(hash), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(bad("an org line is malformed"));
        };
        let head = CheckpointHead {
            org: OrgId::from_uuid(Uuid::parse_str(org).map_err(|_| bad("an org id is malformed"))?),
            seq: seq.parse().map_err(|_| bad("a seq is malformed"))?,
            hash: unhex32(hash).ok_or(bad("a hash is malformed"))?,
        };
        if heads.iter().any(|h: &CheckpointHead| h.org == head.org) {
            return Err(bad("an organisation is listed twice"));
        }
        org_lines.push(line.to_owned());
        heads.push(head);
    }
    if heads.iter().map(|h| h.seq).sum::<i64>() != size {
        return Err(bad("the size does not match the org lines"));
    }
    if merkle_root(&org_lines).as_slice() != root.as_slice() {
        return Err(bad("the root does not match the org lines"));
    }
    Ok(heads)
}

/// RFC 6962 Merkle tree hash over the lines' bytes.
fn merkle_root(lines: &[String]) -> [u8; 32] {
    match lines {
        [] => Sha256::digest([]).into(),
        [one] => {
            let mut h = Sha256::new();
            h.update([0u8]);
            h.update(one.as_bytes());
            h.finalize().into()
        }
        _ => {
            // RFC 6962: split at the largest power of two below the length
            let split = 1usize << (lines.len() - 1).ilog2();
            let (left, right) = lines.split_at(split);
            let mut h = Sha256::new();
            h.update([1u8]);
            h.update(merkle_root(left));
            h.update(merkle_root(right));
            h.finalize().into()
        }
    }
}

/// The Ed25519 public key (32 raw bytes) for a 32-byte seed.
pub fn public_key_for_seed(seed: &[u8; 32]) -> [u8; 32] {
    SigningKey::from_bytes(seed).verifying_key().to_bytes()
}

/// Signs `body` as a C2SP signed note with the key whose seed is `seed`.
/// The body gets a final newline if it lacks one; it must not be empty or
/// contain a blank line or control characters other than newline. The note
/// format itself lives in `crypto::signing`.
pub fn sign_note(seed: &[u8; 32], body: &str) -> Result<String, StoreError> {
    crate::crypto::sign_note_with(&SigningKey::from_bytes(seed), body).map_err(|_| {
        StoreError::Checkpoint {
            reason: "the body is empty or has blank lines or control characters",
        }
    })
}

/// Checks a signed note against `public_key` and returns its body (with its
/// final newline). Lines signed by other keys (witnesses) are ignored; at
/// least one must be by this key, and every one by this key must verify.
pub fn verify_note(public_key: &[u8; 32], note: &str) -> Result<String, StoreError> {
    let key = crate::crypto::CheckpointPublicKey::from_bytes(public_key).map_err(|_| {
        StoreError::Checkpoint {
            reason: "the public key is invalid",
        }
    })?;
    crate::crypto::verify_checkpoint(&key, note).map_err(|e| StoreError::Checkpoint {
        reason: match e {
            crate::crypto::CryptoError::MalformedNote => {
                "the note or a signature line is malformed"
            }
            _ => "the signature does not verify",
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: [u8; 32] = [7; 32];

    fn heads() -> Vec<CheckpointHead> {
        (0..5u8)
            .map(|i| CheckpointHead {
                org: OrgId::from_uuid(Uuid::from_bytes([i; 16])),
                seq: i64::from(i) * 10 + 1,
                hash: [i; 32],
            })
            .collect()
    }

    #[test]
    fn a_signed_checkpoint_round_trips_to_its_heads() {
        let body = checkpoint_body(&heads(), "2026-03-01T09:30:00.000000Z");
        let note = sign_note(&SEED, &body).unwrap();
        let back = verify_note(&public_key_for_seed(&SEED), &note).unwrap();
        assert_eq!(back, body);
        assert_eq!(parse_checkpoint(&back).unwrap(), heads());
    }

    #[test]
    fn a_changed_head_fails_the_signature() {
        let body = checkpoint_body(&heads(), "2026-03-01T09:30:00.000000Z");
        let note = sign_note(&SEED, &body).unwrap().replacen(" 11 ", " 10 ", 1);
        assert!(matches!(
            verify_note(&public_key_for_seed(&SEED), &note),
            Err(StoreError::Checkpoint { .. })
        ));
    }

    #[test]
    fn another_key_is_refused() {
        let note = sign_note(&SEED, &checkpoint_body(&heads(), "t")).unwrap();
        let other = public_key_for_seed(&[8; 32]);
        assert!(verify_note(&other, &note).is_err());
    }

    #[test]
    fn a_body_whose_root_disagrees_with_its_lines_is_refused() {
        let body = checkpoint_body(&heads(), "t");
        let edited = body
            .replacen(" 21 ", " 22 ", 1)
            .replacen("\n105\n", "\n106\n", 1);
        assert!(matches!(
            parse_checkpoint(&edited),
            Err(StoreError::Checkpoint { reason }) if reason.contains("root")
        ));
    }

    #[test]
    fn garbage_notes_are_errors_not_panics() {
        let key = public_key_for_seed(&SEED);
        for note in [
            "",
            "\n\n",
            "x\n\n\u{2014} sentra !!!\n",
            "x\n\n\u{2014} sentra AAAA\n",
        ] {
            assert!(verify_note(&key, note).is_err(), "{note:?}");
        }
        for body in [
            "",
            "sentra.audit.v1\nx\n",
            "sentra.audit.v1\n0\n!!\n",
            "sentra.audit.v1\n1\nAAAA\norg x 1 00\n",
        ] {
            assert!(parse_checkpoint(body).is_err(), "{body:?}");
        }
    }

    #[test]
    fn the_merkle_root_follows_rfc_6962_splits() {
        let lines: Vec<String> = (0..3).map(|i| format!("l{i}")).collect();
        let leaf = |s: &str| -> [u8; 32] {
            let mut h = Sha256::new();
            h.update([0u8]);
            h.update(s.as_bytes());
            h.finalize().into()
        };
        let node = |a: [u8; 32], b: [u8; 32]| -> [u8; 32] {
            let mut h = Sha256::new();
            h.update([1u8]);
            h.update(a);
            h.update(b);
            h.finalize().into()
        };
        let expected = node(node(leaf("l0"), leaf("l1")), leaf("l2"));
        assert_eq!(merkle_root(&lines), expected);
        let four: Vec<String> = (0..4).map(|i| format!("l{i}")).collect();
        let expected4 = node(node(leaf("l0"), leaf("l1")), node(leaf("l2"), leaf("l3")));
        assert_eq!(merkle_root(&four), expected4);
    }
}
