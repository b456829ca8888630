//! Throttling (`graph-contract.md` §10): injected faults, `Retry-After`
//! bookkeeping (an early request is a recorded violation), the per-mailbox
//! request window, the per-app per-second limit and the concurrency limit,
//! with the in-flight high-water marks tests assert on.

use super::{Ctx, Principal, error};
use crate::config::{FaultKind, LimitScope};
use crate::report::Violation;
use crate::server::Inner;
use crate::state::State;
use axum::body::Body;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Decrements the in-flight counters when the request is done.
#[derive(Debug)]
pub(crate) struct InFlight {
    inner: Arc<Inner>,
    keys: Vec<String>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut st = self.inner.lock();
        for k in &self.keys {
            if let Some(n) = st.gate.in_flight.get_mut(k) {
                *n = n.saturating_sub(1);
            }
        }
    }
}

fn app_key(p: &Principal) -> String {
    format!("app:{}/{}", p.tenant, p.client_id)
}

fn mailbox_key(st: &State, mb: usize) -> String {
    format!("mailbox:{}", st.mailboxes[mb].upn)
}

/// The key whose `Retry-After` a request must respect.
fn penalty_key(st: &State, p: &Principal, mailbox: Option<usize>) -> String {
    mailbox.map_or_else(|| app_key(p), |mb| mailbox_key(st, mb))
}

pub(crate) fn admit(
    st: &mut State,
    inner: &Arc<Inner>,
    ctx: &Ctx,
    p: &Principal,
    mailbox: Option<usize>,
) -> Result<InFlight, Response> {
    let now = Instant::now();
    let key = penalty_key(st, p, mailbox);
    if let Some(&nb) = st.gate.not_before.get(&key)
        && now < nb
    {
        let early = nb - now;
        let after_throttle = st
            .gate
            .throttled_at
            .get(&key)
            .map_or(Duration::ZERO, |t| now.saturating_duration_since(*t));
        st.retry_after_violations.push(Violation {
            key: key.clone(),
            early_ms: early.as_millis() as u64,
            path: ctx.path.clone(),
            after_throttle_ms: after_throttle.as_millis() as u64,
        });
        if st.sw.extend_penalty {
            let secs = early.as_secs() + 1;
            return Err(throttled(
                ctx,
                StatusCode::TOO_MANY_REQUESTS,
                "ApplicationThrottled",
                Some(&secs.to_string()),
            ));
        }
    }
    if let Some(resp) = take_fault(st, ctx, mailbox) {
        return Err(resp);
    }
    if let Some(mb) = mailbox {
        let window = Duration::from_secs(st.sw.mailbox_window_secs);
        let limit = st.sw.mailbox_requests_per_window;
        let mk = mailbox_key(st, mb);
        let q = st.gate.windows.entry(mk.clone()).or_default();
        while q.front().is_some_and(|t| now.duration_since(*t) >= window) {
            q.pop_front();
        }
        q.push_back(now);
        let (len, oldest) = (q.len(), q.front().copied().unwrap_or(now));
        let max = st.gate.max_window.entry(mk).or_default();
        *max = (*max).max(len);
        if len > limit {
            let wait = window.saturating_sub(now.duration_since(oldest)).as_secs() + 1;
            return Err(throttled(
                ctx,
                StatusCode::TOO_MANY_REQUESTS,
                "ApplicationThrottled",
                Some(&wait.to_string()),
            ));
        }
    }
    let ak = app_key(p);
    let per_second = st.sw.app_requests_per_second;
    let q = st.gate.windows.entry(format!("{ak}/second")).or_default();
    while q
        .front()
        .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
    {
        q.pop_front();
    }
    q.push_back(now);
    if q.len() > per_second {
        return Err(throttled(
            ctx,
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            Some("1"),
        ));
    }
    let mut keys = vec![ak.clone()];
    if let Some(mb) = mailbox {
        keys.push(mailbox_key(st, mb));
    }
    for k in &keys {
        let n = st.gate.in_flight.entry(k.clone()).or_default();
        *n += 1;
        let n = *n;
        let max = st.gate.max_in_flight.entry(k.clone()).or_default();
        *max = (*max).max(n);
    }
    if let Some(limit) = st.sw.concurrency_limit {
        let scoped = match st.sw.concurrency_scope {
            LimitScope::PerApp => Some(ak),
            LimitScope::PerMailbox => mailbox.map(|mb| mailbox_key(st, mb)),
        };
        if let Some(k) = scoped
            && st.gate.in_flight.get(&k).copied().unwrap_or(0) > limit
        {
            for k in &keys {
                if let Some(n) = st.gate.in_flight.get_mut(k) {
                    *n = n.saturating_sub(1);
                }
            }
            let retry_after = st.sw.concurrency_retry_after.clone();
            let mut resp = error(
                ctx,
                StatusCode::TOO_MANY_REQUESTS,
                "ApplicationThrottled",
                "Application is over its MailboxConcurrency limit.",
            );
            set_retry_after(&mut resp, retry_after.as_deref());
            return Err(resp);
        }
    }
    Ok(InFlight {
        inner: inner.clone(),
        keys,
    })
}

