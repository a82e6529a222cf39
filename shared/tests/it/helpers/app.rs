//! The test app: all three functions on one store (in-memory, or moto through the DynamoDB
//! protocol) with a fake Infobip on loopback and a manual clock, and verbs for what tests do.

use std::sync::Arc;
use std::time::Duration;

use lambda_http::{Body, Request, Response};
use serde_json::{json, Value};
use smv_shared::app::Adapters;
use smv_shared::assertion::kms::KmsSigner;
use smv_shared::assertion::local::LocalSigner;
use smv_shared::assertion::Signer;
use smv_shared::config::{FromEnv, PollConfig};
use smv_shared::keys::SecretSource;
use smv_shared::secrets_manager::SecretsManager;
use smv_shared::store::{MemoryStore, Store};
use smv_shared::time::{ManualClock, Timestamp};
use smv_shared::{handle_any, handle_by, Backend, Function};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::dynamodb::test_dynamodb_endpoint;
use super::events::*;

pub const API_KEY: &str = "test-api-key-5f2b";
pub const PHONE_HASH_KEY: &str = "replace-with-at-least-32-random-bytes-of-your-own";
/// The key that tags return URLs in the tests. The return URL in `events/` was issued under it,
/// when return URLs were tagged under the phone hash key: hence the same text.
pub const RETURN_KEY: &str = "replace-with-at-least-32-random-bytes-of-your-own";
/// The callback key `events/env.json` gives the functions.
pub const CALLBACK_SECRET_KEY: &str = "replace-with-a-random-callback-secret-key-of-your-own";
pub const AUDIENCE: &str = "https://rp.example.com";
pub use smv_shared::binding::rfc7636_example::{CHALLENGE, VERIFIER};
pub const NONCE: &str = "rp-session-7f3a";
/// The issuer a request to the test API Gateway domain yields when ASSERTION_ISSUER is unset.
pub const ISSUER: &str = "https://abc123.execute-api.eu-west-1.amazonaws.com";
pub const PHONE: &str = "+447911123456";
pub const PHONE_DIGITS: &str = "447911123456";
pub const TOKEN: &str = "3f1c2b9e-8a7d-4c6b-9e5f-1a2b3c4d5e6f";
pub const OTHER_TOKEN: &str = "9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";
pub const DEVICE_IP: &str = "203.0.113.25";
pub const CALLBACK_BASE: &str = "https://smv.example.com/prod";
pub const REDIRECT_URL: &str = "https://mno.example.net/smv/check?id=42";
pub const START_TIME: Timestamp = Timestamp::from_millis(1_795_000_000_000);

pub struct TestApp {
    pub backend: Backend,
    pub clock: Arc<ManualClock>,
    pub infobip: MockServer,
    /// Every EMF document the app emitted.
    pub metrics: Arc<smv_shared::metrics::Captured>,
}

pub async fn test_app() -> TestApp {
    test_app_env(&[]).await
}

/// With `extra_env` over the usual settings, on the in-memory store.
pub async fn test_app_env(extra_env: &[(&str, &str)]) -> TestApp {
    test_app_with(extra_env, Arc::new(MemoryStore::new())).await
}

