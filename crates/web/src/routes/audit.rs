//! `/api/v1/audit`: the organisation's audit log, filtered and paged
//! newest first; the chain check; the CSV export.
//!
//! Roles: `owner` and `admin` only. The log names every member's actions
//! (sign-ins included), which is an administrator's business, and the
//! approvers and clerks whose actions it records should not be the ones who
//! review it. The export also needs a step-up (TOTP within 5 minutes) and
//! is itself audited (`audit.export`).

use crate::WebError;
use crate::routes::{parse_when, rfc3339};
use crate::session::{TenantSession, require_step_up};
use axum::Json;
use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use sentra_domain::Role;
use sentra_store::TenantTx;
use sentra_store::audit::{self, AuditFilter, Cursor, ListedEvent, NewEvent, VerifyReport};
use serde::Deserialize;
use serde_json::{Value, json};

/// Default page size.
pub const PAGE: u32 = 50;
/// Largest page.
pub const MAX_PAGE: u32 = 500;
/// Most rows one export writes (the rest: narrow the dates).
pub const EXPORT_MAX_ROWS: usize = 100_000;

/// The roles that may read the audit log.
pub const AUDIT_ROLES: &[Role] = &[Role::Owner, Role::Admin];

/// The query string of the list and the export.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// An action or action prefix (`case` matches `case.resolve`).
    pub action: Option<String>,
    /// `user`, `system:worker`, or a member's email address.
    pub actor: Option<String>,
    /// From (RFC 3339 or `YYYY-MM-DD`).
    pub from: Option<String>,
    /// To, exclusive (a date includes that whole day).
    pub to: Option<String>,
    /// Events with `seq` below this (the previous page's `next_before`).
    pub before: Option<i64>,
    /// Page size (1–500).
    pub limit: Option<u32>,
}

impl AuditQuery {
    /// The store filter; bad dates or values are 400s.
    pub fn filter(&self) -> Result<AuditFilter, WebError> {
        let text = |s: &Option<String>, max: usize| -> Result<Option<String>, WebError> {
            match s.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                None => Ok(None),
                Some(s) if s.chars().count() <= max => Ok(Some(s.to_owned())),
                Some(_) => Err(WebError::bad_request(
                    "invalid_filter",
                    "filter value too long",
                )),
            }
        };
        Ok(AuditFilter {
            action: text(&self.action, 100)?,
            actor: text(&self.actor, 320)?,
            from: parse_when(self.from.as_deref(), false)?,
            to: parse_when(self.to.as_deref(), true)?,
        })
    }

    /// The page's cursor and size.
    pub fn page(&self) -> Result<(Cursor, u32), WebError> {
        let limit = self.limit.unwrap_or(PAGE);
        if limit == 0 || limit > MAX_PAGE {
            return Err(WebError::bad_request("invalid_filter", "limit is 1 to 500"));
        }
        Ok((Cursor::Before(self.before.unwrap_or(i64::MAX)), limit))
    }
}

/// Refuses roles other than [`AUDIT_ROLES`].
pub(crate) fn require_auditor(role: Role) -> Result<(), WebError> {
    if AUDIT_ROLES.contains(&role) {
        Ok(())
    } else {
        Err(WebError::forbidden())
    }
}

/// One event as the API shows it.
pub fn event_json(e: &ListedEvent) -> Value {
    let ev = &e.event;
    json!({
        "seq": ev.seq,
        "id": ev.id.to_string(),
        "at": rfc3339(ev.at),
        "actor": ev.actor,
        "actor_user_id": ev.actor_user_id.map(|u| u.to_string()),
        "actor_email": e.actor_email,
        "action": ev.action,
        "target_type": ev.target_type,
        "target_id": ev.target_id,
        "details": ev.details.0,
    })
}

