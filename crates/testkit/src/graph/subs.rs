//! Subscriptions (`graph-contract.md` §7): create with the validation
//! handshake on both URLs, renew (`PATCH`), reauthorize, delete, list.
//! Expired subscriptions answer `404` like removed ones.

use super::{Ctx, Principal, check_access, error, segments};
use crate::notify::{self, ValidationFailure};
use crate::projection::rfc3339;
use crate::server::Inner;
use crate::state::{State, Subscription};
use axum::body::Bytes;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::Arc;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// `POST /subscriptions`.
pub(crate) async fn create(inner: &Arc<Inner>, ctx: &Ctx, p: &Principal, body: &Bytes) -> Response {
    let checked = {
        let mut st = inner.lock();
        check_create(&mut st, ctx, p, body)
    };
    let mut sub = match checked {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    let urls: Vec<String> = std::iter::once(sub.notification_url.clone())
        .chain(sub.lifecycle_url.clone())
        .collect();
    for url in urls {
        match notify::validate(inner, &url).await {
            Ok(()) => {}
            Err(ValidationFailure::TimedOut) => {
                return error(
                    ctx,
                    StatusCode::BAD_REQUEST,
                    "InvalidRequest",
                    "Subscription validation request timed out.",
                );
            }
            Err(ValidationFailure::WrongAnswer) => {
                return error(
                    ctx,
                    StatusCode::BAD_REQUEST,
                    "InvalidRequest",
                    "Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.",
                );
            }
        }
    }
    let mut st = inner.lock();
    sub.id = st.rng.uuid().to_string();
    let json = render(&inner.graph_base(), &sub);
    st.subs.insert(sub.id.clone(), sub);
    (StatusCode::CREATED, axum::Json(json)).into_response()
}

fn bad(ctx: &Ctx, message: &str) -> Response {
    error(ctx, StatusCode::BAD_REQUEST, "InvalidRequest", message)
}

fn check_create(
    st: &mut State,
    ctx: &Ctx,
    p: &Principal,
    body: &Bytes,
) -> Result<Subscription, Response> {
    let req: Value = serde_json::from_slice(body).map_err(|_| bad(ctx, "Invalid JSON body."))?;
    let field = |k: &str| req.get(k).and_then(Value::as_str).map(str::to_owned);
    let change_type = field("changeType").ok_or_else(|| bad(ctx, "changeType is required."))?;
    if !change_type
        .split(',')
        .all(|c| matches!(c.trim(), "created" | "updated" | "deleted"))
    {
        return Err(bad(ctx, &format!("Invalid changeType '{change_type}'.")));
    }
    let notification_url =
        field("notificationUrl").ok_or_else(|| bad(ctx, "notificationUrl is required."))?;
    let lifecycle_url = field("lifecycleNotificationUrl");
    for u in std::iter::once(&notification_url).chain(lifecycle_url.as_ref()) {
        if !reqwest::Url::parse(u).is_ok_and(|u| matches!(u.scheme(), "http" | "https")) {
            return Err(bad(ctx, &format!("Invalid notification URL '{u}'.")));
        }
    }
    let client_state = field("clientState");
    if client_state
        .as_ref()
        .is_some_and(|c| c.chars().count() > 128)
    {
        return Err(bad(ctx, "clientState must be at most 128 characters."));
    }
    let resource = field("resource").ok_or_else(|| bad(ctx, "resource is required."))?;
    let segs = segments(&resource);
    let lower: Vec<String> = segs.iter().map(|s| s.to_ascii_lowercase()).collect();
    let l: Vec<&str> = lower.iter().map(String::as_str).collect();
    let (user, folder_name) = match l.as_slice() {
        ["users", _, "messages"] => (segs[1].clone(), None),
        ["users", _, "mailfolders", _, "messages"] => (segs[1].clone(), Some(segs[3].clone())),
        _ => return Err(bad(ctx, &format!("Unsupported resource '{resource}'."))),
    };
    let mb = match st.mailbox_index(&user) {
        Some(mb) if st.mailboxes[mb].tenant == p.tenant => mb,
        _ => {
            return Err(error(
                ctx,
                StatusCode::NOT_FOUND,
                "ErrorInvalidUser",
                &format!("The requested user '{user}' is invalid."),
            ));
        }
    };
    if !st.in_scope(mb) {
        let upn = st.mailboxes[mb].upn.clone();
        st.out_of_scope_attempts.insert(upn);
    }
    check_access(st, ctx, p, mb, true)?;
    let folder = match folder_name {
        None => None,
        Some(f) => Some(
            st.folder_index(mb, &f)
                .ok_or_else(|| bad(ctx, &format!("Unknown folder '{f}'.")))?,
        ),
    };
    let expires = expiry(st, ctx, &req)?;
    let now = OffsetDateTime::now_utc();
    let alive = st
        .subs
        .values()
        .filter(|s| s.mailbox == mb && s.alive(now))
        .count();
    if alive >= st.sw.max_subscriptions_per_mailbox {
        return Err(error(
            ctx,
            StatusCode::FORBIDDEN,
            "ExtensionError",
            "Operation: Create; Exception: [Status Code: Forbidden; Reason: Number of subscriptions exceeds the limit.]",
        ));
    }
    Ok(Subscription {
        id: String::new(),
        tenant: p.tenant.clone(),
        client_id: p.client_id.clone(),
        mailbox: mb,
        folder,
        resource,
        change_type,
        notification_url,
        lifecycle_url,
        client_state,
        expires,
        tls: field("latestSupportedTlsVersion"),
    })
}

/// `expirationDateTime`: in the future and within the configured maximum.
fn expiry(st: &State, ctx: &Ctx, req: &Value) -> Result<OffsetDateTime, Response> {
    let raw = req
        .get("expirationDateTime")
        .and_then(Value::as_str)
        .ok_or_else(|| bad(ctx, "expirationDateTime is required."))?;
    let at = OffsetDateTime::parse(raw, &Rfc3339)
        .map_err(|_| bad(ctx, &format!("Invalid expirationDateTime '{raw}'.")))?;
    let now = OffsetDateTime::now_utc();
    let max = st.sw.max_subscription_minutes;
    if at <= now {
        return Err(bad(ctx, "Subscription expiration must be in the future."));
    }
    if at > now + time::Duration::minutes(max as i64) {
        return Err(bad(
            ctx,
            &format!("Subscription expiration can only be {max} minutes in the future."),
        ));
    }
    Ok(at)
}

/// The subscription JSON (§7.3).
fn render(base: &str, s: &Subscription) -> Value {
    json!({
        "@odata.context": format!("{base}/$metadata#subscriptions/$entity"),
        "id": s.id,
        "resource": s.resource,
        "applicationId": s.client_id,
        "changeType": s.change_type,
        "clientState": s.client_state,
        "notificationUrl": s.notification_url,
        "notificationQueryOptions": null,
        "lifecycleNotificationUrl": s.lifecycle_url,
        "expirationDateTime": rfc3339(s.expires),
        "creatorId": format!("sp-{}", s.client_id),
        "includeResourceData": null,
        "latestSupportedTlsVersion": s.tls,
        "encryptionCertificate": null,
        "encryptionCertificateId": null,
        "notificationUrlAppId": null,
    })
}

/// A live subscription owned by the caller's app, or `404`.
fn owned<'a>(
    st: &'a State,
    ctx: &Ctx,
    p: &Principal,
    id: &str,
) -> Result<&'a Subscription, Response> {
    st.subs
        .get(id)
        .filter(|s| {
            s.tenant == p.tenant && s.client_id == p.client_id && s.alive(OffsetDateTime::now_utc())
        })
        .ok_or_else(|| {
            error(
                ctx,
                StatusCode::NOT_FOUND,
                "ResourceNotFound",
                &format!("The object was not found: subscription '{id}'."),
            )
        })
}

