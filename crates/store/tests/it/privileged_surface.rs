//! The privileged surface stays small (security bar G1.5): database pools are
//! built only in `owner.rs` and `db.rs`, and the owner pool is opened only
//! from the reviewed call sites below. Growing either list is a review event.

use std::path::{Path, PathBuf};

/// Files (relative to `crates/`) allowed to build a connection pool.
const POOL_BUILDERS: &[&str] = &["store/src/owner.rs", "store/src/db.rs"];

/// Files allowed to open the owner pool, and why. Library code that works
/// as the owner (the retention purge, key rotation, audit verification)
/// takes an `&OwnerPool` from its caller rather than opening one, so only
/// the entry points that start a privileged path are listed.
const OWNER_CALL_SITES: &[&str] = &[
    // `sentra migrate`: migrations must run as the schema owner.
    "store/src/migrate.rs",
    // Per-test databases (feature `testing` only): creates and drops them as
    // the superuser, and hands tests and the audit benchmark an owner pool
    // (`TestDb::owner_pool`), so they need no call site of their own.
    "store/src/testing.rs",
    // `sentra audit verify | checkpoint`: verification reads every
    // organisation's chain, which only the owner's scoped policies allow.
    "cli/src/audit_cmd.rs",
    // `sentra keys rotate`: re-encrypts every organisation's ciphertexts
    // through the owner's scoped policies (migration 0013).
    "cli/src/keys_cmd.rs",
];

const POOL_PATTERNS: &[&str] = &[
    "PgPoolOptions",
    "PgPool::connect",
    "Pool::<Postgres>::connect",
    "PgConnection::connect",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            // integration tests may connect however they like; targets are build output
            if !matches!(
                path.file_name().and_then(|n| n.to_str()),
                Some("tests" | "target")
            ) {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn sources() -> Vec<(String, String)> {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut files = Vec::new();
    rust_files(crates, &mut files);
    files
        .into_iter()
        .map(|p| {
            let rel = p
                .strip_prefix(crates)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            (rel, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

#[test]
fn connection_pools_are_built_only_in_the_two_pool_modules() {
    let offenders: Vec<String> = sources()
        .into_iter()
        .filter(|(rel, _)| !POOL_BUILDERS.contains(&rel.as_str()))
        .filter(|(_, text)| POOL_PATTERNS.iter().any(|p| text.contains(p)))
        .map(|(rel, _)| rel)
        .collect();
    assert!(
        offenders.is_empty(),
        "pools built outside owner.rs/db.rs: {offenders:?}"
    );
}

#[test]
fn the_owner_pool_is_opened_only_from_reviewed_call_sites() {
    let sites: Vec<String> = sources()
        .into_iter()
        .filter(|(rel, _)| rel != "store/src/owner.rs")
        .filter(|(_, text)| text.contains("OwnerPool::connect"))
        .map(|(rel, _)| rel)
        .collect();
    let unexpected: Vec<_> = sites
        .iter()
        .filter(|s| !OWNER_CALL_SITES.contains(&s.as_str()))
        .collect();
    assert!(
        unexpected.is_empty(),
        "new owner-pool call sites need review: {unexpected:?}"
    );
    assert!(
        OWNER_CALL_SITES.len() <= 5,
        "G1.5 caps the owner call sites at 5"
    );
}

#[test]
fn the_scan_sees_the_pool_modules_themselves() {
    // Guards the guard: if the walk found nothing, the tests above would pass vacuously.
    let all = sources();
    let owner = all
        .iter()
        .find(|(rel, _)| rel == "store/src/owner.rs")
        .unwrap();
    assert!(owner.1.contains("PgPoolOptions"));
    assert!(all.iter().any(|(rel, _)| rel == "store/src/db.rs"));
}
