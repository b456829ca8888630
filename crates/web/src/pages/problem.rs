//! Form problems shown as an error summary at the top of a page: a
//! heading, then each problem as a link to the field to fix (so keyboard
//! and screen reader users land on it), announced with `role="alert"`.
//! Templates include `problems.html`, which reads a `problems` field.

use crate::WebError;
use axum::http::StatusCode;

/// One problem with what was sent.
#[derive(Debug, Clone)]
pub struct Problem {
    /// The `id` of the field to fix (empty when no one field is at fault).
    pub field: &'static str,
    /// What is wrong, in plain words.
    pub message: String,
}

impl Problem {
    /// A problem with `field`.
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }

    /// The status and problem a refused request (`WebError::Client`, or a
    /// wrong credential) is shown with, the fault put on `field`; any other
    /// error is handed back to become an error page.
    pub fn from_web(e: WebError, field: &'static str) -> Result<(StatusCode, Self), WebError> {
        match e {
            WebError::Client {
                status,
                code: "step_up_required",
                ..
            } => Ok((
                status,
                Self::new(
                    "",
                    "This needs a fresh check that it is you: confirm it (link below the heading), then try again.",
                ),
            )),
            WebError::Client {
                status, message, ..
            } => Ok((status, Self::new(field, sentence(&message)))),
            WebError::Unauthorized => Ok((
                StatusCode::UNAUTHORIZED,
                Self::new(field, "That password is not right."),
            )),
            other => Err(other),
        }
    }
}

/// `message` with a capital first letter and a full stop, as pages write.
fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    let mut out: String = chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_messages_read_as_sentences_and_step_up_is_explained() {
        let (status, p) = Problem::from_web(
            WebError::bad_request("invalid_email", "that is not an email address"),
            "email",
        )
        .unwrap_or_else(|_| (StatusCode::OK, Problem::new("", "")));
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(p.message, "That is not an email address.");
        assert_eq!(p.field, "email");
        let step_up = crate::session::require_step_up(None).err();
        let (_, p) = step_up
            .map(|e| Problem::from_web(e, "role"))
            .and_then(Result::ok)
            .unwrap_or((StatusCode::OK, Problem::new("x", "")));
        assert_eq!(p.field, "");
        assert!(Problem::from_web(WebError::NotFound, "x").is_err());
    }
}
