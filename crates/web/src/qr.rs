//! The enrolment QR code: an `otpauth://` URI (the Key Uri Format that
//! authenticator apps read) drawn as an inline SVG, so the page needs no
//! image request and no script.

use crate::WebError;

/// The `otpauth://totp/…` URI for `secret_b32`, labelled with `issuer` and
/// the account's address.
pub fn otpauth_uri(issuer: &str, account: &str, secret_b32: &str) -> String {
    let label = format!("{}:{}", encode(issuer), encode(account));
    format!(
        "otpauth://totp/{label}?secret={secret_b32}&issuer={}&algorithm=SHA1&digits=6&period=30",
        encode(issuer)
    )
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
fn encode(s: &str) -> String {
    use std::fmt::Write as _;
    s.bytes().fold(String::new(), |mut out, b| {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
        out
    })
}

/// `data` as a standalone SVG QR code (medium error correction).
pub fn svg(data: &str) -> Result<String, WebError> {
    let code = qrcode::QrCode::with_error_correction_level(data, qrcode::EcLevel::M)
        .map_err(|_| WebError::internal("QR code encoding failed"))?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_uri_is_escaped_and_the_svg_is_an_svg() {
        let uri = otpauth_uri("Sentra", "a b@example.test", "JBSWY3DPEHPK3PXP");
        assert!(uri.starts_with(
            "otpauth://totp/Sentra:a%20b%40example.test?secret=JBSWY3DPEHPK3PXP&issuer=Sentra"
        ));
        let svg = svg(&uri).unwrap_or_default();
        assert!(svg.contains("<svg") && svg.contains("</svg>"));
        assert!(!svg.contains("<script"));
    }
}
