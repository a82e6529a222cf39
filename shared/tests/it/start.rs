//! Starting a verification: what Infobip receives and what the app gets, for every documented
//! Infobip answer and every way the call can fail.

use std::sync::Arc;
use std::time::Duration;

use crate::helpers::*;
use serde_json::json;
use smv_shared::store::{MemoryStore, Store};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

#[tokio::test]
async fn start_sends_infobip_exactly_what_the_contract_asks() {
    let t = test_app().await;
    t.infobip_redirects(TOKEN).await;

    let response = t.send(start_request(PHONE)).await;

    assert_eq!(response.status(), 201, "{}", body_text(&response));
    assert_eq!(
        header(&response, "location"),
        Some(format!("/verifications/{TOKEN}").as_str())
    );
    assert_eq!(header(&response, "content-type"), Some("application/json"));
    let body = body_json(&response);
    assert_eq!(body["token"], TOKEN);
    assert_eq!(body["status"], "PENDING");
    assert_eq!(body["deviceRedirectUrl"], REDIRECT_URL);
    assert_eq!(body["expiresAt"], "2026-11-18T11:11:40Z"); // start + 300 s pending timeout

    let requests = t.infobip.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    let sent = &requests[0];
    assert_eq!(
        sent.headers.get("authorization").unwrap(),
        &format!("App {API_KEY}")
    );
    assert_eq!(
        sent.headers.get("content-type").unwrap(),
        "application/json"
    );
    assert_eq!(sent.headers.get("accept").unwrap(), "application/json");
    let sent: serde_json::Value = serde_json::from_slice(&sent.body).unwrap();
    let fields: Vec<&String> = sent.as_object().unwrap().keys().collect();
    assert_eq!(
        fields,
        [
            "callbackUrl",
            "consentGranted",
            "deviceIp",
            "phoneNumber",
            "returnUrl"
        ]
    );
    assert_eq!(sent["phoneNumber"], PHONE_DIGITS);
    assert_eq!(sent["consentGranted"], true);
    assert_eq!(sent["deviceIp"], DEVICE_IP);
    let callback = sent["callbackUrl"].as_str().unwrap();
    let secret = callback
        .strip_prefix(&format!("{CALLBACK_BASE}/callbacks/infobip/"))
        .unwrap();
    assert_eq!(secret.len(), 43, "256-bit base64url secret");
    // Built from our configuration, never from the request, with a secret of its own.
    let back = sent["returnUrl"].as_str().unwrap();
    let return_secret = back
        .strip_prefix(&format!("{CALLBACK_BASE}/return/"))
        .unwrap();
    assert_eq!(return_secret.len(), 43);
    assert_ne!(return_secret, secret);
}

#[tokio::test]
async fn every_start_gets_its_own_callback_secret() {
    let t = test_app().await;
    t.infobip_answers(
        200,
        json!({"status": "REDIRECT", "token": TOKEN, "deviceRedirectUrl": REDIRECT_URL}),
        1,
    )
    .await;
    t.send(start_request(PHONE)).await;
    let first = t.callback_path().await;
    t.reset_infobip().await;
    t.infobip_answers(
        200,
        json!({"status": "REDIRECT", "token": OTHER_TOKEN, "deviceRedirectUrl": REDIRECT_URL}),
        1,
    )
    .await;
    t.send(start_request(PHONE)).await;
    assert_ne!(first, t.callback_path().await);
}

#[tokio::test]
async fn numbers_without_plus_and_with_separators_reach_infobip_as_digits() {
    for phone in ["447911123456", "+44 (7911) 123-456", "0044 7911 123456"] {
        let t = test_app().await;
        t.infobip_redirects(TOKEN).await;
        let response = t.send(start_request(phone)).await;
        assert_eq!(response.status(), 201, "{phone}: {}", body_text(&response));
        assert_eq!(
            t.infobip_requests().await[0]["phoneNumber"],
            PHONE_DIGITS,
            "{phone}"
        );
    }
}

#[tokio::test]
async fn impossible_numbers_are_refused_before_infobip_is_called() {
    let t = test_app().await;
    t.infobip_answers(200, json!({}), 0).await;
    for (phone, words) in [
        ("+44 7911", "numbering plan of country code +44"),
        ("07911123456", "international format"),
        ("+999 1234 5678", "country calling code"),
        ("+44 7911 CALLME", "only digits"),
        ("", "empty"),
    ] {
        let response = t.send(start_request(phone)).await;
        let problem = assert_problem(&response, 400);
        assert_eq!(problem["type"], "urn:smv:problem:invalid-phone-number");
        assert!(
            problem["detail"].as_str().unwrap().contains(words),
            "{phone}: {problem}"
        );
    }
}

/// OK skips the device code, so outside Brazil it would let a relayed link yield an assertion
/// for whoever started the verification: it is refused and nothing is stored.
#[tokio::test]
async fn an_ok_answer_for_a_number_outside_brazil_is_refused() {
    for store in [
        Arc::new(MemoryStore::new()) as Arc<dyn Store>,
        dynamodb_store().await,
    ] {
        let t = test_app_with(&[], store).await;
        t.infobip_answers(200, json!({"status": "OK", "token": TOKEN}), 1)
            .await;
        let response = t.send(bound_start(PHONE)).await;
        assert_problem(&response, 503);
        assert_eq!(t.poll(TOKEN).await.0, 404, "nothing stored");
    }
}

