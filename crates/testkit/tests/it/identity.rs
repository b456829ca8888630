//! Login base: client credentials and its AADSTS errors, delegated code and
//! refresh rotation, admin consent, and bearer checks on Graph.

use super::{Setup, client, error_code, token_request};
use sentra_testkit::{Decision, FakeGraph};
use serde_json::Value;

async fn aadsts(resp: reqwest::Response) -> (u16, String, u64) {
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.expect("json");
    (
        status,
        body["error"].as_str().unwrap_or_default().to_owned(),
        body["error_codes"][0].as_u64().unwrap_or(0),
    )
}

#[tokio::test]
async fn client_credentials_token_is_accepted_by_graph_and_counted() {
    let t = Setup::new().await;
    let resp = t.get(&format!("{}/mailFolders/inbox", t.mon())).await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().contains_key("request-id"));
    let report = t.fake.report();
    assert_eq!(
        report
            .tokens_issued
            .get(&format!("{}/{}", t.s.tenant_id, t.s.client_id)),
        Some(&1)
    );
}

#[tokio::test]
async fn token_errors_carry_the_aadsts_numbers() {
    let t = Setup::new().await;
    let (http, s) = (&t.http, &t.s);
    let bad = token_request(http, &t.fake, &s.tenant_id, &s.client_id, "wrong").await;
    assert_eq!(
        aadsts(bad).await,
        (401, "invalid_client".to_owned(), 7_000_215)
    );
    let unknown_app = token_request(http, &t.fake, &s.tenant_id, "nope", "x").await;
    assert_eq!(
        aadsts(unknown_app).await,
        (400, "unauthorized_client".to_owned(), 700_016)
    );
    let unknown_tenant = token_request(
        http,
        &t.fake,
        "00000000-0000-0000-0000-000000000000",
        &s.client_id,
        "x",
    )
    .await;
    assert_eq!(
        aadsts(unknown_tenant).await,
        (400, "invalid_request".to_owned(), 90002)
    );
    t.fake.set_secret_expired(&s.client_id, true).unwrap();
    let expired = token_request(http, &t.fake, &s.tenant_id, &s.client_id, &s.client_secret).await;
    assert_eq!(
        aadsts(expired).await,
        (401, "invalid_client".to_owned(), 7_000_222)
    );
    t.fake.set_secret_expired(&s.client_id, false).unwrap();
    t.fake.set_consented(&s.tenant_id, false).unwrap();
    let deleted = token_request(http, &t.fake, &s.tenant_id, &s.client_id, &s.client_secret).await;
    let body_text = {
        let (status, error, code) = aadsts(deleted).await;
        assert_eq!(
            (status, error.as_str(), code),
            (401, "invalid_client", 7_000_229)
        );
        error
    };
    assert!(!body_text.contains(&s.client_secret), "no secret echoed");
}

#[tokio::test]
async fn expires_in_can_arrive_as_a_string() {
    let t = Setup::new().await;
    t.fake.set_switches(|s| s.expires_in_as_string = true);
    let resp = token_request(
        &t.http,
        &t.fake,
        &t.s.tenant_id,
        &t.s.client_id,
        &t.s.client_secret,
    )
    .await;
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["expires_in"], "3599");
    assert_eq!(body["token_type"], "Bearer");
}

#[tokio::test]
async fn graph_refuses_missing_bad_and_expired_tokens() {
    let t = Setup::new().await;
    let url = format!("{}{}/mailFolders/inbox", t.fake.graph_base(), t.mon());
    let none = t.http.get(&url).send().await.unwrap();
    assert!(none.headers().contains_key("www-authenticate"));
    assert_eq!(error_code(none).await.1, "InvalidAuthenticationToken");
    let bad = t.http.get(&url).bearer_auth("forged").send().await.unwrap();
    assert_eq!(error_code(bad).await.0, 401);
    assert_eq!(
        t.get(&format!("{}/mailFolders/inbox", t.mon()))
            .await
            .status(),
        200
    );
    t.fake.expire_tokens();
    let (status, code, _) =
        error_code(t.get(&format!("{}/mailFolders/inbox", t.mon())).await).await;
    assert_eq!((status, code.as_str()), (401, "InvalidAuthenticationToken"));
}

