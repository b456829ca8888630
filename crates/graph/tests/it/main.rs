//! Integration tests of the Graph client over real HTTP against small axum
//! servers on loopback that play Microsoft's part for one behaviour each
//! (tokens, throttling, delta, `$value`, subscriptions). One binary.

mod auth;
mod certificate;
mod delta;
mod mime;
mod subscriptions;
mod throttling;

use axum::Router;
use sentra_graph::throttle::RetryPolicy;
use sentra_graph::{ClientCredential, GraphClient, GraphConfig};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// The tenant every test uses.
pub(crate) const TENANT: &str = "11111111-2222-3333-4444-555555555555";
/// The client secret every test configures.
pub(crate) const SECRET: &str = "test-client-secret-value";

/// Serves `router` on a free loopback port; returns `http://127.0.0.1:port`.
pub(crate) async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    format!("http://{addr}")
}

/// Counts token requests and hands out `tok-N`.
#[derive(Default)]
pub(crate) struct TokenCounter {
    pub calls: AtomicU32,
}

/// A login router: the token endpoint issues `tok-N` (N counting from 0)
/// after checking the client-credentials form.
pub(crate) fn login_router(counter: Arc<TokenCounter>) -> Router {
    use axum::routing::post;
    Router::new().route(
        "/{tenant}/oauth2/v2.0/token",
        post(
            move |axum::extract::Path(tenant): axum::extract::Path<String>, body: String| {
                let counter = Arc::clone(&counter);
                async move {
                    assert_eq!(tenant, TENANT);
                    assert!(body.contains("grant_type=client_credentials"), "{body}");
                    assert!(body.contains(&format!("client_secret={SECRET}")), "{body}");
                    assert!(
                        body.contains("scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"),
                        "{body}"
                    );
                    let n = counter.calls.fetch_add(1, Ordering::SeqCst);
                    axum::Json(serde_json::json!({
                        "token_type": "Bearer", "expires_in": "3599", "ext_expires_in": 3599,
                        "access_token": format!("tok-{n}")
                    }))
                }
            },
        ),
    )
}

/// A client whose login base is `login` and Graph base is `graph/v1.0`,
/// with short backoffs so retries stay quick.
pub(crate) fn client(login: &str, graph: &str) -> GraphClient {
    let mut cfg = GraphConfig::with_bases(
        login,
        &format!("{graph}/v1.0"),
        "app-id",
        ClientCredential::Secret(SECRET.to_owned().into()),
    )
    .unwrap();
    cfg.retry = RetryPolicy {
        max_attempts: 4,
        base_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
        max_inline_wait: Duration::from_secs(5),
    };
    cfg.request_timeout = Duration::from_secs(30);
    GraphClient::new(cfg).unwrap()
}

/// A login server and a Graph server built from `graph`; returns the client
/// and the token counter.
pub(crate) async fn setup(graph: Router) -> (GraphClient, Arc<TokenCounter>) {
    let counter = Arc::new(TokenCounter::default());
    let login = serve(login_router(Arc::clone(&counter))).await;
    let graph = serve(graph).await;
    (client(&login, &graph), counter)
}

/// The bearer token of a request.
pub(crate) fn bearer(headers: &axum::http::HeaderMap) -> String {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_owned()
}
