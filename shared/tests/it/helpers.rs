//! Test helpers: all three functions on one store (in-memory, or moto through the DynamoDB
//! protocol) with a fake Infobip on loopback, and requests built as API Gateway events and parsed
//! by lambda_http itself.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use lambda_http::{Body, Request, Response};
use serde_json::{json, Value};
use smv_shared::app::Adapters;
use smv_shared::assertion::kms::KmsSigner;
use smv_shared::assertion::local::LocalSigner;
use smv_shared::assertion::Signer;
use smv_shared::config::PollConfig;
use smv_shared::http::event::{HeaderMap, HttpRequest, Method};
use smv_shared::store::{
    Counters, DeviceReturns, IdempotencyRecord, IdempotencyRecords, MemoryStore, ParkedCallbacks,
    Store, StoreError, StoredResponse, Verifications,
};
use smv_shared::time::{ManualClock, Timestamp};
use smv_shared::token::{SecretHash, Token};
use smv_shared::verification::{ParkedCallback, Verification, VerificationResult};
use smv_shared::{handle_any, handle_by, Backend, Function};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const API_KEY: &str = "test-api-key-5f2b";
/// The key `events/env.json` gives the functions: the return URL in `events/` was issued under it.
pub const PHONE_HASH_KEY: &str = "replace-with-at-least-32-random-bytes-of-your-own";
/// The callback key `events/env.json` gives the functions.
pub const CALLBACK_SECRET_KEY: &str = "replace-with-a-random-callback-secret-key-of-your-own";
pub const AUDIENCE: &str = "https://rp.example.com";
/// RFC 7636 Appendix B.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
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
    test_app_with(&[], Arc::new(MemoryStore::new())).await
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
    let adapters = Adapters {
        store,
        clock: clock.clone(),
        metrics: metrics.clone(),
    };
    TestApp {
        backend: Backend::from_lookup(lookup, &adapters, signer).unwrap(),
        clock,
        infobip,
        metrics,
    }
}

impl TestApp {
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

    pub async fn callback(&self, callback_path: &str, body: Value) -> Response<Body> {
        self.send(post(callback_path, &body.to_string())).await
    }
}

/// The HTTP API event for a request from `source_ip`, as JSON (tests change fields of it).
pub fn http_api_event(
    method: &str,
    path: &str,
    headers: Value,
    body: Option<&str>,
    source_ip: &str,
) -> Value {
    let mut header_map = HeaderMap::new();
    for (name, value) in headers.as_object().unwrap() {
        header_map.append(
            lambda_http::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.as_str().unwrap().parse().unwrap(),
        );
    }
    HttpRequest {
        method: &Method::from_bytes(method.as_bytes()).unwrap(),
        path,
        query: "",
        headers: &header_map,
        body: body.unwrap_or_default().as_bytes(),
        source_ip,
        domain_name: "abc123.execute-api.eu-west-1.amazonaws.com",
        request_id: "req-1",
    }
    .to_event()
}

pub fn parse_event(event: &Value) -> Request {
    smv_shared::http::event::parse(event).expect("lambda_http parses the event")
}

pub fn get(path: &str) -> Request {
    parse_event(&http_api_event(
        "GET",
        path,
        json!({"accept": "application/json"}),
        None,
        DEVICE_IP,
    ))
}

pub fn post(path: &str, body: &str) -> Request {
    parse_event(&http_api_event(
        "POST",
        path,
        json!({"content-type": "application/json"}),
        Some(body),
        DEVICE_IP,
    ))
}

/// A start from device address `ip` with extra `headers` (for example `idempotency-key`).
pub fn start_from(ip: &str, phone: &str, headers: Value) -> Request {
    let mut all = json!({"content-type": "application/json"});
    for (name, value) in headers.as_object().unwrap() {
        all[name] = value.clone();
    }
    parse_event(&http_api_event(
        "POST",
        "/verifications",
        all,
        Some(&json!({"phoneNumber": phone}).to_string()),
        ip,
    ))
}

/// A start of `phone` from the usual device address, with an `Idempotency-Key`.
pub fn keyed_start(key: &str, phone: &str) -> Request {
    start_from(DEVICE_IP, phone, json!({"idempotency-key": key}))
}

/// A start bound to [`CHALLENGE`] (the RFC 7636 example) and [`NONCE`].
pub fn bound_start(phone: &str) -> Request {
    let body = json!({"phoneNumber": phone, "codeChallenge": CHALLENGE, "codeChallengeMethod": "S256", "nonce": NONCE});
    post("/verifications", &body.to_string())
}

pub fn start_request(phone: &str) -> Request {
    post("/verifications", &json!({"phoneNumber": phone}).to_string())
}

