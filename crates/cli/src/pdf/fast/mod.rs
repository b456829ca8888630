//! The fast path for PDF text: lopdf parses the document, and a small
//! interpreter walks each page's content stream for the text operators
//! (`Tj`, `TJ`, `'`, `"`) and the operators that move text (`Td`, `TD`,
//! `Tm`, `T*`, `cm`, `q`/`Q`), putting a newline where text moves down and a
//! space where it jumps right. On the generated invoice it is several times
//! faster than pdf-extract, which lays out every glyph through a general
//! graphics model.
//!
//! It reads the fonts invoices use (standard fonts, simple fonts with a
//! named or `Differences` encoding, `Identity-H` composite fonts with a
//! `ToUnicode` map). For anything else (`Type3` fonts, other `CMap`s,
//! encryption, unreadable streams) it returns `None` and the caller uses
//! pdf-extract.

mod fonts;
mod lexer;

use std::collections::{HashMap, HashSet};

use lopdf::{Dictionary, Document, Object, ObjectId};

use fonts::Font;
use lexer::{Lexer, Operand, Token};

/// Pages after this are not read.
const MAX_PAGES: usize = 500;
/// Form `XObject`s nested deeper than this are not entered.
const MAX_FORM_DEPTH: usize = 8;
/// Bounds the work on content streams built to waste it.
const MAX_OPERATORS: usize = 4_000_000;
/// Graphics-state stack depth kept (`q` beyond it is ignored).
const MAX_SAVED_STATES: usize = 64;

/// The text of a PDF, or `None` when it needs the full extractor.
pub fn pdf_text(pdf: &[u8], max_bytes: usize) -> Option<String> {
    let doc = Document::load_mem(pdf).ok()?;
    if doc.is_encrypted() {
        return None;
    }
    let mut run = Run {
        doc: &doc,
        layout: Layout::default(),
        operators: 0,
        forms: HashSet::new(),
        max_bytes,
    };
    for (i, page_id) in doc.get_pages().into_values().take(MAX_PAGES).enumerate() {
        if i > 0 {
            run.layout.page_break();
        }
        let resources = page_resources(&doc, page_id)?;
        let content = doc.get_page_content(page_id).ok()?;
        let mut state = GraphicsState::default();
        run.content(&content, &resources, &mut state, 0)?;
        if run.layout.text.len() > max_bytes {
            break;
        }
    }
    Some(run.layout.finish())
}

/// The fonts and form `XObject`s a content stream can name.
struct Resources<'a> {
    fonts: HashMap<Vec<u8>, Font<'a>>,
    xobjects: Vec<&'a Dictionary>,
}

fn page_resources(doc: &Document, page_id: ObjectId) -> Option<Resources<'_>> {
    let mut fonts = HashMap::new();
    for (name, dict) in doc.get_page_fonts(page_id).ok()? {
        fonts.insert(name, fonts::load(doc, dict)?);
    }
    let (own, inherited) = doc.get_page_resources(page_id).ok()?;
    let dicts = own.into_iter().chain(
        inherited
            .into_iter()
            .filter_map(|id| doc.get_dictionary(id).ok()),
    );
    let xobjects = dicts
        .filter_map(|r| r.get_deref(b"XObject", doc).ok()?.as_dict().ok())
        .collect();
    Some(Resources { fonts, xobjects })
}

/// What a form `XObject` draws with.
enum FormResources<'a> {
    /// Its own resources.
    Own(Resources<'a>),
    /// None of its own: it uses its parent's (allowed by old PDF versions).
    Inherited,
    /// Resources the fast path cannot read.
    Unreadable,
}

