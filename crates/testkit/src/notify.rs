//! Outbound traffic from the fake to the subscriber: the validation
//! handshake on subscription create (`graph-contract.md` §7.2), change
//! notifications with retries (§8) and lifecycle events (§9).

use crate::config::LifecycleEvent;
use crate::projection::rfc3339;
use crate::report::NotificationRecord;
use crate::server::Inner;
use crate::state::State;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

/// One notification item bound for a URL.
#[derive(Debug, Clone)]
pub(crate) struct Outbound {
    pub url: String,
    /// `change` or `lifecycle`.
    pub kind: &'static str,
    pub item: Value,
    pub subscription_id: String,
}

/// One POST: a URL and the items of its `value` array.
#[derive(Debug, Clone)]
struct Post {
    url: String,
    kind: &'static str,
    items: Vec<Value>,
    subscription_ids: Vec<String>,
}

/// Change notifications for every live subscription that covers the message's folder.
pub(crate) fn change_posts(
    st: &mut State,
    mailbox: usize,
    message: usize,
    folder: usize,
    change: &str,
) -> Vec<Outbound> {
    let now = OffsetDateTime::now_utc();
    let mb = &st.mailboxes[mailbox];
    let msg = &mb.messages[message];
    let resource = format!("Users/{}/Messages/{}", mb.user_id, msg.id);
    let matching: Vec<_> = st
        .subs
        .values()
        .filter(|s| {
            s.mailbox == mailbox
                && s.alive(now)
                && s.folder.is_none_or(|f| f == folder)
                && s.change_type.split(',').any(|c| c.trim() == change)
        })
        .cloned()
        .collect();
    let etag = format!("W/\"CQAAABYAAAD{:08X}\"", msg.version);
    let msg_id = msg.id.clone();
    matching
        .into_iter()
        .map(|s| Outbound {
            url: s.notification_url.clone(),
            kind: "change",
            subscription_id: s.id.clone(),
            item: json!({
                "id": st.rng.uuid().to_string(),
                "subscriptionId": s.id,
                "subscriptionExpirationDateTime": rfc3339(s.expires),
                "clientState": s.client_state,
                "changeType": change,
                "resource": resource,
                "tenantId": s.tenant,
                "resourceData": {
                    "@odata.type": "#Microsoft.Graph.Message",
                    "@odata.id": resource,
                    "@odata.etag": etag,
                    "id": msg_id,
                },
            }),
        })
        .collect()
}

/// A lifecycle event for a subscription, if it has a lifecycle URL.
pub(crate) fn lifecycle_post(
    st: &State,
    subscription_id: &str,
    event: LifecycleEvent,
) -> Option<Outbound> {
    let s = st.subs.get(subscription_id)?;
    Some(Outbound {
        url: s.lifecycle_url.clone()?,
        kind: "lifecycle",
        subscription_id: s.id.clone(),
        item: json!({
            "subscriptionId": s.id,
            "subscriptionExpirationDateTime": rfc3339(s.expires),
            "tenantId": s.tenant,
            "clientState": s.client_state,
            "lifecycleEvent": event.as_str(),
        }),
    })
}

/// Sends notifications in the background, shaped by the switches (batch,
/// duplicate, reverse order, delay, drop) and retried on failure.
pub(crate) fn send(inner: &Arc<Inner>, outbound: Vec<Outbound>) {
    if outbound.is_empty() {
        return;
    }
    let sw = inner.lock().sw.clone();
    let mut posts: Vec<Post> = Vec::new();
    for o in outbound {
        let joined = sw.batch_notifications
            && posts.last_mut().is_some_and(|p| {
                let same = p.url == o.url && p.kind == o.kind;
                if same {
                    p.items.push(o.item.clone());
                    p.subscription_ids.push(o.subscription_id.clone());
                }
                same
            });
        if !joined {
            posts.push(Post {
                url: o.url,
                kind: o.kind,
                items: vec![o.item],
                subscription_ids: vec![o.subscription_id],
            });
        }
    }
    if sw.out_of_order_notifications {
        posts.reverse();
        for p in &mut posts {
            p.items.reverse();
        }
    }
    let inner = inner.clone();
    inner.rt.clone().spawn(async move {
        if sw.notification_delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(sw.notification_delay_ms)).await;
        }
        for post in posts {
            if post.kind == "change" && sw.drop_notifications {
                record(&inner, &post, 0, None, "dropped");
                continue;
            }
            let copies = if sw.duplicate_notifications { 2 } else { 1 };
            for _ in 0..copies {
                if !attempt(&inner, &post, 1).await {
                    inner.rt.spawn(retry(inner.clone(), post.clone()));
                }
            }
        }
    });
}

