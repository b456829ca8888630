//! Turning command-line paths into messages: single files, folders searched
//! recursively for `*.eml`, and mbox files split into their messages.

use anyhow::{Context as _, bail};
use std::path::{Path, PathBuf};

/// One message to analyse and where it came from.
#[derive(Debug, Clone)]
pub(crate) struct Input {
    /// The path as given (joined for folder contents), `PATH#n` for the n-th mbox message.
    pub source: String,
    /// The raw bytes.
    pub bytes: Vec<u8>,
}

/// Reads every path. Any unreadable path fails the whole scan before anything
/// is analysed, with a message naming it.
pub(crate) fn collect(paths: &[PathBuf]) -> anyhow::Result<Vec<Input>> {
    let mut out = Vec::new();
    for path in paths {
        let meta =
            std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
        if meta.is_dir() {
            let mut files = Vec::new();
            walk(path, &mut files)
                .with_context(|| format!("cannot read folder {}", path.display()))?;
            files.sort();
            for file in files {
                let bytes = std::fs::read(&file)
                    .with_context(|| format!("cannot read {}", file.display()))?;
                push_file(&mut out, &file.display().to_string(), bytes);
            }
        } else if meta.is_file() {
            let bytes =
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            push_file(&mut out, &path.display().to_string(), bytes);
        } else {
            bail!("{} is neither a file nor a folder", path.display());
        }
    }
    Ok(out)
}

fn push_file(out: &mut Vec<Input>, source: &str, bytes: Vec<u8>) {
    if sentra_engine::mbox::is_mbox(&bytes) {
        for (n, msg) in sentra_engine::mbox::split(&bytes).into_iter().enumerate() {
            out.push(Input {
                source: format!("{source}#{}", n + 1),
                bytes: msg.to_vec(),
            });
        }
    } else {
        out.push(Input {
            source: source.to_owned(),
            bytes,
        });
    }
}

/// Every `*.eml` below `dir` (case-insensitive extension), not following
/// symlinked folders, so a link loop cannot hang a scan.
fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let path = entry.path();
        if kind.is_dir() {
            walk(&path, files)?;
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("eml"))
        {
            files.push(path);
        }
    }
    Ok(())
}
