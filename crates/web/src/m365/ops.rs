//! What an admin can do to the organisation's Microsoft 365 connection, as
//! plain functions shared by the JSON API and the pages. Each state change
//! writes exactly one audit event in its transaction; operations that call
//! Graph (scope check, removing a mailbox, disconnecting) take an [`Actor`]
//! and open short transactions around the calls instead of holding one
//! open across the network.

use super::scope::{self, Outcome};
use super::{Actor, M365, MailboxAddress, conflict, not_configured};
use crate::session::require_step_up;
use crate::{AppState, WebError};
use sentra_domain::OrgId;
use sentra_graph::consent::{self, ConsentOutcome};
use sentra_store::StoreError;
use sentra_store::TenantTx;
use sentra_store::crypto::SecretString;
use sentra_store::ids::MailboxId;
use sentra_store::repo::graph_connection::{self, ConnectionStatus, GraphConnection};
use sentra_store::repo::m365_connect::{self, Cleared, ScopeCheck};
use sentra_store::repo::m365_mailbox::{self, M365Mailbox, WebhookSecrets};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// How far back the first sync of a new mailbox reaches: payment requests
/// that arrived in the last month may still be waiting to be paid.
pub const SYNC_BACK: time::Duration = time::Duration::days(30);
/// At most this many monitored mailboxes per organisation (Sentra watches
/// the few where invoices arrive, not the whole tenant).
pub const MAX_MAILBOXES: usize = 50;

/// The connection as the mailboxes page and `GET /api/v1/m365` show it.
#[derive(Debug)]
pub struct Overview {
    /// Sentra's application id, when Graph is configured.
    pub client_id: Option<String>,
    /// The connection, if one was ever started.
    pub connection: Option<GraphConnection>,
    /// The last scope check.
    pub scope: Option<ScopeCheck>,
    /// The monitored (active) mailboxes.
    pub mailboxes: Vec<M365Mailbox>,
}

impl Overview {
    /// `pending`, `consented`, `disconnected` or `none`.
    pub fn status(&self) -> &'static str {
        self.connection
            .as_ref()
            .map_or("none", |c| c.status.as_str())
    }

    /// The consented tenant.
    pub fn tenant(&self) -> Option<&str> {
        self.connection
            .as_ref()
            .filter(|c| c.status == ConnectionStatus::Consented)
            .and_then(|c| c.tenant_id.as_deref())
    }

    /// The monitored addresses, parsed (stored ones always parse).
    pub fn addresses(&self) -> Vec<MailboxAddress> {
        self.mailboxes
            .iter()
            .filter_map(|m| MailboxAddress::parse(&m.address).ok())
            .collect()
    }
}

fn m365(state: &AppState) -> Result<&Arc<M365>, WebError> {
    state.m365.as_ref().ok_or_else(not_configured)
}

/// Reads everything the page shows.
pub async fn overview(state: &AppState, tx: &mut TenantTx) -> Result<Overview, WebError> {
    let connection = graph_connection::get(tx).await?;
    let scope = m365_connect::last_scope_check(tx).await?;
    let mailboxes = m365_mailbox::list(tx)
        .await?
        .into_iter()
        .filter(|m| m.status == "active")
        .collect();
    Ok(Overview {
        client_id: state.m365.as_ref().map(|m| m.client_id().to_owned()),
        connection,
        scope,
        mailboxes,
    })
}

/// Starts admin consent: stores (a hash of) a fresh `state` and returns the
/// Microsoft URL to send the admin to.
pub async fn start_consent(state: &AppState, tx: &mut TenantTx) -> Result<String, WebError> {
    let m365 = m365(state)?;
    let redirect = state.link(super::CALLBACK_PATH);
    if !redirect.starts_with("https://") && !redirect.starts_with("http://") {
        return Err(conflict(
            "base_url_missing",
            "Sentra's public address (SENTRA_BASE_URL) must be set for Microsoft to send you back",
        ));
    }
    let st = consent::random_state();
    graph_connection::begin_consent(tx, &st).await?;
    let url = consent::admin_consent_url(
        &m365.client.config().login_base,
        None,
        m365.client_id(),
        &redirect,
        &st,
    );
    Ok(url.to_string())
}

