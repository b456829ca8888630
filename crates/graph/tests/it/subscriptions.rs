//! Subscriptions: the create body, renew 404 → `NotFound` (recreate),
//! reauthorize accepting 204, delete tolerating 404.

use crate::{TENANT, setup};
use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{patch, post};
use secrecy::SecretString;
use sentra_graph::GraphError;
use sentra_graph::subscription::{NewSubscription, expiry_from};
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;

#[tokio::test]
async fn create_sends_lifecycle_url_and_client_state() {
    let body_seen = Arc::new(Mutex::new(serde_json::Value::Null));
    let b = Arc::clone(&body_seen);
    let router = Router::new().route(
        "/v1.0/subscriptions",
        post(move |axum::Json(body): axum::Json<serde_json::Value>| {
            let b = Arc::clone(&b);
            async move {
                let reply = serde_json::json!({
                    "id": "sub-1", "resource": body["resource"], "changeType": "created",
                    "clientState": body["clientState"], "expirationDateTime": body["expirationDateTime"],
                });
                *b.lock().unwrap() = body;
                (StatusCode::CREATED, axum::Json(reply))
            }
        }),
    );
    let (c, _) = setup(router).await;
    let state = SecretString::from("client-state-secret".to_owned());
    let now = OffsetDateTime::now_utc();
    let sub = c
        .create_subscription(
            TENANT,
            &NewSubscription {
                mailbox: "ap@contoso.com",
                folder: "inbox",
                notification_url: "https://sentra.example/graph/notify/abc",
                lifecycle_url: "https://sentra.example/graph/lifecycle/abc",
                client_state: &state,
                expires_at: expiry_from(now),
            },
        )
        .await
        .unwrap();
    assert_eq!(sub.id, "sub-1");
    let exp = sub.expires_at().unwrap();
    assert!((exp - now - time::Duration::hours(48)).abs() < time::Duration::seconds(2));
    let body = body_seen.lock().unwrap().clone();
    assert_eq!(body["changeType"], "created");
    assert_eq!(
        body["resource"],
        "users/ap@contoso.com/mailFolders('inbox')/messages"
    );
    assert_eq!(
        body["lifecycleNotificationUrl"],
        "https://sentra.example/graph/lifecycle/abc"
    );
    assert_eq!(body["clientState"], "client-state-secret");
    assert!(body.get("includeResourceData").is_none());
}

#[tokio::test]
async fn renew_404_means_recreate_and_delete_404_is_fine() {
    let router = Router::new()
        .route(
            "/v1.0/subscriptions/{id}",
            patch(
                |axum::extract::Path(id): axum::extract::Path<String>| async move {
                    if id == "gone" {
                        return (
                            StatusCode::NOT_FOUND,
                            r#"{"error":{"code":"ResourceNotFound","message":"x"}}"#,
                        )
                            .into_response();
                    }
                    axum::Json(
                        serde_json::json!({"id": id, "expirationDateTime": "2026-11-10T10:00:00Z"}),
                    )
                    .into_response()
                },
            )
            .delete(
                |axum::extract::Path(id): axum::extract::Path<String>| async move {
                    if id == "gone" {
                        StatusCode::NOT_FOUND
                    } else {
                        StatusCode::NO_CONTENT
                    }
                },
            ),
        )
        .route(
            "/v1.0/subscriptions/{id}/reauthorize",
            post(|| async { StatusCode::NO_CONTENT }),
        );
    let (c, _) = setup(router).await;
    let exp = OffsetDateTime::now_utc() + time::Duration::hours(48);
    let err = c.renew_subscription(TENANT, "gone", exp).await.unwrap_err();
    assert!(matches!(err, GraphError::NotFound { .. }), "{err:?}");
    let renewed = c.renew_subscription(TENANT, "sub-1", exp).await.unwrap();
    assert_eq!(
        renewed.expiration_date_time.as_deref(),
        Some("2026-11-10T10:00:00Z")
    );
    c.reauthorize_subscription(TENANT, "sub-1").await.unwrap();
    c.delete_subscription(TENANT, "sub-1").await.unwrap();
    c.delete_subscription(TENANT, "gone").await.unwrap();
}