#[tokio::test]
async fn brazil_ok_answer_is_pending_without_a_redirect() {
    let t = test_app().await;
    t.infobip_answers(200, json!({"status": "OK", "token": TOKEN}), 1)
        .await;
    let response = t.send(start_request("+55 11 98765 4321")).await;
    assert_eq!(response.status(), 201);
    let body = body_json(&response);
    assert_eq!(body["status"], "PENDING");
    assert!(body["deviceRedirectUrl"].is_null());
    assert_eq!(
        t.infobip_requests().await[0]["phoneNumber"],
        "5511987654321"
    );
    assert_eq!(t.status(TOKEN).await, "PENDING");
}

#[tokio::test]
async fn infobip_error_answers_are_final_errors_that_a_poll_also_reports() {
    for (infobip_status, our_status) in [(400, 422), (422, 422), (200, 422), (500, 502)] {
        let t = test_app().await;
        let error = json!({"id": 306, "name": "EC_REJECTED_INVALID_IP_ADDRESS", "description": "IP address not in MNO data range."});
        t.infobip_answers(
            infobip_status,
            json!({"status": "ERROR", "token": TOKEN, "error": error}),
            1,
        )
        .await;

        let response = t.send(start_request(PHONE)).await;

        let problem = assert_problem(&response, our_status);
        assert_eq!(problem["type"], "urn:smv:problem:verification-refused");
        assert_eq!(problem["token"], TOKEN);
        assert_eq!(problem["error"], error);
        assert_eq!(problem["detail"], "IP address not in MNO data range.");
        let (status, poll) = t.poll(TOKEN).await;
        assert_eq!(
            (status, &poll["status"]),
            (200, &json!("ERROR")),
            "Infobip {infobip_status}"
        );
        assert_eq!(poll["error"], error);
    }
}

#[tokio::test]
async fn an_error_answer_without_a_token_is_reported_and_stores_nothing() {
    let t = test_app().await;
    t.infobip_answers(400, json!({"status": "ERROR", "error": {"id": 202, "name": "EC_CONSENT_NOT_GRANTED", "description": "User consent not granted"}}), 1).await;
    let problem = assert_problem(&t.send(start_request(PHONE)).await, 422);
    assert!(problem.get("token").is_none());
    assert_eq!(problem["error"]["id"], 202);
}

#[tokio::test]
async fn infobip_auth_failures_become_a_generic_502_without_infobips_text() {
    for status in [401, 403] {
        let t = test_app().await;
        t.infobip_answers(status, json!({"requestError": {"serviceException": {"messageId": "UNAUTHORIZED", "text": "Invalid login details"}}}), 1).await;
        let response = t.send(start_request(PHONE)).await;
        let problem = assert_problem(&response, 502);
        let text = body_text(&response);
        assert!(
            !text.contains("Invalid login")
                && !text.contains("UNAUTHORIZED")
                && !text.contains(API_KEY),
            "{text}"
        );
        assert_eq!(problem["type"], "urn:smv:problem:verification-unavailable");
    }
}

#[tokio::test]
async fn temporary_infobip_failures_are_503_with_retry_after_and_leave_no_record() {
    let cases = [
        (
            ResponseTemplate::new(429).insert_header("retry-after", "17"),
            "17",
        ),
        (ResponseTemplate::new(429), "5"),
        (
            ResponseTemplate::new(503).set_body_string("<html>down</html>"),
            "5",
        ),
        (ResponseTemplate::new(500), "5"),
        (
            ResponseTemplate::new(200).set_body_string("<html>maintenance</html>"),
            "5",
        ),
        (
            ResponseTemplate::new(200).set_body_string(r#"{"status":"REDIRECT","tok"#),
            "5",
        ),
        // Token issued, but the answer breaks the contract: nothing may be left PENDING for it.
        (
            ResponseTemplate::new(200).set_body_json(json!({"status": "REDIRECT", "token": TOKEN})),
            "5",
        ),
    ];
    for (answer, retry_after) in cases {
        let t = test_app().await;
        Mock::given(method("POST"))
            .and(path("/mi/verification/1/verify"))
            .respond_with(answer)
            .expect(1)
            .mount(&t.infobip)
            .await;
        let response = t.send(start_request(PHONE)).await;
        assert_problem(&response, 503);
        assert_eq!(header(&response, "retry-after"), Some(retry_after));
        assert_eq!(t.poll(TOKEN).await.0, 404);
    }
}

#[tokio::test]
async fn an_infobip_that_does_not_answer_in_time_is_504_and_is_not_retried() {
    let t = test_app().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"status": "REDIRECT", "token": TOKEN, "deviceRedirectUrl": REDIRECT_URL}))
                .set_delay(Duration::from_secs(3)),
        )
        .expect(1)
        .mount(&t.infobip)
        .await;
    let response = t.send(start_request(PHONE)).await;
    assert_problem(&response, 504);
    assert_eq!(header(&response, "retry-after"), Some("5"));
    assert_eq!(t.poll(TOKEN).await.0, 404);
}

