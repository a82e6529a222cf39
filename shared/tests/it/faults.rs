//! Injected faults: DynamoDB throttling, failing, or not answering (through a proxy in front of
//! the real DynamoDB-protocol server, so the SDK's own retries and timeouts are in play), and an
//! Infobip that sends its answer too slowly. For each: what the caller gets, and proof that
//! nothing is half-written and no result is lost. (Infobip timeouts, refused connections, 5xx,
//! 429, HTML and truncated JSON are in `start.rs`.)

use std::time::Duration;

use crate::helpers::fault_proxy::{Fault, FaultyDynamoDb};
use crate::helpers::*;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

async fn app_behind_faults() -> (TestApp, FaultyDynamoDb) {
    let proxy = FaultyDynamoDb::start(test_dynamodb_endpoint()).await;
    let store = dynamodb_store_at(&proxy.endpoint).await;
    let t = test_app_with(&[], store).await;
    (t, proxy)
}

fn attempts(proxy: &FaultyDynamoDb, operation: &str) -> usize {
    let action = format!("dynamodb:{operation}");
    proxy.seen().iter().filter(|a| **a == action).count()
}

#[tokio::test]
async fn a_callback_that_cannot_be_stored_is_503_and_infobips_retry_is_recorded() {
    let (t, proxy) = app_behind_faults().await;
    let callback = t.start_pending(TOKEN).await;
    for fault in [Fault::Throttled, Fault::InternalError, Fault::Unavailable] {
        proxy.inject("UpdateItem", fault, u32::MAX);
        let before = attempts(&proxy, "UpdateItem");
        let refused = t.report(&callback, TOKEN, "VALID").await;
        assert_problem(&refused, 503);
        assert!(header(&refused, "retry-after").is_some());
        assert_eq!(
            attempts(&proxy, "UpdateItem") - before,
            3,
            "{fault:?}: the SDK tries three times before giving up"
        );
        proxy.clear();
        assert_eq!(t.status(TOKEN).await, "PENDING", "{fault:?}");
    }
    let retried = t.report(&callback, TOKEN, "VALID").await;
    t.assert_recorded(&retried, TOKEN, "VALID").await;
}

#[tokio::test]
async fn a_short_throttle_is_absorbed_by_the_sdks_retries() {
    let (t, proxy) = app_behind_faults().await;
    let callback = t.start_pending(TOKEN).await;
    proxy.inject("UpdateItem", Fault::Throttled, 2);
    let response = t.report(&callback, TOKEN, "INVALID").await;
    t.assert_recorded(&response, TOKEN, "INVALID").await;
}

#[tokio::test]
async fn a_dynamodb_that_does_not_answer_gives_503_from_our_timeout() {
    let (t, proxy) = app_behind_faults().await;
    let callback = t.start_pending(TOKEN).await;
    // A hung call never answers: only our own timeouts can end it. The outer limit is a safety
    // net against a test that would otherwise never finish, far above the 2.5 s they allow.
    proxy.inject("GetItem", Fault::Hang, u32::MAX);
    let response = tokio::time::timeout(
        Duration::from_secs(60),
        t.send(get(&format!("/verifications/{TOKEN}"))),
    )
    .await
    .expect("the DynamoDB call timeouts ended the hung call");
    assert_problem(&response, 503);
    assert!(header(&response, "retry-after").is_some());
    proxy.clear();

    proxy.inject("UpdateItem", Fault::Hang, u32::MAX);
    let callback_response =
        tokio::time::timeout(Duration::from_secs(60), t.report(&callback, TOKEN, "VALID"))
            .await
            .expect("the DynamoDB call timeouts ended the hung call");
    assert_problem(&callback_response, 503);
    proxy.clear();
    let retried = t.report(&callback, TOKEN, "VALID").await;
    assert_eq!(body_json(&retried)["outcome"], "RECORDED");
}

