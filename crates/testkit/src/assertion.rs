//! Verifies a certificate credential's client assertion the way Entra does
//! (`graph-contract.md` §4.1): RS256 signature against a certificate
//! registered on the app (found by `x5t#S256` or `x5t`), `aud` = the token
//! endpoint, `iss` = `sub` = `client_id`, and a current lifetime of at most
//! ten minutes. Each refusal maps to the AADSTS number Entra uses.

use crate::{FakeError, FakeGraph};
use base64ct::{Base64UrlUnpadded, Encoding};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde_json::Value;
use time::OffsetDateTime;
use webpki::EndEntityCert;

/// Entra's clock-skew allowance.
const SKEW_SECS: i64 = 5 * 60;
/// The longest assertion lifetime Entra accepts.
const MAX_LIFETIME_SECS: i64 = 10 * 60;

/// Why an assertion was refused: (`error`, AADSTS number, description).
pub(crate) type Refusal = (&'static str, u32, &'static str);

const MALFORMED: Refusal = (
    "invalid_request",
    50027,
    "Invalid JWT token. Token format not valid.",
);
const NOT_REGISTERED: Refusal = (
    "invalid_client",
    700_027,
    "The certificate with identifier used to sign the client assertion is not registered on application.",
);
const BAD_SIGNATURE: Refusal = (
    "invalid_client",
    700_027,
    "Client assertion failed signature validation.",
);
const BAD_AUDIENCE: Refusal = (
    "invalid_client",
    50013,
    "Assertion failed signature validation. Reason - The audience claim is not valid.",
);
const BAD_ISSUER: Refusal = (
    "invalid_client",
    700_021,
    "Client assertion application identifier doesn't match 'client_id' parameter.",
);
const BAD_TIME: Refusal = (
    "invalid_client",
    700_024,
    "Client assertion is not within its valid time range.",
);

/// SHA-1 and SHA-256 thumbprints (base64url) of a DER certificate.
pub(crate) fn thumbprints(der: &[u8]) -> (String, String) {
    let sha1 = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, der);
    let sha256 = ring::digest::digest(&ring::digest::SHA256, der);
    (
        Base64UrlUnpadded::encode_string(sha1.as_ref()),
        Base64UrlUnpadded::encode_string(sha256.as_ref()),
    )
}

/// Checks `jwt` for `client_id` at token endpoint `aud` against `certs`
/// (DER certificates registered on the app).
pub(crate) fn verify(
    jwt: &str,
    client_id: &str,
    aud: &str,
    certs: &[Vec<u8>],
    now: OffsetDateTime,
) -> Result<(), Refusal> {
    let mut parts = jwt.split('.');
    let (Some(h), Some(c), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(MALFORMED);
    };
    let json = |part: &str| -> Result<Value, Refusal> {
        let bytes = Base64UrlUnpadded::decode_vec(part).map_err(|_| MALFORMED)?;
        serde_json::from_slice(&bytes).map_err(|_| MALFORMED)
    };
    let (header, claims) = (json(h)?, json(c)?);
    let sig = Base64UrlUnpadded::decode_vec(sig).map_err(|_| MALFORMED)?;
    if header["alg"] != "RS256" {
        return Err(MALFORMED);
    }
    let cert = certs
        .iter()
        .find(|der| {
            let (x5t, x5t_s256) = thumbprints(der);
            header["x5t#S256"] == x5t_s256.as_str() || header["x5t"] == x5t.as_str()
        })
        .ok_or(NOT_REGISTERED)?;
    let der = CertificateDer::from(cert.as_slice());
    let ee = EndEntityCert::try_from(&der).map_err(|_| NOT_REGISTERED)?;
    let signed = &jwt[..h.len() + 1 + c.len()];
    ee.verify_signature(
        webpki::ring::RSA_PKCS1_2048_8192_SHA256,
        signed.as_bytes(),
        &sig,
    )
    .map_err(|_| BAD_SIGNATURE)?;
    if !claims["aud"]
        .as_str()
        .is_some_and(|a| a.eq_ignore_ascii_case(aud))
    {
        return Err(BAD_AUDIENCE);
    }
    if claims["iss"] != client_id || claims["sub"] != client_id {
        return Err(BAD_ISSUER);
    }
    if claims["jti"].as_str().is_none_or(str::is_empty) {
        return Err(MALFORMED);
    }
    let (Some(nbf), Some(exp)) = (claims["nbf"].as_i64(), claims["exp"].as_i64()) else {
        return Err(BAD_TIME);
    };
    let now = now.unix_timestamp();
    if exp + SKEW_SECS < now || nbf - SKEW_SECS > now || exp - nbf > MAX_LIFETIME_SECS {
        return Err(BAD_TIME);
    }
    Ok(())
}

impl FakeGraph {
    /// Registers a PEM certificate as a credential of `client_id` (like
    /// uploading it under Entra's "Certificates & secrets").
    pub fn add_app_certificate(&self, client_id: &str, cert_pem: &str) -> Result<(), FakeError> {
        let der = CertificateDer::from_pem_slice(cert_pem.as_bytes())
            .map_err(|_| FakeError::Certificate)?;
        let mut st = self.inner.lock();
        let app = st
            .apps
            .get_mut(client_id)
            .ok_or_else(|| FakeError::UnknownApp(client_id.to_owned()))?;
        app.certificates.push(der.to_vec());
        Ok(())
    }
}
