//! Property-based fuzzing of everything that reads outside input: phone numbers, device
//! addresses, the callback body, and whole API Gateway events through the handlers. Nothing may
//! panic, and every answer must be one the API documents.
//!
//! `scripts/test` runs the default number of cases (PROPTEST_CASES, 256 per property);
//! `scripts/fuzz N` runs N per property and prints the executions. A failing input is saved
//! under `proptest-regressions/` and replayed first from then on: commit it.

use std::sync::OnceLock;

use crate::helpers::*;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use proptest::prelude::*;
use serde_json::{json, Value};
use smv_shared::device_address::{from_forwarded_for, parse_viewer_address};
use smv_shared::phone::PhoneNumber;

/// One app for every case, on a runtime that outlives the cases: Infobip on loopback accepts
/// every start with a fresh token, so starts run all the way through. One verification, `TOKEN`,
/// waits for its result throughout: the generated callback bodies name it among others.
fn harness() -> &'static (tokio::runtime::Runtime, TestApp) {
    static HARNESS: OnceLock<(tokio::runtime::Runtime, TestApp)> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let t = runtime.block_on(async {
            let t = test_app_env(&[
                ("RATE_LIMIT_PER_PHONE", "0"),
                ("RATE_LIMIT_PER_IP", "0"),
                ("RATE_LIMIT_PER_PHONE_AND_IP", "0"),
                ("RATE_LIMIT_GLOBAL", "0"),
            ])
            .await;
            use wiremock::matchers::{method, path};
            wiremock::Mock::given(method("POST"))
                .and(path("/mi/verification/1/verify"))
                .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(json!({
                    "status": "REDIRECT", "token": TOKEN, "deviceRedirectUrl": REDIRECT_URL
                })))
                .up_to_n_times(1) // later starts get the fresh tokens below
                .mount(&t.infobip)
                .await;
            wiremock::Mock::given(method("POST"))
                .and(path("/mi/verification/1/verify"))
                .respond_with(|_: &wiremock::Request| {
                    wiremock::ResponseTemplate::new(200).set_body_json(json!({
                        "status": "REDIRECT",
                        "token": uuid::Uuid::new_v4().to_string(),
                        "deviceRedirectUrl": REDIRECT_URL
                    }))
                })
                .mount(&t.infobip)
                .await;
            let started = t.send(start_request(PHONE)).await;
            assert_eq!(
                body_json(&started)["token"],
                TOKEN,
                "{}",
                body_text(&started)
            );
            t
        });
        (runtime, t)
    })
}

/// Statuses the OpenAPI description lists for some route.
const DOCUMENTED: &[u16] = &[
    200, 201, 204, 400, 403, 404, 405, 409, 413, 415, 422, 429, 502, 503, 504,
];

fn assert_well_formed(response: &lambda_http::Response<lambda_http::Body>) {
    let status = response.status().as_u16();
    assert!(DOCUMENTED.contains(&status), "undocumented status {status}");
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    if status >= 400 {
        assert_eq!(content_type.as_deref(), Some("application/problem+json"));
        let body: Value = serde_json::from_slice(response.body().as_ref()).unwrap();
        assert_eq!(body["status"], status);
    }
}

fn route() -> impl Strategy<Value = String> {
    let segment = "[a-zA-Z0-9%._~#:+-]{0,60}";
    prop_oneof![
        Just("/verifications".to_owned()),
        segment.prop_map(|s| format!("/verifications/{s}")),
        Just(format!("/verifications/{TOKEN}")),
        segment.prop_map(|s| format!("/verify/{s}")),
        "[0-9]{1,16}".prop_map(|s| format!("/verify/{s}")),
        segment.prop_map(|s| format!("/verify/result/{s}")),
        segment.prop_map(|s| format!("/callbacks/infobip/{s}")),
        "[A-Za-z0-9_-]{43}".prop_map(|s| format!("/callbacks/infobip/{s}")),
        Just("/device-address".to_owned()),
        "(/[a-z%.]{0,12}){0,4}".prop_map(|s| if s.is_empty() { "/".to_owned() } else { s }),
    ]
}

fn body() -> impl Strategy<Value = (Option<String>, bool)> {
    let json_like = prop_oneof![
        "[+0-9 ()-]{0,24}".prop_map(|p| json!({ "phoneNumber": p }).to_string()),
        (
            prop_oneof![Just("VALID"), Just("INVALID"), Just("ERROR"), Just("x")],
            prop_oneof![Just(TOKEN.to_owned()), "[a-f0-9-]{0,40}"],
            any::<i64>(),
        )
            .prop_map(
                |(r, t, id)| json!({"result": r, "token": t, "error": {"id": id}}).to_string()
            ),
        any::<String>(),
        "[\\[\\]{}\":,0-9a-z ]{0,80}",
    ];
    prop_oneof![
        Just((None, false)),
        json_like.clone().prop_map(|b| (Some(b), false)),
        json_like.prop_map(|b| (Some(STANDARD.encode(b)), true)),
        proptest::collection::vec(any::<u8>(), 0..200)
            .prop_map(|bytes| (Some(STANDARD.encode(bytes)), true)),
    ]
}

