//! Dangerous attachments: executables, macro documents, HTML and scripts,
//! encrypted archives, and names built to mislead (`invoice.pdf.exe`,
//! right-to-left overrides). Content is checked as well as names, because
//! a renamed executable is still an executable.

use memchr::memmem;

use super::RiskyReason;
use super::archive;
use super::sniff::{
    is_7z, is_executable, is_ole, is_rar, is_zip, looks_like_html, looks_like_svg, mime_essence,
};
use super::zipscan;

/// Extensions Windows (or macOS, Android) runs or installs when opened.
const EXECUTABLE_EXTENSIONS: &[&str] = &[
    "exe",
    "scr",
    "com",
    "bat",
    "cmd",
    "pif",
    "msi",
    "msp",
    "vbs",
    "vbe",
    "js",
    "jse",
    "wsf",
    "wsh",
    "ps1",
    "psm1",
    "hta",
    "jar",
    "lnk",
    "iso",
    "img",
    "vhd",
    "vhdx",
    "cpl",
    "reg",
    "dll",
    "apk",
    "app",
    "appx",
    "msix",
    "dmg",
    "pkg",
    "scf",
    "url",
    "inf",
    "sys",
    "gadget",
    "msc",
    "application",
    "xll",
    "wll",
    "one",
];

/// Office formats that carry macros.
const MACRO_EXTENSIONS: &[&str] = &[
    "docm", "dotm", "xlsm", "xltm", "xlam", "pptm", "potm", "ppsm", "ppam", "sldm",
];

/// Formats that run script in a browser or viewer when opened.
const HTML_EXTENSIONS: &[&str] = &["html", "htm", "shtml", "xhtml", "svg", "mht", "mhtml", "js"];

/// Extensions a document or picture has; one of these before a dangerous
/// final extension is the disguise a double extension is made for.
const DOCUMENT_EXTENSIONS: &[&str] = &[
    "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "ods", "odp", "rtf", "txt", "csv",
    "jpg", "jpeg", "png", "gif", "bmp", "tif", "tiff", "heic", "zip", "rar", "7z", "eml", "msg",
    "mp3", "mp4", "wav", "mov", "xml", "json",
];

const EXECUTABLE_TYPES: &[&str] = &[
    "application/x-msdownload",
    "application/x-msdos-program",
    "application/x-dosexec",
    "application/x-executable",
    "application/vnd.microsoft.portable-executable",
    "application/x-msi",
    "application/x-ms-installer",
    "application/x-ms-shortcut",
    "application/hta",
    "application/java-archive",
    "application/x-iso9660-image",
    "application/vnd.android.package-archive",
];

const HTML_TYPES: &[&str] = &[
    "text/html",
    "application/xhtml+xml",
    "image/svg+xml",
    "text/javascript",
    "application/javascript",
    "application/x-javascript",
    "application/ecmascript",
];

/// Characters that reorder how a name displays: the right-to-left and
/// left-to-right embeddings and overrides, and the isolates.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Characters that do not display at all, which an attacker can use to split
/// an extension (`pdf\u{200B}.exe`).
fn is_invisible(c: char) -> bool {
    is_bidi_control(c)
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}')
}

/// Every extension of a file name, first to last, lowercased. Directory
/// parts, invisible characters and the trailing dots and spaces Windows drops
/// are removed, and each extension is trimmed (`invoice.pdf   .exe`).
pub(super) fn extensions(name: &str) -> Vec<String> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let visible: String = base.chars().filter(|&c| !is_invisible(c)).collect();
    let trimmed = visible.trim_end_matches(|c: char| c == '.' || c.is_whitespace());
    trimmed
        .split('.')
        .skip(1)
        .map(|ext| ext.trim().to_lowercase())
        .collect()
}

/// Every reason the attachment is dangerous.
pub(super) fn risky_reasons(
    name: Option<&str>,
    content_type: &str,
    bytes: &[u8],
) -> Vec<RiskyReason> {
    let exts = name.map(extensions).unwrap_or_default();
    let last = exts.last().map(String::as_str);
    let has_ext = |list: &[&str]| last.is_some_and(|ext| list.contains(&ext));
    let mime = mime_essence(content_type);
    let zip = is_zip(bytes).then(|| zipscan::summarise(bytes));

    let mut reasons = Vec::new();
    if is_executable(bytes)
        || has_ext(EXECUTABLE_EXTENSIONS)
        || EXECUTABLE_TYPES.contains(&mime.as_str())
    {
        reasons.push(RiskyReason::Executable);
    }
    let macro_type = mime.contains("macroenabled");
    let ole_macros = is_ole(bytes) && ole_has_macros(bytes);
    if has_ext(MACRO_EXTENSIONS)
        || macro_type
        || zip.is_some_and(|z| z.has_vba_project)
        || ole_macros
    {
        reasons.push(RiskyReason::Macro);
    }
    if has_ext(HTML_EXTENSIONS)
        || HTML_TYPES.contains(&mime.as_str())
        || looks_like_html(bytes)
        || looks_like_svg(bytes)
    {
        reasons.push(RiskyReason::HtmlOrScript);
    }
    let encrypted = zip.is_some_and(|z| z.encrypted)
        || (is_7z(bytes) && archive::seven_zip_encrypted(bytes))
        || (is_rar(bytes) && archive::rar_encrypted(bytes))
        || (is_ole(bytes) && ole_is_encrypted_office(bytes));
    if encrypted {
        reasons.push(RiskyReason::EncryptedArchive);
    }
    if is_double_extension(&exts) {
        reasons.push(RiskyReason::DoubleExtension);
    }
    if name.is_some_and(|n| n.chars().any(is_bidi_control)) {
        reasons.push(RiskyReason::RightToLeftOverride);
    }
    reasons
}

