//! Public pages, no session needed: the security and data statement,
//! privacy, terms, and the contact form.
//!
//! The contact form collects business contact and qualification only
//! (name, work email, company, phone, company size, message) into
//! `contact_enquiry`. It is throttled per address ([`CONTACT_PER_ADDRESS`]
//! per [`CONTACT_WINDOW`]) and globally ([`CONTACT_GLOBAL_PER_HOUR`]), and
//! carries a honeypot field (`website`, hidden from people): a submission
//! that fills it is thanked and dropped.

use super::{Chrome, PageError, PageForm, render, render_status};
use crate::AppState;
use askama::Template;
use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use sentra_domain::EmailAddress;
use sentra_store::repo::contact::{self, NewEnquiry};
use serde::Deserialize;
use std::net::SocketAddr;
use std::time::Duration;

/// Submissions per client address per window.
pub const CONTACT_PER_ADDRESS: u32 = 5;
/// The per-address window.
pub const CONTACT_WINDOW: Duration = Duration::from_mins(10);
/// Stored enquiries per hour, all clients together.
pub const CONTACT_GLOBAL_PER_HOUR: i64 = 200;
/// The company size bands offered.
pub const SIZES: &[&str] = &["1-9", "10-49", "50-249", "250+"];

/// Routes of this area.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/security", get(security))
        .route("/privacy", get(privacy))
        .route("/terms", get(terms))
        .route("/contact", get(contact_form).post(contact_submit))
}

/// A static public page.
#[derive(Template)]
#[template(path = "public/security.html")]
pub struct SecurityPage {
    /// Layout.
    pub chrome: Chrome,
}

/// The privacy notice.
#[derive(Template)]
#[template(path = "public/privacy.html")]
pub struct PrivacyPage {
    /// Layout.
    pub chrome: Chrome,
}

/// The terms.
#[derive(Template)]
#[template(path = "public/terms.html")]
pub struct TermsPage {
    /// Layout.
    pub chrome: Chrome,
}

/// `GET /security`.
pub async fn security() -> Result<Response, PageError> {
    render(&SecurityPage {
        chrome: Chrome::public(),
    })
}

/// `GET /privacy`.
pub async fn privacy() -> Result<Response, PageError> {
    render(&PrivacyPage {
        chrome: Chrome::public(),
    })
}

/// `GET /terms`.
pub async fn terms() -> Result<Response, PageError> {
    render(&TermsPage {
        chrome: Chrome::public(),
    })
}

/// The contact form's fields.
#[derive(Debug, Default, Deserialize)]
pub struct ContactForm {
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Work email.
    #[serde(default)]
    pub email: String,
    /// Company.
    pub company: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Size band.
    pub company_size: Option<String>,
    /// Message.
    pub message: Option<String>,
    /// The honeypot: people never see it.
    pub website: Option<String>,
}

/// The contact page.
#[derive(Template)]
#[template(path = "public/contact.html")]
pub struct ContactPage {
    /// Layout.
    pub chrome: Chrome,
    /// Values as typed.
    pub form: ContactForm,
    /// Problems, one per line.
    pub errors: Vec<String>,
    /// Whether it was sent.
    pub sent: bool,
    /// Size bands.
    pub sizes: &'static [&'static str],
}

fn page(form: ContactForm, errors: Vec<String>, sent: bool) -> ContactPage {
    ContactPage {
        chrome: Chrome::public(),
        form,
        errors,
        sent,
        sizes: SIZES,
    }
}

/// `GET /contact`.
pub async fn contact_form() -> Result<Response, PageError> {
    render(&page(ContactForm::default(), Vec::new(), false))
}

fn optional(s: Option<&str>, max: usize, what: &str, errors: &mut Vec<String>) -> Option<String> {
    let s = s.map(str::trim).filter(|s| !s.is_empty())?;
    if s.chars().count() > max {
        errors.push(format!("{what} is longer than {max} characters."));
        return None;
    }
    Some(s.to_owned())
}

/// Checks the form; the enquiry, or what is wrong.
pub fn validate(form: &ContactForm) -> Result<NewEnquiry, Vec<String>> {
    let mut errors = Vec::new();
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        errors.push("Enter your name (up to 200 characters).".to_owned());
    }
    let email = form.email.trim();
    if email.len() > 320 || EmailAddress::parse(email).is_err() {
        errors.push("Enter a valid work email address.".to_owned());
    }
    let company = optional(form.company.as_deref(), 200, "Company", &mut errors);
    let phone = optional(form.phone.as_deref(), 40, "Phone", &mut errors);
    if phone.as_deref().is_some_and(|p| {
        !p.chars()
            .all(|c| c.is_ascii_digit() || " +()-.".contains(c))
    }) {
        errors.push("A phone number has only digits, spaces and + ( ) - .".to_owned());
    }
    let company_size = optional(
        form.company_size.as_deref(),
        40,
        "Company size",
        &mut errors,
    );
    if company_size.as_deref().is_some_and(|s| !SIZES.contains(&s)) {
        errors.push("Choose a company size from the list.".to_owned());
    }
    let message = optional(form.message.as_deref(), 4000, "Message", &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(NewEnquiry {
        name: name.to_owned(),
        email: email.to_owned(),
        company,
        phone,
        company_size,
        message,
    })
}

/// `POST /contact`.
pub async fn contact_submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    PageForm(form): PageForm<ContactForm>,
) -> Result<Response, PageError> {
    if !state.contact_throttle.allow(peer.ip()) {
        return render_status(
            StatusCode::TOO_MANY_REQUESTS,
            &page(
                form,
                vec![
                    "Too many messages from your network; please try again in a few minutes."
                        .to_owned(),
                ],
                false,
            ),
        );
    }
    if form
        .website
        .as_deref()
        .is_some_and(|w| !w.trim().is_empty())
    {
        tracing::info!("contact form honeypot filled; dropped");
        return render(&page(ContactForm::default(), Vec::new(), true));
    }
    let enquiry = match validate(&form) {
        Ok(e) => e,
        Err(errors) => return render_status(StatusCode::BAD_REQUEST, &page(form, errors, false)),
    };
    if contact::count_recent(&state.pool, 3600).await? >= CONTACT_GLOBAL_PER_HOUR {
        return render_status(
            StatusCode::TOO_MANY_REQUESTS,
            &page(
                form,
                vec!["We are receiving a lot of messages; please try again later.".to_owned()],
                false,
            ),
        );
    }
    contact::create(&state.pool, &enquiry).await?;
    render(&page(ContactForm::default(), Vec::new(), true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_every_problem() {
        let bad = ContactForm {
            name: String::new(),
            email: "not-an-email".to_owned(),
            phone: Some("call me".to_owned()),
            company_size: Some("huge".to_owned()),
            ..ContactForm::default()
        };
        assert_eq!(validate(&bad).err().map(|e| e.len()), Some(4));
        let good = ContactForm {
            name: "Sam Builder".to_owned(),
            email: "sam@builder.example".to_owned(),
            phone: Some("+44 (0)20 7946 0000".to_owned()),
            company_size: Some("10-49".to_owned()),
            ..ContactForm::default()
        };
        assert!(validate(&good).is_ok());
    }
}
