//! A stand-in for Sentra's notification and lifecycle endpoints: records
//! every request and answers the validation handshake and notifications the
//! way a test tells it to.

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How the receiver answers a validation request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Validation {
    /// `200 text/plain` with the decoded token.
    Echo,
    /// `200 text/plain` with something else.
    WrongEcho,
    /// Never answers in time.
    Hang,
}

/// One request the receiver got.
#[derive(Debug, Clone)]
pub(crate) struct Hit {
    pub method: Method,
    pub path: String,
    pub validation_token: Option<String>,
    pub content_type: Option<String>,
    pub body: Bytes,
}

impl Hit {
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("notification body is JSON")
    }
}

#[derive(Debug)]
struct Inner {
    validation: Validation,
    /// Statuses for the next notifications; 202 when empty.
    statuses: VecDeque<u16>,
    hits: Vec<Hit>,
}

/// A running receiver on loopback.
#[derive(Clone)]
pub(crate) struct Receiver {
    pub base: String,
    inner: Arc<Mutex<Inner>>,
}

impl Receiver {
    pub(crate) async fn start(validation: Validation) -> Self {
        let inner = Arc::new(Mutex::new(Inner {
            validation,
            statuses: VecDeque::new(),
            hits: Vec::new(),
        }));
        let state = inner.clone();
        let app = Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let state = state.clone();
                async move { answer(&state, method, &uri, &headers, body).await }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind receiver");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { base, inner }
    }

    pub(crate) fn notify_url(&self) -> String {
        format!("{}/graph/notify/sub-token-1", self.base)
    }

    pub(crate) fn lifecycle_url(&self) -> String {
        format!("{}/graph/lifecycle/sub-token-1", self.base)
    }

    /// Answer the next notifications with these statuses.
    pub(crate) fn push_statuses(&self, statuses: &[u16]) {
        self.inner.lock().expect("lock").statuses.extend(statuses);
    }

    pub(crate) fn hits(&self) -> Vec<Hit> {
        self.inner.lock().expect("lock").hits.clone()
    }

    /// Non-validation hits on a path prefix.
    pub(crate) fn posts(&self, prefix: &str) -> Vec<Hit> {
        self.hits()
            .into_iter()
            .filter(|h| h.validation_token.is_none() && h.path.starts_with(prefix))
            .collect()
    }

    /// Polls until `n` non-validation hits arrived on the prefix (generous timeout).
    pub(crate) async fn wait_posts(&self, prefix: &str, n: usize) -> Vec<Hit> {
        for _ in 0..1500 {
            let p = self.posts(prefix);
            if p.len() >= n {
                return p;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.posts(prefix)
    }
}

async fn answer(
    state: &Mutex<Inner>,
    method: Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let token = uri
        .query()
        .and_then(|q| reqwest::Url::parse(&format!("http://x/?{q}")).ok())
        .and_then(|u| {
            u.query_pairs()
                .find(|(k, _)| k == "validationToken")
                .map(|(_, v)| v.into_owned())
        });
    let (validation, status) = {
        let mut st = state.lock().expect("lock");
        st.hits.push(Hit {
            method,
            path: uri.path().to_owned(),
            validation_token: token.clone(),
            content_type: headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            body,
        });
        let status = if token.is_none() {
            st.statuses.pop_front().unwrap_or(202)
        } else {
            200
        };
        (st.validation, status)
    };
    match (token, validation) {
        (Some(t), Validation::Echo) => ([(header::CONTENT_TYPE, "text/plain")], t).into_response(),
        (Some(_), Validation::WrongEcho) => {
            ([(header::CONTENT_TYPE, "text/plain")], "not the token").into_response()
        }
        (Some(_), Validation::Hang) => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            StatusCode::OK.into_response()
        }
        (None, _) => StatusCode::from_u16(status)
            .unwrap_or(StatusCode::ACCEPTED)
            .into_response(),
    }
}
