//! `/healthz` and `/readyz`.

use crate::TestApp;
use reqwest::StatusCode;

#[tokio::test]
async fn healthz_and_readyz_answer_200_with_a_database() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    assert_eq!(app.get("/healthz", None).await.status(), StatusCode::OK);
    assert_eq!(app.get("/readyz", None).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn readyz_answers_503_when_the_database_is_gone() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    app.db.app_pool().close().await;
    let res = app.get("/readyz", None).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(crate::error_code(res).await, "unavailable");
    assert_eq!(app.get("/healthz", None).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn unknown_api_paths_are_json_404s() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let res = app.get("/api/v1/nope", None).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(crate::error_code(res).await, "not_found");
}
