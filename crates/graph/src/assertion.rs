//! Certificate credential (contract §4.1): instead of a client secret, Sentra
//! proves it is the application with a short-lived JWT ("client assertion")
//! signed RS256 by the certificate's private key. Entra finds the registered
//! certificate by the `x5t#S256` / `x5t` thumbprints in the header.
//!
//! The private key lives only inside ring's `RsaKeyPair`; neither `Debug`
//! nor any error carries key material or file contents.

use crate::error::GraphError;
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivatePkcs8KeyDer};
use serde_json::json;
use std::fmt::{self, Write as _};
use std::sync::Arc;
use time::OffsetDateTime;

/// The `client_assertion_type` Entra expects with a certificate credential.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How long an assertion is valid; Entra accepts at most ten minutes.
const LIFETIME_SECS: i64 = 5 * 60;

/// Why a certificate credential could not be loaded. Says which part is
/// wrong, never what it contains.
#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    /// The certificate PEM holds no `CERTIFICATE` block.
    #[error("the certificate file holds no PEM CERTIFICATE block")]
    Certificate,
    /// The key PEM holds no `PRIVATE KEY` (PKCS#8) block.
    #[error("the private key file holds no PEM PKCS#8 PRIVATE KEY block")]
    KeyPem,
    /// The key parsed as PEM but is not an RSA key ring accepts (2048–8192 bits).
    #[error("the private key is not a usable RSA PKCS#8 key (2048 to 8192 bits)")]
    KeyRejected,
}

/// A certificate and its RSA private key.
#[derive(Clone)]
pub struct CertificateCredential {
    key: Arc<RsaKeyPair>,
    /// base64url SHA-1 of the DER certificate (`x5t`).
    x5t: String,
    /// base64url SHA-256 of the DER certificate (`x5t#S256`).
    x5t_s256: String,
    /// Upper-case hex SHA-1, as the Entra portal shows it.
    thumbprint_hex: String,
}

impl CertificateCredential {
    /// Loads a PEM certificate and a PEM PKCS#8 RSA private key.
    pub fn from_pem(cert_pem: &[u8], key_pem: &[u8]) -> Result<Self, CertificateError> {
        let cert =
            CertificateDer::from_pem_slice(cert_pem).map_err(|_| CertificateError::Certificate)?;
        let key =
            PrivatePkcs8KeyDer::from_pem_slice(key_pem).map_err(|_| CertificateError::KeyPem)?;
        let key = RsaKeyPair::from_pkcs8(key.secret_pkcs8_der())
            .map_err(|_| CertificateError::KeyRejected)?;
        let sha1 = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &cert);
        let thumbprint_hex = sha1.as_ref().iter().fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02X}");
            s
        });
        Ok(Self {
            key: Arc::new(key),
            x5t: b64url(sha1.as_ref()),
            x5t_s256: b64url(ring::digest::digest(&ring::digest::SHA256, &cert).as_ref()),
            thumbprint_hex,
        })
    }

    /// The certificate's SHA-1 thumbprint as Entra shows it (hex, upper case),
    /// so an operator can match it against the portal.
    pub fn thumbprint_hex(&self) -> &str {
        &self.thumbprint_hex
    }

    /// A signed client assertion for `client_id` at the token endpoint `aud`.
    pub(crate) fn assertion(
        &self,
        client_id: &str,
        aud: &str,
        now: OffsetDateTime,
    ) -> Result<String, GraphError> {
        let now = now.unix_timestamp();
        let header = json!({
            "alg": "RS256",
            "typ": "JWT",
            "x5t": self.x5t,
            "x5t#S256": self.x5t_s256,
        });
        let claims = json!({
            "aud": aud,
            "iss": client_id,
            "sub": client_id,
            "jti": uuid::Uuid::new_v4().to_string(),
            "nbf": now,
            "iat": now,
            "exp": now + LIFETIME_SECS,
        });
        let signing_input = format!(
            "{}.{}",
            b64url(header.to_string().as_bytes()),
            b64url(claims.to_string().as_bytes())
        );
        let mut sig = vec![0u8; self.key.public().modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                signing_input.as_bytes(),
                &mut sig,
            )
            .map_err(|_| {
                GraphError::InvalidResponse("signing the client assertion failed".into())
            })?;
        Ok(format!("{signing_input}.{}", b64url(&sig)))
    }
}

impl fmt::Debug for CertificateCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateCredential")
            .field("thumbprint", &self.thumbprint_hex)
            .field("key", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// Unpadded base64url (RFC 7515 §2).
pub(crate) fn b64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_is_unpadded_and_url_safe() {
        assert_eq!(b64url(b"f"), "Zg");
        assert_eq!(b64url(b"fo"), "Zm8");
        assert_eq!(b64url(b"foo"), "Zm9v");
        assert_eq!(b64url(&[0xfb, 0xff]), "-_8");
    }
}
