//! The scope check (graph-contract §2): each selected mailbox must read (one
//! `GET /users/{address}/mailFolders/inbox`) and a probe of an address the
//! admin did not select must be refused with `403`. Only then is least
//! privilege verified; otherwise the verdict says exactly what is wrong.
//!
//! [`outcome`] and [`verdict`] are pure (unit-tested here); [`run`] makes
//! the Graph calls.

use super::MailboxAddress;
use sentra_graph::{GraphClient, GraphError};
use serde_json::{Value, json};

/// What one read attempt showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The inbox was read.
    Readable,
    /// `403`: outside the app's RBAC scope (or an access policy).
    Refused {
        /// The Graph error code.
        code: String,
    },
    /// `404`: no such mailbox (or not an Exchange Online one).
    Missing {
        /// The Graph error code.
        code: String,
    },
    /// Sentra could not get a token, or anything else failed.
    Failed {
        /// The error, codes only.
        reason: String,
    },
}

impl Outcome {
    fn name(&self) -> &'static str {
        match self {
            Self::Readable => "readable",
            Self::Refused { .. } => "refused",
            Self::Missing { .. } => "missing",
            Self::Failed { .. } => "error",
        }
    }

    fn detail(&self) -> Option<&str> {
        match self {
            Self::Readable => None,
            Self::Refused { code } | Self::Missing { code } => Some(code),
            Self::Failed { reason } => Some(reason),
        }
    }
}

/// Classifies a read attempt's result.
pub fn outcome<T>(result: &Result<T, GraphError>) -> Outcome {
    match result {
        Ok(_) => Outcome::Readable,
        Err(GraphError::Forbidden { code }) => Outcome::Refused { code: code.clone() },
        Err(GraphError::NotFound { code }) => Outcome::Missing { code: code.clone() },
        // GraphError's texts hold codes only, never a token or body.
        Err(e) => Outcome::Failed {
            reason: e.to_string(),
        },
    }
}

/// The scope check's conclusion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Every selected mailbox read and the probe was refused.
    pub verified: bool,
    /// The probe was refused: Sentra's access is no wider than the scope,
    /// so the mailboxes that read may start syncing.
    pub least_privilege: bool,
    /// One sentence for the admin.
    pub message: String,
    /// What is wrong, one line per problem.
    pub problems: Vec<String>,
}

/// Concludes from the selected mailboxes' outcomes and the probe's.
pub fn verdict(mailboxes: &[(MailboxAddress, Outcome)], probe: &(String, Outcome)) -> Verdict {
    let mut problems = Vec::new();
    for (address, o) in mailboxes {
        match o {
            Outcome::Readable => {}
            Outcome::Refused { code } => problems.push(format!(
                "{address} could not be read (403 {code}): it is not in Sentra's RBAC scope yet. Run the PowerShell below; Exchange can take up to 2 hours to apply it."
            )),
            Outcome::Missing { code } => problems.push(format!(
                "{address} was not found (404 {code}): check the address, and that it is an Exchange Online mailbox."
            )),
            Outcome::Failed { reason } => problems.push(format!("{address} could not be checked: {reason}")),
        }
    }
    let (probe_address, probe) = probe;
    let least_privilege = matches!(probe, Outcome::Refused { .. });
    match probe {
        Outcome::Refused { .. } => {}
        Outcome::Readable => problems.insert(
            0,
            format!(
                "The app can read mailboxes you did not select: the RBAC scope is missing or too wide (Sentra could read {probe_address}). Check that the Microsoft Graph Mail.Read application permission is not granted to Sentra in Entra, and that the management scope names only the selected mailboxes."
            ),
        ),
        Outcome::Missing { code } => problems.push(format!(
            "The probe address {probe_address} has no mailbox (404 {code}), so its refusal proves nothing: give the address of a real mailbox you did not select."
        )),
        Outcome::Failed { reason } => problems.push(format!(
            "The probe of {probe_address} could not be made: {reason}"
        )),
    }
    let all_read = !mailboxes.is_empty() && mailboxes.iter().all(|(_, o)| *o == Outcome::Readable);
    let verified = least_privilege && all_read;
    let message = if verified {
        format!(
            "Least privilege verified: Sentra read the {} selected mailbox(es) and was refused {probe_address}, which you did not select.",
            mailboxes.len()
        )
    } else if matches!(probe, Outcome::Readable) {
        "Not verified: the app can read mailboxes you did not select: the RBAC scope is missing or too wide.".to_owned()
    } else {
        "Not verified yet: see what is wrong below.".to_owned()
    };
    Verdict {
        verified,
        least_privilege,
        message,
        problems,
    }
}