#[tokio::test]
async fn an_unreachable_infobip_is_503() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let t = test_app_env(&[("INFOBIP_BASE_URL", &url)]).await;
    let response = t.send(start_request(PHONE)).await;
    assert_problem(&response, 503);
    assert_eq!(header(&response, "retry-after"), Some("5"));
}

#[tokio::test]
async fn bad_start_bodies_get_problems_and_never_reach_infobip() {
    let t = test_app().await;
    t.infobip_answers(200, json!({}), 0).await;
    for (body, status) in [
        ("", 400),
        ("{", 400),
        ("[]", 400),
        (r#"{"phone": "+447911123456"}"#, 400),
        (r#"{"phoneNumber": 447911123456}"#, 400),
        (r#"{"phoneNumber": null}"#, 400),
    ] {
        assert_problem(&t.send(post("/verifications", body)).await, status);
    }
    let text_plain = parse_event(&http_api_event(
        "POST",
        "/verifications",
        json!({"content-type": "text/plain"}),
        Some(r#"{"phoneNumber":"+447911123456"}"#),
        DEVICE_IP,
    ));
    assert_problem(&t.send(text_plain).await, 415);
    let huge = format!(
        r#"{{"phoneNumber":"+447911123456","pad":"{}"}}"#,
        "x".repeat(20_000)
    );
    assert_problem(&t.send(post("/verifications", &huge)).await, 413);
}

#[tokio::test]
async fn unknown_fields_in_a_start_body_are_ignored() {
    let t = test_app().await;
    t.infobip_redirects(TOKEN).await;
    let response = t
        .send(post(
            "/verifications",
            r#"{"phoneNumber":"+447911123456","locale":"en-GB"}"#,
        ))
        .await;
    assert_eq!(response.status(), 201);
}

#[tokio::test]
async fn storage_failure_after_infobip_accepted_is_503_not_a_phantom_verification() {
    let store = FaultyStore::new(smv_shared::store::MemoryStore::new());
    store.fail("create", u32::MAX);
    let t = test_app_with(&[], store.clone()).await;
    t.infobip_redirects(TOKEN).await;
    let response = t.send(start_request(PHONE)).await;
    assert_problem(&response, 503);
    assert!(header(&response, "retry-after").is_some());
    store.fail("create", 0);
    assert_eq!(t.poll(TOKEN).await.0, 404);
}

#[tokio::test]
async fn an_oversized_infobip_answer_is_not_read_whole_and_leaves_no_record() {
    let t = test_app().await;
    // A well-formed acceptance, padded past what any Infobip answer needs.
    let padded = json!({
        "status": "REDIRECT",
        "token": TOKEN,
        "deviceRedirectUrl": REDIRECT_URL,
        "padding": "x".repeat(smv_shared::infobip::MAX_ANSWER_BYTES),
    });
    Mock::given(method("POST"))
        .and(path("/mi/verification/1/verify"))
        .respond_with(ResponseTemplate::new(200).set_body_json(padded))
        .expect(1)
        .mount(&t.infobip)
        .await;

    let refused = assert_problem(&t.send(start_request(PHONE)).await, 503);

    assert_eq!(
        refused["type"],
        "urn:smv:problem:verification-temporarily-unavailable"
    );
    assert_eq!(
        t.poll(TOKEN).await.0,
        404,
        "nothing was stored for the token"
    );
}

/// Toll fraud: a premium-rate (`+44 90…`) or personal (`+44 70…`) number would bill a start or a
/// PIN to whoever runs the number. Neither gets a start, through either route family, with or
/// without an Idempotency-Key; nothing is counted, stored or sent to Infobip.
async fn numbers_that_cannot_be_a_sim_get_no_start_on(
    store: std::sync::Arc<dyn smv_shared::store::Store>,
) {
    let store = FaultyStore::wrapping(store);
    let t = test_app_with(&[], store.clone()).await;
    for number in ["+449012345678", "+447011234567"] {
        for request in [start_request(number), keyed_start("k-toll", number)] {
            let refused = t.send(request).await;
            assert_problem_type(&refused, 422, "not-a-mobile-number");
        }
        let demo = t.send(get(&format!("/verify/{}", &number[1..]))).await;
        assert_problem_type(&demo, 422, "not-a-mobile-number");
    }
    assert!(t.infobip_requests().await.is_empty(), "no billed call");
    assert!(
        store.calls().is_empty(),
        "nothing counted or stored: {:?}",
        store.calls()
    );
    // A mobile number of the same country still starts.
    t.infobip_redirects(TOKEN).await;
    assert_eq!(t.send(start_request(PHONE)).await.status(), 201);
}

on_each_store!(numbers_that_cannot_be_a_sim_get_no_start_on: numbers_that_cannot_be_a_sim_get_no_start, numbers_that_cannot_be_a_sim_get_no_start_on_dynamodb);
