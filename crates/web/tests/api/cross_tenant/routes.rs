//! The route table the suite attacks, read from the router's own source
//! (every `.route("…", get(…).post(…))` under `src/`) and from the `OpenAPI`
//! document when the application serves one, so a route added later is
//! attacked without anyone editing this suite.

use std::collections::BTreeSet;
use std::path::Path;

/// One method on one path, e.g. `("PATCH", "/api/v1/suppliers/{id}")`.
pub(crate) type Route = (&'static str, String);

const METHODS: [(&str, &str); 5] = [
    ("get", "GET"),
    ("post", "POST"),
    ("patch", "PATCH"),
    ("put", "PUT"),
    ("delete", "DELETE"),
];

/// Every route in the crate's source. Routes of `lib.rs`'s `api` router and
/// of `src/routes/` are under `/api/v1`; `#[cfg(test)]` routers are skipped.
pub(crate) fn from_source() -> BTreeSet<Route> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeSet::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let rel = path.strip_prefix(&src).unwrap_or(&path);
            let rel = rel.to_string_lossy().replace('\\', "/");
            let text = text.split("#[cfg(test)]").next().unwrap_or("");
            let api_block = api_block(&rel, text);
            for (at, path, methods) in route_calls(text) {
                let in_api = rel.starts_with("routes/")
                    || api_block.is_some_and(|(start, end)| at > start && at < end);
                let full = if in_api {
                    format!("/api/v1{path}")
                } else {
                    path
                };
                for m in methods {
                    out.insert((m, full.clone()));
                }
            }
        }
    }
    out
}

/// Where `lib.rs`'s `let api = Router::new() … ;` statement lies.
fn api_block(rel: &str, text: &str) -> Option<(usize, usize)> {
    if rel != "lib.rs" {
        return None;
    }
    let start = text.find("let api = Router::new()")?;
    let end = start + text[start..].find(';')?;
    Some((start, end))
}

/// `(offset, path, methods)` of every `.route(` call in `text`.
fn route_calls(text: &str) -> Vec<(usize, String, Vec<&'static str>)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(found) = text[from..].find(".route(") {
        let start = from + found + ".route(".len();
        let Some(len) = balanced(&text[start..]) else {
            break;
        };
        let call = &text[start..start + len];
        from = start + len;
        let Some(path) = call
            .split('"')
            .nth(1)
            .filter(|p| p.starts_with('/'))
            .map(str::to_owned)
        else {
            continue;
        };
        let methods = METHODS
            .iter()
            .filter(|(name, _)| calls(call, name))
            .map(|(_, upper)| *upper)
            .collect();
        out.push((from, path, methods));
    }
    out
}

/// The length up to the parenthesis closing the one just opened.
fn balanced(s: &str) -> Option<usize> {
    let mut depth = 1usize;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Whether `call` contains `name(` not preceded by an identifier character
/// (`get(` and `.patch(`, not `budget(`; `::get)` is a handler, not a call).
fn calls(call: &str, name: &str) -> bool {
    let needle = format!("{name}(");
    call.match_indices(&needle).any(|(i, _)| {
        call[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_'))
    })
}

/// The routes of an `OpenAPI` document's `paths` (prefixed with its first
/// server URL's path, `/api/v1` when it names none).
pub(crate) fn from_openapi(doc: &serde_json::Value) -> BTreeSet<Route> {
    let mut out = BTreeSet::new();
    let prefix = doc["servers"][0]["url"].as_str().unwrap_or("/api/v1");
    let prefix = prefix.trim_end_matches('/');
    let Some(paths) = doc["paths"].as_object() else {
        return out;
    };
    for (path, item) in paths {
        let full = if path.starts_with(prefix) {
            path.clone()
        } else {
            format!("{prefix}{path}")
        };
        for (lower, upper) in METHODS {
            if item.get(lower).is_some() {
                out.insert((upper, full.clone()));
            }
        }
    }
    out
}

#[test]
fn the_source_table_has_the_known_routes_with_their_methods() {
    let routes = from_source();
    for (m, p) in [
        ("GET", "/api/v1/messages"),
        ("POST", "/api/v1/messages"),
        ("PATCH", "/api/v1/suppliers/{id}"),
        ("DELETE", "/api/v1/suppliers/{id}"),
        ("GET", "/healthz"),
        ("GET", "/messages/{id}"),
    ] {
        assert!(
            routes.contains(&(m, p.to_owned())),
            "{m} {p} missing from {routes:?}"
        );
    }
    assert!(!routes.contains(&("GET", "/api/v1/healthz".to_owned())));
}