/// One page of events and the cursor of the next, in the caller's org.
pub async fn page_of(
    tx: &mut TenantTx,
    q: &AuditQuery,
) -> Result<(Vec<ListedEvent>, Option<i64>), WebError> {
    let filter = q.filter()?;
    let (cursor, limit) = q.page()?;
    let rows = audit::search(tx, &filter, cursor, limit).await?;
    let next = (rows.len() == limit as usize)
        .then(|| rows.last().map(|r| r.event.seq))
        .flatten();
    Ok((rows, next))
}

fn query_of(q: Result<Query<AuditQuery>, QueryRejection>) -> Result<AuditQuery, WebError> {
    q.map(|Query(q)| q).map_err(|_| {
        WebError::bad_request("invalid_filter", "unknown or malformed query parameters")
    })
}

/// `GET /api/v1/audit`: `{"events": [...], "next_before": seq | null}`.
pub async fn list(
    mut session: TenantSession,
    q: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Json<Value>, WebError> {
    require_auditor(session.role)?;
    let q = query_of(q)?;
    let (rows, next) = page_of(&mut session.tx, &q).await?;
    session.tx.commit().await?;
    Ok(Json(json!({
        "events": rows.iter().map(event_json).collect::<Vec<_>>(),
        "next_before": next,
    })))
}

/// The chain check as the API and the page show it.
pub fn report_json(r: &VerifyReport) -> Value {
    json!({
        "ok": r.is_ok(),
        "checked": r.checked,
        "head_seq": r.head.map(|(seq, _)| seq),
        "problem": r.problem.map(|p| json!({ "seq": p.seq, "description": p.to_string() })),
    })
}

/// `GET /api/v1/audit/verify`: walks the organisation's chain.
pub async fn verify(mut session: TenantSession) -> Result<Json<Value>, WebError> {
    require_auditor(session.role)?;
    let report = audit::verify_tenant(&mut session.tx).await?;
    session.tx.commit().await?;
    Ok(Json(report_json(&report)))
}

/// One CSV field: quoted when needed, and a leading `= + - @` (or tab/CR)
/// defused with `'` so a spreadsheet never runs it as a formula.
pub(crate) fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// `GET /api/v1/audit/export.csv`: the filtered log, oldest first, as CSV.
/// Needs a step-up; the export is audited in the same transaction.
pub async fn export(
    mut session: TenantSession,
    q: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Response, WebError> {
    require_auditor(session.role)?;
    require_step_up(session.mfa_at)?;
    let q = query_of(q)?;
    let filter = q.filter()?;
    let mut out =
        String::from("seq,at,actor,actor_email,action,target_type,target_id,details,hash\n");
    let mut after = 0;
    let mut rows = 0usize;
    loop {
        let batch = audit::search(&mut session.tx, &filter, Cursor::After(after), 1000).await?;
        let Some(last) = batch.last() else { break };
        after = last.event.seq;
        for e in &batch {
            let ev = &e.event;
            let fields = [
                ev.seq.to_string(),
                rfc3339(ev.at),
                ev.actor.clone(),
                e.actor_email.clone().unwrap_or_default(),
                ev.action.clone(),
                ev.target_type.clone().unwrap_or_default(),
                ev.target_id.clone().unwrap_or_default(),
                ev.details.0.to_string(),
                crate::session::hex(&ev.hash),
            ];
            let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
            out.push_str(&line.join(","));
            out.push('\n');
            rows += 1;
        }
        if rows >= EXPORT_MAX_ROWS {
            break;
        }
    }
    audit::append(
        &mut session.tx,
        NewEvent::new("user", "audit.export").details(json!({
            "rows": rows,
            "action": filter.action,
            "actor": filter.actor,
            "from": filter.from.map(rfc3339),
            "to": filter.to.map(rfc3339),
        })),
    )
    .await?;
    session.tx.commit().await?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"sentra-audit.csv\""),
            ),
        ],
        out,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(csv_field("-1,2"), "\"'-1,2\"");
    }
}