/// What the consent redirect brought back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Consent {
    /// Consent granted in `tenant`.
    Connected {
        /// The customer's tenant id.
        tenant: String,
    },
    /// Declined, or Entra reported an error.
    Declined {
        /// The OAuth error.
        error: String,
        /// The AADSTS number, when given.
        aadsts: Option<u64>,
    },
}

fn bad_state() -> WebError {
    WebError::bad_request(
        "invalid_state",
        "this answer from Microsoft is not one Sentra is waiting for (wrong or expired state); start the connection again",
    )
}

/// Accepts the redirect back from admin consent: the `state` must be the
/// organisation's pending one (else 400 and nothing written).
pub async fn complete_consent(
    tx: &mut TenantTx,
    query: &BTreeMap<String, String>,
) -> Result<Consent, WebError> {
    let st = query
        .get("state")
        .filter(|s| !s.is_empty() && s.len() <= 256)
        .ok_or_else(bad_state)?;
    if !graph_connection::state_matches(tx, st).await? {
        return Err(bad_state());
    }
    let pairs = query.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    match consent::parse_consent_callback(pairs, st) {
        ConsentOutcome::Granted { tenant } => {
            if !graph_connection::complete_consent(tx, st, &tenant).await? {
                return Err(bad_state());
            }
            Ok(Consent::Connected { tenant })
        }
        ConsentOutcome::Declined { error, aadsts } => {
            let recorded = match aadsts {
                Some(n) => format!("{error} (AADSTS{n})"),
                None => error.clone(),
            };
            if !graph_connection::decline_consent(tx, st, &recorded).await? {
                return Err(bad_state());
            }
            Ok(Consent::Declined { error, aadsts })
        }
        ConsentOutcome::StateMismatch => Err(bad_state()),
    }
}

