//! Sentra's web application: the axum router, its middleware, sessions with
//! TOTP MFA, and the JSON API under `/api/v1`.
//!
//! [`build_router`] assembles routes and layers around an [`AppState`];
//! [`Application`] binds the listener and serves with graceful shutdown.
//! Every response carries the security headers (see [`middleware`]), every
//! state-changing request passes the cross-origin check, JSON bodies are
//! capped at [`JSON_BODY_LIMIT`], and every error answers in the one
//! [`WebError`] JSON shape.

pub mod actions;
pub mod assets;
pub mod auth;
pub mod error;
pub mod log_path;
pub mod m365;
pub mod mail;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod pages;
pub mod password;
pub mod qr;
pub mod read_cache;
pub mod routes;
pub mod secret;
pub mod session;
pub mod suppliers;
pub mod throttle;
pub mod totp;

pub use error::{ApiJson, WebError};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use sentra_store::AppPool;
use sentra_store::crypto::Keyring;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// The largest JSON request body.
pub const JSON_BODY_LIMIT: usize = 1024 * 1024;
/// How long one request may take before it is answered 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How often expired sessions are deleted.
pub const SESSION_PURGE_EVERY: Duration = Duration::from_mins(10);

/// What every handler shares. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The `sentra_app` pool.
    pub pool: AppPool,
    /// Field-encryption keys (TOTP secrets).
    pub keys: Arc<Keyring>,
    /// Whether the deployment is https: `Secure` `__Host-` cookies and HSTS.
    pub secure_cookies: bool,
    /// An argon2id hash of a random password, verified against for unknown
    /// addresses so their timing matches a real account's.
    pub dummy_hash: Arc<str>,
    /// Where invitation and password reset mail goes.
    pub mailer: mail::Mailer,
    /// The public base URL (`SENTRA_BASE_URL`) links are made with; without
    /// it, links are relative paths.
    pub base_url: Option<Arc<str>>,
    /// The per-address throttle of the credential routes.
    pub limiter: Arc<throttle::IpLimiter>,
    /// Per-address limit on the public contact form.
    pub contact_throttle: Arc<throttle::IpLimiter>,
    /// Per-address (the sign-in address) limit on password reset mail.
    pub reset_throttle: Arc<throttle::Limiter<String>>,
    /// Request counts and latencies for `/metrics`.
    pub metrics: Arc<metrics::Metrics>,
    /// Short-lived session and page caches (off unless configured).
    pub read_cache: Arc<read_cache::ReadCache>,
    /// The Microsoft Graph client for connecting Microsoft 365 (consent,
    /// scope check, deleting subscriptions on disconnect); `None` when
    /// Graph is not configured, and those actions answer 409.
    pub m365: Option<Arc<m365::M365>>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("secure_cookies", &self.secure_cookies)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// A state over `pool` and `keys`; computes the dummy hash.
    pub fn new(pool: AppPool, keys: Arc<Keyring>, secure_cookies: bool) -> Result<Self, WebError> {
        let mut random = [0u8; 16];
        getrandom::fill(&mut random).map_err(|_| WebError::internal("no randomness"))?;
        let dummy = password::hash(&session::hex(&random))?;
        Ok(Self {
            pool,
            keys,
            secure_cookies,
            dummy_hash: dummy.into(),
            mailer: mail::Mailer::Disabled,
            base_url: None,
            limiter: Arc::new(throttle::IpLimiter::default_for_auth()),
            contact_throttle: Arc::new(throttle::IpLimiter::per_window(
                pages::public::CONTACT_PER_ADDRESS,
                pages::public::CONTACT_WINDOW,
            )),
            reset_throttle: Arc::new(throttle::Limiter::per_window(
                routes::password::RESET_MAILS_PER_ADDRESS,
                routes::password::RESET_MAIL_WINDOW,
            )),
            metrics: Arc::new(metrics::Metrics::default()),
            read_cache: Arc::new(read_cache::ReadCache::new(Duration::ZERO)),
            m365: None,
        })
    }

    /// Connects Microsoft 365 through `client`.
    #[must_use]
    pub fn with_graph(mut self, client: sentra_graph::GraphClient) -> Self {
        self.m365 = Some(Arc::new(m365::M365::new(client)));
        self
    }

    /// Sends mail through `mailer`.
    #[must_use]
    pub fn with_mailer(mut self, mailer: mail::Mailer) -> Self {
        self.mailer = mailer;
        self
    }

    /// Makes links absolute under `base_url` (trailing `/` ignored).
    #[must_use]
    pub fn with_base_url(mut self, base_url: Option<String>) -> Self {
        self.base_url = base_url.map(|b| b.trim_end_matches('/').into());
        self
    }

    /// Turns on the session and page caches with entries living `ttl`
    /// (see [`read_cache`]; zero keeps them off).
    #[must_use]
    pub fn with_read_cache(mut self, ttl: Duration) -> Self {
        self.read_cache = Arc::new(read_cache::ReadCache::new(ttl));
        self
    }

    /// Replaces the per-address throttle.
    #[must_use]
    pub fn with_limiter(mut self, limiter: throttle::IpLimiter) -> Self {
        self.limiter = Arc::new(limiter);
        self
    }

    /// `path` under the base URL (or as is, without one).
    pub fn link(&self, path: &str) -> String {
        match &self.base_url {
            Some(base) => format!("{base}{path}"),
            None => path.to_owned(),
        }
    }
}

