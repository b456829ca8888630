//! The keyring: every secret the store uses, loaded from configuration and never
//! from the database, so a database dump or backup alone reveals nothing.
//!
//! It holds the data-encryption keys (one of them *current*, used for new
//! writes; older ones kept only to read and re-encrypt old rows), the
//! blind-index root key (separate from the data keys because blind-index inputs
//! have low entropy: with the key, a 10^14 account space is brute-forceable),
//! and the optional Ed25519 seed that signs audit checkpoints.
//!
//! # Format
//!
//! One text format serves both the `SENTRA_KEYS` environment variable and the
//! key file. Entries are separated by `;` or newlines; blank entries and entries
//! starting with `#` are ignored; each entry is `name = value`, and the value may
//! be wrapped in double quotes, so a flat TOML file of strings is accepted too.
//!
//! ```text
//! current = "k2"                 # the data key for new encryptions
//! k1 = "<base64 of 32 bytes>"    # any other name [a-z0-9]{1,16} is a data key
//! k2 = "<base64 of 32 bytes>"
//! bi = "b1:<base64 of 32 bytes>" # blind-index root key, with its own id
//! sign = "<base64 of 32 bytes>"  # optional Ed25519 seed for checkpoints
//! ```
//!
//! Values are standard padded base64 (`openssl rand -base64 32`). The names
//! `current`, `bi` and `sign` are reserved and cannot be data key ids. Every
//! key must be distinct: reusing bytes across roles is refused.

use super::error::KeyringError;
use base64ct::{Base64, Encoding};
use chacha20poly1305::aead::Generate;
use ed25519_dalek::SigningKey;
use secrecy::{ExposeSecret, SecretBox};
use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::path::Path;
use zeroize::Zeroizing;

/// The environment variable [`Keyring::from_env`] reads.
pub const ENV_VAR: &str = "SENTRA_KEYS";

/// A key file is a few hundred bytes; anything much larger is not one.
const MAX_FILE_LEN: u64 = 64 * 1024;

/// The name of a key: 1 to 16 lower-case ASCII letters or digits. Written in
/// clear in every ciphertext and blind index, so it must never be secret.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(String);

