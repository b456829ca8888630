//! `/api/v1/alert-channels`: admins create, list, test and delete channels;
//! the webhook URL is stored only encrypted and never shown; each change is
//! audited; other roles and other organisations are refused.

use crate::messages::{hartley, submit};
use crate::{PASSWORD, Seeded, TestApp, error_code};
use reqwest::StatusCode;
use reqwest::header::COOKIE;
use sentra_domain::{EmailAddress, Role};
use sentra_store::repo::{organisation, user};
use sentra_testkit::emails::FRAUD_BANK_CHANGE;
use sentra_web::password;
use serde_json::{Value, json};

const HOOK: &str = "https://hooks.slack.com/services/T000/B000/verysecrettoken";

async fn audit_actions(app: &TestApp, org: sentra_domain::OrgId) -> Vec<String> {
    sqlx::query_scalar("select action from audit_event where org_id = $1 order by seq")
        .bind(org.as_uuid())
        .fetch_all(app.db.superuser())
        .await
        .expect("audit")
}

#[tokio::test]
async fn an_admin_creates_lists_tests_and_deletes_a_channel_and_each_change_is_audited() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let (who, cookie) = hartley(&app, "owner@hartleybuild.co.uk").await;
    let res = app
        .post(
            "/api/v1/alert-channels",
            &json!({ "kind": "slack", "name": "Finance", "url": HOOK, "min_risk": "high" }),
            Some(&cookie),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = res.json().await.expect("json");
    assert_eq!(created["target_hint"], "hooks.slack.com/…");
    assert_eq!(created["min_risk"], "high");
    let id = created["id"].as_str().expect("id").to_owned();

    let list = app.get("/api/v1/alert-channels", Some(&cookie)).await;
    let text = list.text().await.expect("text");
    assert!(!text.contains("verysecrettoken"), "{text}");
    // Stored only encrypted.
    let stored: Vec<u8> =
        sqlx::query_scalar("select target_enc from alert_channel where org_id = $1")
            .bind(who.org.as_uuid())
            .fetch_one(app.db.superuser())
            .await
            .expect("row");
    assert!(!stored.windows(15).any(|w| w == b"verysecrettoken"));

    let res = app
        .post(
            &format!("/api/v1/alert-channels/{id}/test"),
            &json!({}),
            Some(&cookie),
        )
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let queued: i64 = sqlx::query_scalar(
        "select count(*) from job where org_id = $1 and kind = 'send_test_alert' and status = 'queued'",
    )
    .bind(who.org.as_uuid())
    .fetch_one(app.db.superuser())
    .await
    .expect("jobs");
    assert_eq!(queued, 1);

    let res = app
        .client
        .delete(app.url(&format!("/api/v1/alert-channels/{id}")))
        .header(COOKIE, &cookie)
        .send()
        .await
        .expect("delete");
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let actions = audit_actions(&app, who.org).await;
    for action in [
        "alert_channel.created",
        "alert_channel.tested",
        "alert_channel.deleted",
    ] {
        assert_eq!(
            actions.iter().filter(|a| *a == action).count(),
            1,
            "{actions:?}"
        );
    }
    let res = app
        .post(
            &format!("/api/v1/alert-channels/{id}/test"),
            &json!({}),
            Some(&cookie),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn clerks_cannot_manage_channels_and_bad_channels_write_nothing() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let (owner, cookie) = hartley(&app, "owner@hartleybuild.co.uk").await;
    for bad in [
        json!({ "kind": "slack", "name": "x", "url": "http://hooks.slack.com/x" }),
        json!({ "kind": "teams", "name": "x" }),
        json!({ "kind": "pager", "name": "x" }),
        json!({ "kind": "email", "name": "x", "email_roles": [] }),
    ] {
        let res = app
            .post("/api/v1/alert-channels", &bad, Some(&cookie))
            .await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
    let hash = password::hash(PASSWORD).expect("hash");
    let clerk = user::create(
        app.db.app_pool(),
        &EmailAddress::parse("clerk@hartleybuild.co.uk").expect("email"),
        &hash,
    )
    .await
    .expect("user");
    let mut tx = app.tx(owner.org).await;
    organisation::add_member(&mut tx, clerk, Role::Clerk)
        .await
        .expect("member");
    tx.commit().await.expect("commit");
    let clerk_cookie = app
        .sign_in(&Seeded {
            user: clerk,
            org: owner.org,
            email: "clerk@hartleybuild.co.uk".to_owned(),
            secret: None,
        })
        .await;
    let res = app
        .post(
            "/api/v1/alert-channels",
            &json!({ "kind": "slack", "name": "x", "url": HOOK }),
            Some(&clerk_cookie),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        error_code(app.get("/api/v1/alert-channels", Some(&clerk_cookie)).await).await,
        "forbidden"
    );
    let n: i64 = sqlx::query_scalar("select count(*) from alert_channel")
        .fetch_one(app.db.superuser())
        .await
        .expect("count");
    assert_eq!(n, 0);
}

#[tokio::test]
async fn a_submission_opens_an_alert_for_each_matching_channel_and_the_same_email_twice_is_one_message()
 {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let (who, cookie) = hartley(&app, "owner@hartleybuild.co.uk").await;
    let res = app
        .post(
            "/api/v1/alert-channels",
            &json!({ "kind": "teams", "name": "Ops", "url": "https://example.logic.azure.com/workflows/1/triggers/manual/paths/invoke?sig=abc" }),
            Some(&cookie),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let first = submit(&app, &cookie, FRAUD_BANK_CHANGE).await;
    let again = submit(&app, &cookie, FRAUD_BANK_CHANGE).await;
    assert_eq!(first["id"], again["id"]);
    assert_eq!(first["case_id"], again["case_id"]);
    assert_eq!(first["risk"], again["risk"]);
    let (alerts, jobs): (i64, i64) = sqlx::query_as(
        "select (select count(*) from alert where org_id = $1),
                (select count(*) from job where org_id = $1 and kind = 'send_alert')",
    )
    .bind(who.org.as_uuid())
    .fetch_one(app.db.superuser())
    .await
    .expect("counts");
    assert_eq!((alerts, jobs), (1, 1));
}
