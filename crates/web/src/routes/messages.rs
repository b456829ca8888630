//! `/api/v1/messages`: submitting an email for analysis (`POST`, raw
//! `message/rfc822`) and reading the organisation's assessed messages.
//!
//! A submission is analysed off the async runtime, then stored in one
//! tenant transaction: the message (raw MIME encrypted by the repository),
//! its verdict, a case when the risk is medium or more, and one
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
use sentra_domain::{Category, RiskLevel, Role, SupplierId};
use sentra_engine::report::ExtractedOut;
use sentra_engine::{
    Context, History, MessageReport, NoPdfExtractor, SupplierDirectory, assess, message_report,
    prepare,
};
use sentra_store::audit::{self, NewEvent};
use sentra_store::ids::MessageId;
use sentra_store::repo::assessment::{self, AssessedFilter, AssessedMessage, NewAssessment};
use sentra_store::repo::message::{self, NewMessage};
use sentra_store::repo::supplier::SupplierStatus;
use sentra_store::repo::{bank_account, case, mailbox, organisation, supplier};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use time::OffsetDateTime;

/// The largest email accepted.
pub const MESSAGE_BODY_LIMIT: usize = 25 * 1024 * 1024;
/// The most messages one list returns.
pub const LIST_LIMIT: u32 = 100;
/// The lowest risk that opens a case.
pub const CASE_MIN_RISK: RiskLevel = RiskLevel::Medium;

/// Free-mail domains never taken as the organisation's own: a member signed
/// up with a personal address says nothing about the company's domain.
const FREE_MAIL: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "hotmail.co.uk",
    "live.com",
    "yahoo.com",
    "yahoo.co.uk",
    "icloud.com",
    "me.com",
    "aol.com",
    "proton.me",
    "protonmail.com",
];

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

/// `****` and the last four characters: enough to recognise an account,
/// not enough to pay into it.
pub(crate) fn mask(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    let tail: String = chars
        .get(chars.len().saturating_sub(4)..)
        .unwrap_or_default()
        .iter()
        .collect();
    if chars.len() <= 4 {
        return "****".to_owned();
    }
    format!("****{tail}")
}

fn mask_extracted(extracted: &mut ExtractedOut) {
    for account in &mut extracted.bank_accounts {
        account.account_number = account.account_number.as_deref().map(mask);
        account.iban = account.iban.as_deref().map(mask);
    }
}

/// At most `max` characters of `s`, `None` when empty: the message table's
/// length checks must never turn an odd header into a failed submission.
fn clip(s: Option<&str>, max: usize) -> Option<String> {
    let s = s?.trim();
    (!s.is_empty()).then(|| s.chars().take(max).collect())
}

/// The engine's view of the organisation: active suppliers with their
/// verified accounts, and the members' (non-free-mail) email domains.
async fn load_context_inputs(
    session: &mut TenantSession,
    state: &AppState,
) -> Result<(Vec<sentra_engine::Supplier>, Vec<String>), WebError> {
    let mut accounts: HashMap<SupplierId, Vec<_>> = HashMap::new();
    for (supplier, account) in bank_account::reveal_active(&mut session.tx, &state.keys).await? {
        accounts.entry(supplier).or_default().push(account);
    }
    let suppliers = supplier::list(&mut session.tx)
        .await?
        .into_iter()
        .filter(|s| s.fields.status == SupplierStatus::Active)
        .map(|s| sentra_engine::Supplier {
            accounts: accounts.remove(&s.id).unwrap_or_default(),
            name: s.fields.name,
            domains: s.fields.domains,
            phone: s.verified_phone,
            country: s.fields.country,
            ..sentra_engine::Supplier::default()
        })
        .collect();
    let domains = org_domains(organisation::member_email_domains(&mut session.tx).await?);
    Ok((suppliers, domains))
}

