//! Supplier import by file upload (`POST /suppliers/import/file`,
//! `multipart/form-data`): the same preview, per-row errors and
//! confirmation as pasting the text (`super::suppliers::run_import`).
//! The file must be a CSV (by name or type), UTF-8 text, and at most
//! [`IMPORT_BODY_LIMIT`] bytes; anything else is shown as a clear problem
//! on the import page and nothing is read further or written.

use super::suppliers::{ImportForm, ImportPage, WRITERS, run_import};
use super::{PageError, PageSession, render_status};
use crate::AppState;
use crate::routes::supplier_import::IMPORT_BODY_LIMIT;
use axum::extract::multipart::{Field, MultipartError};
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;

/// Routes of this area.
pub fn routes() -> axum::Router<AppState> {
    axum::Router::new().route(
        "/suppliers/import/file",
        // The file plus the form's other field and multipart framing.
        post(upload).layer(DefaultBodyLimit::max(IMPORT_BODY_LIMIT + 16 * 1024)),
    )
}

/// Content types browsers and spreadsheet programs give CSV files.
const CSV_TYPES: &[&str] = &[
    "text/csv",
    "text/plain",
    "application/csv",
    "application/vnd.ms-excel",
];

/// Why an upload was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No file chosen.
    NoFile,
    /// Not a CSV by name or type.
    NotCsv,
    /// Not UTF-8 text.
    NotText,
    /// Over the size limit.
    TooLarge,
    /// The request could not be read as a form upload.
    Malformed,
}

impl Refusal {
    fn status(&self) -> StatusCode {
        match self {
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::NotCsv => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    fn message(&self) -> String {
        match self {
            Self::NoFile => "Choose the CSV file to upload.".to_owned(),
            Self::NotCsv => "That file is not a CSV file. Export the suppliers as CSV (a .csv file) and upload that.".to_owned(),
            Self::NotText => "That file is not readable text (UTF-8). Export it again as CSV UTF-8, or paste its contents instead.".to_owned(),
            Self::TooLarge => format!(
                "That file is larger than {} KiB. Split it into smaller files.",
                IMPORT_BODY_LIMIT / 1024
            ),
            Self::Malformed => "The upload could not be read; please choose the file again.".to_owned(),
        }
    }
}

/// Whether a file named `name` with content type `ctype` is a CSV.
pub fn looks_like_csv(name: &str, ctype: Option<&str>) -> bool {
    match std::path::Path::new(name).extension() {
        Some(ext) => ext.eq_ignore_ascii_case("csv") || ext.eq_ignore_ascii_case("txt"),
        None => ctype.is_some_and(|t| {
            let t = t
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            CSV_TYPES.contains(&t.as_str())
        }),
    }
}

fn read_error(e: &MultipartError) -> Refusal {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Refusal::TooLarge
    } else {
        Refusal::Malformed
    }
}

/// Reads the file field in chunks, stopping as soon as it is over the limit.
async fn read_file(mut field: Field<'_>) -> Result<String, Refusal> {
    let name = field.file_name().unwrap_or("").to_owned();
    if name.is_empty() {
        return Err(Refusal::NoFile);
    }
    if !looks_like_csv(&name, field.content_type()) {
        return Err(Refusal::NotCsv);
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|e| read_error(&e))? {
        if bytes.len() + chunk.len() > IMPORT_BODY_LIMIT {
            return Err(Refusal::TooLarge);
        }
        bytes.extend_from_slice(&chunk);
    }
    if bytes.is_empty() {
        return Err(Refusal::NoFile);
    }
    match String::from_utf8(bytes) {
        Ok(text) if !text.contains('\0') => Ok(text),
        _ => Err(Refusal::NotText),
    }
}

/// Reads `format` and `file` from the upload.
async fn read_form(multipart: &mut Multipart) -> Result<ImportForm, Refusal> {
    let mut format = String::new();
    let mut csv = None;
    while let Some(field) = multipart.next_field().await.map_err(|e| read_error(&e))? {
        match field.name() {
            Some("format") => {
                let text = field.text().await.map_err(|e| read_error(&e))?;
                format = text.chars().take(32).collect();
            }
            Some("file") => csv = Some(read_file(field).await?),
            _ => {}
        }
    }
    Ok(ImportForm {
        format,
        csv: csv.ok_or(Refusal::NoFile)?,
        confirm: String::new(),
    })
}

/// `POST /suppliers/import/file`: previews the uploaded file (nothing is
/// written until the preview's confirmation, which posts the text).
pub async fn upload(
    State(state): State<AppState>,
    page: PageSession,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, PageError> {
    page.require(WRITERS)?;
    let read = match multipart {
        Ok(mut m) => read_form(&mut m).await,
        Err(_) => Err(Refusal::Malformed),
    };
    match read {
        Ok(form) => run_import(&state, page, form).await,
        Err(refusal) => {
            let mut out = ImportPage::empty(page.chrome("/suppliers"));
            out.problem = refusal.message();
            page.tx.rollback().await?;
            render_status(refusal.status(), &out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_is_recognised_by_name_or_by_type_without_another_extension() {
        assert!(looks_like_csv("suppliers.CSV", None));
        assert!(looks_like_csv("export.txt", Some("text/plain")));
        assert!(looks_like_csv("export", Some("text/csv; charset=utf-8")));
        assert!(!looks_like_csv(
            "suppliers.xlsx",
            Some("application/vnd.ms-excel")
        ));
        assert!(!looks_like_csv("photo.png", Some("image/png")));
        assert!(!looks_like_csv("export", Some("application/pdf")));
    }
}
