//! Cases: the list (`GET /cases`), and one case (`GET /cases/{id}`) with
//! the verification workflow: the verified number and where it came from,
//! the form to record the call, releasing or holding the invoice, and
//! resolving the case. The forms post to `/cases/{id}/verifications`,
//! `/cases/{id}/resolve` and `/invoices/{id}/payment`, running the same
//! audited actions as the API.

use super::messages::{InvoiceView, SupplierView, recommendation, supplier_record, words};
use super::{Chrome, PageError, PageForm, PageSession, query_string, render, see_other, when};
use crate::routes::invoices::{RELEASE_ROLES, payment_target};
use crate::routes::parse_uuid;
use crate::{AppState, WebError, actions};
use askama::Template;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query};
use axum::response::Response;
use axum::routing::{get, post};
use sentra_domain::Role;
use sentra_store::ids::CaseId;
use sentra_store::repo::case::{self, CaseStatus};
use sentra_store::repo::verification::{self, NewVerification, Outcome};
use sentra_store::repo::{assessment, invoice, worklist};
use serde::Deserialize;

/// Rows per page.
pub const PAGE_SIZE: u32 = 25;

/// Routes of this area.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/cases", get(list))
        .route("/cases/{id}", get(detail))
        .route("/cases/{id}/verifications", post(verify))
        .route("/cases/{id}/resolve", post(resolve))
        .route("/invoices/{id}/payment", post(payment))
}

/// The list's query.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    /// `open` (open and verifying, the default), `all`, or one status.
    pub status: Option<String>,
    /// Page, from 1.
    pub page: Option<u32>,
}

/// A case row as shown.
pub struct Row {
    /// Id.
    pub id: String,
    /// Opened.
    pub opened: String,
    /// Risk.
    pub level: &'static str,
    /// Status in words.
    pub status: String,
    /// Subject.
    pub subject: String,
    /// Sender.
    pub from: String,
    /// Supplier.
    pub supplier: String,
}

