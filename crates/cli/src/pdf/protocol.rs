//! The pipe protocol between [`super::SandboxedPdfExtractor`] and the
//! worker: every message is a frame, a little-endian `u32` length followed by
//! that many bytes. A request frame is a PDF; a reply frame is a status byte
//! ([`STATUS_TEXT`] or [`STATUS_FAILED`]) followed by UTF-8 text or a reason.

use std::io::{self, Read, Write};

/// Reply status: the rest of the frame is the document's text.
pub const STATUS_TEXT: u8 = 0;
/// Reply status: the rest of the frame is why the document could not be read.
pub const STATUS_FAILED: u8 = 1;

/// Writes one frame made of `parts` and flushes it.
pub fn write_frame(out: &mut impl Write, parts: &[&[u8]]) -> io::Result<()> {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let len = u32::try_from(len)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame too large"))?;
    out.write_all(&len.to_le_bytes())?;
    for part in parts {
        out.write_all(part)?;
    }
    out.flush()
}

/// Reads one frame of at most `max` bytes. `Ok(None)` is a clean end of
/// stream between frames; a longer frame is an error, because the stream
/// cannot be resynchronised after refusing one.
pub fn read_frame(input: &mut impl Read, max: usize) -> io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    let mut filled = 0;
    while filled < len.len() {
        let Some(rest) = len.get_mut(filled..) else {
            break;
        };
        match input.read(rest) {
            Ok(0) if filled == 0 => return Ok(None),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let len = u32::from_le_bytes(len) as usize;
    if len > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "frame larger than allowed",
        ));
    }
    let mut frame = vec![0; len];
    input.read_exact(&mut frame)?;
    Ok(Some(frame))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let mut pipe = Vec::new();
        write_frame(&mut pipe, &[&[STATUS_TEXT], b"hello"]).unwrap();
        write_frame(&mut pipe, &[]).unwrap();
        let mut input = pipe.as_slice();
        assert_eq!(
            read_frame(&mut input, 100).unwrap(),
            Some(b"\0hello".to_vec())
        );
        assert_eq!(read_frame(&mut input, 100).unwrap(), Some(Vec::new()));
        assert_eq!(read_frame(&mut input, 100).unwrap(), None);
    }

    #[test]
    fn oversized_and_truncated_frames_are_errors() {
        let mut pipe = Vec::new();
        write_frame(&mut pipe, &[b"0123456789"]).unwrap();
        assert!(read_frame(&mut pipe.as_slice(), 5).is_err());
        assert!(read_frame(&mut pipe.get(..8).unwrap(), 100).is_err());
        assert!(read_frame(&mut pipe.get(..2).unwrap(), 100).is_err());
    }
}
