//! The public contact form's enquiries (a global table: no organisation).
//! Business contact and qualification only: name, work email, company,
//! phone, company size, message.

use crate::{AppPool, StoreError};

/// An enquiry, already validated by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEnquiry {
    /// Full name (1–200 characters).
    pub name: String,
    /// Work email (3–320).
    pub email: String,
    /// Company (≤ 200).
    pub company: Option<String>,
    /// Phone (≤ 40).
    pub phone: Option<String>,
    /// Company size band (≤ 40).
    pub company_size: Option<String>,
    /// Message (≤ 4,000).
    pub message: Option<String>,
}

/// Stores an enquiry.
pub async fn create(pool: &AppPool, e: &NewEnquiry) -> Result<uuid::Uuid, StoreError> {
    Ok(sqlx::query_scalar(
        "insert into contact_enquiry (name, email, company, phone, company_size, message)
         values ($1, $2, $3, $4, $5, $6) returning id",
    )
    .bind(&e.name)
    .bind(&e.email)
    .bind(e.company.as_deref())
    .bind(e.phone.as_deref())
    .bind(e.company_size.as_deref())
    .bind(e.message.as_deref())
    .fetch_one(pool.pool())
    .await?)
}

/// Enquiries stored in the last `secs` seconds (a global brake on floods
/// that per-address throttling cannot see).
pub async fn count_recent(pool: &AppPool, secs: i64) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "select count(*) from contact_enquiry where created_at > now() - make_interval(secs => $1)",
    )
    .bind(secs as f64)
    .fetch_one(pool.pool())
    .await?)
}
