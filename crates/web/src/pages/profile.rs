//! The account page (`/account`, anyone signed in): profile, password
//! change, the authenticator and recovery codes, the live sessions (this
//! one marked) and personal API tokens. Each form posts to the same
//! function as the JSON API, so checks and the one audit event per change
//! are shared; a refused form shows the page again with the reason and
//! nothing written. A new token and new recovery codes are shown once.

use super::account::CodesPage;
use super::problem::Problem;
use super::{Chrome, PageError, PageForm, PageSession, render, render_status, see_other, when};
use crate::routes::{account, password, profile, tokens};
use crate::session::{CurrentUser, require_step_up};
use crate::{AppState, WebError};
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use sentra_domain::UserId;
use sentra_store::TenantTx;
use sentra_store::repo::{api_token, session};
use serde::Deserialize;

/// Routes of this area.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/account", get(show))
        .route("/account/profile", post(profile_submit))
        .route("/account/password", post(password_submit))
        .route("/account/recovery-codes", post(codes_submit))
        .route("/account/sessions/{id}/revoke", post(session_revoke))
        .route("/account/tokens", post(token_create))
        .route("/account/tokens/{id}/revoke", post(token_revoke))
}

/// One live session.
pub struct SessionRow {
    /// Its handle.
    pub id: String,
    /// The browser, as it said.
    pub agent: String,
    /// Signed in at.
    pub created: String,
    /// Last used at.
    pub last_seen: String,
    /// Whether it is the one looking.
    pub current: bool,
}

/// One personal API token (never its value).
pub struct TokenRow {
    /// Its id.
    pub id: String,
    /// Its label.
    pub name: String,
    /// Made at.
    pub created: String,
    /// Expires at, or "never".
    pub expires: String,
    /// Last used at, or "never".
    pub last_used: String,
}

/// The account page.
#[derive(Template)]
#[template(path = "account/index.html")]
pub struct AccountPage {
    /// Layout.
    pub chrome: Chrome,
    /// The profile.
    pub profile: profile::Profile,
    /// The name field's value.
    pub name: String,
    /// Live sessions.
    pub sessions: Vec<SessionRow>,
    /// API tokens.
    pub tokens: Vec<TokenRow>,
    /// A token just made, shown once.
    pub new_token: Option<String>,
    /// The copy-button script's path.
    pub copy_js: &'static str,
    /// Whether a step-up is fresh.
    pub stepped_up: bool,
    /// What just happened.
    pub notice: Option<&'static str>,
    /// Problems with what was sent.
    pub problems: Vec<Problem>,
}

/// `?done=`.
#[derive(Debug, Deserialize)]
pub struct DoneQuery {
    /// What was done.
    pub done: Option<String>,
}

/// The profile form.
#[derive(Debug, Deserialize)]
pub struct ProfileForm {
    /// The name.
    pub name: String,
}

/// The password form.
#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    /// The password now.
    pub current_password: String,
    /// The new one.
    pub new_password: String,
    /// The new one again.
    pub confirm_password: String,
}

/// The new-token form.
#[derive(Debug, Deserialize)]
pub struct TokenForm {
    /// Label.
    pub name: String,
    /// Days until it expires; empty for never.
    #[serde(default)]
    pub expires_in_days: String,
}

/// Who is looking, for building the page after the request's own
/// transaction is gone.
struct Viewer {
    user: UserId,
    org: sentra_domain::OrgId,
    mfa_at: Option<i64>,
    current: uuid::Uuid,
    chrome: Chrome,
}

async fn viewer(page: PageSession, who: &CurrentUser) -> Result<Viewer, PageError> {
    let current = who.session()?.public_id;
    let v = Viewer {
        user: page.user,
        org: page.org,
        mfa_at: page.mfa_at,
        current,
        chrome: page.chrome("/account"),
    };
    // Account changes run in their own transaction; this one only read.
    page.tx.rollback().await?;
    Ok(v)
}

async fn build(
    state: &AppState,
    v: Viewer,
    notice: Option<&'static str>,
    problems: Vec<Problem>,
    new_token: Option<String>,
) -> Result<AccountPage, PageError> {
    let profile = profile::load(state, v.user).await?;
    let sessions = session::list_for_user(&state.pool, v.user)
        .await?
        .into_iter()
        .map(|s| SessionRow {
            id: s.public_id.to_string(),
            agent: s.user_agent.unwrap_or_else(|| "Unknown browser".to_owned()),
            created: when(s.created_at),
            last_seen: when(s.last_seen_at),
            current: s.public_id == v.current,
        })
        .collect();
    let mut tx = TenantTx::begin(&state.pool, v.org, Some(v.user)).await?;
    let tokens = api_token::list_for_user(&mut tx, v.user)
        .await?
        .into_iter()
        .map(|t| TokenRow {
            id: t.id.to_string(),
            name: t.name,
            created: when(t.created_at),
            expires: t.expires_at.map_or_else(|| "never".to_owned(), when),
            last_used: t.last_used_at.map_or_else(|| "never".to_owned(), when),
        })
        .collect();
    tx.commit().await?;
    Ok(AccountPage {
        chrome: v.chrome,
        name: profile.name.clone().unwrap_or_default(),
        profile,
        sessions,
        tokens,
        new_token,
        copy_js: crate::assets::copy_js_href(),
        stepped_up: require_step_up(v.mfa_at).is_ok(),
        notice,
        problems,
    })
}