/// The report stored on the connection and shown on the page.
pub fn report(
    mailboxes: &[(MailboxAddress, Outcome)],
    probe: &(String, Outcome),
    v: &Verdict,
) -> Value {
    json!({
        "verified": v.verified,
        "least_privilege": v.least_privilege,
        "message": v.message,
        "problems": v.problems,
        "mailboxes": mailboxes.iter().map(|(a, o)| json!({
            "address": a.as_str(), "outcome": o.name(), "detail": o.detail(),
        })).collect::<Vec<_>>(),
        "probe": { "address": probe.0, "outcome": probe.1.name(), "detail": probe.1.detail() },
    })
}

/// Reads each mailbox's inbox, then probes `probe`, in `tenant`.
pub async fn run(
    client: &GraphClient,
    tenant: &str,
    mailboxes: &[MailboxAddress],
    probe: &str,
) -> (Vec<(MailboxAddress, Outcome)>, (String, Outcome)) {
    let mut out = Vec::with_capacity(mailboxes.len());
    for m in mailboxes {
        let r = client.mail_folder(tenant, m.as_str(), "inbox").await;
        out.push((m.clone(), outcome(&r)));
    }
    let r = client.mail_folder(tenant, probe, "inbox").await;
    (out, (probe.to_owned(), outcome(&r)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> MailboxAddress {
        MailboxAddress::parse(s).unwrap()
    }

    fn refused() -> Outcome {
        Outcome::Refused {
            code: "ErrorAccessDenied".into(),
        }
    }

    #[test]
    fn verified_only_when_every_mailbox_reads_and_the_probe_is_refused() {
        let ok = [(a("ap@contoso.com"), Outcome::Readable)];
        let v = verdict(&ok, &("ceo@contoso.com".into(), refused()));
        assert!(v.verified && v.least_privilege && v.problems.is_empty());
        assert!(v.message.starts_with("Least privilege verified"));
    }

    #[test]
    fn a_readable_probe_means_the_scope_is_missing_or_too_wide() {
        let ok = [(a("ap@contoso.com"), Outcome::Readable)];
        let v = verdict(&ok, &("ceo@contoso.com".into(), Outcome::Readable));
        assert!(!v.verified && !v.least_privilege);
        assert!(v.problems[0].starts_with(
            "The app can read mailboxes you did not select: the RBAC scope is missing or too wide"
        ));
        assert!(v.message.contains("the RBAC scope is missing or too wide"));
    }

    #[test]
    fn a_refused_mailbox_is_named_and_a_missing_probe_proves_nothing() {
        let mixed = [
            (a("ap@contoso.com"), Outcome::Readable),
            (a("invoices@contoso.com"), refused()),
        ];
        let v = verdict(&mixed, &("ceo@contoso.com".into(), refused()));
        assert!(!v.verified && v.least_privilege);
        assert!(v.problems[0].starts_with("invoices@contoso.com could not be read (403"));
        let ok = [(a("ap@contoso.com"), Outcome::Readable)];
        let v = verdict(
            &ok,
            &(
                "nobody@contoso.com".into(),
                Outcome::Missing {
                    code: "ErrorInvalidUser".into(),
                },
            ),
        );
        assert!(!v.verified && !v.least_privilege);
        assert!(v.problems[0].contains("proves nothing"));
    }

    #[test]
    fn graph_errors_are_classified_by_status() {
        let f: Result<(), GraphError> = Err(GraphError::Forbidden { code: "X".into() });
        assert_eq!(outcome(&f), Outcome::Refused { code: "X".into() });
        let n: Result<(), GraphError> = Err(GraphError::NotFound { code: "Y".into() });
        assert_eq!(outcome(&n), Outcome::Missing { code: "Y".into() });
        let d: Result<(), GraphError> = Err(GraphError::TenantDisconnected);
        assert!(matches!(outcome(&d), Outcome::Failed { .. }));
    }
}