/// The organisation's own domains from its members' address domains:
/// free-mail domains and blanks dropped.
fn org_domains(member_domains: Vec<String>) -> Vec<String> {
    member_domains
        .into_iter()
        .filter(|d| !d.is_empty() && !FREE_MAIL.contains(&d.as_str()))
        .collect()
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
    // No transaction is held while the body uploads or the engine runs: one
    // short read transaction loads what the engine needs, another writes
    // the results. A slow client or a large email cannot pin a pool
    // connection.
    let mut session = TenantSession::open(&state, &current).await?;
    require_writer(&session)?;
    check_content_type(&headers)?;
    let raw = body.map_err(|r| body_error(&r))?;
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(WebError::bad_request("empty_body", "the email is empty"));
    }
    let (suppliers, org_domains) = load_context_inputs(&mut session, &state).await?;
    session.tx.commit().await?;
    let raw_for_engine = raw.clone();
    // Parsing and scoring are CPU-bound; keep them off the request threads.
    // History is empty for now: "first time seen" signals fire on every
    // submission until the store keeps per-organisation history.
    let mut report: MessageReport = tokio::task::spawn_blocking(move || {
        let ctx = Context::new(
            SupplierDirectory::new(suppliers),
            &org_domains,
            Vec::new(),
            None,
        );
        let prepared = prepare(&raw_for_engine, &ctx, &NoPdfExtractor);
        let assessment = assess(&prepared, &ctx, &History::new());
        message_report("", &prepared, &assessment, &ctx)
    })
    .await
    .map_err(|e| WebError::internal(format!("engine task: {e}")))?;
    mask_extracted(&mut report.extracted);

    let mut session = TenantSession::open(&state, &current).await?;
    let tx = &mut session.tx;
    let mailbox_id = mailbox::submission_mailbox(tx).await?;
    let from_address = clip(report.from.as_ref().and_then(|f| f.address.as_deref()), 320);
    let from_domain = from_address
        .as_deref()
        .and_then(|a| a.rsplit_once('@'))
        .and_then(|(_, d)| clip(Some(d), 255));
    let message_id = message::insert(
        tx,
        &state.keys,
        &NewMessage {
            mailbox_id,
            provider_message_id: format!("api:{}", uuid::Uuid::new_v4()),
            internet_message_id: clip(report.message_id.as_deref(), 998),
            received_at: OffsetDateTime::now_utc(),
            from_address,
            from_domain,
            subject: clip(Some(&report.subject), 2000),
            raw_mime: Some(raw.to_vec()),
        },
    )
    .await?
    .id();
    let mut extracted = serde_json::to_value(&report.extracted)
        .map_err(|e| WebError::internal(format!("extracted json: {e}")))?;
    if let Some(map) = extracted.as_object_mut() {
        map.insert("supplier".to_owned(), json!(report.supplier));
    }
    let signals = serde_json::to_value(&report.signals)
        .map_err(|e| WebError::internal(format!("signals json: {e}")))?;
    let level = report.risk.level;
    let assessment_id = assessment::insert(
        tx,
        &NewAssessment {
            message_id,
            engine_version: sentra_engine::ENGINE_VERSION.to_owned(),
            category: report.category,
            risk_level: level,
            risk_score: report.risk.score.min(100),
            signals,
            extracted,
        },
    )
    .await?;
    let case_id = if level >= CASE_MIN_RISK {
        Some(
            case::open_for_message(tx, message_id, Some(assessment_id), level)
                .await?
                .id,
        )
    } else {
        None
    };
    audit::append(
        tx,
        NewEvent::new("user", "message.submitted")
            .target("message", message_id.to_string())
            .details(json!({
                "category": report.category.as_str(),
                "risk_level": level.as_str(),
                "risk_score": report.risk.score,
                "case_id": case_id.map(|c| c.to_string()),
                "size_bytes": raw.len(),
            })),
    )
    .await?;
    session.tx.commit().await?;

    report.source = message_id.to_string();
    let mut out = serde_json::to_value(&report)
        .map_err(|e| WebError::internal(format!("report json: {e}")))?;
    if let Some(map) = out.as_object_mut() {
        map.insert("id".to_owned(), json!(message_id.to_string()));
        map.insert("case_id".to_owned(), json!(case_id.map(|c| c.to_string())));
    }
    Ok((StatusCode::CREATED, Json(out)))
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

/// `GET /api/v1/messages?level=&category=&supplier=`: the newest
/// [`LIST_LIMIT`] assessed messages matching the filters.
pub async fn list(
    mut session: TenantSession,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Vec<Value>>, WebError> {
    let Query(q) = query.map_err(|_| {
        WebError::bad_request("invalid_filter", "unknown or malformed query parameters")
    })?;
    let filter = filter_from(q)?;
    let rows = assessment::list_assessed(&mut session.tx, &filter, LIST_LIMIT).await?;
    session.tx.commit().await?;
    Ok(Json(rows.iter().map(summary).collect()))
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
    fn masking_keeps_only_the_last_four_characters() {
        assert_eq!(mask("55779911"), "****9911");
        assert_eq!(mask("GB33BUKB20201555555555"), "****5555");
        assert_eq!(mask("1234"), "****");
        assert_eq!(mask(""), "****");
    }

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
    fn clipping_respects_character_boundaries_and_drops_blanks() {
        assert_eq!(clip(Some("ééé"), 2).as_deref(), Some("éé"));
        assert_eq!(clip(Some("   "), 5), None);
        assert_eq!(clip(None, 5), None);
    }

    #[test]
    fn free_mail_domains_are_never_the_organisations_own() {
        let got = org_domains(vec![
            "hartleybuild.co.uk".to_owned(),
            "gmail.com".to_owned(),
            String::new(),
            "outlook.com".to_owned(),
        ]);
        assert_eq!(got, ["hartleybuild.co.uk"]);
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
