//! Server-rendered HTML pages (askama templates in `crates/web/templates`,
//! htmx for partial updates, no inline script or style: the CSP is
//! `script-src 'self'; style-src 'self'`).
//!
//! # How to add a page
//!
//! 1. Write the template `templates/<area>/<page>.html`, starting with
//!    `{% extends "base.html" %}` and filling `{% block title %}` and
//!    `{% block content %}`. Never write `<script>` without `src`, `style=`
//!    attributes, `on*=` handlers or `hx-on` (a test scans every template).
//!    Forms `method="post"`; they are urlencoded and pass the origin check.
//! 2. In `src/pages/<area>.rs` (one module per area, `//!` doc first), a
//!    `#[derive(askama::Template)] #[template(path = "<area>/<page>.html")]`
//!    struct with a `chrome: Chrome` field (the layout reads it), and a thin
//!    handler:
//!    ```ignore
//!    pub async fn list(mut page: PageSession) -> Result<Response, PageError> {
//!        page.require(&[Role::Owner, Role::Admin])?; // 403 page otherwise
//!        let rows = some_repo::list(&mut page.tx).await?;  // queries live in store repos
//!        let chrome = page.finish("/things").await?;       // commits the transaction
//!        render(&ListPage { chrome, rows })
//!    }
//!    ```
//!    [`PageSession`] redirects the unauthenticated to `/login?next=…` (and
//!    a session still owing its TOTP to `/login/mfa`); [`PageError`] renders
//!    any error as an HTML page with the layout. Forms: extract
//!    [`PageForm<T>`] (a malformed body is a 400 page).
//! 3. Add a `pub fn routes() -> Router<AppState>` in the area module and one
//!    `.merge(area::routes())` line in [`routes`] below.
//! 4. Add the nav entry (label, path, roles) in [`nav::ITEMS`] if it is a
//!    top-level page.
//! 5. Tests: a module in `tests/api/` (the one test binary): 200 with the
//!    data for an allowed role, no other organisation's data, 303 to
//!    `/login` without a session, 403 page for a refused role.

pub mod account;
pub mod alerts;
pub mod audit;
pub mod auth;
pub mod cases;
pub mod error;
pub mod evidence;
pub mod home;
pub mod join;
pub mod mailboxes;
pub mod messages;
pub mod nav;
pub mod problem;
pub mod profile;
pub mod public;
pub mod recover;
pub mod settings;
pub mod signup;
pub mod step_up;
pub mod submit;
pub mod supplier_upload;
pub mod suppliers;
pub mod users;

use crate::session::{AnySession, CurrentUser, TenantSession};
use crate::{AppState, WebError};
use askama::Template;
use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use sentra_domain::{OrgId, Role, UserId};
use sentra_store::TenantTx;
use sentra_store::repo::organisation;
use serde::de::DeserializeOwned;

pub use error::PageError;

/// Every page route (public and signed-in); merged into the app router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(account::routes())
        .merge(profile::routes())
        .merge(auth::routes())
        .merge(audit::routes())
        .merge(messages::routes())
        .merge(cases::routes())
        .merge(alerts::routes())
        .merge(public::routes())
        .merge(join::routes())
        .merge(recover::routes())
        .merge(home::routes())
        .merge(mailboxes::routes())
        .merge(settings::routes())
        .merge(signup::routes())
        .merge(step_up::routes())
        .merge(submit::routes())
        .merge(suppliers::routes())
        .merge(supplier_upload::routes())
        .merge(users::routes())
        .route("/assets/{file}", axum::routing::get(crate::assets::serve))
}

/// What the layout (`base.html`) needs: asset paths, the navigation for the
/// signed-in person's role, and who is signed in where.
#[derive(Debug, Clone)]
pub struct Chrome {
    /// The stylesheet's path.
    pub css: &'static str,
    /// htmx's path.
    pub htmx: &'static str,
    /// The organisation's name (empty on public pages).
    pub org_name: String,
    /// The signed-in person's role (`None` on public pages).
    pub role: Option<Role>,
    /// The navigation entries this role may see.
    pub nav: Vec<nav::Link>,
}

impl Chrome {
    /// The layout for a page seen without a session.
    pub fn public() -> Self {
        Self {
            css: crate::assets::css_href(),
            htmx: crate::assets::htmx_href(),
            org_name: String::new(),
            role: None,
            nav: Vec::new(),
        }
    }

    /// Whether someone is signed in (shows the nav and the sign-out button).
    pub fn signed_in(&self) -> bool {
        self.role.is_some()
    }

    /// The role's spelling, empty on public pages.
    pub fn role_name(&self) -> &'static str {
        self.role.map_or("", Role::as_str)
    }
}

/// Renders `page` as a 200 HTML response.
pub fn render(page: &impl Template) -> Result<Response, PageError> {
    render_status(StatusCode::OK, page)
}

/// Renders `page` as HTML with `status`.
pub fn render_status(status: StatusCode, page: &impl Template) -> Result<Response, PageError> {
    let html = page
        .render()
        .map_err(|e| WebError::internal(format!("template: {e}")))?;
    Ok((
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        html,
    )
        .into_response())
}

