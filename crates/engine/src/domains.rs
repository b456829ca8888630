//! Domain-name helpers: registrable domains (Public Suffix List), free-mail
//! providers, and URL host extraction.
//!
//! Every host the engine compares goes through [`normalise_host`] first, so that
//! `Apex.CO.UK.`, `apex.co.uk` and a Unicode spelling of the same name all meet
//! as one lower-case ASCII (punycode) string. Comparing raw strings would let a
//! trailing dot or an upper-case letter split one sender into two.

use std::net::{IpAddr, Ipv6Addr};

/// A host name normalised for comparison: trimmed, trailing dot removed,
/// lower-cased, Unicode labels converted to punycode (`xn--`). `None` for IP
/// literals, `localhost`, and strings that are not host names (empty labels,
/// spaces, characters DNS cannot carry).
pub fn normalise_host(host: &str) -> Option<String> {
    let host = host.trim();
    let host = host.strip_suffix('.').unwrap_or(host);
    if host.is_empty() || host.len() > 1024 {
        return None;
    }
    if is_ip_literal(host) {
        return None;
    }
    let lower = if host.is_ascii() && !host.contains("xn--") && !host.contains("XN--") {
        host.to_ascii_lowercase()
    } else {
        // UTS 46 maps Unicode (and validates punycode) the way a browser's
        // address bar does, so the result is what the recipient would reach.
        match idna::domain_to_ascii(host) {
            Ok(ascii) => ascii,
            // Broken punycode still names *something*; keep it comparable
            // rather than dropping it, as long as it is plain ASCII.
            Err(_) if host.is_ascii() => host.to_ascii_lowercase(),
            Err(_) => return None,
        }
    };
    let valid = lower.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    });
    if !valid || lower == "localhost" || lower.ends_with(".localhost") {
        return None;
    }
    Some(lower)
}

/// Whether `host` is an IPv4 or IPv6 literal (bracketed or not).
fn is_ip_literal(host: &str) -> bool {
    let inner = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    inner.parse::<IpAddr>().is_ok()
        // An all-numeric last label is never a TLD: it is an IPv4 address in a
        // shorthand form (`127.1`) or garbage.
        || host
            .rsplit('.')
            .next()
            .is_some_and(|tld| !tld.is_empty() && tld.bytes().all(|b| b.is_ascii_digit()))
}

/// The registrable domain ("eTLD+1") of a host, lower-cased: `mail.apex.co.uk`
/// → `apex.co.uk`. `None` for hosts that are themselves public suffixes or are
/// not domain names (IP literals, `localhost`, malformed strings). Unicode
/// hosts come back in punycode. Suffixes the list does not know are treated as
/// one-label TLDs, as browsers do.
pub fn registrable_domain(host: &str) -> Option<String> {
    let host = normalise_host(host)?;
    registrable_of_normalised(&host).map(str::to_owned)
}

/// [`registrable_domain`] for a host already passed through [`normalise_host`],
/// borrowing instead of allocating.
pub(crate) fn registrable_of_normalised(host: &str) -> Option<&str> {
    let domain = psl::domain(host.as_bytes())?;
    std::str::from_utf8(domain.trim().as_bytes()).ok()
}

/// Splits a registrable domain into its first label and its public suffix:
/// `apex.co.uk` → (`apex`, `co.uk`). `None` if `domain` is not of that shape.
pub(crate) fn split_registrable(domain: &str) -> Option<(&str, &str)> {
    let (name, suffix) = domain.split_once('.')?;
    (!name.is_empty() && !suffix.is_empty()).then_some((name, suffix))
}