pub fn body_text(response: &Response<Body>) -> String {
    String::from_utf8_lossy(response.body().as_ref()).into_owned()
}

pub fn body_json(response: &Response<Body>) -> Value {
    serde_json::from_slice(response.body().as_ref()).unwrap_or(Value::Null)
}

pub fn header<'r>(response: &'r Response<Body>, name: &str) -> Option<&'r str> {
    response.headers().get(name).map(|v| v.to_str().unwrap())
}

/// Asserts an RFC 9457 problem with `status` and returns its body.
pub fn assert_problem(response: &Response<Body>, status: u16) -> Value {
    assert_eq!(
        response.status().as_u16(),
        status,
        "{}",
        body_text(response)
    );
    assert_eq!(
        header(response, "content-type"),
        Some("application/problem+json")
    );
    let body = body_json(response);
    assert!(
        body["type"]
            .as_str()
            .unwrap()
            .starts_with("urn:smv:problem:"),
        "{body}"
    );
    assert!(body["title"].is_string(), "{body}");
    assert_eq!(body["status"], status, "{body}");
    assert!(body["detail"].is_string(), "{body}");
    body
}

/// A fresh table on the DynamoDB-protocol server `scripts/test` starts (moto), with the
/// product's key schema and TTL.
pub async fn dynamodb_store() -> Arc<smv_shared::store::DynamoDbStore> {
    dynamodb_store_at(&test_dynamodb_endpoint()).await
}

/// The DynamoDB-protocol server `scripts/test` started.
pub fn test_dynamodb_endpoint() -> String {
    std::env::var("SMV_TEST_DYNAMODB_ENDPOINT").expect(
        "SMV_TEST_DYNAMODB_ENDPOINT is not set: run scripts/test, which starts a DynamoDB server (moto) for these tests",
    )
}

/// A fresh table reached through `endpoint`, with the product's client settings.
pub async fn dynamodb_store_at(endpoint: &str) -> Arc<smv_shared::store::DynamoDbStore> {
    dynamodb_store_on(endpoint, &dynamodb_table_at(endpoint).await)
}

/// Creates a fresh table through `endpoint` and returns its name.
pub async fn dynamodb_table_at(endpoint: &str) -> String {
    let table = format!("smv-test-{}", uuid::Uuid::new_v4());
    smv_shared::store::DynamoDbStore::create_table(&dynamodb_client(endpoint), &table)
        .await
        .unwrap();
    table
}

/// An existing table reached through `endpoint`, with the product's client settings.
pub fn dynamodb_store_on(endpoint: &str, table: &str) -> Arc<smv_shared::store::DynamoDbStore> {
    Arc::new(smv_shared::store::DynamoDbStore::new(
        dynamodb_client(endpoint),
        table,
    ))
}

fn dynamodb_client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    smv_shared::aws::Account::local(endpoint).dynamodb()
}

/// A `tracing` writer that keeps everything written, for tests of what the logs contain.
#[derive(Clone, Default)]
pub struct LogCapture(Arc<std::sync::Mutex<Vec<u8>>>);

