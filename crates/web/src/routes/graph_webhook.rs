//! Microsoft Graph webhooks (graph-contract §7.2, §8, §9): the validation
//! handshake, change notifications and lifecycle notifications.
//!
//! These are cross-origin POSTs from Microsoft, so they are mounted outside
//! the origin check and authenticated instead by the unguessable token in
//! the path and the subscription's `clientState`, both compared in constant
//! time against the mailbox's encrypted webhook secrets. A notification is
//! only a hint: the handler enqueues a (deduplicated) job in one short
//! transaction and answers `202`; the worker does the Graph calls. A
//! disconnected mailbox has no secrets left, so its notifications are
//! refused.
//!
//! URLs: `/graph/notify/{org}/{mailbox}/{token}` and
//! `/graph/lifecycle/{org}/{mailbox}/{token}`.

use crate::routes::parse_uuid;
use crate::{AppState, WebError};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use sentra_domain::OrgId;
use sentra_domain::graph_jobs::{self, MailboxJob};
use sentra_domain::graph_notify::{
    ChangeNotificationBatch, LifecycleEvent, LifecycleNotificationBatch, client_state_matches,
};
use sentra_store::TenantTx;
use sentra_store::crypto::ExposeSecret;
use sentra_store::ids::MailboxId;
use sentra_store::queue::{self, NewJob};
use sentra_store::repo::m365_mailbox;
use serde::Deserialize;

/// The longest `validationToken` echoed back.
const MAX_VALIDATION_TOKEN: usize = 4096;
/// The largest notification body accepted.
pub const WEBHOOK_BODY_LIMIT: usize = 1024 * 1024;

/// The query of a webhook call: only the handshake's token matters.
#[derive(Debug, Deserialize)]
pub struct WebhookQuery {
    #[serde(rename = "validationToken")]
    validation_token: Option<String>,
}

/// The path parameters of both webhook URLs.
type WebhookPath = Path<(String, String, String)>;

/// Answers the validation handshake: `200 text/plain` with the decoded
/// token. Graph validates before any secret exists, so this needs none; the
/// body is plain text with `nosniff`, so echoing it cannot script a page.
fn validation_echo(query: &WebhookQuery) -> Option<Response> {
    let token = query.validation_token.as_ref()?;
    if token.len() > MAX_VALIDATION_TOKEN {
        return Some(
            WebError::bad_request("invalid_token", "validation token too long").into_response(),
        );
    }
    Some(
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            token.clone(),
        )
            .into_response(),
    )
}

/// `GET` on a webhook URL: some validators use GET for the handshake.
pub async fn validate_get(Query(query): Query<WebhookQuery>) -> Response {
    validation_echo(&query).unwrap_or_else(|| WebError::NotFound.into_response())
}

/// The mailbox a webhook URL names, once its path token checks out, with the
/// open transaction and the secrets to check `clientState` against.
struct Authenticated {
    tx: TenantTx,
    mailbox: MailboxId,
    tenant_id: String,
    client_state: sentra_store::crypto::SecretString,
}

/// Finds the mailbox of a webhook URL. Every failure (bad ids, another
/// organisation's, disconnected, wrong token) is the same 404.
async fn authenticate(
    state: &AppState,
    org: &str,
    mailbox: &str,
    token: &str,
) -> Result<Authenticated, WebError> {
    let org = OrgId::from_uuid(parse_uuid(org)?);
    let mailbox = MailboxId::from_uuid(parse_uuid(mailbox)?);
    let mut tx = TenantTx::begin(&state.pool, org, None).await?;
    let Some(secrets) = m365_mailbox::secrets(&mut tx, &state.keys, mailbox).await? else {
        return Err(WebError::NotFound);
    };
    if !client_state_matches(secrets.path_token.expose_secret(), Some(token)) {
        return Err(WebError::NotFound);
    }
    let current = m365_mailbox::get(&mut tx, mailbox).await?;
    if current.status != "active" {
        return Err(WebError::NotFound);
    }
    Ok(Authenticated {
        tx,
        mailbox,
        tenant_id: secrets.tenant_id,
        client_state: secrets.client_state,
    })
}

