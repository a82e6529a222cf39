//! Starts a web page could send from its visitors' phones: a body without a Content-Type (no
//! CORS preflight), a start a browser marks as cross-site, a GET from an `<img>`. Each is refused
//! before anything is counted or Infobip is called.

use smv_shared::store::MemoryStore;

use crate::helpers::*;
use serde_json::json;

fn start_with_headers(headers: serde_json::Value) -> lambda_http::Request {
    let body = json!({"phoneNumber": PHONE}).to_string();
    parse_event(&http_api_event(
        "POST",
        "/verifications",
        headers,
        Some(&body),
        DEVICE_IP,
    ))
}

#[tokio::test]
async fn a_start_without_a_json_content_type_is_415() {
    let store = FaultyStore::new(MemoryStore::new());
    let t = test_app_with(&[], store.clone()).await;
    // What `fetch(url, {mode: "no-cors", method: "POST", body: new Blob([json])})` sends.
    let no_type = t.send(start_with_headers(json!({}))).await;
    assert_problem(&no_type, 415);
    assert!(store.calls().is_empty());
    assert!(t.infobip_requests().await.is_empty());
}

#[tokio::test]
async fn a_start_a_browser_marks_as_cross_site_is_403_unless_its_origin_is_allowed() {
    let env = [("CORS_ALLOWED_ORIGINS", "https://shop.example.com")];
    let store = FaultyStore::new(MemoryStore::new());
    let t = test_app_with(&env, store.clone()).await;
    for (site, origin) in [
        ("cross-site", "https://evil.example"),
        ("same-site", "https://sub.example.com"),
        ("cross-site", ""),
    ] {
        let headers =
            json!({"content-type": "application/json", "sec-fetch-site": site, "origin": origin});
        let refused = t.send(start_with_headers(headers)).await;
        assert_eq!(
            assert_problem(&refused, 403)["type"],
            "urn:smv:problem:cross-site-start",
            "{site} {origin}"
        );
    }
    assert!(store.calls().is_empty(), "nothing was counted");
    assert!(t.infobip_requests().await.is_empty());

    t.infobip_redirects(TOKEN).await;
    let allowed = json!({"content-type": "application/json", "sec-fetch-site": "cross-site", "origin": "https://shop.example.com"});
    assert_eq!(t.send(start_with_headers(allowed)).await.status(), 201);
    t.reset_infobip().await;
    t.infobip_redirects(OTHER_TOKEN).await;
    let own_page = json!({"content-type": "application/json", "sec-fetch-site": "same-origin"});
    assert_eq!(t.send(start_with_headers(own_page)).await.status(), 201);
}

#[tokio::test]
async fn the_demo_app_routes_are_off_unless_configured() {
    let store = FaultyStore::new(MemoryStore::new());
    let t = test_app_with(&[("DEMO_APP_ROUTES", "false")], store.clone()).await;
    for path in [
        "/verify/447911123456".to_owned(),
        format!("/verify/result/{TOKEN}"),
        "/device-address".to_owned(),
    ] {
        assert_problem(&t.send(get(&path)).await, 404);
    }
    assert!(store.calls().is_empty());
    assert!(t.infobip_requests().await.is_empty());
}

#[tokio::test]
async fn an_image_on_another_site_cannot_start_a_demo_verification() {
    let t = test_app_env(&[]).await;
    // What a browser sends for `<img src="https://api/verify/447911123456">` on another site.
    let image = http_api_event(
        "GET",
        "/verify/447911123456",
        json!({"sec-fetch-site": "cross-site", "sec-fetch-dest": "image"}),
        None,
        DEVICE_IP,
    );
    assert_problem(&t.send(parse_event(&image)).await, 403);
    assert!(t.infobip_requests().await.is_empty());
}
