//! The PIN fallback through Infobip 2FA (faked on loopback): when it is allowed, the SIM-swap
//! check before it, resends, attempt caps, races with a late silent result, and the assertion it
//! leads to. Every refusal is checked to change nothing and send nothing.

use std::sync::Arc;
use std::time::Duration;

use crate::helpers::*;
use serde_json::{json, Value};
use smv_shared::store::{MemoryStore, Store};
use wiremock::matchers::{body_partial_json, method, path, path_regex};
use wiremock::{Mock, ResponseTemplate};

const PIN: &str = "493817";
const PIN_ID: &str = "9C817C6F8AF3D48F9FE553282AFA2B67";
const ERROR_306: &str = r#"{"id": 306, "name": "EC_REJECTED_INVALID_IP_ADDRESS", "description": "IP address not in MNO data range."}"#;

/// The test number is Guernsey's (GG) by the numbering plan.
const FALLBACK_ENV: &[(&str, &str)] = &[
    ("FALLBACK_COUNTRIES", "GB,GG"),
    ("TWOFA_APPLICATION_ID", "app-1"),
    ("TWOFA_MESSAGE_ID", "msg-1"),
];

async fn app_with(extra: &[(&'static str, &'static str)], store: Arc<dyn Store>) -> TestApp {
    let env: Vec<(&str, &str)> = FALLBACK_ENV.iter().chain(extra).copied().collect();
    test_app_with(&env, store).await
}

async fn app(extra: &[(&'static str, &'static str)]) -> TestApp {
    app_with(extra, Arc::new(MemoryStore::new())).await
}

/// A bound verification whose silent attempt ended with `callback` (e.g. ERROR 306).
async fn ended_with(t: &TestApp, callback: Value) {
    let redirect = json!({"status": "REDIRECT", "token": TOKEN, "deviceRedirectUrl": REDIRECT_URL});
    let (callback_path, _) = t.start_bound(TOKEN, PHONE, redirect).await;
    let recorded = t.callback(&callback_path, callback).await;
    assert_eq!(recorded.status(), 200, "{}", body_text(&recorded));
}

/// ERROR 306 for a bound verification, a SIM that was not swapped, and 2FA ready to send: the
/// common ground of most cases here.
async fn after_error_306_on(
    extra: &[(&'static str, &'static str)],
    store: Arc<dyn Store>,
) -> TestApp {
    let t = app_with(extra, store).await;
    error_306(&t).await;
    not_swapped(&t).await;
    pins_are_sent(&t).await;
    t
}

async fn after_error_306(extra: &[(&'static str, &'static str)]) -> TestApp {
    after_error_306_on(extra, Arc::new(MemoryStore::new())).await
}

async fn error_306(t: &TestApp) {
    let error: Value = serde_json::from_str(ERROR_306).unwrap();
    ended_with(
        t,
        json!({"result": "ERROR", "token": TOKEN, "error": error}),
    )
    .await;
}

async fn not_swapped(t: &TestApp) {
    t.sim_swap_answers(200, json!({"requestId": "r", "simSwapOccurred": false}))
        .await;
}

async fn pins_are_sent(t: &TestApp) {
    for (route, status) in [
        ("/2fa/2/pin", "smsStatus"),
        ("/2fa/2/pin/voice", "callStatus"),
    ] {
        let value = if status == "smsStatus" {
            "MESSAGE_SENT"
        } else {
            "PENDING_ACCEPTED"
        };
        Mock::given(method("POST"))
            .and(path(route))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"pinId": PIN_ID, "to": PHONE_DIGITS, status: value})),
            )
            .mount(&t.infobip)
            .await;
    }
    Mock::given(method("POST"))
        .and(path_regex(r"^/2fa/2/pin/[^/]+/resend(/voice)?$"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"pinId": PIN_ID, "smsStatus": "MESSAGE_SENT"})),
        )
        .mount(&t.infobip)
        .await;
}

/// Infobip 2FA's verify answer for the right PIN, and for any other.
async fn pins_are_checked(t: &TestApp, attempts_remaining: u32) {
    Mock::given(method("POST"))
        .and(path(format!("/2fa/2/pin/{PIN_ID}/verify")))
        .and(body_partial_json(json!({"pin": PIN})))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"pinId": PIN_ID, "msisdn": PHONE_DIGITS, "verified": true, "attemptsRemaining": attempts_remaining, "pinError": null}),
        ))
        .mount(&t.infobip)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/2fa/2/pin/{PIN_ID}/verify")))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"pinId": PIN_ID, "msisdn": PHONE_DIGITS, "verified": false, "attemptsRemaining": attempts_remaining, "pinError": "WRONG_PIN"}),
        ))
        .mount(&t.infobip)
        .await;
}

