//! A raw walk over ZIP headers, without decompressing anything: which entry
//! names an archive holds and whether any entry is encrypted.
//!
//! The `zip` crate refuses archives it cannot fully parse, but the questions
//! asked here ("is this a Word document?", "does it carry `vbaProject.bin`?",
//! "is it password-protected?") must be answered for damaged and deliberately
//! odd archives too, so both the central directory and the local headers are
//! walked and their answers combined.

use memchr::memmem;

const LOCAL: &[u8] = b"PK\x03\x04";
const CENTRAL: &[u8] = b"PK\x01\x02";
const END: &[u8] = b"PK\x05\x06";
/// The end record sits in the last 22 bytes plus at most a 64 KiB comment.
const END_SEARCH: usize = 22 + 0xFFFF;
/// Bounds the walk on archives that claim absurd entry counts.
const MAX_ENTRIES: usize = 65_536;
/// General-purpose flag bit 0: the entry is encrypted.
const FLAG_ENCRYPTED: u16 = 1;
/// General-purpose flag bit 3: sizes follow the data, not in the local header.
const FLAG_DATA_DESCRIPTOR: u16 = 1 << 3;

/// What a ZIP archive's headers say about it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct ZipSummary {
    /// An entry named `word/document.xml` (the body of a Word document).
    pub has_word_document: bool,
    /// An entry named `…vbaProject.bin` (Office macros).
    pub has_vba_project: bool,
    /// Some entry has the encryption flag set.
    pub encrypted: bool,
}

impl ZipSummary {
    fn note(&mut self, name: &[u8], flags: u16) {
        if name.eq_ignore_ascii_case(b"word/document.xml") {
            self.has_word_document = true;
        }
        if ends_with_ignore_case(name, b"vbaproject.bin") {
            self.has_vba_project = true;
        }
        if flags & FLAG_ENCRYPTED != 0 {
            self.encrypted = true;
        }
    }
}

/// Summarises a ZIP archive from its central directory and local headers.
pub(super) fn summarise(bytes: &[u8]) -> ZipSummary {
    let mut summary = ZipSummary::default();
    walk_central(bytes, &mut summary);
    walk_local(bytes, &mut summary);
    summary
}

fn walk_central(bytes: &[u8], summary: &mut ZipSummary) {
    let tail_start = bytes.len().saturating_sub(END_SEARCH);
    let Some(tail) = bytes.get(tail_start..) else {
        return;
    };
    let Some(end_pos) = memmem::rfind(tail, END).map(|p| p + tail_start) else {
        return;
    };
    let (Some(cd_size), Some(cd_offset)) =
        (u32_at(bytes, end_pos + 12), u32_at(bytes, end_pos + 16))
    else {
        return;
    };
    // Archives with data prepended (self-extractors, junk before the ZIP)
    // have offsets that are off by the prefix; the directory still ends
    // right before the end record.
    let candidates = [
        end_pos.checked_sub(cd_size as usize),
        Some(cd_offset as usize),
    ];
    let Some(mut pos) = candidates
        .into_iter()
        .flatten()
        .find(|&p| bytes.get(p..).is_some_and(|b| b.starts_with(CENTRAL)))
    else {
        return;
    };
    for _ in 0..MAX_ENTRIES {
        if !bytes.get(pos..).is_some_and(|b| b.starts_with(CENTRAL)) {
            return;
        }
        let (Some(flags), Some(name_len), Some(extra_len), Some(comment_len)) = (
            u16_at(bytes, pos + 8),
            u16_at(bytes, pos + 28),
            u16_at(bytes, pos + 30),
            u16_at(bytes, pos + 32),
        ) else {
            return;
        };
        let name_start = pos + 46;
        let Some(name) = bytes.get(name_start..name_start + usize::from(name_len)) else {
            return;
        };
        summary.note(name, flags);
        pos =
            name_start + usize::from(name_len) + usize::from(extra_len) + usize::from(comment_len);
    }
}

fn walk_local(bytes: &[u8], summary: &mut ZipSummary) {
    let mut pos = 0usize;
    for _ in 0..MAX_ENTRIES {
        if !bytes.get(pos..).is_some_and(|b| b.starts_with(LOCAL)) {
            return;
        }
        let (Some(flags), Some(compressed), Some(name_len), Some(extra_len)) = (
            u16_at(bytes, pos + 6),
            u32_at(bytes, pos + 18),
            u16_at(bytes, pos + 26),
            u16_at(bytes, pos + 28),
        ) else {
            return;
        };
        let name_start = pos + 30;
        let Some(name) = bytes.get(name_start..name_start + usize::from(name_len)) else {
            return;
        };
        summary.note(name, flags);
        let data_start = name_start + usize::from(name_len) + usize::from(extra_len);
        let size_unknown = flags & FLAG_DATA_DESCRIPTOR != 0 || compressed == u32::MAX;
        pos = if size_unknown {
            // The size is only known after the data: look for the next header.
            match bytes
                .get(data_start..)
                .and_then(|rest| memmem::find(rest, LOCAL))
            {
                Some(offset) => data_start + offset,
                None => return,
            }
        } else {
            data_start + compressed as usize
        };
    }
}

fn ends_with_ignore_case(haystack: &[u8], suffix: &[u8]) -> bool {
    haystack.len() >= suffix.len()
        && haystack
            .get(haystack.len() - suffix.len()..)
            .is_some_and(|tail| tail.eq_ignore_ascii_case(suffix))
}

