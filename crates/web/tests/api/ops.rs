//! Public pages and the contact form, `/metrics`, and the `OpenAPI`
//! document's completeness against the router source.

use crate::TestApp;
use crate::support::{count, page};
use reqwest::StatusCode;
use std::collections::BTreeSet;

#[tokio::test]
async fn public_pages_render_without_a_session() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    for (path, text) in [
        ("/security", "row-level security"),
        ("/privacy", "session cookie"),
        ("/terms", "decision to pay stays with you"),
        ("/contact", "Work email"),
    ] {
        let res = app.get(path, None).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let csp = res
            .headers()
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(csp.contains("script-src 'self'"), "{path}");
        let html = res.text().await.expect("body");
        assert!(html.contains(text), "{path}");
        assert!(html.contains("href=\"/privacy\""), "footer links");
    }
}

#[tokio::test]
async fn the_contact_form_stores_good_enquiries_only() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let stored = || count(&app, "select count(*) from contact_enquiry");
    let bad = [
        vec![("name", ""), ("email", "sam@builder.example")],
        vec![("name", "Sam"), ("email", "not an email")],
        vec![
            ("name", "Sam"),
            ("email", "sam@builder.example"),
            ("company_size", "huge"),
        ],
        vec![
            ("name", "Sam"),
            ("email", "sam@builder.example"),
            ("phone", "call me maybe"),
        ],
    ];
    for fields in &bad {
        let res = app.post_form("/contact", fields, None).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{fields:?}");
        assert!(
            res.text()
                .await
                .expect("body")
                .contains("Please check the form")
        );
    }
    assert_eq!(stored().await, 0);
    let long = "x".repeat(4001);
    let res = app
        .post_form(
            "/contact",
            &[
                ("name", "Sam"),
                ("email", "sam@builder.example"),
                ("message", &long),
            ],
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(stored().await, 0);

    // The per-address limit (5 per window) is already used up by the five
    // bad posts above: the next is throttled, nothing stored.
    let good = [
        ("name", "Sam Builder"),
        ("email", "sam@builder.example"),
        ("company", "Builder Ltd"),
        ("phone", "+44 20 7946 0000"),
        ("company_size", "10-49"),
        ("message", "We pay 200 invoices a month."),
    ];
    let res = app.post_form("/contact", &good, None).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(stored().await, 0);
}

#[tokio::test]
async fn a_good_enquiry_is_stored_and_the_honeypot_drops_bots() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let good = [
        ("name", "Sam Builder"),
        ("email", "sam@builder.example"),
        ("company", "Builder Ltd"),
        ("company_size", "10-49"),
        ("message", "Hello"),
    ];
    let res = app.post_form("/contact", &good, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.expect("body").contains("Thank you"));
    assert_eq!(count(&app, "select count(*) from contact_enquiry").await, 1);
    let mut bot = good.to_vec();
    bot.push(("website", "http://spam.example"));
    let res = app.post_form("/contact", &bot, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(count(&app, "select count(*) from contact_enquiry").await, 1);
}

#[tokio::test]
async fn metrics_are_prometheus_text_by_route_template() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let _ = app.get("/healthz", None).await;
    let _ = app
        .get(&format!("/api/v1/cases/{}", uuid_like()), None)
        .await;
    let res = app.get("/metrics", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/plain; version=0.0.4"))
    );
    let text = res.text().await.expect("body");
    assert!(text.contains("sentra_build_info{version="));
    assert!(text.contains("# TYPE sentra_http_request_duration_seconds histogram"));
    assert!(text.contains(
        "sentra_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 1"
    ));
    assert!(
        text.contains("route=\"/api/v1/cases/{id}\",status=\"401\""),
        "{text}"
    );
    assert!(!text.contains(&uuid_like()), "no ids in labels");
    assert!(text.contains("sentra_db_pool_max_connections"));
    // Every sample line is `name{labels} value` or `name value`.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let value = line.rsplit(' ').next().unwrap_or_default();
        assert!(value.parse::<f64>().is_ok(), "{line}");
    }
}

fn uuid_like() -> String {
    "6f1c1a9e-2b7d-4c1e-9a53-0d2f6b8e4c11".to_owned()
}

/// `(path, method)` of every `.route("…", …)` in `text`, with `prefix`.
fn routes_in(text: &str, prefix: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(".route(") {
        rest = &rest[i + ".route(".len()..];
        let Some(start) = rest.find('"') else { break };
        if !rest[..start].trim().is_empty() {
            continue;
        }
        let Some(len) = rest[start + 1..].find('"') else {
            break;
        };
        let path = &rest[start + 1..start + 1 + len];
        let end = rest.find(".route(").unwrap_or(rest.len());
        let end = rest[..end].find(';').unwrap_or(end);
        let call = &rest[..end];
        for method in ["get", "post", "put", "patch", "delete"] {
            if call.contains(&format!("{method}(")) {
                out.push((format!("{prefix}{path}"), method.to_owned()));
            }
        }
    }
    out
}

/// The API routes in the source: the `let api = …;` block of `lib.rs` and
/// every file under `src/routes/` (where API areas keep their routers).
fn api_routes() -> BTreeSet<(String, String)> {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("lib.rs");
    let start = lib.find("let api = ").expect("the api router in lib.rs");
    let block = &lib[start..];
    let block = &block[..block.find(";\n").expect("end of the api block")];
    let mut found: BTreeSet<_> = routes_in(block, "").into_iter().collect();
    let mut stack = vec![src.join("routes")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("routes dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("source");
                found.extend(routes_in(&text, ""));
            }
        }
    }
    found
}

#[test]
fn every_api_route_is_in_the_openapi_document() {
    let doc = sentra_web::openapi::document();
    assert_eq!(doc["openapi"], "3.1.0");
    let routes = api_routes();
    assert!(routes.len() >= 15, "{routes:?}");
    let missing: Vec<_> = routes
        .iter()
        .filter(|(path, method)| doc["paths"][path.as_str()][method.as_str()].is_null())
        .collect();
    assert!(
        missing.is_empty(),
        "routes missing from openapi.rs: {missing:?}"
    );
    // And nothing documented that does not exist.
    let documented: Vec<(String, String)> = doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(p, ops)| {
            ops.as_object()
                .into_iter()
                .flat_map(|o| o.keys())
                .map(move |m| (p.clone(), m.clone()))
        })
        .collect();
    let stale: Vec<_> = documented.iter().filter(|r| !routes.contains(r)).collect();
    assert!(stale.is_empty(), "documented but not routed: {stale:?}");
}

#[tokio::test]
async fn the_document_is_served() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let (status, body) = page(&app, "/api/v1/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    let doc: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert!(doc["paths"]["/audit/export.csv"]["get"].is_object());
}