impl Authenticated {
    /// Whether one item's `clientState` and `tenantId` are this mailbox's.
    fn admits(&self, client_state: Option<&str>, tenant: Option<&str>) -> bool {
        let state_ok = client_state_matches(self.client_state.expose_secret(), client_state);
        let tenant_ok = tenant.is_none_or(|t| t.eq_ignore_ascii_case(&self.tenant_id));
        state_ok && tenant_ok
    }

    async fn enqueue(&mut self, kind: &str, full: bool) -> Result<(), WebError> {
        let job = MailboxJob {
            mailbox_id: self.mailbox.as_uuid(),
            full,
        };
        let payload = serde_json::to_value(job).map_err(|e| WebError::internal(e.to_string()))?;
        queue::enqueue(
            &mut self.tx,
            &NewJob::new(kind, payload).dedupe_key(job.dedupe_key(kind)),
        )
        .await?;
        Ok(())
    }
}

fn forbidden() -> WebError {
    WebError::Client {
        status: StatusCode::FORBIDDEN,
        code: "forbidden",
        message: "notification not authenticated".to_owned(),
    }
}

/// `POST /graph/notify/{org}/{mailbox}/{token}`: the handshake, or change
/// notifications → one delta sync job for the mailbox.
pub async fn notify(
    State(state): State<AppState>,
    Path((org, mailbox, token)): WebhookPath,
    Query(query): Query<WebhookQuery>,
    body: Bytes,
) -> Result<Response, WebError> {
    if let Some(echo) = validation_echo(&query) {
        return Ok(echo);
    }
    let batch: ChangeNotificationBatch = serde_json::from_slice(&body).map_err(|_| {
        WebError::bad_request("invalid_notification", "not a change notification batch")
    })?;
    let mut auth = authenticate(&state, &org, &mailbox, &token).await?;
    let admitted = batch
        .value
        .iter()
        .filter(|n| auth.admits(n.client_state.as_deref(), n.tenant_id.as_deref()))
        .count();
    if admitted == 0 {
        tracing::warn!(%mailbox, items = batch.value.len(), "graph notification with a wrong clientState or tenant refused");
        return Err(forbidden());
    }
    auth.enqueue(graph_jobs::SYNC, false).await?;
    auth.tx.commit().await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

/// `POST /graph/lifecycle/{org}/{mailbox}/{token}`: the handshake, or
/// lifecycle events → reauthorize, resubscribe, or full resync jobs.
pub async fn lifecycle(
    State(state): State<AppState>,
    Path((org, mailbox, token)): WebhookPath,
    Query(query): Query<WebhookQuery>,
    body: Bytes,
) -> Result<Response, WebError> {
    if let Some(echo) = validation_echo(&query) {
        return Ok(echo);
    }
    let batch: LifecycleNotificationBatch = serde_json::from_slice(&body).map_err(|_| {
        WebError::bad_request("invalid_notification", "not a lifecycle notification batch")
    })?;
    let mut auth = authenticate(&state, &org, &mailbox, &token).await?;
    let mut admitted = 0;
    for event in &batch.value {
        if !auth.admits(event.client_state.as_deref(), event.tenant_id.as_deref()) {
            continue;
        }
        admitted += 1;
        match event.lifecycle_event {
            LifecycleEvent::ReauthorizationRequired => {
                auth.enqueue(graph_jobs::REAUTHORIZE, false).await?;
            }
            LifecycleEvent::SubscriptionRemoved => {
                auth.enqueue(graph_jobs::SUBSCRIBE, false).await?;
            }
            LifecycleEvent::Missed => auth.enqueue(graph_jobs::SYNC, true).await?,
            LifecycleEvent::Unknown => {}
        }
    }
    if admitted == 0 {
        return Err(forbidden());
    }
    auth.tx.commit().await?;
    Ok(StatusCode::ACCEPTED.into_response())
}
