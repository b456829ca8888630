//! Graph base (`/v1.0/...`): one dispatcher that authenticates the bearer
//! token, routes by hand (Graph paths such as `mailFolders('inbox')` and
//! `$value` do not fit a router's segment syntax), applies throttling and
//! the RBAC scope, then hands over to the mail, delta and subscription
//! modules. Every answer carries `request-id` and is logged.

mod delta;
mod gate;
mod mail;
mod subs;

use crate::report::RequestRecord;
use crate::server::Inner;
use crate::state::State;
use axum::body::Bytes;
use axum::extract::State as Extract;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// Who is calling (from the bearer token).
#[derive(Debug, Clone)]
pub(crate) struct Principal {
    pub tenant: String,
    pub client_id: String,
    pub roles: Vec<String>,
}

/// Per-request facts every module needs.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub method: Method,
    pub path: String,
    pub request_id: String,
    pub client_request_id: Option<String>,
    pub immutable_ids: bool,
    pub max_page_size: Option<usize>,
    pub query: Vec<(String, String)>,
}

impl Ctx {
    fn new(method: &Method, uri: &Uri, headers: &HeaderMap) -> Self {
        let prefer: Vec<String> = headers
            .get_all("prefer")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|p| p.trim().to_owned())
            .collect();
        let immutable_ids = prefer
            .iter()
            .any(|p| p.eq_ignore_ascii_case("IdType=\"ImmutableId\""));
        let max_page_size = prefer.iter().find_map(|p| {
            p.strip_prefix("odata.maxpagesize=")
                .and_then(|n| n.trim().parse().ok())
        });
        let query = uri
            .query()
            .and_then(|q| reqwest::Url::parse(&format!("http://q/?{q}")).ok())
            .map(|u| {
                u.query_pairs()
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        Self {
            method: method.clone(),
            path: uri
                .path_and_query()
                .map_or_else(|| uri.path().to_owned(), ToString::to_string),
            request_id: uuid::Uuid::new_v4().to_string(),
            client_request_id: headers
                .get("client-request-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            immutable_ids,
            max_page_size,
            query,
        }
    }

    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Graph's error envelope (`graph-contract.md` §3).
pub(crate) fn error(ctx: &Ctx, status: StatusCode, code: &str, message: &str) -> Response {
    let date = crate::projection::rfc3339(time::OffsetDateTime::now_utc());
    let body = json!({"error": {"code": code, "message": message, "innerError": {
        "date": date.trim_end_matches('Z'),
        "request-id": ctx.request_id,
        "client-request-id": ctx.client_request_id.as_deref().unwrap_or(&ctx.request_id),
    }}});
    (status, axum::Json(body)).into_response()
}

/// What a path names.
#[derive(Debug, Clone)]
pub(crate) enum Route {
    User(String),
    Folder(String, String),
    Delta(String, String),
    Message(String, String),
    Value(String, String),
    Attachments(String, String),
    Subscriptions,
    Subscription(String),
    Reauthorize(String),
}

impl Route {
    fn user(&self) -> Option<&str> {
        match self {
            Self::User(u)
            | Self::Folder(u, _)
            | Self::Delta(u, _)
            | Self::Message(u, _)
            | Self::Value(u, _)
            | Self::Attachments(u, _) => Some(u),
            _ => None,
        }
    }
}

/// Splits a Graph path into decoded segments, turning `name('arg')` into
/// two segments so `mailFolders('inbox')` and `mailFolders/inbox` agree.
pub(crate) fn segments(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    for raw in path.split('/').filter(|s| !s.is_empty()) {
        let seg = percent_decode(raw);
        match seg.find("('") {
            Some(open) if seg.ends_with("')") => {
                out.push(seg[..open].to_owned());
                out.push(seg[open + 2..seg.len() - 2].to_owned());
            }
            _ => out.push(seg),
        }
    }
    out
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) =
                u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_route(method: &Method, path: &str) -> Option<Route> {
    let segs = segments(path.strip_prefix("/v1.0").unwrap_or(path));
    let lower: Vec<String> = segs.iter().map(|s| s.to_ascii_lowercase()).collect();
    let l: Vec<&str> = lower.iter().map(String::as_str).collect();
    let s = |i: usize| segs[i].clone();
    let get = *method == Method::GET;
    Some(match l.as_slice() {
        ["subscriptions"] => Route::Subscriptions,
        ["subscriptions", _] => Route::Subscription(s(1)),
        ["subscriptions", _, "reauthorize"] => Route::Reauthorize(s(1)),
        _ if !get => return None,
        ["users", _] => Route::User(s(1)),
        ["users", _, "mailfolders", _] => Route::Folder(s(1), s(3)),
        ["users", _, "mailfolders", _, "messages", "delta"] => Route::Delta(s(1), s(3)),
        ["users", _, "messages", _] | ["users", _, "mailfolders", _, "messages", _] => {
            Route::Message(s(1), segs.last()?.clone())
        }
        ["users", _, "messages", _, "$value"] => Route::Value(s(1), s(3)),
        ["users", _, "mailfolders", _, "messages", _, "$value"] => Route::Value(s(1), s(5)),
        ["users", _, "messages", _, "attachments"] => Route::Attachments(s(1), s(3)),
        _ => return None,
    })
}

/// Entry point for everything under `/v1.0/`.
pub(crate) async fn dispatch(
    Extract(inner): Extract<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let ctx = Ctx::new(&method, &uri, &headers);
    let admitted = {
        let mut st = inner.lock();
        admit(&mut st, &inner, &ctx, &headers)
    };
    let (principal, route, mailbox, guard) = match admitted {
        Ok(a) => a,
        Err((resp, principal, mailbox)) => {
            return finish(&inner, &ctx, principal.as_ref(), mailbox, resp);
        }
    };
    let latency = inner.lock().sw.latency_ms;
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    let resp = match route {
        Route::Subscriptions if ctx.method == Method::POST => {
            subs::create(&inner, &ctx, &principal, &body).await
        }
        route => {
            let mut st = inner.lock();
            handle(&mut st, &inner, &ctx, &principal, route, mailbox, &body)
        }
    };
    drop(guard);
    finish(&inner, &ctx, Some(&principal), mailbox, resp)
}

type Admitted = (Principal, Route, Option<usize>, gate::InFlight);
type Refused = (Response, Option<Principal>, Option<usize>);

/// Authentication, routing, mailbox resolution and throttling, under one lock.
fn admit(
    st: &mut State,
    inner: &Arc<Inner>,
    ctx: &Ctx,
    headers: &HeaderMap,
) -> Result<Admitted, Refused> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let principal = match st.tokens.get(bearer) {
        Some(t) if t.expires > std::time::Instant::now() => Principal {
            tenant: t.tenant.clone(),
            client_id: t.client_id.clone(),
            roles: t.roles.clone(),
        },
        _ => {
            let mut resp = error(
                ctx,
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken",
                "Access token has expired or is not yet valid.",
            );
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\""),
            );
            return Err((resp, None, None));
        }
    };
    let Some(route) = parse_route(&ctx.method, ctx.path.split('?').next().unwrap_or_default())
    else {
        let resp = error(
            ctx,
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "Resource not found for the segment or method.",
        );
        return Err((resp, Some(principal), None));
    };
    let mailbox = match route.user() {
        None => None,
        Some(user) => match st.mailbox_index(user) {
            Some(mb) if st.mailboxes[mb].tenant == principal.tenant => Some(mb),
            _ => {
                let resp = error(
                    ctx,
                    StatusCode::NOT_FOUND,
                    "ErrorInvalidUser",
                    &format!("The requested user '{user}' is invalid."),
                );
                return Err((resp, Some(principal), None));
            }
        },
    };
    if let Some(mb) = mailbox
        && !st.in_scope(mb)
    {
        let upn = st.mailboxes[mb].upn.clone();
        st.out_of_scope_attempts.insert(upn);
    }
    if let Some(mb) = mailbox {
        if st.mailboxes[mb].rest_disabled {
            let resp = error(
                ctx,
                StatusCode::NOT_FOUND,
                "MailboxNotEnabledForRESTAPI",
                "The mailbox is either inactive, soft-deleted, or is hosted on-premise.",
            );
            return Err((resp, Some(principal), mailbox));
        }
        if let Err(resp) = check_access(st, ctx, &principal, mb, false) {
            return Err((resp, Some(principal), mailbox));
        }
    }
    // Last: the in-flight guard's Drop takes the lock this function holds,
    // so nothing may return early once it exists.
    let guard = match gate::admit(st, inner, ctx, &principal, mailbox) {
        Ok(g) => g,
        Err(resp) => return Err((resp, Some(principal), mailbox)),
    };
    Ok((principal, route, mailbox, guard))
}

