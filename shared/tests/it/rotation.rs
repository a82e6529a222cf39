//! Every key rotates without a redeploy and without breaking what is in flight: functions read
//! their keys from Secrets Manager (moto here), sign and tag with `AWSCURRENT`, accept what
//! `AWSPREVIOUS` made, and read the versions again when something verifies under neither (another
//! execution environment already signs with a newer key).

use std::time::Duration;

use crate::helpers::*;
use serde_json::{json, Value};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, ResponseTemplate};

const V1: &str = "5d2c8f4e-1b3a-4c5d-9e6f-7a8b9c0d1e2f";
const PIN: &str = "493817";
const PIN_ID: &str = "9C817C6F8AF3D48F9FE553282AFA2B67";
const ROTATED_API_KEY: &str = "rotated-api-key-9d3e";

/// Infobip as it stands after the API key's rotation: the old key refused (401), the new one
/// sending and checking PINs and answering the SIM-swap check.
async fn infobip_takes_only_the_rotated_key(t: &TestApp) {
    Mock::given(method("POST"))
        .and(header("authorization", format!("App {API_KEY}").as_str()))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"requestError": {"serviceException": {"messageId": "UNAUTHORIZED", "text": "Invalid login details"}}})))
        .with_priority(1)
        .mount(&t.infobip)
        .await;
    let rotated = format!("App {ROTATED_API_KEY}");
    let answers = [
        (
            "/mi/simswap/1/check".to_owned(),
            json!({"requestId": "r", "simSwapOccurred": false}),
        ),
        (
            "/2fa/2/pin".to_owned(),
            json!({"pinId": PIN_ID, "to": PHONE_DIGITS, "smsStatus": "MESSAGE_SENT"}),
        ),
        (
            format!("/2fa/2/pin/{PIN_ID}/verify"),
            json!({"pinId": PIN_ID, "msisdn": PHONE_DIGITS, "verified": true, "attemptsRemaining": 4, "pinError": null}),
        ),
    ];
    for (route, answer) in answers {
        Mock::given(method("POST"))
            .and(path(route))
            .and(header("authorization", rotated.as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(answer))
            .with_priority(2)
            .mount(&t.infobip)
            .await;
    }
}

async fn post_json(
    t: &TestApp,
    route: &str,
    body: Value,
) -> lambda_http::Response<lambda_http::Body> {
    t.send(post(route, &body.to_string())).await
}

async fn every_key_rotates_mid_flight(store: std::sync::Arc<dyn smv_shared::store::Store>) {
    let endpoint = test_dynamodb_endpoint();
    let keys = keys_in_secrets_manager(&endpoint, &endpoint).await;
    let secret_of = |name: &str| {
        keys.iter()
            .find(|(n, _)| n == &format!("{name}_SECRET_ARN"))
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    let mut env: Vec<(&str, &str)> = keys.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    env.extend([
        ("FALLBACK_COUNTRIES", "GB,GG"),
        ("TWOFA_APPLICATION_ID", "app-1"),
        ("TWOFA_MESSAGE_ID", "msg-1"),
    ]);
    // An execution environment that read its keys before the rotation...
    let before = test_app_with(&env, store.clone()).await;
    let redirect = |token: &str| json!({"status": "REDIRECT", "token": token, "deviceRedirectUrl": REDIRECT_URL});
    let (silent_callback, silent_return) = before.start_bound(V1, PHONE, redirect(V1)).await;
    let (pin_callback, _) = before
        .start_bound(OTHER_TOKEN, PHONE, redirect(OTHER_TOKEN))
        .await;

    for (name, value) in [
        ("INFOBIP_API_KEY", ROTATED_API_KEY),
        (
            "PHONE_HASH_KEY",
            "rotated-phone-hash-key-of-at-least-32-bytes",
        ),
        (
            "CALLBACK_SECRET_KEY",
            "rotated-callback-secret-key-of-at-least-32-bytes",
        ),
        ("RETURN_KEY", "rotated-return-key-of-at-least-32-bytes-long"),
    ] {
        rotate(&endpoint, &secret_of(name), value).await;
    }
    // ...and one that starts after it.
    let after = test_app_with(&env, store).await;

    // The callbacks and the return of verifications started under the old keys.
    let valid = after.report(&silent_callback, V1, "VALID").await;
    assert_eq!(valid.status(), 200, "{}", body_text(&valid));
    let code = after.device_code(&silent_return).await;
    after.report_error(&pin_callback, OTHER_TOKEN, 306).await;

    // The environment that knows only the old keys: the device code made under the new return key
    // and the new Infobip key are read again on the first refusal (past 30 s since its read).
    before.advance(Duration::from_secs(31));
    let redeemed = before
        .redeem(
            V1,
            json!({"codeVerifier": VERIFIER, "deviceCode": code, "phoneNumber": PHONE}),
        )
        .await;
    assert_eq!(redeemed.status(), 200, "{}", body_text(&redeemed));
    let claims = verify_assertion(
        body_json(&redeemed)["assertion"].as_str().unwrap(),
        &before.jwks().await,
        ISSUER,
    );
    assert_eq!(claims["phone_number"], PHONE);

    before.reset_infobip().await;
    infobip_takes_only_the_rotated_key(&before).await;
    let fallback = json!({"codeVerifier": VERIFIER, "channel": "sms", "phoneNumber": PHONE});
    let sent = post_json(
        &before,
        &format!("/verifications/{OTHER_TOKEN}/fallback"),
        fallback,
    )
    .await;
    assert_eq!(sent.status(), 202, "{}", body_text(&sent));
    let sends: Vec<_> = calls_to(&before, "/2fa").await;
    assert_eq!(sends.len(), 1, "one PIN, sent with the rotated key");

    // The PIN, checked and redeemed where the new keys are current.
    infobip_takes_only_the_rotated_key(&after).await;
    let entered = post_json(
        &after,
        &format!("/verifications/{OTHER_TOKEN}/pin"),
        json!({"codeVerifier": VERIFIER, "pin": PIN}),
    )
    .await;
    assert_eq!(entered.status(), 200, "{}", body_text(&entered));
    let by_pin = after.redeem_as_starter(OTHER_TOKEN).await;
    assert_eq!(by_pin.status(), 200, "{}", body_text(&by_pin));

    // A result for a verification not stored (the Brazil race, or a start that failed after
    // Infobip had its callback URL) is kept only for a callback URL we issued: one tagged under
    // the old callback key still is, and a forged one is not.
    before.reset_infobip().await;
    before.infobip_answers(503, json!({}), 1).await;
    assert_problem(&before.send(bound_start(PHONE)).await, 503);
    let issued_before = before.callback_path().await;
    let forged = format!("/callbacks/infobip/{}", "A".repeat(43));
    assert_problem(&after.report(&forged, TOKEN, "VALID").await, 403);
    let early = after.report(&issued_before, TOKEN, "VALID").await;
    assert_eq!(early.status(), 200, "{}", body_text(&early));
    assert_eq!(body_json(&early)["outcome"], "ACCEPTED");
}

on_each_store!(every_key_rotates_mid_flight: every_key_rotates_in_the_middle_of_verifications_and_all_of_them_complete, every_key_rotates_in_the_middle_of_verifications_on_dynamodb);