fn fallback_body(channel: &str) -> Value {
    json!({"codeVerifier": VERIFIER, "channel": channel, "phoneNumber": PHONE})
}

async fn fall_back(t: &TestApp, body: Value) -> lambda_http::Response<lambda_http::Body> {
    t.send(post(
        &format!("/verifications/{TOKEN}/fallback"),
        &body.to_string(),
    ))
    .await
}

async fn enter(t: &TestApp, pin: &str) -> lambda_http::Response<lambda_http::Body> {
    let body = json!({"codeVerifier": VERIFIER, "pin": pin});
    t.send(post(
        &format!("/verifications/{TOKEN}/pin"),
        &body.to_string(),
    ))
    .await
}

#[tokio::test]
async fn an_error_without_evidence_falls_back_to_a_pin_and_asserts_how() {
    for (channel, send_path, amr) in [
        ("sms", "/2fa/2/pin", "sms"),
        ("voice", "/2fa/2/pin/voice", "tel"),
    ] {
        let t = after_error_306(&[]).await;
        pins_are_checked(&t, 4).await;
        let (_, before) = t.poll(TOKEN).await;
        assert_eq!(
            before["fallback"],
            json!({"allowed": true, "channels": ["sms", "voice"], "reason": null})
        );

        let sent = fall_back(&t, fallback_body(channel)).await;
        assert_eq!(sent.status(), 202, "{}", body_text(&sent));
        let sent = body_json(&sent);
        assert_eq!(sent["channel"], channel);
        assert_eq!(sent["token"], TOKEN);
        assert!(sent["resendAfter"].is_string() && sent["expiresAt"].is_string());
        assert!(sent.get("pinId").is_none(), "the pinId stays server-side");
        let sim_swap = calls_to(&t, "/mi/simswap").await;
        assert_eq!(sim_swap.len(), 1, "checked before the first PIN");
        assert_eq!(
            sim_swap[0].1,
            json!({"phoneNumber": PHONE_DIGITS, "consentGranted": true, "period": 72})
        );
        let sends = calls_to(&t, "/2fa").await;
        assert_eq!(
            sends,
            [(
                send_path.to_owned(),
                json!({"applicationId": "app-1", "messageId": "msg-1", "to": PHONE_DIGITS})
            )]
        );

        t.advance(Duration::from_secs(20));
        let verified = enter(&t, PIN).await;
        assert_eq!(verified.status(), 200, "{}", body_text(&verified));
        assert_eq!(
            body_json(&verified),
            json!({"token": TOKEN, "status": "VALID", "method": channel})
        );
        let (_, after) = t.poll(TOKEN).await;
        assert_eq!(after["status"], "VALID");
        assert_eq!(after["method"], channel);
        assert!(after.get("fallback").is_none());

        // The PIN reached the number: no device code, but still the verifier and the number.
        let redeemed = t.redeem_as_starter(TOKEN).await;
        assert_eq!(redeemed.status(), 200, "{}", body_text(&redeemed));
        let claims = verify_assertion(
            body_json(&redeemed)["assertion"].as_str().unwrap(),
            &t.jwks().await,
            ISSUER,
        );
        assert_eq!(
            claims["amr"],
            json!([amr]),
            "a relying party can demand silent verification"
        );
        assert_eq!(claims["phone_number"], PHONE);
        // When the PIN was right, and the SIM-swap answer the send got, under 10 minutes old.
        let start = START_TIME.as_millis() / 1000;
        assert_eq!(claims["auth_time"], start + 20);
        assert_eq!(claims["sim_swap_checked_at"], start);
        assert_eq!(calls_to(&t, "/mi/simswap").await.len(), 1, "reused");
    }
}

