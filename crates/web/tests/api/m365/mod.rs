//! Connecting Microsoft 365 against the fake Graph server over real HTTP:
//! admin consent (granted, declined, forged state), choosing mailboxes,
//! the PowerShell page and the scope check (verified, and refused when the
//! RBAC scope is too wide). Roles and disconnecting are in [`disconnect`].

mod disconnect;

use crate::support::{count, location, page};
use crate::{Seeded, TestApp};
use reqwest::{Method, StatusCode};
use sentra_graph::{ClientCredential, GraphClient, GraphConfig};
use sentra_store::crypto::SecretString;
use sentra_testkit::{Decision, FakeGraph, Standard};
use serde_json::{Value, json};

pub(super) const MONITORED: &str = "accounts@contoso.example";
pub(super) const UNSELECTED: &str = "ceo@contoso.example";

pub(super) fn client(fake: &FakeGraph, s: &Standard) -> GraphClient {
    let cfg = GraphConfig::with_bases(
        &fake.login_base(),
        &fake.graph_base(),
        s.client_id.clone(),
        ClientCredential::Secret(SecretString::from(s.client_secret.clone())),
    )
    .expect("bases");
    GraphClient::new(cfg).expect("graph client")
}

/// The fake, its standard tenant, the app using it, and a signed-in owner.
pub(super) async fn setup() -> Option<(FakeGraph, Standard, TestApp, Seeded, String)> {
    let fake = FakeGraph::start().await;
    let s = fake.seed_standard();
    let app = TestApp::spawn_with_graph(client(&fake, &s)).await?;
    let owner = app.seed_owner("admin@contoso.example").await;
    let cookie = app.sign_in(&owner).await;
    Some((fake, s, app, owner, cookie))
}