impl KeyId {
    /// Accepts `[a-z0-9]{1,16}`.
    pub fn parse(s: &str) -> Option<Self> {
        let ok = (1..=16).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        ok.then(|| Self(s.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for KeyId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A 256-bit secret, boxed so moves never leave copies, wiped on drop.
type Secret32 = SecretBox<[u8; 32]>;

/// The store's keys. `Debug` shows key ids only.
pub struct Keyring {
    current: KeyId,
    data: BTreeMap<KeyId, Secret32>,
    blind: (KeyId, Secret32),
    signing: Option<SigningKey>,
}

impl Keyring {
    /// Loads the keyring from the `SENTRA_KEYS` environment variable.
    pub fn from_env() -> Result<Self, KeyringError> {
        Self::from_env_var(ENV_VAR)
    }

    /// Loads the keyring from the named environment variable.
    pub fn from_env_var(var: &str) -> Result<Self, KeyringError> {
        let text = Zeroizing::new(std::env::var(var).map_err(|_| KeyringError::NotSet {
            var: var.to_owned(),
        })?);
        Self::parse(&text)
    }

    /// Loads the keyring from a key file, refusing one that group or others
    /// can access (see [`permissions_too_open`]).
    pub fn from_file(path: &Path) -> Result<Self, KeyringError> {
        let io = |source| KeyringError::Io {
            path: path.to_owned(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let meta = file.metadata().map_err(io)?;
        if permissions_too_open(&meta) {
            return Err(KeyringError::PermissionsTooOpen {
                path: path.to_owned(),
                mode: mode_of(&meta),
            });
        }
        if meta.len() > MAX_FILE_LEN {
            return Err(io(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "file is too large to be a key file",
            )));
        }
        // Sized up front so reading never reallocates and strands an unwiped copy.
        let mut text = Zeroizing::new(String::with_capacity(meta.len() as usize + 1));
        file.take(MAX_FILE_LEN)
            .read_to_string(&mut text)
            .map_err(io)?;
        Self::parse(&text)
    }

    /// A keyring of fresh random keys (with a signing key), for tests and local
    /// development. Insecure only in that the keys exist nowhere else: data
    /// encrypted under it is lost when the process exits.
    pub fn generate_insecure_dev() -> Result<Self, KeyringError> {
        Self::parse(&generate_config()?)
    }

    /// Parses keyring text in the format described in the module docs.
    pub fn parse(text: &str) -> Result<Self, KeyringError> {
        let mut current = None;
        let mut data = BTreeMap::new();
        let mut blind = None;
        let mut signing = None;
        for (index, raw) in text.split(['\n', ';']).enumerate() {
            let entry = index + 1;
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((name, value)) = line.split_once('=') else {
                return Err(KeyringError::Malformed { entry });
            };
            let (name, value) = (name.trim(), unquote(value.trim()));
            let duplicate = || KeyringError::DuplicateId {
                entry,
                id: name.to_owned(),
            };
            match name {
                "current" => {
                    if current.is_some() {
                        return Err(duplicate());
                    }
                    current = Some(KeyId::parse(value).ok_or(KeyringError::BadKeyId { entry })?);
                }
                "bi" => {
                    if blind.is_some() {
                        return Err(duplicate());
                    }
                    let (id, key) = value
                        .split_once(':')
                        .ok_or(KeyringError::BadBlindIndexEntry { entry })?;
                    let id = KeyId::parse(id.trim()).ok_or(KeyringError::BadKeyId { entry })?;
                    let key = decode_key(id.as_str(), key.trim())?;
                    blind = Some((id, key));
                }
                "sign" => {
                    if signing.is_some() {
                        return Err(duplicate());
                    }
                    let seed = decode_key("sign", value)?;
                    signing = Some(SigningKey::from_bytes(seed.expose_secret()));
                }
                other => {
                    let id = KeyId::parse(other).ok_or(KeyringError::BadKeyId { entry })?;
                    if data.contains_key(&id) {
                        return Err(duplicate());
                    }
                    let key = decode_key(other, value)?;
                    data.insert(id, key);
                }
            }
        }
        let current = current.ok_or(KeyringError::MissingCurrent)?;
        if !data.contains_key(&current) {
            return Err(KeyringError::UnknownCurrent { id: current.0 });
        }
        let blind = blind.ok_or(KeyringError::MissingBlindIndexKey)?;
        let keyring = Self {
            current,
            data,
            blind,
            signing,
        };
        keyring.check_keys_distinct()?;
        Ok(keyring)
    }

    /// Refuses a keyring where two roles share key bytes, which would void the
    /// separation between encryption, blind indexing and signing.
    fn check_keys_distinct(&self) -> Result<(), KeyringError> {
        let mut all: Vec<(String, &[u8; 32])> = self
            .data
            .iter()
            .map(|(id, key)| (id.0.clone(), key.expose_secret()))
            .collect();
        all.push((format!("bi:{}", self.blind.0), self.blind.1.expose_secret()));
        if let Some(signing) = &self.signing {
            all.push(("sign".to_owned(), signing.as_bytes()));
        }
        for (i, (first, a)) in all.iter().enumerate() {
            if let Some((second, _)) = all.iter().skip(i + 1).find(|(_, b)| a == b) {
                return Err(KeyringError::KeyReused {
                    first: first.clone(),
                    second: second.clone(),
                });
            }
        }
        Ok(())
    }

    /// The id of the key new encryptions use.
    pub fn current_key_id(&self) -> &KeyId {
        &self.current
    }

    /// The ids of all data keys held, current or retired-but-readable.
    pub fn key_ids(&self) -> impl Iterator<Item = &KeyId> {
        self.data.keys()
    }

    /// Whether the keyring holds the data key with this id.
    pub fn has_key(&self, id: &str) -> bool {
        self.data.contains_key(id)
    }

    /// The id of the blind-index root key, stored beside each blind index.
    pub fn blind_index_key_id(&self) -> &KeyId {
        &self.blind.0
    }

    /// Whether a checkpoint signing key is configured.
    pub fn has_signing_key(&self) -> bool {
        self.signing.is_some()
    }

    /// The data key with this id.
    pub(crate) fn data_key(&self, id: &str) -> Option<&[u8; 32]> {
        self.data.get(id).map(ExposeSecret::expose_secret)
    }

    /// The blind-index root key and its id.
    pub(crate) fn blind_key(&self) -> (&KeyId, &[u8; 32]) {
        (&self.blind.0, self.blind.1.expose_secret())
    }

    /// The checkpoint signing key.
    pub(crate) fn signing_key(&self) -> Option<&SigningKey> {
        self.signing.as_ref()
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("current", &self.current.0)
            .field(
                "data_keys",
                &self.data.keys().map(KeyId::as_str).collect::<Vec<_>>(),
            )
            .field("blind_index_key", &self.blind.0.0)
            .field("signing_key", &self.signing.is_some())
            .finish()
    }
}

/// Whether a key file's permissions let anyone but its owner read or write it.
/// Always `false` off Unix, where there are no mode bits to check.
pub fn permissions_too_open(meta: &std::fs::Metadata) -> bool {
    mode_of(meta) & 0o077 != 0
}

#[cfg(unix)]
fn mode_of(meta: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o7777
}

#[cfg(not(unix))]
fn mode_of(_meta: &std::fs::Metadata) -> u32 {
    0
}

/// A fresh keyring in the file format, with random `k1`, `b1` and signing keys,
/// for `sentra keys generate`-style setup. Write it to a mode-600 file.
pub fn generate_config() -> Result<Zeroizing<String>, KeyringError> {
    let mut out = Zeroizing::new(String::with_capacity(512));
    out.push_str(
        "# Sentra keyring: keep this file mode 600, outside the database and its backups.\n",
    );
    out.push_str("current = \"k1\"\n");
    for (prefix, id) in [("k1 = \"", ""), ("bi = \"", "b1:"), ("sign = \"", "")] {
        out.push_str(prefix);
        out.push_str(id);
        out.push_str(&random_key_base64()?);
        out.push_str("\"\n");
    }
    Ok(out)
}

fn random_key_base64() -> Result<Zeroizing<String>, KeyringError> {
    let key = Zeroizing::new(<[u8; 32]>::try_generate().map_err(|_| KeyringError::Rng)?);
    Ok(Zeroizing::new(Base64::encode_string(&*key)))
}

fn unquote(value: &str) -> &str {
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value)
}

/// Decodes a base64 key. `id` must already be a checked id or a reserved name,
/// so the error can name it without ever echoing the value.
fn decode_key(id: &str, value: &str) -> Result<Secret32, KeyringError> {
    let mut buf = Zeroizing::new(vec![0u8; value.len()]);
    let decoded = Base64::decode(value, buf.as_mut_slice())
        .map_err(|_| KeyringError::BadBase64 { id: id.to_owned() })?;
    if decoded.len() != 32 {
        return Err(KeyringError::WrongLength {
            id: id.to_owned(),
            found: decoded.len(),
        });
    }
    Ok(SecretBox::init_with_mut(|key: &mut [u8; 32]| {
        key.copy_from_slice(decoded);
    }))
}

/// Keyrings with known keys for the crypto module's tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::Keyring;
    use base64ct::{Base64, Encoding};
    use std::fmt::Write as _;

    /// Base64 of 32 bytes of `fill`.
    pub(crate) fn key_b64(fill: u8) -> String {
        Base64::encode_string(&[fill; 32])
    }

    /// A keyring with data keys `(id, fill byte)`, `current` as given, and a
    /// blind-index key `b1` of fill `0xB1`.
    pub(crate) fn keyring(current: &str, keys: &[(&str, u8)]) -> Keyring {
        let mut text = format!("current={current};bi=b1:{}", key_b64(0xB1));
        for (id, fill) in keys {
            let _ = write!(text, ";{id}={}", key_b64(*fill));
        }
        Keyring::parse(&text).unwrap()
    }
}

#[cfg(test)]
mod tests;
