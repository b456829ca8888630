//! App-only OAuth (client credentials, contract §4.1): token responses parsed
//! leniently (`expires_in` as a number or a string), token errors classified
//! by AADSTS number, and a per-tenant cache that refreshes shortly before
//! expiry. Tokens live in `SecretString`s and never reach `Debug` or logs.

use crate::error::GraphError;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::time::Instant;

/// A bearer token for one customer tenant.
#[derive(Clone)]
pub struct AccessToken(SecretString);

impl AccessToken {
    /// Wraps a token string.
    pub fn new(token: String) -> Self {
        Self(SecretString::from(token))
    }

    /// The token, for the `Authorization` header only.
    pub(crate) fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(<redacted>)")
    }
}

/// Token endpoint success body.
#[derive(Deserialize)]
pub(crate) struct TokenResponse {
    #[serde(default)]
    pub token_type: Option<String>,
    #[serde(deserialize_with = "int_or_string")]
    pub expires_in: u64,
    pub access_token: String,
}

/// Token endpoint error body.
#[derive(Debug, Deserialize)]
pub(crate) struct TokenErrorBody {
    pub error: String,
    #[serde(default)]
    pub error_codes: Vec<u64>,
}

/// Accepts `3599` and `"3599"` (Microsoft sends both).
fn int_or_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum IntOrString {
        Int(u64),
        Str(String),
    }
    match IntOrString::deserialize(d)? {
        IntOrString::Int(n) => Ok(n),
        IntOrString::Str(s) => s.trim().parse().map_err(serde::de::Error::custom),
    }
}

/// Classifies a token endpoint error by its AADSTS number (never by the
/// description text).
pub(crate) fn classify_token_error(status: u16, body: &[u8]) -> GraphError {
    let Ok(parsed) = serde_json::from_slice::<TokenErrorBody>(body) else {
        return GraphError::Status {
            status,
            code: String::new(),
        };
    };
    let aadsts = parsed.error_codes.first().copied().unwrap_or(0);
    match aadsts {
        7_000_229 => GraphError::TenantDisconnected,
        700_082 | 50_173 => GraphError::ReconnectNeeded { aadsts },
        _ => GraphError::TokenRefused {
            error: parsed.error.chars().take(64).collect(),
            aadsts,
        },
    }
}

/// Parses a successful token response into a token and its lifetime.
pub(crate) fn parse_token(body: &[u8]) -> Result<(AccessToken, Duration), GraphError> {
    let parsed: TokenResponse = serde_json::from_slice(body).map_err(|e| {
        GraphError::InvalidResponse(format!("token response: {}", e.classify_str()))
    })?;
    if parsed
        .token_type
        .as_deref()
        .is_some_and(|t| !t.eq_ignore_ascii_case("bearer"))
    {
        return Err(GraphError::InvalidResponse(
            "token type is not Bearer".into(),
        ));
    }
    if parsed.access_token.is_empty() {
        return Err(GraphError::InvalidResponse("empty access token".into()));
    }
    Ok((
        AccessToken::new(parsed.access_token),
        Duration::from_secs(parsed.expires_in),
    ))
}

/// `serde_json` errors can quote input; only the category is kept, so a
/// malformed token response never leaks the token.
trait Classify {
    fn classify_str(&self) -> &'static str;
}

impl Classify for serde_json::Error {
    fn classify_str(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "io error",
            serde_json::error::Category::Syntax => "not JSON",
            serde_json::error::Category::Data => "missing or mistyped field",
            serde_json::error::Category::Eof => "truncated",
        }
    }
}

/// When a token of lifetime `ttl` fetched at `fetched` should be replaced:
/// five minutes early, or at half its life when it is short.
pub(crate) fn refresh_at(fetched: Instant, ttl: Duration) -> Instant {
    let margin = Duration::from_mins(5).min(ttl / 2);
    fetched + ttl.saturating_sub(margin)
}

#[derive(Clone)]
struct Cached {
    token: AccessToken,
    refresh_at: Instant,
}

/// Per-tenant token cache. One async mutex per tenant makes concurrent
/// callers share one fetch instead of stampeding the token endpoint.
#[derive(Default)]
pub(crate) struct TokenCache {
    slots: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<Cached>>>>>,
}

impl TokenCache {
    fn slot(&self, tenant: &str) -> Arc<tokio::sync::Mutex<Option<Cached>>> {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(slots.entry(tenant.to_owned()).or_default())
    }

