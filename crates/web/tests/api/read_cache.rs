//! The read cache (`web::read_cache`): hot pages are served from memory
//! until their organisation changes (a notification from the database,
//! whoever made the change) or this process writes, sign-out and revocation
//! through this process take effect at once, and organisations never see
//! each other's cached pages. The lifetime is a minute here so nothing
//! expires by itself while a test runs on a slow machine.

use crate::TestApp;
use reqwest::{Method, StatusCode};
use std::time::Duration;

const TTL: Duration = Duration::from_mins(1);

async fn text(app: &TestApp, path: &str, cookie: &str) -> (StatusCode, String) {
    let res = app.get(path, Some(cookie)).await;
    (res.status(), res.text().await.expect("body"))
}

/// A second session for the same person (TOTP codes work once per step, so
/// the replay guard is reset first, as a new time step would).
async fn second_session(app: &TestApp, seeded: &crate::Seeded) -> String {
    sqlx::query("update app_user set last_totp_step = null")
        .execute(app.db.superuser())
        .await
        .expect("reset step");
    app.sign_in(seeded).await
}

/// Waits until the app follows the database's change notifications.
async fn live(app: &TestApp) {
    for _ in 0..200 {
        if app.read_cache.live() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the read cache never started following changes");
}

/// Reloads `path` until the page contains `want` (the notification
/// arrives a few milliseconds after the commit; the bound is generous for
/// a busy machine, and far below the one-minute lifetime).
async fn until_seen(app: &TestApp, path: &str, cookie: &str, want: &str) {
    for _ in 0..200 {
        if text(app, path, cookie).await.1.contains(want) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{path} never showed {want:?}");
}

/// Runs `sql` (binding `org`) as the superuser without firing triggers, so
/// no notification is sent: what a cached page does not hear of, it keeps
/// serving.
async fn quietly(app: &TestApp, sql: &'static str, org: sentra_domain::OrgId) {
    let mut tx = app.db.superuser().begin().await.expect("begin");
    sqlx::query("set local session_replication_role = replica")
        .execute(&mut *tx)
        .await
        .expect("replica");
    sqlx::query(sql)
        .bind(org.as_uuid())
        .execute(&mut *tx)
        .await
        .expect("quiet change");
    tx.commit().await.expect("commit");
}

const QUIET_MAILBOX: &str = "insert into mailbox (org_id, provider, address) \
     values ($1, 'm365', 'quiet-' || left($1::text, 8) || '@example.test')";

#[tokio::test]
async fn a_cached_page_is_served_until_its_organisation_changes_anywhere() {
    let Some(app) = TestApp::spawn_cached(TTL).await else {
        return;
    };
    live(&app).await;
    let a = app.seed_owner_of("a@acme.test", "Acme Roofing").await;
    let b = app.seed_owner_of("b@bolt.test", "Bolt Plumbing").await;
    let (ca, cb) = (app.sign_in(&a).await, app.sign_in(&b).await);
    let quiet = |o: sentra_domain::OrgId| format!("quiet-{}", &o.as_uuid().to_string()[..8]);
    for (cookie, name) in [(&ca, "Acme Roofing"), (&cb, "Bolt Plumbing")] {
        let (status, page) = text(&app, "/", cookie).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains(name));
    }
    // Changes nobody was told of are not seen: the pages come from memory.
    quietly(&app, QUIET_MAILBOX, a.org).await;
    quietly(&app, QUIET_MAILBOX, b.org).await;
    assert!(!text(&app, "/", &ca).await.1.contains(&quiet(a.org)));
    assert!(!text(&app, "/", &cb).await.1.contains(&quiet(b.org)));
    // A change to one of A's rows made outside this process, as the worker
    // or another web process would (here psql), notifies A at its commit.
    sqlx::query("insert into supplier (org_id, name) values ($1, 'Notified Ltd')")
        .bind(a.org.as_uuid())
        .execute(app.db.superuser())
        .await
        .expect("supplier");
    until_seen(&app, "/", &ca, &quiet(a.org)).await;
    // Organisation B heard nothing and is still served from memory.
    assert!(!text(&app, "/", &cb).await.1.contains(&quiet(b.org)));
    // Renaming A (its own row, which every session check reads) reaches
    // the cached session check too.
    sqlx::query("update organisation set name = 'Acme Renamed' where id = $1")
        .bind(a.org.as_uuid())
        .execute(app.db.superuser())
        .await
        .expect("rename");
    until_seen(&app, "/", &ca, "Acme Renamed").await;
    // A write through this process ends the writer's entries before it
    // answers, with no wait for the notification.
    let api = text(&app, "/api/v1/messages", &cb).await.1;
    let res = app
        .call(Method::POST, "/api/v1/auth/logout", None, Some(&cb))
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(
        app.get("/api/v1/messages", Some(&cb)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let cb = second_session(&app, &b).await;
    let (status, page) = text(&app, "/", &cb).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(&quiet(b.org)), "{page}");
    assert_eq!(text(&app, "/api/v1/messages", &cb).await.1, api);
}

#[tokio::test]
async fn revocation_and_sign_out_here_take_effect_at_once() {
    let Some(app) = TestApp::spawn_cached(TTL).await else {
        return;
    };
    let owner = app.seed_owner("owner@acme.test").await;
    let phone = app.sign_in(&owner).await;
    let laptop = second_session(&app, &owner).await;
    for path in ["/", "/messages", "/api/v1/messages"] {
        assert_eq!(app.get(path, Some(&phone)).await.status(), StatusCode::OK);
        assert_eq!(app.get(path, Some(&laptop)).await.status(), StatusCode::OK);
    }
    let list: serde_json::Value = app
        .call(Method::GET, "/api/v1/auth/sessions", None, Some(&laptop))
        .await
        .json()
        .await
        .expect("json");
    let phone_id = list
        .as_array()
        .and_then(|l| l.iter().find(|s| s["current"] == false))
        .and_then(|s| s["id"].as_str())
        .expect("the phone's session")
        .to_owned();
    let res = app
        .call(
            Method::DELETE,
            &format!("/api/v1/auth/sessions/{phone_id}"),
            None,
            Some(&laptop),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    // The revoked session's cached pages are gone with it.
    assert_eq!(
        app.get("/api/v1/messages", Some(&phone)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    for path in ["/", "/messages"] {
        let res = app.get(path, Some(&phone)).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{path}");
    }
    assert_eq!(app.get("/", Some(&laptop)).await.status(), StatusCode::OK);
    let res = app
        .call(Method::POST, "/api/v1/auth/logout", None, Some(&laptop))
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(
        app.get("/api/v1/messages", Some(&laptop)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get("/", Some(&laptop)).await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn organisations_never_see_each_others_cached_pages() {
    let Some(app) = TestApp::spawn_cached(TTL).await else {
        return;
    };
    let a = app.seed_owner_of("a@acme.test", "Acme Roofing").await;
    let b = app.seed_owner_of("b@bolt.test", "Bolt Plumbing").await;
    let (ca, cb) = (app.sign_in(&a).await, app.sign_in(&b).await);
    for _ in 0..2 {
        for path in ["/", "/messages"] {
            let (_, pa) = text(&app, path, &ca).await;
            let (_, pb) = text(&app, path, &cb).await;
            assert!(pa.contains("Acme Roofing") && !pa.contains("Bolt Plumbing"));
            assert!(pb.contains("Bolt Plumbing") && !pb.contains("Acme Roofing"));
        }
    }
    // Without a session the pages still send people to sign in.
    assert_eq!(app.get("/", None).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.get("/api/v1/messages", None).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_cached_session_ends_at_its_absolute_deadline() {
    let Some(app) = TestApp::spawn_cached(TTL).await else {
        return;
    };
    live(&app).await;
    let owner = app.seed_owner("owner@acme.test").await;
    let cookie = app.sign_in(&owner).await;
    // Twelve hours old but for four seconds, changed without a notification:
    // the cache only learns the deadline from the session check itself.
    let mut tx = app.db.superuser().begin().await.expect("begin");
    sqlx::query("set local session_replication_role = replica")
        .execute(&mut *tx)
        .await
        .expect("replica");
    sqlx::query(
        "update session set created_at = now() - interval '12 hours' + interval '4 seconds'",
    )
    .execute(&mut *tx)
    .await
    .expect("age");
    tx.commit().await.expect("commit");
    assert_eq!(app.get("/", Some(&cookie)).await.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        app.get("/", Some(&cookie)).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.get("/api/v1/messages", Some(&cookie)).await.status(),
        StatusCode::UNAUTHORIZED
    );
}
