//! The audit API and page: filters, paging, the chain check, the CSV
//! export's step-up, and who may read it.

use crate::support::{member, page};
use crate::{TestApp, error_code};
use reqwest::StatusCode;
use sentra_domain::Role;
use serde_json::Value;

async fn json(app: &TestApp, path: &str, cookie: &str) -> (StatusCode, Value) {
    let res = app.get(path, Some(cookie)).await;
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn owners_list_filter_page_and_verify_the_log() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let owner = app.seed("owner@audit.example", true).await;
    let cookie = app.sign_in(&owner).await;
    // Another organisation's events never show.
    let other = app.seed("owner@elsewhere.example", false).await;
    let _ = app.sign_in(&other).await;

    let (status, body) = json(&app, "/api/v1/audit", &cookie).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let events = body["events"].as_array().expect("events");
    let actions: Vec<&str> = events.iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(
        actions,
        ["auth.mfa.success", "auth.login.success"],
        "newest first"
    );
    assert!(
        events
            .iter()
            .all(|e| e["actor_email"] == "owner@audit.example")
    );

    let (_, body) = json(&app, "/api/v1/audit?action=auth.login", &cookie).await;
    assert_eq!(body["events"].as_array().map(Vec::len), Some(1));
    let (_, body) = json(&app, "/api/v1/audit?action=auth", &cookie).await;
    assert_eq!(body["events"].as_array().map(Vec::len), Some(2), "prefix");
    let (_, body) = json(&app, "/api/v1/audit?actor=nobody@x.example", &cookie).await;
    assert_eq!(body["events"].as_array().map(Vec::len), Some(0));
    let (_, body) = json(&app, "/api/v1/audit?from=2000-01-01&to=2000-01-02", &cookie).await;
    assert_eq!(body["events"].as_array().map(Vec::len), Some(0));

    let (_, first) = json(&app, "/api/v1/audit?limit=1", &cookie).await;
    let next = first["next_before"].as_i64().expect("next page");
    let (_, second) = json(
        &app,
        &format!("/api/v1/audit?limit=1&before={next}"),
        &cookie,
    )
    .await;
    assert_eq!(second["events"][0]["action"], "auth.login.success");
    assert_eq!(second["events"][0]["seq"], 1);

    for bad in [
        "/api/v1/audit?from=yesterday",
        "/api/v1/audit?limit=0",
        "/api/v1/audit?bogus=1",
    ] {
        let res = app.get(bad, Some(&cookie)).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(error_code(res).await, "invalid_filter");
    }

    let (status, body) = json(&app, "/api/v1/audit/verify", &cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["ok"], true);
    assert_eq!(body["head_seq"], 2);

    let (status, html) = page(&app, "/audit?action=auth.login", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Intact") && html.contains("auth.login.success"),
        "{html}"
    );
    assert!(!html.contains("<td>auth.mfa.success</td>"));
}

#[tokio::test]
async fn the_export_needs_a_recent_second_factor_and_is_audited() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    // An owner whose second-factor check is older than the step-up window.
    let stale = app.seed("stale@audit.example", true).await;
    let cookie = app.sign_in(&stale).await;
    crate::suppliers::age_mfa(&app, stale.user, 600).await;
    let res = app.get("/api/v1/audit/export.csv", Some(&cookie)).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(res).await, "step_up_required");

    // Just passed TOTP: allowed.
    let mfa = app.seed("mfa@audit.example", true).await;
    let cookie = app.sign_in(&mfa).await;
    let res = app.get("/api/v1/audit/export.csv", Some(&cookie)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/csv"))
    );
    let csv = res.text().await.expect("csv");
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("seq,at,actor,actor_email,action,target_type,target_id,details,hash")
    );
    assert_eq!(lines.count(), 2, "{csv}");
    let (_, body) = json(&app, "/api/v1/audit?action=audit.export", &cookie).await;
    assert_eq!(body["events"][0]["details"]["rows"], 2);
}

#[tokio::test]
async fn only_owners_and_admins_read_the_log() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let owner = app.seed("owner@roles.example", false).await;
    for (email, role, allowed) in [
        ("admin@roles.example", Role::Admin, true),
        ("approver@roles.example", Role::Approver, false),
        ("clerk@roles.example", Role::Clerk, false),
        ("viewer@roles.example", Role::Viewer, false),
    ] {
        let cookie = member(&app, owner.org, email, role).await;
        for path in [
            "/api/v1/audit",
            "/api/v1/audit/verify",
            "/api/v1/audit/export.csv",
        ] {
            let status = app.get(path, Some(&cookie)).await.status();
            // Members sign in with their code just now, so the export's
            // step-up is satisfied: only the role decides here.
            if allowed {
                assert_eq!(status, StatusCode::OK, "{email} {path}");
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "{email} {path}");
            }
        }
    }
    assert_eq!(
        app.get("/api/v1/audit", None).await.status(),
        StatusCode::UNAUTHORIZED
    );
}