    /// The cached token for `tenant` if still fresh, else one from `fetch`.
    pub(crate) async fn get_or_fetch<F, Fut>(
        &self,
        tenant: &str,
        fetch: F,
    ) -> Result<AccessToken, GraphError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(AccessToken, Duration), GraphError>>,
    {
        let slot = self.slot(tenant);
        let mut guard = slot.lock().await;
        if let Some(c) = guard.as_ref()
            && c.refresh_at > Instant::now()
        {
            return Ok(c.token.clone());
        }
        let fetched = Instant::now();
        let (token, ttl) = fetch().await?;
        *guard = Some(Cached {
            token: token.clone(),
            refresh_at: refresh_at(fetched, ttl),
        });
        Ok(token)
    }

    /// Forgets `tenant`'s token (after a `401`, or on disconnect).
    pub(crate) async fn invalidate(&self, tenant: &str) {
        let slot = self.slot(tenant);
        *slot.lock().await = None;
    }
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenCache(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_in_as_number_or_string() {
        let (t, ttl) =
            parse_token(br#"{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"tok-1"}"#)
                .unwrap();
        assert_eq!(t.expose(), "tok-1");
        assert_eq!(ttl, Duration::from_secs(3599));
        let (_, ttl) =
            parse_token(br#"{"token_type":"Bearer","expires_in":"3599","access_token":"tok-2"}"#)
                .unwrap();
        assert_eq!(ttl, Duration::from_secs(3599));
    }

    #[test]
    fn malformed_token_response_does_not_echo_the_token() {
        let err = parse_token(
            br#"{"token_type":"Bearer","expires_in":"soon","access_token":"SECRET-TOKEN"}"#,
        )
        .unwrap_err();
        assert!(!err.to_string().contains("SECRET"), "{err}");
        assert!(!format!("{err:?}").contains("SECRET"));
    }

    #[test]
    fn debug_never_shows_the_token() {
        let t = AccessToken::new("SECRET-TOKEN".into());
        assert!(!format!("{t:?}").contains("SECRET"));
    }

    #[test]
    fn token_errors_classified_by_aadsts_number() {
        let body = |code: u64, error: &str| {
            format!(
                r#"{{"error":"{error}","error_description":"AADSTS{code}: text","error_codes":[{code}]}}"#
            )
        };
        assert!(matches!(
            classify_token_error(401, body(7_000_229, "invalid_client").as_bytes()),
            GraphError::TenantDisconnected
        ));
        assert!(matches!(
            classify_token_error(400, body(700_082, "invalid_grant").as_bytes()),
            GraphError::ReconnectNeeded { aadsts: 700_082 }
        ));
        assert!(matches!(
            classify_token_error(400, body(50_173, "invalid_grant").as_bytes()),
            GraphError::ReconnectNeeded { aadsts: 50_173 }
        ));
        for (code, error) in [
            (7_000_215, "invalid_client"),
            (7_000_222, "invalid_client"),
            (700_016, "unauthorized_client"),
            (90_002, "invalid_request"),
        ] {
            match classify_token_error(400, body(code, error).as_bytes()) {
                GraphError::TokenRefused { error: e, aadsts } => {
                    assert_eq!((e.as_str(), aadsts), (error, code));
                }
                other => panic!("{code}: {other:?}"),
            }
        }
    }

    #[test]
    fn refreshes_five_minutes_early_or_at_half_life() {
        let now = Instant::now();
        assert_eq!(
            refresh_at(now, Duration::from_secs(3599)),
            now + Duration::from_secs(3299)
        );
        assert_eq!(
            refresh_at(now, Duration::from_mins(1)),
            now + Duration::from_secs(30)
        );
    }

    #[tokio::test]
    async fn cache_reuses_a_fresh_token_and_refetches_after_invalidate() {
        let cache = TokenCache::default();
        let calls = std::sync::atomic::AtomicU32::new(0);
        let fetch = || async {
            let n = calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok((AccessToken::new(format!("t{n}")), Duration::from_hours(1)))
        };
        assert_eq!(cache.get_or_fetch("t", fetch).await.unwrap().expose(), "t0");
        assert_eq!(cache.get_or_fetch("t", fetch).await.unwrap().expose(), "t0");
        assert_eq!(
            cache.get_or_fetch("other", fetch).await.unwrap().expose(),
            "t1"
        );
        cache.invalidate("t").await;
        assert_eq!(cache.get_or_fetch("t", fetch).await.unwrap().expose(), "t2");
    }
}
