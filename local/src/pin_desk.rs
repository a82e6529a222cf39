//! The simulator's Infobip 2FA and SIM-swap check: sends "PINs" to an inbox instead of a phone,
//! checks them as 2FA does (`verified`, `attemptsRemaining`, `pinError`), answers the SIM-swap
//! check, and creates applications and message templates for `smv-local infobip-setup`. The
//! inbox (`GET /_simulator/infobip/inbox/{digits}`) is the only way to read a PIN: what a test or
//! `smv-local demo --fallback` reads instead of an SMS.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use hyper::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};
use tracing::info;

use smv_shared::fallback::{Channel, PIN_LIFETIME as PIN_TTL, TWOFA_PIN_ATTEMPTS as PIN_ATTEMPTS};

use crate::simulator::{json_response, platform_error, SimResponse};
use crate::test_numbers::{test_number, PinSend, SimSwapAnswer};

struct SentPin {
    pin: String,
    to: String,
    attempts_left: u32,
    sent_at: Instant,
}

#[derive(Default)]
pub struct PinDesk {
    pins: Mutex<HashMap<String, SentPin>>,
    /// The latest PIN per number, with its channel and when it arrived.
    inbox: Mutex<HashMap<String, (String, Channel, Instant)>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SendRequest {
    application_id: String,
    message_id: String,
    to: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SimSwapRequest {
    phone_number: String,
    period: u32,
}

impl PinDesk {
    pub(crate) fn send(&self, body: &[u8], channel: Channel) -> SimResponse {
        let Ok(request) = serde_json::from_slice::<SendRequest>(body) else {
            return bad_request("the body is not a 2FA send request");
        };
        let digits_only = !request.to.is_empty() && request.to.bytes().all(|b| b.is_ascii_digit());
        if request.application_id.is_empty() || request.message_id.is_empty() || !digits_only {
            return bad_request("applicationId, messageId and a digits-only `to` are required");
        }
        let pin_id = uuid::Uuid::new_v4().simple().to_string().to_uppercase();
        if test_number(&request.to).pin_send == PinSend::NotSent {
            let status = match channel {
                Channel::Sms => "smsStatus",
                Channel::Voice => "callStatus",
            };
            return json_response(
                StatusCode::OK,
                json!({"pinId": pin_id, "to": request.to, "ncStatus": "NC_DESTINATION_UNREACHABLE", status: "MESSAGE_NOT_SENT"}),
            );
        }
        let pin = format!("{:06}", uuid::Uuid::new_v4().as_u128() % 1_000_000);
        info!(
            channel = channel.as_str(),
            "simulator: PIN sent to the inbox"
        );
        self.deliver(&request.to, &pin, channel);
        let mut pins = lock(&self.pins);
        // A long smv-local run must not keep every PIN it ever sent.
        pins.retain(|_, sent| sent.sent_at.elapsed() <= PIN_TTL);
        pins.insert(
            pin_id.clone(),
            SentPin {
                pin,
                to: request.to.clone(),
                attempts_left: PIN_ATTEMPTS,
                sent_at: Instant::now(),
            },
        );
        json_response(StatusCode::OK, sent_body(&pin_id, &request.to, channel))
    }

    pub(crate) fn resend(&self, pin_id: &str, channel: Channel) -> SimResponse {
        let resent = lock(&self.pins)
            .get(pin_id)
            .map(|sent| (sent.to.clone(), sent.pin.clone()));
        match resent {
            None => not_found(),
            Some((to, pin)) => {
                // 2FA's resend repeats the same PIN.
                self.deliver(&to, &pin, channel);
                json_response(StatusCode::OK, sent_body(pin_id, &to, channel))
            }
        }
    }

    pub(crate) fn verify(&self, pin_id: &str, body: &[u8]) -> SimResponse {
        let given = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|b| b["pin"].as_str().map(str::to_owned));
        let Some(given) = given else {
            return bad_request("pin is required");
        };
        let mut pins = lock(&self.pins);
        let Some(sent) = pins.get_mut(pin_id) else {
            return not_found();
        };
        let answer = |verified: bool, left: u32, error: Option<&str>| json!({"pinId": pin_id, "msisdn": sent.to, "verified": verified, "attemptsRemaining": left, "pinError": error});
        let body = if sent.sent_at.elapsed() > PIN_TTL {
            answer(false, 0, Some("TTL_EXPIRED"))
        } else if sent.attempts_left == 0 {
            answer(false, 0, Some("NO_MORE_PIN_ATTEMPTS"))
        } else if sent.pin == given {
            answer(true, sent.attempts_left, None)
        } else {
            sent.attempts_left -= 1;
            let left = sent.attempts_left;
            answer(false, left, Some("WRONG_PIN"))
        };
        json_response(StatusCode::OK, body)
    }

    fn deliver(&self, to: &str, pin: &str, channel: Channel) {
        let mut inbox = lock(&self.inbox);
        inbox.retain(|_, (_, _, at)| at.elapsed() <= PIN_TTL);
        inbox.insert(to.to_owned(), (pin.to_owned(), channel, Instant::now()));
    }

    pub(crate) fn read_inbox(&self, digits: &str) -> SimResponse {
        let digits = digits.trim_start_matches('+');
        match lock(&self.inbox).get(digits) {
            Some((pin, channel, _)) => json_response(
                StatusCode::OK,
                json!({"to": digits, "pin": pin, "channel": channel.as_str()}),
            ),
            None => json_response(
                StatusCode::NOT_FOUND,
                json!({"error": "no PIN was sent to this number"}),
            ),
        }
    }
}

fn sent_body(pin_id: &str, to: &str, channel: Channel) -> Value {
    match channel {
        Channel::Voice => json!({"pinId": pin_id, "to": to, "callStatus": "PENDING_ACCEPTED"}),
        Channel::Sms => {
            json!({"pinId": pin_id, "to": to, "ncStatus": "NC_DESTINATION_REACHABLE", "smsStatus": "MESSAGE_SENT"})
        }
    }
}

pub(crate) fn sim_swap(body: &[u8]) -> SimResponse {
    let Ok(request) = serde_json::from_slice::<SimSwapRequest>(body) else {
        return bad_request("the body is not a SIM-swap check request");
    };
    if request.period == 0 {
        return bad_request("period must be positive");
    }
    let request_id = uuid::Uuid::new_v4().to_string();
    match test_number(&request.phone_number).sim_swap {
        SimSwapAnswer::NoCoverage => json_response(
            StatusCode::BAD_REQUEST,
            json!({"requestId": request_id, "error": {"id": 100, "name": "EC_NO_COVERAGE", "description": "No coverage."}}),
        ),
        answer => json_response(
            StatusCode::OK,
            json!({"requestId": request_id, "simSwapOccurred": answer == SimSwapAnswer::Swapped, "networkInfo": {}}),
        ),
    }
}

pub(crate) fn create_application(body: &[u8]) -> SimResponse {
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return bad_request("the body is not an application");
    };
    let attempts = request["configuration"]["pinAttempts"]
        .as_u64()
        .unwrap_or(10);
    if request["name"].as_str().is_none_or(str::is_empty) || attempts == 0 {
        return bad_request("name and a positive pinAttempts are required");
    }
    let id = uuid::Uuid::new_v4().simple().to_string().to_uppercase();
    let mut answer = request;
    answer["applicationId"] = json!(id);
    json_response(StatusCode::OK, answer)
}

pub(crate) fn create_message(application_id: &str, body: &[u8]) -> SimResponse {
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return bad_request("the body is not a message template");
    };
    if !request["messageText"]
        .as_str()
        .is_some_and(|t| t.contains("{{pin}}"))
    {
        return bad_request("messageText must contain {{pin}}");
    }
    let mut answer = request;
    answer["messageId"] = json!(uuid::Uuid::new_v4().simple().to_string().to_uppercase());
    answer["applicationId"] = json!(application_id);
    json_response(StatusCode::OK, answer)
}

fn bad_request(text: &str) -> SimResponse {
    platform_error(StatusCode::BAD_REQUEST, "BAD_REQUEST", text)
}

fn not_found() -> SimResponse {
    platform_error(StatusCode::NOT_FOUND, "NOT_FOUND", "Not found")
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