/// Retries with doubling delays until delivered or out of attempts; then,
/// for change notifications, tells the subscriber it `missed` something.
async fn retry(inner: Arc<Inner>, post: Post) {
    let sw = inner.lock().sw.clone();
    for n in 2..=sw.notification_max_attempts.max(1) {
        let factor = 1u64 << (n - 2).min(20);
        let delay = sw
            .notification_retry_base_ms
            .saturating_mul(factor)
            .min(sw.notification_retry_max_ms);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        if attempt(&inner, &post, n).await {
            return;
        }
    }
    if post.kind == "change" && sw.missed_after_failed_delivery {
        let missed: Vec<Outbound> = {
            let st = inner.lock();
            post.subscription_ids
                .iter()
                .filter_map(|id| lifecycle_post(&st, id, LifecycleEvent::Missed))
                .collect()
        };
        send(&inner, missed);
    }
}

/// One delivery attempt; `true` when the receiver answered 2xx in time.
async fn attempt(inner: &Arc<Inner>, post: &Post, n: u32) -> bool {
    let (timeout, max) = {
        let st = inner.lock();
        (
            Duration::from_millis(st.sw.notification_timeout_ms),
            st.sw.notification_max_attempts,
        )
    };
    let body = json!({"value": post.items});
    let sent = inner
        .client
        .post(&post.url)
        .json(&body)
        .timeout(timeout)
        .send()
        .await;
    let status = sent.as_ref().ok().map(|r| r.status().as_u16());
    let ok = status.is_some_and(|s| (200..300).contains(&s));
    let outcome = if ok {
        "delivered"
    } else if n >= max {
        "gave_up"
    } else {
        "retrying"
    };
    record(inner, post, n, status, outcome);
    ok
}

fn record(inner: &Inner, post: &Post, attempt: u32, status: Option<u16>, outcome: &str) {
    let mut st = inner.lock();
    let at_ms = st.elapsed_ms();
    st.notifications.push(NotificationRecord {
        at_ms,
        url: post.url.clone(),
        kind: post.kind.to_owned(),
        attempt,
        status,
        outcome: outcome.to_owned(),
        body: json!({"value": post.items}),
    });
}

/// Why a notification URL failed validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ValidationFailure {
    /// No (complete) answer within the validation timeout.
    TimedOut,
    /// Answered, but not `200 text/plain` with the decoded token.
    WrongAnswer,
}

/// The validation handshake: `POST {url}?validationToken=…` (or GET, per
/// switch), expecting `200`, `text/plain` and the URL-decoded token back.
pub(crate) async fn validate(inner: &Arc<Inner>, url: &str) -> Result<(), ValidationFailure> {
    let (mode, timeout, token) = {
        let mut st = inner.lock();
        let token = format!(
            "Validation: Testing client application reachability for subscription Request-Id: {}",
            st.rng.uuid()
        );
        (
            st.sw.validation,
            Duration::from_millis(st.sw.validation_timeout_ms),
            token,
        )
    };
    if mode == crate::ValidationMode::Skip {
        return Ok(());
    }
    let mut target = reqwest::Url::parse(url).map_err(|_| ValidationFailure::WrongAnswer)?;
    target
        .query_pairs_mut()
        .append_pair("validationToken", &token);
    let request = match mode {
        crate::ValidationMode::Get => inner.client.get(target),
        _ => inner
            .client
            .post(target)
            .header(reqwest::header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(""),
    };
    let exchange = async {
        let resp = request.send().await.ok()?;
        let status = resp.status().as_u16();
        let text_plain = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().starts_with("text/plain"));
        let body = resp.text().await.ok()?;
        Some((status, text_plain, body))
    };
    let result = tokio::time::timeout(timeout, exchange).await;
    let (outcome, status) = match &result {
        Err(_) => (Err(ValidationFailure::TimedOut), None),
        Ok(None) => (Err(ValidationFailure::WrongAnswer), None),
        Ok(Some((status, text_plain, body))) => {
            let ok = *status == 200 && *text_plain && *body == token;
            (
                if ok {
                    Ok(())
                } else {
                    Err(ValidationFailure::WrongAnswer)
                },
                Some(*status),
            )
        }
    };
    let mut st = inner.lock();
    let at_ms = st.elapsed_ms();
    st.notifications.push(NotificationRecord {
        at_ms,
        url: url.to_owned(),
        kind: "validation".to_owned(),
        attempt: 1,
        status,
        outcome: if outcome.is_ok() { "ok" } else { "failed" }.to_owned(),
        body: json!(token),
    });
    outcome
}
