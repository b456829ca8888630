//! The one error type of the web layer and its JSON shape:
//! `{"error": {"code": "...", "message": "..."}}` with the matching status.
//!
//! Server-side failures are logged here with their cause and answered with a
//! fixed message, so no database or crypto detail reaches the client.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sentra_store::StoreError;
use serde::de::DeserializeOwned;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// The request is malformed or unacceptable (status and code given).
    #[error("{message}")]
    Client {
        /// The status to answer with (a 4xx).
        status: StatusCode,
        /// A stable machine-readable code.
        code: &'static str,
        /// A human-readable explanation without secrets.
        message: String,
    },
    /// Sign-in failed or there is no valid session. Always the same answer,
    /// whatever the reason.
    #[error("authentication required or failed")]
    Unauthorized,
    /// The cross-origin check refused the request.
    #[error("cross-origin request refused")]
    CrossOrigin,
    /// No such resource (or another organisation's: indistinguishable).
    #[error("not found")]
    NotFound,
    /// The database is unreachable (readiness).
    #[error("service unavailable")]
    Unavailable,
    /// Anything else; the cause is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl WebError {
    /// An internal error whose `cause` is logged but not sent.
    pub fn internal(cause: impl Into<String>) -> Self {
        Self::Internal(cause.into())
    }

    /// A 400 with `code` and `message`.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::Client {
            status: StatusCode::BAD_REQUEST,
            code,
            message: message.into(),
        }
    }

    /// A 403: the caller's role may not do this.
    pub fn forbidden() -> Self {
        Self::Client {
            status: StatusCode::FORBIDDEN,
            code: "forbidden",
            message: "your role may not do this".to_owned(),
        }
    }

    /// The status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Client { status, .. } => *status,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::CrossOrigin => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<StoreError> for WebError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { .. } => Self::NotFound,
            StoreError::InvalidTransition { from, to, .. } => Self::Client {
                status: StatusCode::CONFLICT,
                code: "invalid_transition",
                message: format!("cannot go from {from} to {to}"),
            },
            StoreError::Conflict { .. } => Self::Client {
                status: StatusCode::CONFLICT,
                code: "conflict",
                message: "this conflicts with an existing record".to_owned(),
            },
            StoreError::Rejected { .. } => {
                Self::bad_request("rejected", "a value is out of range or too long")
            }
            other => Self::Internal(error_chain(&other)),
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let status = self.status();
        let (code, message) = match &self {
            Self::Client { code, message, .. } => (*code, message.clone()),
            Self::Unauthorized => (
                "unauthorized",
                "authentication required or failed".to_owned(),
            ),
            Self::CrossOrigin => ("cross_origin", "cross-origin request refused".to_owned()),
            Self::NotFound => ("not_found", "not found".to_owned()),
            Self::Unavailable => ("unavailable", "service unavailable".to_owned()),
            Self::Internal(cause) => {
                tracing::error!(%cause, "request failed");
                ("internal", "internal error".to_owned())
            }
        };
        let body = serde_json::json!({ "error": { "code": code, "message": message } });
        (status, Json(body)).into_response()
    }
}

/// `axum::Json` whose rejections (wrong content type, malformed JSON,
/// wrong fields, body over the limit) answer in the [`WebError`] shape.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = WebError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(from_json_rejection(&rejection)),
        }
    }
}

fn from_json_rejection(rejection: &JsonRejection) -> WebError {
    let status = rejection.status();
    let (code, message) = match rejection {
        JsonRejection::MissingJsonContentType(_) => (
            "unsupported_media_type",
            "expected Content-Type: application/json",
        ),
        JsonRejection::JsonSyntaxError(_) => ("malformed_json", "the body is not valid JSON"),
        JsonRejection::JsonDataError(_) => {
            ("invalid_body", "the JSON does not have the expected fields")
        }
        _ if status == StatusCode::PAYLOAD_TOO_LARGE => {
            ("body_too_large", "the request body is too large")
        }
        _ => ("bad_body", "the request body could not be read"),
    };
    WebError::Client {
        status,
        code,
        message: message.to_owned(),
    }
}
