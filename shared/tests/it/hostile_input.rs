//! Requests nobody should send: oversized, mistyped, binary, deeply nested, very long. Each is
//! refused with problem+json before any storage call or Infobip call, and nothing panics.

use crate::helpers::*;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use lambda_http::Request;
use serde_json::{json, Value};
use smv_shared::store::MemoryStore;

fn event(method: &str, path: &str, headers: Value, body: Option<&str>, base64: bool) -> Request {
    let mut event = http_api_event(method, path, headers, body, DEVICE_IP);
    event["isBase64Encoded"] = json!(base64);
    parse_event(&event)
}

fn json_post(path: &str, body: &str) -> Request {
    event(
        "POST",
        path,
        json!({"content-type": "application/json"}),
        Some(body),
        false,
    )
}

/// Sends each request to an app whose store records every call, and checks that each one was
/// refused with `status` as problem+json, with no storage call and no Infobip call.
async fn assert_refused_untouched(cases: Vec<(&str, Request, u16)>) {
    let store = FaultyStore::new(MemoryStore::new());
    let t = test_app_with(&[], store.clone()).await;
    for (what, request, status) in cases {
        let response = t.send(request).await;
        assert_eq!(
            response.status().as_u16(),
            status,
            "{what}: {}",
            body_text(&response)
        );
        assert_problem(&response, status);
        assert!(
            store.calls().is_empty(),
            "{what} reached the store: {:?}",
            store.calls()
        );
    }
    assert!(t.infobip_requests().await.is_empty());
}