fn is_double_extension(exts: &[String]) -> bool {
    let [.., previous, last] = exts else {
        return false;
    };
    let dangerous =
        EXECUTABLE_EXTENSIONS.contains(&last.as_str()) || HTML_EXTENSIONS.contains(&last.as_str());
    dangerous && DOCUMENT_EXTENSIONS.contains(&previous.as_str())
}

/// UTF-16LE, as compound-file directory entries store names.
fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// A legacy Office file with a VBA project: its storages are named
/// `_VBA_PROJECT_CUR` (Excel) or `Macros` holding `_VBA_PROJECT` (Word). The
/// directory entry names are UTF-16LE; a cheap search finds them without
/// parsing the compound file.
fn ole_has_macros(bytes: &[u8]) -> bool {
    memmem::find(bytes, &utf16le("_VBA_PROJECT")).is_some()
        || memmem::find(bytes, b"_VBA_PROJECT").is_some()
}

/// A password-protected OOXML document (a compound file holding
/// `EncryptedPackage`): as opaque to scanners as an encrypted archive.
fn ole_is_encrypted_office(bytes: &[u8]) -> bool {
    memmem::find(bytes, &utf16le("EncryptedPackage")).is_some()
}

#[cfg(test)]
mod tests {
    use super::super::zipscan::build::{Entry, zip};
    use super::*;
    use RiskyReason::*;

    fn reasons(name: &str, content_type: &str, bytes: &[u8]) -> Vec<RiskyReason> {
        risky_reasons(Some(name), content_type, bytes)
    }

    const PDF: &[u8] = b"%PDF-1.7\n";

    #[test]
    fn benign_documents_have_no_reasons() {
        for name in [
            "Invoice 20431.pdf",
            "statement.v2.pdf",
            "INV-001.final.docx",
            "remittance.csv",
            "photo.jpeg",
            "no extension",
            "",
        ] {
            assert_eq!(reasons(name, "application/pdf", PDF), vec![], "{name}");
        }
        assert_eq!(
            risky_reasons(None, "application/octet-stream", b"plain bytes"),
            vec![]
        );
    }

    #[test]
    fn executables_are_found_by_content() {
        let mut pe = b"MZ\x90\0".to_vec();
        pe.resize(0x80, 0);
        if let Some(slot) = pe.get_mut(0x3C..0x40) {
            slot.copy_from_slice(&0x40u32.to_le_bytes());
        }
        if let Some(slot) = pe.get_mut(0x40..0x44) {
            slot.copy_from_slice(b"PE\0\0");
        }
        assert_eq!(
            reasons("invoice.pdf", "application/pdf", &pe),
            vec![Executable]
        );
        assert_eq!(
            reasons("data", "", b"\x7FELF\x02\x01\x01"),
            vec![Executable]
        );
        assert_eq!(
            reasons("data", "", b"\xCF\xFA\xED\xFE\x07"),
            vec![Executable]
        );
    }

    #[test]
    fn executables_are_found_by_extension_and_type() {
        for name in [
            "setup.exe",
            "INVOICE.SCR",
            "run.bat",
            "a.ps1",
            "a.lnk",
            "disk.iso",
            "x.hta",
            "evil.exe.",
            "evil.exe   ",
        ] {
            assert!(
                reasons(name, "application/octet-stream", b"x").contains(&Executable),
                "{name}"
            );
        }
        assert_eq!(
            reasons("file", "application/x-msdownload", b"x"),
            vec![Executable]
        );
    }

    #[test]
    fn macro_documents_by_extension_and_content() {
        assert_eq!(reasons("Invoice.docm", "", b"x"), vec![Macro]);
        assert_eq!(reasons("Book.XLSM", "", b"x"), vec![Macro]);
        assert_eq!(
            reasons("a", "application/vnd.ms-excel.sheet.macroEnabled.12", b"x"),
            vec![Macro]
        );
        let with_vba = zip(&[
            Entry {
                name: "word/document.xml",
                data: b"<x/>",
                flags: 0,
            },
            Entry {
                name: "word/vbaProject.bin",
                data: b"\0",
                flags: 0,
            },
        ]);
        assert_eq!(reasons("Invoice.docx", "", &with_vba), vec![Macro]);
        let mut ole = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1".to_vec();
        ole.resize(512, 0);
        ole.extend(utf16le("_VBA_PROJECT_CUR"));
        assert_eq!(reasons("Invoice.xls", "", &ole), vec![Macro]);
    }

