//! Tokens: fetched with the client secret, cached across calls, re-fetched
//! once on a 401, classified errors, and never shown in Debug output.

use crate::{SECRET, TENANT, bearer, client, serve, setup};
use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use sentra_graph::GraphError;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

fn folder_json() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({"id": "AAMkInbox", "displayName": "Inbox", "totalItemCount": 3}))
}

#[tokio::test]
async fn one_token_serves_many_calls() {
    let graph = Router::new().route(
        "/v1.0/users/{mb}/mailFolders/{f}",
        get(|headers: HeaderMap| async move {
            assert_eq!(bearer(&headers), "tok-0");
            assert!(
                headers
                    .get("prefer")
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .contains("IdType=\"ImmutableId\"")
            );
            assert!(headers.get("client-request-id").is_some());
            folder_json()
        }),
    );
    let (c, tokens) = setup(graph).await;
    for _ in 0..5 {
        let f = c
            .mail_folder(TENANT, "finance@contoso.com", "inbox")
            .await
            .unwrap();
        assert_eq!(f.id, "AAMkInbox");
    }
    assert_eq!(tokens.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_401_refetches_the_token_once() {
    let graph = Router::new().route(
        "/v1.0/users/{mb}/mailFolders/{f}",
        get(|headers: HeaderMap| async move {
            // The first token is "expired"; later ones work.
            if bearer(&headers) == "tok-0" {
                return (
                    StatusCode::UNAUTHORIZED,
                    [("www-authenticate", "Bearer")],
                    r#"{"error":{"code":"InvalidAuthenticationToken","message":"Access token has expired or is not yet valid."}}"#,
                )
                    .into_response();
            }
            folder_json().into_response()
        }),
    );
    let (c, tokens) = setup(graph).await;
    c.mail_folder(TENANT, "finance@contoso.com", "inbox")
        .await
        .unwrap();
    assert_eq!(tokens.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_second_401_is_an_error_not_a_loop() {
    let hits = Arc::new(AtomicU32::new(0));
    let h = Arc::clone(&hits);
    let graph = Router::new().route(
        "/v1.0/users/{mb}/mailFolders/{f}",
        get(move || {
            h.fetch_add(1, Ordering::SeqCst);
            async {
                (
                    StatusCode::UNAUTHORIZED,
                    r#"{"error":{"code":"InvalidAuthenticationToken","message":"x"}}"#,
                )
            }
        }),
    );
    let (c, tokens) = setup(graph).await;
    let err = c
        .mail_folder(TENANT, "finance@contoso.com", "inbox")
        .await
        .unwrap_err();
    assert!(
        matches!(err, GraphError::Unauthorized { ref code } if code == "InvalidAuthenticationToken"),
        "{err:?}"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    assert_eq!(tokens.calls.load(Ordering::SeqCst), 2);
}

async fn token_error_client(aadsts: u64, error: &'static str) -> sentra_graph::GraphClient {
    let login = Router::new().route(
        "/{tenant}/oauth2/v2.0/token",
        post(move || async move {
            (
                StatusCode::UNAUTHORIZED,
                axum::Json(serde_json::json!({
                    "error": error,
                    "error_description": format!("AADSTS{aadsts}: described. Trace ID: x"),
                    "error_codes": [aadsts],
                })),
            )
        }),
    );
    let login = serve(login).await;
    client(&login, "http://127.0.0.1:9")
}

#[tokio::test]
async fn token_errors_are_classified() {
    let c = token_error_client(7_000_229, "invalid_client").await;
    let err = c.token(TENANT).await.unwrap_err();
    assert!(matches!(err, GraphError::TenantDisconnected), "{err:?}");
    assert!(err.needs_admin());

    let c = token_error_client(7_000_215, "invalid_client").await;
    let err = c.token(TENANT).await.unwrap_err();
    assert!(
        matches!(
            err,
            GraphError::TokenRefused {
                aadsts: 7_000_215,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!err.to_string().contains(SECRET));
}

#[tokio::test]
async fn no_secret_or_token_in_debug_output() {
    let graph = Router::new().route(
        "/v1.0/users/{mb}/mailFolders/{f}",
        get(|| async { folder_json() }),
    );
    let (c, _) = setup(graph).await;
    let token = c.token(TENANT).await.unwrap();
    c.mail_folder(TENANT, "finance@contoso.com", "inbox")
        .await
        .unwrap();
    let debug = format!("{c:?} {token:?} {:?}", c.config());
    assert!(!debug.contains(SECRET), "{debug}");
    assert!(!debug.contains("tok-0"), "{debug}");
}

#[tokio::test]
async fn forbidden_mailbox_is_typed() {
    let graph = Router::new().route(
        "/v1.0/users/{mb}/mailFolders/{f}",
        get(|| async {
            (
                StatusCode::FORBIDDEN,
                r#"{"error":{"code":"ErrorAccessDenied","message":"Access is denied. Check credentials and try again."}}"#,
            )
        }),
    );
    let (c, _) = setup(graph).await;
    let err = c
        .mail_folder(TENANT, "ceo@contoso.com", "inbox")
        .await
        .unwrap_err();
    assert!(
        matches!(err, GraphError::Forbidden { ref code } if code == "ErrorAccessDenied"),
        "{err:?}"
    );
    assert!(err.needs_admin());
}