/// The RBAC scope check (`graph-contract.md` §2, §4.4): Exchange scope, or a
/// tenant-wide `Mail.Read` role (grants are additive) unless an
/// `ApplicationAccessPolicy` restricts the app. `subscription` picks the
/// `ExtensionError` shape subscription calls get.
pub(crate) fn check_access(
    st: &State,
    ctx: &Ctx,
    p: &Principal,
    mb: usize,
    subscription: bool,
) -> Result<(), Response> {
    let Some(tenant) = st.tenants.get(&st.mailboxes[mb].tenant) else {
        return Err(error(
            ctx,
            StatusCode::FORBIDDEN,
            "ErrorAccessDenied",
            "Access is denied. Check credentials and try again.",
        ));
    };
    let role = p
        .roles
        .iter()
        .any(|r| r == "Mail.Read" || r == "Mail.ReadWrite");
    if tenant.scope.contains(&mb) || (role && !tenant.access_policy) {
        return Ok(());
    }
    Err(if subscription {
        error(
            ctx,
            StatusCode::FORBIDDEN,
            "ExtensionError",
            "Operation: Create; Exception: [Status Code: Forbidden; Reason: Access is denied. Check credentials and try again.]",
        )
    } else if tenant.access_policy {
        error(
            ctx,
            StatusCode::FORBIDDEN,
            "ErrorAccessDenied",
            "Access to OData is disabled.",
        )
    } else {
        error(
            ctx,
            StatusCode::FORBIDDEN,
            "ErrorAccessDenied",
            "Access is denied. Check credentials and try again.",
        )
    })
}

