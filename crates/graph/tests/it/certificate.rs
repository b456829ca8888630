//! Certificate credential end to end against the fake Graph server, which
//! verifies the client assertion's signature, audience, issuer and lifetime
//! like Entra: the right certificate gets a token and can read mail; a wrong
//! key, an expired assertion or an unregistered certificate are refused with
//! the AADSTS number surfaced; the private key never shows in output.

use sentra_graph::{CertificateCredential, ClientCredential, GraphClient, GraphConfig, GraphError};
use sentra_testkit::{FakeGraph, Standard, fixtures};

fn client(fake: &FakeGraph, s: &Standard, login_base: &str, cert: &str, key: &str) -> GraphClient {
    let cred = CertificateCredential::from_pem(cert.as_bytes(), key.as_bytes()).expect("pem");
    let cfg = GraphConfig::with_bases(
        login_base,
        &fake.graph_base(),
        s.client_id.clone(),
        ClientCredential::Certificate(cred),
    )
    .expect("bases");
    GraphClient::new(cfg).expect("client")
}

async fn fake_with_cert() -> (FakeGraph, Standard) {
    let fake = FakeGraph::start().await;
    let s = fake.seed_standard();
    fake.add_app_certificate(&s.client_id, fixtures::APP_CERT_PEM)
        .expect("register cert");
    (fake, s)
}

fn refused(err: &GraphError) -> u64 {
    match err {
        GraphError::TokenRefused { error, aadsts } => {
            assert_eq!(error, "invalid_client", "{err}");
            assert!(
                err.to_string().contains(&format!("AADSTS{aadsts}")),
                "{err}"
            );
            *aadsts
        }
        other => panic!("expected TokenRefused, got {other:?}"),
    }
}

#[tokio::test]
async fn registered_certificate_gets_a_token_that_reads_mail() {
    let (fake, s) = fake_with_cert().await;
    let c = client(
        &fake,
        &s,
        &fake.login_base(),
        fixtures::APP_CERT_PEM,
        fixtures::APP_KEY_PEM,
    );
    c.token(&s.tenant_id).await.expect("token with certificate");
    // The token is real to the fake: a Graph call with it succeeds.
    c.mail_folder(&s.tenant_id, &s.monitored.upn, "inbox")
        .await
        .expect("folders with a certificate-issued token");
}

#[tokio::test]
async fn assertion_signed_by_the_wrong_key_is_refused() {
    let (fake, s) = fake_with_cert().await;
    // The registered certificate's thumbprint, but another key signs.
    let c = client(
        &fake,
        &s,
        &fake.login_base(),
        fixtures::APP_CERT_PEM,
        fixtures::OTHER_KEY_PEM,
    );
    let err = c.token(&s.tenant_id).await.unwrap_err();
    assert_eq!(refused(&err), 700_027);
}

#[tokio::test]
async fn unregistered_certificate_is_refused() {
    let (fake, s) = fake_with_cert().await;
    let c = client(
        &fake,
        &s,
        &fake.login_base(),
        fixtures::OTHER_CERT_PEM,
        fixtures::OTHER_KEY_PEM,
    );
    let err = c.token(&s.tenant_id).await.unwrap_err();
    assert_eq!(refused(&err), 700_027);
}

#[tokio::test]
async fn expired_assertion_is_refused() {
    let (fake, s) = fake_with_cert().await;
    // The token endpoint's clock is an hour ahead: a fresh five-minute
    // assertion is long expired by its reckoning.
    fake.set_switches(|sw| sw.login_clock_offset_secs = 3600);
    let c = client(
        &fake,
        &s,
        &fake.login_base(),
        fixtures::APP_CERT_PEM,
        fixtures::APP_KEY_PEM,
    );
    let err = c.token(&s.tenant_id).await.unwrap_err();
    assert_eq!(refused(&err), 700_024);
}

#[tokio::test]
async fn assertion_for_another_audience_is_refused() {
    let (fake, s) = fake_with_cert().await;
    // The client signs for the URL it posts to; posting through a different
    // spelling of the host makes `aud` differ from the fake's own endpoint.
    let other_base = fake.login_base().replace("127.0.0.1", "localhost");
    let c = client(
        &fake,
        &s,
        &other_base,
        fixtures::APP_CERT_PEM,
        fixtures::APP_KEY_PEM,
    );
    let err = c.token(&s.tenant_id).await.unwrap_err();
    assert_eq!(refused(&err), 50013);
}

#[test]
fn private_key_never_in_debug_or_errors() {
    let cred = CertificateCredential::from_pem(
        fixtures::APP_CERT_PEM.as_bytes(),
        fixtures::APP_KEY_PEM.as_bytes(),
    )
    .expect("pem");
    let key_body: String = fixtures::APP_KEY_PEM
        .lines()
        .nth(1)
        .expect("key line")
        .to_owned();
    let dbg = format!("{:?}", ClientCredential::Certificate(cred.clone()));
    assert!(
        dbg.contains("<redacted>") && !dbg.contains(&key_body[..20]),
        "{dbg}"
    );
    assert_eq!(cred.thumbprint_hex().len(), 40);
    // A key handed in as the certificate, and a truncated key: errors name
    // the part, not its content.
    let err = CertificateCredential::from_pem(
        fixtures::APP_KEY_PEM.as_bytes(),
        fixtures::APP_KEY_PEM.as_bytes(),
    )
    .unwrap_err();
    assert!(!err.to_string().contains(&key_body[..20]), "{err}");
    let truncated = fixtures::APP_KEY_PEM.replace(&key_body, "");
    let err =
        CertificateCredential::from_pem(fixtures::APP_CERT_PEM.as_bytes(), truncated.as_bytes())
            .unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(!text.contains(&key_body[..20]), "{text}");
}
