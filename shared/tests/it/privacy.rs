//! What the logs of a whole verification contain: never the API key, a callback secret or a
//! full phone number.

use crate::helpers::*;
use serde_json::json;

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
    for leak in [PHONE_DIGITS, API_KEY, secret] {
        assert!(!logs.contains(leak), "{leak} leaked into: {logs}");
    }
}
