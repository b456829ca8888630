//! Small, valid PDFs made by hand: invoices for the benchmark corpus and
//! tests, and single-page documents around any content stream for tests of
//! hostile input. Text is Helvetica (a standard font every reader has) in
//! `WinAnsiEncoding`, so `£` and `€` survive.

use std::fmt::Write as _;

/// Lines per page of [`invoice_pdf`].
const LINES_PER_PAGE: usize = 50;

/// A PDF with `lines` of Helvetica text, 50 lines a page, top to bottom.
pub fn invoice_pdf(lines: &[String]) -> Vec<u8> {
    let pages: Vec<Vec<u8>> = if lines.is_empty() {
        vec![Vec::new()]
    } else {
        lines.chunks(LINES_PER_PAGE).map(page_content).collect()
    };
    pdf_with_pages(&pages)
}

/// A one-page PDF (US Letter, Helvetica as `/F1`) around `content`, a raw
/// content stream such as `BT /F1 12 Tf 72 720 Td (Hello) Tj ET`.
pub fn single_page_pdf(content: &[u8]) -> Vec<u8> {
    pdf_with_pages(&[content.to_vec()])
}

fn page_content(lines: &[String]) -> Vec<u8> {
    let mut content = b"BT\n/F1 10 Tf\n14 TL\n56 770 Td\n".to_vec();
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            content.extend_from_slice(b"T*\n");
        }
        content.push(b'(');
        content.extend(pdf_string_bytes(line));
        content.extend_from_slice(b") Tj\n");
    }
    content.extend_from_slice(b"ET\n");
    content
}

/// The bytes of a PDF literal string (without the parentheses) for `text`
/// in `WinAnsiEncoding`; characters it cannot encode become `?`.
fn pdf_string_bytes(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '(' | ')' | '\\' => {
                out.push(b'\\');
                out.push(c as u8);
            }
            ' '..='~' => out.push(c as u8),
            _ => {
                let byte = win_ansi(c).unwrap_or(b'?');
                out.extend_from_slice(format!("\\{byte:03o}").as_bytes());
            }
        }
    }
    out
}

fn win_ansi(c: char) -> Option<u8> {
    match c {
        '€' => Some(0x80),
        '‘' => Some(0x91),
        '’' => Some(0x92),
        '“' => Some(0x93),
        '”' => Some(0x94),
        '•' => Some(0x95),
        '–' => Some(0x96),
        '—' => Some(0x97),
        '\u{A0}'..='\u{FF}' => u8::try_from(u32::from(c)).ok(),
        _ => None,
    }
}

fn pdf_with_pages(contents: &[Vec<u8>]) -> Vec<u8> {
    // Objects: 1 catalog, 2 page tree, 3 font, then a page and its content
    // stream for each page.
    let page_ids: Vec<usize> = (0..contents.len()).map(|i| 4 + 2 * i).collect();
    let mut objects: Vec<Vec<u8>> = Vec::with_capacity(3 + 2 * contents.len());
    objects.push(b"<< /Type /Catalog /Pages 2 0 R >>".to_vec());
    let mut kids = String::new();
    for id in &page_ids {
        let _ = write!(kids, "{id} 0 R ");
    }
    objects.push(
        format!(
            "<< /Type /Pages /Kids [{}] /Count {} >>",
            kids.trim_end(),
            contents.len()
        )
        .into_bytes(),
    );
    objects.push(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_vec(),
    );
    for (content, page_id) in contents.iter().zip(&page_ids) {
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] \
                 /Resources << /Font << /F1 3 0 R >> >> /Contents {} 0 R >>",
                page_id + 1
            )
            .into_bytes(),
        );
        let mut stream = format!("<< /Length {} >>\nstream\n", content.len()).into_bytes();
        stream.extend_from_slice(content);
        stream.extend_from_slice(b"\nendstream");
        objects.push(stream);
    }

    pdf_from_objects(&objects)
}

/// A PDF whose objects are `objects` (numbered from 1; object 1 must be the
/// catalog), with a correct cross-reference table. Tests use it to build
/// hostile documents that are otherwise well formed.
pub fn pdf_from_objects(objects: &[Vec<u8>]) -> Vec<u8> {
    let mut pdf = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        pdf.extend_from_slice(body);
        pdf.extend_from_slice(b"\nendobj\n");
    }
    let xref_at = pdf.len();
    let mut xref = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for offset in offsets {
        let _ = writeln!(xref, "{offset:010} 00000 n ");
    }
    let _ = write!(
        xref,
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref_at}\n%%EOF\n",
        objects.len() + 1
    );
    pdf.extend_from_slice(xref.as_bytes());
    pdf
}

/// Forty lines of a typical UK supplier invoice, for benchmarks and tests.
pub fn typical_invoice_lines() -> Vec<String> {
    let mut lines = vec![
        "Northgate Building Supplies Ltd".to_owned(),
        "Unit 4, Riverside Trading Estate, Leeds LS11 5QT".to_owned(),
        "VAT Reg No: GB 123 4567 89".to_owned(),
        String::new(),
        "INVOICE".to_owned(),
        "Invoice number: INV-20431".to_owned(),
        "Invoice date: 14 March 2025".to_owned(),
        "Due date: 13 April 2025".to_owned(),
        "Customer: Hartley & Sons (Builders) Ltd".to_owned(),
        String::new(),
        "Qty  Description                          Unit price      Total".to_owned(),
    ];
    for i in 1..=20 {
        lines.push(format!(
            "{i:>3}  Timber batten 47x{} mm treated, 4.8 m      £{}.{:02}     £{}.{:02}",
            25 + i,
            3 + i,
            (i * 17) % 100,
            (3 + i) * i,
            (i * 31) % 100
        ));
    }
    lines.extend([
        String::new(),
        "Subtotal: £4,210.50".to_owned(),
        "VAT @ 20%: £842.10".to_owned(),
        "Total due: £5,052.60".to_owned(),
        String::new(),
        "Please pay by bank transfer to:".to_owned(),
        "Account name: Northgate Building Supplies Ltd".to_owned(),
        "Sort code: 20-29-59   Account number: 63748472".to_owned(),
        "Payment reference: INV-20431".to_owned(),
    ]);
    lines
}