pub async fn test_app_with(extra_env: &[(&str, &str)], store: Arc<dyn Store>) -> TestApp {
    let infobip = MockServer::start().await;
    let mut env = vec![
        ("TABLE_NAME".to_owned(), "verifications".to_owned()),
        ("INFOBIP_API_KEY".to_owned(), API_KEY.to_owned()),
        ("INFOBIP_BASE_URL".to_owned(), infobip.uri()),
        ("INFOBIP_TIMEOUT_MS".to_owned(), "500".to_owned()),
        ("CALLBACK_BASE_URL".to_owned(), CALLBACK_BASE.to_owned()),
        ("PHONE_HASH_KEY".to_owned(), PHONE_HASH_KEY.to_owned()),
        ("RETURN_KEY".to_owned(), RETURN_KEY.to_owned()),
        (
            "CALLBACK_SECRET_KEY".to_owned(),
            CALLBACK_SECRET_KEY.to_owned(),
        ),
        ("ASSERTION_AUDIENCE".to_owned(), AUDIENCE.to_owned()),
        ("DEMO_APP_ROUTES".to_owned(), "true".to_owned()),
        // Most tests start the same number from the same address many times; `limits.rs`
        // tests this limit itself.
        ("RATE_LIMIT_PER_PHONE_AND_IP".to_owned(), "0".to_owned()),
    ];
    for (name, value) in extra_env {
        env.retain(|(n, _)| n != name);
        env.push((name.to_string(), value.to_string()));
    }
    env.retain(|(_, v)| !v.is_empty());
    let lookup = |name: &str| env.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    let poll_config = PollConfig::from_lookup(lookup).unwrap();
    // A KMS key on moto when the test names one, else a key of the process's own.
    let signer: Arc<dyn Signer> = match &poll_config.assertions.key_id {
        Some(key_id) => Arc::new(KmsSigner::new(
            smv_shared::aws::Account::local(
                &lookup("AWS_ENDPOINT_URL_KMS").unwrap_or_else(test_dynamodb_endpoint),
            )
            .kms(),
            key_id.clone(),
            poll_config.assertions.published_key_ids.clone(),
        )),
        None => Arc::new(LocalSigner::generate().unwrap()),
    };
    let clock = Arc::new(ManualClock::starting_at(START_TIME));
    let metrics = Arc::new(smv_shared::metrics::Captured::default());
    // Keys named by their secrets (`*_SECRET_ARN`) are read from Secrets Manager on moto.
    let secrets = lookup("AWS_ENDPOINT_URL_SECRETS_MANAGER").map(|endpoint| {
        Arc::new(SecretsManager::new(
            smv_shared::aws::Account::local(&endpoint).secrets_manager(),
        )) as Arc<dyn SecretSource>
    });
    let adapters = Adapters {
        store,
        clock: clock.clone(),
        metrics: metrics.clone(),
        secrets,
    };
    sim_swap_not_reported(&infobip).await;
    TestApp {
        backend: Backend::from_lookup(lookup, &adapters, signer).unwrap(),
        clock,
        infobip,
        metrics,
    }
}

/// Infobip's SIM-swap check says "not swapped" unless a test mounts another answer: every redeem
/// asks it, and the tests of the check itself say what it answers.
async fn sim_swap_not_reported(infobip: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/mi/simswap/1/check"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"requestId": "r", "simSwapOccurred": false})),
        )
        .with_priority(u8::MAX)
        .mount(infobip)
        .await;
}

impl TestApp {
    /// Infobip's SIM-swap check answers `status` with `body` (over the "not swapped" default).
    pub async fn sim_swap_answers(&self, status: u16, body: Value) {
        Mock::given(method("POST"))
            .and(path("/mi/simswap/1/check"))
            .respond_with(ResponseTemplate::new(status).set_body_json(body))
            .mount(&self.infobip)
            .await;
    }

    /// Forgets every answer and request of the fake Infobip, but for its SIM-swap default.
    pub async fn reset_infobip(&self) {
        self.infobip.reset().await;
        sim_swap_not_reported(&self.infobip).await;
    }

    /// As API Gateway routes it: to the function whose route the path is.
    pub async fn send(&self, request: Request) -> Response<Body> {
        handle_any(&self.backend, request).await
    }

    /// To `function` alone, as its Lambda binary receives whatever API Gateway sends it.
    pub async fn send_to(&self, function: Function, request: Request) -> Response<Body> {
        handle_by(&self.backend, Some(function), request).await
    }

    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// Infobip answers the verify call with `status` and `body`, and expects to be called `times`.
    pub async fn infobip_answers(&self, status: u16, body: Value, times: u64) {
        Mock::given(method("POST"))
            .and(path("/mi/verification/1/verify"))
            .respond_with(ResponseTemplate::new(status).set_body_json(body))
            .expect(times)
            .mount(&self.infobip)
            .await;
    }

