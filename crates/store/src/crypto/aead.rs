//! Field encryption with XChaCha20-Poly1305, bound to the field's place.
//!
//! The associated data is `"sentra:v1:" || table || ":" || column || ":" ||
//! org_id || ":" || row_id`, so a ciphertext copied to another row, column,
//! table or organisation fails to decrypt instead of silently showing one
//! tenant's bank details to another. The 192-bit random nonce makes nonce
//! reuse negligible for the life of a key, with no counter to keep.
//!
//! # Ciphertext format (stored as `bytea`)
//!
//! ```text
//! b"v1." || key_id || b"." || nonce (24 bytes) || ciphertext || tag (16 bytes)
//! ```
//!
//! `key_id` is `[a-z0-9]{1,16}` in clear, so rotation ([`needs_reencrypt`],
//! [`reencrypt`]) and the "which rows still use key k1?" count can read it
//! without decrypting. The overhead is 44 bytes plus the key id.

use super::error::CryptoError;
use super::keyring::{KeyId, Keyring};
use chacha20poly1305::aead::{AeadInOut, Generate, KeyInit, Tag};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sentra_domain::OrgId;
use uuid::Uuid;
use zeroize::Zeroizing;

const PREFIX: &[u8] = b"v1.";
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
const MAX_KEY_ID_LEN: usize = 16;

/// Where an encrypted value lives; the ciphertext decrypts only here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FieldContext {
    /// Table name, e.g. `"supplier_bank_account"`. Must not contain `:`.
    pub table: &'static str,
    /// Column name, e.g. `"ciphertext"`. Must not contain `:`.
    pub column: &'static str,
    /// The owning organisation.
    pub org: OrgId,
    /// The row's primary key.
    pub row: Uuid,
}

impl FieldContext {
    /// A context for `table.column` of one row in one org.
    pub const fn new(table: &'static str, column: &'static str, org: OrgId, row: Uuid) -> Self {
        Self {
            table,
            column,
            org,
            row,
        }
    }

    /// The AEAD associated data. Org and row are fixed-length UUIDs and the
    /// names are code constants without `:`, so the encoding is unambiguous.
    pub fn associated_data(&self) -> Vec<u8> {
        debug_assert!(!self.table.contains(':') && !self.column.contains(':'));
        format!(
            "sentra:v1:{}:{}:{}:{}",
            self.table, self.column, self.org, self.row
        )
        .into_bytes()
    }
}

/// Encrypts `plaintext` for `ctx` under the keyring's current key.
///
/// Fails only if the system random number generator fails.
pub fn encrypt(
    keys: &Keyring,
    ctx: &FieldContext,
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let id = keys.current_key_id();
    let cipher = cipher_for(keys, id.as_str()).ok_or(CryptoError::Encrypt)?;
    let nonce = XNonce::try_generate().map_err(|_| CryptoError::Encrypt)?;
    let header_len = PREFIX.len() + id.as_str().len() + 1 + NONCE_LEN;
    let mut out = Vec::with_capacity(header_len + plaintext.len() + TAG_LEN);
    out.extend_from_slice(PREFIX);
    out.extend_from_slice(id.as_str().as_bytes());
    out.push(b'.');
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plaintext);
    // Encrypting in place means the output buffer never holds the plaintext
    // once this returns.
    let body = out.get_mut(header_len..).ok_or(CryptoError::Encrypt)?;
    let tag = cipher
        .encrypt_inout_detached(&nonce, &ctx.associated_data(), body.into())
        .map_err(|_| CryptoError::Encrypt)?;
    out.extend_from_slice(&tag);
    Ok(out)
}

/// Decrypts a ciphertext made by [`encrypt`] for the same `ctx`.
///
/// Any failure to authenticate (tampering, a different row, column, table or
/// org, a different key with the same id) is the same [`CryptoError::Decrypt`].
pub fn decrypt(
    keys: &Keyring,
    ctx: &FieldContext,
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let parts = Parts::parse(ciphertext).ok_or(CryptoError::Malformed)?;
    let cipher = cipher_for(keys, parts.key_id).ok_or_else(|| CryptoError::UnknownKey {
        key_id: parts.key_id.to_owned(),
    })?;
    let mut buf = Zeroizing::new(parts.body.to_vec());
    cipher
        .decrypt_inout_detached(
            parts.nonce,
            &ctx.associated_data(),
            buf.as_mut_slice().into(),
            parts.tag,
        )
        .map_err(|_| CryptoError::Decrypt)?;
    Ok(buf)
}

/// The key id written in a ciphertext, or `None` if it is not a v1 ciphertext.
pub fn key_id_of(ciphertext: &[u8]) -> Option<&str> {
    Parts::parse(ciphertext).map(|p| p.key_id)
}

/// Whether a ciphertext should be re-encrypted: its key is not the current
/// one. Also `true` for bytes that are not a v1 ciphertext, so a rotation job
/// surfaces them (its [`reencrypt`] call then fails) instead of skipping them.
pub fn needs_reencrypt(keys: &Keyring, ciphertext: &[u8]) -> bool {
    key_id_of(ciphertext) != Some(keys.current_key_id().as_str())
}

/// Decrypts with whichever key the ciphertext names and encrypts again under
/// the current key, with a fresh nonce, for the same place.
pub fn reencrypt(
    keys: &Keyring,
    ctx: &FieldContext,
    ciphertext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let plaintext = decrypt(keys, ctx, ciphertext)?;
    encrypt(keys, ctx, &plaintext)
}

fn cipher_for(keys: &Keyring, id: &str) -> Option<XChaCha20Poly1305> {
    let key = keys.data_key(id)?;
    XChaCha20Poly1305::new_from_slice(key).ok()
}

/// A ciphertext split into its fields, without copying.
struct Parts<'a> {
    key_id: &'a str,
    nonce: &'a XNonce,
    body: &'a [u8],
    tag: &'a Tag<XChaCha20Poly1305>,
}

impl<'a> Parts<'a> {
    fn parse(ciphertext: &'a [u8]) -> Option<Self> {
        let rest = ciphertext.strip_prefix(PREFIX)?;
        let dot = rest
            .iter()
            .take(MAX_KEY_ID_LEN + 1)
            .position(|&b| b == b'.')?;
        let (key_id, rest) = rest.split_at_checked(dot)?;
        let key_id = std::str::from_utf8(key_id).ok()?;
        KeyId::parse(key_id)?;
        let (nonce, rest) = rest.get(1..)?.split_at_checked(NONCE_LEN)?;
        let (body, tag) = rest.split_at_checked(rest.len().checked_sub(TAG_LEN)?)?;
        Some(Self {
            key_id,
            nonce: nonce.try_into().ok()?,
            body,
            tag: tag.try_into().ok()?,
        })
    }
}

#[cfg(test)]
mod tests;
