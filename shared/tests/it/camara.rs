//! The CAMARA Number Verification client over real HTTP to a fake Infobip on loopback, written
//! from Infobip's description (`../shared/reference/infobip-camara-openapi.json`): what it sends
//! (the device's correlator as `X-Correlator`, the number in E.164, our key) and what each
//! documented answer becomes. The routes that use it are issue 21's next steps.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use smv_shared::infobip::camara::{CamaraFlow, Correlator, NoEvidence, NumberVerdict};
use smv_shared::infobip::{ApiKey, CamaraClient, InfobipError, NumberVerifier, Transport};
use smv_shared::keys::Rotating;
use smv_shared::metrics::Captured;
use smv_shared::phone::PhoneNumber;
use smv_shared::time::SystemClock;
use url::Url;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "camara-test-key";

async fn client(infobip: &MockServer, metrics: Arc<Captured>) -> CamaraClient {
    let transport = Transport::new(
        &Url::parse(&infobip.uri()).unwrap(),
        Arc::new(Rotating::fixed(ApiKey::new(KEY.into()).unwrap())),
        Arc::new(SystemClock),
        metrics,
        Duration::from_secs(2),
        Duration::from_secs(5),
    )
    .unwrap();
    CamaraClient::new(transport)
}

#[tokio::test]
async fn each_flow_sends_its_correlator_to_its_endpoint_and_reads_the_verdict() {
    let infobip = MockServer::start().await;
    let metrics = Arc::new(Captured::default());
    let camara = client(&infobip, metrics.clone()).await;
    let phone = PhoneNumber::parse("+447911123456").unwrap();
    for (flow, endpoint, correlator, verified) in [
        (
            CamaraFlow::Network,
            "/camara/number-verification/v0/verify",
            "7c0de-from-the-operator",
            true,
        ),
        (
            CamaraFlow::Sim,
            "/camara/number-verification/v2/verify",
            "eyJhbGciOi.sd-jwt~disclosure~",
            false,
        ),
    ] {
        Mock::given(method("POST"))
            .and(path(endpoint))
            .and(header("x-correlator", correlator))
            .and(header("authorization", format!("App {KEY}").as_str()))
            .and(body_json(json!({"phoneNumber": "+447911123456"})))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"devicePhoneNumberVerified": verified})),
            )
            .expect(1)
            .mount(&infobip)
            .await;
        let verdict = camara
            .verify(flow, &Correlator::parse(correlator).unwrap(), &phone)
            .await
            .unwrap();
        let expected = match verified {
            true => NumberVerdict::Verified,
            false => NumberVerdict::NotVerified,
        };
        assert_eq!(verdict, expected, "{flow:?}");
    }
    let latencies: Vec<_> = metrics
        .documents()
        .into_iter()
        .filter(|d| d["InfobipLatency"].is_number())
        .map(|d| d["Api"].clone())
        .collect();
    assert_eq!(latencies, [json!("Camara"), json!("Camara")]);
}

#[tokio::test]
async fn camaras_refusals_are_no_evidence_and_its_outages_are_errors() {
    let infobip = MockServer::start().await;
    let camara = client(&infobip, Arc::new(Captured::default())).await;
    let phone = PhoneNumber::parse("+447911123456").unwrap();
    let code = Correlator::parse("used-or-made-up").unwrap();
    let answers = [
        (
            409,
            json!({"status": 409, "code": "CONFLICT", "message": "Another request is created for the same MSISDN"}),
            Ok(NoEvidence::Conflict),
        ),
        (
            422,
            json!({"status": 422, "code": "SERVICE_NOT_APPLICABLE", "message": "The service is not available for the provided identifier"}),
            Ok(NoEvidence::NotApplicable),
        ),
        (
            404,
            json!({"status": 404, "code": "NOT_FOUND", "message": "Not found"}),
            Ok(NoEvidence::UnknownCorrelator),
        ),
        (
            500,
            json!({"status": 500, "code": "INTERNAL", "message": "Server error"}),
            Err(500),
        ),
        (
            401,
            json!({"status": 401, "code": "UNAUTHENTICATED", "message": "…"}),
            Err(401),
        ),
    ];
    for (status, body, expected) in answers {
        infobip.reset().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(status).set_body_json(body))
            .mount(&infobip)
            .await;
        let verdict = camara.verify(CamaraFlow::Network, &code, &phone).await;
        match (verdict, expected) {
            (Ok(NumberVerdict::NoEvidence(got)), Ok(want)) => assert_eq!(got, want),
            (Err(InfobipError::Unavailable { http_status }), Err(500)) => {
                assert_eq!(http_status, 500)
            }
            (Err(InfobipError::Unauthorized { http_status, .. }), Err(401)) => {
                assert_eq!(http_status, 401)
            }
            (got, want) => panic!("{status}: {got:?}, expected {want:?}"),
        }
    }
}

#[tokio::test]
async fn the_credential_request_carries_our_nonce_and_the_devices_carriers() {
    let infobip = MockServer::start().await;
    let camara = client(&infobip, Arc::new(Captured::default())).await;
    let credential = json!({"id": "miapi.infobip.com", "format": "dc-authorization+sd-jwt",
        "meta": {"credential_authorization_jwt": "eyJhbGciOiJFUzI1NiIs...", "vct_values": ["number-verification/device-phone-number/ts43"]},
        "claims": [{"path": ["android_carrier_hint"], "values": [1187]}]});
    Mock::given(method("POST"))
        .and(path("/camara/number-verification/v2/dcql"))
        .and(header("authorization", format!("App {KEY}").as_str()))
        .and(body_json(json!({"useCase": "VERIFY_PHONE_NUMBER", "nonce": "n-2307e608",
            "carrierIds": [1187, 2032], "operationType": "SILENT_MOBILE_VERIFICATION"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "1187": credential, "2032": {"status": 404, "code": "NOT_FOUND", "message": "Not found"}})))
        .expect(1)
        .mount(&infobip)
        .await;
    let request = camara
        .credential_request("n-2307e608", &[1187, 2032])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(request.credentials[&1187], credential);
    assert_eq!(request.unresolved[&2032], "NOT_FOUND");

    infobip.reset().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(422).set_body_json(
            json!({"status": 422, "code": "SERVICE_NOT_APPLICABLE", "message": "…"}),
        ))
        .mount(&infobip)
        .await;
    assert_eq!(
        camara.credential_request("n-2", &[1187]).await.unwrap(),
        Err(NoEvidence::NotApplicable)
    );
}