fn location(resp: &reqwest::Response) -> reqwest::Url {
    assert_eq!(resp.status(), 302);
    reqwest::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap()
}

fn q(url: &reqwest::Url, key: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

#[tokio::test]
async fn admin_consent_redirects_back_with_tenant_and_state_or_the_denial() {
    let fake = FakeGraph::start().await;
    fake.add_app("app-1", "secret");
    fake.add_tenant("tenant-a");
    fake.set_consented("tenant-a", false).unwrap();
    let http = client();
    let consent = |path: &str| {
        format!(
            "{}/{path}?client_id=app-1&scope=https://graph.microsoft.com/.default&redirect_uri=https://sentra.example/m365/consent&state=st-42",
            fake.login_base()
        )
    };
    let resp = http
        .get(consent("organizations/v2.0/adminconsent"))
        .send()
        .await
        .unwrap();
    let url = location(&resp);
    assert_eq!(url.host_str(), Some("sentra.example"));
    assert_eq!(q(&url, "admin_consent").as_deref(), Some("True"));
    assert_eq!(q(&url, "tenant").as_deref(), Some("tenant-a"));
    assert_eq!(q(&url, "state").as_deref(), Some("st-42"));
    // Consent created the service principal: the token endpoint now answers.
    assert_eq!(
        token_request(&http, &fake, "tenant-a", "app-1", "secret")
            .await
            .status(),
        200
    );

    fake.set_switches(|s| s.consent = Decision::Decline);
    let resp = http
        .get(consent("tenant-a/adminconsent"))
        .send()
        .await
        .unwrap();
    let url = location(&resp);
    assert_eq!(q(&url, "error").as_deref(), Some("access_denied"));
    assert!(
        q(&url, "error_description")
            .unwrap()
            .starts_with("AADSTS65004")
    );
    assert_eq!(q(&url, "state").as_deref(), Some("st-42"));
}

#[tokio::test]
async fn authorization_code_then_refresh_rotates_and_can_fail_with_reconnect_codes() {
    let t = Setup::new().await;
    let authorize = format!(
        "{}/{}/oauth2/v2.0/authorize?client_id={}&response_type=code&redirect_uri=https://sentra.example/cb&state=s1&code_challenge=abc&code_challenge_method=S256",
        t.fake.login_base(),
        t.s.tenant_id,
        t.s.client_id
    );
    let url = location(&t.http.get(&authorize).send().await.unwrap());
    let code = q(&url, "code").expect("code");
    let token_url = format!(
        "{}/{}/oauth2/v2.0/token",
        t.fake.login_base(),
        t.s.tenant_id
    );
    let form = |grant: &str, key: &str, value: &str| {
        vec![
            ("grant_type".to_owned(), grant.to_owned()),
            ("client_id".to_owned(), t.s.client_id.clone()),
            ("client_secret".to_owned(), t.s.client_secret.clone()),
            (key.to_owned(), value.to_owned()),
        ]
    };
    let body: Value = t
        .http
        .post(&token_url)
        .form(&form("authorization_code", "code", &code))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();
    assert!(body["id_token"].as_str().unwrap().contains('.'));
    // Redeeming the code twice: 54005.
    let again = t
        .http
        .post(&token_url)
        .form(&form("authorization_code", "code", &code))
        .send()
        .await
        .unwrap();
    assert_eq!(aadsts(again).await.2, 54005);
    let body: Value = t
        .http
        .post(&token_url)
        .form(&form("refresh_token", "refresh_token", &refresh))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rotated = body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(rotated, refresh, "refresh token rotates");
    t.fake.set_switches(|s| s.refresh_error = Some(700_082));
    let fail = t
        .http
        .post(&token_url)
        .form(&form("refresh_token", "refresh_token", &rotated))
        .send()
        .await
        .unwrap();
    assert_eq!(
        aadsts(fail).await,
        (400, "invalid_grant".to_owned(), 700_082)
    );
}
