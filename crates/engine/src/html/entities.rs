//! HTML character references (`&amp;`, `&#163;`, `&#x20AC;`), decoded the way
//! browsers do for the entities that occur in real email. Invoice mail is full
//! of `&pound;`, `&euro;` and `&nbsp;`; an amount that stays `&pound;1,200`
//! would never be read as money.

/// Names of U+00A0..=U+00FF in code-point order (the HTML 4 Latin-1 set).
const LATIN1: [&str; 96] = [
    "nbsp", "iexcl", "cent", "pound", "curren", "yen", "brvbar", "sect", "uml", "copy", "ordf",
    "laquo", "not", "shy", "reg", "macr", "deg", "plusmn", "sup2", "sup3", "acute", "micro",
    "para", "middot", "cedil", "sup1", "ordm", "raquo", "frac14", "frac12", "frac34", "iquest",
    "Agrave", "Aacute", "Acirc", "Atilde", "Auml", "Aring", "AElig", "Ccedil", "Egrave", "Eacute",
    "Ecirc", "Euml", "Igrave", "Iacute", "Icirc", "Iuml", "ETH", "Ntilde", "Ograve", "Oacute",
    "Ocirc", "Otilde", "Ouml", "times", "Oslash", "Ugrave", "Uacute", "Ucirc", "Uuml", "Yacute",
    "THORN", "szlig", "agrave", "aacute", "acirc", "atilde", "auml", "aring", "aelig", "ccedil",
    "egrave", "eacute", "ecirc", "euml", "igrave", "iacute", "icirc", "iuml", "eth", "ntilde",
    "ograve", "oacute", "ocirc", "otilde", "ouml", "divide", "oslash", "ugrave", "uacute", "ucirc",
    "uuml", "yacute", "thorn", "yuml",
];

/// Entities browsers decode even without the closing `;` (the legacy set, cut
/// to the ones seen in mail). Longer names first so `&notin` is not `&not`+`in`.
const LEGACY: [&str; 11] = [
    "pound", "nbsp", "quot", "copy", "cent", "sect", "amp", "reg", "yen", "lt", "gt",
];

/// Windows-1252 meanings of `&#128;`..`&#159;`, which browsers apply because
/// mail written on Windows says `&#128;` when it means `€`.
const CP1252: [char; 32] = [
    '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8D}', 'Ž', '\u{8F}',
    '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9D}', 'ž', 'Ÿ',
];

/// The character a named reference stands for (case-sensitive, as in HTML).
fn named(name: &str) -> Option<char> {
    let c = match name {
        "amp" | "AMP" => '&',
        "lt" | "LT" => '<',
        "gt" | "GT" => '>',
        "quot" | "QUOT" => '"',
        "apos" => '\'',
        "euro" => '€',
        "trade" => '™',
        "bull" => '•',
        "hellip" => '…',
        "ndash" => '–',
        "mdash" => '—',
        "minus" => '−',
        "lsquo" => '‘',
        "rsquo" => '’',
        "sbquo" => '‚',
        "ldquo" => '“',
        "rdquo" => '”',
        "bdquo" => '„',
        "lsaquo" => '‹',
        "rsaquo" => '›',
        "dagger" => '†',
        "Dagger" => '‡',
        "permil" => '‰',
        "ensp" => '\u{2002}',
        "emsp" => '\u{2003}',
        "thinsp" => '\u{2009}',
        "zwnj" => '\u{200C}',
        "zwj" => '\u{200D}',
        "lrm" => '\u{200E}',
        "rlm" => '\u{200F}',
        "OElig" => 'Œ',
        "oelig" => 'œ',
        "Scaron" => 'Š',
        "scaron" => 'š',
        "Yuml" => 'Ÿ',
        "fnof" => 'ƒ',
        "circ" => 'ˆ',
        "tilde" => '˜',
        "larr" => '←',
        "rarr" => '→',
        "uarr" => '↑',
        "darr" => '↓',
        "check" => '✓',
        "star" => '☆',
        "num" => '#',
        "percnt" => '%',
        "commat" => '@',
        "dollar" => '$',
        "colon" => ':',
        "sol" => '/',
        "period" => '.',
        "comma" => ',',
        "lpar" => '(',
        "rpar" => ')',
        "Tab" => '\t',
        "NewLine" => '\n',
        _ => {
            let idx = LATIN1.iter().position(|n| *n == name)?;
            return char::from_u32(0xA0 + idx as u32);
        }
    };
    Some(c)
}

/// The character a numeric reference stands for, with the browser's repairs.
fn numeric(v: u32) -> char {
    match v {
        0x80..=0x9F => CP1252
            .get((v - 0x80) as usize)
            .copied()
            .unwrap_or('\u{FFFD}'),
        0 => '\u{FFFD}',
        _ => char::from_u32(v).unwrap_or('\u{FFFD}'),
    }
}

