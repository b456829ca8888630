//! Messages: the filterable list (`GET /messages`, the table alone for
//! htmx), one message (`GET /messages/{id}`: the evidence marked in the
//! text, the extracted details beside the verified supplier record, the
//! recommended action), and feedback on its verdict
//! (`POST /messages/{id}/feedback`).

use super::evidence::{MAX_SHOWN, Segment, highlight, mask_accounts};
use super::{Chrome, PageError, PageForm, PageSession, query_string, render, see_other, when};
use crate::routes::{parse_uuid, parse_when};
use crate::{AppState, WebError, actions};
use askama::Template;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use sentra_domain::{Category, RiskLevel, Role};
use sentra_store::ids::MessageId;
use sentra_store::repo::assessment::{self, AssessedFilter, AssessedMessage};
use sentra_store::repo::feedback::Verdict;
use sentra_store::repo::listing::{self, ListedMessage};
use sentra_store::repo::{bank_account, invoice, message, provenance, supplier};
use serde::Deserialize;
use serde_json::Value;

/// Rows per page.
pub const PAGE_SIZE: u32 = 25;

/// Routes of this area.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/messages", get(list))
        .route("/messages/{id}", get(detail))
        .route("/messages/{id}/feedback", post(feedback))
}

/// The list's query string (unknown parameters are ignored: htmx adds its own).
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    /// Risk level.
    pub level: Option<String>,
    /// Category.
    pub category: Option<String>,
    /// Supplier name.
    pub supplier: Option<String>,
    /// Received from (`YYYY-MM-DD`).
    pub from: Option<String>,
    /// Received to, inclusive (`YYYY-MM-DD`).
    pub to: Option<String>,
    /// Page, from 1.
    pub page: Option<u32>,
}

/// One row of the list.
pub struct Row {
    /// Message id.
    pub id: String,
    /// When received.
    pub received: String,
    /// Sender.
    pub from: String,
    /// Subject.
    pub subject: String,
    /// Risk level.
    pub level: &'static str,
    /// Score.
    pub score: u8,
    /// Category, in words.
    pub category: String,
    /// Matched supplier.
    pub supplier: String,
    /// The case, if one is open.
    pub case_id: Option<String>,
}

/// The results table (also the htmx partial).
pub struct Table {
    /// Rows.
    pub rows: Vec<Row>,
    /// Link to the previous page.
    pub prev: Option<String>,
    /// Link to the next page.
    pub next: Option<String>,
    /// Page number.
    pub page: u32,
}

/// The list page.
#[derive(Template)]
#[template(path = "messages/list.html")]
pub struct ListPage {
    /// Layout.
    pub chrome: Chrome,
    /// Filter values as typed.
    pub q: ListValues,
    /// Levels for the filter.
    pub levels: Vec<&'static str>,
    /// Categories for the filter.
    pub categories: Vec<&'static str>,
    /// Results.
    pub table: Table,
}

/// The table alone, for htmx.
#[derive(Template)]
#[template(path = "messages/table.html")]
pub struct TablePartial {
    /// Results.
    pub table: Table,
}

/// The filters as the form shows them.
#[derive(Debug, Default)]
pub struct ListValues {
    /// Level.
    pub level: String,
    /// Category.
    pub category: String,
    /// Supplier.
    pub supplier: String,
    /// From.
    pub from: String,
    /// To.
    pub to: String,
}

/// `invoice` → `Invoice`, `bank_details_change` → `Bank details change`.
pub fn words(code: &str) -> String {
    let text = code.replace('_', " ");
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |c| {
        c.to_uppercase().chain(chars).collect::<String>()
    })
}

fn opt_parse<T>(
    s: Option<&str>,
    parse: fn(&str) -> Option<T>,
    what: &str,
) -> Result<Option<T>, WebError> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => parse(s)
            .map(Some)
            .ok_or_else(|| WebError::bad_request("invalid_filter", format!("unknown {what}"))),
    }
}