#[tokio::test]
async fn hostile_starts_are_refused_before_anything_happens() {
    let deep = format!("{}{}", "[".repeat(5_000), "]".repeat(5_000));
    let huge = format!(
        r#"{{"phoneNumber":"+447911123456","pad":"{}"}}"#,
        "x".repeat(20_000)
    );
    let invalid_utf8 = STANDARD.encode([b'{', 0xff, 0xfe, b'}']);
    let cases = vec![
        (
            "a body over the cap",
            json_post("/verifications", &huge),
            413,
        ),
        (
            "a form body",
            event(
                "POST",
                "/verifications",
                json!({"content-type": "application/x-www-form-urlencoded"}),
                Some("phoneNumber=%2B447911123456"),
                false,
            ),
            415,
        ),
        (
            "text/plain",
            event(
                "POST",
                "/verifications",
                json!({"content-type": "text/plain"}),
                Some(r#"{"phoneNumber":"+447911123456"}"#),
                false,
            ),
            415,
        ),
        (
            "deeply nested JSON",
            json_post("/verifications", &deep),
            400,
        ),
        (
            "invalid UTF-8, base64-encoded by API Gateway",
            event(
                "POST",
                "/verifications",
                json!({"content-type": "application/json"}),
                Some(&invalid_utf8),
                true,
            ),
            400,
        ),
        (
            "a duplicated field",
            json_post(
                "/verifications",
                r#"{"phoneNumber":"+447911123456","phoneNumber":"+447911123457"}"#,
            ),
            400,
        ),
        (
            "a number, not a string",
            json_post("/verifications", r#"{"phoneNumber":447911123456}"#),
            400,
        ),
        (
            "a JSON array",
            json_post("/verifications", r#"["+447911123456"]"#),
            400,
        ),
        (
            "NUL in the number",
            json_post("/verifications", r#"{"phoneNumber":"+44791112\u00003456"}"#),
            400,
        ),
        (
            "a 10,000-digit number",
            json_post(
                "/verifications",
                &json!({"phoneNumber": "9".repeat(10_000)}).to_string(),
            ),
            400,
        ),
        (
            "a percent-encoded non-UTF-8 MSISDN",
            get("/verify/%FF%FE447911123456"),
            400,
        ),
        (
            "an 8 kB path",
            get(&format!("/verify/{}", "4".repeat(8_000))),
            400,
        ),
    ];
    assert_refused_untouched(cases).await;
}

#[tokio::test]
async fn malformed_tokens_are_refused_before_any_storage_call() {
    let cases = vec![
        ("not a UUID", get("/verifications/not-a-token"), 400),
        (
            "a URN",
            get("/verifications/urn:uuid:3f1c2b9e-8a7d-4c6b-9e5f-1a2b3c4d5e6f"),
            400,
        ),
        (
            "a parked-callback key",
            get(&format!("/verifications/parked%23{}", "a".repeat(64))),
            400,
        ),
        (
            "a rate-limit key",
            get("/verify/result/limit%23PhoneNumber%23900%231"),
            400,
        ),
        (
            "a very long token",
            get(&format!("/verify/result/{}", "f".repeat(8_000))),
            400,
        ),
        (
            "a token with a path in it",
            get("/verifications/3f1c2b9e-8a7d-4c6b-9e5f-1a2b3c4d5e6f/../x"),
            404,
        ),
    ];
    assert_refused_untouched(cases).await;
}

#[tokio::test]
async fn hostile_callbacks_are_refused_and_change_nothing() {
    let secret = "A".repeat(43);
    let callback = |body: &str| json_post(&format!("/callbacks/infobip/{secret}"), body);
    let cases = vec![
        (
            "no secret",
            json_post("/callbacks/infobip/", r#"{"result":"VALID"}"#),
            404,
        ),
        (
            "a short secret",
            json_post("/callbacks/infobip/abc", r#"{"result":"VALID"}"#),
            404,
        ),
        (
            "an 8 kB secret",
            json_post(&format!("/callbacks/infobip/{}", "A".repeat(8_000)), "{}"),
            404,
        ),
        (
            "an unknown result",
            callback(&json!({"result": "MAYBE", "token": TOKEN}).to_string()),
            400,
        ),
        (
            "no result",
            callback(&json!({"token": TOKEN}).to_string()),
            400,
        ),
        (
            "a token that is not a UUID",
            callback(r#"{"result":"VALID","token":"parked#x"}"#),
            400,
        ),
        (
            "an error id that is not a number",
            callback(&json!({"result": "ERROR", "token": TOKEN, "error": {"id": "x"}}).to_string()),
            400,
        ),
        ("invalid JSON", callback("{\"result\": VALID"), 400),
        ("an empty body", callback(""), 400),
    ];
    assert_refused_untouched(cases).await;
}

#[tokio::test]
async fn very_long_headers_do_not_change_the_outcome() {
    let t = test_app().await;
    t.infobip_redirects(TOKEN).await;
    let chain = vec!["198.51.100.1"; 5_000].join(", ");
    let request = event(
        "POST",
        "/verifications",
        json!({
            "content-type": "application/json",
            "x-forwarded-for": chain,
            "user-agent": "x".repeat(60_000),
            "cloudfront-viewer-address": "not-an-address:::::",
        }),
        Some(&json!({"phoneNumber": PHONE}).to_string()),
        false,
    );
    let response = t.send(request).await;
    assert_eq!(response.status(), 201, "{}", body_text(&response));
    // The device is still the address API Gateway saw, whatever the headers claim.
    assert_eq!(t.infobip_requests().await[0]["deviceIp"], DEVICE_IP);
}

#[tokio::test]
async fn a_base64_encoded_body_from_api_gateway_is_read_like_any_other() {
    let t = test_app().await;
    let encoded = STANDARD.encode(json!({"phoneNumber": PHONE}).to_string());
    t.infobip_redirects(TOKEN).await;
    let started = t
        .send(event(
            "POST",
            "/verifications",
            json!({"content-type": "application/json"}),
            Some(&encoded),
            true,
        ))
        .await;
    assert_eq!(started.status(), 201, "{}", body_text(&started));
    let callback_path = t.callback_path().await;
    let result = STANDARD.encode(json!({"result": "VALID", "token": TOKEN}).to_string());
    let recorded = t
        .send(event(
            "POST",
            &callback_path,
            json!({"content-type": "application/json"}),
            Some(&result),
            true,
        ))
        .await;
    t.assert_recorded(&recorded, TOKEN, "VALID").await;
}

/// Infobip may add fields to its callback; a stricter parser would turn that into lost results.
#[tokio::test]
async fn unknown_fields_in_a_callback_are_ignored() {
    let t = test_app().await;
    let callback_path = t.start_pending(TOKEN).await;
    let body =
        json!({"result": "VALID", "token": TOKEN, "newField": {"nested": [1, 2]}, "status": "x"});
    let response = t.callback(&callback_path, body).await;
    assert_eq!(body_json(&response)["outcome"], "RECORDED");
}
