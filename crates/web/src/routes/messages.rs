//! `/api/v1/messages`: submitting an email for analysis (`POST`, raw
//! `message/rfc822`) and reading the organisation's assessed messages.
//!
//! A submission goes through the ingest pipeline (`sentra_ingest`) that
//! mailbox sync uses too: analysed off the async runtime with the
//! organisation's history, then stored in one tenant transaction — the
//! message (raw MIME encrypted by the repository), its verdict, a case when
//! the risk reaches the organisation's `alert_min_risk`, its alerts, and one
//! `message.submitted` audit event. Either all of it commits or none does.
//!
//! Account numbers are masked (`****1234`) in everything stored and in every
//! response, including the submission's own answer: nothing here needs the
//! full number, and a response is easier to leak than the database.

use crate::routes::{parse_uuid, rfc3339};
use crate::session::{CurrentUser, TenantSession};
use crate::{AppState, WebError};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use sentra_domain::{Category, RiskLevel, Role};
use sentra_ingest::{Incoming, IngestError, Ingestor, Source};
use sentra_store::ids::MessageId;
use sentra_store::repo::assessment::{self, AssessedFilter, AssessedMessage};
use sentra_store::repo::listing::{self, ListedMessage};
use sentra_store::repo::mailbox;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The largest email accepted.
pub const MESSAGE_BODY_LIMIT: usize = 25 * 1024 * 1024;
/// The most messages one list returns.
pub const LIST_LIMIT: u32 = 100;

/// Refuses the request when the caller may only read.
pub(crate) fn require_writer(session: &TenantSession) -> Result<(), WebError> {
    if session.role == Role::Viewer {
        return Err(WebError::forbidden());
    }
    Ok(())
}

fn check_content_type(headers: &HeaderMap) -> Result<(), WebError> {
    let essence = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    if essence.as_deref() == Some("message/rfc822") {
        return Ok(());
    }
    Err(WebError::Client {
        status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
        code: "unsupported_media_type",
        message: "expected Content-Type: message/rfc822".to_owned(),
    })
}

fn body_error(rejection: &BytesRejection) -> WebError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return WebError::Client {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "body_too_large",
            message: "the email is larger than 25 MiB".to_owned(),
        };
    }
    WebError::bad_request("bad_body", "the request body could not be read")
}

/// `POST /api/v1/messages`: analyses and stores one email. Answers 201
/// with the contract's MESSAGE object (`source` is the new message id)
/// plus `id` and `case_id`.
pub async fn submit(
    State(state): State<AppState>,
    current: CurrentUser,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Value>), WebError> {
    // The pipeline holds no transaction while the body uploads or the
    // engine runs: one short read transaction loads what the engine needs,
    // one write transaction stores the message, verdict, case, alerts and
    // the audit event (sentra_ingest). The same email submitted twice is
    // one message (keyed by its SHA-256).
    let session = TenantSession::open(&state, &current).await?;
    require_writer(&session)?;
    let (org, user) = (session.org, session.user);
    session.tx.commit().await?;
    check_content_type(&headers)?;
    let raw = body.map_err(|r| body_error(&r))?;
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(WebError::bad_request("empty_body", "the email is empty"));
    }
    let ingested = ingest_submission(&state, org, user, &raw).await?;
    let message_id = ingested.stored.message_id;
    let case_id = ingested.analysed.case_id;
    let mut report = ingested.report;
    report.source = message_id.to_string();
    let mut out = serde_json::to_value(&report)
        .map_err(|e| WebError::internal(format!("report json: {e}")))?;
    if let Some(map) = out.as_object_mut() {
        map.insert("id".to_owned(), json!(message_id.to_string()));
        map.insert("case_id".to_owned(), json!(case_id.map(|c| c.to_string())));
    }
    Ok((StatusCode::CREATED, Json(out)))
}

/// Runs one submitted email through the ingest pipeline as `user` of
/// `org`, into the organisation's submission mailbox. Shared by the API and
/// the upload page (`pages::submit`), so both store, analyse and audit
/// (`message.submitted`) the same way.
pub(crate) async fn ingest_submission(
    state: &AppState,
    org: sentra_domain::OrgId,
    user: sentra_domain::UserId,
    raw: &[u8],
) -> Result<sentra_ingest::Ingested, WebError> {
    let mut tx = sentra_store::TenantTx::begin(&state.pool, org, Some(user)).await?;
    let mailbox_id = mailbox::submission_mailbox(&mut tx).await?;
    tx.commit().await?;
    let digest: [u8; 32] = Sha256::digest(raw).into();
    let provider_id = format!("api:{}", sentra_ingest::headers::hex(&digest));
    Ingestor::new(state.pool.clone(), state.keys.clone())
        .ingest_raw(
            org,
            Some(user),
            &Incoming {
                mailbox: mailbox_id,
                provider_id: &provider_id,
                raw,
                received_at: None,
            },
            Source::Api,
        )
        .await
        .map_err(|e| match e {
            IngestError::Store(s) => WebError::from(s),
            other => WebError::internal(other.to_string()),
        })
}

/// The list's query string.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// A risk level (`none` … `critical`).
    pub level: Option<String>,
    /// A category.
    pub category: Option<String>,
    /// A supplier name, as in the supplier records.
    pub supplier: Option<String>,
}

