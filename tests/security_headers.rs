//! Security headers on every response: nosniff and a referrer policy everywhere (errors and
//! 404s too), framing refused for the console only, HSTS only behind an https public URL.

use crate::common::TestApp;

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    reqwest::get(format!("{}{path}", app.url())).await.unwrap()
}

fn header(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
}

fn assert_nosniff(r: &reqwest::Response) {
    assert_eq!(
        header(r, "x-content-type-options").as_deref(),
        Some("nosniff")
    );
}

#[tokio::test]
async fn an_api_error_carries_nosniff_and_a_referrer_policy() {
    let app = TestApp::start().await;
    let r = get(&app, "/api/me").await;
    assert_eq!(r.status(), 401);
    assert_nosniff(&r);
    assert_eq!(
        header(&r, "referrer-policy").as_deref(),
        Some("strict-origin-when-cross-origin")
    );
}

#[tokio::test]
async fn an_unknown_api_path_carries_nosniff_and_a_referrer_policy() {
    let app = TestApp::start().await;
    let r = get(&app, "/api/no-such-thing").await;
    assert_eq!(r.status(), 404);
    assert_nosniff(&r);
    assert!(header(&r, "referrer-policy").is_some());
}

#[tokio::test]
async fn the_console_refuses_framing_and_keeps_its_own_referrer_policy() {
    let app = TestApp::start().await;
    let r = get(&app, "/").await;
    let csp = header(&r, "content-security-policy").unwrap_or_default();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(
        header(&r, "referrer-policy").as_deref(),
        Some("same-origin")
    );
}

#[tokio::test]
async fn the_widget_script_and_demo_page_may_be_framed() {
    let app = TestApp::start().await;
    for path in ["/widget.js", "/demo"] {
        let r = get(&app, path).await;
        let csp = header(&r, "content-security-policy").unwrap_or_default();
        assert!(!csp.contains("frame-ancestors"), "{path}: {csp}");
        assert!(header(&r, "x-frame-options").is_none(), "{path}");
        assert_nosniff(&r);
    }
}

#[tokio::test]
async fn no_hsts_when_the_public_url_is_http() {
    let app = TestApp::start_with(|c| c.public_url = "http://chat.example".into()).await;
    let r = get(&app, "/healthz").await;
    assert!(header(&r, "strict-transport-security").is_none());
}

#[tokio::test]
async fn hsts_when_the_public_url_is_https() {
    let app = TestApp::start_with(|c| c.public_url = "https://chat.example".into()).await;
    let r = get(&app, "/healthz").await;
    assert_eq!(
        header(&r, "strict-transport-security").as_deref(),
        Some("max-age=31536000; includeSubDomains")
    );
}
