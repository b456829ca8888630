//! Sign-in (`/login`), the second factor (`/login/mfa`) and sign-out
//! (`POST /logout`): forms over the same functions as the JSON API
//! ([`crate::auth`]), so lockouts, session rotation and audit are shared.

use super::{Chrome, PageError, PageForm, render_status, safe_next, see_other, urlencode};
use crate::auth::{pass_mfa, sign_in, sign_out, with_cookie};
use crate::session::{AnySession, clear_cookie};
use crate::{AppState, WebError};
use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;

/// Routes of this area.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_form).post(login_submit))
        .route("/login/mfa", get(mfa_form).post(mfa_submit))
        .route("/logout", post(logout))
}

/// `?next=` on the sign-in pages.
#[derive(Debug, Deserialize)]
pub struct NextQuery {
    /// Where to go afterwards (same-site path).
    pub next: Option<String>,
}

/// The sign-in page.
#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    /// Layout.
    pub chrome: Chrome,
    /// Where to go afterwards.
    pub next: String,
    /// The address typed (kept after a failure).
    pub email: String,
    /// The failure to show, if any.
    pub error: Option<&'static str>,
}

/// The second-factor page.
#[derive(Template)]
#[template(path = "mfa.html")]
pub struct MfaPage {
    /// Layout.
    pub chrome: Chrome,
    /// Where to go afterwards.
    pub next: String,
    /// The failure to show, if any.
    pub error: Option<&'static str>,
}

/// The sign-in form body.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    /// Sign-in address.
    pub email: String,
    /// Password.
    pub password: String,
    /// Where to go afterwards.
    pub next: Option<String>,
}

/// The MFA form body.
#[derive(Debug, Deserialize)]
pub struct MfaForm {
    /// The 6-digit code.
    pub code: String,
    /// Where to go afterwards.
    pub next: Option<String>,
}

const BAD_LOGIN: &str = "That email address and password do not match an account, or the account is locked for a few minutes.";
const BAD_CODE: &str =
    "That code was not accepted. Codes change every 30 seconds; try the current one.";

/// `GET /login`.
pub async fn login_form(Query(q): Query<NextQuery>) -> Result<Response, PageError> {
    render_status(
        StatusCode::OK,
        &LoginPage {
            chrome: Chrome::public(),
            next: safe_next(q.next.as_deref()).to_owned(),
            email: String::new(),
            error: None,
        },
    )
}

/// `POST /login`.
pub async fn login_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    PageForm(form): PageForm<LoginForm>,
) -> Result<Response, PageError> {
    let next = safe_next(form.next.as_deref()).to_owned();
    let email = form.email.trim().to_owned();
    match sign_in(&state, &headers, &email, form.password).await {
        Ok(done) => {
            let to = if done.mfa_required {
                format!("/login/mfa?next={}", urlencode(&next))
            } else if done.enrolment_required {
                "/account/mfa".to_owned()
            } else {
                next
            };
            Ok(with_cookie(
                see_other(&to),
                done.token.set_cookie(state.secure_cookies),
            ))
        }
        Err(WebError::Unauthorized) => render_status(
            StatusCode::UNAUTHORIZED,
            &LoginPage {
                chrome: Chrome::public(),
                next,
                email: email.chars().take(320).collect(),
                error: Some(BAD_LOGIN),
            },
        ),
        Err(e) => Err(e.into()),
    }
}

/// `GET /login/mfa`: needs the session the password step created.
pub async fn mfa_form(
    session: Result<AnySession, WebError>,
    Query(q): Query<NextQuery>,
) -> Result<Response, PageError> {
    let next = safe_next(q.next.as_deref()).to_owned();
    if session.is_err() {
        return Ok(see_other(&format!("/login?next={}", urlencode(&next))));
    }
    render_status(
        StatusCode::OK,
        &MfaPage {
            chrome: Chrome::public(),
            next,
            error: None,
        },
    )
}

/// `POST /login/mfa`.
pub async fn mfa_submit(
    State(state): State<AppState>,
    session: Result<AnySession, WebError>,
    PageForm(form): PageForm<MfaForm>,
) -> Result<Response, PageError> {
    let next = safe_next(form.next.as_deref()).to_owned();
    let Ok(session) = session else {
        return Ok(see_other(&format!("/login?next={}", urlencode(&next))));
    };
    match pass_mfa(&state, &session, form.code.trim()).await {
        Ok(token) => Ok(with_cookie(
            see_other(&next),
            token.set_cookie(state.secure_cookies),
        )),
        Err(WebError::Unauthorized) => render_status(
            StatusCode::UNAUTHORIZED,
            &MfaPage {
                chrome: Chrome::public(),
                next,
                error: Some(BAD_CODE),
            },
        ),
        // No authenticator enrolled: the password was all there is.
        Err(WebError::Client {
            code: "mfa_not_enrolled",
            ..
        }) => Ok(see_other(&next)),
        Err(e) => Err(e.into()),
    }
}

/// `POST /logout`: ends the session if there is one, clears the cookie,
/// back to the sign-in page.
pub async fn logout(
    State(state): State<AppState>,
    session: Result<AnySession, WebError>,
) -> Result<Response, PageError> {
    if let Ok(session) = session {
        sign_out(&state, &session).await?;
    }
    Ok(with_cookie(
        see_other("/login"),
        clear_cookie(state.secure_cookies),
    ))
}
