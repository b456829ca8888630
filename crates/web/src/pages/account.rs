//! Account pages: authenticator enrolment (`/account/mfa`, QR code, the
//! key to type by hand, confirmation) and the recovery codes shown once.
//! Plain form posts over the same functions as the JSON API
//! ([`crate::routes::account`]).

use super::{Chrome, PageError, PageForm, render, render_status, see_other};
use crate::auth::with_cookie;
use crate::routes::account::{confirm_enrolment, pending_enrolment, start_enrolment};
use crate::session::CurrentUser;
use crate::{AppState, WebError};
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

/// Routes of this area.
pub fn routes() -> Router<AppState> {
    Router::new().route("/account/mfa", get(enrol_form).post(enrol_submit))
}

/// The enrolment page.
#[derive(Template)]
#[template(path = "mfa_enrol.html")]
pub struct EnrolPage {
    /// Layout.
    pub chrome: Chrome,
    /// The QR code (SVG made by us from the `otpauth://` URI, not input).
    pub qr_svg: String,
    /// The key, base32.
    pub secret: String,
    /// The failure to show, if any.
    pub error: Option<&'static str>,
}

/// The recovery codes page.
#[derive(Template)]
#[template(path = "recovery_codes.html")]
pub struct CodesPage {
    /// Layout.
    pub chrome: Chrome,
    /// The ten codes.
    pub codes: Vec<String>,
}

/// The enrolment form body.
#[derive(Debug, Deserialize)]
pub struct CodeForm {
    /// The 6-digit code.
    pub code: String,
}

fn signed_out(e: &WebError) -> bool {
    matches!(e, WebError::Unauthorized)
}

/// `GET /account/mfa`: shows the pending enrolment, or starts one.
pub async fn enrol_form(
    State(state): State<AppState>,
    who: Result<CurrentUser, WebError>,
) -> Result<Response, PageError> {
    let who = match who {
        Ok(w) => w,
        Err(e) if signed_out(&e) => return Ok(see_other("/login?next=%2Faccount%2Fmfa")),
        Err(e) => return Err(e.into()),
    };
    let enrolment = match pending_enrolment(&state, &who).await? {
        Some(e) => e,
        None => start_enrolment(&state, &who).await?,
    };
    render(&EnrolPage {
        chrome: Chrome::public(),
        qr_svg: enrolment.qr_svg,
        secret: enrolment.secret,
        error: None,
    })
}

/// `POST /account/mfa`: confirms with the first code, then shows the
/// recovery codes once.
pub async fn enrol_submit(
    State(state): State<AppState>,
    who: Result<CurrentUser, WebError>,
    PageForm(form): PageForm<CodeForm>,
) -> Result<Response, PageError> {
    let who = match who {
        Ok(w) => w,
        Err(e) if signed_out(&e) => return Ok(see_other("/login?next=%2Faccount%2Fmfa")),
        Err(e) => return Err(e.into()),
    };
    match confirm_enrolment(&state, &who, form.code.trim()).await {
        Ok((cookie, codes)) => {
            let page = render(&CodesPage {
                chrome: Chrome::public(),
                codes,
            })?;
            Ok(with_cookie(page, cookie))
        }
        Err(WebError::Client {
            code: "wrong_code", ..
        }) => {
            let Some(e) = pending_enrolment(&state, &who).await? else {
                return Ok(see_other("/account/mfa"));
            };
            render_status(
                StatusCode::BAD_REQUEST,
                &EnrolPage {
                    chrome: Chrome::public(),
                    qr_svg: e.qr_svg,
                    secret: e.secret,
                    error: Some("That code was not accepted. Type the code the app shows now."),
                },
            )
        }
        Err(WebError::Client {
            code: "no_enrolment",
            ..
        }) => Ok(see_other("/account/mfa")),
        Err(e) => Err(e.into()),
    }
}
