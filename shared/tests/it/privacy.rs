//! What the logs and the table of a whole verification contain: never the API key, a callback
//! secret or a full phone number.

use crate::helpers::*;
use serde_json::json;
use sha2::{Digest, Sha256};

#[tokio::test(flavor = "current_thread")]
async fn logs_of_a_whole_verification_hold_no_secrets_and_no_full_number() {
    let captured = LogCapture::default();
    let _guard = captured.install("trace");

    let t = test_app().await;
    let callback = t.start_pending(TOKEN).await;
    t.callback(&callback, json!({"result": "VALID", "token": TOKEN}))
        .await;
    t.callback(
        "/callbacks/infobip/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        json!({"result": "VALID", "token": TOKEN}),
    )
    .await;
    t.poll(TOKEN).await;
    // A bound verification, its device's code, a wrong and a right redeem: the number is in
    // their bodies, the code and the verifier are secrets.
    t.infobip.reset().await;
    let code = t.valid_bound(OTHER_TOKEN).await;
    let wrong =
        json!({"codeVerifier": VERIFIER, "deviceCode": code, "phoneNumber": "+447911123457"});
    t.redeem(OTHER_TOKEN, wrong).await;
    let right = json!({"codeVerifier": VERIFIER, "deviceCode": code, "phoneNumber": PHONE});
    let assertion = body_json(&t.redeem(OTHER_TOKEN, right).await)["assertion"]
        .as_str()
        .unwrap()
        .to_owned();
    t.infobip.reset().await;
    t.infobip_answers(401, json!({"requestError": {"serviceException": {"messageId": "UNAUTHORIZED", "text": "Invalid login details"}}}), 1).await;
    t.send(start_request(PHONE)).await;

    let logs = captured.text();
    assert!(
        logs.contains("+44*******456"),
        "the masked number is logged: {logs}"
    );
    assert!(
        logs.contains("INFOBIP_API_KEY"),
        "the configuration problem is named: {logs}"
    );
    let secret = callback.rsplit('/').next().unwrap();
    let signature = assertion.rsplit('.').next().unwrap();
    for leak in [
        PHONE_DIGITS,
        "447911123457",
        API_KEY,
        PHONE_HASH_KEY,
        secret,
        &code,
        VERIFIER,
        signature,
    ] {
        assert!(!logs.contains(leak), "{leak} leaked into: {logs}");
    }
}

/// Everything a start writes (the verification, both rate-limit counters, an Idempotency-Key
/// record) names the number only by its mask or its keyed hash: a scan of the whole table finds
/// neither the number nor a bare SHA-256 of it, which anyone could compute for every number.
#[tokio::test]
async fn the_table_holds_no_phone_number_nor_a_bare_digest_of_one() {
    let endpoint = test_dynamodb_endpoint();
    let table = dynamodb_table_at(&endpoint).await;
    let t = test_app_with(&[], dynamodb_store_on(&endpoint, &table)).await;
    t.infobip_redirects(TOKEN).await;
    let started = t.send(keyed_start("k-1", PHONE)).await;
    assert_eq!(started.status(), 201, "{}", body_text(&started));
    // A bound verification, its device's return and a redeem write their own items.
    t.infobip.reset().await;
    let code = t.valid_bound(OTHER_TOKEN).await;
    let redeem = json!({"codeVerifier": VERIFIER, "deviceCode": code, "phoneNumber": PHONE});
    assert_eq!(t.redeem(OTHER_TOKEN, redeem).await.status(), 200);

    let items = smv_shared::aws::Account::local(&endpoint)
        .dynamodb()
        .scan()
        .table_name(&table)
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default();
    let keys: Vec<String> = items
        .iter()
        .map(|item| format!("{:?}", item["token"]))
        .collect();
    for prefix in [
        "limit#PhoneNumber#",
        "limit#DeviceIp#",
        "idem#",
        "return#",
        OTHER_TOKEN,
    ] {
        assert!(
            keys.iter().any(|k| k.contains(prefix)),
            "a {prefix} item was written: {keys:?}"
        );
    }
    let national = &PHONE_DIGITS[2..];
    let bare_digests = [PHONE_DIGITS, PHONE].map(|n| hex::encode(Sha256::digest(n.as_bytes())));
    for item in &items {
        let text = format!("{item:?}");
        assert!(!text.contains(national), "the number in {text}");
        for digest in &bare_digests {
            assert!(!text.contains(digest.as_str()), "a bare digest in {text}");
        }
    }
}

/// lambda_runtime logs every raw event at TRACE (the callback path with its secret, a redeem
/// body with the number): even at TRACE, the functions' subscriber keeps the runtime's crates at
/// DEBUG, while our own TRACE events still show.
#[test]
fn the_runtime_never_logs_raw_events_whatever_the_level() {
    let captured = LogCapture::default();
    let _guard = captured.install("trace");
    let raw_event = format!(r#"{{"rawPath":"/callbacks/infobip/s3cret","body":"{PHONE}"}}"#);
    tracing::trace!(
        target: "lambda_runtime::layers::api_response",
        body = raw_event.as_str(),
        "raw JSON event received from Lambda"
    );
    tracing::trace!(target: "lambda_http::request", body = raw_event.as_str(), "request");
    tracing::debug!(target: "lambda_runtime::runtime", "new event arrived");
    tracing::trace!(target: "smv_shared::service", "our own trace event");

    let logs = captured.text();
    assert!(
        !logs.contains("s3cret") && !logs.contains(PHONE_DIGITS),
        "{logs}"
    );
    assert!(
        logs.contains("new event arrived"),
        "the runtime's DEBUG stays: {logs}"
    );
    assert!(logs.contains("our own trace event"), "{logs}");
}