impl LogCapture {
    /// Installs the functions' own JSON subscriber (at `level`) on this thread, writing here.
    pub fn install(&self, level: &str) -> tracing::subscriber::DefaultGuard {
        let writer = self.clone();
        let subscriber =
            smv_shared::telemetry::json_subscriber(level.parse().unwrap(), move || writer.clone());
        tracing::subscriber::set_default(subscriber)
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl std::io::Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A store that records every operation and fails the ones it is told to, as DynamoDB does when
/// it throttles (`StoreError::Unavailable`); everything else goes to the wrapped store.
pub struct FaultyStore {
    inner: Arc<dyn Store>,
    failures: std::sync::Mutex<std::collections::HashMap<&'static str, u32>>,
    calls: std::sync::Mutex<Vec<&'static str>>,
}

impl FaultyStore {
    pub fn new(inner: impl Store + 'static) -> Arc<Self> {
        Self::wrapping(Arc::new(inner))
    }

    pub fn wrapping(inner: Arc<dyn Store>) -> Arc<Self> {
        Arc::new(Self {
            inner,
            failures: Default::default(),
            calls: Default::default(),
        })
    }

    /// The next `times` calls of `operation` fail (0 clears).
    pub fn fail(&self, operation: &'static str, times: u32) {
        self.failures.lock().unwrap().insert(operation, times);
    }

    /// Every operation called so far, in order.
    pub fn calls(&self) -> Vec<&'static str> {
        self.calls.lock().unwrap().clone()
    }

    fn enter(&self, operation: &'static str) -> Result<(), StoreError> {
        self.calls.lock().unwrap().push(operation);
        let mut failures = self.failures.lock().unwrap();
        match failures.get_mut(operation) {
            Some(left) if *left > 0 => {
                *left -= 1;
                Err(StoreError::unavailable(format!(
                    "{operation}: ProvisionedThroughputExceededException (injected)"
                )))
            }
            _ => Ok(()),
        }
    }
}

#[async_trait]
impl Verifications for FaultyStore {
    async fn create(&self, v: &Verification) -> Result<(), StoreError> {
        self.enter("create")?;
        self.inner.create(v).await
    }
    async fn find(&self, t: &Token, now: Timestamp) -> Result<Option<Verification>, StoreError> {
        self.enter("find")?;
        self.inner.find(t, now).await
    }
    async fn complete(
        &self,
        t: &Token,
        h: &SecretHash,
        r: &VerificationResult,
        now: Timestamp,
    ) -> Result<Option<Verification>, StoreError> {
        self.enter("complete")?;
        self.inner.complete(t, h, r, now).await
    }
    async fn redeem(&self, t: &Token, now: Timestamp) -> Result<bool, StoreError> {
        self.enter("redeem")?;
        self.inner.redeem(t, now).await
    }
    async fn fail_redemption(&self, t: &Token, now: Timestamp) -> Result<(), StoreError> {
        self.enter("fail_redemption")?;
        self.inner.fail_redemption(t, now).await
    }
    async fn replace(&self, version: u64, next: &Verification) -> Result<bool, StoreError> {
        self.enter("replace")?;
        self.inner.replace(version, next).await
    }
}

#[async_trait]
impl DeviceReturns for FaultyStore {
    async fn first_return(
        &self,
        h: &SecretHash,
        until: Timestamp,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        self.enter("first_return")?;
        self.inner.first_return(h, until, now).await
    }
}

#[async_trait]
impl ParkedCallbacks for FaultyStore {
    async fn park(&self, c: &ParkedCallback) -> Result<(), StoreError> {
        self.enter("park")?;
        self.inner.park(c).await
    }
    async fn find_parked(
        &self,
        h: &SecretHash,
        t: &Token,
        now: Timestamp,
    ) -> Result<Option<ParkedCallback>, StoreError> {
        self.enter("find_parked")?;
        self.inner.find_parked(h, t, now).await
    }
}

#[async_trait]
impl Counters for FaultyStore {
    async fn increment(&self, k: &str, at: Timestamp, now: Timestamp) -> Result<u64, StoreError> {
        self.enter("increment")?;
        self.inner.increment(k, at, now).await
    }
    async fn decrement(&self, k: &str, now: Timestamp) -> Result<(), StoreError> {
        self.enter("decrement")?;
        self.inner.decrement(k, now).await
    }
}

#[async_trait]
impl IdempotencyRecords for FaultyStore {
    async fn claim_idempotent(
        &self,
        k: &str,
        f: &str,
        lease: Timestamp,
        now: Timestamp,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.enter("claim_idempotent")?;
        self.inner.claim_idempotent(k, f, lease, now).await
    }
    async fn finish_idempotent(
        &self,
        k: &str,
        f: &str,
        r: &StoredResponse,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        self.enter("finish_idempotent")?;
        self.inner.finish_idempotent(k, f, r, at).await
    }
    async fn release_idempotent(&self, k: &str) -> Result<(), StoreError> {
        self.enter("release_idempotent")?;
        self.inner.release_idempotent(k).await
    }
}

/// A new signing key in the test server's KMS (moto); its ARN.
pub async fn kms_key(endpoint: &str) -> String {
    smv_shared::aws::Account::local(endpoint)
        .create_assertion_key()
        .await
        .unwrap()
}

/// The claims of `assertion`, checked by an independent JWT library (jsonwebtoken) against the
/// key set the app publishes: ES256 pinned, the key by `kid`, `typ`, `iss`, `aud`, `exp`.
pub fn verify_assertion(assertion: &str, jwks: &Value, issuer: &str) -> Value {
    use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
    let header = decode_header(assertion).unwrap();
    assert_eq!(header.alg, Algorithm::ES256);
    assert_eq!(header.typ.as_deref(), Some("smv+jwt"));
    let kid = header.kid.expect("a kid");
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .expect("the kid is in the key set");
    let decoding =
        DecodingKey::from_ec_components(key["x"].as_str().unwrap(), key["y"].as_str().unwrap())
            .unwrap();
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_audience(&[AUDIENCE]);
    validation.set_issuer(&[issuer]);
    // The tests run on a manual clock set in 2026; exp is checked against it below instead.
    validation.validate_exp = false;
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    decode::<Value>(assertion, &decoding, &validation)
        .expect("the assertion verifies")
        .claims
}
