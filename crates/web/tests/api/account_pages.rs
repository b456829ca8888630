//! Account pages beyond sign-in: the public sign-up form (through
//! authenticator enrolment to a signed-in dashboard) and the step-up form.

use crate::account::base32_decode;
use crate::{PASSWORD, TestApp, current_code, session_cookie};
use reqwest::StatusCode;

fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// The key shown for typing by hand on the enrolment page.
fn typed_secret(html: &str) -> Vec<u8> {
    let start = html.find("<code class=\"secret\">").expect("secret shown") + 21;
    let end = start + html[start..].find("</code>").expect("secret end");
    base32_decode(&html[start..end])
}

#[tokio::test]
async fn signup_enrol_and_sign_in_by_forms() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let res = app.get("/login", None).await;
    assert!(res.text().await.expect("body").contains("href=\"/signup\""));
    let res = app.get("/signup", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.expect("body");
    for id in ["organisation", "email", "password"] {
        assert!(html.contains(&format!("<label for=\"{id}\"")), "{id}");
    }

    // Refused: too-short password; the form comes back with what was typed.
    let res = app
        .post_form(
            "/signup",
            &[
                ("organisation", "Form Build"),
                ("email", "owner@form.test"),
                ("password", "short"),
            ],
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(session_cookie(res.headers()).is_none());
    let html = res.text().await.expect("body");
    assert!(html.contains("Form Build") && html.contains("12 to 128"));

    let res = app
        .post_form(
            "/signup",
            &[
                ("organisation", "Form Build"),
                ("email", "owner@form.test"),
                ("password", PASSWORD),
            ],
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/account/mfa");
    let cookie = session_cookie(res.headers()).expect("cookie");

    // The same address again is refused with a page, not an account.
    let res = app
        .post_form(
            "/signup",
            &[
                ("organisation", "Other"),
                ("email", "owner@form.test"),
                ("password", PASSWORD),
            ],
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);

    // Enrol: the page shows the QR code and the key to type.
    let res = app.get("/account/mfa", Some(&cookie)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.expect("body");
    assert!(html.contains("<svg"));
    let secret = typed_secret(&html);
    let res = app
        .post_form(
            "/account/mfa",
            &[("code", &current_code(&secret))],
            Some(&cookie),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    // Sign in again from scratch: password, then the code.
    let res = app
        .post_form(
            "/login",
            &[
                ("email", "owner@form.test"),
                ("password", PASSWORD),
                ("next", "/"),
            ],
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/login/mfa?next=%2F");
    let half = session_cookie(res.headers()).expect("cookie");
    // The code just used for enrolment may not be replayed; wait for the
    // next window rather than guessing.
    let used = current_code(&secret);
    let mut code = current_code(&secret);
    for _ in 0..70 {
        if code != used {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        code = current_code(&secret);
    }
    let res = app
        .post_form("/login/mfa", &[("code", &code), ("next", "/")], Some(&half))
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let full = session_cookie(res.headers()).expect("cookie");
    let res = app.get("/", Some(&full)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.expect("body").contains("Form Build"));
}

#[tokio::test]
async fn signup_form_from_another_origin_is_refused() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let before = app.count("app_user").await;
    let res = app
        .client
        .post(app.url("/signup"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", "http://evil.example")
        .body("organisation=X&email=x%40evil.test&password=a+long+enough+password")
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count("app_user").await, before);
}

#[tokio::test]
async fn step_up_page_checks_the_code_and_returns_same_site_only() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    // Signed out: to sign-in, coming back here.
    let res = app.get("/account/step-up?next=/suppliers", None).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&res),
        "/login?next=%2Faccount%2Fstep-up%3Fnext%3D%252Fsuppliers"
    );

    let who = app.seed_owner("stepper@example.test").await;
    let cookie = app.sign_in(&who).await;
    let res = app
        .get("/account/step-up?next=/suppliers", Some(&cookie))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.expect("body");
    assert!(html.contains("<label for=\"code\"") && html.contains("value=\"/suppliers\""));

    let res = app
        .post_form(
            "/account/step-up",
            &[("code", "000000"), ("next", "/suppliers")],
            Some(&cookie),
        )
        .await;
    // (000000 being the right code by chance fails this 1 in 10^6.)
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // Cross-origin: refused before anything is checked.
    let res = app
        .client
        .post(app.url("/account/step-up"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", "http://evil.example")
        .header("cookie", &cookie)
        .body("code=123456&next=%2F")
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let secret = who.secret.as_deref().expect("secret");
    let mut code = current_code(secret);
    let mut res = app
        .post_form(
            "/account/step-up",
            &[("code", &code), ("next", "//evil.example/x")],
            Some(&cookie),
        )
        .await;
    // The sign-in may have used this window's code; then wait for the next.
    for _ in 0..70 {
        if res.status() == StatusCode::SEE_OTHER {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let now = current_code(secret);
        if now == code {
            continue;
        }
        code = now;
        res = app
            .post_form(
                "/account/step-up",
                &[("code", &code), ("next", "//evil.example/x")],
                Some(&cookie),
            )
            .await;
    }
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/");
    let rotated = session_cookie(res.headers()).expect("rotated cookie");
    assert_ne!(rotated, cookie);
    assert!(
        app.audit_actions(who.org)
            .await
            .contains(&"auth.step_up".to_owned())
    );
}

#[tokio::test]
async fn settings_page_for_admins_saves_by_form() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let res = app.get("/settings", None).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/login?next=%2Fsettings");

    let clerk = app.seed("clerk.settings@example.test", false).await;
    let clerk_cookie = app.sign_in(&clerk).await;
    let res = app.get("/settings", Some(&clerk_cookie)).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let owner = app.seed_owner("owner.settings@example.test").await;
    let cookie = app.sign_in(&owner).await;
    let res = app.get("/settings", Some(&cookie)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.expect("body");
    for id in [
        "require_mfa",
        "raw_email_days",
        "messages_months",
        "alert_min_risk",
    ] {
        assert!(html.contains(&format!("<label for=\"{id}\"")), "{id}");
    }
    let require = if html.contains("<option value=\"true\" selected") {
        "true"
    } else {
        "false"
    };
    let fields = |days: &'static str| {
        [
            ("require_mfa", require),
            ("raw_email_days", days),
            ("messages_months", "24"),
            ("alert_min_risk", "high"),
        ]
    };

    // Out of range: refused, nothing written.
    let res = app
        .post_form("/settings", &fields("0"), Some(&cookie))
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    // A clerk's post changes nothing either.
    let res = app
        .post_form("/settings", &fields("91"), Some(&clerk_cookie))
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // Nor does one from another site.
    let res = app
        .client
        .post(app.url("/settings"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", "http://evil.example")
        .header("cookie", &cookie)
        .body(format!(
            "require_mfa={require}&raw_email_days=92&messages_months=24&alert_min_risk=high"
        ))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(
        !app.audit_actions(owner.org)
            .await
            .contains(&"settings.update".to_owned())
    );

    let res = app
        .post_form("/settings", &fields("90"), Some(&cookie))
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/settings?saved=1");
    let html = app
        .get("/settings?saved=1", Some(&cookie))
        .await
        .text()
        .await
        .expect("body");
    assert!(html.contains("value=\"90\"") && html.contains("Saved."));
    assert!(
        app.audit_actions(owner.org)
            .await
            .contains(&"settings.update".to_owned())
    );
}
