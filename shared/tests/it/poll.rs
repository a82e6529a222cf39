//! Polling: strongly consistent, repeatable, EXPIRED after the pending timeout, absent after the
//! record's lifetime.

use std::time::Duration;

use crate::helpers::*;
use serde_json::json;
use smv_shared::Function;

#[tokio::test]
async fn pending_poll_says_when_to_ask_again() {
    let t = test_app().await;
    t.start_pending(TOKEN).await;
    let response = t.send(get(&format!("/verifications/{TOKEN}"))).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "retry-after"), Some("2"));
    assert_eq!(header(&response, "cache-control"), Some("no-store"));
    assert_eq!(
        body_json(&response),
        json!({"token": TOKEN, "status": "PENDING", "expiresAt": "2026-11-18T11:11:40Z", "assertion": "unavailable"})
    );
}

#[tokio::test]
async fn reading_a_result_does_not_consume_it() {
    let t = test_app().await;
    t.settled(TOKEN, "VALID").await;
    for _ in 0..3 {
        let response = t.send(get(&format!("/verifications/{TOKEN}"))).await;
        assert_eq!(body_json(&response)["status"], "VALID");
        assert_eq!(header(&response, "retry-after"), None);
    }
}

#[tokio::test]
async fn a_pending_verification_past_its_timeout_is_expired() {
    let t = test_app().await;
    t.start_pending(TOKEN).await;
    t.advance(Duration::from_secs(299));
    assert_eq!(t.status(TOKEN).await, "PENDING");
    t.advance(Duration::from_secs(1));
    assert_eq!(t.status(TOKEN).await, "EXPIRED");
}

#[tokio::test]
async fn a_record_past_its_lifetime_is_unknown_even_if_still_stored() {
    let t = test_app().await;
    t.settled(TOKEN, "VALID").await;
    t.advance(Duration::from_secs(3599));
    assert_eq!(t.poll(TOKEN).await.0, 200);
    t.advance(Duration::from_secs(1));
    let response = t.send(get(&format!("/verifications/{TOKEN}"))).await;
    assert_problem(&response, 404);
}

#[tokio::test]
async fn unknown_and_malformed_tokens() {
    let t = test_app().await;
    let unknown = assert_problem(
        &t.send(get(&format!("/verifications/{OTHER_TOKEN}"))).await,
        404,
    );
    assert_eq!(unknown["type"], "urn:smv:problem:verification-not-found");
    assert_problem(&t.send(get("/verifications/not-a-token")).await, 400);
    assert_problem(&t.send(get("/verifications/parked%23abc")).await, 400);
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_are_problems() {
    let t = test_app().await;
    assert_problem(&t.send(get("/nope")).await, 404);
    let response = t.send(get("/verifications")).await;
    assert_problem(&response, 405);
    assert_eq!(header(&response, "allow"), Some("POST"));
    assert_problem(
        &t.send(post(&format!("/verifications/{TOKEN}"), "{}")).await,
        405,
    );
}

#[tokio::test]
async fn each_lambda_function_serves_only_its_own_routes() {
    let t = test_app().await;
    let callback_request = || {
        post(
            FORGED,
            r#"{"result":"VALID","token":"3f1c2b9e-8a7d-4c6b-9e5f-1a2b3c4d5e6f"}"#,
        )
    };
    let poll_request = || get(&format!("/verifications/{TOKEN}"));
    for (function, request) in [
        (Function::Poll, start_request(PHONE)),
        (Function::Poll, callback_request()),
        (Function::Start, poll_request()),
        (Function::Callback, poll_request()),
        (Function::Callback, start_request(PHONE)),
    ] {
        assert_problem(&t.send_to(function, request).await, 404);
    }
    // Served, and refused: a secret we never issued.
    assert_problem(
        &t.send_to(Function::Callback, callback_request()).await,
        403,
    );
    assert_problem(&t.send_to(Function::Poll, poll_request()).await, 404); // known route, unknown token
}

const FORGED: &str = "/callbacks/infobip/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