fn filter_from(q: ListQuery) -> Result<AssessedFilter, WebError> {
    let level = match q.level.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(
            RiskLevel::parse(s)
                .ok_or_else(|| WebError::bad_request("invalid_filter", "unknown risk level"))?,
        ),
    };
    let category = match q.category.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(
            Category::parse(s)
                .ok_or_else(|| WebError::bad_request("invalid_filter", "unknown category"))?,
        ),
    };
    Ok(AssessedFilter {
        level,
        category,
        supplier: q.supplier.filter(|s| !s.trim().is_empty()),
        ..AssessedFilter::default()
    })
}

fn summary(m: &AssessedMessage) -> Value {
    let v = &m.assessment.verdict;
    json!({
        "id": v.message_id.to_string(),
        "received_at": rfc3339(m.received_at),
        "from": m.from_address,
        "subject": m.subject,
        "category": v.category.as_str(),
        "risk": { "level": v.risk_level.as_str(), "score": v.risk_score },
        "supplier": v.extracted.get("supplier").cloned().unwrap_or(Value::Null),
        "case_id": m.case_id.map(|c| c.to_string()),
    })
}

/// One row of the API list: the contract's summary, serialised straight
/// from the typed row (fields in the order `json!` maps would print them).
#[derive(Debug, Serialize)]
pub struct Summary<'a> {
    /// The message's case.
    case_id: Option<String>,
    /// The verdict's category.
    category: &'static str,
    /// The `From` address.
    from: Option<&'a str>,
    /// The message id.
    id: String,
    /// RFC 3339.
    received_at: String,
    /// Level and score.
    risk: Risk,
    /// The subject line.
    subject: Option<&'a str>,
    /// The recognised supplier, or null.
    supplier: Option<&'a Value>,
}

/// A verdict's level and score.
#[derive(Debug, Serialize)]
struct Risk {
    level: &'static str,
    score: u8,
}

impl<'a> From<&'a ListedMessage> for Summary<'a> {
    fn from(m: &'a ListedMessage) -> Self {
        Self {
            case_id: m.case_id.map(|c| c.to_string()),
            category: m.category.as_str(),
            from: m.from_address.as_deref(),
            id: m.id.to_string(),
            received_at: rfc3339(m.received_at),
            risk: Risk {
                level: m.risk_level.as_str(),
                score: m.risk_score,
            },
            subject: m.subject.as_deref(),
            supplier: m.supplier.as_ref(),
        }
    }
}

/// `GET /api/v1/messages?level=&category=&supplier=`: the newest
/// [`LIST_LIMIT`] assessed messages matching the filters.
pub async fn list(
    mut session: TenantSession,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, WebError> {
    let Query(q) = query.map_err(|_| {
        WebError::bad_request("invalid_filter", "unknown or malformed query parameters")
    })?;
    let filter = filter_from(q)?;
    let rows = listing::page(&mut session.tx, &filter, 0, LIST_LIMIT).await?;
    session.tx.commit().await?;
    let rows: Vec<Summary<'_>> = rows.iter().map(Summary::from).collect();
    Ok(Json(rows).into_response())
}

/// `GET /api/v1/messages/{id}`: one message with its verdict. Another
/// organisation's id is a 404 exactly like a missing or malformed one.
pub async fn get(
    mut session: TenantSession,
    Path(id): Path<String>,
) -> Result<Json<Value>, WebError> {
    let id = MessageId::from_uuid(parse_uuid(&id)?);
    let m = assessment::get_assessed(&mut session.tx, id).await?;
    session.tx.commit().await?;
    let mut out = summary(&m);
    let v = &m.assessment.verdict;
    if let Some(map) = out.as_object_mut() {
        map.insert("signals".to_owned(), v.signals.clone());
        let mut extracted = v.extracted.clone();
        if let Some(e) = extracted.as_object_mut() {
            e.remove("supplier");
        }
        map.insert("extracted".to_owned(), extracted);
        map.insert("engine_version".to_owned(), json!(v.engine_version));
        map.insert(
            "assessed_at".to_owned(),
            json!(rfc3339(m.assessment.created_at)),
        );
    }
    Ok(Json(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_message_rfc822_is_accepted_whatever_its_parameters() {
        let mut h = HeaderMap::new();
        assert!(check_content_type(&h).is_err());
        h.insert(
            CONTENT_TYPE,
            "message/RFC822; charset=utf-8".parse().unwrap(),
        );
        assert!(check_content_type(&h).is_ok());
        h.insert(CONTENT_TYPE, "text/plain".parse().unwrap());
        let err = check_content_type(&h).err().map(|e| e.status());
        assert_eq!(err, Some(StatusCode::UNSUPPORTED_MEDIA_TYPE));
    }

    #[test]
    fn unknown_filters_are_refused() {
        let bad = ListQuery {
            level: Some("severe".to_owned()),
            ..ListQuery::default()
        };
        assert!(filter_from(bad).is_err());
        let bad = ListQuery {
            category: Some("spam".to_owned()),
            ..ListQuery::default()
        };
        assert!(filter_from(bad).is_err());
        let ok = ListQuery {
            level: Some("critical".to_owned()),
            ..ListQuery::default()
        };
        assert_eq!(
            filter_from(ok).ok().and_then(|f| f.level),
            Some(RiskLevel::Critical)
        );
    }
}
