//! `$value`: raw bytes whatever the Content-Type, and the size cap enforced
//! both from Content-Length and while streaming a body without one.

use crate::{TENANT, setup};
use axum::Router;
use axum::body::Body;
use axum::routing::get;
use sentra_graph::GraphError;

fn mime_router() -> Router {
    Router::new().route(
        "/v1.0/users/{mb}/messages/{id}/$value",
        get(
            |axum::extract::Path((_mb, id)): axum::extract::Path<(String, String)>| async move {
                match id.as_str() {
                    // Observed with text/plain; the bytes are what matter.
                    "small" => (
                        [("content-type", "text/plain")],
                        Body::from(&b"Subject: a\r\n\r\n\xff\xfe raw"[..]),
                    ),
                    "big" => (
                        [("content-type", "application/octet-stream")],
                        Body::from(vec![b'a'; 300_000]),
                    ),
                    _ => {
                        // A streamed body: no Content-Length, 40 chunks of 10 kB.
                        let chunks = (0..40).map(|_| Ok::<_, std::io::Error>(vec![b'b'; 10_000]));
                        (
                            [("content-type", "message/rfc822")],
                            Body::from_stream(futures_util::stream::iter(chunks)),
                        )
                    }
                }
            },
        ),
    )
}

#[tokio::test]
async fn bytes_come_back_untouched() {
    let (c, _) = setup(mime_router()).await;
    let mime = c
        .message_mime(TENANT, "ap@contoso.com", "small")
        .await
        .unwrap();
    assert_eq!(mime, b"Subject: a\r\n\r\n\xff\xfe raw");
}

#[tokio::test]
async fn content_length_over_the_cap_is_refused() {
    let (c, _) = setup(mime_router()).await;
    let err = c
        .message_mime_capped(TENANT, "ap@contoso.com", "big", 100_000)
        .await
        .unwrap_err();
    assert!(
        matches!(err, GraphError::TooLarge { cap: 100_000 }),
        "{err:?}"
    );
    let ok = c
        .message_mime_capped(TENANT, "ap@contoso.com", "big", 300_000)
        .await
        .unwrap();
    assert_eq!(ok.len(), 300_000);
}

#[tokio::test]
async fn a_streamed_body_is_cut_off_at_the_cap() {
    let (c, _) = setup(mime_router()).await;
    let err = c
        .message_mime_capped(TENANT, "ap@contoso.com", "stream", 150_000)
        .await
        .unwrap_err();
    assert!(
        matches!(err, GraphError::TooLarge { cap: 150_000 }),
        "{err:?}"
    );
    let ok = c
        .message_mime_capped(TENANT, "ap@contoso.com", "stream", 400_000)
        .await
        .unwrap();
    assert_eq!(ok.len(), 400_000);
}
