//! Supplier pages: the list with search, a supplier's record (verified phone
//! and where it came from, masked bank accounts with their status, pending
//! changes), adding and editing, proposing a bank-detail or phone change,
//! the CSV import (paste → preview table with per-row errors → confirm) and
//! the pending approvals with approve / reject.
//!
//! Every action goes through [`crate::suppliers::ops`], the same code as the
//! JSON API: roles, dual control, step-up and one audit event per change.

use super::{Chrome, PageError, PageForm, PageSession, render, see_other};
use crate::AppState;
use crate::suppliers::csv::{self as supplier_csv, Format};
use crate::suppliers::input::BankAccountIn;
use crate::suppliers::{self, Described, ops, supplier_id};
use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use sentra_domain::Role;
use sentra_store::repo::bank_account;
use sentra_store::repo::supplier::{self, SupplierStatus};
use sentra_store::repo::supplier_change::{self, ChangeStatus, SupplierChange};
use serde::Deserialize;

/// Routes of this area.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/suppliers", get(list))
        .route("/suppliers/new", get(new_form).post(create))
        .route(
            "/suppliers/import",
            get(import_form)
                .post(import)
                // Pasted CSV, urlencoded: up to 1 MiB of text may triple.
                .layer(DefaultBodyLimit::max(4 * 1024 * 1024)),
        )
        .route("/suppliers/changes", get(changes))
        .route("/suppliers/changes/{id}/approve", post(approve))
        .route("/suppliers/changes/{id}/reject", post(reject))
        .route("/suppliers/{id}", get(detail))
        .route("/suppliers/{id}/edit", post(edit))
        .route("/suppliers/{id}/bank-accounts", post(propose_account))
        .route("/suppliers/{id}/phone", post(propose_phone))
}

pub(crate) const WRITERS: &[Role] = &[Role::Owner, Role::Admin, Role::Approver, Role::Clerk];

/// One row of the list.
pub struct Row {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Domains, comma-joined.
    pub domains: String,
    /// Verified phone or a dash.
    pub phone: String,
    /// Status.
    pub status: String,
}

/// The list page.
#[derive(Template)]
#[template(path = "suppliers/list.html")]
pub struct ListPage {
    /// Layout.
    pub chrome: Chrome,
    /// The search.
    pub q: String,
    /// Rows.
    pub rows: Vec<Row>,
    /// Whether the person may add and import.
    pub can_write: bool,
    /// Pending changes waiting.
    pub pending: usize,
}

/// `?q=`.
#[derive(Debug, Deserialize)]
pub struct Search {
    /// Part of a name or domain.
    pub q: Option<String>,
}

/// `GET /suppliers`.
pub async fn list(mut page: PageSession, Query(s): Query<Search>) -> Result<Response, PageError> {
    let q = s.q.unwrap_or_default().trim().to_owned();
    let found = if q.is_empty() {
        supplier::list(&mut page.tx).await?
    } else {
        supplier::search(&mut page.tx, &q, 200).await?
    };
    let pending = supplier_change::list(&mut page.tx, Some(ChangeStatus::Pending), None, 500)
        .await?
        .len();
    let can_write = WRITERS.contains(&page.role);
    let chrome = page.finish("/suppliers").await?;
    let rows = found
        .into_iter()
        .map(|s| Row {
            id: s.id.to_string(),
            name: s.fields.name,
            domains: s.fields.domains.join(", "),
            phone: s.verified_phone.unwrap_or_else(|| "—".to_owned()),
            status: s.fields.status.as_str().to_owned(),
        })
        .collect();
    render(&ListPage {
        chrome,
        q,
        rows,
        can_write,
        pending,
    })
}

/// A pending or decided change as pages show it.
pub struct ChangeRow {
    /// Id.
    pub id: String,
    /// Supplier id.
    pub supplier_id: String,
    /// Supplier name (approvals page).
    pub supplier_name: String,
    /// `bank_account` → "Bank account", `phone` → "Call-back number".
    pub kind: &'static str,
    /// Masked account or the number.
    pub summary: String,
    /// Status.
    pub status: String,
    /// Whether this person proposed it (cannot decide it).
    pub mine: bool,
    /// When proposed.
    pub created_at: String,
}

