//! Integration tests of the web application: a real server on a free
//! loopback port over a fresh test database, driven over HTTP.
//!
//! Cookies are handled by hand (not a cookie jar) so tests can replay old
//! ones on purpose. When Postgres is unreachable every test prints a
//! `SKIPPED:` line and passes, as in the store's suite.

mod account;
mod account_pages;
mod alert_channels;
mod audit;
mod audit_events;
mod auth;
mod browser;
mod cases;
mod cross_tenant;
mod graph_webhook;
mod headers;
mod health;
mod invitations;
mod m365;
mod message_submit;
mod messages;
mod ops;
mod pages;
mod read_cache;
mod reset;
mod self_service_pages;
mod sessions;
mod supplier_import;
mod supplier_pages;
mod suppliers;
mod support;
mod tenancy;
mod tokens;
mod user_pages;
mod users;
mod workpages;

use reqwest::StatusCode;
use reqwest::header::{COOKIE, HeaderMap, SET_COOKIE};
use sentra_domain::{EmailAddress, OrgId, Role, UserId};
use sentra_store::crypto::{self, Keyring};
use sentra_store::repo::{organisation, user};
use sentra_store::testing::TestDb;
use sentra_store::{TenantTx, keys};
use sentra_web::{AppState, Application, password, totp};
use std::sync::Arc;

/// The password every seeded user has.
pub(crate) const PASSWORD: &str = "a long enough test password";

/// A running application over its own database.
pub(crate) struct TestApp {
    /// `http://127.0.0.1:port`.
    pub base: String,
    /// A plain client (no cookie store, no redirects).
    pub client: reqwest::Client,
    /// The database (kept alive for the test).
    pub db: TestDb,
    /// The keyring the app uses.
    pub keys: Arc<Keyring>,
    /// Mail the app sent.
    pub outbox: Arc<std::sync::Mutex<Vec<sentra_web::mail::Outgoing>>>,
    /// The app's read cache (off unless started with `spawn_cached`).
    pub read_cache: Arc<sentra_web::read_cache::ReadCache>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

/// A seeded person.
pub(crate) struct Seeded {
    /// Their id.
    pub user: UserId,
    /// Their organisation.
    pub org: OrgId,
    /// Their sign-in address.
    pub email: String,
    /// Their raw TOTP secret, when enrolled.
    pub secret: Option<Vec<u8>>,
}

impl TestApp {
    /// Starts the app, or `None` when there is no database.
    pub(crate) async fn spawn() -> Option<Self> {
        Self::spawn_with(false).await
    }

    /// Starts the app; with `smtp` its mail is captured in `outbox` (as if
    /// SMTP were configured), else mail is disabled.
    pub(crate) async fn spawn_with(smtp: bool) -> Option<Self> {
        Self::spawn_custom(smtp, None, std::time::Duration::ZERO).await
    }

    /// Starts the app with `graph` as its Microsoft Graph client.
    pub(crate) async fn spawn_with_graph(graph: sentra_graph::GraphClient) -> Option<Self> {
        Self::spawn_custom(false, Some(graph), std::time::Duration::ZERO).await
    }

    /// Starts the app with the read cache on, entries living `ttl`.
    pub(crate) async fn spawn_cached(ttl: std::time::Duration) -> Option<Self> {
        Self::spawn_custom(false, None, ttl).await
    }

