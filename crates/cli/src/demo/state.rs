//! The demo folder (`.sentra/demo/` by default): its lock, its key file and
//! what the first start created (database passwords, the demo logins), so a
//! second start reuses everything and prints the same logins.
//!
//! Everything secret in it is mode 0600; the lock is an advisory `flock`
//! held for the life of the demo, so a second demo on the same folder stops
//! with a clear message instead of fighting over the database.

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::fs::File;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` with mode 0600 (replacing any older file).
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let _ = std::fs::remove_file(path);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// 32 random bytes as hex: passwords nobody types.
pub(crate) fn random_hex(bytes: usize) -> anyhow::Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(buf.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    }))
}

/// One demo login.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Login {
    /// `owner`, `approver` or `clerk`.
    pub role: String,
    /// Display name.
    pub name: String,
    /// Sign-in address.
    pub email: String,
    /// Password.
    pub password: String,
    /// Base32 TOTP secret, when MFA is enrolled.
    pub totp_secret: Option<String>,
}

/// What the first start created.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct DemoState {
    /// The private server's superuser password.
    pub superuser_password: String,
    /// The schema owner's password.
    pub owner_password: String,
    /// The `sentra_app` role's password.
    pub app_password: String,
    /// The demo organisation, once seeded.
    pub org_id: Option<String>,
    /// The demo Microsoft 365 mailbox, once seeded.
    #[serde(default)]
    pub mailbox_id: Option<String>,
    /// The logins, once seeded.
    pub logins: Vec<Login>,
    /// How many corpus messages were delivered.
    pub seeded_messages: usize,
}

/// The demo folder, locked for this process.
#[derive(Debug)]
pub(crate) struct DemoDir {
    /// Absolute path.
    pub path: PathBuf,
    _lock: File,
}

impl DemoDir {
    /// Creates (when needed) and locks `path`. With `reset`, everything in
    /// it except the lock is removed first; `before_reset` runs under the
    /// lock before anything is removed (to stop a server left running).
    pub(crate) fn open(
        path: &Path,
        reset: bool,
        before_reset: impl FnOnce(&Path),
    ) -> anyhow::Result<Self> {
        std::fs::create_dir_all(path)
            .with_context(|| format!("creating the demo folder {}", path.display()))?;
        let path = path
            .canonicalize()
            .with_context(|| format!("resolving {}", path.display()))?;
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(path.join("lock"))
            .context("opening the demo lock file")?;
        if rustix::fs::flock(&lock, rustix::fs::FlockOperation::NonBlockingLockExclusive).is_err() {
            anyhow::bail!(
                "another `sentra demo` is using {}; stop it first, or give this one its own folder with --data-dir",
                path.display()
            );
        }
        if reset {
            before_reset(&path);
            for entry in std::fs::read_dir(&path)? {
                let entry = entry?;
                if entry.file_name() == "lock" {
                    continue;
                }
                let p = entry.path();
                if p.is_dir() {
                    std::fs::remove_dir_all(&p)
                } else {
                    std::fs::remove_file(&p)
                }
                .with_context(|| format!("removing {}", p.display()))?;
            }
        }
        Ok(Self { path, _lock: lock })
    }

    fn state_path(&self) -> PathBuf {
        self.path.join("state.json")
    }

    /// Whether an earlier start saved its state here.
    pub(crate) fn has_state(&self) -> bool {
        self.state_path().exists()
    }

    /// The saved state, or a fresh one with new random passwords.
    pub(crate) fn load_state(&self) -> anyhow::Result<DemoState> {
        match std::fs::read(self.state_path()) {
            Ok(bytes) => serde_json::from_slice(&bytes).context("reading the demo state.json"),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(DemoState {
                superuser_password: random_hex(24)?,
                owner_password: random_hex(24)?,
                app_password: random_hex(24)?,
                ..DemoState::default()
            }),
            Err(e) => Err(e).context("reading the demo state.json"),
        }
    }

    /// Saves `state` (mode 0600).
    pub(crate) fn save_state(&self, state: &DemoState) -> anyhow::Result<()> {
        write_private(&self.state_path(), &serde_json::to_vec_pretty(state)?)
    }

    /// The demo's key file, generated on the first start (mode 0600): the
    /// data it encrypts must stay readable on the next start.
    pub(crate) fn keys(&self) -> anyhow::Result<sentra_store::crypto::Keyring> {
        let path = self.path.join("keys");
        if !path.is_file() {
            let config = sentra_store::crypto::generate_config().context("generating demo keys")?;
            write_private(&path, config.as_bytes())?;
        }
        sentra_store::crypto::Keyring::from_file(&path)
            .with_context(|| format!("reading the demo keys {}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_open_of_one_folder_is_refused_and_reset_keeps_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let first = DemoDir::open(dir.path(), false, |_| {}).unwrap();
        std::fs::write(first.path.join("state.json"), "{}").unwrap();
        let err = DemoDir::open(dir.path(), false, |_| {})
            .unwrap_err()
            .to_string();
        assert!(err.contains("another `sentra demo`"), "{err}");
        drop(first);
        let again = DemoDir::open(dir.path(), true, |_| {}).unwrap();
        assert!(!again.path.join("state.json").exists());
        assert!(again.path.join("lock").exists());
    }
}
