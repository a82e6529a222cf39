//! A stand-in for Infobip's Mobile Identity API and for the operator behind it, so the whole flow
//! runs on a laptop. It checks requests as Infobip does (API key, digits-only number, consent,
//! absolute callback URL), answers REDIRECT with a URL on this server, plays the operator's
//! redirect chain with cookies when a device opens it, and then POSTs the result to the
//! callback URL. The outcome is chosen by the phone number: see [`TEST_NUMBERS`]. CAMARA's
//! endpoints are [`crate::camara_sim`]'s.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, LOCATION, RETRY_AFTER, SET_COOKIE};
use hyper::{Method, Response, StatusCode};
use serde_json::{json, Value};
use smv_shared::fallback::Channel;
use smv_shared::infobip::{known_error, types::VerifyRequest};
use tracing::{info, warn};
use url::Url;

use crate::camara_sim::{self, CamaraSim};
use crate::pin_desk::{self, PinDesk};
use crate::test_numbers::{test_number, Scenario};

/// Where the simulator lives on the local server.
pub const PATH_PREFIX: &str = "/_simulator/infobip";
/// The API key the local server uses, and the only one the simulator accepts.
pub const API_KEY: &str = "smv-local-simulator-key";
/// Longer than the backend's Infobip timeout (`INFOBIP_TIMEOUT_MS`, at most 60 s).
const HANG: Duration = Duration::from_secs(65);
const SESSION_COOKIE: &str = "mno_session";
const HEADER_ENRICHED_COOKIE: &str = "mno_msisdn_seen";

struct Session {
    /// Where the device goes once the operator is done (Infobip's `returnUrl`).
    return_url: Option<String>,
    token: String,
    callback_url: String,
    scenario: Scenario,
}

pub struct Simulator {
    public_base: Url,
    http: reqwest::Client,
    /// How each callback delivery ended, by the backend's acknowledgement (`RECORDED`,
    /// `ALREADY_FINAL`, ...) or `UNDELIVERED`; served at `{PATH_PREFIX}/stats`.
    deliveries: Deliveries,
    sessions: Mutex<HashMap<String, Session>>,
    duplicate_callbacks: bool,
    /// 2FA, the SIM-swap check and the PIN inbox.
    pins: PinDesk,
    /// CAMARA Number Verification, network- and SIM-based.
    camara: CamaraSim,
}

pub(crate) type SimResponse = Response<Full<Bytes>>;

