//! RFC 6238 time-based one-time passwords, hand-rolled on `hmac` + `sha1`.
//!
//! Hand-rolled rather than `totp-rs` because the caller needs the matched
//! time *step* to enforce single use (the replay guard stores the last
//! accepted step), and the algorithm is a dozen lines. Only the current step
//! and one step back are accepted (RFC 6238 §5.2 network delay).

use hmac::{Hmac, KeyInit, Mac};

/// The time step in seconds.
pub const STEP_SECS: u64 = 30;
/// Digits in a code.
pub const DIGITS: u32 = 6;
/// Secret length: 160 bits, as RFC 4226 recommends.
pub const SECRET_LEN: usize = 20;

/// The HMAC used by [`hotp_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// HMAC-SHA-1 (what authenticator apps use).
    Sha1,
    /// HMAC-SHA-256.
    Sha256,
    /// HMAC-SHA-512.
    Sha512,
}

fn mac<M: Mac + KeyInit>(key: &[u8], msg: &[u8]) -> Vec<u8> {
    // Any key length is valid for HMAC, so this never takes the `else`.
    let Ok(mut m) = <M as KeyInit>::new_from_slice(key) else {
        return Vec::new();
    };
    m.update(msg);
    m.finalize().into_bytes().to_vec()
}

/// RFC 4226 HOTP with dynamic truncation, `digits` long.
pub fn hotp_with(alg: Algorithm, key: &[u8], counter: u64, digits: u32) -> u32 {
    let msg = counter.to_be_bytes();
    let digest = match alg {
        Algorithm::Sha1 => mac::<Hmac<sha1::Sha1>>(key, &msg),
        Algorithm::Sha256 => mac::<Hmac<sha2::Sha256>>(key, &msg),
        Algorithm::Sha512 => mac::<Hmac<sha2::Sha512>>(key, &msg),
    };
    let offset = digest.last().map_or(0, |b| usize::from(b & 0x0f));
    let word = digest.get(offset..offset + 4).map_or(0, |w| {
        w.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b))
    });
    (word & 0x7fff_ffff) % 10u32.pow(digits.min(9))
}

/// The time step containing `unix_secs`.
pub fn step_at(unix_secs: u64) -> u64 {
    unix_secs / STEP_SECS
}

/// The 6-digit SHA-1 code for `step`, zero-padded.
pub fn code_for_step(secret: &[u8], step: u64) -> String {
    format!(
        "{:0width$}",
        hotp_with(Algorithm::Sha1, secret, step, DIGITS),
        width = DIGITS as usize
    )
}

/// The step (current or one back) whose code equals `code`, if any. Compares
/// every candidate in full so timing does not tell which one matched.
pub fn matching_step(secret: &[u8], code: &str, now_step: u64) -> Option<u64> {
    let code = code.trim();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut found = None;
    for step in [now_step, now_step.saturating_sub(1)] {
        let expected = code_for_step(secret, step);
        let same = expected
            .bytes()
            .zip(code.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
        if same && found.is_none() {
            found = Some(step);
        }
    }
    found
}

/// A fresh random 160-bit secret.
pub fn generate_secret() -> Result<[u8; SECRET_LEN], getrandom::Error> {
    let mut secret = [0u8; SECRET_LEN];
    getrandom::fill(&mut secret)?;
    Ok(secret)
}

/// RFC 4648 base32 without padding (what authenticator apps take).
pub fn base32_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed(len: usize) -> Vec<u8> {
        b"1234567890".iter().copied().cycle().take(len).collect()
    }

    #[test]
    fn rfc_6238_appendix_b_vectors_pass() {
        let cases = [
            (Algorithm::Sha1, 20, 59, 94_287_082),
            (Algorithm::Sha1, 20, 1_111_111_109, 7_081_804),
            (Algorithm::Sha1, 20, 20_000_000_000, 65_353_130),
            (Algorithm::Sha256, 32, 59, 46_119_246),
            (Algorithm::Sha512, 64, 59, 90_693_936),
        ];
        for (alg, len, time, code) in cases {
            assert_eq!(
                hotp_with(alg, &seed(len), step_at(time), 8),
                code,
                "{alg:?} at {time}"
            );
        }
    }

    #[test]
    fn accepts_current_and_previous_step_only() {
        let secret = seed(20);
        let now = 1_000_000;
        assert_eq!(
            matching_step(&secret, &code_for_step(&secret, now), now),
            Some(now)
        );
        assert_eq!(
            matching_step(&secret, &code_for_step(&secret, now - 1), now),
            Some(now - 1)
        );
        assert_eq!(
            matching_step(&secret, &code_for_step(&secret, now - 2), now),
            None
        );
        assert_eq!(
            matching_step(&secret, &code_for_step(&secret, now + 1), now),
            None
        );
    }

    #[test]
    fn rejects_malformed_codes() {
        let secret = seed(20);
        for bad in ["", "12345", "1234567", "abcdef", "12 456"] {
            assert_eq!(matching_step(&secret, bad, 5), None, "{bad:?}");
        }
    }

    #[test]
    fn base32_matches_rfc_4648_vectors() {
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32_encode(b"f"), "MY");
        assert_eq!(base32_encode(&seed(20)), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    }
}
