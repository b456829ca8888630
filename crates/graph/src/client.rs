//! The HTTP core of the Graph client: one `reqwest` client (rustls on ring,
//! no redirects, connect and total timeouts), the token cache, the
//! per-mailbox and per-tenant gates, and the retry loop every call goes
//! through.
//!
//! The retry loop is where the contract's rules meet: `Retry-After` is
//! honoured (and held for the whole mailbox, so no request for it is sent
//! before it elapses), missing `Retry-After` means exponential backoff with
//! jitter, attempts are capped, a `401` re-fetches the token once, and only
//! idempotent requests are retried after transport errors.

use crate::assertion;
use crate::auth::{self, AccessToken, TokenCache};
use crate::config::{ClientCredential, GraphConfig};
use crate::error::GraphError;
use crate::throttle::{Gate, MAX_RETRY_AFTER, ThrottleObserver, ThrottleScope, parse_retry_after};
use reqwest::{Method, Response, StatusCode};
use secrecy::ExposeSecret;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::OwnedSemaphorePermit;
use url::Url;

/// Error bodies are read up to this size; Graph's are a few hundred bytes.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// A Microsoft Graph client for app-only access to many customer tenants.
/// Cheap to clone; clones share tokens, gates and connections.
#[derive(Clone, Debug)]
pub struct GraphClient {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) cfg: GraphConfig,
    http: reqwest::Client,
    tokens: TokenCache,
    mailbox_gates: Mutex<HashMap<String, Arc<Gate>>>,
    tenant_gates: Mutex<HashMap<String, Arc<Gate>>>,
    observer: Mutex<Option<Arc<dyn ThrottleObserver>>>,
}

/// One request, described so the retry loop can send it again.
#[derive(Debug, Clone)]
pub(crate) struct Req {
    pub method: Method,
    pub url: Url,
    pub json: Option<serde_json::Value>,
    /// `Prefer` preferences besides `IdType="ImmutableId"`.
    pub prefer: Option<String>,
    /// Safe to resend after a transport error or a 500/502.
    pub idempotent: bool,
}

impl Req {
    pub(crate) fn get(url: Url) -> Self {
        Self {
            method: Method::GET,
            url,
            json: None,
            prefer: None,
            idempotent: true,
        }
    }
}

