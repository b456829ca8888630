//! Admin consent (contract §4.4): the URL an admin opens to create Sentra's
//! service principal in their tenant, and the check of the redirect back.
//!
//! For option A (Exchange RBAC for Applications) consent grants **no** Graph
//! mail permission: the scope is `.default` and Sentra's app registration
//! lists no `Mail.Read` application permission, so mailbox rights come only
//! from the Exchange scope the admin sets with PowerShell.

use sentra_domain::graph_notify::client_state_matches;
use url::Url;

/// A fresh random `state` (or `clientState`): 32 random bytes as hex.
///
/// # Panics
///
/// When the operating system's random source fails; nothing secure can be
/// issued then.
pub fn random_state() -> String {
    use std::fmt::Write as _;
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).unwrap_or_else(|e| panic!("the OS random source failed: {e}"));
    b.iter().fold(String::with_capacity(64), |mut s, x| {
        let _ = write!(s, "{x:02x}");
        s
    })
}

/// The v2 admin-consent URL:
/// `{login}/{tenant}/v2.0/adminconsent?client_id=&scope=https://graph.microsoft.com/.default&redirect_uri=&state=`.
/// `tenant` is the customer's tenant id or domain when known, else
/// `organizations`.
pub fn admin_consent_url(
    login_base: &Url,
    tenant: Option<&str>,
    client_id: &str,
    redirect_uri: &str,
    state: &str,
) -> Url {
    let mut url = login_base.clone();
    url.path_segments_mut()
        .unwrap_or_else(|()| unreachable!("an http(s) base can hold segments"))
        .pop_if_empty()
        .extend([tenant.unwrap_or("organizations"), "v2.0", "adminconsent"]);
    url.query_pairs_mut()
        .append_pair("client_id", client_id)
        .append_pair("scope", "https://graph.microsoft.com/.default")
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("state", state);
    url
}

/// What the admin-consent redirect said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsentOutcome {
    /// Consent given in this tenant.
    Granted {
        /// The customer's tenant id.
        tenant: String,
    },
    /// The admin declined, or Entra reported an error.
    Declined {
        /// The OAuth `error` (`access_denied`, …).
        error: String,
        /// The AADSTS number from the description, when there is one.
        aadsts: Option<u64>,
    },
    /// `state` is missing or not the one Sentra issued: ignore the request.
    StateMismatch,
}

/// Checks the query of the redirect back from admin consent against the
/// `state` Sentra stored when it sent the admin away.
pub fn parse_consent_callback<'a>(
    query: impl IntoIterator<Item = (&'a str, &'a str)>,
    expected_state: &str,
) -> ConsentOutcome {
    let (mut state, mut tenant, mut granted, mut error, mut description) =
        (None, None, None, None, None);
    for (k, v) in query {
        match k {
            "state" => state = Some(v),
            "tenant" => tenant = Some(v),
            "admin_consent" => granted = Some(v.eq_ignore_ascii_case("true")),
            "error" => error = Some(v),
            "error_description" => description = Some(v),
            _ => {}
        }
    }
    if !client_state_matches(expected_state, state) {
        return ConsentOutcome::StateMismatch;
    }
    if let Some(error) = error {
        let aadsts = description.and_then(|d| {
            let rest = d.strip_prefix("AADSTS")?;
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        });
        return ConsentOutcome::Declined {
            error: error.chars().take(64).collect(),
            aadsts,
        };
    }
    match (granted, tenant) {
        (Some(true), Some(t)) if is_tenant_id(t) => ConsentOutcome::Granted {
            tenant: t.to_owned(),
        },
        _ => ConsentOutcome::Declined {
            error: "invalid_callback".into(),
            aadsts: None,
        },
    }
}

/// A tenant id as Entra returns it: a GUID (or a verified domain name).
pub fn is_tenant_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 200
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_the_v2_admin_consent_url() {
        let base = Url::parse("https://login.microsoftonline.com").unwrap();
        let url = admin_consent_url(&base, None, "app-1", "https://sentra.example/cb?x=1", "st");
        assert_eq!(
            url.as_str(),
            "https://login.microsoftonline.com/organizations/v2.0/adminconsent?client_id=app-1&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default&redirect_uri=https%3A%2F%2Fsentra.example%2Fcb%3Fx%3D1&state=st"
        );
        let url = admin_consent_url(
            &Url::parse("http://127.0.0.1:9/login").unwrap(),
            Some("contoso.com"),
            "a",
            "r",
            "s",
        );
        assert!(
            url.as_str()
                .starts_with("http://127.0.0.1:9/login/contoso.com/v2.0/adminconsent?")
        );
    }

    #[test]
    fn callback_granted_declined_and_forged() {
        let ok = [
            ("admin_consent", "True"),
            ("tenant", "9b1c-22"),
            ("state", "st"),
            ("scope", "x"),
        ];
        assert_eq!(
            parse_consent_callback(ok, "st"),
            ConsentOutcome::Granted {
                tenant: "9b1c-22".into()
            }
        );
        assert_eq!(
            parse_consent_callback(ok, "other"),
            ConsentOutcome::StateMismatch
        );
        let no_state = [("admin_consent", "True"), ("tenant", "t")];
        assert_eq!(
            parse_consent_callback(no_state, "st"),
            ConsentOutcome::StateMismatch
        );
        let declined = [
            ("error", "access_denied"),
            ("error_description", "AADSTS65004: User declined to consent"),
            ("state", "st"),
        ];
        assert_eq!(
            parse_consent_callback(declined, "st"),
            ConsentOutcome::Declined {
                error: "access_denied".into(),
                aadsts: Some(65004)
            }
        );
        let bad_tenant = [
            ("admin_consent", "True"),
            ("tenant", "a/b"),
            ("state", "st"),
        ];
        assert!(matches!(
            parse_consent_callback(bad_tenant, "st"),
            ConsentOutcome::Declined { .. }
        ));
    }

    #[test]
    fn random_states_differ() {
        let (a, b) = (random_state(), random_state());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
    }
}
