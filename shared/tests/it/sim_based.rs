//! SIM-based CAMARA behind the same API: a start with `"method": "sim"` gets Infobip's credential
//! request over a nonce of ours, the starter submits the SIM's `vp_token`, and the result is
//! redeemed like any other. Against a fake Infobip written from
//! `../shared/reference/infobip-camara-openapi.json`.

use std::sync::Arc;

use crate::helpers::*;
use serde_json::{json, Value};
use smv_shared::store::Store;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

async fn sim_app() -> TestApp {
    test_app_env(SIM_ENV).await
}

const OTHER_VERIFIER: &str = "a-verifier-the-starter-never-had-0123456789abcdef";

on_each_store!(happy_path: happy_path_in_memory, happy_path_on_dynamodb);

/// Credential request, the SIM's answer, the assertion: nothing of the `vp_token` is kept.
async fn happy_path(store: Arc<dyn Store>) {
    let t = test_app_with(SIM_ENV, store).await;
    let logs = LogCapture::default();
    let _guard = logs.install("trace");
    let (token, started) = t.start_sim().await;
    assert!(started["deviceRedirectUrl"].is_null(), "{started}");
    let credential = &started["credentialRequest"][CARRIER.to_string()];
    assert_eq!(credential["format"], "dc-authorization+sd-jwt", "{started}");
    assert_eq!(started["status"], "PENDING");
    let asked: Value = serde_json::from_slice(&t.calls_to_path(DCQL_PATH).await[0].body).unwrap();
    assert_eq!(asked["useCase"], "VERIFY_PHONE_NUMBER");
    assert_eq!(asked["operationType"], "SILENT_MOBILE_VERIFICATION");
    assert_eq!(asked["carrierIds"], json!([CARRIER]));
    let nonce = t.dcql_nonce().await;
    assert!(
        credential["meta"]["credential_authorization_jwt"]
            .as_str()
            .unwrap()
            .contains(&nonce),
        "the request handed on is Infobip's, over our nonce"
    );

    let answer = vp_token(&nonce);
    t.sim_verify_answers(200, json!({"devicePhoneNumberVerified": true}))
        .await;
    let submitted = t.submit_credential(&token, &answer, VERIFIER).await;
    assert_eq!(submitted.status(), 200, "{}", body_text(&submitted));
    assert_eq!(
        body_json(&submitted),
        json!({"token": token, "status": "VALID", "method": "sim"})
    );
    let verify = &t.calls_to_path(SIM_VERIFY_PATH).await[0];
    assert_eq!(verify.headers["x-correlator"], answer.as_str());
    let sent: Value = serde_json::from_slice(&verify.body).unwrap();
    assert_eq!(sent, json!({"phoneNumber": GERMAN}));

    let (_, polled) = t.poll(&token).await;
    assert_eq!(polled["status"], "VALID");
    assert_eq!(polled["method"], "sim");
    // The SIM's answer was the device's part: the starter redeems with its verifier and number.
    let redeemed = t
        .redeem(
            &token,
            json!({"codeVerifier": VERIFIER, "phoneNumber": GERMAN}),
        )
        .await;
    assert_eq!(redeemed.status(), 200, "{}", body_text(&redeemed));
    let claims = verify_assertion(
        body_json(&redeemed)["assertion"].as_str().unwrap(),
        &t.jwks().await,
        ISSUER,
    );
    assert_eq!(claims["amr"], json!(["camara-sim"]));
    assert_eq!(claims["phone_number"], GERMAN);

    let (issued, _) = answer.split_once('~').unwrap();
    assert!(
        !logs.text().contains(issued),
        "the vp_token is never logged"
    );
    assert!(!logs.text().contains(&GERMAN[4..]), "nor the number");
}

