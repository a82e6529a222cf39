//! Requests built as API Gateway events and parsed by lambda_http itself, and what tests read of
//! the responses.

use lambda_http::{Body, Request, Response};
use serde_json::{json, Value};
use smv_shared::http::event::{HeaderMap, HttpRequest, Method};

use super::app::{CHALLENGE, DEVICE_IP, NONCE};

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

/// Asserts an RFC 9457 problem with `status` and the type `urn:smv:problem:{slug}`.
pub fn assert_problem_type(response: &Response<Body>, status: u16, slug: &str) {
    let problem = assert_problem(response, status);
    assert_eq!(
        problem["type"],
        format!("urn:smv:problem:{slug}"),
        "{problem}"
    );
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
