//! Which address reaches Infobip as `deviceIp` / `devicePort`, for each way a request can arrive,
//! and where the callback URL points.

use std::sync::Arc;

use crate::helpers::*;
use serde_json::{json, Value};
use smv_shared::store::MemoryStore;

fn rest_api_event(path: &str, headers: Value, source_ip: &str) -> Value {
    json!({
        "resource": path, "path": path, "httpMethod": "GET", "headers": headers,
        "requestContext": {
            "accountId": "123456789012", "apiId": "abc123", "domainName": "abc123.execute-api.eu-west-1.amazonaws.com",
            "httpMethod": "GET", "path": format!("/Prod{path}"), "requestId": "r", "resourceId": "x", "resourcePath": path,
            "stage": "Prod", "identity": {"sourceIp": source_ip}
        },
        "body": null, "isBase64Encoded": false
    })
}

fn alb_event(path: &str, forwarded_for: &str) -> Value {
    json!({
        "requestContext": {"elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/smv/abc"}},
        "httpMethod": "GET", "path": path, "queryStringParameters": {},
        "headers": {"x-forwarded-for": forwarded_for, "x-forwarded-port": "443", "x-forwarded-proto": "https", "host": "smv.example.com"},
        "body": "", "isBase64Encoded": false
    })
}

async fn device_address(t: &TestApp, event: Value) -> (u16, Value) {
    let response = t.send(parse_event(&event)).await;
    (response.status().as_u16(), body_json(&response))
}

#[tokio::test]
async fn api_gateway_source_ip_wins_over_a_client_forwarded_for() {
    let t = test_app().await;
    let spoof = json!({"x-forwarded-for": "10.9.9.9", "x-forwarded-port": "51000", "cloudfront-viewer-address": "10.9.9.9:51000"});
    let rest = rest_api_event("/device-address", spoof.clone(), DEVICE_IP);
    assert_eq!(
        device_address(&t, rest).await,
        (200, json!({"address": DEVICE_IP, "port": null}))
    );
    let http = http_api_event(
        "GET",
        "/device-address",
        spoof,
        None,
        "2001:db8:85a3::8a2e:370:7334",
    );
    assert_eq!(
        device_address(&t, http).await,
        (
            200,
            json!({"address": "2001:db8:85a3::8a2e:370:7334", "port": null})
        )
    );
}

#[tokio::test]
async fn alb_forwarded_for_is_read_from_the_right() {
    let t = test_app().await;
    assert_eq!(
        device_address(&t, alb_event("/device-address", "10.9.9.9, 203.0.113.25"))
            .await
            .1["address"],
        "203.0.113.25"
    );
    let behind_cdn = test_app_env(&[("ALB_TRUSTED_PROXY_HOPS", "1")]).await;
    let chain = "10.9.9.9, 203.0.113.25, 130.176.0.1";
    assert_eq!(
        device_address(&behind_cdn, alb_event("/device-address", chain))
            .await
            .1["address"],
        "203.0.113.25"
    );
    let (status, _) =
        device_address(&behind_cdn, alb_event("/device-address", "130.176.0.1")).await;
    assert_eq!(
        status, 400,
        "fewer entries than trusted hops: no device address"
    );
}

#[tokio::test]
async fn trusted_cloudfront_viewer_address_gives_ip_and_port_in_every_form() {
    let env = [
        ("TRUST_CLOUDFRONT_VIEWER_ADDRESS", "true"),
        ("CLOUDFRONT_ORIGIN_SECRET_HEADER", "x-origin-verify"),
        ("CLOUDFRONT_ORIGIN_SECRET", "cdn-only"),
    ];
    let t = test_app_with(&env, Arc::new(MemoryStore::new())).await;
    for (viewer, ip, port) in [
        ("198.51.100.10:46532", "198.51.100.10", 46532),
        ("2001:db8::1:46532", "2001:db8::1", 46532),
        ("[2001:db8::1]:46532", "2001:db8::1", 46532),
    ] {
        let headers = json!({"cloudfront-viewer-address": viewer, "x-origin-verify": "cdn-only"});
        let event = http_api_event("GET", "/device-address", headers, None, "130.176.0.1");
        assert_eq!(
            device_address(&t, event).await,
            (200, json!({"address": ip, "port": port})),
            "{viewer}"
        );
    }
}