    pub async fn infobip_redirects(&self, token: &str) {
        self.infobip_answers(
            200,
            json!({"status": "REDIRECT", "token": token, "deviceRedirectUrl": REDIRECT_URL}),
            1,
        )
        .await;
    }

    /// Every verify request Infobip received, as JSON bodies.
    pub async fn infobip_requests(&self) -> Vec<Value> {
        self.infobip
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .map(|r| serde_json::from_slice(&r.body).unwrap())
            .collect()
    }

    /// The callback URL's path (after the base) that the last verify request carried.
    pub async fn callback_path(&self) -> String {
        self.sent_path("callbackUrl").await
    }

    /// The return URL's path (after the base) that the last verify request carried.
    pub async fn return_path(&self) -> String {
        self.sent_path("returnUrl").await
    }

    /// The path of URL field `field` of the last verify request: our public base is stripped.
    async fn sent_path(&self, field: &str) -> String {
        let requests = self.infobip_requests().await;
        let url = requests.last().expect("Infobip was called")[field]
            .as_str()
            .unwrap()
            .to_owned();
        url.strip_prefix(CALLBACK_BASE)
            .expect("our URLs start with CALLBACK_BASE_URL")
            .to_owned()
    }

    /// Starts a verification of `phone` bound to [`VERIFIER`] and [`NONCE`], which Infobip
    /// accepts with `answer` (REDIRECT or OK) under `token`; returns the callback and return paths.
    pub async fn start_bound(&self, token: &str, phone: &str, answer: Value) -> (String, String) {
        Mock::given(method("POST"))
            .and(path("/mi/verification/1/verify"))
            .respond_with(ResponseTemplate::new(200).set_body_json(answer))
            .up_to_n_times(1)
            .mount(&self.infobip)
            .await;
        let started = self.send(bound_start(phone)).await;
        assert_eq!(started.status(), 201, "{}", body_text(&started));
        assert_eq!(body_json(&started)["token"], token);
        (self.callback_path().await, self.return_path().await)
    }

    /// A bound verification of [`PHONE`] that is VALID, and the code its device was shown.
    pub async fn valid_bound(&self, token: &str) -> String {
        let redirect =
            json!({"status": "REDIRECT", "token": token, "deviceRedirectUrl": REDIRECT_URL});
        let (callback, back) = self.start_bound(token, PHONE, redirect).await;
        let recorded = self
            .callback(&callback, json!({"result": "VALID", "token": token}))
            .await;
        assert_eq!(recorded.status(), 200, "{}", body_text(&recorded));
        self.device_code(&back).await
    }

    /// What a device's web view reads at the return URL.
    pub async fn device_code(&self, return_path: &str) -> String {
        let shown = self.send(get(return_path)).await;
        assert_eq!(shown.status(), 200, "{}", body_text(&shown));
        body_json(&shown)["deviceCode"].as_str().unwrap().to_owned()
    }

    pub async fn redeem(&self, token: &str, body: Value) -> Response<Body> {
        let path = format!("/verifications/{token}/assertion");
        self.send(post(&path, &body.to_string())).await
    }

    /// The key set relying parties fetch.
    pub async fn jwks(&self) -> Value {
        let keys = self.send(get("/.well-known/jwks.json")).await;
        assert_eq!(keys.status(), 200, "{}", body_text(&keys));
        body_json(&keys)
    }

    /// Starts a verification that Infobip accepts with REDIRECT and returns its callback path.
    pub async fn start_pending(&self, token: &str) -> String {
        self.infobip_redirects(token).await;
        let response = self.send(start_request(PHONE)).await;
        assert_eq!(response.status(), 201, "{}", body_text(&response));
        self.callback_path().await
    }

