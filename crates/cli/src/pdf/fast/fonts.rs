//! Fonts for the fast path: how a font's bytes become text (its encoding, via
//! lopdf) and how far each glyph advances (its widths, needed to tell a gap
//! between words from adjacent glyphs). Fonts whose text the fast path could
//! get wrong are refused, and the whole document goes to pdf-extract.

use lopdf::{Dictionary, Document, Encoding, Object};

/// Widths in a font's `W` array beyond this are ignored (a CID font has at
/// most 65,536 glyphs).
const MAX_CID_WIDTHS: usize = 65_536;

/// A font the fast path can read.
pub(super) struct Font<'a> {
    encoding: Encoding<'a>,
    /// Composite (`Type0`) fonts use two-byte codes.
    two_byte: bool,
    widths: Widths,
}

enum Widths {
    Simple {
        first: u32,
        widths: Vec<f32>,
        missing: f32,
        core: Option<Core>,
    },
    Cid {
        ranges: Vec<(u32, u32, f32)>,
        default: f32,
    },
}

/// Metrics of a standard font used without a `Widths` array.
#[derive(Clone, Copy)]
enum Core {
    Table(&'static [u16; 95]),
    Fixed(f32),
}

impl Font<'_> {
    /// Appends the text of `bytes`; false if the encoding cannot decode them.
    pub(super) fn decode(&self, bytes: &[u8], out: &mut String) -> bool {
        let start = out.len();
        if self.encoding.write_to_string(bytes, out).is_err() {
            return false;
        }
        // Control characters from odd encodings would only confuse the
        // extractors downstream, and ligatures (`ﬁ`) would hide words from them.
        let needs_cleaning = |c: char| c.is_control() || ('\u{FB00}'..='\u{FB06}').contains(&c);
        if out
            .get(start..)
            .is_some_and(|new| new.chars().any(needs_cleaning))
        {
            let mut cleaned = String::new();
            for c in out.get(start..).unwrap_or_default().chars() {
                match c {
                    '\u{FB00}' => cleaned.push_str("ff"),
                    '\u{FB01}' => cleaned.push_str("fi"),
                    '\u{FB02}' => cleaned.push_str("fl"),
                    '\u{FB03}' => cleaned.push_str("ffi"),
                    '\u{FB04}' => cleaned.push_str("ffl"),
                    '\u{FB05}' | '\u{FB06}' => cleaned.push_str("st"),
                    c if c.is_control() => {}
                    c => cleaned.push(c),
                }
            }
            out.truncate(start);
            out.push_str(&cleaned);
        }
        true
    }

    /// The character codes in `bytes`.
    pub(super) fn codes<'b>(&self, bytes: &'b [u8]) -> impl Iterator<Item = u32> + 'b {
        let step = if self.two_byte { 2 } else { 1 };
        bytes
            .chunks(step)
            .map(|c| c.iter().fold(0u32, |acc, &b| acc << 8 | u32::from(b)))
    }

    /// Whether word spacing applies to `code` (single-byte code 32 only).
    pub(super) fn is_word_space(&self, code: u32) -> bool {
        !self.two_byte && code == 32
    }

    /// The advance of `code`, in thousandths of an em.
    pub(super) fn width(&self, code: u32) -> f32 {
        match &self.widths {
            Widths::Simple {
                first,
                widths,
                missing,
                core,
            } => {
                let listed = code
                    .checked_sub(*first)
                    .and_then(|i| widths.get(i as usize))
                    .copied();
                let from_core = || match core {
                    Some(Core::Table(table)) => code
                        .checked_sub(32)
                        .and_then(|i| table.get(i as usize))
                        .map(|&w| f32::from(w)),
                    Some(Core::Fixed(w)) => Some(*w),
                    None => None,
                };
                listed.or_else(from_core).unwrap_or(*missing)
            }
            Widths::Cid { ranges, default } => {
                let after = ranges.partition_point(|r| r.0 <= code);
                after
                    .checked_sub(1)
                    .and_then(|i| ranges.get(i))
                    .filter(|r| code <= r.1)
                    .map_or(*default, |r| r.2)
            }
        }
    }
}

fn number(doc: &Document, object: &Object) -> Option<f32> {
    let (_, object) = doc.dereference(object).ok()?;
    object.as_float().ok().filter(|n| n.is_finite())
}

fn deref<'a>(doc: &'a Document, dict: &'a Dictionary, key: &[u8]) -> Option<&'a Object> {
    dict.get_deref(key, doc).ok()
}