/// A PIN-send answer older than `SIM_SWAP_MAX_AGE_SECONDS` is not signed on: the redeem asks
/// again, and a swap since the PIN stops the assertion.
#[tokio::test]
async fn a_stale_pin_send_answer_is_asked_again_at_the_redeem() {
    let t = after_error_306(&[("SIM_SWAP_MAX_AGE_SECONDS", "120")]).await;
    pins_are_checked(&t, 4).await;
    assert_eq!(fall_back(&t, fallback_body("sms")).await.status(), 202);
    t.advance(Duration::from_secs(121));
    assert_eq!(enter(&t, PIN).await.status(), 200);
    // Swapped since the send: this answer outranks the earlier one.
    Mock::given(method("POST"))
        .and(path("/mi/simswap/1/check"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"requestId": "r", "simSwapOccurred": true})),
        )
        .with_priority(1)
        .mount(&t.infobip)
        .await;
    let redeemed = t.redeem_as_starter(TOKEN).await;
    assert_problem_type(&redeemed, 403, "sim-swap-detected");
    assert_eq!(calls_to(&t, "/mi/simswap").await.len(), 2);
    assert_eq!(t.poll(TOKEN).await.1["status"], "ERROR");
}

/// A refusal case: its name, extra settings, the request body, how silent verification ended
/// (`None`: ERROR 306; `Some(Null)`: still pending), and the expected status and problem type.
type Refusal = (
    &'static str,
    Vec<(&'static str, &'static str)>,
    Value,
    Option<Value>,
    u16,
    &'static str,
);

#[tokio::test]
async fn refusals_change_nothing_and_send_nothing() {
    let cases: Vec<Refusal> = vec![
        (
            "wrong verifier",
            vec![],
            json!({"codeVerifier": "x".repeat(43), "channel": "sms", "phoneNumber": PHONE}),
            None,
            403,
            "fallback-refused",
        ),
        (
            "another number",
            vec![],
            json!({"codeVerifier": VERIFIER, "channel": "sms", "phoneNumber": "+447911123457"}),
            None,
            403,
            "fallback-refused",
        ),
        (
            "country not allowed",
            vec![("FALLBACK_COUNTRIES", "DE")],
            fallback_body("sms"),
            None,
            422,
            "fallback-country-not-allowed",
        ),
        (
            "fallback off",
            vec![
                ("FALLBACK_COUNTRIES", ""),
                ("TWOFA_APPLICATION_ID", ""),
                ("TWOFA_MESSAGE_ID", ""),
            ],
            fallback_body("sms"),
            None,
            422,
            "fallback-country-not-allowed",
        ),
        (
            "still pending",
            vec![],
            fallback_body("sms"),
            Some(Value::Null),
            409,
            "fallback-not-allowed",
        ),
        (
            "INVALID",
            vec![],
            fallback_body("sms"),
            Some(json!({"result": "INVALID", "token": TOKEN})),
            409,
            "fallback-not-allowed",
        ),
        (
            "VALID",
            vec![],
            fallback_body("sms"),
            Some(json!({"result": "VALID", "token": TOKEN})),
            409,
            "fallback-not-allowed",
        ),
        (
            "an error that is our problem",
            vec![],
            fallback_body("sms"),
            Some(
                json!({"result": "ERROR", "token": TOKEN, "error": {"id": 202, "name": "EC_CONSENT_NOT_GRANTED", "description": "x"}}),
            ),
            409,
            "fallback-not-allowed",
        ),
        (
            "SIM swap reported by Infobip",
            vec![],
            fallback_body("sms"),
            Some(
                json!({"result": "ERROR", "token": TOKEN, "error": {"id": 310, "name": "EC_SIM_SWAP_DETECTED", "description": "x"}}),
            ),
            403,
            "sim-swap-detected",
        ),
        (
            "an unknown channel",
            vec![],
            fallback_body("pigeon"),
            None,
            400,
            "invalid-request",
        ),
    ];
    for (name, env, body, outcome, status, problem) in cases {
        let store = FaultyStore::new(MemoryStore::new());
        let t = app_with(&env, store.clone()).await;
        let error: Value = serde_json::from_str(ERROR_306).unwrap();
        let callback = match outcome {
            // Still pending: no callback at all.
            Some(Value::Null) => None,
            Some(callback) => Some(callback),
            None => Some(json!({"result": "ERROR", "token": TOKEN, "error": error})),
        };
        let redirect =
            json!({"status": "REDIRECT", "token": TOKEN, "deviceRedirectUrl": REDIRECT_URL});
        let (callback_path, _) = t.start_bound(TOKEN, PHONE, redirect).await;
        if let Some(callback) = callback {
            t.callback(&callback_path, callback).await;
        }
        not_swapped(&t).await;
        pins_are_sent(&t).await;
        let (_, before) = t.poll(TOKEN).await;
        let writes_before = store.calls().iter().filter(|c| **c == "replace").count();

        let refused = fall_back(&t, body).await;
        let problem_body = assert_problem(&refused, status);
        assert_eq!(
            problem_body["type"],
            format!("urn:smv:problem:{problem}"),
            "{name}"
        );
        if name == "still pending" {
            assert_eq!(problem_body["reason"], "pending");
        }
        assert!(calls_to(&t, "/2fa").await.is_empty(), "{name}: no PIN");
        assert!(
            calls_to(&t, "/mi/simswap").await.is_empty(),
            "{name}: no SIM-swap check"
        );
        let writes_after = store.calls().iter().filter(|c| **c == "replace").count();
        assert_eq!(writes_before, writes_after, "{name}: nothing written");
        assert_eq!(t.poll(TOKEN).await.1, before, "{name}: nothing changed");
    }
}