#[tokio::test]
async fn storage_failing_after_infobip_accepted_leaves_no_half_written_verification() {
    let (t, proxy) = app_behind_faults().await;
    t.infobip_redirects(TOKEN).await;
    proxy.inject("PutItem", Fault::Unavailable, u32::MAX);
    let response = t.send(start_request(PHONE)).await;
    assert_problem(&response, 503);
    proxy.clear();
    assert_eq!(t.poll(TOKEN).await.0, 404);
}

/// Found by `scripts/load --for`: under load moto answered a `PutItem` after the SDK's attempt
/// timeout, the SDK retried a write that had already happened, and the retry's condition failed
/// on it. The device was then told its code had already been shown (410), and an app that its own
/// start was in progress (409). Each write now recognises its own earlier attempt.
#[tokio::test]
async fn a_write_whose_answer_was_lost_is_not_refused_by_its_own_retry() {
    let (t, proxy) = app_behind_faults().await;
    let redirect = json!({"status": "REDIRECT", "token": TOKEN, "deviceRedirectUrl": REDIRECT_URL});

    // The Idempotency-Key claim: the start goes on, and a retry gets the same answer.
    t.infobip_answers(200, redirect.clone(), 1).await;
    proxy.inject("PutItem", Fault::AnswerLost, 1);
    let started = t.send(keyed_start("k-lost", PHONE)).await;
    assert_eq!(started.status(), 201, "{}", body_text(&started));
    let again = t.send(keyed_start("k-lost", PHONE)).await;
    assert_eq!(body_json(&again), body_json(&started));
    assert_eq!(
        t.infobip_requests().await.len(),
        1,
        "one verification at Infobip"
    );

    // The verification itself: stored once, PENDING, not a 503 after Infobip accepted.
    t.reset_infobip().await;
    t.infobip_answers(
        200,
        json!({"status": "REDIRECT", "token": OTHER_TOKEN, "deviceRedirectUrl": REDIRECT_URL}),
        1,
    )
    .await;
    let puts = attempts(&proxy, "PutItem");
    proxy.inject("PutItem", Fault::AnswerLost, 1);
    let started = t.send(start_request(PHONE)).await;
    assert_eq!(started.status(), 201, "{}", body_text(&started));
    assert!(
        attempts(&proxy, "PutItem") - puts >= 2,
        "the SDK retried the lost write"
    );
    assert_eq!(t.status(OTHER_TOKEN).await, "PENDING");

    // The device's return: it is shown its code, once.
    let back = t.return_path().await;
    proxy.inject("PutItem", Fault::AnswerLost, 1);
    let shown = t.send(get(&back)).await;
    assert_eq!(shown.status(), 200, "{}", body_text(&shown));
    assert!(body_json(&shown)["deviceCode"].is_string());
    assert_eq!(
        t.send(get(&back)).await.status(),
        410,
        "a second look is still refused"
    );
}

/// The same for the updates that move a verification: a result whose answer was lost is still
/// RECORDED (once), and a redeem whose mark was lost still hands out its assertion.
#[tokio::test]
async fn a_result_and_a_redeem_whose_answers_were_lost_are_still_theirs() {
    let (t, proxy) = app_behind_faults().await;
    let redirect = json!({"status": "REDIRECT", "token": TOKEN, "deviceRedirectUrl": REDIRECT_URL});
    let (callback, back) = t.start_bound(TOKEN, PHONE, redirect).await;
    proxy.inject("UpdateItem", Fault::AnswerLost, 1);
    let recorded = t.report(&callback, TOKEN, "VALID").await;
    t.assert_recorded(&recorded, TOKEN, "VALID").await;
    let code = t.device_code(&back).await;

    proxy.inject("UpdateItem", Fault::AnswerLost, 1);
    let body = json!({"codeVerifier": VERIFIER, "phoneNumber": PHONE, "deviceCode": code});
    let redeemed = t.redeem(TOKEN, body.clone()).await;
    assert_eq!(redeemed.status(), 200, "{}", body_text(&redeemed));
    assert!(body_json(&redeemed)["assertion"].is_string());
    assert_eq!(t.redeem(TOKEN, body).await.status(), 410, "still only once");
}

