//! The request path as it may appear in logs.
//!
//! The Graph webhook URLs carry a secret path token
//! (`/graph/notify/{org}/{mailbox}/{token}`, `/graph/lifecycle/…`) that
//! authenticates Microsoft's calls, so a raw path in a span or a warning
//! would leak it to anyone who reads the logs. Every log field that names a
//! path goes through [`loggable`], which replaces whatever follows the
//! mailbox segment of those URLs. It works on the raw path (not axum's
//! `MatchedPath`) because the trace span is built before routing, and so it
//! also covers near-misses that fall through to the 404 fallback.

use std::borrow::Cow;

/// What a redacted segment reads as.
pub const REDACTED: &str = "[redacted]";

/// `path` with a Graph webhook token (and anything after it) replaced by
/// [`REDACTED`]; any other path unchanged.
pub fn loggable(path: &str) -> Cow<'_, str> {
    let segments: Vec<&str> = path.split('/').collect();
    let webhook = segments.windows(2).position(|w| {
        w[0].eq_ignore_ascii_case("graph")
            && (w[1].eq_ignore_ascii_case("notify") || w[1].eq_ignore_ascii_case("lifecycle"))
    });
    let Some(at) = webhook else {
        return Cow::Borrowed(path);
    };
    // graph / kind / org / mailbox are kept; the token and any further
    // segments go.
    let keep = at + 4;
    if segments.len() <= keep {
        return Cow::Borrowed(path);
    }
    let mut out = segments[..keep].join("/");
    out.push('/');
    out.push_str(REDACTED);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_tokens_are_redacted() {
        assert_eq!(
            loggable("/graph/notify/o/m/s3cret"),
            "/graph/notify/o/m/[redacted]"
        );
        assert_eq!(
            loggable("/graph/lifecycle/o/m/s3cret"),
            "/graph/lifecycle/o/m/[redacted]"
        );
        // Trailing segments, case and doubled slashes do not slip past.
        assert_eq!(
            loggable("/graph/notify/o/m/s3cret/extra"),
            "/graph/notify/o/m/[redacted]"
        );
        assert_eq!(
            loggable("/GRAPH/Notify/o/m/s3cret"),
            "/GRAPH/Notify/o/m/[redacted]"
        );
        assert_eq!(
            loggable("//graph/notify/o/m/s3cret"),
            "//graph/notify/o/m/[redacted]"
        );
    }

    #[test]
    fn other_paths_are_unchanged() {
        for p in [
            "/",
            "/api/v1/invoices/1/payment",
            "/graph/notify/o/m",
            "/graph/other/o/m/t",
        ] {
            assert_eq!(loggable(p), p);
        }
    }
}