/// The whole application: routes, then layers (innermost first).
pub fn build_router(state: AppState) -> Router {
    let hsts = state.secure_cookies;
    // The routes that take a credential from someone not yet signed in (or
    // re-verifying) are throttled per address on top of the per-account
    // lockout.
    let throttled = Router::new()
        .route("/auth/login", post(routes::auth::login))
        .route("/auth/mfa", post(routes::auth::mfa))
        .route("/auth/recovery", post(routes::account::recovery))
        .route("/auth/step-up", post(routes::account::step_up))
        .route("/auth/signup", post(routes::account::signup))
        .route("/auth/mfa/confirm", post(routes::account::confirm))
        .route(
            "/auth/password-reset/request",
            post(routes::password::reset_request),
        )
        .route(
            "/auth/password-reset/confirm",
            post(routes::password::reset_confirm),
        )
        .route("/invitations/accept", post(routes::invitations::accept))
        .route("/auth/password", post(routes::password::change_password))
        .route_layer(axum::middleware::from_fn_with_state(
            state.limiter.clone(),
            throttle::limit,
        ));
    let api = Router::new()
        .merge(throttled)
        .route("/auth/logout", post(routes::auth::logout))
        .route("/auth/mfa/enrol", post(routes::account::enrol))
        .route(
            "/auth/mfa/recovery-codes",
            post(routes::password::regenerate_codes),
        )
        .route(
            "/auth/profile",
            get(routes::profile::get).patch(routes::profile::patch),
        )
        .route("/auth/sessions", get(routes::account::sessions))
        .route(
            "/auth/sessions/{id}",
            delete(routes::account::revoke_session),
        )
        .route(
            "/tokens",
            get(routes::tokens::list).post(routes::tokens::create),
        )
        .route("/tokens/{id}", delete(routes::tokens::revoke))
        .route("/users", get(routes::users::list))
        .route(
            "/users/{id}",
            axum::routing::patch(routes::users::patch).delete(routes::users::remove),
        )
        .route(
            "/users/{id}/password-reset",
            post(routes::users::reset_link),
        )
        .route(
            "/invitations",
            get(routes::invitations::list).post(routes::invitations::create),
        )
        .route("/invitations/{id}", delete(routes::invitations::delete))
        .route(
            "/settings",
            get(routes::settings::get).patch(routes::settings::patch),
        )
        .route(
            "/suppliers",
            get(routes::suppliers::list).post(routes::suppliers::create),
        )
        .route(
            "/suppliers/import",
            post(routes::supplier_import::import).layer(DefaultBodyLimit::max(
                routes::supplier_import::IMPORT_BODY_LIMIT,
            )),
        )
        .route(
            "/suppliers/{id}",
            get(routes::suppliers::get)
                .patch(routes::suppliers::patch)
                .delete(routes::suppliers::delete),
        )
        .route(
            "/suppliers/{id}/bank-accounts",
            post(routes::supplier_changes::propose_account),
        )
        .route(
            "/suppliers/{id}/phone",
            post(routes::supplier_changes::propose_phone),
        )
        .route("/supplier-changes", get(routes::supplier_changes::list))
        .route("/supplier-changes/{id}", get(routes::supplier_changes::get))
        .route(
            "/supplier-changes/{id}/approve",
            post(routes::supplier_changes::approve),
        )
        .route(
            "/supplier-changes/{id}/reject",
            post(routes::supplier_changes::reject),
        )
        .route(
            "/messages",
            get(routes::messages::list)
                .post(routes::messages::submit)
                .layer(DefaultBodyLimit::max(routes::messages::MESSAGE_BODY_LIMIT)),
        )
        .route("/messages/{id}", get(routes::messages::get))
        .route("/cases", get(routes::cases::list))
        .route("/cases/{id}", get(routes::cases::get))
        .route("/cases/{id}/verifications", post(routes::cases::verify))
        .route("/cases/{id}/resolve", post(routes::cases::resolve))
        .route(
            "/alert-channels",
            get(routes::alert_channels::list).post(routes::alert_channels::create),
        )
        .route(
            "/alert-channels/{id}",
            axum::routing::delete(routes::alert_channels::delete),
        )
        .route(
            "/alert-channels/{id}/test",
            post(routes::alert_channels::test),
        )
        .route("/feedback", post(routes::feedback::create))
        .route(
            "/invoices/{id}/payment",
            post(routes::invoices::set_payment),
        )
        .merge(routes::mailboxes::router())
        .route("/audit", get(routes::audit::list))
        .route("/audit/verify", get(routes::audit::verify))
        .route("/audit/export.csv", get(routes::audit::export))
        .route("/openapi.json", get(openapi::serve));
    // Microsoft's webhook calls are cross-origin by nature: they are merged
    // in after the origin check and authenticate by path token and
    // clientState instead (routes::graph_webhook).
    let graph_webhooks = Router::new()
        .route(
            "/graph/notify/{org}/{mailbox}/{token}",
            post(routes::graph_webhook::notify).get(routes::graph_webhook::validate_get),
        )
        .route(
            "/graph/lifecycle/{org}/{mailbox}/{token}",
            post(routes::graph_webhook::lifecycle).get(routes::graph_webhook::validate_get),
        )
        .layer(DefaultBodyLimit::max(
            routes::graph_webhook::WEBHOOK_BODY_LIMIT,
        ));
    Router::new()
        .route("/healthz", get(routes::health::healthz))
        .route("/readyz", get(routes::health::readyz))
        .route("/metrics", get(metrics::serve))
        .nest("/api/v1", api)
        .merge(pages::routes())
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            read_cache::layer,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .layer(axum::middleware::from_fn(middleware::origin_check))
        .merge(graph_webhooks)
        .with_state(state)
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(axum::middleware::from_fn_with_state(
            hsts,
            middleware::security_headers,
        ))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// The span every request runs in: method, path (webhook tokens redacted,
/// see [`log_path`]), the request id (set by `SetRequestIdLayer`, outside
/// this layer) and, once a session resolves
/// them, `org_id` and `user_id` (recorded by the session extractors).
fn request_span(req: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    tracing::info_span!(
        "request",
        method = %req.method(),
        path = %log_path::loggable(req.uri().path()),
        request_id = %request_id,
        org_id = tracing::field::Empty,
        user_id = tracing::field::Empty,
    )
}

/// 404: JSON under `/api/`, an HTML page elsewhere.
async fn not_found(uri: axum::http::Uri) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    if uri.path().starts_with("/api/") {
        WebError::NotFound.into_response()
    } else {
        pages::error::not_found_page()
    }
}

