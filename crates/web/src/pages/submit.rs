//! Submitting an email by hand (`GET/POST /messages/submit`): a person who
//! was sent something suspicious uploads the `.eml` file their mail program
//! saves, and it goes down the same ingest path as `POST /api/v1/messages`
//! (stored, analysed, a case when the risk is high enough, one
//! `message.submitted` audit event), then on to the message's page.
//!
//! The upload is `multipart/form-data` because that is what a file input
//! sends. Before anything is written the file must look like an email: a
//! header block of `Name: value` lines that names a sender. A photo, a PDF
//! or a Word file uploaded by mistake gets the form back with a plain
//! explanation and writes nothing.

use super::{Chrome, PageError, PageSession, render_status, see_other};
use crate::AppState;
use crate::routes::messages::{MESSAGE_BODY_LIMIT, ingest_submission};
use askama::Template;
use axum::Router;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use sentra_domain::Role;

/// The form field that carries the file.
pub const FILE_FIELD: &str = "eml";
/// Room for the multipart framing around a largest-allowed email.
const FRAMING: usize = 64 * 1024;
/// How far into the file the header block must end.
const MAX_HEADER_BYTES: usize = 256 * 1024;

/// Routes of this area.
pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/messages/submit",
        get(form)
            .post(upload)
            .layer(DefaultBodyLimit::max(MESSAGE_BODY_LIMIT + FRAMING)),
    )
}

/// The upload page.
#[derive(Template)]
#[template(path = "messages/submit.html")]
pub struct SubmitPage {
    /// Layout.
    pub chrome: Chrome,
    /// The failure to show, if any.
    pub error: Option<String>,
    /// The size limit, in words.
    pub limit: &'static str,
}

/// Who may submit: everyone but viewers (as the API).
const WRITERS: &[Role] = &[Role::Owner, Role::Admin, Role::Approver, Role::Clerk];

/// `GET /messages/submit`.
pub async fn form(page: PageSession) -> Result<Response, PageError> {
    page.require(WRITERS)?;
    let chrome = page.finish("/messages").await?;
    show(chrome, StatusCode::OK, None)
}

/// `POST /messages/submit`: stores and analyses the file, then 303 to the
/// message; a refused file is the form again with the reason (400, 413 or
/// 415) and nothing written.
pub async fn upload(
    State(state): State<AppState>,
    page: PageSession,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, PageError> {
    page.require(WRITERS)?;
    let (org, user) = (page.org, page.user);
    // No transaction stays open while the file uploads or the engine runs.
    let chrome = page.finish("/messages").await?;
    let raw = match read_file(multipart).await {
        Ok(raw) => raw,
        Err((status, message)) => return show(chrome, status, Some(message)),
    };
    if let Err(problem) = looks_like_email(&raw) {
        return show(
            chrome,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Some(problem.to_owned()),
        );
    }
    let ingested = ingest_submission(&state, org, user, &raw).await?;
    Ok(see_other(&format!(
        "/messages/{}",
        ingested.stored.message_id
    )))
}

fn show(chrome: Chrome, status: StatusCode, error: Option<String>) -> Result<Response, PageError> {
    render_status(
        status,
        &SubmitPage {
            chrome,
            error,
            limit: "25 MB",
        },
    )
}

fn too_large() -> (StatusCode, String) {
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        "That file is larger than 25 MB, too large to be an email Sentra can check.".to_owned(),
    )
}

/// The bytes of the one file field, or the status and message to show.
async fn read_file(
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Vec<u8>, (StatusCode, String)> {
    let unreadable = || {
        (
            StatusCode::BAD_REQUEST,
            "The upload could not be read; choose the file again and resubmit.".to_owned(),
        )
    };
    let mut multipart = multipart.map_err(|_| unreadable())?;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large()),
            Err(_) => return Err(unreadable()),
        };
        if field.name() != Some(FILE_FIELD) {
            continue;
        }
        let bytes = match field.bytes().await {
            Ok(b) => b,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large()),
            Err(_) => return Err(unreadable()),
        };
        if bytes.len() > MESSAGE_BODY_LIMIT {
            return Err(too_large());
        }
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err((
                StatusCode::BAD_REQUEST,
                "That file is empty. Save the email again from your mail program and choose that file."
                    .to_owned(),
            ));
        }
        return Ok(bytes.to_vec());
    }
    Err((
        StatusCode::BAD_REQUEST,
        "No file was chosen. Choose the email's .eml file first.".to_owned(),
    ))
}

/// Whether `raw` starts like an Internet message (RFC 5322): a block of
/// header fields — `Name: value` lines and their folded continuations —
/// ended by a blank line (or the end of the file), including a `From:`.
/// The engine would analyse anything; this only catches the wrong file
/// chosen, with a message a person can act on.
pub fn looks_like_email(raw: &[u8]) -> Result<(), &'static str> {
    const NOT_EMAIL: &str = "That file is not an email. In your mail program, save or export the message as an .eml file (\"Save as\", or drag it to the desktop) and choose that file.";
    let head = raw.get(..raw.len().min(MAX_HEADER_BYTES)).unwrap_or(raw);
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let mut fields = 0usize;
    let mut has_from = false;
    let mut ended = false;
    for line in head.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            ended = true;
            break;
        }
        if line.starts_with(b" ") || line.starts_with(b"\t") {
            if fields == 0 {
                return Err(NOT_EMAIL);
            }
            continue;
        }
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            return Err(NOT_EMAIL);
        };
        let name = line.get(..colon).unwrap_or_default();
        if name.is_empty() || !name.iter().all(|b| b.is_ascii_graphic() && *b != b':') {
            return Err(NOT_EMAIL);
        }
        has_from |= name.eq_ignore_ascii_case(b"from");
        fields += 1;
    }
    if !ended && raw.len() > MAX_HEADER_BYTES {
        return Err(NOT_EMAIL);
    }
    if !has_from {
        return Err(NOT_EMAIL);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_email_with_crlf_or_lf_headers_is_accepted() {
        let crlf = b"From: a@b.example\r\nSubject: hi\r\n folded\r\n\r\nbody";
        assert!(looks_like_email(crlf).is_ok());
        let lf = b"\xEF\xBB\xBFReceived: x\nFrom: a@b.example\n\nbody";
        assert!(looks_like_email(lf).is_ok());
        assert!(looks_like_email(b"From: a@b.example\r\n").is_ok());
    }

    #[test]
    fn files_that_are_not_emails_are_refused() {
        assert!(looks_like_email(b"%PDF-1.7\n%\xE2\xE3\n1 0 obj").is_err());
        assert!(looks_like_email(b"\x89PNG\r\n\x1a\n").is_err());
        assert!(looks_like_email(b"Just some notes\nabout an invoice\n").is_err());
        assert!(looks_like_email(b"Subject: no sender\r\n\r\nbody").is_err());
        assert!(looks_like_email(b" From: folded first\r\n\r\n").is_err());
        assert!(looks_like_email(b"Bad Name: x\r\nFrom: a@b\r\n\r\n").is_err());
    }
}
