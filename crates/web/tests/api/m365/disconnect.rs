//! Roles on the Microsoft 365 routes, removing one mailbox, and
//! disconnecting: afterwards no webhook secrets, no subscriptions at
//! Microsoft, no queued jobs, notifications refused, one audit event.

use super::{MONITORED, UNSELECTED, add, client, consent_round_trip, json_of, scope_check, setup};
use crate::error_code;
use crate::suppliers::age_mfa;
use crate::support::{count, member, page};
use reqwest::{Method, StatusCode};
use sentra_domain::Role;
use sentra_graph::subscription::{NewSubscription, expiry_from};
use sentra_store::crypto::ExposeSecret;
use sentra_store::ids::MailboxId;
use sentra_store::repo::m365_mailbox;
use serde_json::json;

#[tokio::test]
async fn only_owners_and_admins_may_connect_or_see_mailboxes() {
    let Some((_fake, _s, app, owner, _cookie)) = setup().await else {
        return;
    };
    let admin = member(&app, owner.org, "it@contoso.example", Role::Admin).await;
    assert_eq!(add(&app, &admin, MONITORED).await.0, StatusCode::CREATED);
    for role in [Role::Approver, Role::Clerk, Role::Viewer] {
        let cookie = member(
            &app,
            owner.org,
            &format!("{}@contoso.example", role.as_str()),
            role,
        )
        .await;
        for (method, path) in [
            (Method::GET, "/api/v1/m365"),
            (Method::POST, "/api/v1/m365/consent"),
            (Method::GET, "/api/v1/m365/mailboxes"),
            (Method::POST, "/api/v1/m365/scope-check"),
            (Method::POST, "/api/v1/m365/disconnect"),
        ] {
            let res = app.call(method.clone(), path, None, Some(&cookie)).await;
            assert_eq!(
                res.status(),
                StatusCode::FORBIDDEN,
                "{role:?} {method} {path}"
            );
        }
        assert_eq!(
            add(&app, &cookie, "x@contoso.example").await.0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            page(&app, "/mailboxes", Some(&cookie)).await.0,
            StatusCode::FORBIDDEN
        );
    }
    assert_eq!(count(&app, "select count(*) from mailbox").await, 1);
    assert_eq!(
        count(&app, "select count(*) from graph_connection").await,
        0
    );
}

