//! Middleware of our own: security headers on every response, and the
//! cross-origin check for state-changing requests (security bar G3.7).
//!
//! The origin check follows the OWASP CSRF cheat sheet's Fetch Metadata plus
//! Origin approach: a non-safe method is refused when `Sec-Fetch-Site` says
//! `cross-site` or `same-site`, or when an `Origin` header names a host other
//! than the one the request was sent to (or is `null`). Requests with neither
//! header (non-browser clients) pass: browsers always send one of them on a
//! cross-origin POST, which is what the check is for. Hand-written rather
//! than `tower_http::csrf` because that layer needs a secure context, and
//! development runs on plain http loopback.

use crate::WebError;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The Content-Security-Policy: same-origin everything, no inline script,
/// no framing.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
/// HSTS for deployments behind https.
pub const HSTS: &str = "max-age=31536000; includeSubDomains";

/// Adds the security headers; `hsts` when the deployment is https.
pub async fn security_headers(State(hsts): State<bool>, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=()"),
    );
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    if hsts {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    res
}

/// Refuses cross-origin state-changing requests with 403.
pub async fn origin_check(req: Request, next: Next) -> Response {
    if is_cross_origin_write(&req) {
        tracing::warn!(method = %req.method(), path = %crate::log_path::loggable(req.uri().path()), "cross-origin request refused");
        return WebError::CrossOrigin.into_response();
    }
    next.run(req).await
}

fn is_cross_origin_write(req: &Request) -> bool {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return false;
    }
    let headers = req.headers();
    if let Some(site) = headers.get("sec-fetch-site") {
        let site = site.to_str().unwrap_or("cross-site");
        if site.eq_ignore_ascii_case("cross-site") || site.eq_ignore_ascii_case("same-site") {
            return true;
        }
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return false;
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, rest)| rest.trim_end_matches('/'));
    match (origin_host, host) {
        (Some(o), Some(h)) => !o.eq_ignore_ascii_case(h),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    fn req(method: Method, headers: &[(&str, &str)]) -> Request {
        let mut b = axum::http::Request::builder().method(method).uri("/x");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(Body::empty()).unwrap_or_default()
    }

    async fn headers_of(hsts: bool) -> axum::http::HeaderMap {
        use tower::ServiceExt as _;
        let app = axum::Router::new()
            .route("/", axum::routing::get(|| async { "ok" }))
            .layer(axum::middleware::from_fn_with_state(hsts, security_headers));
        app.oneshot(req(Method::GET, &[]))
            .await
            .map(|r| r.headers().clone())
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn hsts_is_sent_only_for_https_deployments() {
        let https = headers_of(true).await;
        assert_eq!(
            https
                .get(header::STRICT_TRANSPORT_SECURITY)
                .and_then(|v| v.to_str().ok()),
            Some(HSTS)
        );
        assert_eq!(
            https
                .get(header::CONTENT_SECURITY_POLICY)
                .and_then(|v| v.to_str().ok()),
            Some(CSP)
        );
        let plain = headers_of(false).await;
        assert!(plain.get(header::STRICT_TRANSPORT_SECURITY).is_none());
        assert!(plain.get(header::X_CONTENT_TYPE_OPTIONS).is_some());
    }

    #[test]
    fn cross_site_writes_are_refused_and_same_origin_ones_pass() {
        let host = ("host", "127.0.0.1:8080");
        assert!(is_cross_origin_write(&req(
            Method::POST,
            &[host, ("origin", "http://evil.example")]
        )));
        assert!(is_cross_origin_write(&req(
            Method::POST,
            &[host, ("origin", "null")]
        )));
        assert!(is_cross_origin_write(&req(
            Method::DELETE,
            &[host, ("sec-fetch-site", "cross-site")]
        )));
        assert!(is_cross_origin_write(&req(
            Method::PUT,
            &[host, ("sec-fetch-site", "same-site")]
        )));
        assert!(!is_cross_origin_write(&req(
            Method::POST,
            &[host, ("origin", "http://127.0.0.1:8080")]
        )));
        assert!(!is_cross_origin_write(&req(
            Method::POST,
            &[host, ("sec-fetch-site", "same-origin")]
        )));
        assert!(!is_cross_origin_write(&req(Method::POST, &[host])));
        assert!(!is_cross_origin_write(&req(
            Method::GET,
            &[host, ("origin", "http://evil.example")]
        )));
    }
}
