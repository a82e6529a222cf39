//! After a SIM swap the carrier recognises the new SIM as the number's: silent verification says
//! VALID for whoever holds it. So every assertion is signed on a SIM-swap answer at most
//! `SIM_SWAP_MAX_AGE_SECONDS` old, asked at the redeem; a swap ends the verification.

use std::sync::Arc;
use std::time::Duration;

use crate::helpers::*;
use serde_json::{json, Value};
use smv_shared::store::{MemoryStore, Store};

async fn swapped(t: &TestApp) {
    t.sim_swap_answers(200, json!({"requestId": "r", "simSwapOccurred": true}))
        .await;
}

async fn no_coverage(t: &TestApp) {
    let body = json!({"requestId": "r", "error": {"id": 100, "name": "EC_NO_COVERAGE"}});
    t.sim_swap_answers(400, body).await;
}

fn redeem_body(code: &str) -> Value {
    json!({"codeVerifier": VERIFIER, "deviceCode": code, "phoneNumber": PHONE})
}

/// A VALID verification the carrier affirmed `after` the start, and its device's code.
async fn valid_after(t: &TestApp, after: Duration) -> String {
    let redirect = json!({"status": "REDIRECT", "token": TOKEN, "deviceRedirectUrl": REDIRECT_URL});
    let (callback, back) = t.start_bound(TOKEN, PHONE, redirect).await;
    t.advance(after);
    t.report(&callback, TOKEN, "VALID").await;
    t.device_code(&back).await
}

async fn a_swapped_sim_gets_no_assertion_on_the_silent_path_on(store: Arc<dyn Store>) {
    let t = test_app_with(&[], store).await;
    let code = t.valid_bound(TOKEN).await;
    swapped(&t).await;

    let refused = t.redeem(TOKEN, redeem_body(&code)).await;
    assert_problem_type(&refused, 403, "sim-swap-detected");
    let checks = calls_to(&t, "/mi/simswap").await;
    assert_eq!(
        checks,
        [(
            "/mi/simswap/1/check".to_owned(),
            json!({"phoneNumber": PHONE_DIGITS, "consentGranted": true, "period": 72})
        )]
    );
    // The verification ended: poll says so, and nothing can turn it into an assertion now.
    let (_, poll) = t.poll(TOKEN).await;
    assert_eq!(poll["status"], "ERROR");
    assert_eq!(poll["error"]["id"], 310);
    assert_eq!(poll["error"]["name"], "EC_SIM_SWAP_DETECTED");
    assert_eq!(poll["assertion"], "unavailable");
    let again = t.redeem(TOKEN, redeem_body(&code)).await;
    assert_problem_type(&again, 409, "verification-not-valid");
    assert_eq!(calls_to(&t, "/mi/simswap").await.len(), 1);
}

on_each_store!(a_swapped_sim_gets_no_assertion_on_the_silent_path_on: a_swapped_sim_gets_no_assertion_on_the_silent_path, a_swapped_sim_gets_no_assertion_on_the_silent_path_on_dynamodb);

/// The assertion says when the carrier affirmed the number (`auth_time`) and when the SIM-swap
/// check that cleared it ran (`sim_swap_checked_at`, here: at the redeem), so a relying party can
/// require both.
#[tokio::test]
async fn the_assertion_says_when_the_carrier_answered_and_when_the_sim_was_checked() {
    let t = test_app().await;
    let code = valid_after(&t, Duration::from_secs(7)).await;
    t.advance(Duration::from_secs(30));
    let redeemed = t.redeem(TOKEN, redeem_body(&code)).await;
    assert_eq!(redeemed.status(), 200, "{}", body_text(&redeemed));
    let claims = verify_assertion(
        body_json(&redeemed)["assertion"].as_str().unwrap(),
        &t.jwks().await,
        ISSUER,
    );
    let start = START_TIME.as_millis() / 1000;
    assert_eq!(claims["auth_time"], start + 7);
    assert_eq!(claims["sim_swap_checked_at"], start + 37);
    assert_eq!(claims["iat"], start + 37);
}