/// The list page.
#[derive(Template)]
#[template(path = "cases/list.html")]
pub struct ListPage {
    /// Layout.
    pub chrome: Chrome,
    /// The status filter.
    pub status: String,
    /// Filter options: value, label.
    pub statuses: Vec<(&'static str, String)>,
    /// Rows.
    pub rows: Vec<Row>,
    /// Previous page.
    pub prev: Option<String>,
    /// Next page.
    pub next: Option<String>,
}

/// `GET /cases`.
pub async fn list(
    mut page: PageSession,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, PageError> {
    let Query(q) = q.map_err(|_| WebError::bad_request("invalid_filter", "malformed filters"))?;
    let status_text = q.status.clone().unwrap_or_else(|| "open".to_owned());
    let (status, open_only) =
        match status_text.as_str() {
            "open" => (None, true),
            "all" => (None, false),
            s => (
                Some(CaseStatus::parse(s).ok_or_else(|| {
                    WebError::bad_request("invalid_filter", "unknown case status")
                })?),
                false,
            ),
        };
    let page_no = q.page.unwrap_or(1).clamp(1, 10_000);
    let mut rows = worklist::cases(
        &mut page.tx,
        status,
        open_only,
        (page_no - 1) * PAGE_SIZE,
        PAGE_SIZE + 1,
    )
    .await?;
    let more = rows.len() > PAGE_SIZE as usize;
    rows.truncate(PAGE_SIZE as usize);
    let chrome = page.finish("/cases").await?;
    let link = |n: u32| {
        let n = n.to_string();
        format!(
            "/cases{}",
            query_string(&[("status", Some(status_text.as_str())), ("page", Some(&n))])
        )
    };
    let mut statuses = vec![
        ("open", "Open and verifying".to_owned()),
        ("all", "All".to_owned()),
    ];
    statuses.extend(
        CaseStatus::ALL
            .iter()
            .map(|s| (s.as_str(), words(s.as_str()))),
    );
    render(&ListPage {
        chrome,
        status: status_text.clone(),
        statuses,
        rows: rows
            .into_iter()
            .map(|r| Row {
                id: r.id.to_string(),
                opened: when(r.created_at),
                level: r.risk_level.as_str(),
                status: words(r.status.as_str()),
                subject: r.subject.unwrap_or_else(|| "(no subject)".to_owned()),
                from: r.from_address.unwrap_or_default(),
                supplier: r.supplier.unwrap_or_default(),
            })
            .collect(),
        prev: (page_no > 1).then(|| link(page_no - 1)),
        next: more.then(|| link(page_no + 1)),
    })
}

/// A recorded call as shown.
pub struct CallView {
    /// When.
    pub at: String,
    /// Who.
    pub by: String,
    /// Number dialled.
    pub number: String,
    /// Outcome in words.
    pub outcome: String,
    /// Notes.
    pub notes: String,
}

/// The case page.
#[derive(Template)]
#[allow(clippy::struct_excessive_bools)] // independent template switches, not a state
#[template(path = "cases/detail.html")]
pub struct DetailPage {
    /// Layout.
    pub chrome: Chrome,
    /// Case id.
    pub id: String,
    /// Message id.
    pub message_id: String,
    /// Subject.
    pub subject: String,
    /// Sender.
    pub from: String,
    /// Risk.
    pub level: &'static str,
    /// Status in words.
    pub status: String,
    /// Whether closed.
    pub closed: bool,
    /// Opened.
    pub opened: String,
    /// What to do.
    pub action: String,
    /// The supplier record.
    pub supplier: Option<SupplierView>,
    /// Calls so far.
    pub calls: Vec<CallView>,
    /// Invoices in the message.
    pub invoices: Vec<InvoiceView>,
    /// Outcomes: value, label.
    pub outcomes: Vec<(&'static str, &'static str)>,
    /// Whether the viewer may act.
    pub can_write: bool,
    /// Whether the viewer may release payments.
    pub can_release: bool,
    /// Whether a verification exists (clearing needs one).
    pub has_call: bool,
}

/// `GET /cases/{id}`.
pub async fn detail(mut page: PageSession, Path(id): Path<String>) -> Result<Response, PageError> {
    let id = CaseId::from_uuid(parse_uuid(&id)?);
    let c = case::get(&mut page.tx, id).await?;
    let calls = verification::list_for_case(&mut page.tx, id).await?;
    let m = assessment::get_assessed(&mut page.tx, c.message_id).await?;
    let supplier = supplier_record(&mut page.tx, &m.assessment.verdict.extracted).await?;
    let invoices = invoice::list_for_message(&mut page.tx, c.message_id).await?;
    let people: Vec<uuid::Uuid> = calls.iter().map(|v| v.performed_by.as_uuid()).collect();
    let emails = worklist::user_emails(&mut page.tx, &people).await?;
    let can_write = page.role != Role::Viewer;
    let can_release = RELEASE_ROLES.contains(&page.role);
    let chrome = page.finish("/cases").await?;
    let email_of = |u: uuid::Uuid| {
        emails
            .iter()
            .find(|(id, _)| *id == u)
            .map_or_else(|| "a former member".to_owned(), |(_, e)| e.clone())
    };
    render(&DetailPage {
        chrome,
        id: id.to_string(),
        message_id: c.message_id.to_string(),
        subject: m
            .subject
            .clone()
            .unwrap_or_else(|| "(no subject)".to_owned()),
        from: m.from_address.clone().unwrap_or_default(),
        level: c.risk_level.as_str(),
        status: words(c.status.as_str()),
        closed: c.status.is_closed(),
        opened: when(c.created_at),
        action: recommendation(c.risk_level, supplier.as_ref()),
        supplier,
        has_call: !calls.is_empty(),
        calls: calls
            .into_iter()
            .map(|v| CallView {
                at: when(v.performed_at),
                by: email_of(v.performed_by.as_uuid()),
                number: v.number_called.unwrap_or_default(),
                outcome: words(v.outcome.as_str()),
                notes: v.notes.unwrap_or_default(),
            })
            .collect(),
        invoices: invoices.into_iter().map(InvoiceView::from).collect(),
        outcomes: vec![
            ("confirmed_genuine", "They confirmed the request is genuine"),
            ("confirmed_fraud", "They know nothing of it: fraud"),
            ("no_answer", "No answer"),
            ("inconclusive", "Inconclusive"),
        ],
        can_write,
        can_release,
    })
}

/// The call form.
#[derive(Debug, Deserialize)]
pub struct CallForm {
    /// Number dialled.
    pub phone_called: Option<String>,
    /// Outcome.
    pub outcome: String,
    /// Notes.
    pub note: Option<String>,
}

/// `POST /cases/{id}/verifications`.
pub async fn verify(
    mut page: PageSession,
    Path(id): Path<String>,
    PageForm(form): PageForm<CallForm>,
) -> Result<Response, PageError> {
    page.require(&[Role::Owner, Role::Admin, Role::Approver, Role::Clerk])?;
    let id = CaseId::from_uuid(parse_uuid(&id)?);
    let outcome = Outcome::parse(&form.outcome)
        .ok_or_else(|| WebError::bad_request("invalid_body", "choose what the call found"))?;
    let new = NewVerification {
        number_called: actions::bounded(form.phone_called, actions::MAX_PHONE, "number")?,
        outcome,
        notes: actions::bounded(form.note, actions::MAX_NOTE, "notes")?,
    };
    actions::record_verification(&mut page.tx, id, &new).await?;
    page.tx.commit().await?;
    Ok(see_other(&format!("/cases/{id}")))
}

/// The resolve form.
#[derive(Debug, Deserialize)]
pub struct ResolveForm {
    /// `cleared`, `confirmed_fraud`, `dismissed`.
    pub resolution: String,
    /// Why.
    pub note: Option<String>,
}

/// `POST /cases/{id}/resolve`.
pub async fn resolve(
    mut page: PageSession,
    Path(id): Path<String>,
    PageForm(form): PageForm<ResolveForm>,
) -> Result<Response, PageError> {
    page.require(&[Role::Owner, Role::Admin, Role::Approver, Role::Clerk])?;
    let id = CaseId::from_uuid(parse_uuid(&id)?);
    let to = CaseStatus::parse(&form.resolution)
        .filter(|s| s.is_closed())
        .ok_or_else(|| WebError::bad_request("invalid_body", "choose how the case ends"))?;
    let note = actions::bounded(form.note, actions::MAX_NOTE, "note")?;
    actions::resolve_case(&mut page.tx, id, to, note).await?;
    page.tx.commit().await?;
    Ok(see_other(&format!("/cases/{id}")))
}

/// The payment form.
#[derive(Debug, Deserialize)]
pub struct PaymentForm {
    /// `verified`, `held`, `pending`.
    pub status: String,
    /// Why.
    pub note: Option<String>,
    /// The case to return to.
    pub case_id: Option<String>,
}

/// `POST /invoices/{id}/payment`.
pub async fn payment(
    mut page: PageSession,
    Path(id): Path<String>,
    PageForm(form): PageForm<PaymentForm>,
) -> Result<Response, PageError> {
    let to = payment_target(page.role, &form.status)?;
    let id = parse_uuid(&id)?;
    let note = actions::bounded(form.note, actions::MAX_NOTE, "note")?;
    actions::set_payment(&mut page.tx, id, to, note).await?;
    page.tx.commit().await?;
    let back = form
        .case_id
        .as_deref()
        .and_then(|c| uuid::Uuid::parse_str(c).ok())
        .map_or_else(|| "/cases".to_owned(), |c| format!("/cases/{c}"));
    Ok(see_other(&back))
}