/// A successful response and the gate permits held while its body is read.
pub(crate) struct Admitted {
    pub response: Response,
    _permits: (Option<OwnedSemaphorePermit>, OwnedSemaphorePermit),
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ErrorDetail,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorDetail {
    #[serde(default)]
    code: String,
    #[serde(default)]
    inner_error: Option<InnerError>,
}

#[derive(Deserialize)]
struct InnerError {
    #[serde(default)]
    code: Option<String>,
}

/// The Graph error code of a response body, preferring a nested
/// `innerError.code` (more specific) when present.
fn error_code(body: &[u8]) -> String {
    serde_json::from_slice::<ErrorEnvelope>(body)
        .map(|e| {
            let code = e
                .error
                .inner_error
                .and_then(|i| i.code)
                .filter(|c| !c.is_empty())
                .unwrap_or(e.error.code);
            code.chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
                .take(80)
                .collect()
        })
        .unwrap_or_default()
}

/// Maps a Graph error status and body to a [`GraphError`].
pub(crate) fn classify(status: StatusCode, body: &[u8]) -> GraphError {
    let code = error_code(body);
    if status == StatusCode::GONE
        || [
            "SyncStateNotFound",
            "syncStateNotFound",
            "resyncRequired",
            "SyncStateInvalid",
        ]
        .contains(&code.as_str())
    {
        return GraphError::SyncStateNotFound;
    }
    match status {
        StatusCode::UNAUTHORIZED => GraphError::Unauthorized { code },
        StatusCode::FORBIDDEN => GraphError::Forbidden { code },
        StatusCode::NOT_FOUND => GraphError::NotFound { code },
        _ => GraphError::Status {
            status: status.as_u16(),
            code,
        },
    }
}

fn http_client(cfg: &GraphConfig) -> Result<reqwest::Client, GraphError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| GraphError::InvalidRequest(format!("TLS setup: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        // SSRF guard: a redirect would carry the request (and its bearer
        // token) wherever the server points.
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(cfg.connect_timeout)
        .timeout(cfg.request_timeout)
        .user_agent(concat!("sentra/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| GraphError::InvalidRequest(format!("HTTP client setup: {e}")))
}

impl GraphClient {
    /// A client for `cfg`.
    pub fn new(cfg: GraphConfig) -> Result<Self, GraphError> {
        let http = http_client(&cfg)?;
        Ok(Self {
            inner: Arc::new(Inner {
                cfg,
                http,
                tokens: TokenCache::default(),
                mailbox_gates: Mutex::default(),
                tenant_gates: Mutex::default(),
                observer: Mutex::default(),
            }),
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &GraphConfig {
        &self.inner.cfg
    }

    /// A Graph URL: the base plus `segments`, each percent-encoded, so a
    /// mailbox or message id can never add path segments or a query.
    pub(crate) fn graph_url(&self, segments: &[&str]) -> Url {
        let mut url = self.inner.cfg.graph_base.clone();
        url.path_segments_mut()
            .unwrap_or_else(|()| unreachable!("an http(s) base can hold segments"))
            .pop_if_empty()
            .extend(segments);
        url
    }

    /// Accepts a `nextLink`/`deltaLink` only when it points under the
    /// configured Graph base (same scheme, host, port and base path). Links
    /// are otherwise followed verbatim.
    pub(crate) fn check_link(&self, link: &str) -> Result<Url, GraphError> {
        let url = Url::parse(link).map_err(|_| GraphError::ForeignLink)?;
        let base = &self.inner.cfg.graph_base;
        let same_origin = url.scheme() == base.scheme()
            && url.host_str() == base.host_str()
            && url.port_or_known_default() == base.port_or_known_default();
        let base_path = base.path().trim_end_matches('/');
        let under_base = url
            .path()
            .strip_prefix(base_path)
            .is_some_and(|rest| rest.starts_with('/'));
        if same_origin && under_base && url.username().is_empty() && url.password().is_none() {
            Ok(url)
        } else {
            Err(GraphError::ForeignLink)
        }
    }

    fn gate(map: &Mutex<HashMap<String, Arc<Gate>>>, key: String, n: usize) -> Arc<Gate> {
        let mut map = map.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(map.entry(key).or_insert_with(|| Arc::new(Gate::new(n))))
    }

    fn mailbox_gate(&self, tenant: &str, mailbox: &str) -> Arc<Gate> {
        Self::gate(
            &self.inner.mailbox_gates,
            format!("{tenant}\u{0}{}", mailbox.to_ascii_lowercase()),
            self.inner.cfg.per_mailbox_concurrency,
        )
    }

    fn tenant_gate(&self, tenant: &str) -> Arc<Gate> {
        Self::gate(
            &self.inner.tenant_gates,
            tenant.to_owned(),
            self.inner.cfg.per_tenant_concurrency,
        )
    }

    /// Tells `observer` of every throttling hold from now on, before the
    /// client waits it out (the worker persists them). Replaces an earlier
    /// observer; clones of this client share it.
    pub fn observe_throttling(&self, observer: Arc<dyn ThrottleObserver>) {
        *self
            .inner
            .observer
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(observer);
    }

    /// Holds requests in `scope` back for `hold` from now, as if Graph had
    /// just said so: a deadline an earlier process persisted. Never
    /// shortens a hold; capped at [`crate::throttle::MAX_RETRY_AFTER`].
    pub fn hold(&self, scope: &ThrottleScope, hold: Duration) {
        if !hold.is_zero() {
            self.scope_gate(scope).hold_for(hold);
        }
    }

    /// How long requests in `scope` are still held back by this client.
    pub fn held_for(&self, scope: &ThrottleScope) -> Duration {
        self.scope_gate(scope).remaining()
    }

    fn scope_gate(&self, scope: &ThrottleScope) -> Arc<Gate> {
        match scope {
            ThrottleScope::Mailbox { tenant, mailbox } => self.mailbox_gate(tenant, mailbox),
            ThrottleScope::Tenant { tenant } => self.tenant_gate(tenant),
        }
    }

    /// Reports the hold on `gate` (the whole remaining one) to the observer
    /// and waits for it to be recorded.
    async fn report_hold(&self, tenant: &str, mailbox: Option<&str>, gate: &Gate) {
        let observer = self
            .inner
            .observer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let Some(observer) = observer else { return };
        let scope = match mailbox {
            Some(m) => ThrottleScope::Mailbox {
                tenant: tenant.to_owned(),
                mailbox: m.to_owned(),
            },
            None => ThrottleScope::Tenant {
                tenant: tenant.to_owned(),
            },
        };
        observer.held(&scope, gate.remaining()).await;
    }

    /// An app-only token for the customer's `tenant`, from the cache when
    /// still fresh.
    pub async fn token(&self, tenant: &str) -> Result<AccessToken, GraphError> {
        if !crate::consent::is_tenant_id(tenant) {
            return Err(GraphError::InvalidRequest("tenant id".into()));
        }
        self.inner
            .tokens
            .get_or_fetch(tenant, || self.fetch_token(tenant))
            .await
    }

    /// Drops the cached token for `tenant` (on disconnect).
    pub async fn forget_tenant(&self, tenant: &str) {
        self.inner.tokens.invalidate(tenant).await;
    }

    async fn fetch_token(&self, tenant: &str) -> Result<(AccessToken, Duration), GraphError> {
        let cfg = &self.inner.cfg;
        let mut url = cfg.login_base.clone();
        url.path_segments_mut()
            .unwrap_or_else(|()| unreachable!("an http(s) base can hold segments"))
            .pop_if_empty()
            .extend([tenant, "oauth2", "v2.0", "token"]);
        let body = {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            form.append_pair("client_id", &cfg.client_id)
                .append_pair("scope", "https://graph.microsoft.com/.default")
                .append_pair("grant_type", "client_credentials");
            match &cfg.credential {
                ClientCredential::Secret(s) => {
                    form.append_pair("client_secret", s.expose_secret());
                }
                ClientCredential::Certificate(c) => {
                    // Signed once per fetch: retries below reuse it well
                    // inside its five-minute life.
                    let jwt =
                        c.assertion(&cfg.client_id, url.as_str(), OffsetDateTime::now_utc())?;
                    form.append_pair("client_assertion_type", assertion::JWT_BEARER)
                        .append_pair("client_assertion", &jwt);
                }
            }
            form.finish()
        };
        let policy = cfg.retry;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let sent = self
                .inner
                .http
                .post(url.clone())
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.clone())
                .send()
                .await;
            let retry_in = match sent {
                Err(e) => {
                    if attempt >= policy.max_attempts {
                        return Err(GraphError::transport(&e));
                    }
                    policy.backoff(attempt - 1)
                }
                Ok(resp) => {
                    let status = resp.status();
                    let retry_after = retry_after(&resp);
                    let bytes = read_limited(resp, MAX_ERROR_BODY).await?;
                    if status.is_success() {
                        return auth::parse_token(&bytes);
                    }
                    let throttled =
                        status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
                    if !throttled || attempt >= policy.max_attempts {
                        return Err(auth::classify_token_error(status.as_u16(), &bytes));
                    }
                    retry_after.unwrap_or_else(|| policy.backoff(attempt - 1))
                }
            };
            if retry_in > policy.max_inline_wait {
                return Err(GraphError::Throttled {
                    status: 429,
                    retry_after: retry_in,
                });
            }
            tokio::time::sleep(retry_in).await;
        }
    }

    /// Sends `req` for `tenant` (and `mailbox`, whose gate it passes),
    /// retrying as the module doc says. On success the gate permits stay
    /// held until the returned body has been read.
    pub(crate) async fn send(
        &self,
        tenant: &str,
        mailbox: Option<&str>,
        req: &Req,
    ) -> Result<Admitted, GraphError> {
        let policy = self.inner.cfg.retry;
        let mailbox_gate = mailbox.map(|m| self.mailbox_gate(tenant, m));
        let tenant_gate = self.tenant_gate(tenant);
        // Throttling is recorded on the narrowest gate that applies.
        let hold_gate = mailbox_gate
            .clone()
            .unwrap_or_else(|| Arc::clone(&tenant_gate));
        let mut attempt = 0;
        let mut retokened = false;
        loop {
            attempt += 1;
            let held = hold_gate.remaining();
            if held > policy.max_inline_wait {
                // An earlier Retry-After longer than we wait inline: fail
                // now so the caller reschedules, rather than park a worker.
                return Err(GraphError::Throttled {
                    status: 429,
                    retry_after: held,
                });
            }
            // Mailbox before tenant, always, so two requests never wait on
            // each other's permits.
            let mp = match &mailbox_gate {
                Some(g) => Some(g.enter().await),
                None => None,
            };
            let tp = tenant_gate.enter().await;
            let token = self.token(tenant).await?;
            let mut rb = self
                .inner
                .http
                .request(req.method.clone(), req.url.clone())
                .bearer_auth(token.expose())
                .header("client-request-id", uuid::Uuid::new_v4().to_string());
            let mut prefer = Vec::new();
            if mailbox.is_some() {
                prefer.push("IdType=\"ImmutableId\"".to_owned());
            }
            if let Some(p) = &req.prefer {
                prefer.push(p.clone());
            }
            if !prefer.is_empty() {
                rb = rb.header("Prefer", prefer.join(", "));
            }
            if let Some(json) = &req.json {
                rb = rb.json(json);
            }
            let resp = match rb.send().await {
                Ok(r) => r,
                Err(e) => {
                    drop((mp, tp));
                    if req.idempotent && attempt < policy.max_attempts {
                        tracing::debug!(attempt, error = %GraphError::transport(&e), "graph transport error, retrying");
                        tokio::time::sleep(policy.backoff(attempt - 1)).await;
                        continue;
                    }
                    return Err(GraphError::transport(&e));
                }
            };
            let status = resp.status();
            if status.is_success() {
                return Ok(Admitted {
                    response: resp,
                    _permits: (mp, tp),
                });
            }
            if status == StatusCode::UNAUTHORIZED && !retokened {
                // Expired or revoked early: fetch a fresh token once; the
                // retry does not count as an attempt.
                drop((mp, tp));
                retokened = true;
                attempt -= 1;
                self.inner.tokens.invalidate(tenant).await;
                continue;
            }
            let throttled = matches!(
                status,
                StatusCode::TOO_MANY_REQUESTS
                    | StatusCode::SERVICE_UNAVAILABLE
                    | StatusCode::GATEWAY_TIMEOUT
            );
            let flaky = matches!(
                status,
                StatusCode::INTERNAL_SERVER_ERROR | StatusCode::BAD_GATEWAY
            ) && req.idempotent;
            if throttled || flaky {
                let wait = retry_after(&resp).unwrap_or_else(|| policy.backoff(attempt - 1));
                hold_gate.hold_for(wait);
                drop((mp, tp));
                tracing::info!(
                    status = status.as_u16(),
                    attempt,
                    wait_ms = wait.as_millis() as u64,
                    "graph throttled or failing, backing off"
                );
                // Recorded before waiting (or giving up), so a process
                // killed meanwhile leaves the deadline to the next one.
                self.report_hold(tenant, mailbox, &hold_gate).await;
                if attempt >= policy.max_attempts || wait > policy.max_inline_wait {
                    return Err(GraphError::Throttled {
                        status: status.as_u16(),
                        retry_after: wait,
                    });
                }
                continue;
            }
            let body = read_limited(resp, MAX_ERROR_BODY).await.unwrap_or_default();
            return Err(classify(status, &body));
        }
    }

    /// Sends `req` and parses a JSON body.
    pub(crate) async fn send_json<T: serde::de::DeserializeOwned>(
        &self,
        tenant: &str,
        mailbox: Option<&str>,
        req: &Req,
    ) -> Result<T, GraphError> {
        let admitted = self.send(tenant, mailbox, req).await?;
        let bytes = read_limited(admitted.response, 16 * 1024 * 1024).await?;
        serde_json::from_slice(&bytes)
            .map_err(|e| GraphError::InvalidResponse(format!("JSON body: {e}")))
    }
}

/// The response's `Retry-After`, capped at [`MAX_RETRY_AFTER`] (a larger one
/// would park the mailbox for good, and overflow the clock past `u64` s).
fn retry_after(resp: &Response) -> Option<Duration> {
    resp.headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after)
        .map(|d| d.min(MAX_RETRY_AFTER))
}

/// Reads a body chunk by chunk, failing as soon as it exceeds `cap` bytes
/// (also when `Content-Length` already says it will), so an oversized
/// response is never buffered whole.
pub(crate) async fn read_limited(mut resp: Response, cap: usize) -> Result<Vec<u8>, GraphError> {
    if resp
        .content_length()
        .is_some_and(|n| usize::try_from(n).map_or(true, |n| n > cap))
    {
        return Err(GraphError::TooLarge { cap });
    }
    let mut buf = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| GraphError::transport(&e))? {
        if buf.len() + chunk.len() > cap {
            return Err(GraphError::TooLarge { cap });
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_graph_errors_by_code() {
        let body = |code: &str| format!(r#"{{"error":{{"code":"{code}","message":"m"}}}}"#);
        assert!(matches!(
            classify(StatusCode::GONE, body("SyncStateNotFound").as_bytes()),
            GraphError::SyncStateNotFound
        ));
        assert!(matches!(
            classify(StatusCode::BAD_REQUEST, body("resyncRequired").as_bytes()),
            GraphError::SyncStateNotFound
        ));
        assert!(matches!(
            classify(StatusCode::FORBIDDEN, body("ErrorAccessDenied").as_bytes()),
            GraphError::Forbidden { code } if code == "ErrorAccessDenied"
        ));
        assert!(matches!(
            classify(StatusCode::NOT_FOUND, b"not json"),
            GraphError::NotFound { code } if code.is_empty()
        ));
        let nested = r#"{"error":{"code":"generalException","message":"m","innerError":{"code":"ExtensionError"}}}"#;
        assert!(matches!(
            classify(StatusCode::FORBIDDEN, nested.as_bytes()),
            GraphError::Forbidden { code } if code == "ExtensionError"
        ));
    }

    #[test]
    fn links_outside_the_graph_base_are_refused() {
        let cfg = GraphConfig::with_bases(
            "http://127.0.0.1:1",
            "http://127.0.0.1:2/v1.0",
            "app",
            ClientCredential::Secret("s".to_owned().into()),
        )
        .unwrap();
        let c = GraphClient::new(cfg).unwrap();
        assert!(
            c.check_link("http://127.0.0.1:2/v1.0/users/a/messages/delta?$deltatoken=x")
                .is_ok()
        );
        for bad in [
            "http://127.0.0.1:3/v1.0/users/a",
            "http://evil.example/v1.0/users/a",
            "https://127.0.0.1:2/v1.0/users/a",
            "http://127.0.0.1:2/v1.00/users",
            "http://u:p@127.0.0.1:2/v1.0/users",
            "/v1.0/users",
        ] {
            assert!(
                matches!(c.check_link(bad), Err(GraphError::ForeignLink)),
                "{bad}"
            );
        }
    }

    #[test]
    fn graph_urls_encode_segments() {
        let cfg = GraphConfig::with_bases(
            "http://127.0.0.1:1",
            "http://127.0.0.1:2/v1.0/",
            "app",
            ClientCredential::Secret("s".to_owned().into()),
        )
        .unwrap();
        let c = GraphClient::new(cfg).unwrap();
        let url = c.graph_url(&["users", "a/b?c@x.com", "messages", "id", "$value"]);
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:2/v1.0/users/a%2Fb%3Fc@x.com/messages/id/$value"
        );
    }
}