#[tokio::test]
async fn a_swapped_sim_never_gets_a_pin_and_the_refusal_is_recorded() {
    let t = app(&[]).await;
    error_306(&t).await;
    t.sim_swap_answers(200, json!({"requestId": "r", "simSwapOccurred": true}))
        .await;
    pins_are_sent(&t).await;
    for _ in 0..2 {
        let refused = fall_back(&t, fallback_body("sms")).await;
        assert_problem_type(&refused, 403, "sim-swap-detected");
    }
    assert!(calls_to(&t, "/2fa").await.is_empty(), "no PIN, ever");
    assert_eq!(
        calls_to(&t, "/mi/simswap").await.len(),
        1,
        "the second refusal is the recorded one"
    );
    let (_, poll) = t.poll(TOKEN).await;
    assert_eq!(
        poll["fallback"],
        json!({"allowed": false, "channels": [], "reason": "sim-swap"})
    );
    assert_eq!(poll["status"], "ERROR");
}

#[tokio::test]
async fn an_unknown_sim_swap_answer_follows_the_policy() {
    for (policy, expected) in [("deny", 403), ("allow", 202)] {
        let t = app(&[("SIM_SWAP_ON_UNKNOWN", policy)]).await;
        error_306(&t).await;
        t.sim_swap_answers(
            400,
            json!({"requestId": "r", "error": {"id": 100, "name": "EC_NO_COVERAGE"}}),
        )
        .await;
        pins_are_sent(&t).await;
        let answer = fall_back(&t, fallback_body("sms")).await;
        assert_eq!(
            answer.status(),
            expected,
            "{policy}: {}",
            body_text(&answer)
        );
        let pins = calls_to(&t, "/2fa").await.len();
        assert_eq!(pins, usize::from(expected == 202), "{policy}");
    }
    // And with the check off, no check at all.
    let t = app(&[("SIM_SWAP_CHECK_HOURS", "0")]).await;
    error_306(&t).await;
    pins_are_sent(&t).await;
    assert_eq!(fall_back(&t, fallback_body("sms")).await.status(), 202);
    assert!(calls_to(&t, "/mi/simswap").await.is_empty());
}

#[tokio::test]
async fn invalid_falls_back_only_where_configured() {
    let t = app(&[("FALLBACK_ON_INVALID", "true")]).await;
    ended_with(&t, json!({"result": "INVALID", "token": TOKEN})).await;
    not_swapped(&t).await;
    pins_are_sent(&t).await;
    assert_eq!(fall_back(&t, fallback_body("sms")).await.status(), 202);
}

#[tokio::test]
async fn pending_falls_back_after_the_deadline_and_a_late_silent_valid_wins() {
    let t = app(&[]).await;
    let redirect = json!({"status": "REDIRECT", "token": TOKEN, "deviceRedirectUrl": REDIRECT_URL});
    let (callback_path, _) = t.start_bound(TOKEN, PHONE, redirect).await;
    not_swapped(&t).await;
    pins_are_sent(&t).await;
    pins_are_checked(&t, 4).await;
    t.advance(Duration::from_secs(59));
    assert_problem(&fall_back(&t, fallback_body("sms")).await, 409);
    t.advance(Duration::from_secs(1));
    assert_eq!(t.poll(TOKEN).await.1["fallback"]["allowed"], true);
    assert_eq!(fall_back(&t, fallback_body("sms")).await.status(), 202);

    // The device finishes the silent step after all: VALID by silent verification.
    let late = t.report(&callback_path, TOKEN, "VALID").await;
    assert_eq!(body_json(&late)["outcome"], "RECORDED");
    let (_, poll) = t.poll(TOKEN).await;
    assert_eq!(
        (poll["status"].as_str(), poll["method"].as_str()),
        (Some("VALID"), Some("silent"))
    );
    assert_problem(&enter(&t, PIN).await, 410);
    assert!(
        calls_to(&t, "/2fa/2/pin/")
            .await
            .iter()
            .all(|(p, _)| !p.ends_with("/verify")),
        "the PIN is not even checked"
    );
}

