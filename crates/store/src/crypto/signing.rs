//! Ed25519 signatures over audit checkpoints, in the C2SP signed-note format,
//! so a copy of the per-org chain heads kept outside the database proves
//! whether the audit log was later rewritten or truncated.
//!
//! A note is the body text (ending in a newline, without blank lines), a blank
//! line, then signature lines `— <key name> <base64(key hash || signature)>`.
//! The key name is [`KEY_NAME`]; the key hash is the first four bytes of
//! `SHA-256(name || "\n" || 0x01 || public key)`, so a verifier holding several
//! keys (or a witness's co-signature on the same note) can tell lines apart.
//! The signature covers the body bytes, final newline included. The signing
//! seed comes from the keyring (`sign = ...`), never from the database.

use super::error::CryptoError;
use super::keyring::Keyring;
use base64ct::{Base64, Encoding};
use ed25519_dalek::{Signature, Signer, VerifyingKey};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;

/// The signer's name on every Sentra checkpoint signature line.
pub const KEY_NAME: &str = "sentra";

/// C2SP's signature type byte for Ed25519.
const ALG_ED25519: u8 = 0x01;
const SIG_PREFIX: &str = "\u{2014} ";

/// A published checkpoint verification key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointPublicKey(VerifyingKey);

impl CheckpointPublicKey {
    /// From the 32 raw public-key bytes; refuses bytes that are not a curve point.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, CryptoError> {
        VerifyingKey::from_bytes(bytes)
            .map(Self)
            .map_err(|_| CryptoError::BadPublicKey)
    }

    /// From standard base64, as printed by [`Self::to_base64`].
    pub fn from_base64(text: &str) -> Result<Self, CryptoError> {
        let mut bytes = [0u8; 32];
        let decoded =
            Base64::decode(text.trim(), &mut bytes).map_err(|_| CryptoError::BadPublicKey)?;
        if decoded.len() != 32 {
            return Err(CryptoError::BadPublicKey);
        }
        Self::from_bytes(&bytes)
    }

    /// The 32 raw bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// Standard base64 of the 32 bytes, for publishing.
    pub fn to_base64(&self) -> String {
        Base64::encode_string(self.0.as_bytes())
    }

    /// The C2SP verifier key string `sentra+<key hash hex>+<base64(0x01 || key)>`
    /// that note-verifying tools and witnesses take.
    pub fn verifier_key(&self) -> String {
        let hash = self.key_hash().iter().fold(String::new(), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        });
        let mut typed = vec![ALG_ED25519];
        typed.extend_from_slice(self.0.as_bytes());
        format!("{KEY_NAME}+{hash}+{}", Base64::encode_string(&typed))
    }

    fn key_hash(&self) -> [u8; 4] {
        let mut hasher = Sha256::new();
        hasher.update(KEY_NAME.as_bytes());
        hasher.update(b"\n");
        hasher.update([ALG_ED25519]);
        hasher.update(self.0.as_bytes());
        let digest = hasher.finalize();
        let mut hash = [0u8; 4];
        hash.iter_mut().zip(digest).for_each(|(h, d)| *h = d);
        hash
    }
}

/// The keyring's checkpoint public key.
pub fn checkpoint_public_key(keys: &Keyring) -> Result<CheckpointPublicKey, CryptoError> {
    keys.signing_key()
        .map(|k| CheckpointPublicKey(k.verifying_key()))
        .ok_or(CryptoError::NoSigningKey)
}

/// The keyring's checkpoint public key in standard base64, for publishing.
pub fn public_key_base64(keys: &Keyring) -> Result<String, CryptoError> {
    checkpoint_public_key(keys).map(|k| k.to_base64())
}

/// Signs a checkpoint body and returns the signed note.
///
/// A final newline is added to `body` if missing. The body must be non-empty
/// and contain no blank line (which would end it early) and no control
/// character other than newline.
pub fn sign_checkpoint(keys: &Keyring, body: &str) -> Result<String, CryptoError> {
    let signing = keys.signing_key().ok_or(CryptoError::NoSigningKey)?;
    sign_note_with(signing, body)
}

/// Signs `body` as a signed note with an explicit key (the audit module's
/// seed-based entry point and [`sign_checkpoint`] share it, so there is one
/// implementation of the note format). Same body rules as [`sign_checkpoint`].
pub fn sign_note_with(
    signing: &ed25519_dalek::SigningKey,
    body: &str,
) -> Result<String, CryptoError> {
    let mut text = body.to_owned();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    let well_formed = text.len() > 1
        && !text.starts_with('\n')
        && !text.contains("\n\n")
        && !text.chars().any(|c| c.is_control() && c != '\n');
    if !well_formed {
        return Err(CryptoError::BadCheckpointBody);
    }
    let public = CheckpointPublicKey(signing.verifying_key());
    let signature = signing.sign(text.as_bytes());
    let mut blob = public.key_hash().to_vec();
    blob.extend_from_slice(&signature.to_bytes());
    text.push('\n');
    text.push_str(SIG_PREFIX);
    text.push_str(KEY_NAME);
    text.push(' ');
    text.push_str(&Base64::encode_string(&blob));
    text.push('\n');
    Ok(text)
}

/// Verifies a signed note against `public_key` and returns its body (with its
/// final newline). Signature lines by other keys (witness co-signatures) are
/// ignored; at least one line must be by this key and verify.
pub fn verify_checkpoint(
    public_key: &CheckpointPublicKey,
    note: &str,
) -> Result<String, CryptoError> {
    let split = note.find("\n\n").ok_or(CryptoError::MalformedNote)?;
    let (body, signatures) = note.split_at(split + 1);
    let signatures = signatures
        .strip_prefix('\n')
        .filter(|s| !s.is_empty() && s.ends_with('\n'))
        .ok_or(CryptoError::MalformedNote)?;
    let want_hash = public_key.key_hash();
    let mut verified = false;
    for line in signatures.lines() {
        let (name, blob) = line
            .strip_prefix(SIG_PREFIX)
            .and_then(|rest| rest.split_once(' '))
            .ok_or(CryptoError::MalformedNote)?;
        let blob = Base64::decode_vec(blob).map_err(|_| CryptoError::MalformedNote)?;
        let Some((hash, sig)) = blob.split_first_chunk::<4>() else {
            return Err(CryptoError::MalformedNote);
        };
        if name != KEY_NAME || *hash != want_hash {
            continue;
        }
        let sig: &[u8; 64] = sig.try_into().map_err(|_| CryptoError::BadSignature)?;
        public_key
            .0
            .verify_strict(body.as_bytes(), &Signature::from_bytes(sig))
            .map_err(|_| CryptoError::BadSignature)?;
        verified = true;
    }
    if verified {
        Ok(body.to_owned())
    } else {
        Err(CryptoError::BadSignature)
    }
}

#[cfg(test)]
mod tests;
