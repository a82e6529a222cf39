//! The routes Infobip's demo app calls, in the exact shapes it reads.

use std::time::Duration;

use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn demo_start_answers_200_with_token_and_redirect() {
    let t = test_app().await;
    t.infobip_redirects(TOKEN).await;
    let response = t.send(get(&format!("/verify/{PHONE_DIGITS}"))).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        body_json(&response),
        json!({"token": TOKEN, "deviceRedirectUrl": REDIRECT_URL, "errorDescription": null})
    );
    assert_eq!(t.infobip_requests().await[0]["phoneNumber"], PHONE_DIGITS);
}

#[tokio::test]
async fn demo_start_accepts_an_encoded_plus() {
    let t = test_app().await;
    t.infobip_redirects(TOKEN).await;
    assert_eq!(t.send(get("/verify/%2B447911123456")).await.status(), 200);
}

#[tokio::test]
async fn demo_start_failures_carry_error_description_and_token() {
    let t = test_app().await;
    t.infobip_answers(422, json!({"status": "ERROR", "token": TOKEN, "error": {"id": 100, "name": "EC_NO_COVERAGE", "description": "No coverage for requested phone number."}}), 1).await;
    let response = t.send(get(&format!("/verify/{PHONE_DIGITS}"))).await;
    let problem = assert_problem(&response, 422);
    assert_eq!(
        problem["errorDescription"],
        "No coverage for requested phone number."
    );
    assert_eq!(problem["token"], TOKEN);

    let invalid = assert_problem(&t.send(get("/verify/4479")).await, 400);
    assert!(
        invalid["errorDescription"]
            .as_str()
            .unwrap()
            .contains("numbering plan"),
        "{invalid}"
    );
}

#[tokio::test]
async fn demo_result_is_204_while_pending_then_200_with_the_result() {
    let t = test_app().await;
    let callback = t.start_pending(TOKEN).await;
    let pending = t.demo_result(TOKEN).await;
    assert_eq!(pending.status(), 204);
    assert!(pending.body().is_empty());

    t.report(&callback, TOKEN, "VALID").await;
    let done = t.demo_result(TOKEN).await;
    assert_eq!(done.status(), 200);
    assert_eq!(
        body_json(&done),
        json!({"token": TOKEN, "result": "VALID", "errorDescription": null})
    );
    // Unlike Infobip's demo backend, reading does not delete: a lost response can be asked again.
    assert_eq!(t.demo_result(TOKEN).await.status(), 200);
}

#[tokio::test]
async fn demo_result_reports_errors_with_infobips_description() {
    let t = test_app().await;
    let callback = t.start_pending(TOKEN).await;
    t.callback(&callback, json!({"result": "ERROR", "token": TOKEN, "error": {"id": 305, "name": "EC_MOBILE_DEVICE_TIMEOUT", "description": "Timeout occurred during a mobile device redirect."}})).await;
    let body = body_json(&t.demo_result(TOKEN).await);
    assert_eq!(
        body,
        json!({"token": TOKEN, "result": "ERROR", "errorDescription": "Timeout occurred during a mobile device redirect."})
    );
}

#[tokio::test]
async fn demo_result_reports_expiry_as_an_error_so_the_app_stops_waiting() {
    let t = test_app().await;
    t.start_pending(TOKEN).await;
    t.advance(Duration::from_secs(300));
    let response = t.demo_result(TOKEN).await;
    assert_eq!(response.status(), 200);
    let body = body_json(&response);
    assert_eq!(body["result"], "ERROR");
    assert!(
        body["errorDescription"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{body}"
    );
}

#[tokio::test]
async fn demo_result_for_an_unknown_token_is_404() {
    let t = test_app().await;
    let problem = assert_problem(
        &t.send(get(&format!("/verify/result/{OTHER_TOKEN}"))).await,
        404,
    );
    assert!(problem["errorDescription"].is_string());
}

#[tokio::test]
async fn a_pending_demo_result_is_not_cached_either() {
    let t = test_app().await;
    t.start_pending(TOKEN).await;
    let pending = t.demo_result(TOKEN).await;
    assert_eq!(pending.status(), 204);
    assert_eq!(header(&pending, "cache-control"), Some("no-store"));
}