/// A 303 to `to` (a same-site path).
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// A signed-in person on a page: like [`TenantSession`] (the organisation
/// from their membership, an open transaction), but its rejections are
/// pages: 303 to `/login?next=…` without a session, to `/login/mfa?next=…`
/// while the TOTP is still owed.
#[derive(Debug)]
pub struct PageSession {
    /// The user.
    pub user: UserId,
    /// Their organisation.
    pub org: OrgId,
    /// Their role there.
    pub role: Role,
    /// Unix seconds of the last second-factor check (step-up).
    pub mfa_at: Option<i64>,
    /// The organisation's display name.
    pub org_name: String,
    /// The transaction bound to `org`; commit it to keep writes.
    pub tx: TenantTx,
}

impl PageSession {
    /// 403 page unless the role is one of `allowed`.
    pub fn require(&self, allowed: &[Role]) -> Result<(), PageError> {
        if allowed.contains(&self.role) {
            Ok(())
        } else {
            Err(WebError::forbidden().into())
        }
    }

    /// Commits the transaction (reads are done) and returns the layout.
    pub async fn finish(self, current: &str) -> Result<Chrome, PageError> {
        let chrome = self.chrome(current);
        self.tx.commit().await?;
        Ok(chrome)
    }

    /// The layout for this person, `current` marking the nav entry shown.
    pub fn chrome(&self, current: &str) -> Chrome {
        Chrome {
            css: crate::assets::css_href(),
            htmx: crate::assets::htmx_href(),
            org_name: self.org_name.clone(),
            role: Some(self.role),
            nav: nav::for_role(self.role, current),
        }
    }
}

impl FromRequestParts<AppState> for PageSession {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let next = next_of(parts);
        let htmx = parts.headers.contains_key("hx-request");
        let any = match AnySession::from_request_parts(parts, state).await {
            Ok(any) => any,
            Err(WebError::Unauthorized) => return Err(PageError::SignIn { next, htmx }),
            Err(e) => return Err(e.into()),
        };
        // The account's authenticator state now, read with the session.
        if !any.mfa_verified && any.mfa_enrolled {
            return Err(PageError::Mfa { next, htmx });
        }
        let home_name = any.home.as_ref().map(|h| (h.org, h.org_name.clone()));
        let current = CurrentUser {
            user: any.user,
            mfa_enrolled: any.mfa_enrolled,
            mfa_at: any.mfa_at,
            credential: crate::session::Credential::Session(any),
        };
        let TenantSession {
            user,
            org,
            role,
            mfa_at,
            mut tx,
        } = TenantSession::open(state, &current).await?;
        // The session's home organisation is the one opened; the name came
        // with it.
        let org_name = match home_name {
            Some((home, name)) if home == org => name,
            _ => organisation::get(&mut tx).await?.name,
        };
        Ok(Self {
            user,
            org,
            role,
            mfa_at,
            org_name,
            tx,
        })
    }
}

/// The request's own path and query, to come back to after signing in.
fn next_of(parts: &Parts) -> String {
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", axum::http::uri::PathAndQuery::as_str);
    safe_next(Some(path)).to_owned()
}

/// `next` when it is a path on this site, else `/`: it must start with one
/// `/` (not `//` or `/\`, which browsers read as another host), hold no
/// control characters or backslashes, and be of sane length. Anything else
/// would make the sign-in form an open redirect.
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && n.len() <= 512
                && !n.contains('\\')
                && !n.chars().any(char::is_control) =>
        {
            n
        }
        _ => "/",
    }
}

/// `2026-03-01 09:30 UTC`: how pages show times.
pub fn when(at: time::OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    at.format(&format).unwrap_or_default()
}

/// A query string from `pairs`, skipping empty values (`?a=1&b=x`, or empty).
pub fn query_string(pairs: &[(&str, Option<&str>)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| {
            v.filter(|v| !v.is_empty())
                .map(|v| format!("{k}={}", urlencode(v)))
        })
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

/// Percent-encodes `s` for a query value (everything but unreserved bytes).
pub fn urlencode(s: &str) -> String {
    use std::fmt::Write as _;
    s.bytes()
        .fold(String::with_capacity(s.len()), |mut out, b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                out.push(b as char);
            } else {
                let _ = write!(out, "%{b:02X}");
            }
            out
        })
}

/// An urlencoded form body; a malformed one is a 400 page.
#[derive(Debug, Clone, Copy, Default)]
pub struct PageForm<T>(pub T);

impl<S, T> FromRequest<S> for PageForm<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = PageError;

    async fn from_request(req: Request, state: &S) -> Result<Self, PageError> {
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(value)) => Ok(Self(value)),
            Err(rejection) => Err(WebError::Client {
                status: rejection.status(),
                code: "bad_form",
                message: "the form could not be read; please go back and try again".to_owned(),
            }
            .into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_accepts_only_same_site_paths() {
        assert_eq!(safe_next(Some("/cases?x=1")), "/cases?x=1");
        assert_eq!(safe_next(Some("//evil.example/")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example/")), "/");
        assert_eq!(safe_next(Some("/a\nb")), "/");
        assert_eq!(safe_next(Some("")), "/");
        assert_eq!(safe_next(None), "/");
        assert_eq!(safe_next(Some(&format!("/{}", "a".repeat(600)))), "/");
    }

    #[test]
    fn urlencode_escapes_all_but_unreserved() {
        assert_eq!(urlencode("/cases?x=1&y=ü"), "%2Fcases%3Fx%3D1%26y%3D%C3%BC");
    }
}