    /// The Brazil race: Infobip delivers `result` to our callback before it answers the verify
    /// call with OK, so the callback arrives before start-verify has stored anything. Returns the
    /// start's response, the callback's response, and what a poll saw while the start waited.
    pub async fn brazil_race(&self, result: &str) -> (Response<Body>, Response<Body>, u16) {
        self.brazil_race_across(self, self, result).await
    }

    /// [`Self::brazil_race`] with the callback and the poll served by other apps on the same
    /// store, as the callback and poll functions would serve them.
    pub async fn brazil_race_across(
        &self,
        callbacks: &TestApp,
        polls: &TestApp,
        result: &str,
    ) -> (Response<Body>, Response<Body>, u16) {
        Mock::given(method("POST"))
            .and(path("/mi/verification/1/verify"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"status": "OK", "token": TOKEN}))
                    .set_delay(Duration::from_millis(300)),
            )
            .expect(1)
            .mount(&self.infobip)
            .await;
        let start = self.send(start_request("+5511987654321"));
        let early_callback = async {
            while self.infobip_requests().await.is_empty() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let body = json!({"result": result, "token": TOKEN});
            let response = callbacks.callback(&self.callback_path().await, body).await;
            (response, polls.poll(TOKEN).await.0)
        };
        let (started, (callback, poll_meanwhile)) = tokio::join!(start, early_callback);
        (started, callback, poll_meanwhile)
    }

    pub async fn poll(&self, token: &str) -> (u16, Value) {
        let response = self.send(get(&format!("/verifications/{token}"))).await;
        (response.status().as_u16(), body_json(&response))
    }

    /// What Infobip's demo app sees when it polls `token`.
    pub async fn demo_result(&self, token: &str) -> Response<Body> {
        self.send(get(&format!("/verify/result/{token}"))).await
    }

    /// Infobip's callback of a bare `result` (`VALID`, `INVALID`) for `token`.
    pub async fn report(&self, callback_path: &str, token: &str, result: &str) -> Response<Body> {
        self.callback(callback_path, json!({"result": result, "token": token}))
            .await
    }

    /// Infobip's ERROR callback for `token`, with only the error's id.
    pub async fn report_error(&self, callback_path: &str, token: &str, id: i32) -> Response<Body> {
        let body = json!({"result": "ERROR", "token": token, "error": {"id": id}});
        self.callback(callback_path, body).await
    }

    /// A verification started and then given a bare `result`; its callback path.
    pub async fn settled(&self, token: &str, result: &str) -> String {
        let callback = self.start_pending(token).await;
        self.report(&callback, token, result).await;
        callback
    }

    /// A verification started and then ended in ERROR `id`; its callback path.
    pub async fn settled_with_error(&self, token: &str, id: i32) -> String {
        let callback = self.start_pending(token).await;
        self.report_error(&callback, token, id).await;
        callback
    }

    /// Asserts that a callback was recorded and that a poll now says `status`.
    pub async fn assert_recorded(&self, response: &Response<Body>, token: &str, status: &str) {
        assert_eq!(
            body_json(response)["outcome"],
            "RECORDED",
            "{}",
            body_text(response)
        );
        assert_eq!(self.status(token).await, status);
    }

    /// What a poll says the status is.
    pub async fn status(&self, token: &str) -> Value {
        self.poll(token).await.1["status"].clone()
    }

    /// The redeem the starter makes when no device code is needed: its verifier and the number.
    pub async fn redeem_as_starter(&self, token: &str) -> Response<Body> {
        self.redeem(
            token,
            json!({"codeVerifier": VERIFIER, "phoneNumber": PHONE}),
        )
        .await
    }

    pub async fn callback(&self, callback_path: &str, body: Value) -> Response<Body> {
        self.send(post(callback_path, &body.to_string())).await
    }
}

/// Requests Infobip received under `prefix` (`/2fa`, `/mi/simswap`).
pub async fn calls_to(t: &TestApp, prefix: &str) -> Vec<(String, Value)> {
    t.infobip
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path().starts_with(prefix))
        .map(|r| {
            let body = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
            (r.url.path().to_owned(), body)
        })
        .collect()
}