pub(super) async fn json_of(res: reqwest::Response) -> (StatusCode, Value) {
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Starts consent and follows Microsoft's answer back to Sentra's callback
/// page; returns the callback's status and body.
pub(super) async fn consent_round_trip(app: &TestApp, cookie: &str) -> (StatusCode, String) {
    let (status, body) = json_of(
        app.call(Method::POST, "/api/v1/m365/consent", None, Some(cookie))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let url = body["consent_url"].as_str().expect("consent_url");
    assert!(url.contains("/v2.0/adminconsent?"), "{url}");
    assert!(
        url.contains("scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"),
        "{url}"
    );
    let at_microsoft = app.client.get(url).send().await.expect("fake consent");
    assert_eq!(at_microsoft.status(), StatusCode::FOUND);
    let back = location(&at_microsoft);
    let path = back
        .strip_prefix("http://sentra.test")
        .expect("redirect to Sentra's callback");
    assert!(path.starts_with("/mailboxes/consent-callback?"), "{path}");
    page(app, path, Some(cookie)).await
}

pub(super) async fn add(app: &TestApp, cookie: &str, address: &str) -> (StatusCode, Value) {
    json_of(
        app.post(
            "/api/v1/m365/mailboxes",
            &json!({ "address": address }),
            Some(cookie),
        )
        .await,
    )
    .await
}

pub(super) async fn scope_check(app: &TestApp, cookie: &str, probe: &str) -> (StatusCode, Value) {
    json_of(
        app.post(
            "/api/v1/m365/scope-check",
            &json!({ "probe": probe }),
            Some(cookie),
        )
        .await,
    )
    .await
}

#[tokio::test]
async fn admin_consent_records_the_tenant_and_audits_each_step() {
    let Some((_fake, s, app, owner, cookie)) = setup().await else {
        return;
    };
    let (status, html) = consent_round_trip(&app, &cookie).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Microsoft 365 connected"), "{html}");
    assert!(html.contains(&s.tenant_id));
    let (_, view) = json_of(app.get("/api/v1/m365", Some(&cookie)).await).await;
    assert_eq!(view["status"], "consented");
    assert_eq!(view["tenant_id"], s.tenant_id.as_str());
    let actions = app.audit_actions(owner.org).await;
    assert!(
        actions.ends_with(&[
            "m365.consent.start".to_owned(),
            "m365.consent.granted".to_owned()
        ]),
        "{actions:?}"
    );
}

#[tokio::test]
async fn a_declined_consent_is_shown_clearly_and_connects_nothing() {
    let Some((fake, _s, app, owner, cookie)) = setup().await else {
        return;
    };
    fake.set_switches(|sw| sw.consent = Decision::Decline);
    let (status, html) = consent_round_trip(&app, &cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Microsoft 365 not connected"), "{html}");
    assert!(html.contains("declined to consent (AADSTS65004)"), "{html}");
    let (_, view) = json_of(app.get("/api/v1/m365", Some(&cookie)).await).await;
    assert_ne!(view["status"], "consented");
    assert!(view["tenant_id"].is_null());
    assert_eq!(
        app.audit_actions(owner.org)
            .await
            .last()
            .map(String::as_str),
        Some("m365.consent.declined")
    );
}

#[tokio::test]
async fn a_forged_or_missing_state_is_refused_and_writes_nothing() {
    let Some((_fake, s, app, owner, cookie)) = setup().await else {
        return;
    };
    let (status, _) = json_of(
        app.call(Method::POST, "/api/v1/m365/consent", None, Some(&cookie))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let before = app.audit_actions(owner.org).await.len();
    for query in [
        format!("admin_consent=True&tenant={}&state=forged", s.tenant_id),
        format!("admin_consent=True&tenant={}", s.tenant_id),
    ] {
        let (status, html) = page(
            &app,
            &format!("/mailboxes/consent-callback?{query}"),
            Some(&cookie),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{html}");
        assert!(html.contains("not one Sentra is waiting for"), "{html}");
    }
    assert_eq!(app.audit_actions(owner.org).await.len(), before);
    assert_eq!(
        count(
            &app,
            "select count(*) from graph_connection where tenant_id is not null"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn mailboxes_are_validated_listed_and_shown_in_the_powershell() {
    let Some((_fake, s, app, owner, cookie)) = setup().await else {
        return;
    };
    let before = app.audit_actions(owner.org).await.len();
    for bad in [
        "not-an-address",
        "a b@contoso.com",
        "x'$(evil)@contoso.com",
        "",
    ] {
        let (status, body) = add(&app, &cookie, bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(body["error"]["code"], "invalid_address");
    }
    assert_eq!(count(&app, "select count(*) from mailbox").await, 0);
    assert_eq!(app.audit_actions(owner.org).await.len(), before);
    let (status, body) = add(&app, &cookie, " Accounts@Contoso.example ").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["address"], MONITORED);
    assert_eq!(body["health"], "healthy");
    let actions = app.audit_actions(owner.org).await;
    assert_eq!(actions.len(), before + 1, "adding wrote one audit event");
    assert_eq!(actions.last().map(String::as_str), Some("mailbox.add"));
    let (status, body) = add(&app, &cookie, MONITORED).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(app.audit_actions(owner.org).await.len(), before + 1);
    let (_, list) = json_of(app.get("/api/v1/m365/mailboxes", Some(&cookie)).await).await;
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    let (_, view) = json_of(app.get("/api/v1/m365", Some(&cookie)).await).await;
    let script = view["powershell"].as_str().expect("powershell");
    assert!(script.contains(&format!("$appId = '{}'", s.client_id)));
    assert!(script.contains(&format!("PrimarySmtpAddress -eq '{MONITORED}'")));
    assert!(
        script.contains("New-ManagementRoleAssignment -App $appId -Role 'Application Mail.Read'")
    );
    assert!(script.contains("Test-ServicePrincipalAuthorization"));
    let (status, html) = page(&app, "/mailboxes", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("New-ServicePrincipal -AppId $appId"),
        "{html}"
    );
    assert!(html.contains(r#"data-copy="powershell""#));
    assert!(html.contains(r#"<script src="/assets/copy-"#));
    // The form path too: a bad address is a 400 page with the reason.
    let res = app
        .post_form("/mailboxes/add", &[("address", "nope")], Some(&cookie))
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("needs an @"));
}

#[tokio::test]
async fn the_scope_check_verifies_least_privilege_and_starts_syncing() {
    let Some((fake, _s, app, owner, cookie)) = setup().await else {
        return;
    };
    consent_round_trip(&app, &cookie).await;
    add(&app, &cookie, MONITORED).await;
    let (status, report) = scope_check(&app, &cookie, UNSELECTED).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["verified"], true, "{report}");
    assert!(
        report["message"]
            .as_str()
            .unwrap()
            .starts_with("Least privilege verified")
    );
    assert_eq!(report["probe"]["outcome"], "refused");
    assert_eq!(report["subscribe_enqueued"], 1);
    // The unselected mailbox was only probed, never read.
    let r = fake.report();
    assert!(r.out_of_scope_attempts.contains(UNSELECTED));
    assert!(
        r.out_of_scope_reads.is_empty(),
        "{:?}",
        r.out_of_scope_reads
    );
    assert_eq!(
        count(
            &app,
            "select count(*) from mailbox where scope_verified_at is not null"
        )
        .await,
        1
    );
    assert_eq!(count(&app, "select count(*) from mail_credential").await, 1);
    assert_eq!(
        count(
            &app,
            "select count(*) from job where kind = 'graph.subscribe' and status = 'queued'"
        )
        .await,
        1
    );
    assert_eq!(
        app.audit_actions(owner.org)
            .await
            .last()
            .map(String::as_str),
        Some("m365.scope_check")
    );
    let (_, html) = page(&app, "/mailboxes", Some(&cookie)).await;
    assert!(html.contains("Least privilege verified"), "{html}");
    // Checking again keeps the secrets and does not queue a second job.
    let (_, again) = scope_check(&app, &cookie, UNSELECTED).await;
    assert_eq!(again["verified"], true);
    assert_eq!(
        count(
            &app,
            "select count(*) from job where kind = 'graph.subscribe'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn a_scope_that_is_too_wide_fails_the_check_and_syncs_nothing() {
    let Some((fake, s, app, _owner, cookie)) = setup().await else {
        return;
    };
    consent_round_trip(&app, &cookie).await;
    add(&app, &cookie, MONITORED).await;
    fake.set_scope(&s.tenant_id, &[MONITORED, UNSELECTED])
        .expect("scope");
    let (status, report) = scope_check(&app, &cookie, UNSELECTED).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["verified"], false);
    assert!(
        report["message"].as_str().unwrap().contains(
            "the app can read mailboxes you did not select: the RBAC scope is missing or too wide"
        ),
        "{report}"
    );
    assert_eq!(count(&app, "select count(*) from mail_credential").await, 0);
    assert_eq!(
        count(&app, "select count(*) from job where kind like 'graph.%'").await,
        0
    );
    // The additive mistake: a tenant-wide Graph Mail.Read, whatever the scope.
    fake.set_scope(&s.tenant_id, &[MONITORED]).expect("scope");
    fake.set_tenant_roles(&s.tenant_id, &["Mail.Read"])
        .expect("roles");
    app.post(
        "/api/v1/m365/mailboxes",
        &json!({"address": "invoices@contoso.example"}),
        Some(&cookie),
    )
    .await;
    let (_, report) = scope_check(&app, &cookie, UNSELECTED).await;
    assert_eq!(report["verified"], false, "{report}");
    assert!(
        report["problems"][0]
            .as_str()
            .unwrap()
            .contains("Mail.Read application permission")
    );
    // A selected mailbox outside the scope is named.
    fake.set_tenant_roles(&s.tenant_id, &[]).expect("roles");
    let (_, report) = scope_check(&app, &cookie, UNSELECTED).await;
    assert_eq!(report["verified"], false);
    assert!(
        report["problems"]
            .to_string()
            .contains("invoices@contoso.example was not found"),
        "{report}"
    );
    // A probe that is one of the selected mailboxes is refused outright.
    let (status, _) = scope_check(&app, &cookie, MONITORED).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
