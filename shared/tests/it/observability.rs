//! Business metrics as CloudWatch EMF documents: well formed, and carrying the right values.

use std::time::Duration;

use crate::helpers::*;
use serde_json::{json, Value};
use smv_shared::metrics::check_emf;

fn metric(t: &TestApp, name: &str) -> Vec<Value> {
    let documents = t.metrics.documents();
    for document in &documents {
        check_emf(document).unwrap_or_else(|problem| panic!("{problem}: {document}"));
    }
    documents
        .into_iter()
        .filter(|d| d.get(name).is_some())
        .collect()
}

#[tokio::test]
async fn a_verification_emits_started_and_its_result_with_time_to_result() {
    let t = test_app().await;
    let callback = t.start_pending(TOKEN).await;
    t.advance(Duration::from_millis(4_250));
    t.report_error(&callback, TOKEN, 305).await;

    assert_eq!(metric(&t, "VerificationsStarted").len(), 1);
    let results = metric(&t, "Results");
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["Outcome"], "ERROR");
    assert_eq!(results[0]["TimeToResult"], 4_250);
    let errors = metric(&t, "InfobipErrors");
    assert_eq!((errors.len(), &errors[0]["ErrorId"]), (1, &json!("305")));

    // A repeat changes nothing and counts nothing.
    t.report(&callback, TOKEN, "VALID").await;
    assert_eq!(metric(&t, "Results").len(), 1);
}

#[tokio::test]
async fn refused_callbacks_are_counted_by_reason() {
    let t = test_app().await;
    let callback = t.start_pending(TOKEN).await;
    t.callback(
        "/callbacks/infobip/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        json!({"result": "VALID", "token": TOKEN}),
    )
    .await;
    t.send(post(&callback, "not json")).await;
    t.report(&callback, OTHER_TOKEN, "VALID").await;
    let reasons: Vec<Value> = metric(&t, "CallbacksRefused")
        .iter()
        .map(|d| d["Reason"].clone())
        .collect();
    assert_eq!(
        reasons,
        [json!("Forged"), json!("Malformed"), json!("UnknownToken")]
    );
}

#[tokio::test]
async fn infobip_refusals_and_rate_limits_are_counted() {
    let t = test_app().await;
    t.infobip_answers(
        422,
        json!({"status": "ERROR", "token": TOKEN, "error": {"id": 100}}),
        1,
    )
    .await;
    t.send(start_request(PHONE)).await;
    assert_eq!(metric(&t, "InfobipErrors")[0]["ErrorId"], "100");
    assert!(metric(&t, "VerificationsStarted").is_empty());

    t.reset_infobip().await;
    t.infobip_answers(429, json!({}), 1).await;
    t.send(start_request(PHONE)).await;
    assert_eq!(metric(&t, "RateLimitedStarts").len(), 1);
}

/// Infobip's latency, by API, for the dashboard and the latency alarm: every call counts, the
/// verify of a start and the SIM-swap check of a redeem.
#[tokio::test]
async fn each_infobip_call_reports_its_latency_by_api() {
    let t = test_app().await;
    let code = t.valid_bound(TOKEN).await;
    let redeemed = t
        .redeem(
            TOKEN,
            json!({"codeVerifier": VERIFIER, "deviceCode": code, "phoneNumber": PHONE}),
        )
        .await;
    assert_eq!(redeemed.status(), 200, "{}", body_text(&redeemed));
    let apis: Vec<Value> = metric(&t, "InfobipLatency")
        .iter()
        .map(|d| d["Api"].clone())
        .collect();
    assert_eq!(apis, [json!("Verify"), json!("SimSwap")]);
}

/// A KMS that throttles (its ECC request quota) is a 503 the app retries, counted for the alarm.
#[tokio::test]
async fn a_throttled_signature_is_a_503_and_is_counted() {
    use smv_shared::assertion::{local::LocalSigner, Jwk, SignError, Signer};

    struct Throttling(LocalSigner);

    #[async_trait::async_trait]
    impl Signer for Throttling {
        async fn keys(&self) -> Result<Vec<Jwk>, SignError> {
            self.0.keys().await
        }
        async fn signing_key(&self) -> Result<Jwk, SignError> {
            self.0.signing_key().await
        }
        async fn sign(&self, _: &[u8]) -> Result<[u8; 64], SignError> {
            Err(SignError::Throttled("ThrottlingException (test)".into()))
        }
    }

    let mut t = test_app().await;
    t.backend.poll.signer = std::sync::Arc::new(Throttling(LocalSigner::generate().unwrap()));
    let code = t.valid_bound(TOKEN).await;
    let refused = t
        .redeem(
            TOKEN,
            json!({"codeVerifier": VERIFIER, "deviceCode": code, "phoneNumber": PHONE}),
        )
        .await;
    assert_problem(&refused, 503);
    assert_eq!(metric(&t, "SigningThrottled").len(), 1);
    assert_eq!(
        t.poll(TOKEN).await.1["assertion"],
        "available",
        "nothing spent"
    );
}