#[tokio::test]
async fn a_rate_limit_counter_that_fails_keeps_infobip_uncalled() {
    let (t, proxy) = app_behind_faults().await;
    t.infobip_answers(200, json!({}), 0).await;
    proxy.inject("UpdateItem", Fault::InternalError, u32::MAX);
    assert_problem(&t.send(start_request(PHONE)).await, 503);
    assert!(t.infobip_requests().await.is_empty());
    assert_eq!(attempts(&proxy, "PutItem"), 0);
}

#[tokio::test]
async fn an_early_callback_that_cannot_be_parked_is_503_and_its_retry_is_kept() {
    let (t, proxy) = app_behind_faults().await;
    // A callback URL from a real start, for a token Infobip has not told us about yet.
    let callback = t.start_pending(TOKEN).await;
    let early = json!({"result": "VALID", "token": OTHER_TOKEN});
    proxy.inject("PutItem", Fault::Throttled, u32::MAX);
    assert_problem(&t.callback(&callback, early.clone()).await, 503);
    proxy.clear();
    let retried = t.callback(&callback, early).await;
    assert_eq!(body_json(&retried)["outcome"], "ACCEPTED");
}

/// An Infobip that sends its status line at once and its body a byte at a time: the client's
/// total timeout covers the body too, so the app hears 504 instead of waiting.
#[tokio::test]
async fn an_infobip_answer_that_trickles_in_is_a_504() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                let body =
                    br#"{"status":"REDIRECT","token":"3f1c2b9e-8a7d-4c6b-9e5f-1a2b3c4d5e6f"}"#;
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                    body.len()
                );
                let _ = socket.write_all(head.as_bytes()).await;
                for byte in body {
                    let _ = socket.write_all(&[*byte]).await;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            });
        }
    });
    let t = test_app_env(&[("INFOBIP_BASE_URL", &url)]).await;
    let response = t.send(start_request(PHONE)).await;
    assert_problem(&response, 504);
    assert_eq!(t.poll(TOKEN).await.0, 404);
}

/// `request` as Lambda hands it over with `left` until the function's deadline.
fn with_deadline(mut request: lambda_http::Request, left: Duration) -> lambda_http::Request {
    let deadline = std::time::SystemTime::now() + left;
    let mut context = lambda_http::Context::default();
    context.deadline = deadline
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    request.extensions_mut().insert(context);
    request
}

/// The answer a handler gives instead of being ended by Lambda: a 503 the app may retry.
fn assert_out_of_time(response: &lambda_http::Response<lambda_http::Body>) {
    let problem = assert_problem(response, 503);
    assert_eq!(
        problem["detail"],
        "The request did not finish in time; try again shortly."
    );
    assert!(header(response, "retry-after").is_some());
}

#[tokio::test]
async fn a_request_about_to_outlive_the_function_is_answered_before_lambda_ends_it() {
    let (t, proxy) = app_behind_faults().await;
    t.start_pending(TOKEN).await;
    // 800 ms left: our deadline (300 ms short of it) comes before the SDK's 1 s attempt timeout.
    proxy.inject("GetItem", Fault::Hang, u32::MAX);
    let poll = t
        .send(with_deadline(
            get(&format!("/verifications/{TOKEN}")),
            Duration::from_millis(800),
        ))
        .await;
    assert_out_of_time(&poll);
    proxy.clear();
}

#[tokio::test]
async fn a_start_cut_off_by_the_deadline_leaves_no_verification() {
    let t = test_app_env(&[("INFOBIP_TIMEOUT_MS", "8000")]).await;
    Mock::given(method("POST"))
        .and(path("/mi/verification/1/verify"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(
                    json!({"status": "REDIRECT", "token": TOKEN, "deviceRedirectUrl": REDIRECT_URL}),
                )
                .set_delay(Duration::from_secs(5)),
        )
        .mount(&t.infobip)
        .await;
    let start = t
        .send(with_deadline(
            start_request(PHONE),
            Duration::from_millis(1000),
        ))
        .await;
    assert_out_of_time(&start);
    assert_eq!(t.infobip_requests().await.len(), 1, "never retried");
    assert_eq!(t.poll(TOKEN).await.0, 404, "no PENDING record left behind");
}
