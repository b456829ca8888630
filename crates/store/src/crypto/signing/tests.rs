//! Checkpoint signing: the RFC 8032 vector, note round trips and every way a
//! note can fail to verify.

use super::*;
use crate::crypto::keyring::testing::key_b64;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn keyring_with_seed(seed: &[u8]) -> Keyring {
    let text = format!(
        "current=k1;k1={};bi=b1:{};sign={}",
        key_b64(1),
        key_b64(0xB1),
        Base64::encode_string(seed)
    );
    Keyring::parse(&text).unwrap()
}

const BODY: &str = "sentra.example/audit\n42\nb3JnLWhlYWRzLXJvb3Q=\n";

#[test]
fn rfc_8032_test_vector_1_gives_the_published_key_and_signature() {
    // RFC 8032 §7.1, TEST 1: empty message.
    let seed = hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
    let public = hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
    let expected = hex(
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    );
    let keys = keyring_with_seed(&seed);
    let key = checkpoint_public_key(&keys).unwrap();
    assert_eq!(key.to_bytes().as_slice(), public.as_slice());
    assert_eq!(
        public_key_base64(&keys).unwrap(),
        Base64::encode_string(&public)
    );
    let signature = keys.signing_key().unwrap().sign(b"");
    assert_eq!(signature.to_bytes().as_slice(), expected.as_slice());
    let sig: [u8; 64] = expected.try_into().unwrap();
    assert!(
        key.0
            .verify_strict(b"", &Signature::from_bytes(&sig))
            .is_ok()
    );
}

#[test]
fn signed_note_has_body_blank_line_and_one_signature_line() {
    let keys = keyring_with_seed(&[0x51; 32]);
    let note = sign_checkpoint(&keys, BODY).unwrap();
    let (body, sigs) = note.split_once("\n\n").unwrap();
    assert_eq!(format!("{body}\n"), BODY);
    assert!(sigs.starts_with("— sentra "), "{sigs}");
    assert_eq!(sigs.lines().count(), 1);
    assert!(note.ends_with('\n'));
}

#[test]
fn a_signed_note_verifies_and_returns_its_body() {
    let keys = keyring_with_seed(&[0x51; 32]);
    let key = CheckpointPublicKey::from_base64(&public_key_base64(&keys).unwrap()).unwrap();
    let note = sign_checkpoint(&keys, BODY).unwrap();
    assert_eq!(verify_checkpoint(&key, &note).unwrap(), BODY);
    // A body without its final newline gets one and signs the same.
    let trimmed = sign_checkpoint(&keys, BODY.trim_end()).unwrap();
    assert_eq!(verify_checkpoint(&key, &trimmed).unwrap(), BODY);
}

#[test]
fn any_edit_to_the_body_fails_verification() {
    let keys = keyring_with_seed(&[0x51; 32]);
    let key = checkpoint_public_key(&keys).unwrap();
    let note = sign_checkpoint(&keys, BODY).unwrap();
    for edited in [
        note.replacen("42", "41", 1),
        note.replacen("audit", "audiT", 1),
        note.replacen("sentra.example", "sentra.exampl", 1),
    ] {
        assert_eq!(
            verify_checkpoint(&key, &edited),
            Err(CryptoError::BadSignature)
        );
    }
}

#[test]
fn a_different_key_does_not_verify() {
    let keys = keyring_with_seed(&[0x51; 32]);
    let other = checkpoint_public_key(&keyring_with_seed(&[0x52; 32])).unwrap();
    let note = sign_checkpoint(&keys, BODY).unwrap();
    assert_eq!(
        verify_checkpoint(&other, &note),
        Err(CryptoError::BadSignature)
    );
}

#[test]
fn a_forged_signature_under_the_right_key_hash_fails() {
    let keys = keyring_with_seed(&[0x51; 32]);
    let key = checkpoint_public_key(&keys).unwrap();
    let note = sign_checkpoint(&keys, BODY).unwrap();
    let line = note.lines().last().unwrap();
    let mut blob = Base64::decode_vec(line.rsplit(' ').next().unwrap()).unwrap();
    blob[10] ^= 1;
    let forged = note.replace(line, &format!("— sentra {}", Base64::encode_string(&blob)));
    assert_eq!(
        verify_checkpoint(&key, &forged),
        Err(CryptoError::BadSignature)
    );
}

#[test]
fn co_signatures_by_other_keys_are_ignored() {
    let keys = keyring_with_seed(&[0x51; 32]);
    let key = checkpoint_public_key(&keys).unwrap();
    let note = sign_checkpoint(&keys, BODY).unwrap();
    let witness = format!("— witness.example {}\n", Base64::encode_string(&[7u8; 68]));
    assert_eq!(
        verify_checkpoint(&key, &format!("{note}{witness}")).unwrap(),
        BODY
    );
    // But a note signed only by someone else does not verify.
    let only_witness = format!("{BODY}\n{witness}");
    assert_eq!(
        verify_checkpoint(&key, &only_witness),
        Err(CryptoError::BadSignature)
    );
}

#[test]
fn malformed_notes_are_rejected() {
    let keys = keyring_with_seed(&[0x51; 32]);
    let key = checkpoint_public_key(&keys).unwrap();
    let note = sign_checkpoint(&keys, BODY).unwrap();
    for bad in [
        "",
        BODY,
        &format!("{BODY}\n"),
        &format!("{BODY}\nnot a signature line\n"),
        &format!("{BODY}\n— sentra !!!\n"),
        &format!("{BODY}\n— sentra AAAA\n"),
        note.trim_end(),
    ] {
        assert_eq!(
            verify_checkpoint(&key, bad),
            Err(CryptoError::MalformedNote),
            "{bad:?}"
        );
    }
}

#[test]
fn refuses_bodies_that_would_not_round_trip() {
    let keys = keyring_with_seed(&[0x51; 32]);
    for bad in [
        "",
        "\n",
        "origin\n\n42\n",
        "\norigin\n",
        "origin\r\n42\n",
        "a\u{0}b",
    ] {
        assert_eq!(
            sign_checkpoint(&keys, bad),
            Err(CryptoError::BadCheckpointBody),
            "{bad:?}"
        );
    }
}

#[test]
fn signing_without_a_signing_key_fails_clearly() {
    let keys = crate::crypto::keyring::testing::keyring("k1", &[("k1", 1)]);
    assert_eq!(sign_checkpoint(&keys, BODY), Err(CryptoError::NoSigningKey));
    assert_eq!(public_key_base64(&keys), Err(CryptoError::NoSigningKey));
}

#[test]
fn public_keys_round_trip_and_bad_ones_are_refused() {
    let key = checkpoint_public_key(&keyring_with_seed(&[0x51; 32])).unwrap();
    assert_eq!(
        CheckpointPublicKey::from_base64(&key.to_base64()).unwrap(),
        key
    );
    assert_eq!(
        CheckpointPublicKey::from_bytes(&key.to_bytes()).unwrap(),
        key
    );
    for bad in ["", "not base64", &Base64::encode_string(&[1u8; 31])] {
        assert_eq!(
            CheckpointPublicKey::from_base64(bad),
            Err(CryptoError::BadPublicKey)
        );
    }
    let vkey = key.verifier_key();
    let parts: Vec<&str> = vkey.split('+').collect();
    assert_eq!(parts[0], "sentra");
    assert_eq!(parts[1].len(), 8);
    assert_eq!(Base64::decode_vec(parts[2]).unwrap()[0], 0x01);
}
