//! Step-up (`/account/step-up?next=…`): the authenticator code (or the
//! password for an account without one) again, over the same function as
//! `POST /api/v1/auth/step-up` ([`verify_step_up`]), then back to `next`
//! (a same-site path only, see [`safe_next`]).

use super::{Chrome, PageError, PageForm, render, render_status, safe_next, see_other, urlencode};
use crate::auth::with_cookie;
use crate::routes::account::verify_step_up;
use crate::session::CurrentUser;
use crate::{AppState, WebError};
use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

/// Routes of this area.
pub fn routes() -> Router<AppState> {
    Router::new().route("/account/step-up", get(step_up_form).post(step_up_submit))
}

/// The step-up page.
#[derive(Template)]
#[template(path = "step_up.html")]
pub struct StepUpPage {
    /// Layout.
    pub chrome: Chrome,
    /// Where to go afterwards (same-site path).
    pub next: String,
    /// Whether to ask for a code (else the password).
    pub enrolled: bool,
    /// The failure to show, if any.
    pub error: Option<&'static str>,
}

/// `?next=`.
#[derive(Debug, Deserialize)]
pub struct NextQuery {
    /// Where to go afterwards.
    pub next: Option<String>,
}

/// The form body.
#[derive(Debug, Deserialize)]
pub struct StepUpForm {
    /// The TOTP code (enrolled accounts).
    pub code: Option<String>,
    /// The password (accounts without an authenticator).
    pub password: Option<String>,
    /// Where to go afterwards.
    pub next: Option<String>,
}

const BAD: &str = "That was not accepted. Codes change every 30 seconds; try the current one.";

fn sign_in_first(next: &str) -> Response {
    let back = format!("/account/step-up?next={}", urlencode(next));
    see_other(&format!("/login?next={}", urlencode(&back)))
}

/// `GET /account/step-up`.
pub async fn step_up_form(
    who: Result<CurrentUser, WebError>,
    Query(q): Query<NextQuery>,
) -> Result<Response, PageError> {
    let next = safe_next(q.next.as_deref()).to_owned();
    let who = match who {
        Ok(w) => w,
        Err(WebError::Unauthorized) => return Ok(sign_in_first(&next)),
        Err(e) => return Err(e.into()),
    };
    render(&StepUpPage {
        chrome: Chrome::public(),
        next,
        enrolled: who.mfa_enrolled,
        error: None,
    })
}

/// `POST /account/step-up`: a new (rotated) session cookie and a 303 to
/// `next`, or the form again with 401.
pub async fn step_up_submit(
    State(state): State<AppState>,
    who: Result<CurrentUser, WebError>,
    PageForm(form): PageForm<StepUpForm>,
) -> Result<Response, PageError> {
    let next = safe_next(form.next.as_deref()).to_owned();
    let who = match who {
        Ok(w) => w,
        Err(WebError::Unauthorized) => return Ok(sign_in_first(&next)),
        Err(e) => return Err(e.into()),
    };
    let code = form.code.map(|c| c.trim().to_owned());
    match verify_step_up(&state, &who, code, form.password).await {
        Ok(cookie) => Ok(with_cookie(see_other(&next), cookie)),
        Err(WebError::Unauthorized | WebError::Client { .. }) => render_status(
            StatusCode::UNAUTHORIZED,
            &StepUpPage {
                chrome: Chrome::public(),
                next,
                enrolled: who.mfa_enrolled,
                error: Some(BAD),
            },
        ),
        Err(e) => Err(e.into()),
    }
}