fn change_row(c: &SupplierChange, me: sentra_domain::UserId, supplier_name: String) -> ChangeRow {
    ChangeRow {
        id: c.id.to_string(),
        supplier_id: c.supplier_id.to_string(),
        supplier_name,
        kind: match c.kind {
            supplier_change::ChangeKind::BankAccount => "Bank account",
            supplier_change::ChangeKind::Phone => "Call-back number",
        },
        summary: c.summary(),
        status: c.status.as_str().to_owned(),
        mine: c.proposed_by == me,
        created_at: super::when(c.created_at),
    }
}

/// One bank account line.
pub struct AccountRow {
    /// Scheme.
    pub scheme: &'static str,
    /// Masked.
    pub masked: String,
    /// Status.
    pub status: &'static str,
}

/// The detail page.
#[derive(Template)]
#[template(path = "suppliers/detail.html")]
pub struct DetailPage {
    /// Layout.
    pub chrome: Chrome,
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Domains, one per line (for the edit form too).
    pub domains: String,
    /// Country or empty.
    pub country: String,
    /// Active or archived.
    pub status: String,
    /// The verified number or empty.
    pub phone: String,
    /// Where it came from.
    pub phone_source: String,
    /// When it was approved.
    pub phone_verified_at: String,
    /// Accounts.
    pub accounts: Vec<AccountRow>,
    /// Pending changes.
    pub pending: Vec<ChangeRow>,
    /// Whether the person may propose and edit.
    pub can_write: bool,
    /// Whether the person may approve.
    pub can_approve: bool,
}

/// `GET /suppliers/{id}`.
pub async fn detail(mut page: PageSession, Path(id): Path<String>) -> Result<Response, PageError> {
    let id = supplier_id(&id)?;
    let s = supplier::get(&mut page.tx, id).await?;
    let accounts = bank_account::list_for_supplier(&mut page.tx, id).await?;
    let pending =
        supplier_change::list(&mut page.tx, Some(ChangeStatus::Pending), Some(id), 100).await?;
    let (me, role) = (page.user, page.role);
    let chrome = page.finish("/suppliers").await?;
    render(&DetailPage {
        chrome,
        id: s.id.to_string(),
        name: s.fields.name.clone(),
        domains: s.fields.domains.join("\n"),
        country: s.fields.country.clone().unwrap_or_default(),
        status: s.fields.status.as_str().to_owned(),
        phone: s.verified_phone.clone().unwrap_or_default(),
        phone_source: s.phone_source.clone().unwrap_or_default(),
        phone_verified_at: s.phone_verified_at.map(super::when).unwrap_or_default(),
        accounts: accounts
            .iter()
            .map(|a| AccountRow {
                scheme: a.scheme.as_str(),
                masked: a.masked.clone(),
                status: a.status.as_str(),
            })
            .collect(),
        pending: pending
            .iter()
            .map(|c| change_row(c, me, s.fields.name.clone()))
            .collect(),
        can_write: WRITERS.contains(&role),
        can_approve: matches!(role, Role::Owner | Role::Admin | Role::Approver),
    })
}

/// The add-supplier page.
#[derive(Template)]
#[template(path = "suppliers/new.html")]
pub struct NewPage {
    /// Layout.
    pub chrome: Chrome,
}

/// `GET /suppliers/new`.
pub async fn new_form(page: PageSession) -> Result<Response, PageError> {
    page.require(WRITERS)?;
    let chrome = page.finish("/suppliers").await?;
    render(&NewPage { chrome })
}