#[tokio::test]
async fn a_late_invalid_or_sim_swap_ends_the_fallback() {
    for late in [
        json!({"result": "INVALID", "token": TOKEN}),
        json!({"result": "ERROR", "token": TOKEN, "error": {"id": 309, "name": "EC_SIM_SWAP_CHECK_FAILED", "description": "x"}}),
    ] {
        let t = app(&[("FALLBACK_ON_INVALID", "true")]).await;
        let redirect =
            json!({"status": "REDIRECT", "token": TOKEN, "deviceRedirectUrl": REDIRECT_URL});
        let (callback_path, _) = t.start_bound(TOKEN, PHONE, redirect).await;
        not_swapped(&t).await;
        pins_are_sent(&t).await;
        pins_are_checked(&t, 4).await;
        t.advance(Duration::from_secs(60));
        assert_eq!(fall_back(&t, fallback_body("sms")).await.status(), 202);
        t.callback(&callback_path, late.clone()).await;
        assert_eq!(
            assert_problem(&enter(&t, PIN).await, 410)["type"],
            "urn:smv:problem:pin-expired",
            "{late}"
        );
        assert_ne!(t.status(TOKEN).await, "VALID");
    }
}

#[tokio::test]
async fn resends_wait_longer_each_time_and_are_capped() {
    let t = after_error_306(&[]).await;
    assert_eq!(fall_back(&t, fallback_body("sms")).await.status(), 202);
    for wait in [30u64, 60] {
        let early = fall_back(&t, fallback_body("sms")).await;
        assert_problem_type(&early, 429, "pin-resend-too-soon");
        assert_eq!(
            header(&early, "retry-after"),
            Some(wait.to_string().as_str())
        );
        t.advance(Duration::from_secs(wait));
        assert_eq!(
            fall_back(&t, fallback_body("voice")).await.status(),
            202,
            "after {wait} s"
        );
    }
    t.advance(Duration::from_secs(120));
    let capped = fall_back(&t, fallback_body("sms")).await;
    assert_problem_type(&capped, 429, "pin-send-limit");
    let calls: Vec<String> = calls_to(&t, "/2fa")
        .await
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(
        calls,
        [
            "/2fa/2/pin".to_owned(),
            format!("/2fa/2/pin/{PIN_ID}/resend/voice"),
            format!("/2fa/2/pin/{PIN_ID}/resend/voice")
        ],
        "one PIN, resent (the same PIN) on the channel asked for"
    );
}

#[tokio::test]
async fn our_attempt_cap_holds_whatever_infobip_allows() {
    let t = after_error_306(&[("PIN_MAX_ATTEMPTS", "2")]).await;
    pins_are_checked(&t, 9).await;
    assert_eq!(fall_back(&t, fallback_body("sms")).await.status(), 202);
    let wrong = enter(&t, "000000").await;
    assert_eq!(assert_problem(&wrong, 422)["attemptsRemaining"], 1);
    assert_problem(&enter(&t, "000001").await, 410);
    // Dead: even the right PIN is refused, without asking Infobip.
    assert_problem(&enter(&t, PIN).await, 410);
    let checks = calls_to(&t, "/2fa/2/pin/")
        .await
        .iter()
        .filter(|(p, _)| p.ends_with("/verify"))
        .count();
    assert_eq!(checks, 2);
    assert_eq!(t.status(TOKEN).await, "ERROR");
}