#[tokio::test]
async fn a_start_asking_for_what_is_not_offered_is_refused_before_anything_is_counted() {
    let t = sim_app().await;
    let with = |changes: Value| {
        let mut body = json!({"phoneNumber": GERMAN, "codeChallenge": CHALLENGE,
            "codeChallengeMethod": "S256", "method": "sim", "carrierIds": [CARRIER]});
        for (k, v) in changes.as_object().unwrap() {
            match v.is_null() {
                true => body.as_object_mut().unwrap().remove(k),
                false => body.as_object_mut().unwrap().insert(k.clone(), v.clone()),
            };
        }
        post("/verifications", &body.to_string())
    };
    // A British number: SIM-based is offered for Germany only.
    let refused = t.send(with(json!({"phoneNumber": PHONE}))).await;
    assert_problem_type(&refused, 422, "method-not-offered");
    for (changes, why) in [
        (json!({"carrierIds": null}), "carrierIds"),
        (json!({"carrierIds": []}), "carrier"),
        (json!({"carrierIds": [0]}), "unknown carrier"),
        (
            json!({"carrierIds": (1..=9).collect::<Vec<u32>>()}),
            "more than 8",
        ),
        (json!({"carrierIds": [-1]}), ""),
        (
            json!({"codeChallenge": null, "codeChallengeMethod": null}),
            "codeChallenge",
        ),
        (json!({"method": "camara"}), "method"),
        (json!({"method": null}), "carrierIds is for"),
    ] {
        let refused = t.send(with(changes.clone())).await;
        let problem = assert_problem(&refused, 400);
        assert!(
            problem["detail"].as_str().unwrap().contains(why),
            "{changes}: {problem}"
        );
    }
    assert!(t.infobip.received_requests().await.unwrap().is_empty());

    // Where no country is offered SIM-based (the default), the same start is refused too.
    let plain = test_app_env(CAMARA_ENV).await;
    let refused = plain.send(sim_start(GERMAN, &[CARRIER])).await;
    assert_problem_type(&refused, 422, "method-not-offered");
}

#[tokio::test]
async fn carriers_infobip_cannot_ask_end_the_verification_as_documented() {
    // Every carrier NOT_FOUND: no SIM of this device can be asked (9014).
    let t = sim_app().await;
    t.dcql_resolves().await;
    let refused = t.send(sim_start(GERMAN, &[9999, 31])).await;
    let problem = assert_problem(&refused, 422);
    assert_eq!(problem["error"]["id"], 9014, "{problem}");
    let token = problem["token"].as_str().unwrap().to_owned();
    let (_, polled) = t.poll(&token).await;
    assert_eq!(polled["status"], "ERROR");
    assert_eq!(polled["error"]["id"], 9014);

    // One carrier resolved, one not: the request holds the one that can be asked.
    let t = sim_app().await;
    t.dcql_resolves().await;
    let started = t.send(sim_start(GERMAN, &[31, CARRIER])).await;
    assert_eq!(started.status(), 201, "{}", body_text(&started));
    let request = body_json(&started)["credentialRequest"].clone();
    assert_eq!(
        request.as_object().unwrap().keys().collect::<Vec<_>>(),
        [&CARRIER.to_string()]
    );

    // The request refused as a whole.
    for (status, code, id) in [
        (400, "INVALID_ARGUMENT", 9010),
        (409, "CONFLICT", 9012),
        (422, "SERVICE_NOT_APPLICABLE", 9013),
    ] {
        let t = sim_app().await;
        Mock::given(method("POST"))
            .and(path(DCQL_PATH))
            .respond_with(
                ResponseTemplate::new(status)
                    .set_body_json(json!({"status": status, "code": code, "message": "m"})),
            )
            .mount(&t.infobip)
            .await;
        let refused = t.send(sim_start(GERMAN, &[CARRIER])).await;
        let problem = assert_problem(&refused, 422);
        assert_eq!(problem["error"]["id"], id, "{code}: {problem}");
        let (_, polled) = t.poll(problem["token"].as_str().unwrap()).await;
        assert_eq!(polled["error"]["id"], id, "{code}");
    }

    // Infobip failing: nothing is stored, the app may try again.
    let t = sim_app().await;
    Mock::given(method("POST"))
        .and(path(DCQL_PATH))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({"status": 500})))
        .mount(&t.infobip)
        .await;
    let failed = t.send(sim_start(GERMAN, &[CARRIER])).await;
    assert_problem(&failed, 503);
}

