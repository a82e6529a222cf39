//! Network-based CAMARA in the tests: the settings that turn it on for German numbers, a start
//! that goes to Infobip's authorize URL, and Infobip's `/verify` answering.

use serde_json::{json, Value};
use url::Url;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use super::app::TestApp;
use super::events::{body_json, body_text, bound_start};

pub const CAMARA_CLIENT_ID: &str = "smv-test-client";
/// A German mobile number: Germany is the CAMARA country of [`CAMARA_ENV`].
pub const GERMAN: &str = "+4915112345678";
pub const CAMARA_VERIFY_PATH: &str = "/camara/number-verification/v0/verify";
pub const CAMARA_ENV: &[(&str, &str)] = &[
    ("VERIFY_METHODS", "DE:camara,*:smv"),
    ("CAMARA_CLIENT_ID", CAMARA_CLIENT_ID),
];

/// The value of query parameter `name` of `url`.
pub fn query_param(url: &Url, name: &str) -> String {
    url.query_pairs()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("{url} has no {name}"))
        .1
        .into_owned()
}

impl TestApp {
    /// A bound start of [`GERMAN`]: its token and the authorize URL it answered.
    pub async fn start_camara(&self) -> (String, Url) {
        let started = self.send(bound_start(GERMAN)).await;
        assert_eq!(started.status(), 201, "{}", body_text(&started));
        let body = body_json(&started);
        let url = Url::parse(body["deviceRedirectUrl"].as_str().unwrap()).unwrap();
        (body["token"].as_str().unwrap().to_owned(), url)
    }

    /// Infobip's `/verify` answers `status` with `body` from now on.
    pub async fn camara_answers(&self, status: u16, body: Value) {
        Mock::given(method("POST"))
            .and(path(CAMARA_VERIFY_PATH))
            .respond_with(ResponseTemplate::new(status).set_body_json(body))
            .mount(&self.infobip)
            .await;
    }

    /// Infobip's `/verify` says whether the device's number is the one asked.
    pub async fn camara_verifies(&self, verified: bool) {
        self.camara_answers(200, json!({"devicePhoneNumberVerified": verified}))
            .await;
    }
}

pub const DCQL_PATH: &str = "/camara/number-verification/v2/dcql";
pub const SIM_VERIFY_PATH: &str = "/camara/number-verification/v2/verify";
/// The Android carrier id the fake Infobip resolves.
pub const CARRIER: u32 = 2020;
/// Network-based CAMARA for Germany, and SIM-based offered there too.
pub const SIM_ENV: &[(&str, &str)] = &[
    ("VERIFY_METHODS", "DE:camara,*:smv"),
    ("CAMARA_CLIENT_ID", CAMARA_CLIENT_ID),
    ("VERIFY_SIM_COUNTRIES", "DE"),
];

/// A start asking for SIM-based verification of `phone` on a device with `carriers`, bound to
/// [`VERIFIER`](super::app::VERIFIER).
pub fn sim_start(phone: &str, carriers: &[u32]) -> lambda_http::Request {
    let body = json!({"phoneNumber": phone, "codeChallenge": super::app::CHALLENGE,
        "codeChallengeMethod": "S256", "nonce": super::app::NONCE,
        "method": "sim", "carrierIds": carriers});
    super::events::post("/verifications", &body.to_string())
}

/// A SIM's `vp_token` as an SD-JWT: issuer JWT, one disclosure, key-binding JWT over `nonce`.
pub fn vp_token(nonce: &str) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let part = |v: Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let issued = format!(
        "{}.{}.c2ln",
        part(json!({"alg": "ES256", "typ": "dc+sd-jwt"})),
        part(json!({"vct": "number-verification/device-phone-number/ts43"}))
    );
    let disclosure = part(json!(["salt", "phone_number", GERMAN]));
    let key_binding = format!(
        "{}.{}.a2I",
        part(json!({"alg": "ES256", "typ": "kb+jwt"})),
        part(json!({"nonce": nonce, "aud": "smv"}))
    );
    format!("{issued}~{disclosure}~{key_binding}")
}