/// `GET /subscriptions`: this app's live subscriptions.
pub(crate) fn list(st: &State, ctx: &Ctx, base: &str, p: &Principal) -> Response {
    if ctx.method != Method::GET {
        return error(
            ctx,
            StatusCode::METHOD_NOT_ALLOWED,
            "InvalidRequest",
            "Method not allowed.",
        );
    }
    let now = OffsetDateTime::now_utc();
    let value: Vec<Value> = st
        .subs
        .values()
        .filter(|s| s.tenant == p.tenant && s.client_id == p.client_id && s.alive(now))
        .map(|s| render(base, s))
        .collect();
    axum::Json(json!({"@odata.context": format!("{base}/$metadata#subscriptions"), "value": value}))
        .into_response()
}

/// `GET`, `PATCH` (renew) and `DELETE /subscriptions/{id}`.
pub(crate) fn one(
    st: &mut State,
    ctx: &Ctx,
    base: &str,
    p: &Principal,
    id: &str,
    body: &Bytes,
) -> Response {
    let sub = match owned(st, ctx, p, id) {
        Ok(s) => s.clone(),
        Err(resp) => return resp,
    };
    match ctx.method {
        Method::GET => axum::Json(render(base, &sub)).into_response(),
        Method::DELETE => {
            st.subs.remove(id);
            StatusCode::NO_CONTENT.into_response()
        }
        Method::PATCH => {
            let req: Value = match serde_json::from_slice(body) {
                Ok(v) => v,
                Err(_) => return bad(ctx, "Invalid JSON body."),
            };
            if let Err(resp) = check_access(st, ctx, p, sub.mailbox, true) {
                return resp;
            }
            let expires = match expiry(st, ctx, &req) {
                Ok(e) => e,
                Err(resp) => return resp,
            };
            let Some(s) = st.subs.get_mut(id) else {
                return bad(ctx, "Subscription vanished.");
            };
            s.expires = expires;
            axum::Json(render(base, s)).into_response()
        }
        _ => error(
            ctx,
            StatusCode::METHOD_NOT_ALLOWED,
            "InvalidRequest",
            "Method not allowed.",
        ),
    }
}

/// `POST /subscriptions/{id}/reauthorize`.
pub(crate) fn reauthorize(st: &State, ctx: &Ctx, p: &Principal, id: &str) -> Response {
    if ctx.method != Method::POST {
        return error(
            ctx,
            StatusCode::METHOD_NOT_ALLOWED,
            "InvalidRequest",
            "Method not allowed.",
        );
    }
    let sub = match owned(st, ctx, p, id) {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    if let Err(resp) = check_access(st, ctx, p, sub.mailbox, true) {
        return resp;
    }
    StatusCode::NO_CONTENT.into_response()
}
