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

/// Shortest and longest accepted passwords (ASVS V2.1.1/V2.1.2).
pub const PASSWORD_LEN: std::ops::RangeInclusive<usize> = 12..=128;

/// Refuses (400 `weak_password`) a password outside [`PASSWORD_LEN`].
pub fn check_policy(p: &str) -> Result<(), crate::WebError> {
    if PASSWORD_LEN.contains(&p.chars().count()) {
        Ok(())
    } else {
        Err(crate::WebError::bad_request(
            "weak_password",
            format!(
                "the password must be {} to {} characters long",
                PASSWORD_LEN.start(),
                PASSWORD_LEN.end()
            ),
        ))
    }
}

/// [`hash`] on the blocking thread pool.
pub async fn hash_blocking(password: String) -> Result<String, crate::WebError> {
    tokio::task::spawn_blocking(move || {
        let password = zeroize::Zeroizing::new(password);
        hash(&password)
    })
    .await
    .map_err(|_| crate::WebError::internal("password hashing task failed"))?
}

/// Recovery codes: how many, and their shape (16 base32 characters, 80
/// bits, grouped in fours).
pub const RECOVERY_CODES: usize = 10;

/// Ten fresh recovery codes and their argon2id hashes (the hashes of the
/// normalised codes), on the blocking pool.
pub async fn new_recovery_codes() -> Result<(Vec<String>, Vec<String>), crate::WebError> {
    tokio::task::spawn_blocking(|| {
        let mut codes = Vec::with_capacity(RECOVERY_CODES);
        let mut hashes = Vec::with_capacity(RECOVERY_CODES);
        for _ in 0..RECOVERY_CODES {
            let mut bytes = [0u8; 10];
            getrandom::fill(&mut bytes).map_err(|_| crate::WebError::internal("no randomness"))?;
            let raw = crate::totp::base32_encode(&bytes).to_ascii_lowercase();
            hashes.push(hash(&raw)?);
            let grouped: Vec<String> = raw
                .as_bytes()
                .chunks(4)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect();
            codes.push(grouped.join("-"));
        }
        Ok((codes, hashes))
    })
    .await
    .map_err(|_| crate::WebError::internal("recovery code task failed"))?
}

/// The stored hash that `code` matches, if any (checked against all of
/// them, on the blocking pool). Case, spaces and dashes are ignored.
pub async fn match_recovery_code(
    code: String,
    hashes: Vec<String>,
) -> Result<Option<String>, crate::WebError> {
    let norm: String = code
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .collect::<String>()
        .to_ascii_lowercase();
    if norm.len() != 16 || !norm.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Ok(None);
    }
    tokio::task::spawn_blocking(move || {
        let norm = zeroize::Zeroizing::new(norm);
        hashes.into_iter().find(|h| verify(&norm, h))
    })
    .await
    .map_err(|_| crate::WebError::internal("recovery code task failed"))
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
