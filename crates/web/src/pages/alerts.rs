//! Alert channels (`GET /alerts`): a placeholder until the alerts area
//! fills it (email, Slack, Teams channels and what was sent).

use super::{Chrome, PageError, PageSession, render};
use crate::AppState;
use askama::Template;
use axum::Router;
use axum::response::Response;
use axum::routing::get;
use sentra_domain::Role;

/// Routes of this area.
pub fn routes() -> Router<AppState> {
    Router::new().route("/alerts", get(alerts))
}

/// The page.
#[derive(Template)]
#[template(path = "alerts.html")]
pub struct AlertsPage {
    /// Layout.
    pub chrome: Chrome,
}

/// `GET /alerts` (owner, admin).
pub async fn alerts(page: PageSession) -> Result<Response, PageError> {
    page.require(&[Role::Owner, Role::Admin])?;
    let chrome = page.finish("/alerts").await?;
    render(&AlertsPage { chrome })
}
