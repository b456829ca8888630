//! Splitting mbox files (the `From ` separated format of Unix mail spools and
//! mail-client exports) into messages.

/// Whether `data` looks like an mbox file: its first line starts with `From `.
pub fn is_mbox(data: &[u8]) -> bool {
    data.starts_with(b"From ")
}

/// The messages of an mbox file, without their `From ` separator lines.
/// `>From ` lines (mboxrd quoting) are left as they are: the engine only reads
/// them as text. Never panics; an empty file has no messages.
pub fn split(data: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        let rest = data.get(pos..).unwrap_or_default();
        if rest.starts_with(b"From ") {
            starts.push(pos);
        }
        match memchr::memchr(b'\n', rest) {
            Some(nl) => pos += nl + 1,
            None => break,
        }
    }
    let mut out = Vec::with_capacity(starts.len());
    for (i, &start) in starts.iter().enumerate() {
        let end = starts.get(i + 1).copied().unwrap_or(data.len());
        let chunk = data.get(start..end).unwrap_or_default();
        // Drop the separator line itself.
        let body_start = memchr::memchr(b'\n', chunk).map_or(chunk.len(), |nl| nl + 1);
        let body = chunk.get(body_start..).unwrap_or_default();
        out.push(body);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_from_lines_only_at_line_starts() {
        let mbox = b"From a@b Mon Nov  2 09:00:00 2026\nSubject: one\n\nsaid From here\n\nFrom c@d Mon Nov  2 10:00:00 2026\nSubject: two\n\nbody\n";
        assert!(is_mbox(mbox));
        let msgs = split(mbox);
        assert_eq!(msgs.len(), 2);
        assert!(msgs[0].starts_with(b"Subject: one"));
        assert!(msgs[1].starts_with(b"Subject: two"));
    }

    #[test]
    fn empty_and_non_mbox_inputs_are_harmless() {
        assert!(split(b"").is_empty());
        assert!(!is_mbox(b"Subject: x\n"));
        assert_eq!(split(b"From x").len(), 1);
    }
}
