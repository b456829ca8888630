//! Integration tests of the fake Graph server, driven over real HTTP with
//! reqwest exactly as Sentra's client would, plus a tiny local receiver
//! standing in for Sentra's notification endpoints.

mod admin;
mod delta;
mod identity;
mod mail;
mod notifications;
mod receiver;
mod scope;
mod subscriptions;
mod throttling;

use reqwest::{Client, Response};
use sentra_testkit::{FakeGraph, Standard};
use serde_json::Value;

/// A started fake with the standard seed and a token for its app.
pub(crate) struct Setup {
    pub fake: FakeGraph,
    pub s: Standard,
    pub http: Client,
    pub token: String,
}

impl Setup {
    pub(crate) async fn new() -> Self {
        let fake = FakeGraph::start().await;
        let s = fake.seed_standard();
        let http = client();
        let token = app_token(&http, &fake, &s).await;
        Self {
            fake,
            s,
            http,
            token,
        }
    }

    /// `GET {graph_base}{path}` with the bearer token and immutable ids.
    pub(crate) async fn get(&self, path: &str) -> Response {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.fake.graph_base())
        };
        self.http
            .get(url)
            .bearer_auth(&self.token)
            .header("Prefer", "IdType=\"ImmutableId\"")
            .send()
            .await
            .expect("request reaches the fake")
    }

    /// A Graph call with a JSON body.
    pub(crate) async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &Value,
    ) -> Response {
        self.http
            .request(method, format!("{}{path}", self.fake.graph_base()))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .expect("request reaches the fake")
    }

    /// Path prefix of the monitored mailbox.
    pub(crate) fn mon(&self) -> String {
        format!("/users/{}", self.s.monitored.upn)
    }
}

/// The client Sentra would use: no proxy, no redirects.
pub(crate) fn client() -> Client {
    sentra_testkit::loopback_client_builder()
        .expect("TLS config")
        .timeout(std::time::Duration::from_mins(1))
        .build()
        .expect("client builds")
}

/// Client-credentials token for the standard app.
pub(crate) async fn app_token(http: &Client, fake: &FakeGraph, s: &Standard) -> String {
    let resp = token_request(http, fake, &s.tenant_id, &s.client_id, &s.client_secret).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.expect("json");
    body["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

pub(crate) async fn token_request(
    http: &Client,
    fake: &FakeGraph,
    tenant: &str,
    client_id: &str,
    secret: &str,
) -> Response {
    http.post(format!("{}/{tenant}/oauth2/v2.0/token", fake.login_base()))
        .form(&[
            ("client_id", client_id),
            ("client_secret", secret),
            ("scope", "https://graph.microsoft.com/.default"),
            ("grant_type", "client_credentials"),
        ])
        .send()
        .await
        .expect("token request reaches the fake")
}

/// A small valid message.
pub(crate) fn eml(n: usize) -> Vec<u8> {
    format!(
        "From: Supplier <billing@supplier.example>\r\nTo: accounts@contoso.example\r\nSubject: Invoice {n}\r\n\
         Message-ID: <inv-{n}@supplier.example>\r\nDate: Mon, 2 Nov 2026 10:00:00 +0000\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nPlease pay invoice {n}.\r\n"
    )
    .into_bytes()
}

/// Graph error code of an error response.
pub(crate) async fn error_code(resp: Response) -> (u16, String, String) {
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.expect("json error body");
    let code = body["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let message = body["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    (status, code, message)
}
