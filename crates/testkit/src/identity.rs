//! Login base (`graph-contract.md` §4): client-credentials, authorization
//! code and refresh-token grants, the delegated authorize redirect and the
//! admin-consent redirect, with the AADSTS error bodies Entra sends.

use crate::assertion;
use crate::config::Decision;
use crate::projection::rfc3339;
use crate::report::RequestRecord;
use crate::server::Inner;
use crate::state::{AccessToken, State};
use axum::Json;
use axum::extract::{Path, Query, State as Extract};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64ct::{Base64UrlUnpadded, Encoding};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

const GRAPH_DEFAULT_SCOPE: &str = "https://graph.microsoft.com/.default";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// `POST /{tenant}/oauth2/v2.0/token`.
pub(crate) async fn token(
    Extract(inner): Extract<Arc<Inner>>,
    Path(tenant): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    // Parsed by hand so a malformed body still gets an Entra-shaped error.
    let form: HashMap<String, String> =
        reqwest::Url::parse(&format!("http://form/?{}", String::from_utf8_lossy(&body)))
            .map(|u| {
                u.query_pairs()
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            })
            .unwrap_or_default();
    let login_base = format!("{}/login", inner.root);
    let mut st = inner.lock();
    let tenant = tenant.to_ascii_lowercase();
    let resp = grant(&mut st, &login_base, &tenant, &form);
    log(
        &mut st,
        "POST",
        &format!("/login/{tenant}/oauth2/v2.0/token"),
        &tenant,
        resp.status(),
    );
    resp
}

fn grant(
    st: &mut State,
    login_base: &str,
    tenant: &str,
    form: &HashMap<String, String>,
) -> Response {
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    let Some(t) = st.tenants.get(tenant) else {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90002,
            &format!("Tenant '{tenant}' not found."),
        );
    };
    let (consented, roles) = (t.consented, t.roles.clone());
    let client_id = field("client_id").to_owned();
    let Some(app) = st.apps.get(&client_id) else {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700_016,
            &format!("Application with identifier '{client_id}' was not found in the directory."),
        );
    };
    if !consented {
        return aad_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7_000_229,
            &format!(
                "The client application {client_id} is missing service principal in the tenant {tenant}."
            ),
        );
    }
    if field("client_assertion_type") == JWT_BEARER {
        let aud = format!("{login_base}/{tenant}/oauth2/v2.0/token");
        let now =
            OffsetDateTime::now_utc() + time::Duration::seconds(st.sw.login_clock_offset_secs);
        if let Err((error, code, text)) = assertion::verify(
            field("client_assertion"),
            &client_id,
            &aud,
            &app.certificates,
            now,
        ) {
            return aad_error(StatusCode::UNAUTHORIZED, error, code, text);
        }
    } else {
        if app.secret_expired {
            return aad_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7_000_222,
                "The provided client secret keys are expired.",
            );
        }
        if field("client_secret") != app.secret {
            return aad_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7_000_215,
                "Invalid client secret provided.",
            );
        }
    }
    match field("grant_type") {
        "client_credentials" => {
            if field("scope") != GRAPH_DEFAULT_SCOPE {
                return aad_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    1_002_012,
                    "The provided value for scope is not valid.",
                );
            }
            token_body(st, tenant, &client_id, roles, false)
        }
        "authorization_code" => {
            if let Some(code) = st.sw.code_error {
                return aad_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    code,
                    "The authorization code is not valid.",
                );
            }
            match st.codes.remove(field("code")) {
                Some((t, c)) if t == tenant && c == client_id => {
                    token_body(st, tenant, &client_id, Vec::new(), true)
                }
                _ => aad_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    54005,
                    "OAuth2 Authorization code was already redeemed.",
                ),
            }
        }
        "refresh_token" => {
            if let Some(code) = st.sw.refresh_error {
                return aad_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    code,
                    "The refresh token has expired or was revoked.",
                );
            }
            match st.refresh_tokens.remove(field("refresh_token")) {
                Some((t, c)) if t == tenant && c == client_id => {
                    token_body(st, tenant, &client_id, Vec::new(), true)
                }
                _ => aad_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    9_002_313,
                    "Invalid request. Request is malformed or invalid.",
                ),
            }
        }
        other => aad_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            &format!("The app requested an unsupported grant type '{other}'."),
        ),
    }
}

/// Issues an access token (and, for delegated grants, a rotated refresh token).
fn token_body(
    st: &mut State,
    tenant: &str,
    client_id: &str,
    roles: Vec<String>,
    delegated: bool,
) -> Response {
    let access = st.rng.token("fake-at-");
    let lifetime = st.sw.token_lifetime_secs;
    st.tokens.insert(
        access.clone(),
        AccessToken {
            tenant: tenant.to_owned(),
            client_id: client_id.to_owned(),
            roles,
            expires: Instant::now() + Duration::from_secs(lifetime),
        },
    );
    *st.tokens_issued
        .entry((tenant.to_owned(), client_id.to_owned()))
        .or_default() += 1;
    let expires_in = if st.sw.expires_in_as_string {
        json!(lifetime.to_string())
    } else {
        json!(lifetime)
    };
    let mut body = json!({
        "token_type": "Bearer",
        "expires_in": expires_in,
        "ext_expires_in": expires_in,
        "access_token": access,
    });
    if delegated {
        let refresh = st.rng.token("fake-rt-");
        st.refresh_tokens
            .insert(refresh.clone(), (tenant.to_owned(), client_id.to_owned()));
        let oid = st.rng.uuid().to_string();
        body["scope"] = json!(
            "https://graph.microsoft.com/Mail.Read.Shared https://graph.microsoft.com/User.Read"
        );
        body["refresh_token"] = json!(refresh);
        body["id_token"] = json!(unsigned_jwt(
            &json!({"tid": tenant, "oid": oid, "preferred_username": "admin@contoso.example"})
        ));
    }
    Json(body).into_response()
}

