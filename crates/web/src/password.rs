//! Password hashing with argon2id (`RustCrypto` defaults: m = 19 MiB, t = 2,
//! p = 1, the OWASP baseline). Hashing is CPU-heavy, so async callers go
//! through [`verify_blocking`], which runs on the blocking pool.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

/// Hashes `password` into a PHC string with a fresh random salt.
pub fn hash(password: &str) -> Result<String, crate::WebError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|_| crate::WebError::internal("password hashing failed"))
}

/// Whether `password` matches the PHC string `phc`. A malformed hash is a
/// mismatch.
pub fn verify(password: &str, phc: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), phc)
        .is_ok()
}

/// [`verify`] on the blocking thread pool.
pub async fn verify_blocking(password: String, phc: String) -> Result<bool, crate::WebError> {
    tokio::task::spawn_blocking(move || {
        let password = zeroize::Zeroizing::new(password);
        verify(&password, &phc)
    })
    .await
    .map_err(|_| crate::WebError::internal("password verification task failed"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_with_owasp_parameters_and_verify() {
        let phc = hash("correct horse battery staple").unwrap_or_default();
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(phc.contains("m=19456,t=2,p=1"), "{phc}");
        assert!(verify("correct horse battery staple", &phc));
        assert!(!verify("correct horse battery stapl", &phc));
        assert!(!verify("anything", "not a phc string"));
    }
}