    #[test]
    fn legacy_office_without_macros_is_fine() {
        let mut ole = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1".to_vec();
        ole.resize(512, 0);
        ole.extend(utf16le("WordDocument"));
        assert_eq!(reasons("Invoice.doc", "application/msword", &ole), vec![]);
    }

    #[test]
    fn html_svg_and_scripts_are_flagged() {
        assert_eq!(reasons("remittance.html", "", b"x"), vec![HtmlOrScript]);
        assert_eq!(reasons("logo.svg", "", b"x"), vec![HtmlOrScript]);
        assert_eq!(reasons("page.mht", "", b"x"), vec![HtmlOrScript]);
        assert_eq!(
            reasons("attachment", "text/html; charset=utf-8", b"x"),
            vec![HtmlOrScript]
        );
        assert_eq!(
            reasons("invoice.pdf", "application/pdf", b"<!DOCTYPE html><script>"),
            vec![HtmlOrScript]
        );
        assert_eq!(
            reasons(
                "img.png",
                "image/png",
                b"<?xml version=\"1.0\"?>\n<svg onload=x>"
            ),
            vec![HtmlOrScript]
        );
        assert_eq!(reasons("pay.js", "", b"x"), vec![Executable, HtmlOrScript]);
    }

    #[test]
    fn encrypted_zip_is_flagged_and_plain_zip_is_not() {
        let locked = zip(&[Entry {
            name: "invoice.pdf",
            data: b"xxxx",
            flags: 1,
        }]);
        assert_eq!(
            reasons("invoice.zip", "application/zip", &locked),
            vec![EncryptedArchive]
        );
        let open = zip(&[Entry {
            name: "invoice.pdf",
            data: b"xxxx",
            flags: 0,
        }]);
        assert_eq!(reasons("invoice.zip", "application/zip", &open), vec![]);
    }

    #[test]
    fn encrypted_office_document_is_flagged() {
        let mut ole = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1".to_vec();
        ole.resize(512, 0);
        ole.extend(utf16le("EncryptedPackage"));
        assert_eq!(reasons("Invoice.docx", "", &ole), vec![EncryptedArchive]);
    }

    #[test]
    fn double_extensions_are_flagged() {
        assert_eq!(
            reasons("invoice.pdf.exe", "", b"x"),
            vec![Executable, DoubleExtension]
        );
        assert_eq!(
            reasons("scan.docx.js", "", b"x"),
            vec![Executable, HtmlOrScript, DoubleExtension]
        );
        assert_eq!(
            reasons("invoice.pdf      .exe", "", b"x"),
            vec![Executable, DoubleExtension]
        );
        assert_eq!(
            reasons("Remittance.PDF.html", "", b"x"),
            vec![HtmlOrScript, DoubleExtension]
        );
        assert_eq!(
            reasons("invoice.pdf\u{200B}.scr", "", b"x"),
            vec![Executable, DoubleExtension]
        );
    }

    #[test]
    fn dots_that_are_not_a_disguise_are_not_double_extensions() {
        assert!(!reasons("statement.v2.pdf", "", PDF).contains(&DoubleExtension));
        assert!(!reasons("Mr.Smith.exe", "", b"x").contains(&DoubleExtension));
        assert!(!reasons("invoice.pdf.zip", "", b"x").contains(&DoubleExtension));
    }

    #[test]
    fn right_to_left_override_is_flagged() {
        // Displays as "invoice_fdp.exe" reversed: "invoice_exe.pdf".
        assert_eq!(
            reasons("invoice_\u{202E}fdp.exe", "", b"x"),
            vec![Executable, RightToLeftOverride]
        );
        for c in ['\u{202D}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}'] {
            assert_eq!(
                reasons(&format!("a{c}b.pdf"), "", PDF),
                vec![RightToLeftOverride]
            );
        }
    }

    #[test]
    fn paths_in_names_are_ignored() {
        assert_eq!(
            extensions("C:\\fakepath\\invoice.pdf.exe"),
            vec!["pdf", "exe"]
        );
        assert_eq!(extensions("dir.v2/report"), Vec::<String>::new());
    }

    #[test]
    fn every_reason_has_a_description() {
        for r in [
            Executable,
            Macro,
            HtmlOrScript,
            EncryptedArchive,
            DoubleExtension,
            RightToLeftOverride,
        ] {
            assert!(!r.to_string().is_empty());
        }
    }
}
