//! Bearer secrets that name their organisation: personal API tokens and
//! invitation links. The text is `<prefix><org id, 32 hex>_<128 random
//! bits, 32 hex>`; the database keeps only the SHA-256 of the whole text.
//!
//! Naming the organisation in the token lets the lookup run inside that
//! organisation's tenant transaction, under row-level security like any
//! tenant read, instead of through a cross-tenant lookup function. The
//! organisation id is not a secret; the 128 random bits are.

use crate::WebError;
use crate::session::hex;
use sentra_domain::OrgId;
use sha2::{Digest, Sha256};

/// Personal API tokens start with this.
pub const API_TOKEN_PREFIX: &str = "sentra_pat_";
/// Invitation tokens start with this.
pub const INVITATION_PREFIX: &str = "inv_";
/// Password reset tokens start with this (they name no organisation).
pub const RESET_PREFIX: &str = "rst_";

/// 128 random bits as 32 hex digits.
pub fn random_hex() -> Result<String, WebError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|_| WebError::internal("no randomness"))?;
    Ok(hex(&bytes))
}

/// The hex SHA-256 of `text`: what the database stores for a token.
pub fn storage_hash(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

/// A token bound to an organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgToken {
    /// The organisation it belongs to.
    pub org: OrgId,
    text: String,
}

fn is_hex32(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

impl OrgToken {
    /// A fresh token for `org`.
    pub fn generate(prefix: &str, org: OrgId) -> Result<Self, WebError> {
        let text = format!("{prefix}{}_{}", org.as_uuid().simple(), random_hex()?);
        Ok(Self { org, text })
    }

    /// Parses a presented token; `None` for anything malformed.
    pub fn parse(prefix: &str, text: &str) -> Option<Self> {
        let rest = text.strip_prefix(prefix)?;
        let (org, secret) = rest.split_once('_')?;
        if !is_hex32(org) || !is_hex32(secret) {
            return None;
        }
        let org = uuid::Uuid::parse_str(org).ok()?;
        Some(Self {
            org: OrgId::from_uuid(org),
            text: text.to_owned(),
        })
    }

    /// The text to show once.
    pub fn reveal(&self) -> &str {
        &self.text
    }

    /// What the database stores.
    pub fn storage_hash(&self) -> String {
        storage_hash(&self.text)
    }
}

/// A password reset token: `rst_` and 128 random bits.
pub fn reset_token() -> Result<String, WebError> {
    Ok(format!("{RESET_PREFIX}{}", random_hex()?))
}

/// Whether `text` looks like a reset token (cheap pre-check).
pub fn is_reset_token(text: &str) -> bool {
    text.strip_prefix(RESET_PREFIX).is_some_and(is_hex32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_malformed_ones_are_refused() {
        let org = OrgId::new();
        let t = OrgToken::generate(API_TOKEN_PREFIX, org).unwrap_or_else(|_| OrgToken {
            org,
            text: String::new(),
        });
        let back = OrgToken::parse(API_TOKEN_PREFIX, t.reveal());
        assert_eq!(back.as_ref().map(|b| b.org), Some(org));
        assert_eq!(t.storage_hash().len(), 64);
        assert!(OrgToken::parse(INVITATION_PREFIX, t.reveal()).is_none());
        for bad in ["", "sentra_pat_", "sentra_pat_xyz_abc", &t.reveal()[..40]] {
            assert!(OrgToken::parse(API_TOKEN_PREFIX, bad).is_none(), "{bad}");
        }
        let r = reset_token().unwrap_or_default();
        assert!(is_reset_token(&r) && !is_reset_token("rst_zz"));
    }
}
