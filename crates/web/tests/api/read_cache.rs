//! The read cache (`web::read_cache`): hot pages are served from memory
//! until this process writes anything, sign-out and revocation through this
//! process take effect at once, and organisations never see each other's
//! cached pages. The lifetime is a minute here so nothing expires by itself
//! while a test runs on a slow machine.

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

#[tokio::test]
async fn a_cached_page_is_served_until_this_process_writes() {
    let Some(app) = TestApp::spawn_cached(TTL).await else {
        return;
    };
    let owner = app.seed_owner_of("owner@acme.test", "Acme Roofing").await;
    let cookie = app.sign_in(&owner).await;
    let other = second_session(&app, &owner).await;
    let (status, page) = text(&app, "/", &cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Acme Roofing"));
    // A change this process did not make is not seen while the entry lives.
    sqlx::query("update organisation set name = 'Acme Renamed' where id = $1")
        .bind(owner.org.as_uuid())
        .execute(app.db.superuser())
        .await
        .expect("rename");
    let (_, page) = text(&app, "/", &cookie).await;
    assert!(page.contains("Acme Roofing") && !page.contains("Acme Renamed"));
    let (_, api) = text(&app, "/api/v1/messages", &cookie).await;
    // Any write through this process ends every entry.
    let res = app
        .call(Method::POST, "/api/v1/auth/logout", None, Some(&other))
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    let (status, page) = text(&app, "/", &cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Acme Renamed"));
    let (status, again) = text(&app, "/api/v1/messages", &cookie).await;
    assert_eq!((status, again), (StatusCode::OK, api));
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