#[tokio::test]
async fn only_the_starter_with_the_sims_answer_to_this_nonce_reaches_infobip() {
    let t = sim_app().await;
    let (token, _) = t.start_sim().await;
    let nonce = t.dcql_nonce().await;
    t.sim_verify_answers(200, json!({"devicePhoneNumberVerified": true}))
        .await;

    // Someone without the verifier, even with the right answer.
    let refused = t
        .submit_credential(&token, &vp_token(&nonce), OTHER_VERIFIER)
        .await;
    assert_problem_type(&refused, 403, "credential-refused");
    // The SIM's answer to another verification's nonce (a replay), or one without a nonce.
    let (_, other) = t.start_sim().await;
    let _ = other;
    let other_nonce = t.dcql_nonce().await;
    for answer in [vp_token(&other_nonce), "a.b.c".to_owned()] {
        let refused = t.submit_credential(&token, &answer, VERIFIER).await;
        assert_problem_type(&refused, 403, "credential-refused");
    }
    for malformed in ["", "has spaces in it", &"x".repeat(8193)] {
        let refused = t.submit_credential(&token, malformed, VERIFIER).await;
        assert_problem(&refused, 400);
    }
    assert!(t.calls_to_path(SIM_VERIFY_PATH).await.is_empty());
    assert_eq!(t.status(&token).await, "PENDING");

    // The right one, once: a second submission asks Infobip nothing.
    let answer = vp_token(&nonce);
    assert_eq!(
        t.submit_credential(&token, &answer, VERIFIER)
            .await
            .status(),
        200
    );
    let again = t.submit_credential(&token, &answer, VERIFIER).await;
    assert_problem_type(&again, 410, "credential-already-submitted");
    assert_eq!(t.calls_to_path(SIM_VERIFY_PATH).await.len(), 1);

    // An SMV verification takes no credential.
    t.infobip_redirects(TOKEN).await;
    t.send(bound_start(PHONE)).await;
    let smv = t.submit_credential(TOKEN, &answer, VERIFIER).await;
    assert_problem_type(&smv, 404, "verification-not-found");
}

#[tokio::test]
async fn every_answer_of_v2_verify_is_recorded_as_documented() {
    for (status, answer, recorded, id) in verify_answers() {
        let t = sim_app().await;
        let (token, _) = t.start_sim().await;
        t.sim_verify_answers(status, answer.clone()).await;
        let submitted = t
            .submit_credential(&token, &vp_token(&t.dcql_nonce().await), VERIFIER)
            .await;
        assert_eq!(
            submitted.status(),
            200,
            "{answer}: {}",
            body_text(&submitted)
        );
        assert_eq!(body_json(&submitted)["status"], recorded, "{answer}");
        assert!(body_json(&submitted).get("method").is_none(), "{answer}");
        let (_, polled) = t.poll(&token).await;
        assert_eq!(polled["error"]["id"], id, "{answer}");
    }

    // Infobip failing leaves it PENDING for the same answer.
    let t = sim_app().await;
    let (token, _) = t.start_sim().await;
    Mock::given(method("POST"))
        .and(path(SIM_VERIFY_PATH))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({"status": 500})))
        .up_to_n_times(1)
        .mount(&t.infobip)
        .await;
    let answer = vp_token(&t.dcql_nonce().await);
    assert_problem(&t.submit_credential(&token, &answer, VERIFIER).await, 503);
    assert_eq!(t.status(&token).await, "PENDING");
    t.sim_verify_answers(200, json!({"devicePhoneNumberVerified": true}))
        .await;
    let submitted = t.submit_credential(&token, &answer, VERIFIER).await;
    assert_eq!(body_json(&submitted)["status"], "VALID");
}

#[tokio::test]
async fn an_idempotent_retry_is_the_same_only_for_the_same_carriers() {
    let t = sim_app().await;
    t.dcql_resolves().await;
    let keyed = |carriers: &[u32]| {
        let mut request = sim_start(GERMAN, carriers);
        request
            .headers_mut()
            .insert("idempotency-key", "sim-start-1".parse().unwrap());
        request
    };
    let first = t.send(keyed(&[CARRIER])).await;
    assert_eq!(first.status(), 201, "{}", body_text(&first));
    let retry = t.send(keyed(&[CARRIER])).await;
    assert_eq!(header(&retry, "idempotent-replayed"), Some("true"));
    assert_eq!(body_json(&retry), body_json(&first));
    let other_device = t.send(keyed(&[CARRIER, 31])).await;
    assert_problem_type(&other_device, 422, "idempotency-key-reused");
    assert_eq!(t.calls_to_path(DCQL_PATH).await.len(), 1);
}
