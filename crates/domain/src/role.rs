//! What a member may do within an organisation.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A member's role in one organisation. The spellings are the database
/// `membership.role` values and the API's. Ordered most powerful first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Created the organisation; everything, including deleting it.
    Owner,
    /// Manages members, mailboxes, suppliers and settings.
    Admin,
    /// Approves supplier bank-detail changes and releases held payments.
    Approver,
    /// Day-to-day accounts work: records suppliers, invoices and verifications.
    Clerk,
    /// Reads only.
    Viewer,
}

impl Role {
    /// Every role, most powerful first.
    pub const ALL: [Role; 5] = [
        Self::Owner,
        Self::Admin,
        Self::Approver,
        Self::Clerk,
        Self::Viewer,
    ];

    /// The stored spelling (`"owner"`, `"admin"`, …).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Admin => "admin",
            Self::Approver => "approver",
            Self::Clerk => "clerk",
            Self::Viewer => "viewer",
        }
    }

    /// Parses the stored spelling exactly (no case folding: the database
    /// constraint admits only lowercase).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_round_trips_through_its_spelling() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
            assert_eq!(role.to_string(), role.as_str());
        }
    }

    #[test]
    fn unknown_or_miscased_spellings_are_refused() {
        assert_eq!(Role::parse("Owner"), None);
        assert_eq!(Role::parse("superuser"), None);
        assert_eq!(Role::parse(""), None);
    }
}