fn form_resources<'a>(doc: &'a Document, form: &'a Dictionary) -> FormResources<'a> {
    let Ok(resources) = form.get_deref(b"Resources", doc).and_then(Object::as_dict) else {
        return FormResources::Inherited;
    };
    let mut fonts = HashMap::new();
    if let Ok(font_dict) = resources.get_deref(b"Font", doc).and_then(Object::as_dict) {
        for (name, font) in font_dict {
            let loaded = doc
                .dereference(font)
                .ok()
                .and_then(|(_, f)| f.as_dict().ok())
                .and_then(|f| fonts::load(doc, f));
            let Some(font) = loaded else {
                return FormResources::Unreadable;
            };
            fonts.insert(name.clone(), font);
        }
    }
    let xobjects = resources
        .get_deref(b"XObject", doc)
        .and_then(Object::as_dict)
        .ok()
        .into_iter()
        .collect();
    FormResources::Own(Resources { fonts, xobjects })
}

type Matrix = [f32; 6];
const IDENTITY: Matrix = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];

fn multiply(m: &Matrix, n: &Matrix) -> Matrix {
    let [a1, b1, c1, d1, e1, f1] = *m;
    let [a2, b2, c2, d2, e2, f2] = *n;
    [
        a1 * a2 + b1 * c2,
        a1 * b2 + b1 * d2,
        c1 * a2 + d1 * c2,
        c1 * b2 + d1 * d2,
        e1 * a2 + f1 * c2 + e2,
        e1 * b2 + f1 * d2 + f2,
    ]
}

fn translate(tx: f32, ty: f32, m: &Matrix) -> Matrix {
    multiply(&[1.0, 0.0, 0.0, 1.0, tx, ty], m)
}

/// The parts of the graphics and text state that position text.
#[derive(Clone)]
struct GraphicsState {
    ctm: Matrix,
    saved: Vec<Matrix>,
    tm: Matrix,
    tlm: Matrix,
    font: Option<Vec<u8>>,
    size: f32,
    char_spacing: f32,
    word_spacing: f32,
    scale: f32,
    leading: f32,
}

impl Default for GraphicsState {
    fn default() -> Self {
        Self {
            ctm: IDENTITY,
            saved: Vec::new(),
            tm: IDENTITY,
            tlm: IDENTITY,
            font: None,
            size: 0.0,
            char_spacing: 0.0,
            word_spacing: 0.0,
            scale: 1.0,
            leading: 0.0,
        }
    }
}

impl GraphicsState {
    fn next_line(&mut self, tx: f32, ty: f32) {
        self.tlm = translate(tx, ty, &self.tlm);
        self.tm = self.tlm;
    }
}

/// Text in reading order with breaks decided from positions.
#[derive(Default)]
struct Layout {
    text: String,
    /// Where the last shown text ended (device space) and its size there.
    last: Option<(f32, f32, f32)>,
}

impl Layout {
    /// Decides what separates text starting at (`x`, `y`) of height `size`
    /// from the text before it.
    fn start(&mut self, x: f32, y: f32, size: f32) {
        let Some((last_x, last_y, last_size)) = self.last else {
            return;
        };
        let height = size.max(last_size).max(1.0);
        if (y - last_y).abs() > 0.5 * height {
            self.newline();
        } else if (x - last_x > 0.15 * height || last_x - x > height)
            && !self.text.ends_with(char::is_whitespace)
        {
            self.text.push(' ');
        }
    }

    fn newline(&mut self) {
        let len = self.text.trim_end_matches([' ', '\t']).len();
        self.text.truncate(len);
        if !self.text.is_empty() {
            self.text.push('\n');
        }
    }

    fn page_break(&mut self) {
        self.newline();
        self.text.push('\n');
        self.last = None;
    }

    fn finish(self) -> String {
        self.text.trim_end().to_owned()
    }
}

struct Run<'a> {
    doc: &'a Document,
    layout: Layout,
    operators: usize,
    /// Forms being drawn, to refuse a form that draws itself.
    forms: HashSet<ObjectId>,
    max_bytes: usize,
}