#[tokio::test]
async fn disconnecting_leaves_no_secrets_subscriptions_or_jobs_and_refuses_notifications() {
    let Some((fake, s, app, owner, cookie)) = setup().await else {
        return;
    };
    consent_round_trip(&app, &cookie).await;
    let (_, mailbox) = add(&app, &cookie, MONITORED).await;
    let id = MailboxId::from_uuid(mailbox["id"].as_str().unwrap().parse().unwrap());
    assert_eq!(
        scope_check(&app, &cookie, UNSELECTED).await.1["verified"],
        true
    );
    // What the worker's graph.subscribe does: a subscription whose
    // notifications land on this app.
    let mut tx = app.tx(owner.org).await;
    let secrets = m365_mailbox::secrets(&mut tx, &app.keys, id)
        .await
        .unwrap()
        .expect("secrets");
    tx.commit().await.unwrap();
    let token = secrets.path_token.expose_secret().to_owned();
    let notify = app.url(&format!("/graph/notify/{}/{id}/{token}", owner.org));
    let lifecycle = app.url(&format!("/graph/lifecycle/{}/{id}/{token}", owner.org));
    let graph = client(&fake, &s);
    let new = NewSubscription {
        mailbox: MONITORED,
        folder: "inbox",
        notification_url: &notify,
        lifecycle_url: &lifecycle,
        client_state: &secrets.client_state,
        expires_at: expiry_from(time::OffsetDateTime::now_utc()),
    };
    let sub = graph
        .create_subscription(&s.tenant_id, &new)
        .await
        .expect("subscription");
    let mut tx = app.tx(owner.org).await;
    m365_mailbox::set_subscription(&mut tx, id, Some(&sub.id), sub.expires_at())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    // And one a crashed run made but never recorded.
    graph
        .create_subscription(&s.tenant_id, &new)
        .await
        .expect("unrecorded subscription");
    assert_eq!(fake.report().subscriptions.len(), 2);

    // Without a fresh second factor: refused, nothing changed.
    age_mfa(&app, owner.user, 600).await;
    let res = app
        .call(Method::POST, "/api/v1/m365/disconnect", None, Some(&cookie))
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(res).await, "step_up_required");
    assert_eq!(fake.report().subscriptions.len(), 2);
    assert_eq!(count(&app, "select count(*) from mail_credential").await, 1);

    age_mfa(&app, owner.user, -600).await;
    let before = app.audit_actions(owner.org).await.len();
    let (status, body) = json_of(
        app.call(Method::POST, "/api/v1/m365/disconnect", None, Some(&cookie))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["disconnected"], true);
    assert_eq!(body["subscriptions_deleted"], 2);
    assert!(
        body["revoke_powershell"]
            .as_str()
            .unwrap()
            .contains("Remove-ManagementRoleAssignment")
    );
    assert!(fake.report().subscriptions.is_empty());
    assert_eq!(count(&app, "select count(*) from mail_credential").await, 0);
    assert_eq!(
        count(
            &app,
            "select count(*) from job where kind like 'graph.%' and status in ('queued', 'running')"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &app,
            "select count(*) from mailbox where status <> 'disconnected'"
        )
        .await,
        0
    );
    let actions = app.audit_actions(owner.org).await;
    assert_eq!(
        &actions[before..],
        ["m365.disconnect".to_owned()],
        "one event"
    );
    let (_, view) = json_of(app.get("/api/v1/m365", Some(&cookie)).await).await;
    assert_eq!(view["status"], "disconnected");
    assert_eq!(view["mailboxes"].as_array().map(Vec::len), Some(0));

    // A notification for the mailbox is refused now.
    let res = app
        .client
        .post(&notify)
        .json(&json!({"value":[{"id":"n1","subscriptionId":sub.id,"clientState":secrets.client_state.expose_secret(),
            "changeType":"created","resource":"Users/u/Messages/m","tenantId":s.tenant_id}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    // And the page tells the admin what to remove in their tenant.
    let (status, html) = page(&app, "/mailboxes/disconnected", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Enterprise applications") && html.contains("Remove-ServicePrincipal"),
        "{html}"
    );
}

#[tokio::test]
async fn removing_one_mailbox_needs_step_up_and_another_organisations_is_not_found() {
    let Some((_fake, _s, app, owner, cookie)) = setup().await else {
        return;
    };
    let (_, mailbox) = add(&app, &cookie, MONITORED).await;
    let path = format!("/api/v1/m365/mailboxes/{}", mailbox["id"].as_str().unwrap());
    let before = app.audit_actions(owner.org).await.len();
    let other = app.seed_owner("owner@elsewhere.example").await;
    let other_cookie = app.sign_in(&other).await;
    let res = app
        .call(Method::DELETE, &path, None, Some(&other_cookie))
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    age_mfa(&app, owner.user, 600).await;
    let res = app.call(Method::DELETE, &path, None, Some(&cookie)).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        count(&app, "select count(*) from mailbox where status = 'active'").await,
        1
    );
    // The refusals above wrote nothing; the removal writes exactly one event.
    assert_eq!(app.audit_actions(owner.org).await.len(), before);
    age_mfa(&app, owner.user, -600).await;
    let res = app.call(Method::DELETE, &path, None, Some(&cookie)).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.audit_actions(owner.org).await.len(), before + 1);
    assert_eq!(
        count(&app, "select count(*) from mailbox where status = 'active'").await,
        0
    );
    assert_eq!(
        app.audit_actions(owner.org)
            .await
            .last()
            .map(String::as_str),
        Some("mailbox.disconnect")
    );
}

/// The value of the first `href="…"` starting with `prefix`, unescaped.
fn href_starting(html: &str, prefix: &str) -> String {
    let start = html.find(&format!("href=\"{prefix}")).expect("link") + "href=\"".len();
    let len = html[start..].find('"').expect("end of link");
    html[start..start + len]
        .replace("&amp;", "&")
        .replace("&#38;", "&")
}

#[tokio::test]
async fn the_pages_connect_check_and_disconnect_with_forms() {
    let Some((fake, _s, app, owner, cookie)) = setup().await else {
        return;
    };
    // Connect: a page with a link to Microsoft (a form's redirect off-site
    // would be blocked by the CSP's form-action).
    let res = app
        .post_form("/mailboxes/connect", &[], Some(&cookie))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    let consent = href_starting(&html, &fake.login_base());
    let at_microsoft = app.client.get(&consent).send().await.unwrap();
    let back = crate::support::location(&at_microsoft);
    let path = back
        .strip_prefix("http://sentra.test")
        .unwrap_or_else(|| panic!("callback: {consent} -> {back:?}"));
    let (status, html) = page(&app, path, Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Microsoft 365 connected"), "{html}");
    // Choose a mailbox and check the scope.
    let res = app
        .post_form("/mailboxes/add", &[("address", MONITORED)], Some(&cookie))
        .await;
    assert_eq!(crate::support::location(&res), "/mailboxes?done=added");
    let res = app
        .post_form(
            "/mailboxes/scope-check",
            &[("probe", UNSELECTED)],
            Some(&cookie),
        )
        .await;
    assert_eq!(crate::support::location(&res), "/mailboxes?done=checked");
    let (_, html) = page(&app, "/mailboxes?done=checked", Some(&cookie)).await;
    assert!(html.contains("Least privilege verified"), "{html}");
    assert!(html.contains(MONITORED));
    // Disconnect needs a fresh second factor.
    age_mfa(&app, owner.user, 600).await;
    let res = app
        .post_form("/mailboxes/disconnect", &[], Some(&cookie))
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.text().await.unwrap().contains("confirm it is you"));
    assert_eq!(count(&app, "select count(*) from mail_credential").await, 1);
    age_mfa(&app, owner.user, -600).await;
    let res = app
        .post_form("/mailboxes/disconnect", &[], Some(&cookie))
        .await;
    assert_eq!(crate::support::location(&res), "/mailboxes/disconnected");
    assert_eq!(count(&app, "select count(*) from mail_credential").await, 0);
    let (_, html) = page(&app, "/mailboxes", Some(&cookie)).await;
    assert!(html.contains("Connect Microsoft 365"), "{html}");
}