/// The bank fields of a form; all optional, `scheme` picks which are read.
#[derive(Debug, Default, Deserialize)]
pub struct BankForm {
    /// `uk`, `iban`, `au`, `us` or empty for none.
    #[serde(default)]
    pub scheme: String,
    #[serde(default)]
    sort_code: String,
    #[serde(default)]
    account_number: String,
    #[serde(default)]
    iban: String,
    #[serde(default)]
    bic: String,
    #[serde(default)]
    bsb: String,
    #[serde(default)]
    routing_number: String,
}

impl BankForm {
    fn account(&self) -> Option<BankAccountIn> {
        let n = self.account_number.clone();
        match self.scheme.as_str() {
            "uk" => Some(BankAccountIn::Uk {
                sort_code: self.sort_code.clone(),
                account_number: n,
            }),
            "iban" => Some(BankAccountIn::Iban {
                iban: self.iban.clone(),
                bic: Some(self.bic.clone()).filter(|b| !b.trim().is_empty()),
            }),
            "au" => Some(BankAccountIn::Au {
                bsb: self.bsb.clone(),
                account_number: n,
            }),
            "us" => Some(BankAccountIn::Us {
                routing_number: self.routing_number.clone(),
                account_number: n,
            }),
            _ => None,
        }
    }
}