/// How to run the application.
#[derive(Debug)]
pub struct Settings {
    /// Where to listen (`SENTRA_LISTEN`; port 0 picks a free port).
    pub listen: SocketAddr,
    /// The `sentra_app` database URL.
    pub database_url: String,
    /// Pool size.
    pub max_connections: u32,
    /// The keyring.
    pub keys: Arc<Keyring>,
    /// Whether clients reach the service over https (see [`AppState`]).
    pub secure_cookies: bool,
    /// The public base URL for links in mail (`SENTRA_BASE_URL`).
    pub base_url: Option<String>,
    /// Where invitation and reset mail goes (the `[smtp]` relay).
    pub mailer: mail::Mailer,
}

/// Why the application could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The database pool could not be built.
    #[error("database: {0}")]
    Store(#[from] sentra_store::StoreError),
    /// The listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// State set-up failed.
    #[error("set-up: {0}")]
    Setup(#[from] WebError),
}

/// A bound, not yet serving, application.
#[derive(Debug)]
pub struct Application {
    listener: tokio::net::TcpListener,
    router: Router,
    addr: SocketAddr,
    pool: AppPool,
    read_cache: Arc<read_cache::ReadCache>,
}

impl Application {
    /// Connects the pool and binds the listener.
    pub async fn build(settings: Settings) -> Result<Self, StartError> {
        let pool = AppPool::connect(&settings.database_url, settings.max_connections).await?;
        let state = AppState::new(pool, settings.keys, settings.secure_cookies)?
            .with_base_url(settings.base_url)
            .with_mailer(settings.mailer);
        Self::with_state(settings.listen, state).await
    }

    /// Binds `listen` for an already built state.
    pub async fn with_state(listen: SocketAddr, state: AppState) -> Result<Self, StartError> {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|source| StartError::Bind {
                addr: listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: listen,
            source,
        })?;
        let pool = state.pool.clone();
        let read_cache = state.read_cache.clone();
        Ok(Self {
            listener,
            router: build_router(state),
            addr,
            pool,
            read_cache,
        })
    }

    /// The bound address (the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests
    /// and closes the pool. Expired sessions are deleted every
    /// [`SESSION_PURGE_EVERY`] meanwhile (they are already refused; this
    /// only keeps the table small), and the read cache, when on, follows
    /// the database's change notifications ([`read_cache::follow_changes`]).
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let purge_pool = self.pool.clone();
        let purger = tokio::spawn(async move {
            let mut every = tokio::time::interval(SESSION_PURGE_EVERY);
            loop {
                every.tick().await;
                if let Err(e) = sentra_store::repo::session::purge_expired(&purge_pool).await {
                    tracing::warn!(error = %e, "purging expired sessions failed");
                }
            }
        });
        let follower = tokio::spawn(read_cache::follow_changes(
            self.read_cache.clone(),
            self.pool.clone(),
        ));
        // Connect info gives handlers the peer address (public-form throttling).
        let served = axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        purger.abort();
        follower.abort();
        self.pool.close().await;
        served
    }

    /// Serves until Ctrl-C or SIGTERM.
    pub async fn run(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }
}

/// Completes on Ctrl-C or (on Unix) SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
