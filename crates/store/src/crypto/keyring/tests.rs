//! Keyring loading: both sources, every refusal, and that no error or `Debug`
//! output ever shows key material.

use super::testing::key_b64;
use super::*;
use std::io::Write;

fn env_text() -> String {
    format!(
        "current=k2;k1={};k2={};bi=b1:{};sign={}",
        key_b64(1),
        key_b64(2),
        key_b64(0xB1),
        key_b64(0x51)
    )
}

/// Asserts that neither the message nor the `Debug` of `err` contains `secret`.
fn assert_silent(err: &KeyringError, secret: &str) {
    assert!(!err.to_string().contains(secret), "{err}");
    assert!(!format!("{err:?}").contains(secret), "{err:?}");
}

fn parse_err(text: &str) -> KeyringError {
    Keyring::parse(text).unwrap_err()
}

#[test]
fn parses_env_style_entries_separated_by_semicolons() {
    let keys = Keyring::parse(&env_text()).unwrap();
    assert_eq!(keys.current_key_id().as_str(), "k2");
    let ids: Vec<&str> = keys.key_ids().map(KeyId::as_str).collect();
    assert_eq!(ids, ["k1", "k2"]);
    assert_eq!(keys.blind_index_key_id().as_str(), "b1");
    assert!(keys.has_signing_key());
    assert!(keys.has_key("k1") && !keys.has_key("k3"));
    assert_eq!(keys.data_key("k1"), Some(&[1; 32]));
    assert_eq!(keys.blind_key().1, &[0xB1; 32]);
}

#[test]
fn reads_a_toml_style_key_file_with_quotes_and_comments() {
    let text = format!(
        "# keys\ncurrent = \"k1\"\n\nk1 = \"{}\"\nbi = \"b7:{}\"\n",
        key_b64(1),
        key_b64(2)
    );
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(text.as_bytes()).unwrap();
    set_mode(file.path(), 0o600);
    let keys = Keyring::from_file(file.path()).unwrap();
    assert_eq!(keys.current_key_id().as_str(), "k1");
    assert_eq!(keys.blind_index_key_id().as_str(), "b7");
    assert!(!keys.has_signing_key());
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) {}

#[cfg(unix)]
#[test]
fn refuses_a_key_file_readable_by_group_or_others() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(env_text().as_bytes()).unwrap();
    for mode in [0o644, 0o640, 0o604, 0o620] {
        set_mode(file.path(), mode);
        let meta = std::fs::metadata(file.path()).unwrap();
        assert!(permissions_too_open(&meta));
        let err = Keyring::from_file(file.path()).unwrap_err();
        assert!(
            matches!(err, KeyringError::PermissionsTooOpen { mode: m, .. } if m == mode),
            "{err}"
        );
        assert!(err.to_string().contains("chmod 600"));
        assert_silent(&err, &key_b64(1));
    }
    set_mode(file.path(), 0o400);
    assert!(Keyring::from_file(file.path()).is_ok());
}

#[test]
fn reports_a_missing_file_with_its_path() {
    let err = Keyring::from_file(Path::new("/nonexistent/sentra.keys")).unwrap_err();
    assert!(matches!(err, KeyringError::Io { .. }));
    assert!(err.to_string().contains("/nonexistent/sentra.keys"));
}

#[test]
fn reports_an_unset_environment_variable_by_name() {
    let err = Keyring::from_env_var("SENTRA_TEST_KEYS_THAT_ARE_NEVER_SET").unwrap_err();
    assert!(
        err.to_string()
            .contains("SENTRA_TEST_KEYS_THAT_ARE_NEVER_SET")
    );
}

#[test]
fn rejects_bad_base64_without_echoing_the_value() {
    let bad = "not*base64*at*all*but*secret*looking*text=";
    let err = parse_err(&format!("current=k1;k1={bad};bi=b1:{}", key_b64(9)));
    assert!(
        matches!(&err, KeyringError::BadBase64 { id } if id == "k1"),
        "{err}"
    );
    assert_silent(&err, bad);
}

#[test]
fn rejects_a_key_of_the_wrong_length_without_echoing_it() {
    let short = Base64::encode_string(&[7u8; 31]);
    let err = parse_err(&format!("current=k1;k1={short};bi=b1:{}", key_b64(9)));
    assert!(
        matches!(err, KeyringError::WrongLength { found: 31, .. }),
        "{err}"
    );
    assert_silent(&err, &short);
    let long = Base64::encode_string(&[7u8; 33]);
    let err = parse_err(&format!("current=k1;k1={};bi=b1:{long}", key_b64(1)));
    assert!(matches!(&err, KeyringError::WrongLength { id, found: 33 } if id == "b1"));
    assert_silent(&err, &long);
}

