//! Infobip's result callback: authenticated by the per-verification secret, first result wins,
//! malformed bodies change nothing, and the Brazil race loses nothing.

use std::time::Duration;

use crate::helpers::*;
use serde_json::json;

const FORGED_PATH: &str = "/callbacks/infobip/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

#[tokio::test]
async fn each_result_reaches_the_poll() {
    let error = json!({"id": 305, "name": "EC_MOBILE_DEVICE_TIMEOUT", "description": "Timeout occurred during a mobile device redirect."});
    for (body, status) in [
        (
            json!({"result": "VALID", "token": TOKEN, "error": null}),
            "VALID",
        ),
        (json!({"result": "INVALID", "token": TOKEN}), "INVALID"),
        (
            json!({"result": "ERROR", "token": TOKEN, "error": error}),
            "ERROR",
        ),
    ] {
        let t = test_app().await;
        let callback = t.start_pending(TOKEN).await;
        let response = t.callback(&callback, body).await;
        assert_eq!(response.status(), 200, "{}", body_text(&response));
        assert_eq!(body_json(&response)["outcome"], "RECORDED");
        let (code, poll) = t.poll(TOKEN).await;
        assert_eq!((code, poll["status"].as_str().unwrap()), (200, status));
        if status == "ERROR" {
            assert_eq!(poll["error"], error);
        } else {
            assert!(poll.get("error").is_none(), "{poll}");
        }
    }
}

#[tokio::test]
async fn an_error_callback_without_details_is_named_from_the_code_list() {
    let t = test_app().await;
    t.settled_with_error(TOKEN, 306).await;
    let error = &t.poll(TOKEN).await.1["error"];
    assert_eq!(error["name"], "EC_REJECTED_INVALID_IP_ADDRESS");
    assert_eq!(error["description"], "IP address not in MNO data range.");
}

/// The callback is authenticated by its URL's secret, which no page can forge, and a lost result
/// is worse than an unlabelled one: a JSON body without `Content-Type` is recorded.
#[tokio::test]
async fn a_callback_without_a_content_type_is_recorded() {
    let t = test_app().await;
    let callback = t.start_pending(TOKEN).await;
    let untyped = parse_event(&http_api_event(
        "POST",
        &callback,
        json!({}),
        Some(&json!({"result": "VALID", "token": TOKEN}).to_string()),
        "198.51.100.7",
    ));
    let response = t.send(untyped).await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    t.assert_recorded(&response, TOKEN, "VALID").await;
}

#[tokio::test]
async fn forged_callback_changes_nothing() {
    let t = test_app().await;
    t.start_pending(TOKEN).await;
    let response = t.report(FORGED_PATH, TOKEN, "VALID").await;
    assert_problem(&response, 403);
    assert_eq!(t.status(TOKEN).await, "PENDING");
}

#[tokio::test]
async fn the_callback_url_of_one_verification_cannot_settle_another() {
    let t = test_app().await;
    let callback_a = t.start_pending(TOKEN).await;
    t.reset_infobip().await;
    t.start_pending(OTHER_TOKEN).await;

    let response = t.report(&callback_a, OTHER_TOKEN, "VALID").await;

    assert_problem(&response, 403);
    assert_eq!(t.status(OTHER_TOKEN).await, "PENDING");
    assert_eq!(t.status(TOKEN).await, "PENDING");
}

/// A flood of forged callbacks for made-up tokens: each used to write a parked item. A secret we
/// never issued carries no tag under `CALLBACK_SECRET_KEY`, so nothing is written for it.
#[tokio::test]
async fn a_callback_for_a_token_we_never_started_writes_nothing() {
    let store = FaultyStore::new(smv_shared::store::MemoryStore::new());
    let t = test_app_with(&[], store.clone()).await;
    for _ in 0..50 {
        let made_up = smv_shared::token::UrlSecret::generate().unwrap();
        let token = uuid::Uuid::new_v4().to_string();
        let response = t
            .callback(
                &format!("/callbacks/infobip/{}", made_up.expose()),
                json!({"result": "VALID", "token": token}),
            )
            .await;
        assert_problem(&response, 403);
    }
    let calls = store.calls();
    assert!(
        calls.iter().all(|c| ["complete", "find"].contains(c)),
        "only reads and conditional writes that found nothing: {calls:?}"
    );
    assert_eq!(t.poll(TOKEN).await.0, 404);
}

/// A verification started before `CALLBACK_SECRET_KEY` existed (or under a previous key) has an
/// untagged secret: its callback still completes it, though it is never parked.
#[tokio::test]
async fn a_verification_whose_secret_carries_no_tag_still_completes() {
    let t = test_app().await;
    let secret = smv_shared::token::UrlSecret::generate().unwrap();
    let now = smv_shared::time::Clock::now(t.clock.as_ref());
    let lifetimes = t.backend.callback.config.common.lifetimes;
    let pending = smv_shared::verification::Verification::pending(
        smv_shared::token::Token::parse(TOKEN).unwrap(),
        secret.hash(),
        "+44*******456".into(),
        now,
        lifetimes,
    );
    t.backend
        .callback
        .verifications
        .create(&pending)
        .await
        .unwrap();
    let path = format!("/callbacks/infobip/{}", secret.expose());
    let response = t.report(&path, TOKEN, "VALID").await;
    assert_eq!(body_json(&response)["outcome"], "RECORDED");
    let repeat = t.report(&path, TOKEN, "VALID").await;
    assert_eq!(body_json(&repeat)["outcome"], "ALREADY_FINAL");
    assert_eq!(t.status(TOKEN).await, "VALID");
}