/// Little-endian `u16` at `at`, if the bytes are there.
pub(super) fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    let end = at.checked_add(2)?;
    let raw: [u8; 2] = bytes.get(at..end)?.try_into().ok()?;
    Some(u16::from_le_bytes(raw))
}

/// Little-endian `u32` at `at`, if the bytes are there.
pub(super) fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let end = at.checked_add(4)?;
    let raw: [u8; 4] = bytes.get(at..end)?.try_into().ok()?;
    Some(u32::from_le_bytes(raw))
}

/// Little-endian `u64` at `at`, if the bytes are there.
pub(super) fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    let end = at.checked_add(8)?;
    let raw: [u8; 8] = bytes.get(at..end)?.try_into().ok()?;
    Some(u64::from_le_bytes(raw))
}

/// Test helpers that build ZIP archives by hand, so flags can be set that no
/// writer sets on request.
#[cfg(test)]
pub(super) mod build {
    /// One stored (uncompressed) entry.
    pub struct Entry<'a> {
        pub name: &'a str,
        pub data: &'a [u8],
        pub flags: u16,
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    /// A ZIP archive of stored entries, with a central directory.
    pub fn zip(entries: &[Entry<'_>]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut central = Vec::new();
        for e in entries {
            let offset = out.len() as u32;
            let header = |sig: &[u8], out: &mut Vec<u8>, central: bool| {
                out.extend_from_slice(sig);
                if central {
                    out.extend_from_slice(&20u16.to_le_bytes()); // made by
                }
                out.extend_from_slice(&20u16.to_le_bytes()); // version needed
                out.extend_from_slice(&e.flags.to_le_bytes());
                out.extend_from_slice(&0u16.to_le_bytes()); // stored
                out.extend_from_slice(&[0; 4]); // time, date
                out.extend_from_slice(&crc32(e.data).to_le_bytes());
                out.extend_from_slice(&(e.data.len() as u32).to_le_bytes());
                out.extend_from_slice(&(e.data.len() as u32).to_le_bytes());
                out.extend_from_slice(&(e.name.len() as u16).to_le_bytes());
                out.extend_from_slice(&0u16.to_le_bytes()); // extra
                if central {
                    out.extend_from_slice(&0u16.to_le_bytes()); // comment
                    out.extend_from_slice(&0u16.to_le_bytes()); // disk
                    out.extend_from_slice(&0u16.to_le_bytes()); // internal attrs
                    out.extend_from_slice(&0u32.to_le_bytes()); // external attrs
                    out.extend_from_slice(&offset.to_le_bytes());
                }
                out.extend_from_slice(e.name.as_bytes());
            };
            header(b"PK\x03\x04", &mut out, false);
            out.extend_from_slice(e.data);
            header(b"PK\x01\x02", &mut central, true);
        }
        let cd_offset = out.len() as u32;
        out.extend_from_slice(&central);
        out.extend_from_slice(b"PK\x05\x06");
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        out.extend_from_slice(&(central.len() as u32).to_le_bytes());
        out.extend_from_slice(&cd_offset.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::build::{Entry, zip};
    use super::*;

    #[test]
    fn finds_word_document_and_macros() {
        let bytes = zip(&[
            Entry {
                name: "[Content_Types].xml",
                data: b"<x/>",
                flags: 0,
            },
            Entry {
                name: "word/document.xml",
                data: b"<w:document/>",
                flags: 0,
            },
            Entry {
                name: "word/vbaProject.bin",
                data: b"\0\0",
                flags: 0,
            },
        ]);
        let s = summarise(&bytes);
        assert!(s.has_word_document && s.has_vba_project && !s.encrypted);
    }

    #[test]
    fn sees_the_encryption_flag() {
        let bytes = zip(&[Entry {
            name: "invoice.pdf",
            data: b"xxxx",
            flags: 1,
        }]);
        assert!(summarise(&bytes).encrypted);
    }

    #[test]
    fn sees_encryption_only_in_the_local_header_of_a_zip_without_directory() {
        let mut bytes = zip(&[Entry {
            name: "a.exe",
            data: b"xx",
            flags: 1,
        }]);
        let cd = memmem::find(&bytes, CENTRAL).unwrap_or(bytes.len());
        bytes.truncate(cd);
        assert!(summarise(&bytes).encrypted);
    }

    #[test]
    fn reads_the_directory_of_a_zip_with_a_prefix() {
        let mut bytes = b"MZ junk before the archive".to_vec();
        bytes.extend(zip(&[Entry {
            name: "word/document.xml",
            data: b"x",
            flags: 1,
        }]));
        let s = summarise(&bytes);
        assert!(s.has_word_document && s.encrypted);
    }

    #[test]
    fn truncated_and_garbage_archives_give_an_empty_summary() {
        let bytes = zip(&[Entry {
            name: "word/document.xml",
            data: b"x",
            flags: 0,
        }]);
        for len in 0..bytes.len() {
            let _ = summarise(bytes.get(..len).unwrap_or_default());
        }
        assert_eq!(summarise(b"PK\x03\x04\xff\xff"), ZipSummary::default());
        assert_eq!(summarise(b"PK\x05\x06\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"), ZipSummary::default());
    }
}
