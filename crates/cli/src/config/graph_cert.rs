//! Which credential Sentra's Graph application uses: a client secret
//! (`SENTRA_GRAPH_CLIENT_SECRET[_FILE]`) or a certificate
//! (`SENTRA_GRAPH_CERTIFICATE_FILE` + `SENTRA_GRAPH_PRIVATE_KEY_FILE`), never
//! both, so it is always clear which one Entra is checking. The private key
//! file must be mode 0600 like every other secret file; the PEMs are parsed
//! here so `sentra config check` reports a bad file before anything starts.

use super::file::Graph;
use super::{Env, read_secret_file};
use sentra_graph::{CertificateCredential, ClientCredential};
use std::path::PathBuf;
use zeroize::Zeroizing;

const BOTH: &str = "a Graph client secret (SENTRA_GRAPH_CLIENT_SECRET / SENTRA_GRAPH_CLIENT_SECRET_FILE / graph.client_secret_file) and a certificate (SENTRA_GRAPH_CERTIFICATE_FILE / graph.certificate_file, SENTRA_GRAPH_PRIVATE_KEY_FILE / graph.private_key_file) are both set; they are mutually exclusive: keep one";

/// The configured credential, `None` when none is set (or it is unusable;
/// then `problems` says why).
pub(super) fn credential(
    g: &Graph,
    env: &dyn Env,
    secret: Option<Zeroizing<String>>,
    problems: &mut Vec<String>,
) -> Option<ClientCredential> {
    let cert_file = env
        .get("SENTRA_GRAPH_CERTIFICATE_FILE")
        .map(PathBuf::from)
        .or_else(|| g.certificate_file.clone());
    let key_file = env
        .get("SENTRA_GRAPH_PRIVATE_KEY_FILE")
        .map(PathBuf::from)
        .or_else(|| g.private_key_file.clone());
    match (secret, cert_file, key_file) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            problems.push(BOTH.to_owned());
            None
        }
        (Some(s), None, None) => Some(ClientCredential::Secret(s.as_str().to_owned().into())),
        (None, None, None) => None,
        (None, Some(_), None) => {
            problems.push("SENTRA_GRAPH_CERTIFICATE_FILE (graph.certificate_file) is set without its key: set SENTRA_GRAPH_PRIVATE_KEY_FILE (graph.private_key_file) to the PEM PKCS#8 private key (mode 0600)".to_owned());
            None
        }
        (None, None, Some(_)) => {
            problems.push("SENTRA_GRAPH_PRIVATE_KEY_FILE (graph.private_key_file) is set without its certificate: set SENTRA_GRAPH_CERTIFICATE_FILE (graph.certificate_file) to the PEM certificate uploaded in Entra".to_owned());
            None
        }
        (None, Some(cert), Some(key)) => {
            let cert_pem = match std::fs::read(&cert) {
                Ok(pem) => pem,
                Err(e) => {
                    problems.push(format!(
                        "SENTRA_GRAPH_CERTIFICATE_FILE: cannot read {}: {e}",
                        cert.display()
                    ));
                    return None;
                }
            };
            let key_pem = Zeroizing::new(read_secret_file(
                &key,
                "SENTRA_GRAPH_PRIVATE_KEY_FILE",
                problems,
            )?);
            match CertificateCredential::from_pem(&cert_pem, key_pem.as_bytes()) {
                Ok(c) => Some(ClientCredential::Certificate(c)),
                Err(e) => {
                    problems.push(format!(
                        "the Graph certificate ({} and {}): {e}",
                        cert.display(),
                        key.display()
                    ));
                    None
                }
            }
        }
    }
}
