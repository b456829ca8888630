//! Encryption in 7-Zip and RAR archives, from their headers alone.
//!
//! RAR headers are stored uncompressed and say per file whether it is
//! encrypted, so the walk is exact. 7-Zip usually compresses its header, which
//! then hides the per-file coders; only archives with encrypted headers
//! ("encrypt file names") are recognised without decompressing.

use memchr::memmem;

use super::zipscan::{u16_at, u32_at, u64_at};

/// The 7-Zip AES-256 + SHA-256 coder id.
const SEVEN_ZIP_AES: &[u8] = b"\x06\xF1\x07\x01";
/// Bounds the header walk on hostile archives.
const MAX_HEADERS: usize = 4096;

/// A 7-Zip archive whose header names the AES coder.
pub(super) fn seven_zip_encrypted(bytes: &[u8]) -> bool {
    let (Some(offset), Some(size)) = (u64_at(bytes, 12), u64_at(bytes, 20)) else {
        return false;
    };
    let start = offset.checked_add(32).and_then(|s| usize::try_from(s).ok());
    let end = start
        .zip(usize::try_from(size).ok())
        .and_then(|(s, n)| s.checked_add(n));
    let header = start.zip(end).and_then(|(s, e)| bytes.get(s..e));
    header.is_some_and(|h| memmem::find(h, SEVEN_ZIP_AES).is_some())
}

/// A RAR archive with encrypted headers or any encrypted file.
pub(super) fn rar_encrypted(bytes: &[u8]) -> bool {
    if let Some(rest) = bytes.strip_prefix(b"Rar!\x1A\x07\x01\x00") {
        rar5_encrypted(rest)
    } else if let Some(rest) = bytes.strip_prefix(b"Rar!\x1A\x07\x00") {
        rar4_encrypted(rest)
    } else {
        false
    }
}

/// RAR 1.5–4: fixed block headers with flag bits.
fn rar4_encrypted(blocks: &[u8]) -> bool {
    const MAIN: u8 = 0x73;
    const FILE: u8 = 0x74;
    const END: u8 = 0x7B;
    const MAIN_PASSWORD: u16 = 0x0080;
    const FILE_PASSWORD: u16 = 0x0004;
    const LONG_BLOCK: u16 = 0x8000;
    let mut pos = 0usize;
    for _ in 0..MAX_HEADERS {
        let (Some(&kind), Some(flags), Some(size)) = (
            blocks.get(pos + 2),
            u16_at(blocks, pos + 3),
            u16_at(blocks, pos + 5),
        ) else {
            return false;
        };
        match kind {
            MAIN if flags & MAIN_PASSWORD != 0 => return true,
            FILE if flags & FILE_PASSWORD != 0 => return true,
            END => return false,
            _ => {}
        }
        let data = if flags & LONG_BLOCK != 0 {
            u32_at(blocks, pos + 7).unwrap_or(0) as usize
        } else {
            0
        };
        if size < 7 {
            return false;
        }
        pos = pos + usize::from(size) + data;
    }
    false
}

/// RAR 5: variable-length headers; type 4 means encrypted headers, and a
/// file or service header with an extra record of type 1 is encrypted.
fn rar5_encrypted(headers: &[u8]) -> bool {
    const FILE: u64 = 2;
    const SERVICE: u64 = 3;
    const ENCRYPTION: u64 = 4;
    const END: u64 = 5;
    const HAS_EXTRA: u64 = 0x1;
    const HAS_DATA: u64 = 0x2;
    const EXTRA_ENCRYPTION: u64 = 1;
    let mut pos = 0usize;
    for _ in 0..MAX_HEADERS {
        // CRC32, then the header size counting from the type field.
        let Some((size, after_size)) = vint(headers, pos + 4) else {
            return false;
        };
        let Some(end) = usize::try_from(size)
            .ok()
            .and_then(|s| after_size.checked_add(s))
        else {
            return false;
        };
        let Some(header) = headers.get(after_size..end) else {
            return false;
        };
        let Some((kind, at)) = vint(header, 0) else {
            return false;
        };
        let Some((flags, mut at)) = vint(header, at) else {
            return false;
        };
        match kind {
            ENCRYPTION => return true,
            END => return false,
            _ => {}
        }
        let mut extra_size = 0;
        if flags & HAS_EXTRA != 0 {
            let Some((n, next)) = vint(header, at) else {
                return false;
            };
            extra_size = n;
            at = next;
        }
        let mut data_size = 0;
        if flags & HAS_DATA != 0 {
            let Some((n, _)) = vint(header, at) else {
                return false;
            };
            data_size = n;
        }
        if matches!(kind, FILE | SERVICE) {
            let extra_start = usize::try_from(extra_size)
                .ok()
                .and_then(|n| header.len().checked_sub(n));
            if extra_start
                .and_then(|s| header.get(s..))
                .is_some_and(|extra| has_extra_record(extra, EXTRA_ENCRYPTION))
            {
                return true;
            }
        }
        let Some(next) = usize::try_from(data_size)
            .ok()
            .and_then(|d| end.checked_add(d))
        else {
            return false;
        };
        pos = next;
    }
    false
}

