//! The Mailboxes pages (owners and admins): connect Microsoft 365 (admin
//! consent and its callback), choose the mailboxes, the Exchange PowerShell
//! with a copy button, the scope check, and disconnecting with what to
//! remove from the tenant afterwards. Every action goes through
//! [`crate::m365::ops`], the same code as `/api/v1/m365…`.
//!
//! Starting consent answers a page with a link to Microsoft rather than a
//! redirect: the CSP's `form-action 'self'` stops browsers following a form
//! POST's redirect to another site.

use super::{Chrome, PageError, PageForm, PageSession, render, render_status, see_other, when};
use crate::m365::ops::{self, Consent, Overview};
use crate::m365::{ADMINS, Actor, powershell};
use crate::routes::parse_uuid;
use crate::{AppState, WebError};
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use sentra_store::TenantTx;
use sentra_store::ids::MailboxId;
use sentra_store::repo::m365_mailbox::Health;
use serde::Deserialize;
use std::collections::BTreeMap;

/// Routes of this area.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/mailboxes", get(show))
        .route("/mailboxes/connect", post(connect))
        .route(crate::m365::CALLBACK_PATH, get(callback))
        .route("/mailboxes/add", post(add))
        .route("/mailboxes/{id}/remove", post(remove))
        .route("/mailboxes/scope-check", post(scope_check))
        .route("/mailboxes/disconnect", post(disconnect))
        .route("/mailboxes/disconnected", get(disconnected))
}

/// One mailbox row.
pub struct Row {
    /// Id (for the remove form).
    pub id: String,
    /// Address.
    pub address: String,
    /// `healthy`, `degraded`, `needs_reconnect`.
    pub health: &'static str,
    /// How the health reads.
    pub health_label: &'static str,
    /// The last error and when, or empty.
    pub last_error: String,
    /// The last sync, or "not yet".
    pub last_sync: String,
    /// The last scope check that read it, or "not yet".
    pub verified: String,
    /// Whether a subscription is live.
    pub subscribed: bool,
}

/// The last scope check as shown.
pub struct ScopeView {
    /// When.
    pub checked_at: String,
    /// Least privilege verified.
    pub verified: bool,
    /// The verdict sentence.
    pub message: String,
    /// What is wrong.
    pub problems: Vec<String>,
}

/// `/mailboxes`.
#[derive(Template)]
#[template(path = "mailboxes/index.html")]
pub struct MailboxesPage {
    /// Layout.
    pub chrome: Chrome,
    /// Graph is configured on this deployment.
    pub configured: bool,
    /// `none`, `pending`, `consented`, `disconnected`.
    pub status: &'static str,
    /// The consented tenant, or empty.
    pub tenant: String,
    /// The mailboxes.
    pub rows: Vec<Row>,
    /// The last scope check.
    pub scope: Option<ScopeView>,
    /// The PowerShell (empty when Graph is not configured).
    pub script: String,
    /// The copy script's path.
    pub copy_js: &'static str,
    /// A success message.
    pub notice: Option<String>,
    /// The failure to show.
    pub error: Option<String>,
    /// The address typed, kept after an error.
    pub typed: String,
}

/// The page that sends the admin to Microsoft.
#[derive(Template)]
#[template(path = "mailboxes/connect.html")]
pub struct ConnectPage {
    /// Layout.
    pub chrome: Chrome,
    /// Microsoft's admin-consent URL.
    pub consent_url: String,
}

/// The consent callback's result.
#[derive(Template)]
#[template(path = "mailboxes/callback.html")]
pub struct CallbackPage {
    /// Layout.
    pub chrome: Chrome,
    /// Consent was granted.
    pub connected: bool,
    /// The tenant, when granted.
    pub tenant: String,
    /// What Microsoft said, when declined.
    pub reason: String,
}

/// After disconnecting: what to remove from the tenant.
#[derive(Template)]
#[template(path = "mailboxes/disconnected.html")]
pub struct DisconnectedPage {
    /// Layout.
    pub chrome: Chrome,
    /// The Exchange lines that remove Sentra's access.
    pub script: String,
    /// The copy script's path.
    pub copy_js: &'static str,
}

fn health_label(h: Health) -> &'static str {
    match h {
        Health::Healthy => "Healthy",
        Health::Degraded => "Degraded (retrying by itself)",
        Health::NeedsReconnect => "Needs reconnect",
    }
}

