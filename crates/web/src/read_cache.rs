//! Short-lived in-process caches for the hottest reads: the three pages
//! people leave open and reload (`GET /`, `GET /messages`,
//! `GET /api/v1/messages`) and the session checks of those requests. Every
//! other request, and every write, checks its session in the database.
//!
//! Why: under load each of those requests costs two to three milliseconds of
//! CPU, about half of it the database's (docs/PERFORMANCE.md), and a person's
//! dashboard does not change from one second to the next. Both caches hold
//! an entry for at most [`ReadCache::ttl`] (`SENTRA_CACHE_MS`: 1,000 ms in
//! `sentra serve` unless set, 0 turns both off; off in [`AppState::new`]),
//! which bounds how stale a session or a page can be:
//!
//! - Anything this process changes is visible at once. Every state-changing
//!   request (any method but GET, HEAD and OPTIONS) moves a generation
//!   counter when it finishes, and entries from an older generation are
//!   never served, so sign-out, session revocation, MFA, role changes and
//!   case updates made here take effect for the very next request. An entry
//!   filled by a read that raced a write is tagged with the generation the
//!   read started in, so it is dead on arrival.
//! - Changes made elsewhere (another `sentra serve`, the worker storing new
//!   mail, an administrator in psql) show up within the TTL: a revoked
//!   session keeps working on this process for at most that long.
//!
//! A page is cached only for a fully signed-in session (MFA enrolled and
//! passed, so the policy checks the handler makes cannot refuse it), keyed
//! by user, organisation, role and the exact path and query, and only a 200
//! without `Set-Cookie`. Everything else goes to the handler as before.
//! Both maps are bounded; see [`MAX_SESSIONS`] and [`MAX_PAGE_BYTES`].

use crate::AppState;
use crate::session::AnySession;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sentra_domain::{OrgId, Role, UserId};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The default time an entry lives.
pub const DEFAULT_TTL: Duration = Duration::from_secs(1);
/// Sessions held at most; past it, expired entries go, then everything.
pub const MAX_SESSIONS: usize = 20_000;
/// Bytes of cached page bodies held at most (same policy).
pub const MAX_PAGE_BYTES: usize = 64 * 1024 * 1024;
/// A body larger than this is not cached.
pub const MAX_BODY: usize = 512 * 1024;
/// The paths whose GET responses may be cached.
pub const CACHED_PATHS: [&str; 3] = ["/", "/messages", "/api/v1/messages"];

/// What identifies one cached page: who asks (the organisation and role
/// come from their membership, never from the request) and what exactly.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct PageKey {
    user: UserId,
    org: OrgId,
    role: Role,
    /// Path and query as sent.
    target: String,
    /// htmx asks for the table alone, a history restore for the page.
    htmx: bool,
    history_restore: bool,
}

#[derive(Debug, Clone)]
struct Page {
    headers: HeaderMap,
    body: Bytes,
}

#[derive(Debug)]
struct Entry<T> {
    at: Instant,
    generation: u64,
    value: T,
}

#[derive(Debug, Default)]
struct Pages {
    map: HashMap<PageKey, Entry<Page>>,
    bytes: usize,
}

/// The two caches and the generation counter (one per `AppState`).
#[derive(Debug)]
pub struct ReadCache {
    ttl: Duration,
    generation: AtomicU64,
    sessions: Mutex<HashMap<String, Entry<AnySession>>>,
    pages: Mutex<Pages>,
}

impl Default for ReadCache {
    fn default() -> Self {
        Self::new(DEFAULT_TTL)
    }
}

impl ReadCache {
    /// Caches living `ttl`; zero disables both.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            generation: AtomicU64::new(0),
            sessions: Mutex::new(HashMap::new()),
            pages: Mutex::new(Pages::default()),
        }
    }

    /// How long an entry is served.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Whether caching is on.
    pub fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    /// The current generation; read it before the database read whose
    /// result is then stored.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Makes every entry stale (something in this process changed state).
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    fn fresh<T>(&self, e: &Entry<T>, now: Instant) -> bool {
        e.generation == self.generation() && now.duration_since(e.at) < self.ttl
    }

    /// The cached session for the cookie's storage hash, if fresh.
    pub fn session(&self, hash: &str) -> Option<AnySession> {
        if !self.enabled() {
            return None;
        }
        let map = self.sessions.lock().ok()?;
        map.get(hash)
            .filter(|e| self.fresh(e, Instant::now()))
            .map(|e| e.value.clone())
    }

    /// Remembers a session read from the database in `generation`.
    pub fn put_session(&self, hash: String, generation: u64, session: AnySession) {
        if !self.enabled() || generation != self.generation() {
            return;
        }
        let Ok(mut map) = self.sessions.lock() else {
            return;
        };
        let now = Instant::now();
        if map.len() >= MAX_SESSIONS {
            map.retain(|_, e| self.fresh(e, now));
            if map.len() >= MAX_SESSIONS {
                map.clear();
            }
        }
        map.insert(
            hash,
            Entry {
                at: now,
                generation,
                value: session,
            },
        );
    }

    fn page(&self, key: &PageKey) -> Option<Page> {
        let pages = self.pages.lock().ok()?;
        pages
            .map
            .get(key)
            .filter(|e| self.fresh(e, Instant::now()))
            .map(|e| e.value.clone())
    }

    fn put_page(&self, key: PageKey, generation: u64, page: Page) {
        if generation != self.generation() || page.body.len() > MAX_BODY {
            return;
        }
        let Ok(mut pages) = self.pages.lock() else {
            return;
        };
        let now = Instant::now();
        if pages.bytes + page.body.len() > MAX_PAGE_BYTES {
            pages.map.retain(|_, e| self.fresh(e, now));
            pages.bytes = pages.map.values().map(|e| e.value.body.len()).sum();
            if pages.bytes + page.body.len() > MAX_PAGE_BYTES {
                pages.map.clear();
                pages.bytes = 0;
            }
        }
        pages.bytes += page.body.len();
        let old = pages.map.insert(
            key,
            Entry {
                at: now,
                generation,
                value: page,
            },
        );
        if let Some(old) = old {
            pages.bytes -= old.value.body.len();
        }
    }
}

