//! The version-1 canonical form of an audit event and its chain hash (the
//! format is specified in the parent module's doc).
//!
//! Written by hand rather than with `serde_json::to_vec` on a map: whether
//! `serde_json::Map` keeps keys sorted depends on a cargo feature
//! (`preserve_order`) that any crate in the build can switch on, and a hash
//! format must not change because of a dependency elsewhere.

use super::AuditEvent;
use crate::StoreError;
use serde_json::Value;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::macros::format_description;

/// The domain-separation prefix hashed before every event.
pub const HASH_DOMAIN: &[u8] = b"sentra-audit-v1";

/// `SHA-256("sentra-audit-v1" ‖ prev_hash ‖ canonical_json(event))`. The
/// event's own `seq`, `prev_hash` and `hash` fields are not read.
pub fn chain_hash(prev_hash: &[u8; 32], event: &AuditEvent) -> Result<[u8; 32], StoreError> {
    let json = canonical_json(event)?;
    let mut hasher = Sha256::new();
    hasher.update(HASH_DOMAIN);
    hasher.update(prev_hash);
    hasher.update(&json);
    Ok(hasher.finalize().into())
}

/// The canonical JSON bytes of `event` (keys `action`, `actor`,
/// `actor_user_id`, `at`, `details`, `id`, `org_id`, `target_id`,
/// `target_type`, in that order).
pub fn canonical_json(event: &AuditEvent) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"{\"action\":");
    write_str(&mut out, &event.action);
    out.extend_from_slice(b",\"actor\":");
    write_str(&mut out, &event.actor);
    out.extend_from_slice(b",\"actor_user_id\":");
    match event.actor_user_id {
        Some(u) => write_str(&mut out, &u.hyphenated().to_string()),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"at\":");
    write_str(&mut out, &format_at(event.at)?);
    out.extend_from_slice(b",\"details\":");
    write_value(&mut out, &event.details.0);
    out.extend_from_slice(b",\"id\":");
    write_str(&mut out, &event.id.hyphenated().to_string());
    out.extend_from_slice(b",\"org_id\":");
    write_str(&mut out, &event.org_id.hyphenated().to_string());
    out.extend_from_slice(b",\"target_id\":");
    write_opt_str(&mut out, event.target_id.as_deref());
    out.extend_from_slice(b",\"target_type\":");
    write_opt_str(&mut out, event.target_type.as_deref());
    out.push(b'}');
    Ok(out)
}

/// `at` as RFC 3339 UTC with exactly six fractional digits.
pub fn format_at(at: OffsetDateTime) -> Result<String, StoreError> {
    at.to_offset(time::UtcOffset::UTC)
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
        ))
        .map_err(|_| StoreError::Decode {
            what: "audit_event.at",
        })
}

fn write_opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => write_str(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

fn write_str(out: &mut Vec<u8>, s: &str) {
    // serde_json's string escaping is fixed by JSON itself (quote, backslash,
    // control characters), independent of any feature flag.
    match serde_json::to_vec(s) {
        Ok(bytes) => out.extend_from_slice(&bytes),
        // Serialising a &str cannot fail; writing nothing would still make
        // the hash differ from any honest one rather than panic.
        Err(_) => out.extend_from_slice(b"\"\""),
    }
}

fn write_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(out, key);
                out.push(b':');
                write_value(out, item);
            }
            out.push(b'}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use sqlx::types::Json;
    use uuid::Uuid;

    fn event() -> AuditEvent {
        AuditEvent {
            org_id: Uuid::parse_str("0b6f3b9e-1d2c-4c55-9a77-3f1e2d4c5b6a").unwrap(),
            seq: 1,
            id: Uuid::parse_str("11111111-2222-4333-8444-555555555555").unwrap(),
            at: time::macros::datetime!(2026-03-01 09:30:00.000042 UTC),
            actor_user_id: None,
            actor: "user".to_owned(),
            action: "auth.login".to_owned(),
            target_type: Some("session".to_owned()),
            target_id: None,
            details: Json(json!({"zeta": [1, {"b": true, "a": null}], "alpha": "é\n\"x\""})),
            prev_hash: vec![0; 32],
            hash: Vec::new(),
        }
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_level_and_has_no_whitespace() {
        let text = String::from_utf8(canonical_json(&event()).unwrap()).unwrap();
        assert_eq!(
            text,
            r#"{"action":"auth.login","actor":"user","actor_user_id":null,"at":"2026-03-01T09:30:00.000042Z","details":{"alpha":"é\n\"x\"","zeta":[1,{"a":null,"b":true}]},"id":"11111111-2222-4333-8444-555555555555","org_id":"0b6f3b9e-1d2c-4c55-9a77-3f1e2d4c5b6a","target_id":null,"target_type":"session"}"#
        );
    }

    #[test]
    fn timestamps_are_written_in_utc_with_six_fractional_digits() {
        let at = time::macros::datetime!(2026-03-01 10:30:00 +01:00);
        assert_eq!(format_at(at).unwrap(), "2026-03-01T09:30:00.000000Z");
    }

    #[test]
    fn the_hash_depends_on_the_previous_hash_and_every_field_but_not_seq() {
        let base = event();
        let h = chain_hash(&[0; 32], &base).unwrap();
        assert_ne!(h, chain_hash(&[1; 32], &base).unwrap());
        let mut moved = base.clone();
        moved.seq = 99;
        assert_eq!(h, chain_hash(&[0; 32], &moved).unwrap());
        let mut edits: Vec<AuditEvent> = Vec::new();
        let mut e = base.clone();
        e.action.push('x');
        edits.push(e);
        let mut e = base.clone();
        e.actor_user_id = Some(Uuid::nil());
        edits.push(e);
        let mut e = base.clone();
        e.at += time::Duration::microseconds(1);
        edits.push(e);
        let mut e = base.clone();
        e.details = Json(json!({}));
        edits.push(e);
        let mut e = base.clone();
        e.target_id = Some(String::new());
        edits.push(e);
        let mut e = base;
        e.org_id = Uuid::nil();
        edits.push(e);
        for edited in edits {
            assert_ne!(h, chain_hash(&[0; 32], &edited).unwrap(), "{edited:?}");
        }
    }

    #[test]
    fn the_hash_is_sha256_of_the_domain_prefix_previous_hash_and_json() {
        let e = event();
        let mut input = HASH_DOMAIN.to_vec();
        input.extend_from_slice(&[7; 32]);
        input.extend_from_slice(&canonical_json(&e).unwrap());
        let expected: [u8; 32] = Sha256::digest(&input).into();
        assert_eq!(chain_hash(&[7; 32], &e).unwrap(), expected);
    }
}
