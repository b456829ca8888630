//! Outbound HTTP for alert webhooks, behind an SSRF guard (graph-contract
//! §11.4, security bar ASVS V12/V13): a webhook URL is typed by a customer,
//! so it must not become a way to reach Sentra's own network.
//!
//! - `https` only; plain `http` only to an allow-listed address (tests'
//!   local receivers).
//! - The host is resolved here, every address it resolves to must be public
//!   (not loopback, private, link-local, CGNAT, multicast, unspecified or
//!   documentation) unless allow-listed, and the request is then pinned to
//!   the vetted address, so a second lookup cannot rebind it.
//! - Redirects are never followed (a 3xx is a failure); connect and total
//!   timeouts bound every request.
//! - Errors never include the URL (Slack and Teams URLs are secrets).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// Why a webhook was not called or failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OutboundError {
    /// The URL is malformed or not https.
    #[error("refused: {0}")]
    Refused(String),
    /// The request failed (timeout, connection, TLS, a non-2xx answer).
    #[error("{0}")]
    Failed(String),
}

/// Where webhooks may go, and how long they may take.
#[derive(Debug, Clone)]
pub struct OutboundPolicy {
    /// Addresses allowed although not public (and for which plain http is
    /// allowed): `SENTRA_ALERT_ALLOW_ADDRS`, for local receivers in tests
    /// and for an internal relay. Empty in production.
    pub allow: Vec<IpAddr>,
    /// Connection timeout.
    pub connect_timeout: Duration,
    /// Whole-request timeout.
    pub timeout: Duration,
}

impl Default for OutboundPolicy {
    fn default() -> Self {
        Self {
            allow: Vec::new(),
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
        }
    }
}

/// Whether `ip` is a public unicast address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || first == 0x2001 && ip.segments()[1] == 0x0db8)
}

/// A vetted destination: the URL and the one address it may be reached at.
#[derive(Debug, Clone)]
pub struct Vetted {
    url: reqwest::Url,
    host: String,
    addr: SocketAddr,
}

impl OutboundPolicy {
    fn allowed(&self, ip: IpAddr) -> bool {
        self.allow.contains(&ip)
    }

    /// Checks `url` and resolves its host under the policy.
    pub async fn vet(&self, url: &str) -> Result<Vetted, OutboundError> {
        let url = reqwest::Url::parse(url.trim())
            .map_err(|_| OutboundError::Refused("not a valid URL".to_owned()))?;
        let host = url
            .host_str()
            .ok_or_else(|| OutboundError::Refused("the URL has no host".to_owned()))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        if !url.username().is_empty() || url.password().is_some() {
            return Err(OutboundError::Refused(
                "credentials in the URL are not allowed".to_owned(),
            ));
        }
        let port = url
            .port_or_known_default()
            .ok_or_else(|| OutboundError::Refused("unknown port".to_owned()))?;
        let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => tokio::time::timeout(
                self.connect_timeout,
                tokio::net::lookup_host((host.as_str(), port)),
            )
            .await
            .map_err(|_| OutboundError::Failed("resolving the host timed out".to_owned()))?
            .map_err(|_| OutboundError::Failed("the host does not resolve".to_owned()))?
            .collect(),
        };
        let Some(first) = addrs.first().copied() else {
            return Err(OutboundError::Failed(
                "the host does not resolve".to_owned(),
            ));
        };
        // Every address must pass: a name that resolves to one public and
        // one private address could be pinned to either.
        if let Some(bad) = addrs
            .iter()
            .find(|a| !is_public(a.ip()) && !self.allowed(a.ip()))
        {
            return Err(OutboundError::Refused(format!(
                "the host resolves to a non-public address ({})",
                bad.ip()
            )));
        }
        match url.scheme() {
            "https" => {}
            "http" if addrs.iter().all(|a| self.allowed(a.ip())) => {}
            _ => {
                return Err(OutboundError::Refused(
                    "only https URLs are allowed".to_owned(),
                ));
            }
        }
        Ok(Vetted {
            url,
            host,
            addr: first,
        })
    }

    /// POSTs `body` as JSON to a vetted destination; any 2xx is success.
    pub async fn post_json(
        &self,
        to: &Vetted,
        body: &serde_json::Value,
    ) -> Result<(), OutboundError> {
        let client = self.client(to)?;
        let res = client
            .post(to.url.clone())
            .json(body)
            .send()
            .await
            .map_err(|e| OutboundError::Failed(describe(&e)))?;
        let status = res.status();
        if status.is_success() {
            return Ok(());
        }
        if status.is_redirection() {
            return Err(OutboundError::Failed(format!(
                "the webhook answered {status} (redirects are not followed)"
            )));
        }
        Err(OutboundError::Failed(format!(
            "the webhook answered {status}"
        )))
    }

    fn client(&self, to: &Vetted) -> Result<reqwest::Client, OutboundError> {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| OutboundError::Failed(format!("tls set-up: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(self.connect_timeout)
            .timeout(self.timeout)
            .no_proxy()
            .resolve(&to.host, to.addr)
            .build()
            .map_err(|e| OutboundError::Failed(describe(&e)))
    }
}

/// A reqwest error without its URL.
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "the webhook timed out".to_owned();
    }
    if e.is_connect() {
        return "could not connect to the webhook".to_owned();
    }
    let mut text = e.to_string();
    if let Some(url) = e.url() {
        text = text.replace(url.as_str(), "<webhook>");
    }
    format!("webhook request failed: {text}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_loopback_link_local_and_special_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "52.96.1.1", "2a01:111::1"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[tokio::test]
    async fn http_and_private_targets_are_refused_unless_allow_listed() {
        let strict = OutboundPolicy::default();
        for url in [
            "http://8.8.8.8/hook",
            "https://127.0.0.1/hook",
            "https://169.254.169.254/latest",
            "https://user:pw@8.8.8.8/x",
            "not a url",
        ] {
            assert!(
                matches!(strict.vet(url).await, Err(OutboundError::Refused(_))),
                "{url}"
            );
        }
        let local = OutboundPolicy {
            allow: vec!["127.0.0.1".parse().unwrap()],
            ..OutboundPolicy::default()
        };
        assert!(local.vet("http://127.0.0.1:9/hook").await.is_ok());
        assert!(local.vet("https://[::1]/hook").await.is_err());
    }
}
