//! Network-based CAMARA behind the same API as SMV: a country set to `camara` starts without an
//! Infobip call, the device goes to Infobip's authorize URL and comes back to `/camara/return`,
//! which asks Infobip's `/verify` once and records the result. Against a fake Infobip written
//! from `../shared/reference/infobip-camara-openapi.json`.

use crate::helpers::*;
use std::sync::Arc;

use lambda_http::{Body, Request, Response};
use serde_json::{json, Value};
use smv_shared::http::event::{HeaderMap, HttpRequest, Method};
use smv_shared::store::Store;
use wiremock::matchers::{header as sent_header, method, path};
use wiremock::{Mock, ResponseTemplate};

const CODE: &str = "operator-code-1f2e3d";

async fn camara_app() -> TestApp {
    test_app_env(CAMARA_ENV).await
}

/// The device's web view arriving at our redirect URL with `query`.
fn arrival(query: &str, accept: &str) -> Request {
    let mut headers = HeaderMap::new();
    headers.insert("accept", accept.parse().unwrap());
    HttpRequest {
        method: &Method::GET,
        path: "/camara/return",
        query,
        headers: &headers,
        body: b"",
        source_ip: DEVICE_IP,
        domain_name: "abc123.execute-api.eu-west-1.amazonaws.com",
        request_id: "req-camara",
    }
    .to_request()
    .unwrap()
}

fn came_back(state: &str, field: &str, value: &str) -> Request {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair(field, value)
        .append_pair("state", state)
        .finish();
    arrival(&query, "application/json")
}

async fn verify_calls(t: &TestApp) -> Vec<wiremock::Request> {
    let all = t.infobip.received_requests().await.unwrap_or_default();
    all.into_iter()
        .filter(|r| r.url.path() == CAMARA_VERIFY_PATH)
        .collect()
}

fn error_id(poll: &Value) -> Value {
    poll["error"]["id"].clone()
}

async fn back_with_code(t: &TestApp, state: &str) -> Response<Body> {
    t.send(came_back(state, "code", CODE)).await
}

on_each_store!(happy_path: happy_path_in_memory, happy_path_on_dynamodb);

/// The device meets its operator, comes back with a code, and the starter redeems an assertion.
async fn happy_path(store: Arc<dyn Store>) {
    let t = test_app_with(CAMARA_ENV, store).await;
    let (token, authorize) = t.start_camara().await;
    assert!(
        t.infobip.received_requests().await.unwrap().is_empty(),
        "a CAMARA start bills nothing: the device goes to Infobip itself"
    );
    assert!(authorize.as_str().starts_with(&format!(
        "{}/camara/number-verification/v0/authorize?",
        t.infobip.uri()
    )));
    assert_eq!(query_param(&authorize, "clientId"), CAMARA_CLIENT_ID);
    assert_eq!(
        query_param(&authorize, "redirectUrl"),
        format!("{CALLBACK_BASE}/camara/return")
    );
    assert_eq!(
        query_param(&authorize, "login_hint"),
        format!("tel:{GERMAN}")
    );
    let state = query_param(&authorize, "state");
    assert!(state.starts_with(&format!("{token}.")), "{state}");
    let (_, pending) = t.poll(&token).await;
    assert_eq!(pending["status"], "PENDING");

    Mock::given(method("POST"))
        .and(path(CAMARA_VERIFY_PATH))
        .and(sent_header("x-correlator", CODE))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"devicePhoneNumberVerified": true})),
        )
        .expect(1)
        .mount(&t.infobip)
        .await;
    let back = back_with_code(&t, &state).await;
    assert_eq!(back.status(), 200, "{}", body_text(&back));
    let shown = body_json(&back);
    assert_eq!(shown["status"], "VALID");
    let device_code = shown["deviceCode"].as_str().unwrap().to_owned();
    let sent: Value = serde_json::from_slice(&verify_calls(&t).await[0].body).unwrap();
    assert_eq!(sent, json!({"phoneNumber": GERMAN}));

    let (_, polled) = t.poll(&token).await;
    assert_eq!(polled["status"], "VALID");
    assert_eq!(polled["method"], "camara");
    let redeemed = t
        .redeem(
            &token,
            json!({"codeVerifier": VERIFIER, "phoneNumber": GERMAN, "deviceCode": device_code}),
        )
        .await;
    assert_eq!(redeemed.status(), 200, "{}", body_text(&redeemed));
    let claims = verify_assertion(
        body_json(&redeemed)["assertion"].as_str().unwrap(),
        &t.jwks().await,
        ISSUER,
    );
    assert_eq!(claims["phone_number"], GERMAN);
    assert_eq!(claims["amr"], json!(["camara"]));
    assert_eq!(claims["nonce"], NONCE);
    assert_eq!(claims["auth_time"], json!(START_TIME.as_millis() / 1000));
}