/// The page again with the problem `e` describes on `field`.
async fn refused(
    state: &AppState,
    v: Viewer,
    e: WebError,
    field: &'static str,
) -> Result<Response, PageError> {
    let (status, problem) = Problem::from_web(e, field)?;
    render_status(status, &build(state, v, None, vec![problem], None).await?)
}

/// `GET /account`.
pub async fn show(
    State(state): State<AppState>,
    page: PageSession,
    who: Result<CurrentUser, WebError>,
    Query(q): Query<DoneQuery>,
) -> Result<Response, PageError> {
    let v = viewer(page, &who?).await?;
    let notice = match q.done.as_deref() {
        Some("profile") => Some("Profile saved."),
        Some("password") => Some("Password changed. Your other sessions were signed out."),
        Some("session") => Some("Session signed out."),
        Some("token") => Some("Token revoked: it no longer works."),
        _ => None,
    };
    render(&build(&state, v, notice, Vec::new(), None).await?)
}

/// `POST /account/profile`.
pub async fn profile_submit(
    State(state): State<AppState>,
    page: PageSession,
    who: Result<CurrentUser, WebError>,
    PageForm(form): PageForm<ProfileForm>,
) -> Result<Response, PageError> {
    let who = who?;
    let v = viewer(page, &who).await?;
    match profile::set_name(&state, &who, &form.name).await {
        Ok(()) => Ok(see_other("/account?done=profile")),
        Err(e) => refused(&state, v, e, "name").await,
    }
}

/// `POST /account/password`: the current password and the new one twice.
pub async fn password_submit(
    State(state): State<AppState>,
    page: PageSession,
    who: Result<CurrentUser, WebError>,
    PageForm(form): PageForm<PasswordForm>,
) -> Result<Response, PageError> {
    let who = who?;
    let v = viewer(page, &who).await?;
    if form.new_password != form.confirm_password {
        let e = WebError::bad_request("mismatch", "the two new passwords are not the same");
        return refused(&state, v, e, "confirm_password").await;
    }
    match password::change(&state, &who, form.current_password, form.new_password).await {
        Ok(_) => Ok(see_other("/account?done=password")),
        Err(e @ WebError::Unauthorized) => refused(&state, v, e, "current_password").await,
        Err(e) => refused(&state, v, e, "new_password").await,
    }
}

/// `POST /account/recovery-codes`: new codes (step-up), shown once.
pub async fn codes_submit(
    State(state): State<AppState>,
    page: PageSession,
    who: Result<CurrentUser, WebError>,
) -> Result<Response, PageError> {
    let who = who?;
    let v = viewer(page, &who).await?;
    match password::regenerate(&state, &who).await {
        Ok(codes) => render(&CodesPage {
            chrome: v.chrome,
            codes,
        }),
        Err(e) => refused(&state, v, e, "").await,
    }
}

/// `POST /account/sessions/{id}/revoke`: signs that session out (this one
/// too, if chosen: then on to the sign-in page).
pub async fn session_revoke(
    State(state): State<AppState>,
    page: PageSession,
    who: Result<CurrentUser, WebError>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let who = who?;
    let v = viewer(page, &who).await?;
    let id = crate::routes::parse_uuid(&id)?;
    account::revoke_own_session(&state, v.user, id).await?;
    if id == v.current {
        return Ok(see_other("/login"));
    }
    Ok(see_other("/account?done=session"))
}

/// `POST /account/tokens`: a new token, shown once on the page.
pub async fn token_create(
    State(state): State<AppState>,
    mut page: PageSession,
    who: Result<CurrentUser, WebError>,
    PageForm(form): PageForm<TokenForm>,
) -> Result<Response, PageError> {
    let who = who?;
    let days = match form.expires_in_days.trim() {
        "" => Ok(None),
        d => d.parse::<i32>().map(Some).map_err(|_| {
            WebError::bad_request("invalid_expiry", "the expiry must be a number of days")
        }),
    };
    let made = match days {
        Ok(days) => tokens::create_in(&mut page.tx, page.user, &form.name, days).await,
        Err(e) => Err(e),
    };
    match made {
        Ok((_, text)) => {
            let chrome = page.chrome("/account");
            let (user, org, mfa_at) = (page.user, page.org, page.mfa_at);
            page.tx.commit().await?;
            let v = Viewer {
                user,
                org,
                mfa_at,
                current: who.session()?.public_id,
                chrome,
            };
            let notice = Some("Token made. Copy it now: it is shown only this once.");
            render(&build(&state, v, notice, Vec::new(), Some(text)).await?)
        }
        Err(e) => {
            let field = match &e {
                WebError::Client {
                    code: "invalid_expiry",
                    ..
                } => "token_days",
                _ => "token_name",
            };
            let v = viewer(page, &who).await?;
            refused(&state, v, e, field).await
        }
    }
}

/// `POST /account/tokens/{id}/revoke`.
pub async fn token_revoke(
    mut page: PageSession,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = crate::routes::parse_uuid(&id)?;
    tokens::revoke_in(&mut page.tx, page.user, id).await?;
    page.tx.commit().await?;
    Ok(see_other("/account?done=token"))
}