fn lines(s: &str) -> Vec<String> {
    s.split(['\n', ',', ';'])
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The add-supplier form.
#[derive(Debug, Deserialize)]
pub struct NewForm {
    name: String,
    #[serde(default)]
    domains: String,
    #[serde(default)]
    country: String,
    #[serde(default)]
    verified_phone: String,
    #[serde(default)]
    phone_source: String,
    #[serde(flatten)]
    bank: BankForm,
}

/// `POST /suppliers/new`.
pub async fn create(
    State(state): State<AppState>,
    mut page: PageSession,
    PageForm(f): PageForm<NewForm>,
) -> Result<Response, PageError> {
    let new = ops::NewSupplier {
        name: f.name,
        domains: lines(&f.domains),
        country: Some(f.country),
        verified_phone: Some(f.verified_phone),
        phone_source: Some(f.phone_source),
        bank_account: f.bank.account(),
    };
    let (id, _) = ops::create(&mut page.tx, &state.keys, page.user, page.role, &new).await?;
    page.tx.commit().await?;
    Ok(see_other(&format!("/suppliers/{id}")))
}

/// The edit form on the detail page.
#[derive(Debug, Deserialize)]
pub struct EditForm {
    name: String,
    #[serde(default)]
    domains: String,
    #[serde(default)]
    country: String,
    status: String,
}

/// `POST /suppliers/{id}/edit`.
pub async fn edit(
    mut page: PageSession,
    Path(id): Path<String>,
    PageForm(f): PageForm<EditForm>,
) -> Result<Response, PageError> {
    let id = supplier_id(&id)?;
    let status = match f.status.as_str() {
        "archived" => SupplierStatus::Archived,
        _ => SupplierStatus::Active,
    };
    crate::routes::suppliers::update(
        &mut page.tx,
        page.role,
        id,
        &crate::routes::suppliers::PatchIn {
            name: Some(f.name),
            domains: Some(lines(&f.domains)),
            country: Some(f.country),
            status: Some(status.as_str().to_owned()),
        },
    )
    .await?;
    page.tx.commit().await?;
    Ok(see_other(&format!("/suppliers/{id}")))
}

/// `POST /suppliers/{id}/bank-accounts`.
pub async fn propose_account(
    State(state): State<AppState>,
    mut page: PageSession,
    Path(id): Path<String>,
    PageForm(f): PageForm<BankForm>,
) -> Result<Response, PageError> {
    let id = supplier_id(&id)?;
    let account = f
        .account()
        .ok_or_else(|| ops::invalid("bank_account", "choose how the account is written"))?;
    ops::propose_account(
        &mut page.tx,
        &state.keys,
        page.user,
        page.role,
        id,
        &account,
    )
    .await?;
    page.tx.commit().await?;
    Ok(see_other(&format!("/suppliers/{id}")))
}

/// The phone form.
#[derive(Debug, Deserialize)]
pub struct PhoneForm {
    verified_phone: String,
    #[serde(default)]
    phone_source: String,
}

/// `POST /suppliers/{id}/phone`.
pub async fn propose_phone(
    mut page: PageSession,
    Path(id): Path<String>,
    PageForm(f): PageForm<PhoneForm>,
) -> Result<Response, PageError> {
    let id = supplier_id(&id)?;
    ops::propose_phone(
        &mut page.tx,
        page.user,
        page.role,
        id,
        &f.verified_phone,
        &f.phone_source,
    )
    .await?;
    page.tx.commit().await?;
    Ok(see_other(&format!("/suppliers/{id}")))
}

/// The pending approvals page.
#[derive(Template)]
#[template(path = "suppliers/changes.html")]
pub struct ChangesPage {
    /// Layout.
    pub chrome: Chrome,
    /// Pending changes.
    pub rows: Vec<ChangeRow>,
    /// Whether the person may approve at all.
    pub can_approve: bool,
    /// Whether approving would need a fresh authenticator check first.
    pub needs_step_up: bool,
}

/// `GET /suppliers/changes`.
pub async fn changes(mut page: PageSession) -> Result<Response, PageError> {
    let pending =
        supplier_change::list(&mut page.tx, Some(ChangeStatus::Pending), None, 500).await?;
    let mut rows = Vec::with_capacity(pending.len());
    for c in &pending {
        let name = supplier::get(&mut page.tx, c.supplier_id)
            .await?
            .fields
            .name;
        rows.push(change_row(c, page.user, name));
    }
    let can_approve = matches!(page.role, Role::Owner | Role::Admin | Role::Approver);
    let needs_step_up = crate::session::require_step_up(page.mfa_at).is_err();
    let chrome = page.finish("/suppliers").await?;
    render(&ChangesPage {
        chrome,
        rows,
        can_approve,
        needs_step_up,
    })
}

/// `POST /suppliers/changes/{id}/approve`.
pub async fn approve(mut page: PageSession, Path(id): Path<String>) -> Result<Response, PageError> {
    let id = crate::routes::parse_uuid(&id)?;
    ops::approve(&mut page.tx, page.user, page.role, page.mfa_at, id).await?;
    page.tx.commit().await?;
    Ok(see_other("/suppliers/changes"))
}

/// The reject form.
#[derive(Debug, Default, Deserialize)]
pub struct RejectForm {
    #[serde(default)]
    reason: String,
}

/// `POST /suppliers/changes/{id}/reject`.
pub async fn reject(
    mut page: PageSession,
    Path(id): Path<String>,
    PageForm(f): PageForm<RejectForm>,
) -> Result<Response, PageError> {
    let id = crate::routes::parse_uuid(&id)?;
    ops::reject(&mut page.tx, page.user, page.role, id, Some(&f.reason)).await?;
    page.tx.commit().await?;
    Ok(see_other("/suppliers/changes"))
}

/// One line of the import preview.
pub struct PreviewRow {
    /// Rows of the file.
    pub rows: String,
    /// Name.
    pub name: String,
    /// create / update / unchanged.
    pub action: &'static str,
    /// Changes it would propose, masked.
    pub pending: String,
    /// Warnings.
    pub warnings: String,
}

/// One row error.
pub struct ErrorRow {
    /// Row.
    pub row: usize,
    /// Column or empty.
    pub column: String,
    /// Message.
    pub message: String,
}

/// The import page: the form, then the preview.
#[derive(Template)]
#[template(path = "suppliers/import.html")]
pub struct ImportPage {
    /// Layout.
    pub chrome: Chrome,
    /// The chosen format.
    pub format: String,
    /// The pasted CSV (carried to the confirm step).
    pub csv: String,
    /// A file-level problem.
    pub problem: String,
    /// Row errors.
    pub errors: Vec<ErrorRow>,
    /// How many row errors in all.
    pub error_count: usize,
    /// Preview lines (valid file).
    pub preview: Vec<PreviewRow>,
    /// Whether the import was done.
    pub done: bool,
}

impl ImportPage {
    pub(crate) fn empty(chrome: Chrome) -> Self {
        Self {
            chrome,
            format: "sentra".to_owned(),
            csv: String::new(),
            problem: String::new(),
            errors: Vec::new(),
            error_count: 0,
            preview: Vec::new(),
            done: false,
        }
    }
}

/// `GET /suppliers/import`.
pub async fn import_form(page: PageSession) -> Result<Response, PageError> {
    page.require(WRITERS)?;
    let chrome = page.finish("/suppliers").await?;
    render(&ImportPage::empty(chrome))
}

/// The import form.
#[derive(Debug, Deserialize)]
pub struct ImportForm {
    pub(crate) format: String,
    pub(crate) csv: String,
    /// Present on the confirm button.
    #[serde(default)]
    pub(crate) confirm: String,
}

/// `POST /suppliers/import`: previews (nothing written) unless `confirm`,
/// which imports all or nothing through the same code as the API.
pub async fn import(
    State(state): State<AppState>,
    page: PageSession,
    PageForm(f): PageForm<ImportForm>,
) -> Result<Response, PageError> {
    run_import(&state, page, f).await
}

/// The import itself, for pasted text and uploaded files
/// ([`super::supplier_upload`]) alike.
pub(crate) async fn run_import(
    state: &AppState,
    mut page: PageSession,
    f: ImportForm,
) -> Result<Response, PageError> {
    page.require(WRITERS)?;
    let mut out = ImportPage::empty(page.chrome("/suppliers"));
    out.csv.clone_from(&f.csv);
    let Some(format) = Format::parse(&f.format) else {
        "Choose which program the file comes from.".clone_into(&mut out.problem);
        page.tx.rollback().await?;
        return render(&out);
    };
    format.as_str().clone_into(&mut out.format);
    let text = f.csv.strip_prefix('\u{feff}').unwrap_or(&f.csv);
    let parsed = match supplier_csv::parse(format, text) {
        Ok(p) => p,
        Err(e) => {
            out.problem = e.to_string();
            page.tx.rollback().await?;
            return render(&out);
        }
    };
    if parsed.error_count > 0 {
        out.error_count = parsed.error_count;
        out.errors = parsed
            .errors
            .iter()
            .map(|e| ErrorRow {
                row: e.row,
                column: e.column.clone().unwrap_or_default(),
                message: e.message.clone(),
            })
            .collect();
        page.tx.rollback().await?;
        return render(&out);
    }
    let confirm = f.confirm == "yes";
    let mut results = Vec::new();
    for c in &parsed.candidates {
        let d = Described {
            name: c.name.clone(),
            domains: c.domains.clone(),
            country: c.country.clone(),
            phone: c.phone.clone(),
            phone_source: c
                .phone
                .as_ref()
                .map(|_| format!("imported from a {}", format.label())),
            accounts: c.accounts.clone(),
        };
        let a = suppliers::apply(&mut page.tx, &state.keys, page.user, &d, true).await?;
        out.preview.push(PreviewRow {
            rows: c
                .rows
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            name: c.name.clone(),
            action: a.action,
            pending: a
                .pending_changes
                .iter()
                .filter_map(|p| p["summary"].as_str().map(str::to_owned))
                .collect::<Vec<_>>()
                .join("; "),
            warnings: c
                .warnings
                .iter()
                .chain(&a.warnings)
                .cloned()
                .collect::<Vec<_>>()
                .join("; "),
        });
        results.push(a);
    }
    if confirm {
        crate::routes::supplier_import::record(&mut page.tx, format, &parsed, &results).await?;
        page.tx.commit().await?;
        out.done = true;
        out.csv.clear();
    } else {
        page.tx.rollback().await?;
    }
    render(&out)
}
