//! In-process caches for the hottest reads: the three pages people leave
//! open and reload (`GET /`, `GET /messages`, `GET /api/v1/messages`) and the
//! session checks of those requests. Every other request, and every write,
//! checks its session in the database.
//!
//! Why: uncached, each of those requests costs one to three milliseconds of
//! CPU, about half of it the database's (docs/PERFORMANCE.md), and a person's
//! dashboard does not change from one second to the next. How long an entry
//! is served depends on whether this process hears about changes:
//!
//! - **Following changes** (the normal state of `sentra serve`, see
//!   [`follow_changes`]): migration `0101_change_notify.sql` makes every
//!   committed change to a tenant row, an organisation, an account, a
//!   membership or a session notify the organisation or user it touched,
//!   whoever made it (another `sentra serve`, the worker storing new mail,
//!   psql). The entries of that organisation or user are dropped as the
//!   notification arrives, a few milliseconds after the commit (a tenant
//!   row ends the organisation's pages; its own row or an account also ends
//!   session checks). An entry otherwise lives at most [`LIVE_MAX_AGE`]
//!   (the bound for what only time changes on a page), and a cached session
//!   never outlives its own deadline. While the listener is reconnecting,
//!   and when it reconnects (notifications may have been lost), everything
//!   is dropped and the short lifetime below applies.
//! - **Not following** (before the listener connects, or without one, as in
//!   tests): an entry lives [`ReadCache::ttl`] (`SENTRA_CACHE_MS`, 1,000 ms
//!   in `sentra serve` unless set), so a change made elsewhere shows within
//!   it. `SENTRA_CACHE_MS=0` turns both caches off.
//!
//! A write through this process is visible to its very next request: every
//! state-changing request (any method but GET, HEAD and OPTIONS) drops, when
//! it finishes, the entries of the writer's organisation and account (known
//! from the session cache), or every entry when the writer is not known or
//! changes are not being followed. Sign-out, revocation, MFA, role changes
//! and case updates made here therefore take effect at once for the writer's
//! organisation; other organisations follow at the notification. An entry
//! filled by a read that raced a change is tagged with the moment the read
//! started, so it is dead on arrival.
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
use sentra_store::AppPool;
use sentra_store::wake::{Change, ChangeListener};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The default lifetime of an entry while changes are not followed.
pub const DEFAULT_TTL: Duration = Duration::from_secs(1);
/// The longest an entry is served while changes are followed.
pub const LIVE_MAX_AGE: Duration = Duration::from_secs(30);
/// Sessions held at most; past it, expired entries go, then everything.
pub const MAX_SESSIONS: usize = 20_000;
/// Bytes of cached page bodies held at most (same policy).
pub const MAX_PAGE_BYTES: usize = 64 * 1024 * 1024;
/// A body larger than this is not cached.
pub const MAX_BODY: usize = 512 * 1024;
/// The paths whose GET responses may be cached.
pub const CACHED_PATHS: [&str; 3] = ["/", "/messages", "/api/v1/messages"];
/// Organisations and users whose last change is remembered; past it, every
/// entry is dropped and the record starts again.
const MAX_CHANGED: usize = 100_000;
/// How long the follower waits before connecting again after a failure.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

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

/// Whose data an entry holds: a change to either ends it.
#[derive(Debug, Clone, Copy)]
struct Owner {
    user: UserId,
    org: Option<OrgId>,
    /// A page (read tenant rows) rather than a session check.
    page: bool,
}

#[derive(Debug)]
struct Entry<T> {
    at: Instant,
    /// The change counter when the read that filled it started.
    start: u64,
    owner: Owner,
    value: T,
}

/// What a change touched. A session check reads the account, its
/// sessions and memberships and the organisation's own row, never a tenant
/// row, so a new message ends an organisation's pages but not its sessions:
/// the next request then needs one query fewer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Scope {
    /// Tenant rows: pages.
    Org(OrgId),
    /// The organisation's row: pages and session checks.
    OrgRecord(OrgId),
    /// The account: pages and session checks.
    User(UserId),
}

