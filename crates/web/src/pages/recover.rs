//! Password reset pages (public): ask for a link (`/password-reset`: the
//! same answer whether or not the address has an account, throttled per
//! client address and per sign-in address), then the link's page
//! (`/password-reset/confirm?token=…`: a new password, the token used up,
//! every session ended), then on to sign in. Over the same functions as
//! the JSON API ([`crate::routes::password`]).

use super::problem::Problem;
use super::{Chrome, PageError, PageForm, render, render_status};
use crate::routes::password::{RESET_REQUESTED, confirm, request};
use crate::{AppState, WebError};
use askama::Template;
use axum::Router;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use std::net::SocketAddr;

/// Routes of this area.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/password-reset", get(request_form).post(request_submit))
        .route(
            "/password-reset/confirm",
            get(confirm_form).post(confirm_submit),
        )
}

/// The request page.
#[derive(Template)]
#[template(path = "reset/request.html")]
pub struct RequestPage {
    /// Layout.
    pub chrome: Chrome,
    /// The address typed.
    pub email: String,
    /// Whether the request was taken (the one answer for every address).
    pub sent: bool,
    /// The answer shown once sent.
    pub answer: &'static str,
    /// Problems with what was sent.
    pub problems: Vec<Problem>,
}

/// The new-password page.
#[derive(Template)]
#[template(path = "reset/confirm.html")]
pub struct ConfirmPage {
    /// Layout.
    pub chrome: Chrome,
    /// The token from the link (posted back; never logged).
    pub token: String,
    /// Whether the password was changed.
    pub done: bool,
    /// Problems with what was sent.
    pub problems: Vec<Problem>,
}

/// The request form.
#[derive(Debug, Deserialize)]
pub struct RequestForm {
    /// The address.
    pub email: String,
}

/// `?token=`.
#[derive(Debug, Deserialize)]
pub struct TokenQuery {
    /// The token from the mailed link.
    #[serde(default)]
    pub token: String,
}

/// The new-password form.
#[derive(Debug, Deserialize)]
pub struct ConfirmForm {
    /// The token.
    pub token: String,
    /// The new password.
    pub password: String,
    /// Again.
    pub confirm_password: String,
}

fn too_many() -> Problem {
    Problem::new(
        "",
        "Too many attempts from your network; please wait a minute and try again.",
    )
}

/// `GET /password-reset`.
pub async fn request_form() -> Result<Response, PageError> {
    render(&RequestPage {
        chrome: Chrome::public(),
        email: String::new(),
        sent: false,
        answer: RESET_REQUESTED,
        problems: Vec::new(),
    })
}

/// `POST /password-reset`: the same page and answer for every address.
pub async fn request_submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    PageForm(form): PageForm<RequestForm>,
) -> Result<Response, PageError> {
    if !state.limiter.allow(peer.ip()) {
        return render_status(
            StatusCode::TOO_MANY_REQUESTS,
            &RequestPage {
                chrome: Chrome::public(),
                email: form.email,
                sent: false,
                answer: RESET_REQUESTED,
                problems: vec![too_many()],
            },
        );
    }
    if form.email.trim().is_empty() {
        return render_status(
            StatusCode::BAD_REQUEST,
            &RequestPage {
                chrome: Chrome::public(),
                email: String::new(),
                sent: false,
                answer: RESET_REQUESTED,
                problems: vec![Problem::new("email", "Enter your email address.")],
            },
        );
    }
    request(&state, &form.email).await?;
    render(&RequestPage {
        chrome: Chrome::public(),
        email: form.email,
        sent: true,
        answer: RESET_REQUESTED,
        problems: Vec::new(),
    })
}

/// `GET /password-reset/confirm?token=…`: the new-password form.
pub async fn confirm_form(Query(q): Query<TokenQuery>) -> Result<Response, PageError> {
    render(&ConfirmPage {
        chrome: Chrome::public(),
        token: q.token,
        done: false,
        problems: Vec::new(),
    })
}

/// `POST /password-reset/confirm`: sets the password, then offers sign-in.
pub async fn confirm_submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    PageForm(form): PageForm<ConfirmForm>,
) -> Result<Response, PageError> {
    let again = |status, problem| {
        render_status(
            status,
            &ConfirmPage {
                chrome: Chrome::public(),
                token: form.token.clone(),
                done: false,
                problems: vec![problem],
            },
        )
    };
    if !state.limiter.allow(peer.ip()) {
        return again(StatusCode::TOO_MANY_REQUESTS, too_many());
    }
    if form.password != form.confirm_password {
        return again(
            StatusCode::BAD_REQUEST,
            Problem::new("confirm_password", "The two passwords are not the same."),
        );
    }
    match confirm(&state, &form.token, form.password.clone()).await {
        Ok(_) => render(&ConfirmPage {
            chrome: Chrome::public(),
            token: String::new(),
            done: true,
            problems: Vec::new(),
        }),
        Err(e) => {
            let gone = matches!(
                e,
                WebError::Client {
                    code: "reset_invalid",
                    ..
                }
            );
            let (status, problem) = Problem::from_web(e, "password")?;
            let problem = if gone {
                Problem::new("", problem.message)
            } else {
                problem
            };
            again(status, problem)
        }
    }
}