#[tokio::test]
async fn every_answer_is_recorded_as_documented_and_nothing_stays_pending() {
    for (status, answer, recorded, id) in verify_answers() {
        let t = camara_app().await;
        let (token, authorize) = t.start_camara().await;
        t.camara_answers(status, answer.clone()).await;
        let back = back_with_code(&t, &query_param(&authorize, "state")).await;
        assert_eq!(back.status(), 200, "{answer}: {}", body_text(&back));
        assert_eq!(body_json(&back)["status"], recorded, "{answer}");
        assert!(body_json(&back).get("deviceCode").is_none(), "{answer}");
        let (_, polled) = t.poll(&token).await;
        assert_eq!(polled["status"], recorded, "{answer}");
        assert_eq!(error_id(&polled), id, "{answer}");
    }

    let oauth_errors = [
        ("access_denied", 9001),
        ("consent_required", 9002),
        ("interaction_required", 9002),
        ("server_error", 9003),
        ("temporarily_unavailable", 9003),
        ("invalid_request", 9004),
        ("unauthorized_client", 9004),
        ("Not An OAuth Code <script>", 9004),
    ];
    for (error, id) in oauth_errors {
        let t = camara_app().await;
        let (token, authorize) = t.start_camara().await;
        let back = t
            .send(came_back(&query_param(&authorize, "state"), "error", error))
            .await;
        assert_eq!(back.status(), 200, "{error}: {}", body_text(&back));
        assert_eq!(body_json(&back)["status"], "ERROR");
        assert!(
            verify_calls(&t).await.is_empty(),
            "{error}: nothing to verify"
        );
        let (_, polled) = t.poll(&token).await;
        assert_eq!(error_id(&polled), json!(id), "{error}");
        assert!(!polled.to_string().contains("<script"), "{polled}");
    }
}

#[tokio::test]
async fn infobip_failing_leaves_the_verification_pending_for_the_same_code() {
    let t = camara_app().await;
    let (token, authorize) = t.start_camara().await;
    let state = query_param(&authorize, "state");
    Mock::given(method("POST"))
        .and(path(CAMARA_VERIFY_PATH))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({"status": 500})))
        .up_to_n_times(1)
        .mount(&t.infobip)
        .await;
    let failed = back_with_code(&t, &state).await;
    assert_problem(&failed, 503);
    assert_eq!(t.status(&token).await, "PENDING");

    t.camara_verifies(true).await;
    let back = back_with_code(&t, &state).await;
    assert_eq!(body_json(&back)["status"], "VALID", "{}", body_text(&back));
}

