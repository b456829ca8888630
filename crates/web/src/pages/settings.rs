//! The organisation's settings page (`/settings`, admin and above): a form
//! over the same function as `PATCH /api/v1/settings`
//! ([`crate::routes::settings::apply`]), so validation, step-up for the MFA
//! policy and the audit event are shared.

use super::{PageError, PageForm, PageSession, render, render_status, see_other};
use crate::routes::settings::{PatchBody, apply};
use crate::{AppState, WebError};
use askama::Template;
use axum::Router;
use axum::extract::Query;
use axum::response::Response;
use axum::routing::get;
use sentra_domain::Role;
use sentra_store::repo::settings::{self, OrgSettings};
use serde::Deserialize;

/// Routes of this area.
pub fn routes() -> Router<AppState> {
    Router::new().route("/settings", get(show).post(save))
}

const ADMINS: &[Role] = &[Role::Owner, Role::Admin];
const RISKS: &[&str] = &["low", "medium", "high", "critical"];

/// The settings page.
#[derive(Template)]
#[template(path = "settings.html")]
pub struct SettingsPage {
    /// Layout.
    pub chrome: super::Chrome,
    /// The values shown.
    pub s: OrgSettings,
    /// The risk levels to choose from.
    pub risks: &'static [&'static str],
    /// Whether a save just happened.
    pub saved: bool,
    /// The failure to show, if any.
    pub error: Option<String>,
}

/// `?saved=1` after a save.
#[derive(Debug, Deserialize)]
pub struct SavedQuery {
    /// Set after a successful save.
    pub saved: Option<String>,
}

/// The form body (every field is sent).
#[derive(Debug, Deserialize)]
pub struct SettingsForm {
    /// `true` or `false`.
    pub require_mfa: bool,
    /// Days raw email is kept.
    pub raw_email_days: i32,
    /// Months messages and cases are kept.
    pub messages_months: i32,
    /// The lowest risk alerted on.
    pub alert_min_risk: String,
}

/// `GET /settings`.
pub async fn show(
    mut page: PageSession,
    Query(q): Query<SavedQuery>,
) -> Result<Response, PageError> {
    page.require(ADMINS)?;
    let s = settings::get(&mut page.tx).await?;
    let chrome = page.finish("/settings").await?;
    render(&SettingsPage {
        chrome,
        s,
        risks: RISKS,
        saved: q.saved.is_some(),
        error: None,
    })
}

/// `POST /settings`: saves and shows the page again (303), or the form
/// with the reason (nothing written).
pub async fn save(
    mut page: PageSession,
    PageForm(form): PageForm<SettingsForm>,
) -> Result<Response, PageError> {
    page.require(ADMINS)?;
    let body = PatchBody {
        require_mfa: Some(form.require_mfa),
        raw_email_days: Some(form.raw_email_days),
        messages_months: Some(form.messages_months),
        alert_min_risk: Some(form.alert_min_risk),
    };
    match apply(&mut page.tx, page.mfa_at, body).await {
        Ok(_) => {
            page.tx.commit().await?;
            Ok(see_other("/settings?saved=1"))
        }
        Err(WebError::Client {
            status, message, ..
        }) => {
            // Nothing was written (checks come first); show what is stored.
            let chrome = page.chrome("/settings");
            let s = settings::get(&mut page.tx).await?;
            page.tx.rollback().await?;
            render_status(
                status,
                &SettingsPage {
                    chrome,
                    s,
                    risks: RISKS,
                    saved: false,
                    error: Some(message),
                },
            )
        }
        Err(e) => Err(e.into()),
    }
}