fn unsigned_jwt(claims: &Value) -> String {
    let header = Base64UrlUnpadded::encode_string(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = Base64UrlUnpadded::encode_string(claims.to_string().as_bytes());
    format!("{header}.{payload}.")
}

/// Entra's error body; clients branch on `error_codes`, never the description.
fn aad_error(status: StatusCode, error: &str, code: u32, text: &str) -> Response {
    let trace = uuid::Uuid::new_v4();
    let correlation = uuid::Uuid::new_v4();
    let ts = rfc3339(OffsetDateTime::now_utc()).replace('T', " ");
    let body = json!({
        "error": error,
        "error_description": format!("AADSTS{code}: {text}\r\nTrace ID: {trace}\r\nCorrelation ID: {correlation}\r\nTimestamp: {ts}"),
        "error_codes": [code],
        "timestamp": ts,
        "trace_id": trace.to_string(),
        "correlation_id": correlation.to_string(),
        "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
    });
    (status, Json(body)).into_response()
}

/// `GET /{tenant}/oauth2/v2.0/authorize` (delegated, option C).
pub(crate) async fn authorize(
    Extract(inner): Extract<Arc<Inner>>,
    Path(tenant): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut st = inner.lock();
    let Some(tenant_id) = pick_tenant(&st, &tenant) else {
        return (StatusCode::BAD_REQUEST, "unknown tenant").into_response();
    };
    let client_id = q.get("client_id").cloned().unwrap_or_default();
    let state = q.get("state").cloned().unwrap_or_default();
    if !st.apps.contains_key(&client_id) {
        return (StatusCode::BAD_REQUEST, "AADSTS700016: unknown application").into_response();
    }
    let resp = match st.sw.authorize {
        Decision::Grant => {
            let code = st.rng.token("fake-code-");
            st.codes
                .insert(code.clone(), (tenant_id.clone(), client_id));
            let session = st.rng.uuid().to_string();
            redirect(
                q.get("redirect_uri"),
                &[
                    ("code", &code),
                    ("state", &state),
                    ("session_state", &session),
                ],
            )
        }
        Decision::Decline => redirect(
            q.get("redirect_uri"),
            &[
                ("error", "access_denied"),
                (
                    "error_description",
                    "AADSTS65004: User declined to consent to access the app.",
                ),
                ("error_subcode", "cancel"),
                ("state", &state),
            ],
        ),
    };
    log(
        &mut st,
        "GET",
        &format!("/login/{tenant}/oauth2/v2.0/authorize"),
        &tenant_id,
        resp.status(),
    );
    resp
}

/// `GET /{tenant}/v2.0/adminconsent` and the v1 `/{tenant}/adminconsent`.
/// Granting creates the service principal (the tenant becomes consented);
/// it grants no Graph mail role (option A).
pub(crate) async fn admin_consent(
    Extract(inner): Extract<Arc<Inner>>,
    Path(tenant): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut st = inner.lock();
    let Some(tenant_id) = pick_tenant(&st, &tenant) else {
        return (StatusCode::BAD_REQUEST, "unknown tenant").into_response();
    };
    if !q.get("client_id").is_some_and(|c| st.apps.contains_key(c)) {
        return (StatusCode::BAD_REQUEST, "AADSTS700016: unknown application").into_response();
    }
    let state = q.get("state").cloned().unwrap_or_default();
    let resp = match st.sw.consent {
        Decision::Grant => {
            if let Some(t) = st.tenants.get_mut(&tenant_id) {
                t.consented = true;
            }
            redirect(
                q.get("redirect_uri"),
                &[
                    ("admin_consent", "True"),
                    ("tenant", &tenant_id),
                    ("scope", GRAPH_DEFAULT_SCOPE),
                    ("state", &state),
                ],
            )
        }
        Decision::Decline => redirect(
            q.get("redirect_uri"),
            &[
                ("error", "access_denied"),
                (
                    "error_description",
                    "AADSTS65004: User declined to consent to access the app.",
                ),
                ("state", &state),
            ],
        ),
    };
    log(
        &mut st,
        "GET",
        &format!("/login/{tenant}/adminconsent"),
        &tenant_id,
        resp.status(),
    );
    resp
}

/// A known tenant by id, or for `organizations`/`common` the first tenant
/// (the admin's home tenant in these tests).
fn pick_tenant(st: &State, tenant: &str) -> Option<String> {
    let tenant = tenant.to_ascii_lowercase();
    if st.tenants.contains_key(&tenant) {
        return Some(tenant);
    }
    matches!(tenant.as_str(), "organizations" | "common")
        .then(|| st.tenants.keys().next().cloned())
        .flatten()
}

fn redirect(uri: Option<&String>, params: &[(&str, &str)]) -> Response {
    let Some(mut url) = uri.and_then(|u| reqwest::Url::parse(u).ok()) else {
        return (
            StatusCode::BAD_REQUEST,
            "AADSTS50011: redirect_uri missing or invalid",
        )
            .into_response();
    };
    {
        let mut pairs = url.query_pairs_mut();
        for (k, v) in params {
            pairs.append_pair(k, v);
        }
    }
    (StatusCode::FOUND, [(header::LOCATION, url.to_string())]).into_response()
}

fn log(st: &mut State, method: &str, path: &str, tenant: &str, status: StatusCode) {
    let at_ms = st.elapsed_ms();
    st.requests.push(RequestRecord {
        at_ms,
        method: method.to_owned(),
        path: path.to_owned(),
        mailbox: None,
        tenant: Some(tenant.to_owned()),
        status: status.as_u16(),
        immutable_ids: false,
        client_request_id: None,
    });
}
