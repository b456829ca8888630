//! The HTTP routes: health probes, the auth and account API and the tenant API.

pub mod account;
pub mod alert_channels;
pub mod audit;
pub mod auth;
pub mod cases;
pub mod feedback;
pub mod graph_webhook;
pub mod health;
pub mod invitations;
pub mod invoices;
pub mod mailboxes;
pub mod messages;
pub mod password;
pub mod profile;
pub mod settings;
pub mod supplier_changes;
pub mod supplier_import;
pub mod suppliers;
pub mod tokens;
pub mod users;

use crate::WebError;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A path id as a UUID; anything malformed is a 404, like a missing id, so
/// the answer never tells a probe which ids have the right shape.
pub(crate) fn parse_uuid(s: &str) -> Result<uuid::Uuid, WebError> {
    uuid::Uuid::parse_str(s).map_err(|_| WebError::NotFound)
}

/// RFC 3339 in UTC (empty only if formatting fails, which it cannot for
/// timestamps Postgres returns).
pub(crate) fn rfc3339(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// A filter date: RFC 3339, or `YYYY-MM-DD` meaning that day's start in
/// UTC (or, with `end_of_day`, the next day's start, for an exclusive upper
/// bound). Blank is `None`; anything else a 400.
pub(crate) fn parse_when(
    s: Option<&str>,
    end_of_day: bool,
) -> Result<Option<OffsetDateTime>, WebError> {
    let Some(s) = s.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    if let Ok(at) = OffsetDateTime::parse(s, &Rfc3339) {
        return Ok(Some(at));
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let day = time::Date::parse(s, &format)
        .map_err(|_| WebError::bad_request("invalid_filter", "dates are YYYY-MM-DD"))?;
    let day = if end_of_day {
        day.next_day().unwrap_or(day)
    } else {
        day
    };
    Ok(Some(day.midnight().assume_utc()))
}
