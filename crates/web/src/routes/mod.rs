//! The HTTP routes: health probes, the auth API and the tenant API.

pub mod auth;
pub mod cases;
pub mod health;
pub mod messages;
pub mod supplier_changes;
pub mod supplier_import;
pub mod suppliers;

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