#[derive(Debug, Default)]
struct Pages {
    map: HashMap<PageKey, Entry<Page>>,
    bytes: usize,
}

/// The two caches and what has changed since (one per `AppState`).
#[derive(Debug)]
pub struct ReadCache {
    ttl: Duration,
    /// Counts every change heard or made; entries remember its value when
    /// their read started.
    counter: AtomicU64,
    /// The counter at the last "everything changed".
    reset_at: AtomicU64,
    /// Whether [`follow_changes`] is connected and listening.
    live: AtomicBool,
    /// The counter at each organisation's and user's last change.
    changed: Mutex<HashMap<Scope, u64>>,
    sessions: Mutex<HashMap<String, Entry<AnySession>>>,
    pages: Mutex<Pages>,
    counts: Counts,
}

/// What the cache did, for `/metrics`.
#[derive(Debug, Default)]
struct Counts {
    page_hits: AtomicU64,
    page_misses: AtomicU64,
    session_hits: AtomicU64,
    session_misses: AtomicU64,
    changes: AtomicU64,
}

/// A snapshot of the cache's counters (monotonic since start).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheStats {
    /// Cacheable pages served from memory.
    pub page_hits: u64,
    /// Cacheable pages the handler had to build.
    pub page_misses: u64,
    /// Session checks answered from memory.
    pub session_hits: u64,
    /// Session checks that went to the database.
    pub session_misses: u64,
    /// Changes heard from the database or made here.
    pub changes: u64,
    /// Whether changes are being followed now.
    pub live: bool,
}

impl Default for ReadCache {
    fn default() -> Self {
        Self::new(DEFAULT_TTL)
    }
}