#[tokio::test]
async fn cloudfront_headers_without_the_origin_secret_are_refused() {
    let env = [
        ("TRUST_CLOUDFRONT_VIEWER_ADDRESS", "true"),
        ("CLOUDFRONT_ORIGIN_SECRET_HEADER", "x-origin-verify"),
        ("CLOUDFRONT_ORIGIN_SECRET", "cdn-only"),
    ];
    let t = test_app_with(&env, Arc::new(MemoryStore::new())).await;
    t.infobip_answers(200, json!({}), 0).await;
    for headers in [
        json!({"cloudfront-viewer-address": "198.51.100.10:46532"}),
        json!({"cloudfront-viewer-address": "198.51.100.10:46532", "x-origin-verify": "guess"}),
    ] {
        let mut event = http_api_event(
            "POST",
            "/verifications",
            headers,
            Some(r#"{"phoneNumber":"+447911123456"}"#),
            "198.51.100.10",
        );
        event["headers"]["content-type"] = json!("application/json");
        assert_problem(&t.send(parse_event(&event)).await, 403);
    }
}

#[tokio::test]
async fn the_device_port_reaches_infobip_only_from_cloudfront() {
    let env = [
        ("TRUST_CLOUDFRONT_VIEWER_ADDRESS", "true"),
        ("CLOUDFRONT_ORIGIN_SECRET_HEADER", "x-origin-verify"),
        ("CLOUDFRONT_ORIGIN_SECRET", "s3cret"),
    ];
    let t = test_app_with(&env, Arc::new(MemoryStore::new())).await;
    t.infobip_redirects(TOKEN).await;
    let headers = json!({"content-type": "application/json", "cloudfront-viewer-address": "2001:db8::1:46532", "x-origin-verify": "s3cret"});
    let event = http_api_event(
        "POST",
        "/verifications",
        headers,
        Some(r#"{"phoneNumber":"+447911123456"}"#),
        "130.176.0.1",
    );
    assert_eq!(t.send(parse_event(&event)).await.status(), 201);
    let sent = &t.infobip_requests().await[0];
    assert_eq!(
        (&sent["deviceIp"], &sent["devicePort"]),
        (&json!("2001:db8::1"), &json!(46532))
    );
}

#[tokio::test]
async fn callback_url_is_derived_from_api_gateway_never_from_the_host_header() {
    let t = test_app_env(&[("CALLBACK_BASE_URL", "")]).await;
    t.infobip_redirects(TOKEN).await;

    let mut rest = rest_api_event(
        "/verifications",
        json!({"host": "evil.example", "content-type": "application/json"}),
        DEVICE_IP,
    );
    rest["httpMethod"] = json!("POST");
    rest["body"] = json!(r#"{"phoneNumber":"+447911123456"}"#);
    assert_eq!(t.send(parse_event(&rest)).await.status(), 201);
    let rest_url = t.infobip_requests().await[0]["callbackUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    t.reset_infobip().await;
    t.infobip_redirects(OTHER_TOKEN).await;
    let http = http_api_event(
        "POST",
        "/verifications",
        json!({"host": "evil.example", "content-type": "application/json"}),
        Some(r#"{"phoneNumber":"+447911123456"}"#),
        DEVICE_IP,
    );
    assert_eq!(t.send(parse_event(&http)).await.status(), 201);

    let http_url = t.infobip_requests().await[0]["callbackUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        rest_url.starts_with(
            "https://abc123.execute-api.eu-west-1.amazonaws.com/Prod/callbacks/infobip/"
        ),
        "{rest_url}"
    );
    assert!(
        http_url
            .starts_with("https://abc123.execute-api.eu-west-1.amazonaws.com/callbacks/infobip/"),
        "{http_url}"
    );
}

#[tokio::test]
async fn behind_an_alb_the_callback_base_must_be_configured() {
    let t = test_app_env(&[("CALLBACK_BASE_URL", "")]).await;
    t.infobip_answers(200, json!({}), 0).await;
    let mut event = alb_event("/verifications", DEVICE_IP);
    event["httpMethod"] = json!("POST");
    event["headers"]["content-type"] = json!("application/json");
    event["body"] = json!(r#"{"phoneNumber":"+447911123456"}"#);
    let response = t.send(parse_event(&event)).await;
    assert_problem(&response, 500);
}

#[tokio::test]
async fn a_named_http_api_stage_in_the_raw_path_is_not_part_of_the_route() {
    let t = test_app().await;
    let mut event = http_api_event("GET", "/prod/device-address", json!({}), None, DEVICE_IP);
    event["requestContext"]["stage"] = json!("prod");
    assert_eq!(device_address(&t, event).await.0, 200);
}

/// With multi-value headers, a client's own X-Forwarded-For header comes first and the ALB's
/// entry last: all of them are one chain, read from the right.
#[tokio::test]
async fn every_forwarded_for_header_behind_an_alb_is_one_chain() {
    let t = test_app().await;
    let event = json!({
        "requestContext": {"elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/smv/abc"}},
        "httpMethod": "GET", "path": "/device-address",
        "multiValueQueryStringParameters": {},
        "multiValueHeaders": {
            "x-forwarded-for": ["6.6.6.6", "10.9.9.9, 203.0.113.25"],
            "host": ["smv.example.com"]
        },
        "body": "", "isBase64Encoded": false
    });
    let (status, body) = device_address(&t, event).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["address"], "203.0.113.25");
}