#[tokio::test]
async fn infobips_attempt_cap_and_expiry_kill_the_pin() {
    let t = after_error_306(&[]).await;
    Mock::given(method("POST"))
        .and(path(format!("/2fa/2/pin/{PIN_ID}/verify")))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"pinId": PIN_ID, "verified": false, "attemptsRemaining": 0, "pinError": "NO_MORE_PIN_ATTEMPTS"}),
        ))
        .mount(&t.infobip)
        .await;
    assert_eq!(fall_back(&t, fallback_body("sms")).await.status(), 202);
    assert_problem(&enter(&t, PIN).await, 410);

    // Past its lifetime a PIN is dead without a word to Infobip.
    let t = after_error_306(&[]).await;
    pins_are_checked(&t, 4).await;
    assert_eq!(fall_back(&t, fallback_body("sms")).await.status(), 202);
    t.advance(Duration::from_secs(601));
    assert_problem(&enter(&t, PIN).await, 410);
    assert!(calls_to(&t, "/2fa/2/pin/")
        .await
        .iter()
        .all(|(p, _)| !p.ends_with("/verify")));
}

#[tokio::test]
async fn a_pin_that_was_not_sent_is_a_failed_send_that_costs_no_wait() {
    let t = app(&[]).await;
    error_306(&t).await;
    not_swapped(&t).await;
    Mock::given(method("POST"))
        .and(path("/2fa/2/pin"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"pinId": PIN_ID, "to": PHONE_DIGITS, "ncStatus": "NC_DESTINATION_UNREACHABLE", "smsStatus": "MESSAGE_NOT_SENT"}),
        ))
        .mount(&t.infobip)
        .await;
    let failed = fall_back(&t, fallback_body("sms")).await;
    assert_problem_type(&failed, 502, "pin-not-sent");
    // Nothing was claimed for good: asking again is not "too soon", and no PIN can be checked.
    assert_eq!(
        assert_problem(&fall_back(&t, fallback_body("sms")).await, 502)["type"],
        "urn:smv:problem:pin-not-sent"
    );
    assert_problem(&enter(&t, PIN).await, 409);
}

#[tokio::test]
async fn infobip_2fa_errors_are_clear_problems_without_infobips_text() {
    for (status, expected) in [(401, 502), (403, 502), (400, 502), (500, 503), (429, 503)] {
        let t = app(&[]).await;
        error_306(&t).await;
        not_swapped(&t).await;
        Mock::given(method("POST"))
            .and(path("/2fa/2/pin"))
            .respond_with(ResponseTemplate::new(status).set_body_json(
                json!({"requestError": {"serviceException": {"messageId": "UNAUTHORIZED", "text": "Invalid login details for app-1"}}}),
            ))
            .mount(&t.infobip)
            .await;
        let answer = fall_back(&t, fallback_body("sms")).await;
        assert_problem(&answer, expected);
        assert!(
            !body_text(&answer).contains("Invalid login"),
            "{status}: {}",
            body_text(&answer)
        );
        assert!(!body_text(&answer).contains("app-1"));
    }
}

#[tokio::test]
async fn concurrent_pin_submissions_produce_one_result() {
    for store in [
        Arc::new(MemoryStore::new()) as Arc<dyn Store>,
        dynamodb_store().await,
    ] {
        let t = after_error_306_on(&[], store).await;
        pins_are_checked(&t, 4).await;
        assert_eq!(fall_back(&t, fallback_body("sms")).await.status(), 202);
        let answers = futures::future::join_all((0..6).map(|_| enter(&t, PIN))).await;
        let statuses: Vec<u16> = answers.iter().map(|a| a.status().as_u16()).collect();
        assert!(statuses.contains(&200), "{statuses:?}");
        assert!(
            statuses.iter().all(|s| [200, 409, 410].contains(s)),
            "{statuses:?}"
        );
        let verified = t
            .metrics
            .documents()
            .iter()
            .filter(|d| d.get("PinsVerified").is_some())
            .count();
        assert_eq!(verified, 1, "one VALID, recorded once");
        let (_, poll) = t.poll(TOKEN).await;
        assert_eq!(
            (poll["status"].as_str(), poll["method"].as_str()),
            (Some("VALID"), Some("sms"))
        );
    }
}

#[tokio::test]
async fn the_whole_fallback_on_dynamodb() {
    let t = after_error_306_on(&[], dynamodb_store().await).await;
    pins_are_checked(&t, 4).await;
    assert_eq!(fall_back(&t, fallback_body("sms")).await.status(), 202);
    let early = fall_back(&t, fallback_body("sms")).await;
    assert_problem(&early, 429);
    assert_eq!(
        assert_problem(&enter(&t, "111111").await, 422)["attemptsRemaining"],
        4
    );
    assert_eq!(enter(&t, PIN).await.status(), 200);
    let redeemed = t.redeem_as_starter(TOKEN).await;
    assert_eq!(redeemed.status(), 200, "{}", body_text(&redeemed));
}

