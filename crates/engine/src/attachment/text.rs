//! Bytes to text for the plain formats (text, CSV, HTML): byte-order marks
//! for UTF-8 and UTF-16, and Windows-1252 for files that are not UTF-8,
//! because spreadsheets exported on Windows write `£` as the single byte 0xA3
//! and a lossy UTF-8 decode would turn every amount's currency into `�`.

/// Windows-1252 characters for bytes 0x80–0x9F (the rest match Latin-1).
/// Undefined positions map to U+FFFD.
const CP1252_HIGH: [char; 32] = [
    '€', '\u{FFFD}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{FFFD}', 'Ž',
    '\u{FFFD}', '\u{FFFD}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{FFFD}',
    'ž', 'Ÿ',
];

/// Decodes text of unknown encoding, reading only as much input as is needed
/// for about `max_out` bytes of output (the caller caps exactly).
pub(super) fn decode_text(bytes: &[u8], max_out: usize) -> String {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return utf8_or_cp1252(prefix(rest, max_out.saturating_add(4)));
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        return utf16(prefix(rest, max_out.saturating_mul(2)), u16::from_le_bytes);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        return utf16(prefix(rest, max_out.saturating_mul(2)), u16::from_be_bytes);
    }
    utf8_or_cp1252(prefix(bytes, max_out.saturating_add(4)))
}

/// Truncates `text` to at most `max` bytes, at a character boundary.
pub(super) fn cap(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end = end.saturating_sub(1);
        }
        text.truncate(end);
    }
    text
}

fn prefix(bytes: &[u8], len: usize) -> &[u8] {
    bytes.get(..len).unwrap_or(bytes)
}

fn utf8_or_cp1252(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        // A valid UTF-8 text cut in the middle of a character by `prefix`
        // fails only in its last three bytes: keep it UTF-8.
        Err(e) if e.error_len().is_none() && bytes.len().saturating_sub(e.valid_up_to()) < 4 => {
            String::from_utf8_lossy(bytes).into_owned()
        }
        Err(_) if mostly_utf8(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        Err(_) => bytes.iter().map(|&b| cp1252(b)).collect(),
    }
}

/// Text that is mostly valid UTF-8 with a few bad bytes is UTF-8 with damage,
/// not Windows-1252 (whose high bytes rarely form valid UTF-8 sequences).
fn mostly_utf8(bytes: &[u8]) -> bool {
    let mut good_multibyte = 0usize;
    let mut bad = 0usize;
    for chunk in bytes.utf8_chunks() {
        good_multibyte += chunk.valid().chars().filter(|c| !c.is_ascii()).count();
        if !chunk.invalid().is_empty() {
            bad += 1;
        }
    }
    good_multibyte > bad.saturating_mul(4)
}

fn cp1252(b: u8) -> char {
    match b {
        0x80..=0x9F => CP1252_HIGH
            .get(usize::from(b - 0x80))
            .copied()
            .unwrap_or('\u{FFFD}'),
        _ => char::from(b),
    }
}

fn utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> String {
    let units = bytes.chunks_exact(2).map(|pair| {
        unit([
            pair.first().copied().unwrap_or(0),
            pair.get(1).copied().unwrap_or(0),
        ])
    });
    char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

/// Spreadsheet exports put labels in a header row and values in the rows
/// below (`Sort Code,Account Number` / `93-80-63,55065200`). Rewriting each
/// data row as `Header: value` lines lets the text extractors read a CSV the
/// way they read an invoice. A file without at least a header and one row is
/// returned as it was.
pub(crate) fn csv_as_labelled(text: &str) -> String {
    const MAX_ROWS: usize = 10_000;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut rows = reader.records().take(MAX_ROWS + 1).filter_map(Result::ok);
    let Some(header) = rows.next() else {
        return text.to_owned();
    };
    let mut out = String::with_capacity(text.len() * 2);
    for row in rows {
        for (label, value) in header.iter().zip(row.iter()) {
            let (label, value) = (label.trim(), value.trim());
            if !value.is_empty() {
                out.push_str(label);
                out.push_str(": ");
                out.push_str(value);
                out.push('\n');
            }
        }
        out.push('\n');
    }
    if out.is_empty() { text.to_owned() } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_utf8_passes_through() {
        assert_eq!(
            decode_text("Sort code 20-29-59 £1,200".as_bytes(), 100),
            "Sort code 20-29-59 £1,200"
        );
    }

    #[test]
    fn utf8_byte_order_mark_is_dropped() {
        assert_eq!(decode_text(b"\xEF\xBB\xBFa,b", 100), "a,b");
    }

    #[test]
    fn utf16_little_endian_with_bom_is_decoded() {
        let mut bytes = vec![0xFF, 0xFE];
        for u in "Payee,£12".encode_utf16() {
            bytes.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(decode_text(&bytes, 100), "Payee,£12");
    }

    #[test]
    fn utf16_big_endian_with_bom_is_decoded() {
        let mut bytes = vec![0xFE, 0xFF];
        for u in "IBAN GB29".encode_utf16() {
            bytes.extend_from_slice(&u.to_be_bytes());
        }
        assert_eq!(decode_text(&bytes, 100), "IBAN GB29");
    }

    #[test]
    fn odd_utf16_tail_and_lone_surrogates_do_not_fail() {
        let bytes = [0xFF, 0xFE, 0x00, 0xD8, b'a', 0x00, 0x41];
        assert_eq!(decode_text(&bytes, 100), "\u{FFFD}a");
    }

    #[test]
    fn windows_1252_pound_sign_survives() {
        assert_eq!(
            decode_text(b"Total \xA3120.00 \x80 \x93ok\x94", 100),
            "Total £120.00 € “ok”"
        );
    }

    #[test]
    fn mostly_utf8_with_one_bad_byte_stays_utf8() {
        assert_eq!(
            decode_text(
                "£1 £2 £3 £4 £5 \u{e9}"
                    .as_bytes()
                    .iter()
                    .copied()
                    .chain([0xFF])
                    .collect::<Vec<_>>()
                    .as_slice(),
                100
            ),
            "£1 £2 £3 £4 £5 \u{e9}\u{FFFD}"
        );
    }

    #[test]
    fn cap_cuts_at_a_character_boundary() {
        assert_eq!(cap("ab£".to_owned(), 3), "ab");
        assert_eq!(cap("abc".to_owned(), 10), "abc");
    }

    #[test]
    fn long_input_is_read_only_as_far_as_needed() {
        let text = decode_text(&vec![b'x'; 10_000], 100);
        assert!(text.len() <= 104);
    }
}
