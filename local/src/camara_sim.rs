//! The simulator's CAMARA Number Verification, as Infobip's description has it: the network-based
//! `authorize` (redirecting the device through a simulated operator and back with `code` and
//! `state`, or `error` and `state`) and `/verify`; the SIM-based `/v2/dcql` and `/v2/verify`,
//! and a stand-in for Android's Credential Manager (`/camara-wallet`) that the device simulator
//! calls to turn a credential request into the SIM's `vp_token`. Codes and nonces are single use;
//! what each number does is [`crate::test_numbers::CAMARA_NUMBERS`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hyper::StatusCode;
use ring::hmac;
use serde_json::{json, Value};
use url::Url;

use crate::simulator::{json_response, redirect, text, SimResponse};
use crate::test_numbers::{camara_number, CamaraScenario};

/// The client id `smv-local` is configured with, and the only one the simulator knows.
pub const CLIENT_ID: &str = "smv-local";
/// The Android carrier id of the simulated operator; any other is unknown to it.
pub const SIM_CARRIER_ID: u32 = 2020;
/// A carrier the simulated Infobip cannot resolve (the device of the no-carrier test number).
pub const UNKNOWN_CARRIER_ID: u32 = 9999;
const SESSION_COOKIE: &str = "camara_session";
/// CAMARA's profile: an authorization code lives at most 300 s.
const CODE_LIFETIME: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Network,
    Sim,
}

struct Authorization {
    redirect_url: Url,
    state: String,
    /// The subscriber the operator recognises: the device opened the link, so it is the number's.
    subscriber: String,
}

struct Grant {
    subscriber: String,
    until: Instant,
}

pub struct CamaraSim {
    public_base: Url,
    key: hmac::Key,
    authorizations: Mutex<HashMap<String, Authorization>>,
    codes: Mutex<HashMap<String, Grant>>,
    /// Nonces `/dcql` was given, until a `vp_token` for them is verified.
    nonces: Mutex<HashMap<String, Instant>>,
}

