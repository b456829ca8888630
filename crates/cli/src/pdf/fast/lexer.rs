//! A tokenizer for PDF content streams that keeps only what text extraction
//! needs: numbers, strings, names, arrays of those, and operators. It skips
//! dictionaries' brackets and inline images, and it never fails: malformed
//! input ends the token stream early instead.

/// One operand of a content-stream operator.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Operand {
    /// An integer or real number (non-finite values become zero).
    Number(f32),
    /// A literal or hexadecimal string, escapes decoded.
    Str(Vec<u8>),
    /// A name, without the slash (`#xx` escapes are not decoded: resource
    /// names in real files do not use them).
    Name(Vec<u8>),
    /// An array of operands.
    Array(Vec<Operand>),
    /// Anything else (booleans, null, dictionary keys' brackets).
    Other,
}

/// One token: an operand, or an operator keyword.
#[derive(Debug, PartialEq)]
pub(super) enum Token<'a> {
    /// An operand.
    Operand(Operand),
    /// An operator keyword such as `Tj`.
    Operator(&'a [u8]),
}

/// Arrays nested deeper than this are skipped as [`Operand::Other`].
const MAX_ARRAY_DEPTH: usize = 8;

/// Iterates over the tokens of a content stream.
pub(super) struct Lexer<'a> {
    data: &'a [u8],
    pos: usize,
}

fn is_whitespace(b: u8) -> bool {
    matches!(b, b'\0' | b'\t' | b'\n' | b'\x0C' | b'\r' | b' ')
}

fn is_delimiter(b: u8) -> bool {
    matches!(
        b,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

impl<'a> Lexer<'a> {
    pub(super) fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.data.get(self.pos).copied()
    }

    fn skip_space(&mut self) {
        while let Some(b) = self.peek() {
            if is_whitespace(b) {
                self.pos += 1;
            } else if b == b'%' {
                while self.peek().is_some_and(|b| b != b'\n' && b != b'\r') {
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    fn regular(&mut self) -> &'a [u8] {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|b| !is_whitespace(b) && !is_delimiter(b))
        {
            self.pos += 1;
        }
        self.data.get(start..self.pos).unwrap_or_default()
    }

    fn literal_string(&mut self) -> Vec<u8> {
        // Called after the opening parenthesis.
        let mut out = Vec::new();
        let mut depth = 1u32;
        while let Some(b) = self.peek() {
            self.pos += 1;
            match b {
                b'(' => {
                    depth += 1;
                    out.push(b);
                }
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                    out.push(b);
                }
                b'\\' => self.escape(&mut out),
                _ => out.push(b),
            }
        }
        out
    }

    fn escape(&mut self, out: &mut Vec<u8>) {
        let Some(b) = self.peek() else {
            return;
        };
        self.pos += 1;
        match b {
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'0'..=b'7' => {
                let mut value = u32::from(b - b'0');
                for _ in 0..2 {
                    match self.peek() {
                        Some(d @ b'0'..=b'7') => {
                            value = value * 8 + u32::from(d - b'0');
                            self.pos += 1;
                        }
                        _ => break,
                    }
                }
                out.push((value & 0xFF) as u8);
            }
            b'\r' => {
                if self.peek() == Some(b'\n') {
                    self.pos += 1;
                }
            }
            b'\n' => {}
            other => out.push(other),
        }
    }

    fn hex_string(&mut self) -> Vec<u8> {
        // Called after the opening angle bracket.
        let mut out = Vec::new();
        let mut high: Option<u8> = None;
        while let Some(b) = self.peek() {
            self.pos += 1;
            let nibble = match b {
                b'>' => break,
                b'0'..=b'9' => b - b'0',
                b'a'..=b'f' => b - b'a' + 10,
                b'A'..=b'F' => b - b'A' + 10,
                _ => continue,
            };
            match high.take() {
                Some(h) => out.push(h << 4 | nibble),
                None => high = Some(nibble),
            }
        }
        if let Some(h) = high {
            out.push(h << 4);
        }
        out
    }

    /// Skips inline image data after `ID`, up to and including `EI`.
    fn skip_inline_image(&mut self) {
        let rest = self.data.get(self.pos..).unwrap_or_default();
        let end = rest.windows(4).position(|w| {
            w.first().copied().is_some_and(is_whitespace)
                && w.get(1..3) == Some(b"EI".as_slice())
                && w.get(3)
                    .copied()
                    .is_some_and(|b| is_whitespace(b) || is_delimiter(b))
        });
        self.pos = match end {
            Some(offset) => self.pos + offset + 3,
            None => self.data.len(),
        };
    }

    /// The next operand or operator; `None` at the end of the stream.
    fn operand_or_operator(&mut self, depth: usize) -> Option<Token<'a>> {
        self.skip_space();
        let b = self.peek()?;
        let operand = match b {
            b'(' => {
                self.pos += 1;
                Operand::Str(self.literal_string())
            }
            b'<' if self.data.get(self.pos + 1) == Some(&b'<') => {
                self.pos += 2;
                Operand::Other
            }
            b'>' => {
                self.pos += if self.data.get(self.pos + 1) == Some(&b'>') {
                    2
                } else {
                    1
                };
                Operand::Other
            }
            b'<' => {
                self.pos += 1;
                Operand::Str(self.hex_string())
            }
            b'[' if depth >= MAX_ARRAY_DEPTH => {
                self.skip_array();
                Operand::Other
            }
            b'[' => {
                self.pos += 1;
                self.array(depth + 1)
            }
            b'/' => {
                self.pos += 1;
                Operand::Name(self.regular().to_vec())
            }
            b'0'..=b'9' | b'+' | b'-' | b'.' => {
                let word = self.regular();
                Operand::Number(parse_number(word))
            }
            b']' | b')' | b'{' | b'}' => {
                self.pos += 1;
                Operand::Other
            }
            _ => {
                let word = self.regular();
                if word.is_empty() {
                    self.pos += 1;
                    return Some(Token::Operand(Operand::Other));
                }
                if word == b"true" || word == b"false" || word == b"null" {
                    Operand::Other
                } else {
                    if word == b"ID" {
                        self.skip_inline_image();
                    }
                    return Some(Token::Operator(word));
                }
            }
        };
        Some(Token::Operand(operand))
    }

    fn array(&mut self, depth: usize) -> Operand {
        let mut items = Vec::new();
        loop {
            self.skip_space();
            match self.peek() {
                None => break,
                Some(b']') => {
                    self.pos += 1;
                    break;
                }
                Some(_) => match self.operand_or_operator(depth) {
                    Some(Token::Operand(o)) => items.push(o),
                    // An operator inside an array means the array was never
                    // closed; stop here and let the operator be lost.
                    Some(Token::Operator(_)) | None => break,
                },
            }
        }
        Operand::Array(items)
    }

    /// Skips a too-deeply nested array without recursing, by counting
    /// brackets (strings inside it may unbalance the count; that only ends
    /// the skip early or late, never fails).
    fn skip_array(&mut self) {
        let mut depth = 0usize;
        while let Some(b) = self.peek() {
            self.pos += 1;
            match b {
                b'[' => depth += 1,
                b']' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return;
                    }
                }
                _ => {}
            }
        }
    }
}