/// Free consumer mail providers, by registrable domain. Sorted for binary
/// search (a test keeps it sorted). Business mail never legitimately comes
/// from these, so a supplier writing from one is a signal.
const FREEMAIL: &[&str] = &[
    "aim.com",
    "aol.co.uk",
    "aol.com",
    "bigpond.com",
    "bigpond.net.au",
    "blueyonder.co.uk",
    "btinternet.com",
    "btopenworld.com",
    "comcast.net",
    "eircom.net",
    "fastmail.com",
    "fastmail.fm",
    "free.fr",
    "gmail.com",
    "gmx.at",
    "gmx.ch",
    "gmx.co.uk",
    "gmx.com",
    "gmx.de",
    "gmx.net",
    "googlemail.com",
    "hey.com",
    "hotmail.co.uk",
    "hotmail.com",
    "hotmail.com.au",
    "hotmail.de",
    "hotmail.es",
    "hotmail.fr",
    "hotmail.it",
    "hushmail.com",
    "icloud.com",
    "iinet.net.au",
    "inbox.com",
    "laposte.net",
    "live.co.uk",
    "live.com",
    "live.com.au",
    "live.de",
    "live.fr",
    "live.ie",
    "live.nl",
    "mac.com",
    "mail.com",
    "mail.ru",
    "me.com",
    "msn.com",
    "ntlworld.com",
    "o2.co.uk",
    "optusnet.com.au",
    "orange.fr",
    "outlook.co.uk",
    "outlook.com",
    "outlook.com.au",
    "outlook.de",
    "outlook.fr",
    "outlook.ie",
    "pm.me",
    "proton.me",
    "protonmail.ch",
    "protonmail.com",
    "qq.com",
    "rocketmail.com",
    "sky.com",
    "t-online.de",
    "talktalk.net",
    "tiscali.co.uk",
    "tpg.com.au",
    "tuta.io",
    "tutanota.com",
    "virginmedia.com",
    "wanadoo.fr",
    "web.de",
    "windowslive.com",
    "yahoo.ca",
    "yahoo.co.in",
    "yahoo.co.uk",
    "yahoo.com",
    "yahoo.com.au",
    "yahoo.de",
    "yahoo.es",
    "yahoo.fr",
    "yahoo.ie",
    "yahoo.it",
    "yandex.com",
    "yandex.ru",
    "ymail.com",
    "zoho.com",
    "zohomail.com",
];

/// Whether `domain` (any host under it) belongs to a free consumer mail
/// provider: `gmail.com`, `mail.gmail.com` and `GMAIL.COM.` all count.
pub fn is_freemail(domain: &str) -> bool {
    registrable_domain(domain).is_some_and(|d| FREEMAIL.binary_search(&d.as_str()).is_ok())
}

/// The host of an `http`/`https` URL, normalised by [`normalise_host`]
/// (lower-case, punycode, no trailing dot); IPv6 literals keep their
/// brackets. Handles userinfo (`https://apex.co.uk@evil.com/` is `evil.com`,
/// which is where a browser goes), ports, percent-encoded hosts and the
/// backslash browsers accept in place of `/`. `None` for other schemes,
/// scheme-less text and unusable hosts.
pub fn url_host(url: &str) -> Option<String> {
    let url = url.trim();
    let (scheme, rest) = url.split_once(':')?;
    if !(scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")) {
        return None;
    }
    // Browsers accept any number of slashes or backslashes after the scheme.
    let rest = rest.trim_start_matches(['/', '\\']);
    let authority = rest.split(['/', '\\', '?', '#']).next()?;
    let host_port = authority.rsplit('@').next()?;
    if let Some(v6) = host_port.strip_prefix('[') {
        let (inner, _) = v6.split_once(']')?;
        let addr: Ipv6Addr = inner.parse().ok()?;
        return Some(format!("[{addr}]"));
    }
    let host = host_port.split(':').next()?;
    let decoded;
    let host = if host.contains('%') {
        decoded = percent_decode(host)?;
        decoded.as_str()
    } else {
        host
    };
    if host.is_empty() {
        return None;
    }
    if is_ip_literal(host) {
        return Some(host.to_ascii_lowercase());
    }
    normalise_host(host)
        .or_else(|| (host.eq_ignore_ascii_case("localhost")).then(|| "localhost".to_owned()))
}