fn rows(view: &Overview) -> Vec<Row> {
    view.mailboxes
        .iter()
        .map(|m| Row {
            id: m.id.to_string(),
            address: m.address.clone(),
            health: m.health.as_str(),
            health_label: health_label(m.health),
            last_error: match (&m.last_error, m.last_error_at) {
                (Some(e), Some(at)) => format!("{e} ({})", when(at)),
                (Some(e), None) => e.clone(),
                _ => String::new(),
            },
            last_sync: m.last_sync_at.map_or_else(|| "not yet".to_owned(), when),
            verified: m
                .scope_verified_at
                .map_or_else(|| "not yet".to_owned(), when),
            subscribed: m.subscription_id.is_some(),
        })
        .collect()
}

fn scope_view(view: &Overview) -> Option<ScopeView> {
    view.scope.as_ref().map(|s| ScopeView {
        checked_at: when(s.checked_at),
        verified: s.verified,
        message: s.report["message"].as_str().unwrap_or_default().to_owned(),
        problems: s.report["problems"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|p| p.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
    })
}

/// Messages after a redirect (`?done=…`), fixed texts only.
#[derive(Debug, Deserialize)]
pub struct DoneQuery {
    /// What was just done.
    pub done: Option<String>,
}

fn notice(done: Option<&str>) -> Option<String> {
    let text = match done? {
        "added" => "Mailbox added. Update the PowerShell scope, then run the scope check.",
        "removed" => "Mailbox removed: Sentra no longer reads it.",
        "checked" => "Scope check done: see the result below.",
        _ => return None,
    };
    Some(text.to_owned())
}

/// Renders the main page for `actor` in a fresh transaction.
async fn main_page(
    state: &AppState,
    tx: &mut TenantTx,
    chrome: Chrome,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
    typed: String,
) -> Result<Response, PageError> {
    let view = ops::overview(state, tx).await?;
    let script = view
        .client_id
        .as_deref()
        .map(|id| powershell::grant_script(id, &view.addresses()))
        .unwrap_or_default();
    render_status(
        status,
        &MailboxesPage {
            chrome,
            configured: view.client_id.is_some(),
            status: view.status(),
            tenant: view.tenant().unwrap_or_default().to_owned(),
            rows: rows(&view),
            scope: scope_view(&view),
            script,
            copy_js: crate::assets::copy_js_href(),
            notice,
            error,
            typed,
        },
    )
}

/// Shows a client error on the main page (nothing was written); other
/// errors become the error page.
async fn after_error(
    state: &AppState,
    actor: &Actor,
    chrome: Chrome,
    e: WebError,
    typed: String,
) -> Result<Response, PageError> {
    let WebError::Client {
        status,
        message,
        code,
        ..
    } = e
    else {
        return Err(e.into());
    };
    let message = if code == "step_up_required" {
        "Removing a mailbox or disconnecting needs a fresh check: confirm it is you (link below the button), then try again.".to_owned()
    } else {
        message
    };
    let mut tx = TenantTx::begin(&state.pool, actor.org, Some(actor.user)).await?;
    let res = main_page(state, &mut tx, chrome, status, None, Some(message), typed).await;
    tx.commit().await?;
    res
}

fn actor(page: &PageSession) -> Actor {
    Actor {
        user: page.user,
        org: page.org,
        role: page.role,
        mfa_at: page.mfa_at,
    }
}

/// `GET /mailboxes`.
pub async fn show(
    State(state): State<AppState>,
    mut page: PageSession,
    Query(q): Query<DoneQuery>,
) -> Result<Response, PageError> {
    page.require(ADMINS)?;
    let chrome = page.chrome("/mailboxes");
    let res = main_page(
        &state,
        &mut page.tx,
        chrome,
        StatusCode::OK,
        notice(q.done.as_deref()),
        None,
        String::new(),
    )
    .await;
    page.tx.commit().await?;
    res
}

/// `POST /mailboxes/connect`: stores the consent state and shows the link
/// to Microsoft's admin consent.
pub async fn connect(
    State(state): State<AppState>,
    mut page: PageSession,
) -> Result<Response, PageError> {
    page.require(ADMINS)?;
    let chrome = page.chrome("/mailboxes");
    match ops::start_consent(&state, &mut page.tx).await {
        Ok(consent_url) => {
            page.tx.commit().await?;
            render(&ConnectPage {
                chrome,
                consent_url,
            })
        }
        Err(e) => {
            let who = actor(&page);
            page.tx.rollback().await?;
            after_error(&state, &who, chrome, e, String::new()).await
        }
    }
}

/// `GET /mailboxes/consent-callback`: where Microsoft sends the admin back.
pub async fn callback(
    mut page: PageSession,
    Query(query): Query<BTreeMap<String, String>>,
) -> Result<Response, PageError> {
    page.require(ADMINS)?;
    let result = ops::complete_consent(&mut page.tx, &query).await?;
    let chrome = page.finish("/mailboxes").await?;
    let (connected, tenant, reason) = match result {
        Consent::Connected { tenant } => (true, tenant, String::new()),
        Consent::Declined { error, aadsts } => (
            false,
            String::new(),
            match aadsts {
                Some(65004) => "The administrator declined to consent (AADSTS65004).".to_owned(),
                Some(n) => format!("Microsoft answered {error} (AADSTS{n})."),
                None => format!("Microsoft answered {error}."),
            },
        ),
    };
    render(&CallbackPage {
        chrome,
        connected,
        tenant,
        reason,
    })
}

/// The add form.
#[derive(Debug, Deserialize)]
pub struct AddForm {
    /// The address.
    pub address: String,
}

/// `POST /mailboxes/add`.
pub async fn add(
    State(state): State<AppState>,
    mut page: PageSession,
    PageForm(form): PageForm<AddForm>,
) -> Result<Response, PageError> {
    page.require(ADMINS)?;
    match ops::add_mailbox(&mut page.tx, &form.address).await {
        Ok(_) => {
            page.tx.commit().await?;
            Ok(see_other("/mailboxes?done=added"))
        }
        Err(e) => {
            let (chrome, who) = (page.chrome("/mailboxes"), actor(&page));
            page.tx.rollback().await?;
            let typed: String = form.address.chars().take(254).collect();
            after_error(&state, &who, chrome, e, typed).await
        }
    }
}

/// `POST /mailboxes/{id}/remove` (step-up).
pub async fn remove(
    State(state): State<AppState>,
    page: PageSession,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    page.require(ADMINS)?;
    let id = MailboxId::from_uuid(parse_uuid(&id)?);
    let (chrome, who) = (page.chrome("/mailboxes"), actor(&page));
    page.tx.commit().await?;
    match ops::remove_mailbox(&state, &who, id).await {
        Ok(()) => Ok(see_other("/mailboxes?done=removed")),
        Err(WebError::NotFound) => Err(WebError::NotFound.into()),
        Err(e) => after_error(&state, &who, chrome, e, String::new()).await,
    }
}

/// The scope-check form.
#[derive(Debug, Deserialize)]
pub struct ScopeForm {
    /// An address the admin did not select (optional).
    #[serde(default)]
    pub probe: String,
}

/// `POST /mailboxes/scope-check`.
pub async fn scope_check(
    State(state): State<AppState>,
    page: PageSession,
    PageForm(form): PageForm<ScopeForm>,
) -> Result<Response, PageError> {
    page.require(ADMINS)?;
    let (chrome, who) = (page.chrome("/mailboxes"), actor(&page));
    page.tx.commit().await?;
    match ops::scope_check(&state, &who, Some(&form.probe)).await {
        Ok(_) => Ok(see_other("/mailboxes?done=checked")),
        Err(e) => after_error(&state, &who, chrome, e, String::new()).await,
    }
}

/// `POST /mailboxes/disconnect` (step-up).
pub async fn disconnect(
    State(state): State<AppState>,
    page: PageSession,
) -> Result<Response, PageError> {
    page.require(ADMINS)?;
    let (chrome, who) = (page.chrome("/mailboxes"), actor(&page));
    page.tx.commit().await?;
    match ops::disconnect(&state, &who).await {
        Ok(_) => Ok(see_other("/mailboxes/disconnected")),
        Err(e) => after_error(&state, &who, chrome, e, String::new()).await,
    }
}

/// `GET /mailboxes/disconnected`: how to remove Sentra from the tenant.
pub async fn disconnected(
    State(state): State<AppState>,
    page: PageSession,
) -> Result<Response, PageError> {
    page.require(ADMINS)?;
    let chrome = page.finish("/mailboxes").await?;
    let client_id = state
        .m365
        .as_ref()
        .map_or("SENTRA-APP-ID", |m| m.client_id());
    render(&DisconnectedPage {
        chrome,
        script: powershell::revoke_script(client_id),
        copy_js: crate::assets::copy_js_href(),
    })
}
