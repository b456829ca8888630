//! `POST /api/v1/suppliers/import?format=sentra|xero|quickbooks|sage[&preview=true]`:
//! a supplier CSV as the body (`Content-Type: text/csv`, optionally with a
//! `charset`), at most [`IMPORT_BODY_LIMIT`] bytes.
//!
//! All or nothing: if any row is invalid the answer is 422 `invalid_rows`
//! with every row's errors (`row`, `column`, `message`) and nothing is
//! written. A valid file is applied in one transaction with one
//! `supplier.import` audit event. Suppliers are matched by name: a known
//! one gains the file's new domains; phones and bank accounts, for new and
//! known suppliers alike, land as pending changes that another approver
//! must approve. `preview=true` runs exactly the same writes and rolls them
//! back, answering 200 with per-supplier results (or the row errors).

use crate::routes::messages::require_writer;
use crate::session::{CurrentUser, TenantSession};
use crate::suppliers::csv::{self, Format, Parsed};
use crate::suppliers::{self, Applied, Described};
use crate::{AppState, WebError};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use sentra_store::audit::{self, NewEvent};
use serde::Deserialize;
use serde_json::{Value, json};

/// The largest CSV accepted (Sage Accounting's own import limit is 0.5 MB).
pub const IMPORT_BODY_LIMIT: usize = 1024 * 1024;

/// The query string.
#[derive(Debug, Deserialize)]
pub struct ImportQuery {
    /// `sentra`, `xero`, `quickbooks` or `sage`.
    pub format: Option<String>,
    /// `true` to only report what would happen.
    pub preview: Option<String>,
}

/// The charset of a `text/csv` body, or a 415 for any other type.
fn csv_charset(headers: &HeaderMap) -> Result<Option<String>, WebError> {
    let value = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
    if !matches!(essence.as_str(), "text/csv" | "application/csv") {
        return Err(WebError::Client {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code: "unsupported_media_type",
            message: "expected Content-Type: text/csv".to_owned(),
        });
    }
    Ok(parts.find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches('"').to_owned())
    }))
}

fn body_error(rejection: &BytesRejection) -> WebError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return WebError::Client {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "body_too_large",
            message: format!("the file is larger than {} KiB", IMPORT_BODY_LIMIT / 1024),
        };
    }
    WebError::bad_request("bad_body", "the request body could not be read")
}

fn parse_preview(v: Option<&str>) -> Result<bool, WebError> {
    match v.map(str::to_ascii_lowercase).as_deref() {
        None | Some("" | "false" | "0" | "no") => Ok(false),
        Some("true" | "1" | "yes") => Ok(true),
        Some(_) => Err(WebError::bad_request(
            "invalid_query",
            "preview is true or false",
        )),
    }
}

/// The described suppliers of a parsed file, with provenance on phones.
fn described(format: Format, parsed: &Parsed) -> Vec<Described> {
    parsed
        .candidates
        .iter()
        .map(|c| Described {
            name: c.name.clone(),
            domains: c.domains.clone(),
            country: c.country.clone(),
            phone: c.phone.clone(),
            phone_source: c
                .phone
                .as_ref()
                .map(|_| format!("imported from a {}", format.label())),
            accounts: c.accounts.clone(),
        })
        .collect()
}

