//! The invitation link's page (`/invitations/accept?token=…`): shows the
//! organisation and the role offered; a new address chooses a name and a
//! password, an existing account signs in first and then accepts. A new
//! person who must have an authenticator (owners, admins, or everyone when
//! the organisation says so) goes straight on to enrol one. Over the same
//! functions as the JSON API ([`crate::routes::invitations`]).

use super::problem::Problem;
use super::{Chrome, PageError, PageForm, render, render_status, see_other, urlencode};
use crate::auth::{must_enrol, with_cookie};
use crate::routes::invitations::{Peeked, accept_invitation, peek};
use crate::session::AnySession;
use crate::{AppState, WebError};
use askama::Template;
use axum::Router;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use std::net::SocketAddr;

/// Routes of this area.
pub fn routes() -> Router<AppState> {
    Router::new().route("/invitations/accept", get(show).post(submit))
}

/// Who is looking, as the page needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    /// Nobody signed in.
    Nobody,
    /// The invited account, signed in.
    Invitee,
    /// Someone else, signed in.
    Other,
}

/// The accept page.
#[derive(Template)]
#[template(path = "invitations/accept.html")]
pub struct AcceptPage {
    /// Layout.
    pub chrome: Chrome,
    /// The token (posted back; never logged).
    pub token: String,
    /// What the invitation offers.
    pub inv: Peeked,
    /// Who is looking.
    pub viewer: Viewer,
    /// Where sign-in should come back to.
    pub sign_in_href: String,
    /// The name typed (kept after a problem).
    pub name: String,
    /// Problems with what was sent.
    pub problems: Vec<Problem>,
}

/// `?token=`.
#[derive(Debug, Deserialize)]
pub struct TokenQuery {
    /// The token from the link.
    #[serde(default)]
    pub token: String,
}

/// The accept form.
#[derive(Debug, Deserialize)]
pub struct AcceptForm {
    /// The token.
    pub token: String,
    /// The new account's name.
    #[serde(default)]
    pub name: Option<String>,
    /// The new account's password.
    #[serde(default)]
    pub password: Option<String>,
    /// Again.
    #[serde(default)]
    pub confirm_password: Option<String>,
}

async fn page(
    state: &AppState,
    headers: &HeaderMap,
    token: &str,
    name: String,
    problems: Vec<Problem>,
) -> Result<AcceptPage, PageError> {
    let inv = peek(state, token).await?;
    let viewer = match AnySession::from_headers(headers, state).await? {
        Some(s) if s.mfa_verified => {
            let me = sentra_store::repo::user::get(&state.pool, s.user).await?;
            if me.email.eq_ignore_ascii_case(&inv.email) {
                Viewer::Invitee
            } else {
                Viewer::Other
            }
        }
        _ => Viewer::Nobody,
    };
    let back = format!("/invitations/accept?token={}", urlencode(token));
    Ok(AcceptPage {
        chrome: Chrome::public(),
        token: token.to_owned(),
        inv,
        viewer,
        sign_in_href: format!("/login?next={}", urlencode(&back)),
        name,
        problems,
    })
}

/// `GET /invitations/accept?token=…` (410 page for a used or expired link).
pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<TokenQuery>,
) -> Result<Response, PageError> {
    render(&page(&state, &headers, &q.token, String::new(), Vec::new()).await?)
}

/// `POST /invitations/accept`: joins, then on to the dashboard (or to the
/// authenticator enrolment when the new account needs one).
pub async fn submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    PageForm(form): PageForm<AcceptForm>,
) -> Result<Response, PageError> {
    let name = form.name.clone().unwrap_or_default();
    let refuse = async |status: StatusCode, problem: Problem| {
        let p = page(&state, &headers, &form.token, name.clone(), vec![problem]).await?;
        render_status(status, &p)
    };
    if !state.limiter.allow(peer.ip()) {
        let p = Problem::new(
            "",
            "Too many attempts from your network; please wait a minute.",
        );
        return refuse(StatusCode::TOO_MANY_REQUESTS, p).await;
    }
    if form.password.is_some() && form.password != form.confirm_password {
        let p = Problem::new("confirm_password", "The two passwords are not the same.");
        return refuse(StatusCode::BAD_REQUEST, p).await;
    }
    let done = accept_invitation(
        &state,
        &headers,
        &form.token,
        form.password.clone(),
        form.name.as_deref(),
    )
    .await;
    match done {
        Ok(accepted) => {
            let Some(cookie) = accepted.new_session else {
                return Ok(see_other("/"));
            };
            let next = if must_enrol(&state, accepted.user).await? {
                "/account/mfa"
            } else {
                "/"
            };
            Ok(with_cookie(
                see_other(next),
                cookie.set_cookie(state.secure_cookies),
            ))
        }
        Err(
            e @ WebError::Client {
                code: "invitation_invalid",
                ..
            },
        ) => Err(e.into()),
        Err(e) => {
            let field = match &e {
                WebError::Client {
                    code: "invalid_name",
                    ..
                } => "name",
                _ => "password",
            };
            let (status, p) = Problem::from_web(e, field)?;
            refuse(status, p).await
        }
    }
}
