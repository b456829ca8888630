//! The audit log page (`GET /audit`): filters, newest first with paging,
//! the chain's status, and the CSV export link. Same roles as the API
//! ([`crate::routes::audit::AUDIT_ROLES`]).

use super::{Chrome, PageError, PageSession, query_string, render, when};
use crate::AppState;
use crate::routes::audit::{AUDIT_ROLES, AuditQuery, page_of};
use askama::Template;
use axum::Router;
use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use axum::response::Response;
use axum::routing::get;
use sentra_store::audit;

/// Routes of this area.
pub fn routes() -> Router<AppState> {
    Router::new().route("/audit", get(audit_page))
}

/// One row as shown.
pub struct Row {
    /// Position in the chain.
    pub seq: i64,
    /// When.
    pub at: String,
    /// Who (email when a person, else the actor text).
    pub who: String,
    /// What.
    pub action: String,
    /// On what (`case 1a2b…`).
    pub target: String,
    /// Details as compact JSON.
    pub details: String,
}

/// The page.
#[derive(Template)]
#[template(path = "audit.html")]
pub struct AuditPage {
    /// Layout.
    pub chrome: Chrome,
    /// The rows.
    pub rows: Vec<Row>,
    /// Filter values as typed.
    pub action: String,
    /// Filter: actor.
    pub actor: String,
    /// Filter: from.
    pub from: String,
    /// Filter: to.
    pub to: String,
    /// Known actions for the filter list.
    pub actions: Vec<String>,
    /// The next page's link, if any.
    pub older: Option<String>,
    /// Whether the chain is intact.
    pub chain_ok: bool,
    /// The chain status in words.
    pub chain_text: String,
    /// The export link with the same filters.
    pub export_href: String,
}

/// `GET /audit`.
pub async fn audit_page(
    mut page: PageSession,
    q: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Response, PageError> {
    page.require(AUDIT_ROLES)?;
    let Query(q) = q.map_err(|_| {
        crate::WebError::bad_request("invalid_filter", "unknown or malformed filters")
    })?;
    let (events, next) = page_of(&mut page.tx, &q).await?;
    let actions = audit::actions(&mut page.tx).await?;
    let report = audit::verify_tenant(&mut page.tx).await?;
    let chrome = page.finish("/audit").await?;
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    let filters = [
        ("action", q.action.as_deref()),
        ("actor", q.actor.as_deref()),
        ("from", q.from.as_deref()),
        ("to", q.to.as_deref()),
    ];
    let older = next.map(|before| {
        let mut pairs = filters.to_vec();
        let before = before.to_string();
        pairs.push(("before", Some(before.as_str())));
        format!("/audit{}", query_string(&pairs))
    });
    let chain_text = match (&report.problem, report.head) {
        (Some(p), _) => format!("Broken: {p}. Checked {} events.", report.checked),
        (None, Some((seq, _))) => {
            format!("Intact: {} events checked, up to #{seq}.", report.checked)
        }
        (None, None) => "No events yet.".to_owned(),
    };
    let rows = events
        .into_iter()
        .map(|e| {
            let ev = e.event;
            Row {
                seq: ev.seq,
                at: when(ev.at),
                who: e.actor_email.unwrap_or(ev.actor),
                action: ev.action,
                target: match (ev.target_type, ev.target_id) {
                    (Some(t), Some(id)) => {
                        format!("{t} {}", id.chars().take(8).collect::<String>())
                    }
                    (Some(t), None) => t,
                    _ => String::new(),
                },
                details: ev.details.0.to_string(),
            }
        })
        .collect();
    render(&AuditPage {
        chrome,
        rows,
        action: s(&q.action),
        actor: s(&q.actor),
        from: s(&q.from),
        to: s(&q.to),
        actions,
        older,
        chain_ok: report.is_ok(),
        chain_text,
        export_href: format!("/api/v1/audit/export.csv{}", query_string(&filters)),
    })
}