impl<'a> Run<'a> {
    /// Interprets one content stream; `None` means "use the full extractor".
    fn content(
        &mut self,
        content: &[u8],
        resources: &Resources<'a>,
        state: &mut GraphicsState,
        depth: usize,
    ) -> Option<()> {
        let mut operands: Vec<Operand> = Vec::new();
        for token in Lexer::new(content) {
            let op = match token {
                Token::Operand(o) => {
                    if operands.len() < 64 {
                        operands.push(o);
                    }
                    continue;
                }
                Token::Operator(op) => op,
            };
            self.operators += 1;
            if self.operators > MAX_OPERATORS || self.layout.text.len() > self.max_bytes {
                return Some(());
            }
            self.operator(op, &operands, resources, state, depth)?;
            operands.clear();
        }
        Some(())
    }

    fn operator(
        &mut self,
        op: &[u8],
        operands: &[Operand],
        resources: &Resources<'a>,
        state: &mut GraphicsState,
        depth: usize,
    ) -> Option<()> {
        let num = |i: usize| match operands.get(i) {
            Some(Operand::Number(n)) => *n,
            _ => 0.0,
        };
        let matrix = || [num(0), num(1), num(2), num(3), num(4), num(5)];
        match op {
            b"q" if state.saved.len() < MAX_SAVED_STATES => state.saved.push(state.ctm),
            b"Q" => {
                if let Some(ctm) = state.saved.pop() {
                    state.ctm = ctm;
                }
            }
            b"cm" => state.ctm = multiply(&matrix(), &state.ctm),
            b"BT" => {
                state.tm = IDENTITY;
                state.tlm = IDENTITY;
            }
            b"Tf" => {
                if let Some(Operand::Name(name)) = operands.first() {
                    state.font = Some(name.clone());
                }
                state.size = num(1);
            }
            b"Tc" => state.char_spacing = num(0),
            b"Tw" => state.word_spacing = num(0),
            b"Tz" => state.scale = num(0) / 100.0,
            b"TL" => state.leading = num(0),
            b"Td" => state.next_line(num(0), num(1)),
            b"TD" => {
                state.leading = -num(1);
                state.next_line(num(0), num(1));
            }
            b"Tm" => {
                state.tm = matrix();
                state.tlm = state.tm;
            }
            b"T*" => state.next_line(0.0, -state.leading),
            b"Tj" => self.show_operand(operands.first(), resources, state)?,
            b"'" => {
                state.next_line(0.0, -state.leading);
                self.show_operand(operands.first(), resources, state)?;
            }
            b"\"" => {
                state.word_spacing = num(0);
                state.char_spacing = num(1);
                state.next_line(0.0, -state.leading);
                self.show_operand(operands.get(2), resources, state)?;
            }
            b"TJ" => {
                let Some(Operand::Array(items)) = operands.first() else {
                    return Some(());
                };
                for item in items {
                    match item {
                        Operand::Number(n) => {
                            let tx = -n / 1000.0 * state.size * state.scale;
                            state.tm = translate(tx, 0.0, &state.tm);
                        }
                        other => self.show_operand(Some(other), resources, state)?,
                    }
                }
            }
            b"Do" => {
                if let Some(Operand::Name(name)) = operands.first() {
                    self.form(name, resources, state, depth)?;
                }
            }
            _ => {}
        }
        Some(())
    }

    fn show_operand(
        &mut self,
        operand: Option<&Operand>,
        resources: &Resources<'a>,
        state: &mut GraphicsState,
    ) -> Option<()> {
        let Some(Operand::Str(bytes)) = operand else {
            return Some(());
        };
        let Some(font) = state
            .font
            .as_ref()
            .and_then(|name| resources.fonts.get(name))
        else {
            // Text in a font the page never defined: nothing a reader shows.
            return Some(());
        };
        let trm = multiply(&state.tm, &state.ctm);
        let height = (state.size * trm[2].hypot(trm[3])).abs();
        self.layout.start(trm[4], trm[5], height);
        if !font.decode(bytes, &mut self.layout.text) {
            return None;
        }
        let mut advance = 0.0;
        for code in font.codes(bytes) {
            let spacing = if font.is_word_space(code) {
                state.word_spacing
            } else {
                0.0
            };
            advance += (font.width(code) / 1000.0 * state.size + state.char_spacing + spacing)
                * state.scale;
        }
        state.tm = translate(advance, 0.0, &state.tm);
        let end = multiply(&state.tm, &state.ctm);
        self.layout.last = Some((end[4], end[5], height));
        Some(())
    }

