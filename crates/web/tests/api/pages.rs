//! The page skeleton: sign-in and MFA forms, redirects for the
//! unauthenticated, HTML error pages, assets, and the template rules that
//! keep the CSP strict.

use crate::{PASSWORD, TestApp, current_code, session_cookie};
use reqwest::StatusCode;

fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn is_html(res: &reqwest::Response) -> bool {
    res.headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"))
}

#[tokio::test]
async fn unauthenticated_pages_redirect_to_sign_in_with_next() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let res = app.get("/", None).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/login?next=%2F");
    // A stale or forged cookie is the same as none.
    let res = app
        .get("/", Some(&format!("sentra_session={}", "0".repeat(32))))
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    // htmx requests get HX-Redirect instead of a 303 htmx would follow.
    let res = app
        .client
        .get(app.url("/"))
        .header("hx-request", "true")
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        res.headers()
            .get("hx-redirect")
            .and_then(|v| v.to_str().ok()),
        Some("/login?next=%2F")
    );
}

#[tokio::test]
async fn password_only_sign_in_by_form_returns_to_next() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let who = app.seed("form@example.test", false).await;
    let res = app.get("/login?next=/cases", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(is_html(&res));
    let csp = res
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));
    let html = res.text().await.expect("body");
    assert!(html.contains(r#"name="next" value="/cases""#), "{html}");
    assert!(html.contains(r#"<main id="main""#) && html.contains(r##"href="#main""##));

    let res = app
        .post_form(
            "/login",
            &[
                ("email", &who.email),
                ("password", "wrong password"),
                ("next", "/"),
            ],
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(session_cookie(res.headers()).is_none());
    let html = res.text().await.expect("body");
    assert!(html.contains("do not match"), "{html}");
    assert!(html.contains(r#"value="form@example.test""#));

    let res = app
        .post_form(
            "/login",
            &[
                ("email", &who.email),
                ("password", PASSWORD),
                ("next", "/cases"),
            ],
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/cases");
    let cookie = session_cookie(res.headers()).expect("cookie");
    let res = app.get("/", Some(&cookie)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.expect("body");
    assert!(html.contains("Org of form@example.test"), "{html}");
    assert!(html.contains(r#"action="/logout""#));
    assert!(html.contains(r#"href="/" aria-current="page""#));

    // Sign out by form; the cookie is dead afterwards.
    let res = app.post_form("/logout", &[], Some(&cookie)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/login");
    assert_eq!(
        app.get("/", Some(&cookie)).await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn mfa_users_pass_the_code_page_before_any_page() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let who = app.seed("mfa-form@example.test", true).await;
    let res = app
        .post_form(
            "/login",
            &[
                ("email", &who.email),
                ("password", PASSWORD),
                ("next", "/cases?page=2"),
            ],
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/login/mfa?next=%2Fcases%3Fpage%3D2");
    let half = session_cookie(res.headers()).expect("cookie");
    // Password alone opens no page.
    let res = app.get("/", Some(&half)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/login/mfa?next=%2F");
    let res = app.get("/login/mfa?next=/", Some(&half)).await;
    assert_eq!(res.status(), StatusCode::OK);

    let res = app
        .post_form(
            "/login/mfa",
            &[("code", "000000"), ("next", "/")],
            Some(&half),
        )
        .await;
    // (A wrong code; 000000 being right by chance fails the test 1 in 10^6.)
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.text().await.expect("body").contains("not accepted"));

    let secret = who.secret.as_deref().expect("secret");
    let res = app
        .post_form(
            "/login/mfa",
            &[("code", &current_code(secret)), ("next", "/cases")],
            Some(&half),
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/cases");
    let full = session_cookie(res.headers()).expect("rotated cookie");
    assert_ne!(full, half);
    assert_eq!(app.get("/", Some(&full)).await.status(), StatusCode::OK);
    // The pre-MFA id is gone (rotated).
    assert_eq!(
        app.get("/", Some(&half)).await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn next_cannot_point_off_site() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let who = app.seed("next@example.test", false).await;
    for evil in [
        "//evil.example/x",
        "https://evil.example/",
        "/\\evil.example",
    ] {
        let res = app
            .post_form(
                "/login",
                &[
                    ("email", &who.email),
                    ("password", PASSWORD),
                    ("next", evil),
                ],
                None,
            )
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&res), "/", "{evil}");
    }
}

#[tokio::test]
async fn cross_origin_form_posts_are_refused() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let res = app
        .client
        .post(app.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", "http://evil.example")
        .body("email=a%40b.c&password=x")
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn errors_are_html_pages_outside_the_api_and_json_inside() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let res = app.get("/no-such-page", None).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(is_html(&res));
    assert!(res.text().await.expect("body").contains("Page not found"));
    let res = app.get("/api/v1/no-such-route", None).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(crate::error_code(res).await, "not_found");
    // A malformed form body is a 400 page, nothing else.
    let res = app
        .client
        .post(app.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("email=only")
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(is_html(&res));
}

#[tokio::test]
async fn assets_are_served_from_the_binary_with_long_caching() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let html = app.get("/login", None).await.text().await.expect("body");
    let css = sentra_web::assets::css_href();
    let js = sentra_web::assets::htmx_href();
    assert!(html.contains(&format!(r#"href="{css}""#)));
    assert!(html.contains(&format!(r#"<script src="{js}" defer></script>"#)));
    for (path, kind) in [(css, "text/css"), (js, "text/javascript")] {
        let res = app.get(path, None).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let h = res.headers();
        assert!(
            h.get("content-type")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with(kind))
        );
        assert_eq!(
            h.get("cache-control").and_then(|v| v.to_str().ok()),
            Some("public, max-age=31536000, immutable")
        );
    }
    assert_eq!(
        app.get("/assets/app-000000000000.css", None).await.status(),
        StatusCode::NOT_FOUND
    );
}

/// Every template is free of inline script and style, inline event
/// handlers and `hx-on` (which needs eval): the CSP would block them, and
/// they are the usual carriers of injected script.
#[test]
fn templates_have_no_inline_script_or_style() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    let mut stack = vec![dir];
    let mut seen = 0;
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("templates dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            seen += 1;
            let text = std::fs::read_to_string(&path)
                .expect("template")
                .to_lowercase();
            let name = path.display();
            for (i, _) in text.match_indices("<script") {
                let tag_end = text[i..].find('>').map_or(text.len(), |e| i + e);
                assert!(
                    text[i..tag_end].contains(" src="),
                    "{name}: inline <script>"
                );
            }
            assert!(!text.contains("<style"), "{name}: <style>");
            assert!(!text.contains(" style="), "{name}: style attribute");
            assert!(!text.contains("hx-on"), "{name}: hx-on");
            assert!(!text.contains("javascript:"), "{name}: javascript: URL");
            let bytes = text.as_bytes();
            for (i, _) in text.match_indices(" on") {
                // ` onclick=`, ` onload=` …: an attribute name of letters then `=`.
                let rest = &bytes[i + 3..];
                let letters = rest.iter().take_while(|b| b.is_ascii_lowercase()).count();
                assert!(
                    !(letters > 0 && rest.get(letters) == Some(&b'=')),
                    "{name}: inline event handler"
                );
            }
        }
    }
    assert!(seen >= 4, "templates found: {seen}");
}
