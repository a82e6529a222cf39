//! Whole verifications through the handlers with state in DynamoDB (moto, started by
//! `scripts/test`), including the races DynamoDB's conditional writes must settle.

use std::time::Duration;

use crate::helpers::*;
use serde_json::json;

async fn dynamodb_app() -> TestApp {
    test_app_with(&[], dynamodb_store().await).await
}

#[tokio::test]
async fn a_verification_runs_start_to_result_on_dynamodb() {
    let t = dynamodb_app().await;
    let callback = t.start_pending(TOKEN).await;
    assert_eq!(t.status(TOKEN).await, "PENDING");
    let response = t.callback(&callback, json!({"result": "ERROR", "token": TOKEN, "error": {"id": 306, "name": "EC_REJECTED_INVALID_IP_ADDRESS", "description": "IP address not in MNO data range."}})).await;
    assert_eq!(body_json(&response)["outcome"], "RECORDED");
    let (status, poll) = t.poll(TOKEN).await;
    assert_eq!(status, 200);
    assert_eq!(poll["status"], "ERROR");
    assert_eq!(poll["error"]["id"], 306);
    assert_eq!(t.demo_result(TOKEN).await.status(), 200);
}

#[tokio::test]
async fn forged_and_cross_verification_callbacks_change_nothing_on_dynamodb() {
    let t = dynamodb_app().await;
    let callback_a = t.start_pending(TOKEN).await;
    t.reset_infobip().await;
    t.start_pending(OTHER_TOKEN).await;
    assert_problem(&t.report(&callback_a, OTHER_TOKEN, "VALID").await, 403);
    assert_problem(
        &t.callback(
            "/callbacks/infobip/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            json!({"result": "VALID", "token": TOKEN}),
        )
        .await,
        403,
    );
    assert_eq!(t.status(TOKEN).await, "PENDING");
    assert_eq!(t.status(OTHER_TOKEN).await, "PENDING");
}

/// Forged callbacks for tokens we never started leave the table as it was.
#[tokio::test]
async fn forged_callbacks_for_unknown_tokens_write_nothing_on_dynamodb() {
    let endpoint = test_dynamodb_endpoint();
    let table = dynamodb_table_at(&endpoint).await;
    let t = test_app_with(&[], dynamodb_store_on(&endpoint, &table)).await;
    for _ in 0..20 {
        let made_up = smv_shared::token::UrlSecret::generate().unwrap();
        let token = uuid::Uuid::new_v4().to_string();
        let path = format!("/callbacks/infobip/{}", made_up.expose());
        assert_problem(&t.report(&path, &token, "VALID").await, 403);
    }
    let items = scan_table(&endpoint, &table).await;
    assert!(items.is_empty(), "{items:?}");
}

#[tokio::test]
async fn concurrent_callbacks_for_one_token_record_exactly_one_result() {
    let t = dynamodb_app().await;
    let callback = t.start_pending(TOKEN).await;
    let calls = (0..16).map(|i| {
        let result = if i % 2 == 0 { "VALID" } else { "INVALID" };
        let request = post(
            &callback,
            &json!({"result": result, "token": TOKEN}).to_string(),
        );
        let t = &t;
        async move {
            (
                body_json(&t.send(request).await)["outcome"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
                result,
            )
        }
    });
    let outcomes = futures::future::join_all(calls).await;
    let recorded: Vec<&str> = outcomes
        .iter()
        .filter(|(o, _)| o == "RECORDED")
        .map(|(_, r)| *r)
        .collect();
    assert_eq!(recorded.len(), 1, "{outcomes:?}");
    assert_eq!(
        outcomes
            .iter()
            .filter(|(o, _)| o == "ALREADY_FINAL")
            .count(),
        15
    );
    assert_eq!(t.status(TOKEN).await, recorded[0]);
}

#[tokio::test]
async fn brazil_callback_before_record_is_kept_on_dynamodb() {
    let t = dynamodb_app().await;
    let (started, callback, poll_meanwhile) = t.brazil_race("INVALID").await;
    assert_eq!(poll_meanwhile, 404);
    assert_eq!(body_json(&callback)["outcome"], "ACCEPTED");
    assert_eq!(body_json(&started)["status"], "INVALID");
    assert_eq!(t.status(TOKEN).await, "INVALID");
}

#[tokio::test]
async fn expiry_and_ttl_are_enforced_on_read_on_dynamodb() {
    let t = dynamodb_app().await;
    t.start_pending(TOKEN).await;
    t.advance(Duration::from_secs(300));
    assert_eq!(t.status(TOKEN).await, "EXPIRED");
    t.advance(Duration::from_secs(3300));
    assert_eq!(
        t.poll(TOKEN).await.0,
        404,
        "moto still holds the item; the read must hide it"
    );
}