/// Applies the first queued fault that matches this call, if it is due.
fn take_fault(st: &mut State, ctx: &Ctx, mailbox: Option<usize>) -> Option<Response> {
    let (upn, user_id) = mailbox.map_or((String::new(), String::new()), |mb| {
        (
            st.mailboxes[mb].upn.clone(),
            st.mailboxes[mb].user_id.clone(),
        )
    });
    let pos = st.faults.iter().position(|f| {
        f.fault
            .mailbox
            .as_deref()
            .is_none_or(|m| mailbox.is_some() && (m == upn || m == user_id))
    })?;
    let f = &mut st.faults[pos].fault;
    if f.after > 0 {
        f.after -= 1;
        return None;
    }
    f.times = f.times.saturating_sub(1);
    let kind = f.kind.clone();
    if f.times == 0 {
        st.faults.remove(pos);
    }
    Some(match kind {
        FaultKind::Status {
            status,
            code,
            retry_after,
        } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            throttled(ctx, status, &code, retry_after.as_deref())
        }
        FaultKind::ConnectionReset => {
            let broken = futures_util::stream::once(async {
                Err::<axum::body::Bytes, _>(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "injected reset",
                ))
            });
            let mut resp = Response::new(Body::from_stream(broken));
            *resp.status_mut() = StatusCode::OK;
            resp
        }
    })
}

fn throttled(ctx: &Ctx, status: StatusCode, code: &str, retry_after: Option<&str>) -> Response {
    let message = match status.as_u16() {
        429 => "Application is over its MailboxConcurrency limit.",
        503 | 504 => "The service is currently unavailable.",
        _ => "An internal server error occurred.",
    };
    let mut resp = error(ctx, status, code, message);
    set_retry_after(&mut resp, retry_after);
    resp
}

fn set_retry_after(resp: &mut Response, value: Option<&str>) {
    if let Some(v) = value.and_then(|v| HeaderValue::from_str(v).ok()) {
        resp.headers_mut().insert("retry-after", v);
    }
}

/// Remembers the `Retry-After` of a throttling answer: a request for the
/// same key before it elapses is a violation.
pub(crate) fn after_response(
    st: &mut State,
    p: Option<&Principal>,
    mailbox: Option<usize>,
    resp: &Response,
) {
    let Some(p) = p else { return };
    if !matches!(resp.status().as_u16(), 429 | 503 | 504) {
        return;
    }
    let secs = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .and_then(|s| Duration::try_from_secs_f64(s).ok());
    if let Some(d) = secs {
        let key = penalty_key(st, p, mailbox);
        let now = Instant::now();
        st.gate.not_before.insert(key.clone(), now + d);
        st.gate.throttled_at.insert(key, now);
    }
}