fn supplier_name(extracted: &Value) -> Option<String> {
    extracted
        .pointer("/supplier/name")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn row(m: &AssessedMessage) -> Row {
    let v = &m.assessment.verdict;
    Row {
        id: v.message_id.to_string(),
        received: when(m.received_at),
        from: m.from_address.clone().unwrap_or_default(),
        subject: m
            .subject
            .clone()
            .unwrap_or_else(|| "(no subject)".to_owned()),
        level: v.risk_level.as_str(),
        score: v.risk_score,
        category: words(v.category.as_str()),
        supplier: supplier_name(&v.extracted).unwrap_or_default(),
        case_id: m.case_id.map(|c| c.to_string()),
    }
}

fn listed_row(m: ListedMessage) -> Row {
    Row {
        id: m.id.to_string(),
        received: when(m.received_at),
        supplier: m.supplier_name().unwrap_or_default().to_owned(),
        from: m.from_address.unwrap_or_default(),
        subject: m.subject.unwrap_or_else(|| "(no subject)".to_owned()),
        level: m.risk_level.as_str(),
        score: m.risk_score,
        category: words(m.category.as_str()),
        case_id: m.case_id.map(|c| c.to_string()),
    }
}

/// `GET /messages`.
pub async fn list(
    mut page: PageSession,
    headers: HeaderMap,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, PageError> {
    let Query(q) = q.map_err(|_| WebError::bad_request("invalid_filter", "malformed filters"))?;
    let filter = AssessedFilter {
        level: opt_parse(q.level.as_deref(), RiskLevel::parse, "risk level")?,
        category: opt_parse(q.category.as_deref(), Category::parse, "category")?,
        supplier: q.supplier.clone().filter(|s| !s.trim().is_empty()),
        received_from: parse_when(q.from.as_deref(), false)?,
        received_to: parse_when(q.to.as_deref(), true)?,
        ..AssessedFilter::default()
    };
    let page_no = q.page.unwrap_or(1).clamp(1, 10_000);
    // One extra row tells whether there is a next page.
    let mut rows = listing::page(
        &mut page.tx,
        &filter,
        (page_no - 1) * PAGE_SIZE,
        PAGE_SIZE + 1,
    )
    .await?;
    let more = rows.len() > PAGE_SIZE as usize;
    rows.truncate(PAGE_SIZE as usize);
    let chrome = page.finish("/messages").await?;
    let link = |n: u32| {
        let n = n.to_string();
        format!(
            "/messages{}",
            query_string(&[
                ("level", q.level.as_deref()),
                ("category", q.category.as_deref()),
                ("supplier", q.supplier.as_deref()),
                ("from", q.from.as_deref()),
                ("to", q.to.as_deref()),
                ("page", Some(n.as_str())),
            ])
        )
    };
    let table = Table {
        rows: rows.into_iter().map(listed_row).collect(),
        prev: (page_no > 1).then(|| link(page_no - 1)),
        next: more.then(|| link(page_no + 1)),
        page: page_no,
    };
    // htmx swaps only the table (but a history restore wants the page).
    if headers.contains_key("hx-request") && !headers.contains_key("hx-history-restore-request") {
        return render(&TablePartial { table });
    }
    let v = |s: &Option<String>| s.clone().unwrap_or_default();
    render(&ListPage {
        chrome,
        q: ListValues {
            level: v(&q.level),
            category: v(&q.category),
            supplier: v(&q.supplier),
            from: v(&q.from),
            to: v(&q.to),
        },
        levels: RiskLevel::ALL.iter().rev().map(|l| l.as_str()).collect(),
        categories: Category::ALL.iter().map(|c| c.as_str()).collect(),
        table,
    })
}

/// A signal as shown.
pub struct SignalView {
    /// In words.
    pub title: String,
    /// Severity.
    pub severity: String,
    /// One line.
    pub summary: String,
    /// Facts (account numbers masked).
    pub evidence: Vec<String>,
}

/// An account extracted from the email, compared with the record.
pub struct AccountView {
    /// Scheme.
    pub scheme: String,
    /// Masked number or IBAN, with sort code / BSB / routing where given.
    pub masked: String,
    /// Whether the last four match an account on file (`None`: no record).
    pub on_file: Option<bool>,
}

/// The verified supplier record as shown.
pub struct SupplierView {
    /// Id (for the supplier page).
    pub id: String,
    /// Name.
    pub name: String,
    /// Domains.
    pub domains: String,
    /// The call-back number.
    pub phone: Option<String>,
    /// Where it came from.
    pub phone_source: Option<String>,
    /// Who verified it, when.
    pub phone_verified: Option<String>,
    /// Accounts on file: masked, status.
    pub accounts: Vec<(String, &'static str)>,
}

impl From<invoice::Invoice> for InvoiceView {
    fn from(i: invoice::Invoice) -> Self {
        Self {
            id: i.id.to_string(),
            number: i.number.unwrap_or_default(),
            amount: match (i.amount_minor, i.currency) {
                (Some(a), Some(c)) => format!("{c} {}.{:02}", a / 100, a % 100),
                _ => String::new(),
            },
            due: i.due_date.map(|d| d.to_string()).unwrap_or_default(),
            status: i.status.as_str(),
        }
    }
}

/// An invoice in this message.
pub struct InvoiceView {
    /// Id.
    pub id: String,
    /// Number.
    pub number: String,
    /// Amount.
    pub amount: String,
    /// Due.
    pub due: String,
    /// Payment status.
    pub status: &'static str,
}

/// The message page.
#[derive(Template)]
#[template(path = "messages/detail.html")]
pub struct DetailPage {
    /// Layout.
    pub chrome: Chrome,
    /// The id.
    pub id: String,
    /// Header facts.
    pub row: Row,
    /// The action to take, in plain words.
    pub action: String,
    /// Signals.
    pub signals: Vec<SignalView>,
    /// The text with evidence marked (`None`: not kept).
    pub body: Option<Vec<Segment>>,
    /// Whether the body was cut.
    pub body_cut: bool,
    /// Extracted: matched supplier and how.
    pub matched: String,
    /// Extracted accounts.
    pub accounts: Vec<AccountView>,
    /// Extracted invoice numbers.
    pub invoice_numbers: Vec<String>,
    /// Extracted amounts.
    pub amounts: Vec<String>,
    /// Extracted due dates.
    pub due_dates: Vec<String>,
    /// The supplier record.
    pub supplier: Option<SupplierView>,
    /// Invoices from this message.
    pub invoices: Vec<InvoiceView>,
    /// Whether the viewer may send feedback.
    pub can_write: bool,
    /// Feedback verdicts.
    pub verdicts: Vec<(&'static str, &'static str)>,
    /// Whether feedback was just recorded.
    pub thanked: bool,
}

/// The detail page's query.
#[derive(Debug, Default, Deserialize)]
pub struct DetailQuery {
    /// `thanks` after feedback.
    pub feedback: Option<String>,
}

/// What to do, in plain words, from the verdict and what is on file.
pub fn recommendation(level: RiskLevel, supplier: Option<&SupplierView>) -> String {
    let call = match supplier.and_then(|s| s.phone.as_deref().map(|p| (s.name.as_str(), p))) {
        Some((name, phone)) => format!(
            "call {name} on {phone}, the number on file — never a number or link in the email"
        ),
        None => "call the supplier on a number you already hold (a contract, an old invoice) — never a number or link in the email".to_owned(),
    };
    match level {
        RiskLevel::Critical | RiskLevel::High => format!(
            "Do not pay yet. Before any money leaves, {call}, and confirm the bank details with them. Record the call on the case."
        ),
        RiskLevel::Medium => format!(
            "Check before paying: {call} if the bank details or the request are new to you, and record what they said on the case."
        ),
        RiskLevel::Low | RiskLevel::None => {
            "Nothing unusual stands out. Pay as normal, following your usual checks.".to_owned()
        }
    }
}

/// Evidence lines' quoted parts and the part after a colon, for marking.
fn needles_of(evidence: &str) -> Vec<String> {
    let mut out = vec![evidence.to_owned()];
    for part in evidence.split(['"', '“', '”', '\'']).skip(1).step_by(2) {
        out.push(part.to_owned());
    }
    if let Some((_, tail)) = evidence.rsplit_once(": ") {
        out.push(tail.to_owned());
    }
    out
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn last4(s: &str) -> String {
    let alnum: Vec<char> = s.chars().filter(char::is_ascii_alphanumeric).collect();
    alnum[alnum.len().saturating_sub(4)..].iter().collect()
}

/// The verified record of the supplier the engine recognised in
/// `extracted`, with the call-back number's provenance and the accounts on
/// file (masked).
pub async fn supplier_record(
    tx: &mut sentra_store::TenantTx,
    extracted: &Value,
) -> Result<Option<SupplierView>, WebError> {
    let Some(name) = supplier_name(extracted) else {
        return Ok(None);
    };
    let Some(s) = supplier::list(tx)
        .await?
        .into_iter()
        .find(|s| s.fields.name.eq_ignore_ascii_case(&name))
    else {
        return Ok(None);
    };
    let prov = provenance::phone(tx, s.id).await?;
    let accounts = bank_account::list_for_supplier(tx, s.id).await?;
    Ok(Some(SupplierView {
        id: s.id.to_string(),
        name: s.fields.name,
        domains: s.fields.domains.join(", "),
        phone: prov.phone,
        phone_source: prov.source,
        phone_verified: match (prov.verified_by, prov.verified_at) {
            (Some(by), Some(at)) => Some(format!("{by}, {}", when(at))),
            (None, Some(at)) => Some(when(at)),
            _ => None,
        },
        accounts: accounts
            .into_iter()
            .map(|a| (a.masked, a.status.as_str()))
            .collect(),
    }))
}

/// `GET /messages/{id}`.
pub async fn detail(
    State(state): State<AppState>,
    mut page: PageSession,
    Path(id): Path<String>,
    q: Result<Query<DetailQuery>, QueryRejection>,
) -> Result<Response, PageError> {
    let id = MessageId::from_uuid(parse_uuid(&id)?);
    let m = assessment::get_assessed(&mut page.tx, id).await?;
    let raw = message::raw_mime(&mut page.tx, &state.keys, id).await?;
    let v = &m.assessment.verdict;
    let supplier_view = supplier_record(&mut page.tx, &v.extracted).await?;
    let invoices = invoice::list_for_message(&mut page.tx, id).await?;
    let can_write = page.role != Role::Viewer;
    let chrome = page.finish("/messages").await?;

    let signals: Vec<SignalView> = v
        .signals
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| SignalView {
                    title: words(s.get("code").and_then(Value::as_str).unwrap_or("signal")),
                    severity: s
                        .get("severity")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned(),
                    summary: mask_accounts(s.get("summary").and_then(Value::as_str).unwrap_or("")),
                    evidence: strings(s, "evidence")
                        .iter()
                        .map(|e| mask_accounts(e))
                        .collect(),
                })
                .collect()
        })
        .unwrap_or_default();
    let accounts: Vec<AccountView> = v
        .extracted
        .get("bank_accounts")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|acc| {
                    let get = |k: &str| acc.get(k).and_then(Value::as_str).unwrap_or("");
                    let number = if get("iban").is_empty() {
                        get("account_number")
                    } else {
                        get("iban")
                    };
                    let number = mask_accounts(number);
                    let prefix = [get("sort_code"), get("bsb"), get("routing_number")]
                        .into_iter()
                        .find(|p| !p.is_empty())
                        .unwrap_or("");
                    let tail = last4(&number);
                    AccountView {
                        scheme: get("scheme").to_uppercase(),
                        masked: format!("{prefix} {number}").trim().to_owned(),
                        on_file: supplier_view.as_ref().map(|s| {
                            s.accounts
                                .iter()
                                .any(|(m, status)| *status == "active" && last4(m) == tail)
                        }),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let invoice_numbers = strings(&v.extracted, "invoice_numbers");
    let amounts: Vec<String> = v
        .extracted
        .get("amounts")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|x| {
                    format!(
                        "{} {}",
                        x.get("currency").and_then(Value::as_str).unwrap_or(""),
                        x.get("value").and_then(Value::as_str).unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default();

    let mut needles: Vec<String> = invoice_numbers.clone();
    needles.extend(
        accounts
            .iter()
            .map(|a| last4(&a.masked))
            .map(|t| format!("****{t}")),
    );
    for s in &signals {
        for e in &s.evidence {
            needles.extend(needles_of(e));
        }
    }
    let (body, body_cut) = match raw {
        Some(raw) => {
            let text = tokio::task::spawn_blocking(move || {
                sentra_engine::message::parse(&raw, &sentra_engine::NoPdfExtractor)
                    .map(|p| p.body_text)
                    .unwrap_or_default()
            })
            .await
            .map_err(|e| WebError::internal(format!("parse task: {e}")))?;
            let cut = text.chars().count() > MAX_SHOWN;
            let text: String = text.chars().take(MAX_SHOWN).collect();
            (Some(highlight(&mask_accounts(&text), &needles)), cut)
        }
        None => (None, false),
    };
    let matched = v
        .extracted
        .get("supplier")
        .filter(|s| !s.is_null())
        .map_or_else(
            || "No supplier recognised".to_owned(),
            |s| {
                format!(
                    "{} (recognised by {})",
                    s.get("name").and_then(Value::as_str).unwrap_or(""),
                    words(s.get("match").and_then(Value::as_str).unwrap_or("unknown"))
                        .to_lowercase()
                )
            },
        );
    let action = recommendation(v.risk_level, supplier_view.as_ref());
    render(&DetailPage {
        chrome,
        id: id.to_string(),
        row: row(&m),
        action,
        signals,
        body,
        body_cut,
        matched,
        accounts,
        invoice_numbers,
        amounts,
        due_dates: strings(&v.extracted, "due_dates"),
        supplier: supplier_view,
        invoices: invoices.into_iter().map(InvoiceView::from).collect(),
        can_write,
        verdicts: vec![
            ("correct", "The verdict was right"),
            ("false_positive", "False alarm: this email is fine"),
            ("false_negative", "Missed: this should have been flagged"),
            ("other", "Something else"),
        ],
        thanked: q.is_ok_and(|Query(q)| q.feedback.as_deref() == Some("thanks")),
    })
}

/// The feedback form.
#[derive(Debug, Deserialize)]
pub struct FeedbackForm {
    /// `correct`, `false_positive`, `false_negative`, `other`.
    pub verdict: String,
    /// Optional comment.
    pub comment: Option<String>,
}

/// `POST /messages/{id}/feedback`.
pub async fn feedback(
    mut page: PageSession,
    Path(id): Path<String>,
    PageForm(form): PageForm<FeedbackForm>,
) -> Result<Response, PageError> {
    if page.role == Role::Viewer {
        return Err(WebError::forbidden().into());
    }
    let id = MessageId::from_uuid(parse_uuid(&id)?);
    let verdict = Verdict::parse(&form.verdict)
        .ok_or_else(|| WebError::bad_request("invalid_body", "choose one of the verdicts"))?;
    let comment = actions::bounded(form.comment, actions::MAX_NOTE, "comment")?;
    actions::record_feedback(&mut page.tx, id, verdict, comment).await?;
    page.tx.commit().await?;
    Ok(see_other(&format!(
        "/messages/{id}?feedback=thanks#feedback"
    )))
}
