//! One in-memory rate limiter for every throttle in the web app: a token
//! bucket per key ([`Limiter`]). Keys are client addresses for the
//! credential routes ([`limit`], the middleware) and the public contact
//! form, and normalised sign-in addresses for password reset mail.
//!
//! In memory is enough because it is the second line: the per-account
//! lockout (10 failures per 5 minutes, persisted in Postgres) is what bounds
//! guessing against one account whatever the number of instances, and the
//! contact form also has a global count in the database. A bucket only
//! slows one client spraying many accounts or forms; with N instances
//! behind a balancer a client gets at most N buckets, which still bounds
//! it. IPv6 addresses are bucketed by their /64, since one host commonly
//! holds a whole /64. The map is bounded ([`MAX_KEYS`]): when full, buckets
//! that have refilled are dropped, and if none has, the oldest half goes.
//!
//! The address is the TCP peer. Behind a reverse proxy every client shares
//! the proxy's address, so the proxy must throttle itself (or this layer be
//! given a trusted-hop extractor, not yet done: `X-Forwarded-For` is
//! client-controlled and never trusted here).

use crate::WebError;
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The most keys tracked at once by one limiter.
pub const MAX_KEYS: usize = 10_000;

/// A token bucket per key: `burst` hits at once, refilling at `per_sec`.
#[derive(Debug)]
pub struct Limiter<K> {
    burst: f64,
    per_sec: f64,
    buckets: Mutex<HashMap<K, (f64, Instant)>>,
}

/// The per-address limiter (keys are normalised by [`Limiter::allow`]).
pub type IpLimiter = Limiter<IpAddr>;

impl<K: Eq + Hash> Limiter<K> {
    /// `burst` hits at once, refilling at `per_sec`.
    pub fn new(burst: u32, per_sec: f64) -> Self {
        Self {
            burst: f64::from(burst.max(1)),
            per_sec: per_sec.max(0.0),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// `limit` hits per `window`: a full bucket of `limit`, refilled evenly
    /// over the window (so a client that used it up gets one more hit every
    /// `window / limit`, never `limit` more at a window's edge).
    pub fn per_window(limit: u32, window: Duration) -> Self {
        let secs = window.as_secs_f64().max(0.001);
        Self::new(limit, f64::from(limit.max(1)) / secs)
    }

    /// Counts one hit for `key`; `false` when its bucket is empty.
    pub fn hit(&self, key: K) -> bool {
        self.hit_at(key, Instant::now())
    }

    fn hit_at(&self, key: K, now: Instant) -> bool {
        // A panic elsewhere while holding the lock leaves only counters
        // behind; keep limiting rather than fail open or closed for good.
        let mut map = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= MAX_KEYS && !map.contains_key(&key) {
            let (burst, rate) = (self.burst, self.per_sec);
            map.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < burst
            });
            if map.len() >= MAX_KEYS {
                let mut ages: Vec<Instant> = map.values().map(|(_, at)| *at).collect();
                ages.sort_unstable();
                if let Some(cut) = ages.get(ages.len() / 2).copied() {
                    map.retain(|_, (_, at)| *at > cut);
                }
            }
        }
        let entry = map.entry(key).or_insert((self.burst, now));
        let refilled =
            (entry.0 + now.duration_since(entry.1).as_secs_f64() * self.per_sec).min(self.burst);
        if refilled >= 1.0 {
            *entry = (refilled - 1.0, now);
            true
        } else {
            *entry = (refilled, now);
            false
        }
    }

    /// How many keys are tracked.
    pub fn tracked(&self) -> usize {
        self.buckets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl Limiter<IpAddr> {
    /// The credential routes' default: 30 at once, then one every two seconds.
    pub fn default_for_auth() -> Self {
        Self::new(30, 0.5)
    }

    /// Takes one token for `ip` (an IPv6 address counts as its /64);
    /// `false` when its bucket is empty.
    pub fn allow(&self, ip: IpAddr) -> bool {
        self.hit(key(ip))
    }
}

fn key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                IpAddr::V4(v4)
            } else {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        }
    }
}

/// Middleware: 429 `too_many_requests` when the peer's bucket is empty.
/// Requests without a known peer (in-process tests) pass.
pub async fn limit(State(limiter): State<Arc<IpLimiter>>, req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let Some(ip) = peer
        && !limiter.allow(ip)
    {
        tracing::warn!(path = %crate::log_path::loggable(req.uri().path()), "throttled by address");
        return WebError::Client {
            status: axum::http::StatusCode::TOO_MANY_REQUESTS,
            code: "too_many_requests",
            message: "too many attempts from this address; wait a minute".to_owned(),
        }
        .into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_empties_and_refills() {
        let l = IpLimiter::new(3, 1.0);
        let ip: IpAddr = [192, 0, 2, 1].into();
        let t0 = Instant::now();
        assert!((0..3).all(|_| l.hit_at(ip, t0)));
        assert!(!l.hit_at(ip, t0));
        assert!(l.hit_at(ip, t0 + Duration::from_millis(1100)));
        assert!(
            l.hit_at([192, 0, 2, 2].into(), t0),
            "other addresses unaffected"
        );
    }

    #[test]
    fn ipv6_is_bucketed_by_its_64_and_the_map_stays_bounded() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap_or(IpAddr::from([0u8; 4]));
        let b: IpAddr = "2001:db8:1:2:ffff::9"
            .parse()
            .unwrap_or(IpAddr::from([0u8; 4]));
        assert_eq!(key(a), key(b));
        let l = IpLimiter::new(1, 0.0);
        let t0 = Instant::now();
        for i in 0..(MAX_KEYS as u32 + 50) {
            l.hit_at(IpAddr::from(i.to_be_bytes()), t0);
        }
        assert!(l.tracked() <= MAX_KEYS);
    }

    // The contact form's limiter (formerly a fixed window of its own).
    #[test]
    fn a_window_limit_applies_per_key_and_refills_within_the_window() {
        let t = IpLimiter::per_window(2, Duration::from_mins(10));
        let a: IpAddr = [127, 0, 0, 1].into();
        let b: IpAddr = [127, 0, 0, 2].into();
        assert!(t.allow(a) && t.allow(a));
        assert!(!t.allow(a));
        assert!(t.allow(b));
        let t0 = Instant::now();
        let l = Limiter::<&str>::per_window(2, Duration::from_mins(10));
        assert!(l.hit_at("x", t0) && l.hit_at("x", t0) && !l.hit_at("x", t0));
        assert!(!l.hit_at("x", t0 + Duration::from_mins(4)));
        assert!(l.hit_at("x", t0 + Duration::from_mins(6)));
    }
}
