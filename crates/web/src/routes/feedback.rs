//! `POST /api/v1/feedback`: a person's verdict on a message's assessment
//! (`correct`, `false_positive`, `false_negative`, `other`) and an optional
//! comment. Any member but a `viewer`; audited as `feedback.recorded`.

use crate::routes::messages::require_writer;
use crate::routes::parse_uuid;
use crate::session::TenantSession;
use crate::{ApiJson, WebError, actions};
use axum::Json;
use axum::http::StatusCode;
use sentra_store::ids::MessageId;
use sentra_store::repo::feedback::Verdict;
use serde::Deserialize;
use serde_json::{Value, json};

/// The body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedbackIn {
    /// The message.
    pub message_id: String,
    /// The verdict.
    pub verdict: String,
    /// Free text, at most 4,000 characters.
    pub comment: Option<String>,
}

/// `POST /api/v1/feedback`: 201 `{"id": ...}`; another organisation's
/// message is a 404.
pub async fn create(
    mut session: TenantSession,
    ApiJson(body): ApiJson<FeedbackIn>,
) -> Result<(StatusCode, Json<Value>), WebError> {
    require_writer(&session)?;
    let verdict = Verdict::parse(&body.verdict).ok_or_else(|| {
        WebError::bad_request(
            "invalid_body",
            "verdict is correct, false_positive, false_negative or other",
        )
    })?;
    let comment = actions::bounded(body.comment, actions::MAX_NOTE, "comment")?;
    let message = MessageId::from_uuid(parse_uuid(&body.message_id)?);
    let id = actions::record_feedback(&mut session.tx, message, verdict, comment).await?;
    session.tx.commit().await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id.to_string() }))))
}