/// Percent-decodes a host; `None` if the result is not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = |j: usize| bytes.get(j).and_then(|c| (*c as char).to_digit(16));
        if let (b'%', Some(hi), Some(lo)) = (b, hex(i + 1), hex(i + 2)) {
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrable_domain_uses_the_public_suffix_list() {
        assert_eq!(
            registrable_domain("mail.apex.co.uk").as_deref(),
            Some("apex.co.uk")
        );
        assert_eq!(
            registrable_domain("a.b.acme-plant.com.au").as_deref(),
            Some("acme-plant.com.au")
        );
        assert_eq!(
            registrable_domain("www.example.ie").as_deref(),
            Some("example.ie")
        );
        assert_eq!(registrable_domain("apex.com").as_deref(), Some("apex.com"));
    }

    #[test]
    fn registrable_domain_normalises_case_and_trailing_dot() {
        assert_eq!(
            registrable_domain("  Mail.APEX.Co.Uk. ").as_deref(),
            Some("apex.co.uk")
        );
    }

    #[test]
    fn registrable_domain_returns_none_for_public_suffixes_and_non_domains() {
        for host in [
            "co.uk",
            "com",
            "uk",
            "",
            ".",
            "localhost",
            "LOCALHOST.",
            "printer.localhost",
            "192.168.1.10",
            "127.1",
            "[::1]",
            "2001:db8::1",
            "exa mple.com",
            "a..b.com",
            "exa/mple.com",
        ] {
            assert_eq!(registrable_domain(host), None, "{host:?}");
        }
    }

    #[test]
    fn registrable_domain_converts_unicode_hosts_to_punycode() {
        // Cyrillic а (U+0430) in place of the Latin a.
        let host = "mail.\u{430}pex.co.uk";
        let expected = idna::domain_to_ascii("\u{430}pex.co.uk").unwrap();
        assert!(expected.starts_with("xn--"));
        assert_eq!(registrable_domain(host), Some(expected.clone()));
        // The punycode spelling, in any case, lands on the same string.
        assert_eq!(registrable_domain(&expected.to_uppercase()), Some(expected));
    }

    #[test]
    fn registrable_domain_keeps_unknown_tlds_as_one_label_suffixes() {
        assert_eq!(
            registrable_domain("x.apex.notarealtld").as_deref(),
            Some("apex.notarealtld")
        );
    }

    #[test]
    fn is_freemail_matches_providers_and_their_subdomains() {
        for d in [
            "gmail.com",
            "mail.gmail.com",
            "GoogleMail.com",
            "hotmail.co.uk",
            "yahoo.co.uk",
            "outlook.com.",
            "btinternet.com",
            "optusnet.com.au",
            "proton.me",
            "web.de",
        ] {
            assert!(is_freemail(d), "{d}");
        }
    }

    #[test]
    fn is_freemail_rejects_business_domains_and_garbage() {
        for d in [
            "apex.co.uk",
            "google.com",
            "microsoft.com",
            "gmail.co",
            "notgmail.com",
            "gmail.com.evil.net",
            "",
            "10.0.0.1",
        ] {
            assert!(!is_freemail(d), "{d}");
        }
    }

    #[test]
    fn freemail_list_is_sorted_for_binary_search() {
        assert!(FREEMAIL.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn url_host_extracts_the_host_browsers_would_visit() {
        let cases = [
            ("https://www.apex.co.uk/pay?x=1", Some("www.apex.co.uk")),
            ("HTTP://WWW.APEX.CO.UK", Some("www.apex.co.uk")),
            ("https://apex.co.uk:8443/", Some("apex.co.uk")),
            (
                "https://apex.co.uk@evil.example.com/",
                Some("evil.example.com"),
            ),
            (
                "https://user:pw@evil.example.com:80/x",
                Some("evil.example.com"),
            ),
            ("https://apex.co.uk.#frag", Some("apex.co.uk")),
            ("https:\\\\evil.com\\path", Some("evil.com")),
            ("https://%61pex.co.uk/", Some("apex.co.uk")),
            ("https://[2001:DB8::1]:443/", Some("[2001:db8::1]")),
            ("http://192.168.0.1/admin", Some("192.168.0.1")),
            ("http://localhost:8080/", Some("localhost")),
            ("  https://example.com  ", Some("example.com")),
        ];
        for (url, want) in cases {
            assert_eq!(url_host(url).as_deref(), want, "{url}");
        }
        let idn = url_host("https://\u{430}pex.co.uk/").unwrap();
        assert!(idn.starts_with("xn--"), "{idn}");
    }

    #[test]
    fn url_host_rejects_other_schemes_and_scheme_less_text() {
        for url in [
            "www.apex.co.uk/pay",
            "//apex.co.uk/",
            "mailto:accounts@apex.co.uk",
            "ftp://apex.co.uk/",
            "javascript:alert(1)",
            "https://",
            "https://[::1/",
            "https://exa mple.com/",
            "",
        ] {
            assert_eq!(url_host(url), None, "{url}");
        }
    }
}