fn has_extra_record(mut extra: &[u8], wanted: u64) -> bool {
    for _ in 0..MAX_HEADERS {
        let Some((size, at)) = vint(extra, 0) else {
            return false;
        };
        let Some((kind, _)) = vint(extra, at) else {
            return false;
        };
        if kind == wanted {
            return true;
        }
        let Some(rest) = usize::try_from(size)
            .ok()
            .and_then(|s| at.checked_add(s))
            .and_then(|e| extra.get(e..))
        else {
            return false;
        };
        extra = rest;
    }
    false
}

/// A RAR5 variable-length integer at `at`: its value and where it ends.
fn vint(bytes: &[u8], at: usize) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for i in 0..10 {
        let pos = at.checked_add(i)?;
        let byte = *bytes.get(pos)?;
        value |= u64::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, pos + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rar5_header(kind: u8, flags: u8, body: &[u8], extra: &[u8]) -> Vec<u8> {
        let mut fields = vec![kind, flags];
        if flags & 1 != 0 {
            fields.push(extra.len() as u8);
        }
        fields.extend_from_slice(body);
        fields.extend_from_slice(extra);
        let mut out = vec![0, 0, 0, 0, fields.len() as u8];
        out.extend(fields);
        out
    }

    fn rar5(headers: &[Vec<u8>]) -> Vec<u8> {
        let mut out = b"Rar!\x1A\x07\x01\x00".to_vec();
        for h in headers {
            out.extend_from_slice(h);
        }
        out
    }

    #[test]
    fn rar5_file_with_encryption_record_is_encrypted() {
        let main = rar5_header(1, 0, &[0], &[]);
        let extra = [3, 1, 0, 0]; // size 3: type 1 (encryption), two bytes of data
        let file = rar5_header(2, 1, &[0, 0, 0, 0, 0, 1, b'a'], &extra);
        assert!(rar_encrypted(&rar5(&[main.clone(), file])));
        let plain = rar5_header(2, 0, &[0, 0, 0, 0, 0, 1, b'a'], &[]);
        let end = rar5_header(5, 0, &[0], &[]);
        assert!(!rar_encrypted(&rar5(&[main, plain, end])));
    }

    #[test]
    fn rar5_with_encrypted_headers_is_encrypted() {
        assert!(rar_encrypted(&rar5(&[rar5_header(4, 0, &[0, 0], &[])])));
    }

    #[test]
    fn rar4_password_flags_are_seen() {
        let mut main = b"Rar!\x1A\x07\x00".to_vec();
        main.extend_from_slice(&[0, 0, 0x73, 0, 0, 13, 0, 0, 0, 0, 0, 0, 0]);
        let mut file = main.clone();
        file.extend_from_slice(&[0, 0, 0x74, 0x04, 0x80, 32, 0, 5, 0, 0, 0]);
        file.resize(file.len() + 21 + 5, 0);
        assert!(rar_encrypted(&file));
        assert!(!rar_encrypted(&main));
        let mut locked_main = b"Rar!\x1A\x07\x00".to_vec();
        locked_main.extend_from_slice(&[0, 0, 0x73, 0x80, 0, 13, 0, 0, 0, 0, 0, 0, 0]);
        assert!(rar_encrypted(&locked_main));
    }

    #[test]
    fn seven_zip_with_aes_coder_in_header_is_encrypted() {
        let mut bytes = b"7z\xBC\xAF\x27\x1C\x00\x04".to_vec();
        bytes.extend_from_slice(&[0; 4]);
        bytes.extend_from_slice(&4u64.to_le_bytes());
        bytes.extend_from_slice(&8u64.to_le_bytes());
        bytes.extend_from_slice(&[0; 4]);
        bytes.extend_from_slice(b"data");
        bytes.extend_from_slice(b"\x17\x06\x06\xF1\x07\x01\x00\x00");
        assert!(seven_zip_encrypted(&bytes));
        let len = bytes.len();
        if let Some(slot) = bytes.get_mut(len - 6..len - 2) {
            slot.copy_from_slice(b"\x03\x01\x01\x00");
        }
        assert!(!seven_zip_encrypted(&bytes));
    }

    #[test]
    fn truncated_and_hostile_archives_do_not_fail() {
        for bytes in [
            &b"Rar!\x1A\x07\x01\x00"[..],
            b"Rar!\x1A\x07\x01\x00\0\0\0\0\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF",
            b"Rar!\x1A\x07\x00\0\0\x74\0\x80\0\0\xFF\xFF\xFF\xFF",
            b"7z\xBC\xAF\x27\x1C\0\x04\0\0\0\0\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF",
        ] {
            assert!(!rar_encrypted(bytes) && !seven_zip_encrypted(bytes));
        }
    }
}