impl TestApp {
    /// Infobip's `/dcql` resolves [`CARRIER`] with a credential over the nonce it was given and
    /// answers NOT_FOUND for any other carrier.
    pub async fn dcql_resolves(&self) {
        Mock::given(method("POST"))
            .and(path(DCQL_PATH))
            .respond_with(|request: &wiremock::Request| {
                let asked: Value = serde_json::from_slice(&request.body).unwrap();
                let mut answer = serde_json::Map::new();
                for carrier in asked["carrierIds"].as_array().unwrap() {
                    let entry = match carrier.as_u64() == Some(u64::from(CARRIER)) {
                        true => json!({"format": "dc-authorization+sd-jwt",
                            "meta": {"credential_authorization_jwt": format!("signed-over.{}", asked["nonce"].as_str().unwrap()),
                                     "vct_values": ["number-verification/device-phone-number/ts43"]},
                            "claims": [{"path": ["device_phone_number"]}]}),
                        false => json!({"status": 404, "code": "NOT_FOUND", "message": "Not found"}),
                    };
                    answer.insert(carrier.to_string(), entry);
                }
                ResponseTemplate::new(200).set_body_json(Value::Object(answer))
            })
            .mount(&self.infobip)
            .await;
    }

    /// The nonce of the last credential request Infobip was asked for.
    pub async fn dcql_nonce(&self) -> String {
        let asked = self.calls_to_path(DCQL_PATH).await;
        let body: Value =
            serde_json::from_slice(&asked.last().expect("/dcql was asked").body).unwrap();
        body["nonce"].as_str().unwrap().to_owned()
    }

    /// Infobip's `/v2/verify` answers `status` with `body` from now on.
    pub async fn sim_verify_answers(&self, status: u16, body: Value) {
        Mock::given(method("POST"))
            .and(path(SIM_VERIFY_PATH))
            .respond_with(ResponseTemplate::new(status).set_body_json(body))
            .mount(&self.infobip)
            .await;
    }

    /// The requests Infobip received at `path`.
    pub async fn calls_to_path(&self, at: &str) -> Vec<wiremock::Request> {
        let all = self.infobip.received_requests().await.unwrap_or_default();
        all.into_iter().filter(|r| r.url.path() == at).collect()
    }

    /// A SIM-based start of [`GERMAN`] that Infobip accepts: its token and answer.
    pub async fn start_sim(&self) -> (String, Value) {
        self.dcql_resolves().await;
        let started = self.send(sim_start(GERMAN, &[CARRIER])).await;
        assert_eq!(started.status(), 201, "{}", body_text(&started));
        let body = body_json(&started);
        (body["token"].as_str().unwrap().to_owned(), body)
    }

    /// The starter submits `vp_token` with `verifier`.
    pub async fn submit_credential(
        &self,
        token: &str,
        vp_token: &str,
        verifier: &str,
    ) -> lambda_http::Response<lambda_http::Body> {
        let body = json!({"vpToken": vp_token, "codeVerifier": verifier});
        self.send(super::events::post(
            &format!("/verifications/{token}/credential"),
            &body.to_string(),
        ))
        .await
    }
}

/// Every documented answer of CAMARA's verify endpoints (`/v0/verify` and `/v2/verify` answer
/// alike), with the status and error id it is recorded as.
pub fn verify_answers() -> Vec<(u16, Value, &'static str, Value)> {
    let refusal = |status: u16, code: &str| json!({"status": status, "code": code, "message": "m"});
    vec![
        (
            200,
            json!({"devicePhoneNumberVerified": false}),
            "INVALID",
            Value::Null,
        ),
        (400, refusal(400, "INVALID_ARGUMENT"), "ERROR", json!(9010)),
        (404, refusal(404, "NOT_FOUND"), "ERROR", json!(9011)),
        (409, refusal(409, "CONFLICT"), "ERROR", json!(9012)),
        (
            422,
            refusal(422, "SERVICE_NOT_APPLICABLE"),
            "ERROR",
            json!(9013),
        ),
    ]
}