/// Reads a font dictionary, or `None` when the fast path should not.
pub(super) fn load<'a>(doc: &'a Document, dict: &'a Dictionary) -> Option<Font<'a>> {
    let subtype = deref(doc, dict, b"Subtype")?.as_name().ok()?;
    let encoding_entry = deref(doc, dict, b"Encoding");
    let encoding = dict.get_font_encoding(doc).ok()?;

    match subtype {
        b"Type0" => {
            let identity = encoding_entry
                .and_then(|e| e.as_name().ok())
                .is_some_and(|n| n == b"Identity-H" || n == b"Identity-V");
            if !identity || !matches!(encoding, Encoding::UnicodeMapEncoding(_)) {
                return None;
            }
            Some(Font {
                encoding,
                two_byte: true,
                widths: cid_widths(doc, dict),
            })
        }
        b"Type1" | b"MMType1" | b"TrueType" => {
            let base = base_font(doc, dict);
            if matches!(base, "Symbol" | "ZapfDingbats") {
                return None;
            }
            // lopdf falls back to StandardEncoding when it cannot read an
            // encoding; make sure what it returned is what the font says.
            // Without an `Encoding` entry an embedded font uses the encoding
            // inside its font program (TeX fonts do), which lopdf does not
            // read: only a `ToUnicode` map or a standard font will do then.
            let ok = match (encoding_entry, &encoding) {
                (None, Encoding::UnicodeMapEncoding(_))
                | (Some(Object::Dictionary(_)), Encoding::Differences(_))
                | (
                    Some(Object::Name(_)),
                    Encoding::OneByteEncoding(_) | Encoding::UnicodeMapEncoding(_),
                ) => true,
                (None, _) => !is_embedded(doc, dict),
                (Some(Object::Name(n)), Encoding::SimpleEncoding(_)) => n == b"WinAnsiEncoding",
                _ => false,
            };
            if !ok {
                return None;
            }
            Some(Font {
                encoding,
                two_byte: false,
                widths: simple_widths(doc, dict, base),
            })
        }
        _ => None,
    }
}

/// Whether the font program is in the file (so its built-in encoding may
/// differ from `StandardEncoding`).
fn is_embedded(doc: &Document, dict: &Dictionary) -> bool {
    deref(doc, dict, b"FontDescriptor")
        .and_then(|d| d.as_dict().ok())
        .is_some_and(|d| {
            [&b"FontFile"[..], b"FontFile2", b"FontFile3"]
                .iter()
                .any(|k| d.has(k))
        })
}

/// The font's PostScript name without a subset prefix (`ABCDEF+Arial`).
fn base_font<'a>(doc: &'a Document, dict: &'a Dictionary) -> &'a str {
    let name = deref(doc, dict, b"BaseFont")
        .and_then(|n| n.as_name().ok())
        .and_then(|n| std::str::from_utf8(n).ok())
        .unwrap_or_default();
    match name.split_once('+') {
        Some((prefix, rest))
            if prefix.len() == 6 && prefix.bytes().all(|b| b.is_ascii_uppercase()) =>
        {
            rest
        }
        _ => name,
    }
}

fn simple_widths(doc: &Document, dict: &Dictionary, base: &str) -> Widths {
    let first = deref(doc, dict, b"FirstChar")
        .and_then(|n| n.as_i64().ok())
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(0);
    let widths: Vec<f32> = deref(doc, dict, b"Widths")
        .and_then(|w| w.as_array().ok())
        .map(|w| {
            w.iter()
                .take(256)
                .map(|o| number(doc, o).unwrap_or(0.0))
                .collect()
        })
        .unwrap_or_default();
    let missing = deref(doc, dict, b"FontDescriptor")
        .and_then(|d| d.as_dict().ok())
        .and_then(|d| deref(doc, d, b"MissingWidth"))
        .and_then(|w| number(doc, w))
        .filter(|&w| w > 0.0)
        .unwrap_or(500.0);
    Widths::Simple {
        first,
        widths,
        missing,
        core: core_metrics(base),
    }
}

fn cid_widths(doc: &Document, dict: &Dictionary) -> Widths {
    let descendant = deref(doc, dict, b"DescendantFonts")
        .and_then(|d| d.as_array().ok())
        .and_then(|a| a.first())
        .and_then(|d| doc.dereference(d).ok())
        .and_then(|(_, d)| d.as_dict().ok());
    let default = descendant
        .and_then(|d| deref(doc, d, b"DW"))
        .and_then(|w| number(doc, w))
        .unwrap_or(1000.0);
    let mut ranges = Vec::new();
    let w = descendant
        .and_then(|d| deref(doc, d, b"W"))
        .and_then(|w| w.as_array().ok());
    let mut items = w.map(|w| w.iter()).into_iter().flatten();
    while ranges.len() < MAX_CID_WIDTHS {
        let Some(first) = items.next().and_then(|o| number(doc, o)) else {
            break;
        };
        let first = first as u32;
        let Some(next) = items
            .next()
            .and_then(|o| doc.dereference(o).ok())
            .map(|(_, o)| o)
        else {
            break;
        };
        if let Ok(list) = next.as_array() {
            for (i, w) in list.iter().take(MAX_CID_WIDTHS).enumerate() {
                let code = first.saturating_add(i as u32);
                ranges.push((code, code, number(doc, w).unwrap_or(default)));
            }
        } else {
            let last = number(doc, next).map_or(first, |n| n as u32);
            let width = items.next().and_then(|o| number(doc, o)).unwrap_or(default);
            ranges.push((first, last.max(first), width));
        }
    }
    ranges.sort_by_key(|r| r.0);
    Widths::Cid { ranges, default }
}