/// Decodes the character reference starting at byte `at` (which holds `&`).
/// Returns the character and the number of bytes consumed, or `None` if the
/// `&` is literal. In attribute values (`in_attr`) a name without `;` that is
/// followed by `=` or a letter stays literal, so `?a=1&copy=2` survives.
pub(super) fn decode_entity(s: &str, at: usize, in_attr: bool) -> Option<(char, usize)> {
    let b = s.as_bytes();
    match b.get(at + 1)? {
        b'#' => {
            let (radix, start) = match b.get(at + 2) {
                Some(b'x' | b'X') => (16, at + 3),
                _ => (10, at + 2),
            };
            let mut i = start;
            let mut v: u32 = 0;
            while let Some(d) = b.get(i).and_then(|c| char::from(*c).to_digit(radix)) {
                v = v.saturating_mul(radix).saturating_add(d);
                i += 1;
            }
            if i == start {
                return None;
            }
            if b.get(i) == Some(&b';') {
                i += 1;
            }
            Some((numeric(v), i - at))
        }
        c if c.is_ascii_alphanumeric() => {
            let start = at + 1;
            let mut i = start;
            // Entity names are short; the cap keeps a long word after `&` cheap.
            while i - start < 32 && b.get(i).is_some_and(u8::is_ascii_alphanumeric) {
                i += 1;
            }
            let name = s.get(start..i)?;
            if b.get(i) == Some(&b';')
                && let Some(c) = named(name)
            {
                return Some((c, i + 1 - at));
            }
            let legacy = LEGACY.iter().find(|l| name.starts_with(*l))?;
            let next = b.get(start + legacy.len());
            if in_attr && next.is_some_and(|n| n.is_ascii_alphanumeric() || *n == b'=') {
                return None;
            }
            Some((named(legacy)?, 1 + legacy.len()))
        }
        _ => None,
    }
}

/// Decodes every character reference in an attribute value.
pub(super) fn decode_attribute(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut pos = 0;
    while let Some(off) = value.get(pos..).and_then(|rest| rest.find('&')) {
        let at = pos + off;
        out.push_str(value.get(pos..at).unwrap_or_default());
        if let Some((c, len)) = decode_entity(value, at, true) {
            out.push(c);
            pos = at + len;
        } else {
            out.push('&');
            pos = at + 1;
        }
    }
    out.push_str(value.get(pos..).unwrap_or_default());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(s: &str) -> Option<(char, usize)> {
        decode_entity(s, 0, false)
    }

    #[test]
    fn decodes_named_numeric_and_hex_references() {
        assert_eq!(one("&amp;"), Some(('&', 5)));
        assert_eq!(one("&pound;12"), Some(('£', 7)));
        assert_eq!(one("&euro;"), Some(('€', 6)));
        assert_eq!(one("&nbsp;"), Some(('\u{A0}', 6)));
        assert_eq!(one("&#163;"), Some(('£', 6)));
        assert_eq!(one("&#x20AC;"), Some(('€', 8)));
        assert_eq!(one("&#X20ac;"), Some(('€', 8)));
        assert_eq!(one("&#39;"), Some(('\'', 5)));
        assert_eq!(one("&eacute;"), Some(('é', 8)));
        assert_eq!(one("&Eacute;"), Some(('É', 8)));
        assert_eq!(one("&yuml;"), Some(('ÿ', 6)));
    }

    #[test]
    fn repairs_numeric_references_like_browsers() {
        assert_eq!(one("&#128;"), Some(('€', 6)));
        assert_eq!(one("&#0;"), Some(('\u{FFFD}', 4)));
        assert_eq!(one("&#xD800;"), Some(('\u{FFFD}', 8)));
        assert_eq!(
            one("&#99999999999999999999;").map(|r| r.0),
            Some('\u{FFFD}')
        );
        assert_eq!(one("&#163 "), Some(('£', 5)));
    }

    #[test]
    fn leaves_unknown_and_bare_ampersands_literal() {
        assert_eq!(one("& "), None);
        assert_eq!(one("&"), None);
        assert_eq!(one("&#;"), None);
        assert_eq!(one("&#x;"), None);
        assert_eq!(one("&bogus;"), None);
        assert_eq!(one("&Amp;"), None);
    }

    #[test]
    fn decodes_legacy_names_without_semicolon_except_inside_query_strings() {
        assert_eq!(one("&amp "), Some(('&', 4)));
        assert_eq!(one("&pound12"), Some(('£', 6)));
        assert_eq!(decode_entity("&copy=2", 0, true), None);
        assert_eq!(
            decode_attribute("https://x.com/?a=1&amp;b=2&copy=3&lt;"),
            "https://x.com/?a=1&b=2&copy=3<"
        );
    }
}
