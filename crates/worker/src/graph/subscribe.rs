//! `graph.subscribe`, `graph.reauthorize` and `graph.maintain`: keeping one
//! live subscription per mailbox (contract §7, §9) and the periodic delta
//! poll that backs it up (§11.1).

use super::{Ctx, Fail, Target, enqueue, ensure_maintain};
use crate::JobError;
use sentra_domain::OrgId;
use sentra_domain::graph_jobs;
use sentra_graph::GraphError;
use sentra_graph::subscription::{NewSubscription, expiry_from, needs_renewal};
use sentra_store::TenantTx;
use sentra_store::audit::{self, NewEvent};
use sentra_store::crypto::ExposeSecret;
use sentra_store::ids::MailboxId;
use sentra_store::queue::ClaimedJob;
use sentra_store::repo::m365_mailbox;
use serde_json::json;
use time::OffsetDateTime;

/// `graph.subscribe`: a fresh subscription, then a sync.
pub(super) async fn subscribe_job(ctx: &Ctx, org: OrgId, id: MailboxId) -> Result<(), JobError> {
    let result = async {
        match ctx.load(org, id).await? {
            Some(t) => subscribe(ctx, &t).await,
            None => Ok(()),
        }
    }
    .await;
    match result {
        Ok(()) => Ok(()),
        Err(fail) => ctx.settle(org, id, fail).await,
    }
}

/// `graph.reauthorize`: reauthorize the subscription, or subscribe again
/// when it is gone.
pub(super) async fn reauthorize_job(ctx: &Ctx, org: OrgId, id: MailboxId) -> Result<(), JobError> {
    let result = async {
        let Some(t) = ctx.load(org, id).await? else {
            return Ok(());
        };
        let Some(sub) = t.mailbox.subscription_id.as_deref() else {
            return subscribe(ctx, &t).await;
        };
        match ctx.client().reauthorize_subscription(&t.tenant, sub).await {
            Ok(()) => Ok(()),
            Err(GraphError::NotFound { .. }) => subscribe(ctx, &t).await,
            Err(e) => Err(e.into()),
        }
    }
    .await;
    match result {
        Ok(()) => Ok(()),
        Err(fail) => ctx.settle(org, id, fail).await,
    }
}

/// `graph.maintain`: renew the subscription when due (or make one), poll
/// delta through a `graph.sync`, and schedule the next run. Graph failures
/// are recorded on the mailbox's health but do not fail the job, so the
/// loop goes on; the next run waits at least for a `Retry-After`.
pub(super) async fn maintain_job(
    ctx: &Ctx,
    job: &ClaimedJob,
    id: MailboxId,
) -> Result<(), JobError> {
    let org = job.org;
    let mut next = OffsetDateTime::now_utc() + ctx.settings.maintain_every;
    let kept = match ctx.load(org, id).await {
        // Disconnected (or never connected): the loop stops here.
        Ok(None) => return Ok(()),
        Ok(Some(t)) => keep_subscription(ctx, &t).await,
        Err(fail) => Err(fail),
    };
    match kept {
        Ok(()) => {}
        Err(Fail::Job(e)) => return Err(e),
        // Throttled earlier: no Graph call now; the sync it enqueues
        // defers itself likewise.
        Err(Fail::Defer(wait)) => next = next.max(OffsetDateTime::now_utc() + wait),
        Err(Fail::Graph(e)) => {
            if let GraphError::Throttled { retry_after, .. } = &e {
                next = next.max(OffsetDateTime::now_utc() + *retry_after);
            }
            ctx.record(org, id, &e).await?;
        }
    }
    let mut tx = TenantTx::begin(ctx.pool(), org, None).await?;
    enqueue(&mut tx, graph_jobs::SYNC, id, false).await?;
    ensure_maintain(&mut tx, id, Some(job.id), Some(next)).await?;
    tx.commit().await?;
    Ok(())
}

/// Renews the subscription when less than half its life remains, or
/// subscribes when there is none (or it is gone).
async fn keep_subscription(ctx: &Ctx, t: &Target) -> Result<(), Fail> {
    let now = OffsetDateTime::now_utc();
    let Some(sub) = t.mailbox.subscription_id.as_deref() else {
        return subscribe(ctx, t).await;
    };
    if t.mailbox
        .subscription_expires_at
        .is_some_and(|exp| !needs_renewal(exp, now))
    {
        return Ok(());
    }
    match ctx
        .client()
        .renew_subscription(&t.tenant, sub, expiry_from(now))
        .await
    {
        Ok(renewed) => {
            let expires = renewed.expires_at().or(Some(expiry_from(now)));
            let mut tx = TenantTx::begin(ctx.pool(), t.org, None).await?;
            m365_mailbox::set_subscription(&mut tx, t.id, Some(&renewed.id), expires).await?;
            let event = NewEvent::new("system:worker", "mailbox.subscription_renew")
                .target("mailbox", t.id.to_string())
                .details(json!({ "expires_at": expires.map(OffsetDateTime::unix_timestamp) }));
            audit::append(&mut tx, event).await?;
            tx.commit().await?;
            Ok(())
        }
        // Expired or removed: a renewal cannot bring it back.
        Err(GraphError::NotFound { .. }) => subscribe(ctx, t).await,
        Err(e) => Err(e.into()),
    }
}

/// Replaces the mailbox's subscriptions with one new one, records it and
/// enqueues a sync (notifications may have been missed meanwhile).
async fn subscribe(ctx: &Ctx, t: &Target) -> Result<(), Fail> {
    let client = ctx.client();
    // Earlier subscriptions of this mailbox (a removed one, or one a crashed
    // run created but never recorded) are found by their notification URL,
    // which names the organisation and mailbox, and deleted first.
    let ours = format!("/graph/notify/{}/{}/", t.org, t.id);
    for old in client.list_subscriptions(&t.tenant).await? {
        if old
            .notification_url
            .as_deref()
            .is_some_and(|u| u.contains(&ours))
        {
            client.delete_subscription(&t.tenant, &old.id).await?;
        }
    }
    let token = t.secrets.path_token.expose_secret();
    let base = &ctx.settings.webhook_base;
    let notification_url = format!("{base}/graph/notify/{}/{}/{token}", t.org, t.id);
    let lifecycle_url = format!("{base}/graph/lifecycle/{}/{}/{token}", t.org, t.id);
    let expires_at = expiry_from(OffsetDateTime::now_utc());
    let created = client
        .create_subscription(
            &t.tenant,
            &NewSubscription {
                mailbox: &t.mailbox.address,
                folder: "inbox",
                notification_url: &notification_url,
                lifecycle_url: &lifecycle_url,
                client_state: &t.secrets.client_state,
                expires_at,
            },
        )
        .await?;
    let expires = created.expires_at().unwrap_or(expires_at);
    let mut tx = TenantTx::begin(ctx.pool(), t.org, None).await?;
    m365_mailbox::set_subscription(&mut tx, t.id, Some(&created.id), Some(expires)).await?;
    let event = NewEvent::new("system:worker", "mailbox.subscribe")
        .target("mailbox", t.id.to_string())
        .details(json!({ "expires_at": expires.unix_timestamp() }));
    audit::append(&mut tx, event).await?;
    enqueue(&mut tx, graph_jobs::SYNC, t.id, false).await?;
    ensure_maintain(
        &mut tx,
        t.id,
        None,
        Some(OffsetDateTime::now_utc() + ctx.settings.maintain_every),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