#[tokio::test(flavor = "current_thread")]
async fn no_pin_and_no_full_number_in_any_log_line() {
    let captured = LogCapture::default();
    let _guard = captured.install("trace");
    let t = after_error_306(&[]).await;
    pins_are_checked(&t, 4).await;
    fall_back(&t, fallback_body("sms")).await;
    enter(&t, "000000").await;
    enter(&t, PIN).await;
    let logs = captured.text();
    assert!(
        logs.contains("PIN sent") || logs.contains("verified by PIN"),
        "the flow was logged: {logs}"
    );
    for secret in [PIN, PHONE_DIGITS, PIN_ID, VERIFIER] {
        assert!(!logs.contains(secret), "{secret} in the logs: {logs}");
    }
}

/// A new PIN is counted like a start, before anything is asked of Infobip: the SIM-swap check is
/// billed too. Resends are bounded by PIN_MAX_SENDS and their waits instead.
#[tokio::test]
async fn a_new_pin_counts_in_the_rate_limits_like_a_start() {
    let t = after_error_306(&[("RATE_LIMIT_PER_PHONE", "1")]).await;
    let limited = fall_back(&t, fallback_body("sms")).await;
    assert_problem_type(&limited, 429, "too-many-verifications");
    assert!(calls_to(&t, "/mi/simswap").await.is_empty());
    assert!(calls_to(&t, "/2fa").await.is_empty());
}

/// A premium-rate number gets no PIN either, even for a verification started before the
/// deployment refused its type (started here by an app that allowed it): nothing is sent,
/// checked or billed.
async fn a_premium_rate_number_gets_no_pin_on(store: Arc<dyn Store>) {
    const PREMIUM: &str = "+449012345678";
    let lax = [("SIM_NUMBER_TYPES", "MOBILE,PREMIUM_RATE")];
    let before = app_with(&lax, store.clone()).await;
    let redirect = json!({"status": "REDIRECT", "token": TOKEN, "deviceRedirectUrl": REDIRECT_URL});
    let (callback, _) = before.start_bound(TOKEN, PREMIUM, redirect).await;
    before.report_error(&callback, TOKEN, 306).await;

    let t = app_with(&[], store).await;
    pins_are_sent(&t).await;
    let body = json!({"codeVerifier": VERIFIER, "channel": "voice", "phoneNumber": PREMIUM});
    let refused = fall_back(&t, body).await;
    assert_problem_type(&refused, 422, "not-a-mobile-number");
    assert!(calls_to(&t, "/2fa").await.is_empty(), "no PIN");
    assert!(
        calls_to(&t, "/mi/simswap").await.is_empty(),
        "no billed check"
    );
}

on_each_store!(a_premium_rate_number_gets_no_pin_on: a_premium_rate_number_gets_no_pin, a_premium_rate_number_gets_no_pin_on_dynamodb);

/// A resend is an SMS or a call billed like a first send: it counts against the start limits too.
#[tokio::test]
async fn a_resend_counts_in_the_rate_limits_like_a_start() {
    let t = after_error_306(&[("RATE_LIMIT_PER_PHONE", "2")]).await;
    assert_eq!(fall_back(&t, fallback_body("sms")).await.status(), 202);
    t.advance(Duration::from_secs(30));
    let resend = fall_back(&t, fallback_body("sms")).await;
    assert_problem_type(&resend, 429, "too-many-verifications");
    assert_eq!(calls_to(&t, "/2fa").await.len(), 1, "no resend");
}

/// `PIN_MAX_PER_PHONE_PER_DAY` caps the PINs one number gets, resends included, across
/// verifications: a pumping script that starts afresh each time still meets it.
#[tokio::test]
async fn a_number_gets_at_most_its_daily_pins() {
    let t = after_error_306(&[("PIN_MAX_PER_PHONE_PER_DAY", "2")]).await;
    assert_eq!(fall_back(&t, fallback_body("sms")).await.status(), 202);
    t.advance(Duration::from_secs(30));
    assert_eq!(fall_back(&t, fallback_body("sms")).await.status(), 202);
    t.advance(Duration::from_secs(60));
    let third = fall_back(&t, fallback_body("voice")).await;
    assert_problem_type(&third, 429, "too-many-verifications");
    assert!(body_json(&third)["detail"]
        .as_str()
        .unwrap()
        .contains("codes"));
    assert_eq!(calls_to(&t, "/2fa").await.len(), 2);
    assert_eq!(
        calls_to(&t, "/mi/simswap").await.len(),
        1,
        "refused before the check"
    );
}

