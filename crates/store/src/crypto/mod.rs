//! The store's cryptography, pure and synchronous: no database, no I/O except
//! reading the key file.
//!
//! - [`keyring`]: the keys, loaded from `SENTRA_KEYS` or a mode-600 key file,
//!   never from the database.
//! - [`aead`]: XChaCha20-Poly1305 field encryption bound to table, column, org
//!   and row, with a self-describing `v1.<key id>.` header for key rotation.
//! - [`blind`]: per-org, per-purpose HMAC-SHA-256 blind indexes for finding an
//!   encrypted bank account by equality.
//! - [`mask`]: the one masked clear form of a bank account the store keeps.
//! - [`signing`]: Ed25519 signed notes (C2SP format) over audit checkpoints.
//!
//! Errors never carry key material or plaintext ([`KeyringError`],
//! [`CryptoError`]).

// Ciphertexts, notes and key files are untrusted input: like the engine, this
// module must not be able to panic on them (clippy.toml allows these in tests).
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

pub mod aead;
pub mod blind;
mod error;
pub mod keyring;
pub mod mask;
pub mod signing;

pub use aead::{FieldContext, decrypt, encrypt, key_id_of, needs_reencrypt, reencrypt};
pub use blind::{BANK_ACCOUNT, BlindIndex, bank_account_index, blind_index};
pub use error::{CryptoError, KeyringError};
pub use keyring::{KeyId, Keyring, generate_config, permissions_too_open};
pub use mask::masked_display;
/// Secrets handed out by repositories (tokens) are wrapped so they are wiped
/// on drop and never printed by `Debug`.
pub use secrecy::{ExposeSecret, SecretString};
pub use signing::{
    CheckpointPublicKey, checkpoint_public_key, public_key_base64, sign_checkpoint, sign_note_with,
    verify_checkpoint,
};
