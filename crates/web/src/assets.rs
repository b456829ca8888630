//! Static assets compiled into the binary: the stylesheet, the vendored
//! htmx and the copy-button script. Each is served under a path that changes with its content (htmx by
//! its version, the stylesheet by a hash of its bytes), so responses can be
//! cached for a year as `immutable` and a new build is never served stale.

use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

const CSS: &[u8] = include_bytes!("../assets/app.css");
/// htmx 2.0.11 from the npm package `htmx.org`, licence header prepended.
const HTMX: &[u8] = include_bytes!("../assets/htmx-2.0.11.min.js");
const HTMX_FILE: &str = "htmx-2.0.11.min.js";
/// Copy buttons (the mailboxes page's PowerShell), as a file because the
/// CSP refuses inline script.
const COPY_JS: &[u8] = include_bytes!("../assets/copy.js");

static CSS_FILE: LazyLock<String> = LazyLock::new(|| {
    let digest = Sha256::digest(CSS);
    format!("app-{}.css", &crate::session::hex(&digest)[..12])
});
static COPY_FILE: LazyLock<String> = LazyLock::new(|| {
    let digest = Sha256::digest(COPY_JS);
    format!("copy-{}.js", &crate::session::hex(&digest)[..12])
});
static COPY_HREF: LazyLock<String> = LazyLock::new(|| format!("/assets/{}", *COPY_FILE));
static CSS_HREF: LazyLock<String> = LazyLock::new(|| format!("/assets/{}", *CSS_FILE));
static HTMX_HREF: LazyLock<String> = LazyLock::new(|| format!("/assets/{HTMX_FILE}"));

/// The stylesheet's URL path.
pub fn css_href() -> &'static str {
    &CSS_HREF
}

/// htmx's URL path.
pub fn htmx_href() -> &'static str {
    &HTMX_HREF
}

/// The copy-button script's URL path.
pub fn copy_js_href() -> &'static str {
    &COPY_HREF
}

/// `GET /assets/{file}`: one of the compiled-in files, else 404.
pub async fn serve(Path(file): Path<String>) -> Response {
    let (body, kind) = if file == *CSS_FILE {
        (CSS, "text/css; charset=utf-8")
    } else if file == HTMX_FILE {
        (HTMX, "text/javascript; charset=utf-8")
    } else if file == *COPY_FILE {
        (COPY_JS, "text/javascript; charset=utf-8")
    } else {
        return crate::pages::error::not_found_page();
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(kind)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
        ],
        body,
    )
        .into_response()
}