/// No coverage: `SIM_SWAP_ON_UNKNOWN` decides; an assertion let through carries no
/// `sim_swap_checked_at`. The check off: no call and no claim.
#[tokio::test]
async fn no_coverage_follows_the_policy_and_an_assertion_without_a_check_says_so() {
    let t = test_app().await;
    let code = t.valid_bound(TOKEN).await;
    no_coverage(&t).await;
    let denied = t.redeem(TOKEN, redeem_body(&code)).await;
    assert_problem_type(&denied, 403, "sim-swap-unknown");
    assert_eq!(
        t.poll(TOKEN).await.1["status"],
        "VALID",
        "coverage may come back"
    );

    for env in [
        [("SIM_SWAP_ON_UNKNOWN", "allow")],
        [("SIM_SWAP_CHECK_HOURS", "0")],
    ] {
        let t = test_app_env(&env).await;
        let code = t.valid_bound(TOKEN).await;
        no_coverage(&t).await;
        let redeemed = t.redeem(TOKEN, redeem_body(&code)).await;
        assert_eq!(redeemed.status(), 200, "{env:?}: {}", body_text(&redeemed));
        let claims = verify_assertion(
            body_json(&redeemed)["assertion"].as_str().unwrap(),
            &t.jwks().await,
            ISSUER,
        );
        assert!(claims.get("sim_swap_checked_at").is_none(), "{env:?}");
        let checks = calls_to(&t, "/mi/simswap").await.len();
        assert_eq!(checks, usize::from(env[0].0 == "SIM_SWAP_ON_UNKNOWN"));
    }
}

/// An Infobip that does not answer is not "no coverage": nothing is let through on an outage,
/// and the verification stays redeemable for a retry.
#[tokio::test]
async fn a_sim_swap_check_that_fails_is_retried_not_skipped() {
    let t = test_app_env(&[("SIM_SWAP_ON_UNKNOWN", "allow")]).await;
    let code = t.valid_bound(TOKEN).await;
    t.sim_swap_answers(503, json!({})).await;
    let failed = t.redeem(TOKEN, redeem_body(&code)).await;
    assert_problem(&failed, 503);
    assert_eq!(t.poll(TOKEN).await.1["assertion"], "available");

    t.reset_infobip().await;
    let redeemed = t.redeem(TOKEN, redeem_body(&code)).await;
    assert_eq!(redeemed.status(), 200, "{}", body_text(&redeemed));
}

/// A VALID result is the carrier's word at that moment: it is signed within
/// `ASSERTION_REDEEM_SECONDS` of it, or never.
async fn a_result_is_redeemable_only_within_its_window_on(on_dynamodb: bool) {
    for (wait, expected) in [(599, 200), (600, 410)] {
        let store: Arc<dyn Store> = match on_dynamodb {
            true => dynamodb_store().await,
            false => Arc::new(MemoryStore::new()),
        };
        let t = test_app_with(&[], store).await;
        let code = t.valid_bound(TOKEN).await;
        t.advance(Duration::from_secs(wait));
        let redeemed = t.redeem(TOKEN, redeem_body(&code)).await;
        assert_eq!(
            redeemed.status(),
            expected,
            "{wait}: {}",
            body_text(&redeemed)
        );
        if expected == 410 {
            assert_problem_type(&redeemed, 410, "assertion-too-late");
            assert_eq!(t.poll(TOKEN).await.1["assertion"], "unavailable");
        }
    }
}

#[tokio::test]
async fn a_result_is_redeemable_only_within_its_window() {
    a_result_is_redeemable_only_within_its_window_on(false).await;
}

#[tokio::test]
async fn a_result_is_redeemable_only_within_its_window_on_dynamodb() {
    a_result_is_redeemable_only_within_its_window_on(true).await;
}

/// Infobip's own SIM-swap errors (309, 310) end the verification as our check does: no
/// assertion, and no PIN to stand in.
#[tokio::test]
async fn infobips_sim_swap_errors_end_the_verification_like_ours() {
    for id in [309, 310] {
        let t = test_app_env(&[
            ("FALLBACK_COUNTRIES", "GB,GG"),
            ("TWOFA_APPLICATION_ID", "app-1"),
            ("TWOFA_MESSAGE_ID", "msg-1"),
        ])
        .await;
        let redirect =
            json!({"status": "REDIRECT", "token": TOKEN, "deviceRedirectUrl": REDIRECT_URL});
        let (callback, _) = t.start_bound(TOKEN, PHONE, redirect).await;
        t.report_error(&callback, TOKEN, id).await;
        let (_, poll) = t.poll(TOKEN).await;
        assert_eq!(poll["status"], "ERROR");
        assert_eq!(poll["assertion"], "unavailable");
        assert_eq!(
            poll["fallback"],
            json!({"allowed": false, "channels": [], "reason": "sim-swap"})
        );
        let redeemed = t.redeem_as_starter(TOKEN).await;
        assert_problem_type(&redeemed, 409, "verification-not-valid");
    }
}
