//! Public sign-up (`/signup`): a form over the same function as
//! `POST /api/v1/auth/signup` ([`create_account`]), then straight to the
//! authenticator enrolment page, which an owner must pass before any other.

use super::{Chrome, PageError, PageForm, render, render_status, see_other};
use crate::auth::with_cookie;
use crate::routes::account::create_account;
use crate::{AppState, WebError};
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

/// Routes of this area.
pub fn routes() -> Router<AppState> {
    Router::new().route("/signup", get(signup_form).post(signup_submit))
}

/// The sign-up page.
#[derive(Template)]
#[template(path = "signup.html")]
pub struct SignUpPage {
    /// Layout.
    pub chrome: Chrome,
    /// The organisation name typed (kept after a failure).
    pub organisation: String,
    /// The address typed (kept after a failure).
    pub email: String,
    /// The failure to show, if any (never echoes the password).
    pub error: Option<String>,
}

/// The sign-up form body.
#[derive(Debug, Deserialize)]
pub struct SignUpForm {
    /// The organisation's name.
    pub organisation: String,
    /// The owner's address.
    pub email: String,
    /// The owner's password.
    pub password: String,
}

/// `GET /signup`.
pub async fn signup_form() -> Result<Response, PageError> {
    render(&SignUpPage {
        chrome: Chrome::public(),
        organisation: String::new(),
        email: String::new(),
        error: None,
    })
}

/// `POST /signup`: on success a session cookie and a 303 to `/account/mfa`;
/// a refused form is shown again with the reason and what was typed.
pub async fn signup_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    PageForm(form): PageForm<SignUpForm>,
) -> Result<Response, PageError> {
    match create_account(
        &state,
        &headers,
        &form.organisation,
        &form.email,
        form.password,
    )
    .await
    {
        Ok(done) => Ok(with_cookie(
            see_other("/account/mfa"),
            done.token.set_cookie(state.secure_cookies),
        )),
        Err(WebError::Client {
            status, message, ..
        }) => render_status(
            status,
            &SignUpPage {
                chrome: Chrome::public(),
                organisation: form.organisation.chars().take(200).collect(),
                email: form.email.chars().take(320).collect(),
                error: Some(message),
            },
        ),
        Err(e) => Err(e.into()),
    }
}
