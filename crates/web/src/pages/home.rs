//! The dashboard (`GET /`).

use super::{Chrome, PageError, PageSession, render};
use crate::AppState;
use askama::Template;
use axum::Router;
use axum::response::Response;
use axum::routing::get;

/// Routes of this area.
pub fn routes() -> Router<AppState> {
    Router::new().route("/", get(dashboard))
}

/// The dashboard page.
#[derive(Template)]
#[template(path = "dashboard.html")]
pub struct Dashboard {
    /// Layout.
    pub chrome: Chrome,
}

/// `GET /`.
pub async fn dashboard(page: PageSession) -> Result<Response, PageError> {
    let chrome = page.finish("/").await?;
    render(&Dashboard { chrome })
}