fn headers() -> impl Strategy<Value = Value> {
    let value = "[ -~]{0,80}";
    (
        prop_oneof![
            Just("application/json".to_owned()),
            Just("application/problem+json; charset=utf-8".to_owned()),
            value.prop_map(|v| v),
        ],
        proptest::option::of(value),
        proptest::option::of(value),
        proptest::option::of(value),
    )
        .prop_map(|(content_type, forwarded, viewer, key)| {
            let mut headers = json!({"content-type": content_type});
            if let Some(f) = forwarded {
                headers["x-forwarded-for"] = json!(f);
            }
            if let Some(v) = viewer {
                headers["cloudfront-viewer-address"] = json!(v);
            }
            if let Some(k) = key {
                headers["idempotency-key"] = json!(k);
            }
            headers
        })
}

proptest! {
    #![proptest_config(ProptestConfig {
        // Relative to the package root, where cargo runs tests.
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::Direct("tests/proptest-regressions/fuzz.txt"),
        )),
        ..ProptestConfig::default()
    })]

    #[test]
    fn phone_numbers_parse_or_are_refused_without_panicking(raw in prop_oneof![
        any::<String>(),
        "[+]?[0-9 ()./-]{0,30}",
        // Plausible numbers in several countries, spelled in several ways.
        (
            prop_oneof![Just("+"), Just(""), Just("00")],
            prop_oneof![Just("44 7911"), Just("55 11 9"), Just("1 415 555"), Just("49 151"), Just("385 91")],
            "[ -]?[0-9]{4,8}",
        ).prop_map(|(plus, prefix, rest)| format!("{plus}{prefix}{rest}")),
    ]) {
        if let Ok(phone) = PhoneNumber::parse(&raw) {
            let digits = phone.international_digits().to_owned();
            prop_assert!(digits.bytes().all(|b| b.is_ascii_digit()));
            prop_assert!((7..=15).contains(&digits.len()), "{digits}");
            prop_assert!(!phone.masked().contains(&digits));
            let again = PhoneNumber::parse(&format!("+{digits}")).unwrap();
            prop_assert_eq!(again.international_digits(), digits.as_str());
        }
    }

    #[test]
    fn forwarded_for_chains_yield_one_of_their_own_entries(
        entries in proptest::collection::vec(prop_oneof![
            any::<std::net::IpAddr>().prop_map(|ip| ip.to_string()),
            "[ -~]{0,20}",
        ], 0..12),
        hops in 0usize..14,
    ) {
        let chain = entries.join(",");
        if let Ok(ip) = from_forwarded_for(&chain, hops) {
            prop_assert!(entries.iter().any(|e| e.trim().parse() == Ok(ip)), "{chain} -> {ip}");
        }
    }

    #[test]
    fn any_viewer_address_parses_to_something_that_reads_back_the_same(raw in any::<String>()) {
        if let Some((ip, port)) = parse_viewer_address(&raw) {
            let canonical = std::net::SocketAddr::new(ip, port).to_string();
            prop_assert_eq!(parse_viewer_address(&canonical), Some((ip, port)));
        }
    }

    #[test]
    fn every_form_cloudfront_sends_is_read_exactly(ip in any::<std::net::IpAddr>(), port in any::<u16>()) {
        let forms = match ip {
            std::net::IpAddr::V4(_) => vec![format!("{ip}:{port}")],
            std::net::IpAddr::V6(_) => vec![format!("{ip}:{port}"), format!("[{ip}]:{port}")],
        };
        for form in forms {
            prop_assert_eq!(parse_viewer_address(&form), Some((ip, port)), "{}", form);
        }
    }

    #[test]
    fn callback_bodies_never_panic_and_only_a_genuine_one_records(
        (body, base64) in body(),
    ) {
        let (runtime, t) = harness();
        let mut event = http_api_event("POST", "/callbacks/infobip/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", json!({"content-type": "application/json"}), body.as_deref(), DEVICE_IP);
        event["isBase64Encoded"] = json!(base64);
        let response = runtime.block_on(t.send(parse_event(&event)));
        assert_well_formed(&response);
        // That secret belongs to no verification: nothing can be recorded with it, not even for
        // a token some body names.
        let outcome = serde_json::from_slice::<Value>(response.body().as_ref()).unwrap_or_default();
        prop_assert_ne!(&outcome["outcome"], "RECORDED");
        let (status, report) = runtime.block_on(t.poll(TOKEN));
        prop_assert_eq!(status, 200);
        prop_assert_eq!(&report["status"], "PENDING");
    }

    #[test]
    fn whole_events_get_a_documented_answer(
        method in prop_oneof![Just("GET"), Just("POST"), Just("PUT"), Just("DELETE"), Just("OPTIONS")],
        path in route(),
        headers in headers(),
        (body, base64) in body(),
        source_ip in any::<std::net::IpAddr>(),
    ) {
        let (runtime, t) = harness();
        let mut event = http_api_event(method, &path, headers, body.as_deref(), &source_ip.to_string());
        event["isBase64Encoded"] = json!(base64);
        let Ok(request) = lambda_http::request::from_str(&event.to_string()) else {
            // Not an event API Gateway could send (lambda_http refuses it before any handler).
            return Ok(());
        };
        let response = runtime.block_on(t.send(request));
        assert_well_formed(&response);
    }
}