    async fn spawn_custom(
        smtp: bool,
        graph: Option<sentra_graph::GraphClient>,
        cache_ttl: std::time::Duration,
    ) -> Option<Self> {
        // reqwest is built without a default TLS provider (see the workspace
        // manifest); the test client needs one even for plain http.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let db = TestDb::create().await?;
        let keys = Arc::new(Keyring::generate_insecure_dev().expect("keys"));
        let outbox = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut state = AppState::new(db.app_pool().clone(), keys.clone(), false)
            .expect("state")
            .with_base_url(Some("http://sentra.test".to_owned()))
            .with_read_cache(cache_ttl);
        if smtp {
            state = state.with_mailer(sentra_web::mail::Mailer::Capture(outbox.clone()));
        }
        if let Some(graph) = graph {
            state = state.with_graph(graph);
        }
        let read_cache = state.read_cache.clone();
        let app = Application::with_state("127.0.0.1:0".parse().expect("addr"), state)
            .await
            .expect("bind");
        let base = format!("http://{}", app.local_addr());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(app.run_until(async move {
            let _ = stopped.await;
        }));
        // reqwest has no default crypto provider in this workspace.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Some(Self {
            base,
            client,
            db,
            keys,
            outbox,
            read_cache,
            stop: Some(stop),
        })
    }

    /// `base + path`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// With `mfa`, a user with TOTP enrolled owning a new organisation.
    /// Without, a user with no authenticator, who as an owner could not work
    /// (owners and admins must enrol): a `clerk` of a new organisation
    /// owned by an enrolled `owner.<email>`.
    pub(crate) async fn seed(&self, email: &str, mfa: bool) -> Seeded {
        if mfa {
            return self.seed_owner(email).await;
        }
        let owner = self
            .seed_owner_of(&format!("owner.{email}"), &format!("Org of {email}"))
            .await;
        self.seed_member(owner.org, email, Role::Clerk, false).await
    }

    /// A user with TOTP enrolled owning a new organisation.
    pub(crate) async fn seed_owner(&self, email: &str) -> Seeded {
        self.seed_owner_of(email, &format!("Org of {email}")).await
    }

    /// [`TestApp::seed_owner`] of an organisation named `org_name`.
    pub(crate) async fn seed_owner_of(&self, email: &str, org_name: &str) -> Seeded {
        let pool = self.db.app_pool();
        let hash = password::hash(PASSWORD).expect("hash");
        let id = user::create(pool, &EmailAddress::parse(email).expect("email"), &hash)
            .await
            .expect("user");
        let org = organisation::create(pool, org_name, id).await.expect("org");
        let secret = Some(self.enrol(id).await);
        Seeded {
            user: id,
            org,
            email: email.to_owned(),
            secret,
        }
    }

    /// Enrols TOTP for `id`; returns the raw secret.
    pub(crate) async fn enrol(&self, id: UserId) -> Vec<u8> {
        let secret = totp::generate_secret().expect("secret").to_vec();
        let ctx = keys::USER_TOTP.context(keys::GLOBAL_ORG, id.as_uuid());
        let enc = crypto::encrypt(&self.keys, &ctx, &secret).expect("encrypt");
        user::set_totp_secret(self.db.app_pool(), id, &enc)
            .await
            .expect("enrol");
        secret
    }

    /// A new user who is a `role` member of `org` (TOTP enrolled when `mfa`).
    pub(crate) async fn seed_member(
        &self,
        org: OrgId,
        email: &str,
        role: Role,
        mfa: bool,
    ) -> Seeded {
        let pool = self.db.app_pool();
        let hash = password::hash(PASSWORD).expect("hash");
        let id = user::create(pool, &EmailAddress::parse(email).expect("email"), &hash)
            .await
            .expect("user");
        let mut tx = self.tx(org).await;
        organisation::add_member(&mut tx, id, role)
            .await
            .expect("member");
        tx.commit().await.expect("commit");
        let secret = if mfa {
            Some(self.enrol(id).await)
        } else {
            None
        };
        Seeded {
            user: id,
            org,
            email: email.to_owned(),
            secret,
        }
    }

    /// Sends `method path` with a JSON body (when given) and a cookie or
    /// bearer credential (a value starting `sentra_pat_` is a token).
    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&serde_json::Value>,
        cred: Option<&str>,
    ) -> reqwest::Response {
        let mut req = self.client.request(method, self.url(path));
        if let Some(b) = body {
            req = req.json(b);
        }
        match cred {
            Some(t) if t.starts_with("sentra_pat_") => {
                req = req.header(reqwest::header::AUTHORIZATION, format!("Bearer {t}"));
            }
            Some(c) => req = req.header(COOKIE, c),
            None => {}
        }
        req.send().await.expect("request")
    }

    /// The actions of `org`'s audit events, oldest first.
    pub(crate) async fn audit_actions(&self, org: OrgId) -> Vec<String> {
        sqlx::query_scalar("select action from audit_event where org_id = $1 order by seq")
            .bind(org.as_uuid())
            .fetch_all(self.db.superuser())
            .await
            .expect("audit")
    }

    /// The number of rows in `table` (superuser, all organisations).
    pub(crate) async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("select count(*) from {table}")))
            .fetch_one(self.db.superuser())
            .await
            .expect("count")
    }

    /// A transaction in `org` for seeding tenant rows.
    pub(crate) async fn tx(&self, org: OrgId) -> TenantTx {
        TenantTx::begin(self.db.app_pool(), org, None)
            .await
            .expect("tx")
    }

    /// POSTs JSON with an optional session cookie.
    pub(crate) async fn post(
        &self,
        path: &str,
        body: &serde_json::Value,
        cookie: Option<&str>,
    ) -> reqwest::Response {
        let mut req = self.client.post(self.url(path)).json(body);
        if let Some(c) = cookie {
            req = req.header(COOKIE, c);
        }
        req.send().await.expect("request")
    }

    /// POSTs an urlencoded form (as a same-origin browser would, with
    /// `Origin`) with an optional session cookie.
    pub(crate) async fn post_form(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        cookie: Option<&str>,
    ) -> reqwest::Response {
        let body = fields
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    sentra_web::pages::urlencode(k),
                    sentra_web::pages::urlencode(v)
                )
            })
            .collect::<Vec<_>>()
            .join("&");
        let mut req = self
            .client
            .post(self.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("origin", self.base.clone())
            .body(body);
        if let Some(c) = cookie {
            req = req.header(COOKIE, c);
        }
        req.send().await.expect("request")
    }

    /// GETs with an optional session cookie.
    pub(crate) async fn get(&self, path: &str, cookie: Option<&str>) -> reqwest::Response {
        let mut req = self.client.get(self.url(path));
        if let Some(c) = cookie {
            req = req.header(COOKIE, c);
        }
        req.send().await.expect("request")
    }

    /// Logs in; returns the status, body and the session cookie set (if any).
    pub(crate) async fn login(
        &self,
        email: &str,
        password: &str,
        cookie: Option<&str>,
    ) -> (StatusCode, serde_json::Value, Option<String>) {
        let res = self
            .post(
                "/api/v1/auth/login",
                &serde_json::json!({ "email": email, "password": password }),
                cookie,
            )
            .await;
        let status = res.status();
        let cookie = session_cookie(res.headers());
        let body = res.json().await.unwrap_or(serde_json::Value::Null);
        (status, body, cookie)
    }

    /// Passes MFA with `code`; returns the status and the new cookie.
    pub(crate) async fn mfa(&self, cookie: &str, code: &str) -> (StatusCode, Option<String>) {
        let res = self
            .post(
                "/api/v1/auth/mfa",
                &serde_json::json!({ "code": code }),
                Some(cookie),
            )
            .await;
        (res.status(), session_cookie(res.headers()))
    }

    /// Logs in and passes MFA (if enrolled); returns the final cookie.
    pub(crate) async fn sign_in(&self, seeded: &Seeded) -> String {
        let (status, body, cookie) = self.login(&seeded.email, PASSWORD, None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let cookie = cookie.expect("cookie");
        let Some(secret) = &seeded.secret else {
            return cookie;
        };
        let (status, cookie) = self.mfa(&cookie, &current_code(secret)).await;
        assert_eq!(status, StatusCode::OK);
        cookie.expect("rotated cookie")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The `name=value` of the session cookie a response sets.
pub(crate) fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("sentra_session=") && !v.starts_with("sentra_session=;"))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
}

/// The code for the current time step.
pub(crate) fn current_code(secret: &[u8]) -> String {
    totp::code_for_step(secret, totp::step_at(now()))
}

/// Unix seconds now.
pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Asserts the JSON error shape and returns its code.
pub(crate) async fn error_code(res: reqwest::Response) -> String {
    let body: serde_json::Value = res.json().await.expect("json error body");
    let code = body["error"]["code"]
        .as_str()
        .expect("error.code")
        .to_owned();
    assert!(body["error"]["message"].is_string(), "{body}");
    code
}
