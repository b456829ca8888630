//! Reading the receiving server's `Authentication-Results` (RFC 8601).
//!
//! Only the top-most header and those directly below it with the same
//! `authserv-id` are trusted: they were added by the organisation's own
//! boundary server (Exchange Online). Anything further down may have been
//! written by the sender, who can claim whatever they like.

/// One failed check: method (`spf`, `dkim`, `dmarc`, `compauth`) and the
/// property that failed (e.g. `header.from=apex.co.uk`), if given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthFailure {
    /// `spf`, `dkim`, `dmarc` or `compauth`.
    pub method: String,
    /// Extra detail from the header, such as the domain checked.
    pub detail: Option<String>,
}

/// The failed checks reported by the receiving server.
pub fn failures(headers: &[String]) -> Vec<AuthFailure> {
    let Some(first) = headers.first() else {
        return Vec::new();
    };
    let server = authserv_id(first);
    let mut out = Vec::new();
    for header in headers.iter().take_while(|h| authserv_id(h) == server) {
        for result in strip_comments(header).split(';').skip(1) {
            let mut words = result.split_whitespace();
            let Some(method_result) = words.next() else {
                continue;
            };
            let Some((method, verdict)) = method_result.split_once('=') else {
                continue;
            };
            let method = method.trim().to_ascii_lowercase();
            let method = method.split('/').next().unwrap_or_default().to_owned();
            if !matches!(method.as_str(), "spf" | "dkim" | "dmarc" | "compauth") {
                continue;
            }
            // softfail, none, neutral, temperror and permerror are not failures
            // for this signal: they say "could not tell", not "forged".
            if verdict.trim().eq_ignore_ascii_case("fail") {
                let detail = words
                    .find(|w| {
                        w.contains("header.from=")
                            || w.contains("smtp.mailfrom=")
                            || w.contains("header.d=")
                    })
                    .map(str::to_owned);
                if !out.iter().any(|f: &AuthFailure| f.method == method) {
                    out.push(AuthFailure { method, detail });
                }
            }
        }
    }
    out
}

fn authserv_id(header: &str) -> String {
    strip_comments(header)
        .split(';')
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// Removes RFC 5322 comments (`(sender IP is 1.2.3.4)`), which may nest.
fn strip_comments(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut depth = 0u32;
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn exchange_style_failures_are_found() {
        let f = failures(&h(&[
            "spf.protection.outlook.com; spf=fail (sender IP is 203.0.113.9) smtp.mailfrom=apex.co.uk; dkim=none (message not signed) header.d=none;dmarc=fail action=none header.from=apex.co.uk;compauth=fail reason=001",
        ]));
        let methods: Vec<&str> = f.iter().map(|f| f.method.as_str()).collect();
        assert_eq!(methods, ["spf", "dmarc", "compauth"]);
        assert_eq!(f[1].detail.as_deref(), Some("header.from=apex.co.uk"));
    }

    #[test]
    fn softfail_none_neutral_and_temperror_are_not_failures() {
        assert!(failures(&h(&["mx.org; spf=softfail smtp.mailfrom=a.com; dkim=none; dmarc=temperror; compauth=neutral"])).is_empty());
        assert!(failures(&h(&["mx.org; spf=pass; dkim=pass; dmarc=pass"])).is_empty());
    }

    #[test]
    fn only_the_top_server_and_its_adjacent_headers_are_trusted() {
        let f = failures(&h(&[
            "mx.org; spf=pass",
            "mx.org; dkim=fail header.d=a.com",
            "attacker.example; dmarc=fail",
            "mx.org; spf=fail",
        ]));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].method, "dkim");
        // A forged header from the sender below the real one changes nothing.
        assert!(failures(&h(&["mx.org; spf=pass; dmarc=pass", "evil; spf=fail"])).is_empty());
        assert!(failures(&[]).is_empty());
    }
}
