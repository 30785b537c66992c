//! The HTTP surface besides POST /graphql: GraphiQL, health, readiness, metrics.

use crate::common::{company_input, TestApp};
use api::auth::Role;
use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use tower::ServiceExt;

pub(crate) async fn get(t: &TestApp, path: &str) -> (u16, String) {
    get_from(t, path, None, &[]).await
}

/// `GET path` from `peer` (none: as an in-process call) with `headers`.
pub(crate) async fn get_from(
    t: &TestApp,
    path: &str,
    peer: Option<&str>,
    headers: &[(&str, &str)],
) -> (u16, String) {
    let mut req = Request::get(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut req = req.body(Body::empty()).unwrap();
    if let Some(p) = peer {
        let addr: std::net::SocketAddr = p.parse().unwrap();
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(addr));
    }
    let resp = t.router.clone().oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn graphiql_health_readiness_and_metrics_are_served() {
    let t = TestApp::spawn().await;
    let (status, html) = get(&t, "/graphql").await;
    assert_eq!(status, 200);
    assert!(html.to_lowercase().contains("graphiql"));
    assert_eq!(get(&t, "/healthz").await, (200, "ok".to_owned()));
    assert_eq!(get(&t, "/readyz").await.0, 200);

    let manager = t.sign_in(Role::Manager, &[]).await;
    t.company(&manager, company_input("7707083893", "773601001"))
        .await;
    t.register(&manager, company_input("7707083894", "773601001"))
        .await;
    // Only the host itself (or a caller with the metrics token) reads the metrics.
    assert_eq!(
        get_from(&t, "/metrics", Some("192.0.2.10:4000"), &[])
            .await
            .0,
        403
    );
    let (status, metrics) = get_from(&t, "/metrics", Some("127.0.0.1:4000"), &[]).await;
    assert_eq!(status, 200);
    for needle in [
        "cabinet_commands_total{aggregate=\"Company\",outcome=\"ok\"}",
        "cabinet_events_appended_total{aggregate=\"Company\"}",
        "cabinet_command_duration_seconds_bucket",
        "cabinet_graphql_requests_total{outcome=\"ok\"}",
        "cabinet_graphql_errors_total{code=\"VALIDATION\"}",
    ] {
        assert!(metrics.contains(needle), "{needle} missing from\n{metrics}");
    }
}

#[tokio::test]
async fn readiness_fails_when_the_database_is_gone() {
    let t = TestApp::spawn().await;
    t.pool.close().await;
    assert_eq!(get(&t, "/readyz").await.0, 503);
}