#[tokio::test]
async fn the_first_result_wins_and_repeats_are_acknowledged() {
    let t = test_app().await;
    let callback = t.settled(TOKEN, "VALID").await;
    for late in [
        json!({"result": "INVALID", "token": TOKEN}),
        json!({"result": "VALID", "token": TOKEN}),
    ] {
        let response = t.callback(&callback, late).await;
        assert_eq!(response.status(), 200);
        assert_eq!(body_json(&response)["outcome"], "ALREADY_FINAL");
    }
    assert_eq!(t.status(TOKEN).await, "VALID");
}

#[tokio::test]
async fn malformed_callbacks_get_400_and_change_nothing() {
    let t = test_app().await;
    let callback = t.start_pending(TOKEN).await;
    for body in [
        "",
        "not json",
        "{}",
        r#"{"result": "VALID"}"#,
        r#"{"token": "3f1c2b9e-8a7d-4c6b-9e5f-1a2b3c4d5e6f"}"#,
        r#"{"result": "MAYBE", "token": "3f1c2b9e-8a7d-4c6b-9e5f-1a2b3c4d5e6f"}"#,
        r#"{"result": "ERROR", "token": "3f1c2b9e-8a7d-4c6b-9e5f-1a2b3c4d5e6f", "error": "boom"}"#,
        r#"{"result": "ERROR", "token": "3f1c2b9e-8a7d-4c6b-9e5f-1a2b3c4d5e6f", "error": {"id": "305"}}"#,
        r#"{"result": "VALID", "token": "not-a-uuid"}"#,
        r#"{"result": "VALID", "token": 42}"#,
    ] {
        let response = t.send(post(&callback, body)).await;
        assert_problem(&response, 400);
    }
    assert_eq!(t.status(TOKEN).await, "PENDING");
}

#[tokio::test]
async fn a_malformed_secret_is_answered_like_an_unknown_route() {
    let t = test_app().await;
    t.start_pending(TOKEN).await;
    for path in [
        "/callbacks/infobip/short",
        "/callbacks/infobip/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+",
    ] {
        assert_problem(&t.report(path, TOKEN, "VALID").await, 404);
    }
    assert_eq!(t.status(TOKEN).await, "PENDING");
}

#[tokio::test]
async fn a_result_after_the_pending_timeout_changes_nothing() {
    let t = test_app().await;
    let callback = t.start_pending(TOKEN).await;
    t.advance(Duration::from_secs(301));
    assert_eq!(t.status(TOKEN).await, "EXPIRED");
    let response = t.report(&callback, TOKEN, "VALID").await;
    assert_eq!(response.status(), 200);
    assert_eq!(t.status(TOKEN).await, "EXPIRED");
}

#[tokio::test]
async fn brazil_callback_before_record_is_kept() {
    let t = test_app().await;
    let (started, callback, poll_meanwhile) = t.brazil_race("VALID").await;
    assert_eq!(
        poll_meanwhile, 404,
        "nothing pollable exists before the start finishes"
    );
    assert_eq!(callback.status(), 200);
    assert_eq!(body_json(&callback)["outcome"], "ACCEPTED");
    assert_eq!(started.status(), 201);
    assert_eq!(body_json(&started)["status"], "VALID");
    assert_eq!(t.status(TOKEN).await, "VALID");
}

#[tokio::test]
async fn an_early_callback_to_a_forged_url_is_not_picked_up() {
    let t = test_app().await;
    t.report(FORGED_PATH, TOKEN, "VALID").await;
    t.start_pending(TOKEN).await;
    assert_eq!(t.status(TOKEN).await, "PENDING");
}

/// The Brazil race, and then the start cannot look for the early result (storage fails for that
/// one read): Infobip was already told the result arrived, so the next poll applies it.
#[tokio::test]
async fn a_parked_result_the_start_could_not_pick_up_is_applied_by_the_next_poll() {
    let store = FaultyStore::new(smv_shared::store::MemoryStore::new());
    let t = test_app_with(&[], store.clone()).await;
    store.fail("find_parked", 1);
    let (started, callback, _) = t.brazil_race("VALID").await;
    assert_eq!(body_json(&callback)["outcome"], "ACCEPTED");
    assert_eq!(started.status(), 201);
    assert_eq!(
        body_json(&started)["status"],
        "PENDING",
        "the start could not see it"
    );

    let (status, report) = t.poll(TOKEN).await;

    assert_eq!((status, report["status"].as_str()), (200, Some("VALID")));
    assert_eq!(t.demo_result(TOKEN).await.status(), 200);
}
