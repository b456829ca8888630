//! The read cache's hot path (`web::read_cache`): what a cached page costs
//! before any I/O — hashing the cookie, finding the session among many, and
//! the change check — and what filling an entry costs.
//!
//! `cargo bench -p sentra-web --bench read_cache`

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use sentra_domain::UserId;
use sentra_web::read_cache::ReadCache;
use sentra_web::session::{AnySession, SessionToken};
use std::hint::black_box;
use std::time::Duration;

fn session(n: u128) -> AnySession {
    AnySession {
        token: SessionToken::generate().expect("randomness"),
        user: UserId::from_uuid(uuid::Uuid::from_u128(n)),
        mfa_verified: true,
        mfa_at: None,
        public_id: uuid::Uuid::from_u128(n),
        mfa_enrolled: true,
        home: None,
        expires_at: std::time::Instant::now() + Duration::from_hours(1),
    }
}

fn bench(c: &mut Criterion) {
    let cache = ReadCache::new(Duration::from_hours(1));
    let tokens: Vec<SessionToken> = (0..10_000)
        .map(|_| SessionToken::generate().expect("randomness"))
        .collect();
    for (i, t) in tokens.iter().enumerate() {
        cache.put_session(t.storage_hash(), cache.mark(), session(i as u128));
    }
    let mut i = 0usize;
    c.bench_function("session hit (hash cookie + lookup among 10,000)", |b| {
        b.iter(|| {
            i = (i + 7919) % tokens.len();
            black_box(cache.session(&tokens[i].storage_hash()))
        });
    });
    c.bench_function("session miss", |b| {
        let absent = SessionToken::generate().expect("randomness");
        b.iter(|| black_box(cache.session(&absent.storage_hash())));
    });
    c.bench_function("session fill", |b| {
        b.iter(|| {
            i = (i + 7919) % tokens.len();
            cache.put_session(tokens[i].storage_hash(), cache.mark(), session(1));
        });
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