#[test]
fn rejects_a_pasted_key_without_a_name_and_does_not_echo_it() {
    // Padding makes a bare key look like `name=`; the name must not leak.
    let key = key_b64(3);
    let err = parse_err(&format!("current=k1;k1={};{key}", key_b64(1)));
    assert!(matches!(err, KeyringError::BadKeyId { entry: 3 }), "{err}");
    assert_silent(&err, key.trim_end_matches('='));
    let err = parse_err("current=k1;just some words");
    assert!(matches!(err, KeyringError::Malformed { entry: 2 }), "{err}");
}

#[test]
fn rejects_a_missing_or_unknown_current_key() {
    let err = parse_err(&format!("k1={};bi=b1:{}", key_b64(1), key_b64(2)));
    assert!(matches!(err, KeyringError::MissingCurrent));
    let err = parse_err(&format!(
        "current=k9;k1={};bi=b1:{}",
        key_b64(1),
        key_b64(2)
    ));
    assert!(matches!(&err, KeyringError::UnknownCurrent { id } if id == "k9"));
}

#[test]
fn rejects_a_duplicate_id() {
    let err = parse_err(&format!("{};k1={}", env_text(), key_b64(4)));
    assert!(
        matches!(&err, KeyringError::DuplicateId { id, entry: 6 } if id == "k1"),
        "{err}"
    );
    assert_silent(&err, &key_b64(4));
    let err = parse_err(&format!("{};current=k1", env_text()));
    assert!(matches!(&err, KeyringError::DuplicateId { id, .. } if id == "current"));
}

#[test]
fn rejects_a_missing_or_malformed_blind_index_key() {
    let err = parse_err(&format!("current=k1;k1={}", key_b64(1)));
    assert!(matches!(err, KeyringError::MissingBlindIndexKey));
    let key = key_b64(2);
    let err = parse_err(&format!("current=k1;k1={};bi={key}", key_b64(1)));
    assert!(
        matches!(err, KeyringError::BadBlindIndexEntry { entry: 3 }),
        "{err}"
    );
    assert_silent(&err, &key);
}

#[test]
fn rejects_the_same_bytes_used_for_two_keys() {
    let err = parse_err(&format!(
        "current=k1;k1={};bi=b1:{}",
        key_b64(1),
        key_b64(1)
    ));
    assert!(
        matches!(&err, KeyringError::KeyReused { first, second } if first == "k1" && second == "bi:b1")
    );
    assert_silent(&err, &key_b64(1));
}

#[test]
fn rejects_badly_formed_key_ids() {
    for name in ["K1", "k-1", "a234567890abcdefg", ""] {
        let err = parse_err(&format!(
            "current=k1;k1={};{name}={}",
            key_b64(1),
            key_b64(2)
        ));
        assert!(
            matches!(
                err,
                KeyringError::BadKeyId { .. } | KeyringError::Malformed { .. }
            ),
            "{name}: {err}"
        );
    }
    assert!(KeyId::parse("a234567890abcdef").is_some());
    assert!(KeyId::parse("k.1").is_none());
}

#[test]
fn debug_shows_key_ids_and_never_key_bytes() {
    let keys = Keyring::parse(&env_text()).unwrap();
    let debug = format!("{keys:?}");
    assert!(debug.contains("k1") && debug.contains("k2") && debug.contains("b1"));
    for fill in [1, 2, 0xB1, 0x51] {
        assert!(!debug.contains(&key_b64(fill)), "{debug}");
        assert!(!debug.contains(&key_b64(fill)[..16]), "{debug}");
    }
    assert!(!debug.contains("[1, 1, 1"), "{debug}");
}

#[test]
fn generated_dev_keyrings_parse_and_never_repeat() {
    let config = generate_config().unwrap();
    let first = Keyring::parse(&config).unwrap();
    let second = Keyring::generate_insecure_dev().unwrap();
    assert!(first.has_signing_key());
    assert_eq!(first.current_key_id().as_str(), "k1");
    assert_ne!(first.data_key("k1"), second.data_key("k1"));
    assert_ne!(first.blind_key().1, second.blind_key().1);
}

#[test]
fn keyring_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Keyring>();
}
