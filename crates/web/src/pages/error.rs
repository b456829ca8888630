//! Errors on pages: sign-in redirects and HTML error pages (404, 403, 500,
//! …) rendered with the layout, in place of the API's JSON error shape.

use super::{Chrome, urlencode};
use crate::WebError;
use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sentra_store::StoreError;

/// Why a page could not be shown.
#[derive(Debug)]
pub enum PageError {
    /// No (live) session: go and sign in, then come back to `next`.
    SignIn {
        /// The same-site path to return to.
        next: String,
        /// Whether htmx asked (answered with `HX-Redirect`, not a 303 that
        /// htmx would follow and swap into the page).
        htmx: bool,
    },
    /// Signed in but the TOTP is still owed.
    Mfa {
        /// The same-site path to return to.
        next: String,
        /// Whether htmx asked.
        htmx: bool,
    },
    /// Anything else, shown as an error page with its status.
    Web(WebError),
}

impl From<WebError> for PageError {
    fn from(e: WebError) -> Self {
        Self::Web(e)
    }
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        Self::Web(e.into())
    }
}

/// The error page.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    /// Layout.
    pub chrome: Chrome,
    /// The status code.
    pub status: u16,
    /// A short heading.
    pub title: &'static str,
    /// What happened, without internals.
    pub message: String,
}

fn redirect(to: &str, htmx: bool) -> Response {
    let Ok(location) = HeaderValue::from_str(to) else {
        return StatusCode::SEE_OTHER.into_response();
    };
    if htmx {
        (StatusCode::UNAUTHORIZED, [("hx-redirect", location)]).into_response()
    } else {
        (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
    }
}

/// An error page for `status` with `message`.
pub fn error_page(status: StatusCode, message: String) -> Response {
    let title = match status {
        StatusCode::NOT_FOUND => "Page not found",
        StatusCode::FORBIDDEN => "Not allowed",
        StatusCode::UNAUTHORIZED => "Sign in required",
        StatusCode::TOO_MANY_REQUESTS => "Too many requests",
        s if s.is_client_error() => "Something is wrong with the request",
        _ => "Something went wrong",
    };
    let page = ErrorPage {
        chrome: Chrome::public(),
        status: status.as_u16(),
        title,
        message,
    };
    match page.render() {
        Ok(html) => (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            )],
            html,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(cause = %e, "error page failed to render");
            status.into_response()
        }
    }
}

/// The 404 page.
pub fn not_found_page() -> Response {
    error_page(
        StatusCode::NOT_FOUND,
        "There is nothing at this address, or it belongs to another organisation.".to_owned(),
    )
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            Self::SignIn { next, htmx } => {
                redirect(&format!("/login?next={}", urlencode(&next)), htmx)
            }
            Self::Mfa { next, htmx } => {
                redirect(&format!("/login/mfa?next={}", urlencode(&next)), htmx)
            }
            Self::Web(e) => {
                let status = e.status();
                let message = match e {
                    WebError::NotFound => return not_found_page(),
                    WebError::Unauthorized => {
                        return redirect("/login", false);
                    }
                    WebError::Client { message, .. } => message,
                    WebError::CrossOrigin => "The request came from another site.".to_owned(),
                    WebError::Unavailable => {
                        "The service is briefly unavailable; please try again.".to_owned()
                    }
                    WebError::Internal(cause) => {
                        tracing::error!(%cause, "page failed");
                        "An unexpected error occurred. It has been logged.".to_owned()
                    }
                };
                error_page(status, message)
            }
        }
    }
}