/// Adds a mailbox to monitor (400 for a bad address, 409 when already
/// monitored or at the limit).
pub async fn add_mailbox(tx: &mut TenantTx, address: &str) -> Result<M365Mailbox, WebError> {
    let address = MailboxAddress::parse(address)
        .map_err(|why| WebError::bad_request("invalid_address", why))?;
    let active = m365_mailbox::list(tx)
        .await?
        .into_iter()
        .filter(|m| m.status == "active")
        .count();
    if active >= MAX_MAILBOXES {
        return Err(conflict(
            "too_many_mailboxes",
            format!("at most {MAX_MAILBOXES} mailboxes can be monitored"),
        ));
    }
    let since = time::OffsetDateTime::now_utc() - SYNC_BACK;
    let id = match m365_mailbox::add(tx, address.as_str(), since).await {
        Ok(id) => id,
        Err(StoreError::Conflict { .. }) => {
            return Err(conflict(
                "already_monitored",
                format!("{address} is already monitored"),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    Ok(m365_mailbox::get(tx, id).await?)
}

/// Opens a transaction for `actor`.
async fn begin(state: &AppState, actor: &Actor) -> Result<TenantTx, WebError> {
    Ok(TenantTx::begin(&state.pool, actor.org, Some(actor.user)).await?)
}

/// Stops monitoring one mailbox (step-up): disconnected at once, then its
/// subscription deleted at Microsoft, best effort.
pub async fn remove_mailbox(
    state: &AppState,
    actor: &Actor,
    id: MailboxId,
) -> Result<(), WebError> {
    require_step_up(actor.mfa_at)?;
    let mut tx = begin(state, actor).await?;
    let mailbox = m365_mailbox::get(&mut tx, id).await?;
    if mailbox.status != "active" {
        return Err(WebError::NotFound);
    }
    let tenant = graph_connection::get(&mut tx)
        .await?
        .and_then(|c| c.tenant_id);
    let gone = m365_mailbox::disconnect(&mut tx, id).await?;
    tx.commit().await?;
    if let (Some(sub), Some(tenant), Some(m365)) = (gone.subscription_id, tenant, &state.m365)
        && let Err(e) = m365.client.delete_subscription(&tenant, &sub).await
    {
        tracing::warn!(mailbox = %id, error = %e, "deleting the removed mailbox's subscription failed");
    }
    Ok(())
}

/// The scope check's result, as stored and returned.
#[derive(Debug, Clone)]
pub struct Checked {
    /// Least privilege verified.
    pub verified: bool,
    /// The report (see [`scope::report`]).
    pub report: Value,
}

/// Runs the scope check and records it; when least privilege holds, the
/// mailboxes that read get webhook secrets and a `graph.subscribe` job.
pub async fn scope_check(
    state: &AppState,
    actor: &Actor,
    probe: Option<&str>,
) -> Result<Checked, WebError> {
    let m365 = m365(state)?;
    let probe = match probe.map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) => Some(
            MailboxAddress::parse(p).map_err(|why| WebError::bad_request("invalid_probe", why))?,
        ),
        None => None,
    };
    let mut tx = begin(state, actor).await?;
    let view = overview(state, &mut tx).await?;
    tx.commit().await?;
    let tenant = view.tenant().ok_or_else(|| {
        conflict(
            "not_connected",
            "connect Microsoft 365 (admin consent) before checking the scope",
        )
    })?;
    let addresses = view.addresses();
    if addresses.is_empty() {
        return Err(conflict("no_mailboxes", "add a mailbox to monitor first"));
    }
    let probe = match probe {
        Some(p) if addresses.contains(&p) => {
            return Err(WebError::bad_request(
                "invalid_probe",
                "the probe must be a mailbox you did not select",
            ));
        }
        Some(p) => p.to_string(),
        // A fresh address in the first mailbox's domain: nobody selected it.
        None => format!(
            "sentra-scope-probe-{}@{}",
            &consent::random_state()[..12],
            addresses[0].domain()
        ),
    };
    // An app-only token carries the Graph roles granted when it was issued:
    // a cached one would hide a tenant-wide Mail.Read granted (or removed)
    // since, so the check starts from a fresh token.
    m365.client.forget_tenant(tenant).await;
    let (results, probed) = scope::run(&m365.client, tenant, &addresses, &probe).await;
    let verdict = scope::verdict(&results, &probed);
    let report = scope::report(&results, &probed, &verdict);
    let by_address: HashMap<&str, MailboxId> = view
        .mailboxes
        .iter()
        .map(|m| (m.address.as_str(), m.id))
        .collect();
    let readable: Vec<MailboxId> = results
        .iter()
        .filter(|(_, o)| *o == Outcome::Readable)
        .filter_map(|(a, _)| by_address.get(a.as_str()).copied())
        .collect();
    let cleared: Vec<Cleared> = if verdict.least_privilege {
        readable
            .iter()
            .map(|id| Cleared {
                mailbox: *id,
                secrets: WebhookSecrets {
                    tenant_id: tenant.to_owned(),
                    client_state: SecretString::from(consent::random_state()),
                    path_token: SecretString::from(consent::random_state()),
                },
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut tx = begin(state, actor).await?;
    let recorded = m365_connect::record_scope_check(
        &mut tx,
        &state.keys,
        verdict.verified,
        &report,
        &readable,
        &cleared,
    )
    .await?;
    tx.commit().await?;
    let mut report = report;
    if let Some(map) = report.as_object_mut() {
        map.insert(
            "subscribe_enqueued".to_owned(),
            json!(recorded.subscribe_enqueued),
        );
    }
    Ok(Checked {
        verified: verdict.verified,
        report,
    })
}

/// What disconnecting did.
#[derive(Debug, Clone, Default)]
pub struct Disconnected {
    /// Whether there was anything to disconnect.
    pub disconnected: bool,
    /// Subscriptions deleted at Microsoft.
    pub subscriptions_deleted: Vec<String>,
    /// Subscriptions that could not be deleted, with why (codes only).
    pub subscriptions_failed: Vec<(String, String)>,
    /// The mailboxes disconnected.
    pub mailboxes: Vec<String>,
    /// Graph jobs cancelled.
    pub jobs_cancelled: u64,
}

/// Deletes at Microsoft every subscription Sentra recorded, and every one
/// Graph lists whose notification URL names this organisation (one a
/// crashed run made but never recorded) or whose resource is one of
/// `mailboxes`' inboxes.
async fn delete_subscriptions(
    m365: &M365,
    org: OrgId,
    tenant: &str,
    recorded: &[String],
    mailboxes: &[String],
    out: &mut Disconnected,
) {
    let mut ids: Vec<String> = recorded.to_vec();
    let org_path = format!("/graph/notify/{org}/");
    match m365.client.list_subscriptions(tenant).await {
        Ok(list) => {
            for s in list {
                let resource = s.resource.to_ascii_lowercase();
                let ours = s
                    .notification_url
                    .as_deref()
                    .is_some_and(|u| u.contains(&org_path))
                    || mailboxes
                        .iter()
                        .any(|m| resource.contains(&format!("users/{m}/")));
                if ours && !ids.contains(&s.id) {
                    ids.push(s.id);
                }
            }
        }
        Err(e) => out
            .subscriptions_failed
            .push(("(list)".to_owned(), e.to_string())),
    }
    for id in ids {
        match m365.client.delete_subscription(tenant, &id).await {
            Ok(()) => out.subscriptions_deleted.push(id),
            Err(e) => out.subscriptions_failed.push((id, e.to_string())),
        }
    }
}

/// Disconnects the organisation (step-up): subscriptions deleted at
/// Microsoft (best effort, recorded), then in one transaction every mailbox
/// disconnected, webhook secrets deleted, Graph jobs cancelled, the
/// connection forgotten, and one audit event.
pub async fn disconnect(state: &AppState, actor: &Actor) -> Result<Disconnected, WebError> {
    require_step_up(actor.mfa_at)?;
    let mut tx = begin(state, actor).await?;
    let view = overview(state, &mut tx).await?;
    tx.commit().await?;
    let mut out = Disconnected::default();
    let addresses: Vec<String> = view.mailboxes.iter().map(|m| m.address.clone()).collect();
    let recorded: Vec<String> = view
        .mailboxes
        .iter()
        .filter_map(|m| m.subscription_id.clone())
        .collect();
    let tenant = view.connection.as_ref().and_then(|c| c.tenant_id.clone());
    let attempted = match (&tenant, &state.m365) {
        (Some(tenant), Some(m365)) => {
            delete_subscriptions(m365, actor.org, tenant, &recorded, &addresses, &mut out).await;
            true
        }
        _ => false,
    };
    let report = json!({
        "attempted": attempted,
        "deleted": out.subscriptions_deleted,
        "failed": out.subscriptions_failed.iter()
            .map(|(id, e)| json!({ "id": id, "error": e })).collect::<Vec<_>>(),
    });
    let mut tx = begin(state, actor).await?;
    let done = m365_connect::disconnect_all(&mut tx, &report).await?;
    tx.commit().await?;
    let Some(done) = done else {
        return Ok(out);
    };
    out.disconnected = true;
    out.mailboxes = done.mailboxes;
    out.jobs_cancelled = done.jobs_cancelled;
    if let (Some(tenant), Some(m365)) = (&done.tenant_id, &state.m365) {
        // A subscription the worker made after the list above.
        for id in done.late_subscriptions {
            if out.subscriptions_deleted.contains(&id) {
                continue;
            }
            match m365.client.delete_subscription(tenant, &id).await {
                Ok(()) => out.subscriptions_deleted.push(id),
                Err(e) => {
                    tracing::warn!(error = %e, "deleting a late subscription on disconnect failed");
                    out.subscriptions_failed.push((id, e.to_string()));
                }
            }
        }
        m365.client.forget_tenant(tenant).await;
    }
    Ok(out)
}
