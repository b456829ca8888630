//! Times `sentra_store::audit::verify` over a million events (security bar
//! G2.2: at most 60 s on the 2-core CI machine).
//!
//! Builds a throw-away database (`DATABASE_URL`, a superuser, as for the
//! tests), writes `EVENTS` events spread over `ORGS` organisations with
//! correct hashes computed in Rust and loaded with `COPY`, then verifies
//! every chain through the owner pool and prints the timings.
//!
//! ```text
//! cargo run --release -p sentra-store --example audit_bench [events] [orgs]
//! ```

use sentra_store::audit::{AuditEvent, GENESIS_HASH, chain_hash, checkpoint, format_at, verify};
use sentra_store::testing::TestDb;
use sqlx::types::Json;
use std::fmt::Write as _;
use std::time::Instant;
use uuid::Uuid;

/// Rows per `COPY` message.
const CHUNK: usize = 5_000;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// One row in `COPY … (format text)` form.
fn copy_line(e: &AuditEvent) -> String {
    let at = format_at(e.at).expect("timestamp formats");
    let details = serde_json::to_string(&e.details.0).expect("json");
    format!(
        "{}\t{}\t{}\t{}\t\\N\t{}\t{}\t{}\t{}\t{}\t\\\\x{}\t\\\\x{}\n",
        e.org_id,
        e.seq,
        e.id,
        at,
        e.actor,
        e.action,
        e.target_type.as_deref().unwrap_or("\\N"),
        e.target_id.as_deref().unwrap_or("\\N"),
        details,
        hex(&e.prev_hash),
        hex(&e.hash),
    )
}

async fn load_org(db: &TestDb, org: Uuid, events: usize) {
    let mut conn = db.superuser().acquire().await.expect("connection");
    let start = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .expect("time");
    let mut prev = GENESIS_HASH;
    let mut buf = String::with_capacity(CHUNK * 400);
    let mut copy = conn
        .copy_in_raw(
            "copy audit_event (org_id, seq, id, at, actor_user_id, actor, action, target_type,
               target_id, details, prev_hash, hash) from stdin (format text)",
        )
        .await
        .expect("copy");
    for seq in 1..=events as i64 {
        let mut e = AuditEvent {
            org_id: org,
            seq,
            id: Uuid::new_v4(),
            at: start + time::Duration::milliseconds(seq),
            actor_user_id: None,
            actor: "system:bench".to_owned(),
            action: format!("bench.action_{}", seq % 7),
            target_type: Some("supplier".to_owned()),
            target_id: Some(format!("s-{}", seq % 1000)),
            details: Json(serde_json::json!({ "n": seq, "kind": "bench", "ok": seq % 2 == 0 })),
            prev_hash: prev.to_vec(),
            hash: Vec::new(),
        };
        prev = chain_hash(&prev, &e).expect("hash");
        e.hash = prev.to_vec();
        buf.push_str(&copy_line(&e));
        if (seq as usize).is_multiple_of(CHUNK) {
            copy.send(buf.as_bytes()).await.expect("send");
            buf.clear();
        }
    }
    if !buf.is_empty() {
        copy.send(buf.as_bytes()).await.expect("send");
    }
    copy.finish().await.expect("finish");
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let events: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let orgs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(4);
    let Some(db) = TestDb::create().await else {
        eprintln!("no database: set DATABASE_URL to a superuser URL");
        std::process::exit(2);
    };
    let per_org = events / orgs;
    let load = Instant::now();
    for i in 0..orgs {
        let org: Uuid =
            sqlx::query_scalar("insert into organisation (name) values ($1) returning id")
                .bind(format!("bench {i}"))
                .fetch_one(db.superuser())
                .await
                .expect("org");
        load_org(&db, org, per_org).await;
    }
    sqlx::query("analyze audit_event")
        .execute(db.superuser())
        .await
        .expect("analyze");
    println!(
        "loaded {} events for {orgs} orgs in {:.1} s",
        per_org * orgs,
        load.elapsed().as_secs_f64()
    );

    let owner = db.owner_pool(2).await.expect("owner pool");
    let started = Instant::now();
    let reports = verify(&owner, None).await.expect("verify");
    let took = started.elapsed().as_secs_f64();
    let checked: u64 = reports.iter().map(|r| r.checked).sum();
    let bad: Vec<_> = reports.iter().filter(|r| !r.is_ok()).collect();
    println!(
        "verify: {checked} events in {took:.2} s ({:.0} events/s), {} broken chains",
        checked as f64 / took,
        bad.len()
    );
    assert!(bad.is_empty(), "false positives: {bad:?}");

    let started = Instant::now();
    let note = checkpoint(&owner, &[9; 32]).await.expect("checkpoint");
    println!(
        "checkpoint (verify + sign): {:.2} s, {} bytes",
        started.elapsed().as_secs_f64(),
        note.len()
    );
}
