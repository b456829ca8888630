//! The two error types of the crypto module: one for loading keys, one for using them.
//!
//! Neither ever carries key material, plaintext or a piece of the input that
//! could be either. A keyring error names the entry (by number, or by key id
//! once the id has been checked to be a well-formed id) and what is wrong with
//! it; a decryption error says only "cannot decrypt" plus, at most, the key id,
//! which is public by design (it is written in clear in every ciphertext).

use std::path::PathBuf;

/// Why a keyring could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyringError {
    /// The environment variable holding the keyring is not set or not UTF-8.
    #[error("environment variable {var} is not set (or is not valid UTF-8)")]
    NotSet {
        /// The variable's name.
        var: String,
    },
    /// The key file could not be read.
    #[error("cannot read key file {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The key file can be read or written by users other than its owner.
    #[error(
        "key file {} is accessible to group or others (mode {mode:o}); run `chmod 600` on it",
        path.display()
    )]
    PermissionsTooOpen {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// An entry is not of the form `name = value`.
    #[error("keyring entry {entry} is not of the form `name = value`")]
    Malformed {
        /// 1-based entry number (line number in a file).
        entry: usize,
    },
    /// An entry's name, or a key id, is not 1 to 16 lower-case letters or digits.
    #[error("keyring entry {entry}: a key id must be 1 to 16 lower-case letters or digits")]
    BadKeyId {
        /// 1-based entry number.
        entry: usize,
    },
    /// The `bi` entry is not `<key id>:<base64 key>`.
    #[error("keyring entry {entry}: `bi` must be `<key id>:<base64 key>`")]
    BadBlindIndexEntry {
        /// 1-based entry number.
        entry: usize,
    },
    /// A key value is not valid standard (padded) base64.
    #[error("key {id}: value is not valid standard base64")]
    BadBase64 {
        /// Which key (`sign` for the signing seed).
        id: String,
    },
    /// A key value does not decode to 32 bytes.
    #[error("key {id}: decodes to {found} bytes, expected 32")]
    WrongLength {
        /// Which key.
        id: String,
        /// How many bytes it decoded to.
        found: usize,
    },
    /// The same name appears twice.
    #[error("keyring entry {entry}: {id} is defined twice")]
    DuplicateId {
        /// 1-based entry number of the second definition.
        entry: usize,
        /// The repeated name.
        id: String,
    },
    /// There is no `current` entry.
    #[error("keyring has no `current` entry naming the key for new encryptions")]
    MissingCurrent,
    /// `current` names a key that is not defined.
    #[error("keyring `current` names key {id}, which is not defined")]
    UnknownCurrent {
        /// The id `current` names.
        id: String,
    },
    /// There is no `bi` (blind-index) entry.
    #[error("keyring has no `bi` entry (blind-index key)")]
    MissingBlindIndexKey,
    /// Two entries hold the same secret; every key must be independent.
    #[error(
        "keys {first} and {second} hold the same bytes; every key must be generated separately"
    )]
    KeyReused {
        /// One of them.
        first: String,
        /// The other.
        second: String,
    },
    /// The operating system's random number generator failed.
    #[error("the system random number generator failed")]
    Rng,
}

/// Why encrypting, decrypting, signing or verifying failed.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum CryptoError {
    /// The bytes are not a Sentra v1 ciphertext at all.
    #[error("cannot decrypt: not a sentra v1 ciphertext")]
    Malformed,
    /// The ciphertext names a key the keyring does not hold (retired or never loaded).
    #[error("cannot decrypt: key {key_id} is not in the keyring")]
    UnknownKey {
        /// The key id written in the ciphertext.
        key_id: String,
    },
    /// Authentication failed: wrong key, wrong place (row, column, table, org) or tampered bytes.
    #[error("cannot decrypt")]
    Decrypt,
    /// Encryption failed (the system random number generator failed).
    #[error("cannot encrypt")]
    Encrypt,
    /// The keyring has no checkpoint signing key.
    #[error("no checkpoint signing key is configured")]
    NoSigningKey,
    /// A checkpoint body is empty or contains a blank line or control characters.
    #[error("checkpoint body must be non-empty text without blank lines or control characters")]
    BadCheckpointBody,
    /// A public key is not 32 base64-encoded bytes of a valid Ed25519 point.
    #[error("not an Ed25519 public key")]
    BadPublicKey,
    /// The text is not a signed note (body, blank line, signature lines).
    #[error("not a signed checkpoint note")]
    MalformedNote,
    /// No signature line by the given key verifies.
    #[error("checkpoint signature does not verify")]
    BadSignature,
}