    fn form(
        &mut self,
        name: &[u8],
        resources: &Resources<'a>,
        state: &mut GraphicsState,
        depth: usize,
    ) -> Option<()> {
        let doc = self.doc;
        let Some((id, object)) = resources
            .xobjects
            .iter()
            .find_map(|x| x.get(name).ok())
            .and_then(|o| doc.dereference(o).ok())
        else {
            return Some(());
        };
        let Ok(stream) = object.as_stream() else {
            return Some(());
        };
        let is_form = stream
            .dict
            .get(b"Subtype")
            .and_then(Object::as_name)
            .is_ok_and(|s| s == b"Form");
        if !is_form {
            return Some(());
        }
        if depth >= MAX_FORM_DEPTH {
            return None;
        }
        let id = id?;
        if !self.forms.insert(id) {
            return None;
        }
        let content = stream
            .decompressed_content()
            .unwrap_or_else(|_| stream.content.clone());
        let own = form_resources(doc, &stream.dict);
        let form_matrix = stream
            .dict
            .get(b"Matrix")
            .and_then(Object::as_array)
            .ok()
            .filter(|m| m.len() == 6)
            .map_or(IDENTITY, |m| {
                let mut out = IDENTITY;
                for (slot, v) in out.iter_mut().zip(m) {
                    *slot = v.as_float().unwrap_or(0.0);
                }
                out
            });
        let mut inner = state.clone();
        inner.saved.clear();
        inner.ctm = multiply(&form_matrix, &state.ctm);
        let form_resources = match &own {
            FormResources::Own(r) => r,
            FormResources::Inherited => resources,
            FormResources::Unreadable => {
                self.forms.remove(&id);
                return None;
            }
        };
        let result = self.content(&content, form_resources, &mut inner, depth + 1);
        self.forms.remove(&id);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pdf::sample::{
        invoice_pdf, pdf_from_objects, single_page_pdf, typical_invoice_lines,
    };

    fn text(pdf: &[u8]) -> Option<String> {
        pdf_text(pdf, 1 << 20)
    }

    fn stream(content: &[u8], dict: &str) -> Vec<u8> {
        let mut v = format!("<< /Length {} {dict} >>\nstream\n", content.len()).into_bytes();
        v.extend_from_slice(content);
        v.extend_from_slice(b"\nendstream");
        v
    }

    /// A page whose font `/F1` is `font` (object 4) and whose content is object 5.
    fn page_with_font(font: &str, content: &[u8], extra: Vec<Vec<u8>>) -> Vec<u8> {
        let mut objects = vec![
            b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> /XObject << /X1 6 0 R >> >> /Contents 5 0 R >>".to_vec(),
            font.as_bytes().to_vec(),
            stream(content, ""),
        ];
        objects.extend(extra);
        pdf_from_objects(&objects)
    }

    #[test]
    fn reads_the_generated_invoice_line_by_line() {
        let lines = typical_invoice_lines();
        let got = text(&invoice_pdf(&lines)).unwrap_or_default();
        let want: Vec<&str> = lines
            .iter()
            .map(|l| l.trim_end())
            .filter(|l| !l.is_empty())
            .collect();
        let got_lines: Vec<&str> = got.lines().filter(|l| !l.is_empty()).collect();
        assert_eq!(got_lines, want);
    }

    #[test]
    fn words_placed_apart_get_a_space_and_kerning_does_not() {
        let pdf = single_page_pdf(
            b"BT /F1 12 Tf 72 720 Td (Sort) Tj 40 0 Td (code) Tj ET \
              BT /F1 12 Tf 72 700 Td [(Acc) 20 (ount) -900 (63748472)] TJ ET",
        );
        assert_eq!(text(&pdf).as_deref(), Some("Sort code\nAccount 63748472"));
    }

    #[test]
    fn lines_moved_by_the_matrix_and_quote_operators_break() {
        let pdf = single_page_pdf(
            b"BT /F1 10 Tf 14 TL 1 0 0 1 72 720 Tm (one) Tj (two) ' 0 0 (three) \" ET \
              q 1 0 0 1 0 -100 cm BT /F1 10 Tf 72 720 Td (four) Tj ET Q",
        );
        assert_eq!(text(&pdf).as_deref(), Some("one\ntwo\nthree\nfour"));
    }

    #[test]
    fn escapes_and_win_ansi_characters_decode() {
        let pdf = single_page_pdf(b"BT /F1 12 Tf 72 720 Td (Total \\243120 \\(net\\) \\200) Tj ET");
        assert_eq!(text(&pdf).as_deref(), Some("Total £120 (net) €"));
    }

    #[test]
    fn identity_h_font_with_to_unicode_map_is_read() {
        let cmap = b"/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
            /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
            /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
            1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n\
            2 beginbfchar\n<0001> <0050>\n<0002> <0061>\nendbfchar\n\
            1 beginbfrange\n<0003> <0004> <0079>\nendbfrange\n\
            endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n";
        let pdf = page_with_font(
            "<< /Type /Font /Subtype /Type0 /BaseFont /ABCDEF+Calibri /Encoding /Identity-H /DescendantFonts [7 0 R] /ToUnicode 8 0 R >>",
            b"BT /F1 12 Tf 72 720 Td <0001000200030004> Tj ET",
            vec![
                stream(b"", "/Subtype /Form /BBox [0 0 1 1]"),
                b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /ABCDEF+Calibri /DW 500 /W [1 [600 500] 3 4 450] >>".to_vec(),
                stream(cmap, ""),
            ],
        );
        assert_eq!(text(&pdf).as_deref(), Some("Payz"));
    }

    #[test]
    fn text_inside_form_xobjects_is_read_and_self_drawing_forms_are_refused() {
        let font =
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>";
        let form = stream(
            b"BT /F1 12 Tf 0 0 Td (in the form) Tj ET",
            "/Subtype /Form /BBox [0 0 500 500] /Matrix [1 0 0 1 72 600]",
        );
        let pdf = page_with_font(
            font,
            b"BT /F1 12 Tf 72 720 Td (page) Tj ET /X1 Do",
            vec![form],
        );
        assert_eq!(text(&pdf).as_deref(), Some("page\nin the form"));
        let looping = stream(
            b"/X1 Do",
            "/Subtype /Form /BBox [0 0 1 1] /Resources << /XObject << /X1 6 0 R >> >>",
        );
        assert_eq!(text(&page_with_font(font, b"/X1 Do", vec![looping])), None);
    }

    #[test]
    fn fonts_it_cannot_read_are_left_to_pdf_extract() {
        let type3 = "<< /Type /Font /Subtype /Type3 /FontMatrix [0.001 0 0 0.001 0 0] /CharProcs << >> /Encoding << /Type /Encoding /Differences [65 /A] >> >>";
        assert_eq!(
            text(&page_with_font(type3, b"BT /F1 12 Tf (A) Tj ET", vec![])),
            None
        );
        let no_map = "<< /Type /Font /Subtype /Type0 /BaseFont /X /Encoding /Identity-H /DescendantFonts [] >>";
        assert_eq!(
            text(&page_with_font(
                no_map,
                b"BT /F1 12 Tf <0001> Tj ET",
                vec![]
            )),
            None
        );
    }

    #[test]
    fn garbage_and_hostile_content_do_not_fail() {
        assert_eq!(text(b"not a pdf"), None);
        let mut content = b"BT /F1 12 Tf ".to_vec();
        content.extend(b"q ".repeat(10_000));
        content.extend(b"[".repeat(100_000));
        content.extend(b" (x) Tj 1e38 1e38 1e38 1e38 1e38 1e38 cm (y) Tj ET");
        assert!(text(&single_page_pdf(&content)).is_some());
    }
}