fn handle(
    st: &mut State,
    inner: &Inner,
    ctx: &Ctx,
    p: &Principal,
    route: Route,
    mailbox: Option<usize>,
    body: &Bytes,
) -> Response {
    let base = inner.graph_base();
    match (route, mailbox) {
        (Route::User(_), _) => error(
            ctx,
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        ),
        (Route::Folder(_, f), Some(mb)) => mail::folder(st, ctx, &base, mb, &f),
        (Route::Delta(_, f), Some(mb)) => delta::delta(st, ctx, &base, mb, &f),
        (Route::Message(_, id), Some(mb)) => mail::message(st, ctx, &base, mb, &id),
        (Route::Value(_, id), Some(mb)) => mail::value(st, ctx, mb, &id),
        (Route::Attachments(_, id), Some(mb)) => mail::attachments(st, ctx, mb, &id),
        (Route::Subscriptions, _) => subs::list(st, ctx, &base, p),
        (Route::Subscription(id), _) => subs::one(st, ctx, &base, p, &id, body),
        (Route::Reauthorize(id), _) => subs::reauthorize(st, ctx, p, &id),
        _ => error(
            ctx,
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "Unsupported request.",
        ),
    }
}

/// Common response headers, scope bookkeeping and the request log.
fn finish(
    inner: &Inner,
    ctx: &Ctx,
    p: Option<&Principal>,
    mailbox: Option<usize>,
    mut resp: Response,
) -> Response {
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&ctx.request_id) {
        h.insert("request-id", v);
    }
    let crid = ctx.client_request_id.as_deref().unwrap_or(&ctx.request_id);
    if let Ok(v) = HeaderValue::from_str(crid) {
        h.insert("client-request-id", v);
    }
    let mut applied = Vec::new();
    if ctx.immutable_ids {
        applied.push("IdType=\"ImmutableId\"".to_owned());
    }
    if let Some(n) = ctx.max_page_size {
        applied.push(format!("odata.maxpagesize={n}"));
    }
    if !applied.is_empty()
        && let Ok(v) = HeaderValue::from_str(&applied.join(", "))
    {
        h.insert("preference-applied", v);
    }
    let status = resp.status().as_u16();
    let mut st = inner.lock();
    let upn = mailbox.map(|mb| st.mailboxes[mb].upn.clone());
    if let Some(mb) = mailbox
        && resp.status().is_success()
        && !st.in_scope(mb)
    {
        let upn = st.mailboxes[mb].upn.clone();
        st.out_of_scope_reads.insert(upn);
    }
    gate::after_response(&mut st, p, mailbox, &resp);
    let at_ms = st.elapsed_ms();
    st.requests.push(RequestRecord {
        at_ms,
        method: ctx.method.to_string(),
        path: ctx.path.clone(),
        mailbox: upn,
        tenant: p.map(|p| p.tenant.clone()),
        status,
        immutable_ids: ctx.immutable_ids,
        client_request_id: ctx.client_request_id.clone(),
    });
    resp
}
