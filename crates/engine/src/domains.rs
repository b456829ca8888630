//! Domain-name helpers: registrable domains (Public Suffix List), free-mail
//! providers, and URL host extraction.

/// The registrable domain ("eTLD+1") of a host, lower-cased: `mail.apex.co.uk`
/// → `apex.co.uk`. `None` for hosts that are themselves public suffixes or are
/// not domain names.
pub fn registrable_domain(host: &str) -> Option<String> {
    // PLACEHOLDER (being replaced by the domains helper).
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let parts: Vec<&str> = host.rsplitn(3, '.').collect();
    match parts.as_slice() {
        [tld, name, ..] => Some(format!("{name}.{tld}")),
        _ => None,
    }
}

/// Whether `domain` (any host under it) belongs to a free consumer mail provider.
pub fn is_freemail(domain: &str) -> bool {
    // PLACEHOLDER (being replaced by the domains helper).
    matches!(
        domain,
        "gmail.com" | "outlook.com" | "hotmail.com" | "yahoo.com"
    )
}

/// The host of an `http`/`https` URL, lower-cased, or `None`.
pub fn url_host(url: &str) -> Option<String> {
    let rest = url.trim().split_once("://")?.1;
    let host = rest.split(['/', '?', '#']).next()?;
    let host = host.rsplit('@').next()?.split(':').next()?;
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}