/// Metrics for the standard 14 fonts (and their common Windows names),
/// which PDFs may use without a `Widths` array.
fn core_metrics(base: &str) -> Option<Core> {
    let name = base.to_ascii_lowercase().replace([',', ' '], "-");
    let bold = name.contains("bold");
    let italic = name.contains("italic") || name.contains("oblique");
    if name.starts_with("courier") {
        return Some(Core::Fixed(600.0));
    }
    if name.starts_with("helvetica") || name.starts_with("arial") {
        return Some(Core::Table(if bold { &HELVETICA_BOLD } else { &HELVETICA }));
    }
    if name.starts_with("times") {
        let table = match (bold, italic) {
            (false, false) => &TIMES_ROMAN,
            (true, false) => &TIMES_BOLD,
            (false, true) => &TIMES_ITALIC,
            (true, true) => &TIMES_BOLDITALIC,
        };
        return Some(Core::Table(table));
    }
    None
}

// Advance widths of the standard fonts for codes 32–126, from Adobe's
// published core-font metrics (the same numbers pdf-extract embeds).

/// `Helvetica` advance widths for codes 32–126, in thousandths of an em.
#[rustfmt::skip]
const HELVETICA: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 222, 333, 333, 389, 584, 278, 333, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,
    222, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];

/// `Helvetica-Bold` advance widths for codes 32–126, in thousandths of an em.
#[rustfmt::skip]
const HELVETICA_BOLD: [u16; 95] = [
    278, 333, 474, 556, 556, 889, 722, 278, 333, 333, 389, 584, 278, 333, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611,
    975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778,
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556,
    278, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611,
    611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584,
];

/// `Times-Roman` advance widths for codes 32–126, in thousandths of an em.
#[rustfmt::skip]
const TIMES_ROMAN: [u16; 95] = [
    250, 333, 408, 500, 500, 833, 778, 333, 333, 333, 500, 564, 250, 333, 250, 278,
    500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 278, 278, 564, 564, 564, 444,
    921, 722, 667, 667, 722, 611, 556, 722, 722, 333, 389, 722, 611, 889, 722, 722,
    556, 722, 667, 556, 611, 722, 722, 944, 722, 722, 611, 333, 278, 333, 469, 500,
    333, 444, 500, 444, 500, 444, 333, 500, 500, 278, 278, 500, 278, 778, 500, 500,
    500, 500, 333, 389, 278, 500, 500, 722, 500, 500, 444, 480, 200, 480, 541,
];

/// `Times-Bold` advance widths for codes 32–126, in thousandths of an em.
#[rustfmt::skip]
const TIMES_BOLD: [u16; 95] = [
    250, 333, 555, 500, 500, 1000, 833, 333, 333, 333, 500, 570, 250, 333, 250, 278,
    500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 333, 333, 570, 570, 570, 500,
    930, 722, 667, 722, 722, 667, 611, 778, 778, 389, 500, 778, 667, 944, 722, 778,
    611, 778, 722, 556, 667, 722, 722, 1000, 722, 722, 667, 333, 278, 333, 581, 500,
    333, 500, 556, 444, 556, 444, 333, 500, 556, 278, 333, 556, 278, 833, 556, 500,
    556, 556, 444, 389, 333, 556, 500, 722, 500, 500, 444, 394, 220, 394, 520,
];

/// `Times-Italic` advance widths for codes 32–126, in thousandths of an em.
#[rustfmt::skip]
const TIMES_ITALIC: [u16; 95] = [
    250, 333, 420, 500, 500, 833, 778, 333, 333, 333, 500, 675, 250, 333, 250, 278,
    500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 333, 333, 675, 675, 675, 500,
    920, 611, 611, 667, 722, 611, 611, 722, 722, 333, 444, 667, 556, 833, 667, 722,
    611, 722, 611, 500, 556, 722, 611, 833, 611, 556, 556, 389, 278, 389, 422, 500,
    333, 500, 500, 444, 500, 444, 278, 500, 500, 278, 278, 444, 278, 722, 500, 500,
    500, 500, 389, 389, 278, 500, 444, 667, 444, 444, 389, 400, 275, 400, 541,
];

/// `Times-BoldItalic` advance widths for codes 32–126, in thousandths of an em.
#[rustfmt::skip]
const TIMES_BOLDITALIC: [u16; 95] = [
    250, 389, 555, 500, 500, 833, 778, 333, 333, 333, 500, 570, 250, 333, 250, 278,
    500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 333, 333, 570, 570, 570, 500,
    832, 667, 667, 667, 722, 667, 667, 722, 778, 389, 500, 667, 611, 889, 722, 722,
    611, 722, 667, 556, 611, 722, 667, 889, 667, 611, 611, 333, 278, 333, 570, 500,
    333, 500, 500, 444, 500, 444, 333, 500, 556, 278, 278, 500, 278, 778, 556, 500,
    500, 500, 389, 389, 278, 556, 444, 667, 500, 444, 389, 348, 220, 348, 570,
];
