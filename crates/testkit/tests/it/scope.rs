//! The RBAC for Applications scope: in-scope reads, out-of-scope refusals
//! (and the report that proves nothing unselected was read).

use super::{Setup, error_code};
use sentra_testkit::NewMessage;

#[tokio::test]
async fn unselected_mailbox_is_refused_and_recorded_as_attempt_only() {
    let t = Setup::new().await;
    t.fake
        .add_message(&t.s.unmonitored.upn, NewMessage::new(super::eml(1)))
        .unwrap();
    assert_eq!(
        t.get(&format!("{}/mailFolders/inbox", t.mon()))
            .await
            .status(),
        200
    );
    let probe = t
        .get(&format!("/users/{}/mailFolders/inbox", t.s.unmonitored.upn))
        .await;
    assert_eq!(
        error_code(probe).await,
        (
            403,
            "ErrorAccessDenied".to_owned(),
            "Access is denied. Check credentials and try again.".to_owned()
        )
    );
    let delta = t
        .get(&format!(
            "/users/{}/mailFolders/inbox/messages/delta",
            t.s.unmonitored.user_id
        ))
        .await;
    assert_eq!(delta.status(), 403);
    let report = t.fake.report();
    assert!(report.out_of_scope_attempts.contains(&t.s.unmonitored.upn));
    assert!(report.out_of_scope_reads.is_empty());
    assert_eq!(report.requests_for(&t.s.unmonitored.upn).count(), 2);
}

#[tokio::test]
async fn access_policy_mode_and_the_additive_mail_read_role() {
    let t = Setup::new().await;
    t.fake.set_access_policy(&t.s.tenant_id, true).unwrap();
    let probe = t
        .get(&format!("/users/{}/mailFolders/inbox", t.s.unmonitored.upn))
        .await;
    assert_eq!(error_code(probe).await.2, "Access to OData is disabled.");
    t.fake.set_access_policy(&t.s.tenant_id, false).unwrap();

    // A tenant-wide Mail.Read grant overrides the scope: the case Sentra's
    // onboarding must prevent. New tokens carry the role.
    t.fake
        .set_tenant_roles(&t.s.tenant_id, &["Mail.Read"])
        .unwrap();
    let token = super::app_token(&t.http, &t.fake, &t.s).await;
    let url = format!(
        "{}/users/{}/mailFolders/inbox",
        t.fake.graph_base(),
        t.s.unmonitored.upn
    );
    let resp = t.http.get(url).bearer_auth(token).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        t.fake
            .report()
            .out_of_scope_reads
            .contains(&t.s.unmonitored.upn)
    );
}

#[tokio::test]
async fn unknown_foreign_and_unlicensed_mailboxes_are_404() {
    let t = Setup::new().await;
    let unknown = t
        .get("/users/nobody@contoso.example/mailFolders/inbox")
        .await;
    assert_eq!(error_code(unknown).await.1, "ErrorInvalidUser");
    t.fake.add_tenant("other-tenant");
    t.fake
        .add_mailbox("other-tenant", "boss@other.example", true)
        .unwrap();
    let foreign = t.get("/users/boss@other.example/mailFolders/inbox").await;
    assert_eq!(
        error_code(foreign).await.1,
        "ErrorInvalidUser",
        "other tenants' mailboxes are invisible"
    );
    t.fake.set_rest_disabled(&t.s.monitored.upn, true).unwrap();
    let off = t.get(&format!("{}/mailFolders/inbox", t.mon())).await;
    assert_eq!(error_code(off).await.1, "MailboxNotEnabledForRESTAPI");
}