impl Simulator {
    /// `server_base` is the local server's own base URL; device redirects point there.
    pub fn new(server_base: &Url) -> Self {
        let mut public_base = server_base.clone();
        public_base.set_path(PATH_PREFIX);
        Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("a plain reqwest client builds"),
            sessions: Mutex::new(HashMap::new()),
            deliveries: Deliveries::default(),
            duplicate_callbacks: false,
            pins: PinDesk::default(),
            camara: CamaraSim::new(&public_base),
            public_base,
        }
    }

    /// Delivers every result twice at the same moment, as a sender that retries after a lost
    /// acknowledgement would: the backend must record it once and acknowledge both.
    pub fn with_duplicate_callbacks(mut self, duplicate: bool) -> Self {
        self.duplicate_callbacks = duplicate;
        self
    }

    /// What the backend should use as `INFOBIP_BASE_URL`.
    pub fn base_url(&self) -> &Url {
        &self.public_base
    }

    /// `None` when the request is not for the simulator.
    pub async fn handle(
        &self,
        parts: &hyper::http::request::Parts,
        body: &[u8],
    ) -> Option<SimResponse> {
        let path = parts.uri.path().strip_prefix(PATH_PREFIX)?;
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let cookies = cookies(parts);
        // Infobip's APIs need the API key; the device's, the operator's and our own pages do not.
        let infobip_api = match segments.as_slice() {
            ["camara", _, _, "authorize"] => false,
            ["mi", ..] | ["2fa", ..] | ["camara", ..] => true,
            _ => false,
        };
        if infobip_api && !authorized(parts) {
            return Some(platform_error(
                StatusCode::UNAUTHORIZED,
                "UNAUTHORIZED",
                "Invalid login details",
            ));
        }
        let pins = &self.pins;
        use Channel::{Sms, Voice};
        use Method as M;
        Some(match (&parts.method, segments.as_slice()) {
            (&M::POST, ["mi", "verification", "1", "verify"]) => self.verify(body).await,
            (&M::POST, ["mi", "simswap", "1", "check"]) => pin_desk::sim_swap(body),
            (&M::POST, ["2fa", "2", "pin"]) => pins.send(body, Sms),
            (&M::POST, ["2fa", "2", "pin", "voice"]) => pins.send(body, Voice),
            (&M::POST, ["2fa", "2", "pin", id, "resend"]) => pins.resend(id, Sms),
            (&M::POST, ["2fa", "2", "pin", id, "resend", "voice"]) => pins.resend(id, Voice),
            (&M::POST, ["2fa", "2", "pin", id, "verify"]) => pins.verify(id, body),
            (&M::POST, ["2fa", "2", "applications"]) => pin_desk::create_application(body),
            (&M::POST, ["2fa", "2", "applications", app, "messages"]) => {
                pin_desk::create_message(app, body)
            }
            (&M::GET, ["inbox", digits]) => pins.read_inbox(digits),
            (&M::GET, ["camara", "number-verification", "v0", "authorize"]) => {
                self.camara.authorize(parts.uri.query())
            }
            (&M::GET, ["camara-operator", id]) => self.camara.operator(id, &cookies),
            (&M::POST, ["camara", "number-verification", version @ ("v0" | "v2"), "verify"]) => {
                let flow = match *version {
                    "v0" => camara_sim::Flow::Network,
                    _ => camara_sim::Flow::Sim,
                };
                let correlator = parts
                    .headers
                    .get("x-correlator")
                    .and_then(|v| v.to_str().ok());
                self.camara.verify(flow, correlator, body)
            }
            (&M::POST, ["camara", "number-verification", "v2", "dcql"]) => self.camara.dcql(body),
            (&M::POST, ["camara-wallet"]) => self.camara.wallet(body),
            (&M::GET, ["device", id]) => self.device_opens(id),
            (&M::GET, ["operator", id, "hop"]) => self.operator_hop(id, &cookies),
            (&M::GET, ["operator", id, "done"]) => self.operator_done(id, &cookies),
            (&M::GET, ["stats"]) => {
                let counts = self
                    .deliveries
                    .0
                    .lock()
                    .map(|c| c.clone())
                    .unwrap_or_default();
                json_response(StatusCode::OK, json!({ "callbackDeliveries": counts }))
            }
            _ => text(StatusCode::NOT_FOUND, "no such simulator route"),
        })
    }

    async fn verify(&self, body: &[u8]) -> SimResponse {
        let request: VerifyRequest = match serde_json::from_slice(body) {
            Ok(request) => request,
            Err(_) => return refusal(StatusCode::BAD_REQUEST, 200),
        };
        if !request.consent_granted {
            return refusal(StatusCode::BAD_REQUEST, 202);
        }
        let digits_only = !request.phone_number.is_empty()
            && request.phone_number.bytes().all(|b| b.is_ascii_digit());
        let absolute =
            |raw: &str| Url::parse(raw).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
        let callback_ok = absolute(&request.callback_url);
        let return_ok = request.return_url.as_deref().is_none_or(absolute);
        let device_ok = match (&request.device_ip, request.device_port) {
            (Some(ip), _) => ip.parse::<IpAddr>().is_ok(),
            (None, Some(_)) => false,
            (None, None) => true,
        };
        if !digits_only || !callback_ok || !return_ok || !device_ok {
            return refusal(StatusCode::BAD_REQUEST, 200);
        }

        let scenario = test_number(&request.phone_number).silent;
        let token = uuid::Uuid::new_v4().to_string();
        info!(scenario = ?scenario, token = %token, "simulator: verify request");
        match scenario {
            Scenario::RefusedNoCoverage => refusal(StatusCode::BAD_REQUEST, 100),
            Scenario::RefusedUnprocessable => refusal(StatusCode::UNPROCESSABLE_ENTITY, 400),
            Scenario::InternalError => refusal(StatusCode::INTERNAL_SERVER_ERROR, 1000),
            Scenario::Unauthorized => platform_error(
                StatusCode::UNAUTHORIZED,
                "UNAUTHORIZED",
                "Invalid login details",
            ),
            Scenario::RateLimited => {
                let mut response = platform_error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "TOO_MANY_REQUESTS",
                    "Too many requests",
                );
                response.headers_mut().insert(RETRY_AFTER, 3.into());
                response
            }
            Scenario::Unavailable => {
                let mut response = text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>",
                );
                response
                    .headers_mut()
                    .insert(CONTENT_TYPE, "text/html".parse().expect("static header"));
                response
            }
            Scenario::Hang => {
                tokio::time::sleep(HANG).await;
                text(StatusCode::GATEWAY_TIMEOUT, "too late")
            }
            Scenario::BrazilOk => {
                // The race a real Brazilian verification can produce: the result is delivered
                // before the verify call is answered.
                self.deliver(&request.callback_url, &token, Scenario::Valid)
                    .await;
                json_response(StatusCode::OK, json!({"status": "OK", "token": token}))
            }
            Scenario::Valid
            | Scenario::Invalid
            | Scenario::DeviceTimeout
            | Scenario::WrongNetwork
            | Scenario::NoCallback => {
                let session = uuid::Uuid::new_v4().simple().to_string();
                let redirect = format!("{}/device/{session}", self.public_base);
                self.lock().insert(
                    session,
                    Session {
                        return_url: request.return_url,
                        token: token.clone(),
                        callback_url: request.callback_url,
                        scenario,
                    },
                );
                json_response(
                    StatusCode::OK,
                    json!({"status": "REDIRECT", "token": token, "deviceRedirectUrl": redirect}),
                )
            }
        }
    }

    /// The device opens `deviceRedirectUrl`: the operator starts a session.
    fn device_opens(&self, session: &str) -> SimResponse {
        if !self.lock().contains_key(session) {
            return text(
                StatusCode::NOT_FOUND,
                "unknown or finished verification session",
            );
        }
        redirect(
            &format!("{}/operator/{session}/hop", self.public_base),
            &format!("{SESSION_COOKIE}={session}; Path=/; HttpOnly"),
        )
    }

    /// The operator recognises the subscriber, if the device kept the session cookie.
    fn operator_hop(&self, session: &str, cookies: &HashMap<String, String>) -> SimResponse {
        if cookies.get(SESSION_COOKIE).map(String::as_str) != Some(session) {
            return text(
                StatusCode::FORBIDDEN,
                "the operator session cookie is missing: follow redirects with cookies",
            );
        }
        redirect(
            &format!("{}/operator/{session}/done", self.public_base),
            &format!("{HEADER_ENRICHED_COOKIE}=1; Path=/; HttpOnly"),
        )
    }

    /// The end of the chain: Infobip knows the answer and calls back.
    fn operator_done(&self, session: &str, cookies: &HashMap<String, String>) -> SimResponse {
        let complete = cookies.get(SESSION_COOKIE).map(String::as_str) == Some(session)
            && cookies.contains_key(HEADER_ENRICHED_COOKIE);
        if !complete {
            return text(
                StatusCode::FORBIDDEN,
                "the operator cookies are missing: follow redirects with cookies",
            );
        }
        let Some(finished) = self.lock().remove(session) else {
            return text(
                StatusCode::NOT_FOUND,
                "unknown or finished verification session",
            );
        };
        if finished.scenario != Scenario::NoCallback {
            let (http, copies) = (self.http.clone(), self.copies());
            let deliveries = self.deliveries.clone();
            tokio::spawn(async move {
                deliver_copies(
                    &http,
                    &deliveries,
                    &finished.callback_url,
                    &finished.token,
                    finished.scenario,
                    copies,
                )
                .await;
            });
        }
        match &finished.return_url {
            // As Infobip does: the device is sent back to the backend's return URL.
            Some(return_url) => redirect(return_url, &format!("{SESSION_COOKIE}=; Max-Age=0")),
            None => text(
                StatusCode::OK,
                "Verification complete: you can return to the app.",
            ),
        }
    }

    async fn deliver(&self, callback_url: &str, token: &str, scenario: Scenario) {
        deliver_copies(
            &self.http,
            &self.deliveries,
            callback_url,
            token,
            scenario,
            self.copies(),
        )
        .await;
    }

    fn copies(&self) -> usize {
        if self.duplicate_callbacks {
            2
        } else {
            1
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[derive(Clone, Default)]
struct Deliveries(Arc<Mutex<BTreeMap<String, u64>>>);

impl Deliveries {
    fn count(&self, outcome: &str) {
        if let Ok(mut counts) = self.0.lock() {
            *counts.entry(outcome.to_owned()).or_default() += 1;
        }
    }
}

async fn deliver_copies(
    http: &reqwest::Client,
    deliveries: &Deliveries,
    callback_url: &str,
    token: &str,
    scenario: Scenario,
    copies: usize,
) {
    let sends = (0..copies).map(|_| deliver_with(http, deliveries, callback_url, token, scenario));
    futures::future::join_all(sends).await;
}

/// POSTs the result as Infobip does, retrying on failure with growing pauses (Infobip does not
/// document its retries; a backend must cope with repeats either way).
async fn deliver_with(
    http: &reqwest::Client,
    deliveries: &Deliveries,
    callback_url: &str,
    token: &str,
    scenario: Scenario,
) {
    let body = callback_body(token, scenario);
    for attempt in 1..=8u32 {
        match http.post(callback_url).json(&body).send().await {
            Ok(response) if response.status().is_success() => {
                info!(
                    token,
                    status = response.status().as_u16(),
                    "simulator: callback delivered"
                );
                let ack: Value = response.json().await.unwrap_or(Value::Null);
                deliveries.count(ack["outcome"].as_str().unwrap_or("OK"));
                return;
            }
            Ok(response) => warn!(
                token,
                status = response.status().as_u16(),
                attempt,
                "simulator: callback refused"
            ),
            // Without the URL: it carries the verification's callback secret.
            Err(e) => warn!(token, error = %e.without_url(), attempt, "simulator: callback failed"),
        }
        deliveries.count("RETRIED");
        // 0.25 s, 0.5 s, 1 s, ... up to 8 s: about 25 s of retries in all.
        tokio::time::sleep(Duration::from_millis(250 << attempt.min(6) >> 1)).await;
    }
    deliveries.count("UNDELIVERED");
}

pub fn callback_body(token: &str, scenario: Scenario) -> Value {
    match scenario {
        Scenario::Invalid => json!({"result": "INVALID", "token": token, "error": null}),
        Scenario::DeviceTimeout => {
            json!({"result": "ERROR", "token": token, "error": error_object(305)})
        }
        Scenario::WrongNetwork => {
            json!({"result": "ERROR", "token": token, "error": error_object(306)})
        }
        _ => json!({"result": "VALID", "token": token, "error": null}),
    }
}

fn error_object(id: i32) -> Value {
    let known = known_error(id).expect("the simulator only uses documented error ids");
    json!({"id": id, "name": known.name, "description": known.description})
}

fn refusal(status: StatusCode, error_id: i32) -> SimResponse {
    let token = uuid::Uuid::new_v4().to_string();
    json_response(
        status,
        json!({"status": "ERROR", "token": token, "error": error_object(error_id)}),
    )
}

pub(crate) fn platform_error(status: StatusCode, message_id: &str, text: &str) -> SimResponse {
    json_response(
        status,
        json!({"requestError": {"serviceException": {"messageId": message_id, "text": text}}}),
    )
}

pub(crate) fn json_response(status: StatusCode, body: Value) -> SimResponse {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        "application/json".parse().expect("static header"),
    );
    response
}

pub(crate) fn text(status: StatusCode, body: &'static str) -> SimResponse {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        "text/plain; charset=utf-8".parse().expect("static header"),
    );
    response
}

pub(crate) fn redirect(location: &str, cookie: &str) -> SimResponse {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::FOUND;
    if let (Ok(location), Ok(cookie)) = (location.parse(), cookie.parse()) {
        response.headers_mut().insert(LOCATION, location);
        response.headers_mut().insert(SET_COOKIE, cookie);
    }
    response
}

fn authorized(parts: &hyper::http::request::Parts) -> bool {
    parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        == Some(&format!("App {API_KEY}"))
}

fn cookies(parts: &hyper::http::request::Parts) -> HashMap<String, String> {
    parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}