/// `FALLBACK_CHANNELS` turns a channel off: voice, the usual toll-fraud vector, here.
#[tokio::test]
async fn a_channel_turned_off_is_neither_offered_nor_sent() {
    let t = after_error_306(&[("FALLBACK_CHANNELS", "sms")]).await;
    assert_eq!(
        t.poll(TOKEN).await.1["fallback"]["channels"],
        json!(["sms"])
    );
    let voice = fall_back(&t, fallback_body("voice")).await;
    assert_problem_type(&voice, 422, "fallback-channel-not-offered");
    assert!(calls_to(&t, "/2fa").await.is_empty());
    assert!(calls_to(&t, "/mi/simswap").await.is_empty());
    assert_eq!(fall_back(&t, fallback_body("sms")).await.status(), 202);
}

/// A start context with fallback countries but no 2FA client (built by hand: the configuration
/// refuses that combination) says what is missing, not that the country is refused, and sends
/// nothing, checks nothing and writes nothing.
#[tokio::test]
async fn fallback_without_its_two_factor_client_is_reported_as_such() {
    let mut t = after_error_306(&[]).await;
    t.backend.start.pins = None;
    let before = t.poll(TOKEN).await.1;
    let refused = fall_back(&t, fallback_body("sms")).await;
    assert_problem_type(&refused, 503, "fallback-not-configured");
    assert!(calls_to(&t, "/2fa").await.is_empty());
    assert!(calls_to(&t, "/mi/simswap").await.is_empty());
    assert_eq!(t.poll(TOKEN).await.1, before);
}

/// After a SIM swap the carrier delivers the victim's PIN to the attacker's SIM: every send is
/// checked, the first, a resend and a replacement PIN, unless an answer under a minute old stands.
async fn a_swap_between_two_sends_stops_the_second_on(store: Arc<dyn Store>) {
    let t = after_error_306_on(&[], store).await;
    assert_eq!(fall_back(&t, fallback_body("sms")).await.status(), 202);
    t.advance(Duration::from_secs(30));
    let soon = fall_back(&t, fallback_body("sms")).await;
    assert_eq!(soon.status(), 202, "{}", body_text(&soon));
    assert_eq!(
        calls_to(&t, "/mi/simswap").await.len(),
        1,
        "a 30 s old answer stands"
    );

    // The SIM is swapped now; the next resend is due in 60 s, by then the answer is stale.
    t.reset_infobip().await;
    t.sim_swap_answers(200, json!({"requestId": "r", "simSwapOccurred": true}))
        .await;
    pins_are_sent(&t).await;
    t.advance(Duration::from_secs(60));
    let after_swap = fall_back(&t, fallback_body("voice")).await;
    assert_problem_type(&after_swap, 403, "sim-swap-detected");
    assert_eq!(calls_to(&t, "/mi/simswap").await.len(), 1, "checked again");
    assert!(
        calls_to(&t, "/2fa").await.is_empty(),
        "no resend to the new SIM"
    );
    assert_eq!(t.poll(TOKEN).await.1["fallback"]["reason"], "sim-swap");
    let entered = enter(&t, PIN).await;
    assert_problem_type(&entered, 410, "pin-expired");
}

on_each_store!(a_swap_between_two_sends_stops_the_second_on: a_swap_between_two_sends_stops_the_second, a_swap_between_two_sends_stops_the_second_on_dynamodb);

/// A client that honours `Retry-After` must not be refused again: 29.4 s left is `30`, not `29`.
#[tokio::test]
async fn retry_after_rounds_a_resend_wait_up() {
    let t = after_error_306(&[]).await;
    assert_eq!(fall_back(&t, fallback_body("sms")).await.status(), 202);
    t.advance(Duration::from_millis(600));
    let early = fall_back(&t, fallback_body("sms")).await;
    assert_problem_type(&early, 429, "pin-resend-too-soon");
    assert_eq!(header(&early, "retry-after"), Some("30"));
    t.advance(Duration::from_secs(30));
    assert_eq!(fall_back(&t, fallback_body("sms")).await.status(), 202);
}