#[tokio::test]
async fn a_state_we_never_issued_is_not_found_without_a_storage_call() {
    let store = FaultyStore::new(smv_shared::store::MemoryStore::new());
    let t = test_app_with(CAMARA_ENV, store.clone()).await;
    let (token, authorize) = t.start_camara().await;
    let state = query_param(&authorize, "state");
    let (_, secret) = state.split_once('.').unwrap();
    let mut forged_secret = secret.to_owned().into_bytes();
    forged_secret[42] = if forged_secret[42] == b'A' {
        b'B'
    } else {
        b'A'
    };
    let forged = [
        format!("{token}.{}", String::from_utf8(forged_secret).unwrap()),
        format!("{OTHER_TOKEN}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        token.clone(),
        "not-a-state".into(),
        String::new(),
    ];
    let calls_before = store.calls().len();
    for state in &forged {
        let refused = back_with_code(&t, state).await;
        assert_problem(&refused, 404);
    }
    let missing = t
        .send(arrival(&format!("code={CODE}"), "application/json"))
        .await;
    assert_problem(&missing, 404);
    assert_eq!(store.calls().len(), calls_before, "{:?}", store.calls());
    assert!(verify_calls(&t).await.is_empty());

    // A real state carries its token: put on another verification, it finds none of its own.
    let (other, _) = t.start_camara().await;
    let swapped = format!("{other}.{secret}");
    assert_problem(&back_with_code(&t, &swapped).await, 404);
    assert_eq!(t.status(&other).await, "PENDING");
}

#[tokio::test]
async fn a_replayed_state_or_reused_code_is_gone_and_infobip_is_not_asked_again() {
    let t = camara_app().await;
    let (token, authorize) = t.start_camara().await;
    let state = query_param(&authorize, "state");
    t.camara_verifies(true).await;
    assert_eq!(back_with_code(&t, &state).await.status(), 200);

    for again in [
        came_back(&state, "code", CODE),
        came_back(&state, "code", "another-code"),
        came_back(&state, "error", "access_denied"),
    ] {
        assert_problem_type(&t.send(again).await, 410, "device-code-already-shown");
    }
    let page = t
        .send(arrival(&format!("code={CODE}&state={state}"), "text/html"))
        .await;
    assert_eq!(page.status(), 410);
    assert!(header(&page, "content-type")
        .unwrap()
        .starts_with("text/html"));
    assert_eq!(
        verify_calls(&t).await.len(),
        1,
        "one Infobip call per state"
    );
    assert_eq!(t.status(&token).await, "VALID");
}

#[tokio::test]
async fn a_relayed_link_gives_the_starter_no_assertion() {
    // The starter asks for a number it does not hold and relays the authorize URL to its owner,
    // whose phone passes the operator's check: the owner's web view is shown the code, not the
    // starter.
    let t = camara_app().await;
    let (token, authorize) = t.start_camara().await;
    t.camara_verifies(true).await;
    let owner_saw = back_with_code(&t, &query_param(&authorize, "state")).await;
    assert_eq!(body_json(&owner_saw)["status"], "VALID");

    for guess in [json!(null), json!("AAAAAAAAAAAAAAAAAAAAAA")] {
        let refused = t
            .redeem(
                &token,
                json!({"codeVerifier": VERIFIER, "phoneNumber": GERMAN, "deviceCode": guess}),
            )
            .await;
        assert_problem_type(&refused, 403, "assertion-refused");
    }
}

#[tokio::test]
async fn the_method_is_chosen_by_the_numbers_country() {
    let t = camara_app().await;
    // A British number is SMV here: Infobip's verify is called and its redirect handed on.
    t.infobip_redirects(TOKEN).await;
    let smv = t.send(start_request(PHONE)).await;
    assert_eq!(smv.status(), 201, "{}", body_text(&smv));
    assert_eq!(body_json(&smv)["deviceRedirectUrl"], REDIRECT_URL);

    let (_, authorize) = t.start_camara().await;
    assert!(authorize.path().ends_with("/v0/authorize"));
    assert_eq!(t.infobip_requests().await.len(), 1, "no SMV call for DE");

    // Infobip's demo app speaks SMV only: its route stays SMV for every country.
    let demo_app = camara_app().await;
    demo_app.infobip_redirects(TOKEN).await;
    let demo = demo_app
        .send(get(&format!("/verify/{}", &GERMAN[1..])))
        .await;
    assert_eq!(demo.status(), 200, "{}", body_text(&demo));
    assert_eq!(
        demo_app.infobip_requests().await[0]["phoneNumber"],
        &GERMAN[1..]
    );

    // Where no country is set to camara, a German number is SMV too.
    let plain = test_app().await;
    plain.infobip_redirects(TOKEN).await;
    let started = plain.send(start_request(GERMAN)).await;
    assert_eq!(body_json(&started)["deviceRedirectUrl"], REDIRECT_URL);
}

/// The return's budget: one read, one Infobip call, one conditional write (and the SIM-based
/// credential's the same), counted at the storage port and at the fake Infobip.
#[tokio::test]
async fn a_return_and_a_credential_each_make_one_read_one_infobip_call_one_write() {
    let store = FaultyStore::new(smv_shared::store::MemoryStore::new());
    let t = test_app_with(SIM_ENV, store.clone()).await;
    let (_, authorize) = t.start_camara().await;
    t.camara_verifies(true).await;
    let before = store.calls().len();
    let back = back_with_code(&t, &query_param(&authorize, "state")).await;
    assert_eq!(body_json(&back)["status"], "VALID", "{}", body_text(&back));
    assert_eq!(store.calls()[before..], ["find", "complete"]);
    assert_eq!(verify_calls(&t).await.len(), 1);

    let (token, _) = t.start_sim().await;
    t.sim_verify_answers(200, json!({"devicePhoneNumberVerified": true}))
        .await;
    let answer = vp_token(&t.dcql_nonce().await);
    let before = store.calls().len();
    let submitted = t.submit_credential(&token, &answer, VERIFIER).await;
    assert_eq!(body_json(&submitted)["status"], "VALID");
    assert_eq!(store.calls()[before..], ["find", "complete"]);
    assert_eq!(t.calls_to_path(SIM_VERIFY_PATH).await.len(), 1);
}

/// CAMARA's errors are "no evidence": where the fallback is offered, the starter may go on by
/// PIN after them, and not after INVALID (the operator's evidence against the number).
#[tokio::test]
async fn camara_errors_offer_the_pin_fallback_and_invalid_does_not() {
    let env = [
        SIM_ENV,
        &[
            ("FALLBACK_COUNTRIES", "DE"),
            ("TWOFA_APPLICATION_ID", "app-1"),
            ("TWOFA_MESSAGE_ID", "msg-1"),
        ],
    ]
    .concat();
    let offered = |poll: &Value| poll["fallback"]["allowed"].clone();

    let t = test_app_env(&env).await;
    let (token, authorize) = t.start_camara().await;
    let state = query_param(&authorize, "state");
    t.send(came_back(&state, "error", "access_denied")).await;
    assert_eq!(offered(&t.poll(&token).await.1), json!(true));

    let t = test_app_env(&env).await;
    t.dcql_resolves().await;
    let refused = t.send(sim_start(GERMAN, &[31])).await;
    let token = body_json(&refused)["token"].as_str().unwrap().to_owned();
    assert_eq!(offered(&t.poll(&token).await.1), json!(true), "after 9014");

    let t = test_app_env(&env).await;
    let (token, authorize) = t.start_camara().await;
    t.camara_verifies(false).await;
    back_with_code(&t, &query_param(&authorize, "state")).await;
    assert_eq!(t.status(&token).await, "INVALID");
    assert_eq!(offered(&t.poll(&token).await.1), json!(false));
}