/// Middleware around the application: serves the cacheable pages from the
/// cache when it can and fills it when it cannot, and invalidates both
/// caches after every state-changing request.
pub async fn layer(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let cache = state.read_cache.clone();
    let method = req.method().clone();
    if !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS) {
        let res = next.run(req).await;
        // After the handler committed, before the client sees the answer.
        cache.invalidate();
        return res;
    }
    if !cache.enabled()
        || method != Method::GET
        || !CACHED_PATHS.contains(&req.uri().path())
        || req.headers().contains_key(header::AUTHORIZATION)
    {
        return next.run(req).await;
    }
    let generation = cache.generation();
    let Some(token) = crate::session::token_from(req.headers(), state.secure_cookies) else {
        return next.run(req).await;
    };
    let hash = token.storage_hash();
    let any = match cache.session(&hash) {
        Some(any) => any,
        None => match AnySession::from_headers(req.headers(), &state).await {
            Ok(Some(any)) => {
                cache.put_session(hash, generation, any.clone());
                any
            }
            // No session, or the database failed: the handler answers as usual.
            _ => return next.run(req).await,
        },
    };
    let key = match (&any.home, any.mfa_enrolled && any.mfa_verified) {
        (Some(home), true) => Some(PageKey {
            user: any.user,
            org: home.org,
            role: home.role,
            target: req
                .uri()
                .path_and_query()
                .map_or_else(|| req.uri().path().to_owned(), |p| p.as_str().to_owned()),
            htmx: req.headers().contains_key("hx-request"),
            history_restore: req.headers().contains_key("hx-history-restore-request"),
        }),
        _ => None,
    };
    if let Some(page) = key.as_ref().and_then(|k| cache.page(k)) {
        return cached_response(page);
    }
    // The handler's extractors take the session from here rather than
    // reading it a second time.
    req.extensions_mut().insert(any);
    let res = next.run(req).await;
    let Some(key) = key else {
        return res;
    };
    if res.status() != StatusCode::OK || res.headers().contains_key(header::SET_COOKIE) {
        return res;
    }
    let (parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    cache.put_page(
        key,
        generation,
        Page {
            headers: parts.headers.clone(),
            body: bytes.clone(),
        },
    );
    Response::from_parts(parts, Body::from(bytes))
}

fn cached_response(page: Page) -> Response {
    let mut res = Response::new(Body::from(page.body));
    *res.headers_mut() = page.headers;
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(user: UserId) -> AnySession {
        AnySession {
            token: crate::session::SessionToken::generate().expect("randomness"),
            user,
            mfa_verified: true,
            mfa_at: None,
            public_id: uuid::Uuid::nil(),
            mfa_enrolled: true,
            home: None,
        }
    }

    #[test]
    fn an_entry_from_an_older_generation_is_never_served() {
        let cache = ReadCache::new(Duration::from_mins(1));
        let user = UserId::from_uuid(uuid::Uuid::from_u128(1));
        let g = cache.generation();
        cache.put_session("h".to_owned(), g, session(user));
        assert_eq!(cache.session("h").map(|s| s.user), Some(user));
        cache.invalidate();
        assert!(cache.session("h").is_none());
        // A read that started before the write stores nothing.
        cache.put_session("h".to_owned(), g, session(user));
        assert!(cache.session("h").is_none());
    }

    #[test]
    fn entries_expire_and_a_zero_ttl_caches_nothing() {
        let cache = ReadCache::new(Duration::from_millis(1));
        let user = UserId::from_uuid(uuid::Uuid::from_u128(2));
        cache.put_session("h".to_owned(), cache.generation(), session(user));
        std::thread::sleep(Duration::from_millis(5));
        assert!(cache.session("h").is_none());
        let off = ReadCache::new(Duration::ZERO);
        off.put_session("h".to_owned(), off.generation(), session(user));
        assert!(off.session("h").is_none());
    }

    #[test]
    fn the_page_budget_is_kept() {
        let cache = ReadCache::new(Duration::from_mins(1));
        let body = Bytes::from(vec![b'x'; MAX_BODY]);
        for i in 0..(MAX_PAGE_BYTES / MAX_BODY + 5) {
            let key = PageKey {
                user: UserId::from_uuid(uuid::Uuid::from_u128(3)),
                org: OrgId::from_uuid(uuid::Uuid::from_u128(4)),
                role: Role::Owner,
                target: format!("/messages?page={i}"),
                htmx: false,
                history_restore: false,
            };
            cache.put_page(
                key,
                cache.generation(),
                Page {
                    headers: HeaderMap::new(),
                    body: body.clone(),
                },
            );
            let pages = cache.pages.lock().map_or(usize::MAX, |p| p.bytes);
            assert!(pages <= MAX_PAGE_BYTES, "{pages}");
        }
    }
}