impl<'a> Iterator for Lexer<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        self.operand_or_operator(0)
    }
}

fn parse_number(word: &[u8]) -> f32 {
    std::str::from_utf8(word)
        .ok()
        .and_then(|s| s.parse::<f32>().ok())
        .filter(|n| n.is_finite())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(data: &[u8]) -> Vec<Token<'_>> {
        Lexer::new(data).collect()
    }

    #[test]
    fn reads_operands_and_operators() {
        let t = tokens(
            b"BT /F1 12 Tf 72 720.5 Td (a\\(b\\)\\101\\\\) Tj <48 69> Tj [(x) -250 (y)] TJ ET",
        );
        assert_eq!(
            t.get(1),
            Some(&Token::Operand(Operand::Name(b"F1".to_vec())))
        );
        assert_eq!(t.get(5), Some(&Token::Operand(Operand::Number(720.5))));
        assert_eq!(
            t.get(7),
            Some(&Token::Operand(Operand::Str(b"a(b)A\\".to_vec())))
        );
        assert_eq!(
            t.get(9),
            Some(&Token::Operand(Operand::Str(b"Hi".to_vec())))
        );
        assert_eq!(
            t.get(11),
            Some(&Token::Operand(Operand::Array(vec![
                Operand::Str(b"x".to_vec()),
                Operand::Number(-250.0),
                Operand::Str(b"y".to_vec())
            ])))
        );
        assert_eq!(t.last(), Some(&Token::Operator(b"ET")));
    }

    #[test]
    fn nested_parentheses_and_line_continuations() {
        let t = tokens(b"(a(b)c\\\nd) Tj");
        assert_eq!(
            t.first(),
            Some(&Token::Operand(Operand::Str(b"a(b)cd".to_vec())))
        );
    }

    #[test]
    fn inline_images_are_skipped() {
        let t = tokens(b"BI /W 2 /H 2 ID \x00\xffEI\x01 EI Q");
        assert_eq!(t.last(), Some(&Token::Operator(b"Q")));
        assert!(!t.iter().any(|t| matches!(t, Token::Operator(b"EI\x01"))));
    }

    #[test]
    fn malformed_input_ends_without_failing() {
        for data in [
            &b"("[..],
            b"<",
            b"[[[[",
            b"<<",
            b"\\",
            b"1e999 Td",
            b"[(a) Tj",
            b"%",
        ] {
            let _ = tokens(data);
        }
        assert_eq!(tokens(b"1e999"), vec![Token::Operand(Operand::Number(0.0))]);
    }

    #[test]
    fn very_deep_arrays_do_not_overflow() {
        let deep = b"[".repeat(100_000);
        assert!(tokens(&deep).len() <= 1);
    }
}