impl CamaraSim {
    pub fn new(public_base: &Url) -> Self {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).expect("the OS random number generator works");
        Self {
            public_base: public_base.clone(),
            key: hmac::Key::new(hmac::HMAC_SHA256, &seed),
            authorizations: Mutex::new(HashMap::new()),
            codes: Mutex::new(HashMap::new()),
            nonces: Mutex::new(HashMap::new()),
        }
    }

    /// `GET /camara/number-verification/v0/authorize`: no API key, the device opens it.
    pub fn authorize(&self, query: Option<&str>) -> SimResponse {
        let pairs: HashMap<String, String> =
            url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
                .into_owned()
                .collect();
        let Some(redirect_url) = pairs.get("redirectUrl").and_then(|u| Url::parse(u).ok()) else {
            return json_response(
                StatusCode::BAD_REQUEST,
                json!({"status": 400, "code": "INVALID_ARGUMENT", "message": "redirectUrl is required"}),
            );
        };
        let state = pairs.get("state").cloned().unwrap_or_default();
        let back_with_error = |error: &str| {
            let mut url = redirect_url.clone();
            url.query_pairs_mut()
                .append_pair("error", error)
                .append_pair("error_description", "simulated operator refusal")
                .append_pair("state", &state);
            redirect(url.as_str(), &format!("{SESSION_COOKIE}=; Max-Age=0"))
        };
        if pairs.get("clientId").map(String::as_str) != Some(CLIENT_ID) {
            return back_with_error("unauthorized_client");
        }
        let subscriber = pairs
            .get("login_hint")
            .and_then(|hint| hint.strip_prefix("tel:+"))
            .filter(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()));
        let Some(subscriber) = subscriber else {
            return back_with_error("invalid_request");
        };
        if let CamaraScenario::AuthorizeError(error) = camara_number(subscriber) {
            return back_with_error(error);
        }
        let session = random_id();
        lock(&self.authorizations).insert(
            session.clone(),
            Authorization {
                redirect_url,
                state,
                subscriber: subscriber.to_owned(),
            },
        );
        redirect(
            &format!("{}/camara-operator/{session}", self.public_base),
            &format!("{SESSION_COOKIE}={session}; Path=/; HttpOnly"),
        )
    }

    /// The operator recognises the subscriber (if the device kept its cookie) and sends it back.
    pub fn operator(&self, session: &str, cookies: &HashMap<String, String>) -> SimResponse {
        if cookies.get(SESSION_COOKIE).map(String::as_str) != Some(session) {
            return text(
                StatusCode::FORBIDDEN,
                "the operator session cookie is missing: follow redirects with cookies",
            );
        }
        let Some(done) = lock(&self.authorizations).remove(session) else {
            return text(StatusCode::NOT_FOUND, "unknown or finished authorization");
        };
        let code = random_id();
        lock(&self.codes).insert(
            code.clone(),
            Grant {
                subscriber: done.subscriber,
                until: Instant::now() + CODE_LIFETIME,
            },
        );
        let mut back = done.redirect_url;
        back.query_pairs_mut()
            .append_pair("code", &code)
            .append_pair("state", &done.state);
        redirect(back.as_str(), &format!("{SESSION_COOKIE}=; Max-Age=0"))
    }

    /// `POST /v0/verify` (the correlator is the operator's code) or `/v2/verify` (the SIM's
    /// `vp_token`).
    pub fn verify(&self, flow: Flow, correlator: Option<&str>, body: &[u8]) -> SimResponse {
        let claimed = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|b| b["phoneNumber"].as_str().map(str::to_owned))
            .and_then(|p| p.strip_prefix('+').map(str::to_owned))
            .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()));
        let (Some(claimed), Some(correlator)) = (claimed, correlator) else {
            return camara_error(
                400,
                "INVALID_ARGUMENT",
                "phoneNumber and X-Correlator are required",
            );
        };
        let subscriber = match flow {
            Flow::Network => self.redeem_code(correlator),
            Flow::Sim => self.redeem_vp_token(correlator),
        };
        let Some(subscriber) = subscriber else {
            return camara_error(404, "NOT_FOUND", "unknown, used or expired correlator");
        };
        match camara_number(&subscriber) {
            CamaraScenario::VerifyError(status, code) => camara_error(status, code, "simulated"),
            CamaraScenario::NotVerified => verified(false),
            _ => verified(claimed == subscriber),
        }
    }

    fn redeem_code(&self, code: &str) -> Option<String> {
        let grant = lock(&self.codes).remove(code)?;
        (Instant::now() < grant.until).then_some(grant.subscriber)
    }

    /// The `vp_token`'s issuer part is ours (the SIM's number, signed), its key-binding part
    /// carries a nonce `/dcql` was given and that no token used before.
    fn redeem_vp_token(&self, vp_token: &str) -> Option<String> {
        let (issued, key_binding) = vp_token.split_once('~')?;
        let subscriber = self.signed_claims(issued)?["sim_phone_number"]
            .as_str()?
            .to_owned();
        let nonce = jwt_claims(key_binding)?["nonce"].as_str()?.to_owned();
        let issued_at = lock(&self.nonces).remove(&nonce)?;
        (issued_at.elapsed() < CODE_LIFETIME).then_some(subscriber)
    }

    /// `POST /v2/dcql`: a credential request per carrier the simulated Infobip knows.
    pub fn dcql(&self, body: &[u8]) -> SimResponse {
        let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let nonce = request["nonce"].as_str().filter(|n| !n.is_empty());
        let carriers: Option<Vec<u64>> = request["carrierIds"]
            .as_array()
            .and_then(|ids| ids.iter().map(Value::as_u64).collect());
        let well_formed = request["useCase"] == "VERIFY_PHONE_NUMBER"
            && request["operationType"] == "SILENT_MOBILE_VERIFICATION";
        let (Some(nonce), Some(carriers), true) = (nonce, carriers, well_formed) else {
            return camara_error(
                400,
                "INVALID_ARGUMENT",
                "useCase, nonce, carrierIds and operationType are required",
            );
        };
        lock(&self.nonces).insert(nonce.to_owned(), Instant::now());
        let mut answer = serde_json::Map::new();
        for carrier in carriers {
            let entry = match carrier == u64::from(SIM_CARRIER_ID) {
                true => json!({
                    "format": "dc-authorization+sd-jwt",
                    "meta": {
                        "credential_authorization_jwt":
                            self.sign(&json!({"nonce": nonce, "carrier_id": carrier})),
                        "vct_values": ["number-verification/device-phone-number/ts43"],
                    },
                    "claims": [{"path": ["device_phone_number"]}],
                }),
                false => {
                    json!({"status": 404, "code": "NOT_FOUND", "message": "Carrier not supported"})
                }
            };
            answer.insert(carrier.to_string(), entry);
        }
        json_response(StatusCode::OK, Value::Object(answer))
    }

    /// The Credential Manager of a device whose SIM holds `phoneNumber`: the SIM answers the
    /// credential request with a `vp_token` over its nonce.
    pub fn wallet(&self, body: &[u8]) -> SimResponse {
        let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let jwt = request["credential"]["meta"]["credential_authorization_jwt"].as_str();
        let nonce = jwt
            .and_then(|jwt| self.signed_claims(jwt))
            .and_then(|claims| claims["nonce"].as_str().map(str::to_owned));
        let phone = request["phoneNumber"]
            .as_str()
            .and_then(|p| p.strip_prefix('+'));
        let (Some(nonce), Some(phone)) = (nonce, phone) else {
            return text(
                StatusCode::BAD_REQUEST,
                "a credential request we issued and the SIM's phoneNumber",
            );
        };
        let issued = self.sign(&json!({"sim_phone_number": phone}));
        let key_binding = unsigned_jwt(&json!({"nonce": nonce, "aud": "smv-local"}));
        json_response(
            StatusCode::OK,
            json!({"vpToken": format!("{issued}~{key_binding}")}),
        )
    }

    fn sign(&self, claims: &Value) -> String {
        let unsigned = unsigned_jwt(claims);
        let tag = hmac::sign(&self.key, unsigned.as_bytes());
        format!("{unsigned}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
    }

    fn signed_claims(&self, jwt: &str) -> Option<Value> {
        let (unsigned, tag) = jwt.rsplit_once('.')?;
        hmac::verify(
            &self.key,
            unsigned.as_bytes(),
            &URL_SAFE_NO_PAD.decode(tag).ok()?,
        )
        .ok()?;
        jwt_claims(unsigned)
    }
}

/// `header.payload` (a key-binding JWT's signature is the device's, which nobody checks here).
fn unsigned_jwt(claims: &Value) -> String {
    let part = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}",
        part(&json!({"alg": "HS256", "typ": "JWT"})),
        part(claims)
    )
}

fn jwt_claims(jwt: &str) -> Option<Value> {
    let payload = jwt.split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

fn verified(yes: bool) -> SimResponse {
    json_response(StatusCode::OK, json!({"devicePhoneNumberVerified": yes}))
}

fn camara_error(status: u16, code: &str, message: &str) -> SimResponse {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json_response(
        status,
        json!({"status": status.as_u16(), "code": code, "message": message}),
    )
}

fn random_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
