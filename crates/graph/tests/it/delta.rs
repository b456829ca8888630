//! Delta rounds: date-bounded start, pages with duplicates and removals,
//! the final deltaLink, resuming from it, 410 → resync, foreign links.

use crate::TENANT;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use sentra_graph::GraphError;
use sentra_graph::delta::DeltaStart;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use time::macros::datetime;

#[derive(Default)]
struct Seen {
    queries: Vec<HashMap<String, String>>,
    prefers: Vec<String>,
}

type Shared = Arc<(String, Mutex<Seen>)>;

async fn delta(
    State(state): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> axum::response::Response {
    let base = &state.0;
    {
        let mut seen = state.1.lock().unwrap();
        seen.queries.push(q.clone());
        seen.prefers.push(
            headers
                .get("prefer")
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default(),
        );
    }
    let link = |k: &str, v: &str| {
        format!("{base}/v1.0/users/ap@contoso.com/mailFolders('inbox')/messages/delta?{k}={v}")
    };
    let msg = |id: &str| {
        serde_json::json!({"@odata.type":"#microsoft.graph.message","id":id,
        "receivedDateTime":"2026-11-08T10:00:00Z","subject":format!("s-{id}"),
        "from":{"emailAddress":{"name":"A","address":"a@supplier.example"}}})
    };
    let body = match (
        q.get("$skiptoken").map(String::as_str),
        q.get("$deltatoken").map(String::as_str),
    ) {
        (None, None) => {
            serde_json::json!({"@odata.nextLink": link("$skiptoken", "p2"), "value": [msg("m1"), msg("m2")]})
        }
        (Some("p2"), _) => serde_json::json!({"@odata.nextLink": link("$skiptoken", "p3"),
            "value": [msg("m2"), {"id":"m0","@removed":{"reason":"deleted"}}, msg("m3")]}),
        (Some("p3"), _) => {
            serde_json::json!({"@odata.deltaLink": link("$deltatoken", "d1"), "value": [msg("m1")]})
        }
        (_, Some("d1")) => {
            serde_json::json!({"@odata.deltaLink": link("$deltatoken", "d2"), "value": [msg("m4")]})
        }
        (Some("evil"), _) => {
            serde_json::json!({"@odata.nextLink": "http://evil.example/v1.0/steal", "value": []})
        }
        _ => {
            return (
                StatusCode::GONE,
                r#"{"error":{"code":"SyncStateNotFound","message":"The sync state generation is not found; generation=149;[highest=157]"}}"#,
            )
                .into_response();
        }
    };
    axum::Json(body).into_response()
}

async fn setup_delta() -> (sentra_graph::GraphClient, Shared) {
    // The router needs its own base for absolute links, so bind first.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state: Shared = Arc::new((base.clone(), Mutex::default()));
    let router = Router::new()
        .route(
            "/v1.0/users/{mb}/mailFolders/{f}/messages/delta",
            get(delta),
        )
        // Links use Graph's `mailFolders('inbox')` form.
        .route("/v1.0/users/{mb}/{folder}/messages/delta", get(delta))
        .with_state(Arc::clone(&state));
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let counter = Arc::new(crate::TokenCounter::default());
    let login = crate::serve(crate::login_router(counter)).await;
    (crate::client(&login, &base), state)
}

#[tokio::test]
async fn a_round_collects_pages_once_each_and_ends_in_a_delta_link() {
    let (c, state) = setup_delta().await;
    let since = datetime!(2026-11-01 00:00:00.5 UTC);
    let round = c
        .delta_round(
            TENANT,
            "ap@contoso.com",
            DeltaStart::Since {
                folder: "inbox",
                since,
            },
        )
        .await
        .unwrap();
    let ids: Vec<_> = round.messages.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["m1", "m2", "m3"]);
    assert_eq!(round.removed, ["m0"]);
    assert_eq!(round.duplicates, 2);
    assert_eq!(round.pages, 3);
    assert!(
        round.delta_link.ends_with("$deltatoken=d1"),
        "{}",
        round.delta_link
    );
    assert_eq!(
        round.messages[0]
            .from
            .as_ref()
            .unwrap()
            .email_address
            .address
            .as_deref(),
        Some("a@supplier.example")
    );

    let seen = state.1.lock().unwrap();
    assert_eq!(
        seen.queries[0]["$filter"],
        "receivedDateTime ge 2026-11-01T00:00:00Z"
    );
    assert!(seen.queries[0]["$select"].contains("internetMessageId"));
    // Later pages send no query options of their own.
    assert!(!seen.queries[1].contains_key("$filter"));
    assert!(
        seen.prefers
            .iter()
            .all(|p| p.contains("odata.maxpagesize=50") && p.contains("ImmutableId"))
    );
}

#[tokio::test]
async fn resuming_from_the_delta_link_gets_only_new_items() {
    let (c, state) = setup_delta().await;
    let link = format!(
        "{}/v1.0/users/ap@contoso.com/mailFolders('inbox')/messages/delta?$deltatoken=d1",
        state.0
    );
    let round = c
        .delta_round(TENANT, "ap@contoso.com", DeltaStart::Link(&link))
        .await
        .unwrap();
    assert_eq!(round.messages.len(), 1);
    assert_eq!(round.messages[0].id, "m4");
    assert!(round.delta_link.ends_with("d2"));
}

#[tokio::test]
async fn an_expired_delta_link_asks_for_a_resync() {
    let (c, state) = setup_delta().await;
    let link = format!(
        "{}/v1.0/users/ap@contoso.com/mailFolders('inbox')/messages/delta?$deltatoken=old",
        state.0
    );
    let err = c
        .delta_round(TENANT, "ap@contoso.com", DeltaStart::Link(&link))
        .await
        .unwrap_err();
    assert!(matches!(err, GraphError::SyncStateNotFound), "{err:?}");
}

#[tokio::test]
async fn links_off_the_graph_base_are_not_followed() {
    let (c, state) = setup_delta().await;
    let err = c
        .delta_round(
            TENANT,
            "ap@contoso.com",
            DeltaStart::Link("http://evil.example/v1.0/x"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, GraphError::ForeignLink), "{err:?}");
    let link = format!(
        "{}/v1.0/users/ap@contoso.com/mailFolders('inbox')/messages/delta?$skiptoken=evil",
        state.0
    );
    let err = c
        .delta_round(TENANT, "ap@contoso.com", DeltaStart::Link(&link))
        .await
        .unwrap_err();
    assert!(matches!(err, GraphError::ForeignLink), "{err:?}");
}