fn invalid_rows(parsed: &Parsed, preview: bool) -> Response {
    let status = if preview {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let message = format!(
        "{} row error(s); nothing was imported. Fix them and upload the file again.",
        parsed.error_count
    );
    let body = if preview {
        json!({
            "preview": true,
            "valid": false,
            "rows_read": parsed.rows,
            "error_count": parsed.error_count,
            "errors": parsed.errors,
            "message": message,
        })
    } else {
        json!({ "error": {
            "code": "invalid_rows",
            "message": message,
            "error_count": parsed.error_count,
            "rows": parsed.errors,
        }})
    };
    (status, Json(body)).into_response()
}

/// Records a completed import as one `supplier.import` event: counts and
/// the suppliers' ids, no phone numbers or accounts. Shared with the pages.
pub async fn record(
    tx: &mut sentra_store::TenantTx,
    format: Format,
    parsed: &Parsed,
    results: &[Applied],
) -> Result<(), WebError> {
    let count = |action: &str| results.iter().filter(|r| r.action == action).count();
    let details = json!({
        "format": format.as_str(),
        "rows": parsed.rows,
        "suppliers": results.len(),
        "created": count("create"),
        "updated": count("update"),
        "unchanged": count("unchanged"),
        "pending_changes": results.iter().map(|r| r.pending_changes.len()).sum::<usize>(),
        "supplier_ids": results.iter().map(|r| r.supplier_id.as_str()).collect::<Vec<_>>(),
    });
    audit::append(
        tx,
        NewEvent::new("user", "supplier.import").details(details),
    )
    .await?;
    Ok(())
}

/// The handler (see the module doc).
pub async fn import(
    State(state): State<AppState>,
    current: CurrentUser,
    Query(query): Query<ImportQuery>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, WebError> {
    let format = match query.format.as_deref() {
        None | Some("") => {
            return Err(WebError::bad_request(
                "missing_format",
                "say which export this is: format=sentra, xero, quickbooks or sage",
            ));
        }
        Some(f) => Format::parse(f).ok_or_else(|| {
            WebError::bad_request(
                "unknown_format",
                "format is sentra, xero, quickbooks or sage",
            )
        })?,
    };
    let preview = parse_preview(query.preview.as_deref())?;
    let charset = csv_charset(&headers)?;
    let raw = body.map_err(|r| body_error(&r))?;
    let text = csv::decode(&raw, charset.as_deref())
        .map_err(|m| WebError::bad_request("bad_encoding", m))?;
    let parsed = csv::parse(format, &text).map_err(|e| match e {
        csv::FileError::TooManyRows => WebError::Client {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "too_many_rows",
            message: e.to_string(),
        },
        other => WebError::bad_request("invalid_csv", other.to_string()),
    })?;
    // Role first among the writes' refusals, before saying anything about rows.
    let mut session = TenantSession::open(&state, &current).await?;
    require_writer(&session)?;
    if parsed.error_count > 0 {
        return Ok(invalid_rows(&parsed, preview));
    }
    let mut results: Vec<(Vec<usize>, String, Applied)> = Vec::new();
    for (c, d) in parsed.candidates.iter().zip(described(format, &parsed)) {
        let applied =
            suppliers::apply(&mut session.tx, &state.keys, session.user, &d, true).await?;
        results.push((c.rows.clone(), c.name.clone(), applied));
    }
    let count = |action: &str| results.iter().filter(|r| r.2.action == action).count();
    let pending: usize = results.iter().map(|r| r.2.pending_changes.len()).sum();
    let summary = json!({
        "format": format.as_str(),
        "rows": parsed.rows,
        "suppliers": results.len(),
        "created": count("create"),
        "updated": count("update"),
        "unchanged": count("unchanged"),
        "pending_changes": pending,
    });
    let rows: Vec<Value> = results
        .iter()
        .zip(&parsed.candidates)
        .map(|((rows, name, a), c)| {
            let mut warnings = c.warnings.clone();
            warnings.extend(a.warnings.iter().cloned());
            json!({
                "rows": rows,
                "name": name,
                "action": a.action,
                // A preview's ids are rolled back with everything else.
                "supplier_id": (!preview).then(|| a.supplier_id.clone()),
                "domains": c.domains,
                "country": c.country,
                "pending_changes": a.pending_changes.iter().map(|p| {
                    json!({ "kind": p["kind"], "summary": p["summary"] })
                }).collect::<Vec<_>>(),
                "already_on_file": a.already_on_file,
                "warnings": warnings,
            })
        })
        .collect();
    if preview {
        session.tx.rollback().await?;
        return Ok(Json(json!({
            "preview": true,
            "valid": true,
            "summary": summary,
            "suppliers": rows,
        }))
        .into_response());
    }
    let applied: Vec<Applied> = results.iter().map(|r| r.2.clone()).collect();
    record(&mut session.tx, format, &parsed, &applied).await?;
    session.tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "preview": false, "summary": summary, "suppliers": rows })),
    )
        .into_response())
}