impl ReadCache {
    /// Caches whose entries live `ttl` while changes are not followed;
    /// zero disables both.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            counter: AtomicU64::new(0),
            reset_at: AtomicU64::new(0),
            live: AtomicBool::new(false),
            changed: Mutex::new(HashMap::new()),
            sessions: Mutex::new(HashMap::new()),
            pages: Mutex::new(Pages::default()),
            counts: Counts::default(),
        }
    }

    /// The counters, for `/metrics`.
    pub fn stats(&self) -> CacheStats {
        let c = &self.counts;
        CacheStats {
            page_hits: c.page_hits.load(Ordering::Relaxed),
            page_misses: c.page_misses.load(Ordering::Relaxed),
            session_hits: c.session_hits.load(Ordering::Relaxed),
            session_misses: c.session_misses.load(Ordering::Relaxed),
            changes: c.changes.load(Ordering::Relaxed),
            live: self.live(),
        }
    }

    fn count(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// How long an entry is served while changes are not followed.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Whether caching is on.
    pub fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    /// Whether changes made elsewhere are being followed.
    pub fn live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }

    /// The moment to tag a read with; take it before the database read
    /// whose result is then stored.
    pub fn mark(&self) -> u64 {
        self.counter.load(Ordering::Acquire)
    }

    fn tick(&self) -> u64 {
        Self::count(&self.counts.changes);
        self.counter.fetch_add(1, Ordering::AcqRel) + 1
    }

    /// Makes every entry stale.
    pub fn invalidate(&self) {
        let now = self.tick();
        self.reset_at.fetch_max(now, Ordering::AcqRel);
    }

    /// Makes the entries of this organisation (or user) stale.
    pub fn changed(&self, change: Change) {
        let scope = match change {
            Change::Org(org) => Scope::Org(org),
            Change::OrgRecord(org) => Scope::OrgRecord(org),
            Change::User(user) => Scope::User(user),
            Change::Everything => return self.invalidate(),
        };
        let Ok(mut changed) = self.changed.lock() else {
            return self.invalidate();
        };
        // Ticked under the lock, so a reader never sees the counter move
        // past a change that is not yet recorded.
        let now = self.tick();
        changed.insert(scope, now);
        if changed.len() > MAX_CHANGED {
            changed.clear();
            drop(changed);
            self.invalidate();
        }
    }

    fn set_live(&self, live: bool) {
        if live {
            // Entries filled before the listener connected may have missed
            // changes: drop them first, then trust the notifications.
            self.invalidate();
            self.live.store(true, Ordering::Release);
        } else {
            self.live.store(false, Ordering::Release);
            self.invalidate();
        }
    }

    fn max_age(&self) -> Duration {
        if self.live() {
            LIVE_MAX_AGE.max(self.ttl)
        } else {
            self.ttl
        }
    }

    /// Whether nothing `owner`'s data depends on changed since `start`.
    fn unchanged_since(&self, owner: Owner, start: u64) -> bool {
        if self.reset_at.load(Ordering::Acquire) > start {
            return false;
        }
        let Ok(changed) = self.changed.lock() else {
            return false;
        };
        let after = |scope| changed.get(&scope).is_some_and(|&at| at > start);
        let org_changed = owner
            .org
            .is_some_and(|o| after(Scope::OrgRecord(o)) || (owner.page && after(Scope::Org(o))));
        !after(Scope::User(owner.user)) && !org_changed
    }

    fn fresh<T>(&self, e: &Entry<T>, now: Instant) -> bool {
        now.duration_since(e.at) < self.max_age() && self.unchanged_since(e.owner, e.start)
    }

    /// The cached session for the cookie's storage hash, if fresh.
    pub fn session(&self, hash: &str) -> Option<AnySession> {
        if !self.enabled() {
            return None;
        }
        let map = self.sessions.lock().ok()?;
        let now = Instant::now();
        map.get(hash)
            .filter(|e| now < e.value.expires_at && self.fresh(e, now))
            .map(|e| e.value.clone())
    }

    /// Remembers a session read from the database by a read that started
    /// at `start` (see [`ReadCache::mark`]).
    pub fn put_session(&self, hash: String, start: u64, session: AnySession) {
        let owner = Owner {
            user: session.user,
            org: session.home.as_ref().map(|h| h.org),
            page: false,
        };
        if !self.enabled() || !self.unchanged_since(owner, start) {
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
                start,
                owner,
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

    fn put_page(&self, key: PageKey, start: u64, page: Page) {
        let owner = Owner {
            user: key.user,
            org: Some(key.org),
            page: true,
        };
        if !self.unchanged_since(owner, start) || page.body.len() > MAX_BODY {
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
                start,
                owner,
                value: page,
            },
        );
        if let Some(old) = old {
            pages.bytes -= old.value.body.len();
        }
    }

    /// After a write through this process by `writer` (if known).
    fn wrote(&self, writer: Option<&AnySession>) {
        match writer {
            Some(any) if self.live() => {
                self.changed(Change::User(any.user));
                if let Some(home) = &any.home {
                    self.changed(Change::OrgRecord(home.org));
                }
            }
            _ => self.invalidate(),
        }
    }
}

/// Follows [`sentra_store::wake::CHANGE_CHANNEL`] for `cache` until the
/// task is dropped: connects, drops what changed as notifications arrive,
/// and on a lost connection falls back to the short lifetime and connects
/// again after a second. `sentra serve` runs one per process.
pub async fn follow_changes(cache: Arc<ReadCache>, pool: AppPool) {
    if !cache.enabled() {
        return;
    }
    loop {
        match ChangeListener::connect(&pool).await {
            Ok(mut listener) => {
                cache.set_live(true);
                loop {
                    match listener.recv().await {
                        Ok(change) => cache.changed(change),
                        Err(e) => {
                            tracing::warn!(error = %e, "read cache: change listener lost");
                            break;
                        }
                    }
                }
                cache.set_live(false);
            }
            Err(e) => tracing::warn!(error = %e, "read cache: cannot listen for changes"),
        }
        tokio::time::sleep(RECONNECT_AFTER).await;
    }
}

/// Middleware around the application: serves the cacheable pages from the
/// cache when it can and fills it when it cannot, and drops what a
/// state-changing request may have changed when it finishes.
pub async fn layer(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let cache = state.read_cache.clone();
    let method = req.method().clone();
    if !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS) {
        // Only a cached session can name the writer; hashing the cookie is
        // pointless with the cache off.
        let writer = crate::session::token_from(req.headers(), state.secure_cookies)
            .filter(|_| cache.enabled() && !req.headers().contains_key(header::AUTHORIZATION))
            .and_then(|token| cache.session(&token.storage_hash()));
        let res = next.run(req).await;
        // After the handler committed, before the client sees the answer.
        cache.wrote(writer.as_ref());
        return res;
    }
    if !cache.enabled()
        || method != Method::GET
        || !CACHED_PATHS.contains(&req.uri().path())
        || req.headers().contains_key(header::AUTHORIZATION)
    {
        return next.run(req).await;
    }
    let start = cache.mark();
    let Some(token) = crate::session::token_from(req.headers(), state.secure_cookies) else {
        return next.run(req).await;
    };
    let hash = token.storage_hash();
    let any = match cache.session(&hash) {
        Some(any) => {
            ReadCache::count(&cache.counts.session_hits);
            any
        }
        None => match AnySession::from_headers(req.headers(), &state).await {
            Ok(Some(any)) => {
                ReadCache::count(&cache.counts.session_misses);
                cache.put_session(hash, start, any.clone());
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
        ReadCache::count(&cache.counts.page_hits);
        return cached_response(page);
    }
    if key.is_some() {
        ReadCache::count(&cache.counts.page_misses);
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
        start,
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
            expires_at: Instant::now() + Duration::from_hours(1),
        }
    }

    fn uuid(n: u128) -> uuid::Uuid {
        uuid::Uuid::from_u128(n)
    }

    fn member(user: UserId, org: OrgId) -> AnySession {
        AnySession {
            home: Some(sentra_store::repo::session::Home {
                org,
                role: Role::Owner,
                org_name: "Acme".to_owned(),
            }),
            ..session(user)
        }
    }

    #[test]
    fn an_entry_read_before_a_change_is_never_served() {
        let cache = ReadCache::new(Duration::from_mins(1));
        let user = UserId::from_uuid(uuid(1));
        let start = cache.mark();
        cache.put_session("h".to_owned(), start, session(user));
        assert_eq!(cache.session("h").map(|s| s.user), Some(user));
        cache.invalidate();
        assert!(cache.session("h").is_none());
        // A read that started before the change stores nothing.
        cache.put_session("h".to_owned(), start, session(user));
        assert!(cache.session("h").is_none());
    }

    fn key(user: UserId, org: OrgId) -> PageKey {
        PageKey {
            user,
            org,
            role: Role::Owner,
            target: "/".to_owned(),
            htmx: false,
            history_restore: false,
        }
    }

    fn page() -> Page {
        Page {
            headers: HeaderMap::new(),
            body: Bytes::from_static(b"page"),
        }
    }

    #[test]
    fn a_change_drops_only_its_organisations_and_users_entries() {
        let cache = ReadCache::new(Duration::from_mins(1));
        let (a, b) = (OrgId::from_uuid(uuid(10)), OrgId::from_uuid(uuid(11)));
        let (ua, ub, uc) = (
            UserId::from_uuid(uuid(20)),
            UserId::from_uuid(uuid(21)),
            UserId::from_uuid(uuid(22)),
        );
        let start = cache.mark();
        cache.put_session("a".to_owned(), start, member(ua, a));
        cache.put_session("b".to_owned(), start, member(ub, b));
        cache.put_session("c".to_owned(), start, member(uc, b));
        for (u, o) in [(ua, a), (ub, b), (uc, b)] {
            cache.put_page(key(u, o), start, page());
        }
        // A tenant row of a (new mail, a case): a's pages, not its sessions.
        cache.changed(Change::Org(a));
        assert!(cache.page(&key(ua, a)).is_none());
        assert!(cache.session("a").is_some());
        assert!(cache.page(&key(ub, b)).is_some() && cache.page(&key(uc, b)).is_some());
        // The account ub: its session and pages, not uc's in the same org.
        cache.changed(Change::User(ub));
        assert!(cache.session("b").is_none() && cache.page(&key(ub, b)).is_none());
        assert!(cache.session("c").is_some() && cache.page(&key(uc, b)).is_some());
        // b's own row (its name): every session and page of b.
        cache.changed(Change::OrgRecord(b));
        assert!(cache.session("c").is_none() && cache.page(&key(uc, b)).is_none());
        assert!(cache.session("a").is_some());
        // A read started before a's change may not fill a's page; one
        // started after may.
        cache.put_page(key(ua, a), start, page());
        assert!(cache.page(&key(ua, a)).is_none());
        cache.put_page(key(ua, a), cache.mark(), page());
        assert!(cache.page(&key(ua, a)).is_some());
        cache.changed(Change::Everything);
        assert!(cache.session("a").is_none() && cache.page(&key(ua, a)).is_none());
    }

    #[test]
    fn a_known_writer_drops_its_own_entries_when_live_and_everything_otherwise() {
        let cache = ReadCache::new(Duration::from_mins(1));
        let (a, b) = (OrgId::from_uuid(uuid(30)), OrgId::from_uuid(uuid(31)));
        let (ua, ub) = (UserId::from_uuid(uuid(40)), UserId::from_uuid(uuid(41)));
        let fill = |cache: &ReadCache| {
            let start = cache.mark();
            cache.put_session("a".to_owned(), start, member(ua, a));
            cache.put_session("b".to_owned(), start, member(ub, b));
        };
        fill(&cache);
        cache.wrote(Some(&member(ua, a)));
        assert!(cache.session("a").is_none() && cache.session("b").is_none());
        cache.set_live(true);
        fill(&cache);
        cache.wrote(Some(&member(ua, a)));
        assert!(cache.session("a").is_none());
        assert!(cache.session("b").is_some());
        cache.wrote(None);
        assert!(cache.session("b").is_none());
        // Losing the listener drops everything.
        fill(&cache);
        cache.set_live(false);
        assert!(cache.session("a").is_none() && cache.session("b").is_none());
    }

    #[test]
    fn live_entries_outlive_the_short_lifetime_but_not_the_cap() {
        let cache = ReadCache::new(Duration::from_millis(1));
        let user = UserId::from_uuid(uuid(50));
        cache.set_live(true);
        cache.put_session("h".to_owned(), cache.mark(), session(user));
        std::thread::sleep(Duration::from_millis(5));
        assert!(cache.session("h").is_some());
        assert_eq!(cache.max_age(), LIVE_MAX_AGE);
        cache.set_live(false);
        assert_eq!(cache.max_age(), Duration::from_millis(1));
    }

    #[test]
    fn a_session_is_never_served_past_its_own_expiry() {
        let cache = ReadCache::new(Duration::from_mins(1));
        cache.set_live(true);
        let ending = AnySession {
            expires_at: Instant::now() + Duration::from_millis(2),
            ..session(UserId::from_uuid(uuid(60)))
        };
        cache.put_session("h".to_owned(), cache.mark(), ending);
        std::thread::sleep(Duration::from_millis(5));
        assert!(cache.session("h").is_none());
    }

    #[test]
    fn entries_expire_and_a_zero_ttl_caches_nothing() {
        let cache = ReadCache::new(Duration::from_millis(1));
        let user = UserId::from_uuid(uuid(2));
        cache.put_session("h".to_owned(), cache.mark(), session(user));
        std::thread::sleep(Duration::from_millis(5));
        assert!(cache.session("h").is_none());
        let off = ReadCache::new(Duration::ZERO);
        off.put_session("h".to_owned(), off.mark(), session(user));
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
                cache.mark(),
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
