//! CAMARA Number Verification through Infobip, the backend's half: `POST
//! /camara/number-verification/v0/verify` (network-based: the device met its operator and came
//! back with a `code`) and `POST /camara/number-verification/v2/verify` (SIM-based: the device's
//! SIM answered our nonce with a `vp_token`). Either is sent as `X-Correlator`, and the answer
//! is the result: there is no callback. Before the SIM-based flow, `POST
//! /camara/number-verification/v2/dcql` turns our single-use nonce and the device's Android
//! carrier ids into the credential request the app hands to Credential Manager. The network
//! flow starts on the device, at [`authorize_url`].

use std::collections::BTreeMap;

use async_trait::async_trait;
use reqwest::StatusCode;
use serde_json::Value;
use url::Url;

use super::transport::Transport;
use super::types::{CamaraErrorResponse, DcqlRequest, NumberVerifyRequest, NumberVerifyResponse};
use super::InfobipError;
use crate::phone::PhoneNumber;

const AUTHORIZE_PATH: &str = "camara/number-verification/v0/authorize";
const NETWORK_VERIFY_PATH: &str = "camara/number-verification/v0/verify";
const SIM_VERIFY_PATH: &str = "camara/number-verification/v2/verify";
const DCQL_PATH: &str = "camara/number-verification/v2/dcql";
/// The only credential format Infobip's DCQL answer documents.
const CREDENTIAL_FORMAT: &str = "dc-authorization+sd-jwt";

/// Where the device goes first in the network-based flow: Infobip's authorize endpoint (no API
/// key: the device opens it over mobile data), which sends it through its operator and back to
/// `redirect_url` with `code` and `state`, or `error` and `state`. `login_hint` names the number,
/// as Infobip asks (`tel:+…`).
pub fn authorize_url(
    base_url: &Url,
    client_id: &str,
    redirect_url: &Url,
    state: &str,
    phone: &PhoneNumber,
) -> Url {
    let mut url = crate::urls_and_headers::join(base_url, AUTHORIZE_PATH)
        .expect("API paths are valid relative URLs");
    url.query_pairs_mut()
        .append_pair("clientId", client_id)
        .append_pair("redirectUrl", redirect_url.as_str())
        .append_pair("state", state)
        .append_pair("login_hint", &format!("tel:{}", phone.e164()));
    url
}

/// What the device brought back, which Infobip exchanges for the result: the operator's `code`
/// or the SIM's `vp_token`. A credential of the device's: never logged, never stored.
pub struct Correlator(secrecy::SecretString);

impl Correlator {
    /// A correlator as it came from the device: printable ASCII (it is sent as a header), and
    /// at most 8 KiB (an SD-JWT with its disclosures is a few KiB).
    pub fn parse(raw: &str) -> Option<Self> {
        let admissible = !raw.is_empty()
            && raw.len() <= MAX_CORRELATOR_BYTES
            && raw.bytes().all(|b| b.is_ascii_graphic());
        admissible.then(|| Self(raw.to_owned().into()))
    }

    pub(super) fn expose(&self) -> &str {
        use secrecy::ExposeSecret;
        self.0.expose_secret()
    }
}

impl std::fmt::Debug for Correlator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Correlator(<redacted>)")
    }
}

pub const MAX_CORRELATOR_BYTES: usize = 8 * 1024;

/// Which CAMARA flow produced the correlator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CamaraFlow {
    /// The operator's `code` from the authorize redirect.
    Network,
    /// The SIM's `vp_token` from Android's Credential Manager.
    Sim,
}

/// Infobip's answer about a number, in our terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberVerdict {
    /// The operator (or the SIM) says the device holds the number: VALID.
    Verified,
    /// The operator says it does not: INVALID.
    NotVerified,
    /// No answer about the number either way: the fallback's "no evidence".
    NoEvidence(NoEvidence),
}

/// Why CAMARA could not say (each documented answer of the verify endpoints).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoEvidence {
    /// 400 `INVALID_ARGUMENT`: the correlator or the number was not one Infobip accepts.
    InvalidArgument,
    /// 404 `NOT_FOUND`: the correlator is unknown to Infobip (used, expired or made up).
    UnknownCorrelator,
    /// 409 `CONFLICT`: another request is under way for the same number.
    Conflict,
    /// 422 `SERVICE_NOT_APPLICABLE`: the operator does not offer the check for this number.
    NotApplicable,
    /// The credential request resolved none of the device's carriers (each answered
    /// `NOT_FOUND`): no SIM of this device can be asked.
    NoCarrier,
}

impl NoEvidence {
    /// The name an app and the logs see (`camara-…`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidArgument => "camara-invalid-argument",
            Self::UnknownCorrelator => "camara-unknown-correlator",
            Self::Conflict => "camara-conflict",
            Self::NotApplicable => "camara-not-applicable",
            Self::NoCarrier => "camara-no-carrier",
        }
    }
}

/// What the app hands to Android's Credential Manager, per carrier of the device.
#[derive(Debug, Clone, PartialEq)]
pub struct CredentialRequest {
    /// Infobip's DCQL credential object for each carrier it resolved, unchanged (it carries
    /// `credential_authorization_jwt`, signed by Infobip over our nonce).
    pub credentials: BTreeMap<u32, Value>,
    /// The carriers Infobip could not resolve, with CAMARA's error code.
    pub unresolved: BTreeMap<u32, String>,
}

/// Infobip's CAMARA Number Verification, network- and SIM-based.
#[async_trait]
pub trait NumberVerifier: Send + Sync {
    /// Exchanges what the device brought back for Infobip's answer about the number.
    async fn verify(
        &self,
        flow: CamaraFlow,
        correlator: &Correlator,
        phone: &PhoneNumber,
    ) -> Result<NumberVerdict, InfobipError>;

    /// The SIM-based flow's credential request for `nonce` (ours, single use) and the device's
    /// Android carrier ids; `Err(no evidence)` inside when no carrier can be asked.
    async fn credential_request(
        &self,
        nonce: &str,
        carrier_ids: &[u32],
    ) -> Result<Result<CredentialRequest, NoEvidence>, InfobipError>;
}

#[derive(Debug, Clone)]
pub struct CamaraClient {
    transport: Transport,
    network_url: Url,
    sim_url: Url,
    dcql_url: Url,
}

impl CamaraClient {
    pub fn new(transport: Transport) -> Self {
        Self {
            network_url: transport.endpoint(NETWORK_VERIFY_PATH),
            sim_url: transport.endpoint(SIM_VERIFY_PATH),
            dcql_url: transport.endpoint(DCQL_PATH),
            transport,
        }
    }
}

#[async_trait]
impl NumberVerifier for CamaraClient {
    async fn verify(
        &self,
        flow: CamaraFlow,
        correlator: &Correlator,
        phone: &PhoneNumber,
    ) -> Result<NumberVerdict, InfobipError> {
        let url = match flow {
            CamaraFlow::Network => &self.network_url,
            CamaraFlow::Sim => &self.sim_url,
        };
        let request = NumberVerifyRequest {
            phone_number: phone.e164(),
        };
        let answer = self
            .transport
            .post_json_correlated(url, Some(correlator), &request)
            .await?;
        verdict(answer.status, &answer.body)
    }

    async fn credential_request(
        &self,
        nonce: &str,
        carrier_ids: &[u32],
    ) -> Result<Result<CredentialRequest, NoEvidence>, InfobipError> {
        let request = DcqlRequest {
            use_case: "VERIFY_PHONE_NUMBER",
            nonce,
            carrier_ids,
            operation_type: "SILENT_MOBILE_VERIFICATION",
        };
        let answer = self.transport.post_json(&self.dcql_url, &request).await?;
        match answer.status {
            StatusCode::OK => credential_map(&answer.body, carrier_ids),
            status => refusal(status, &answer.body).map(Err),
        }
    }
}

/// The DCQL answer: a map keyed by carrier id of credential objects or CAMARA errors, for the
/// carriers asked about only.
fn credential_map(
    body: &[u8],
    asked: &[u32],
) -> Result<Result<CredentialRequest, NoEvidence>, InfobipError> {
    let broken = |detail: String| InfobipError::UnexpectedAnswer {
        http_status: 200,
        detail,
    };
    let map: BTreeMap<String, Value> = serde_json::from_slice(body)
        .map_err(|e| broken(format!("body is not a map of carriers ({e})")))?;
    let mut request = CredentialRequest {
        credentials: BTreeMap::new(),
        unresolved: BTreeMap::new(),
    };
    for (key, entry) in map {
        let carrier = key
            .parse::<u32>()
            .ok()
            .filter(|c| asked.contains(c))
            .ok_or_else(|| {
                broken(format!(
                    "an answer for carrier {key:?}, not one asked about"
                ))
            })?;
        let is_credential = entry["format"] == CREDENTIAL_FORMAT
            && entry["meta"]["credential_authorization_jwt"].is_string();
        match (is_credential, entry["code"].as_str()) {
            (true, _) => {
                request.credentials.insert(carrier, entry);
            }
            (false, Some(code)) => {
                request.unresolved.insert(carrier, code.to_owned());
            }
            (false, None) => {
                return Err(broken(format!(
                    "carrier {carrier}: neither a credential nor an error"
                )))
            }
        }
    }
    Ok(match request.credentials.is_empty() {
        true => Err(NoEvidence::NoCarrier),
        false => Ok(request),
    })
}

/// Every documented answer of the verify endpoints (401, 403 and 429 are the transport's).
fn verdict(status: StatusCode, body: &[u8]) -> Result<NumberVerdict, InfobipError> {
    if status != StatusCode::OK {
        return refusal(status, body).map(NumberVerdict::NoEvidence);
    }
    serde_json::from_slice::<NumberVerifyResponse>(body)
        .map(|answer| match answer.device_phone_number_verified {
            true => NumberVerdict::Verified,
            false => NumberVerdict::NotVerified,
        })
        .map_err(|e| InfobipError::UnexpectedAnswer {
            http_status: 200,
            detail: format!("body is not the documented JSON ({e})"),
        })
}

/// A CAMARA answer other than 200: no evidence when it is a documented refusal, else an error.
fn refusal(status: StatusCode, body: &[u8]) -> Result<NoEvidence, InfobipError> {
    let http_status = status.as_u16();
    let code = || {
        serde_json::from_slice::<CamaraErrorResponse>(body)
            .ok()
            .and_then(|e| e.code)
    };
    let expected = |documented: &str, no_evidence| match code() {
        Some(code) if code == documented => Ok(no_evidence),
        other => Err(InfobipError::UnexpectedAnswer {
            http_status,
            detail: format!("error code {other:?}, not {documented}"),
        }),
    };
    match status {
        StatusCode::BAD_REQUEST => expected("INVALID_ARGUMENT", NoEvidence::InvalidArgument),
        StatusCode::NOT_FOUND => expected("NOT_FOUND", NoEvidence::UnknownCorrelator),
        StatusCode::CONFLICT => expected("CONFLICT", NoEvidence::Conflict),
        StatusCode::UNPROCESSABLE_ENTITY => {
            expected("SERVICE_NOT_APPLICABLE", NoEvidence::NotApplicable)
        }
        status if status.is_server_error() => Err(InfobipError::Unavailable { http_status }),
        _ => Err(InfobipError::UnexpectedAnswer {
            http_status,
            detail: "not a documented answer".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answer(status: u16, body: serde_json::Value) -> Result<NumberVerdict, InfobipError> {
        verdict(
            StatusCode::from_u16(status).unwrap(),
            body.to_string().as_bytes(),
        )
    }

    #[test]
    fn the_authorize_url_names_client_redirect_state_and_number() {
        let url = authorize_url(
            &Url::parse("https://xyz.api.infobip.com").unwrap(),
            "acme",
            &Url::parse("https://smv.example.com/Prod/camara/return").unwrap(),
            "s.t",
            &PhoneNumber::parse("+447911123456").unwrap(),
        );
        assert_eq!(url.path(), "/camara/number-verification/v0/authorize");
        let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        assert_eq!(
            query,
            [
                pair("clientId", "acme"),
                pair("redirectUrl", "https://smv.example.com/Prod/camara/return"),
                pair("state", "s.t"),
                pair("login_hint", "tel:+447911123456"),
            ]
        );
    }

    #[test]
    fn every_documented_answer_has_its_verdict() {
        use NoEvidence::*;
        use NumberVerdict::{NotVerified, Verified};
        let none = NumberVerdict::NoEvidence;
        let cases = [
            (200, json!({"devicePhoneNumberVerified": true}), Verified),
            (
                200,
                json!({"devicePhoneNumberVerified": false}),
                NotVerified,
            ),
            (
                400,
                json!({"status": 400, "code": "INVALID_ARGUMENT", "message": "…"}),
                none(InvalidArgument),
            ),
            (
                404,
                json!({"status": 404, "code": "NOT_FOUND", "message": "Not found"}),
                none(UnknownCorrelator),
            ),
            (
                409,
                json!({"status": 409, "code": "CONFLICT", "message": "Another request is created for the same MSISDN"}),
                none(Conflict),
            ),
            (
                422,
                json!({"status": 422, "code": "SERVICE_NOT_APPLICABLE", "message": "…"}),
                none(NotApplicable),
            ),
        ];
        for (status, body, expected) in cases {
            assert_eq!(
                answer(status, body.clone()).unwrap(),
                expected,
                "{status} {body}"
            );
        }
    }

    #[test]
    fn undocumented_answers_are_errors_not_verdicts() {
        assert!(matches!(
            answer(500, json!({"status": 500, "code": "INTERNAL"})),
            Err(InfobipError::Unavailable { http_status: 500 })
        ));
        // A 409 without CAMARA's code is not the documented conflict: no verdict from it.
        assert!(matches!(
            answer(409, json!({"requestError": {}})),
            Err(InfobipError::UnexpectedAnswer { .. })
        ));
        assert!(matches!(
            answer(200, json!({"verified": true})),
            Err(InfobipError::UnexpectedAnswer { .. })
        ));
        assert!(matches!(
            answer(302, json!({})),
            Err(InfobipError::UnexpectedAnswer { .. })
        ));
    }

    #[test]
    fn the_credential_map_keeps_what_was_asked_and_resolved() {
        let credential = json!({"id": "miapi.infobip.com", "format": "dc-authorization+sd-jwt",
            "meta": {"credential_authorization_jwt": "eyJhbGciOiJFUzI1NiIs...", "vct_values": ["number-verification/device-phone-number/ts43"]},
            "claims": [{"path": ["android_carrier_hint"], "values": [123]}]});
        let mixed = json!({"123": credential, "456": {"status": 404, "code": "NOT_FOUND", "message": "Not found"}});
        let request = credential_map(mixed.to_string().as_bytes(), &[123, 456])
            .unwrap()
            .unwrap();
        assert_eq!(request.credentials[&123], credential);
        assert_eq!(request.unresolved[&456], "NOT_FOUND");

        let none = json!({"456": {"status": 404, "code": "NOT_FOUND"}});
        assert_eq!(
            credential_map(none.to_string().as_bytes(), &[456]).unwrap(),
            Err(NoEvidence::NoCarrier)
        );
        // A carrier nobody asked about, or an entry that is neither: Infobip broke the contract.
        for broken in [
            json!({"999": credential}),
            json!({"123": {"format": "other"}}),
            json!([1]),
        ] {
            assert!(
                matches!(
                    credential_map(broken.to_string().as_bytes(), &[123]),
                    Err(InfobipError::UnexpectedAnswer { .. })
                ),
                "{broken}"
            );
        }
    }

    #[test]
    fn a_correlator_is_a_header_value_and_never_printed() {
        let code = Correlator::parse("c0ffee-2f1e-4a0b").unwrap();
        assert!(!format!("{code:?}").contains("c0ffee"));
        assert_eq!(code.expose(), "c0ffee-2f1e-4a0b");
        assert!(Correlator::parse("").is_none());
        assert!(Correlator::parse("line\nbreak").is_none());
        assert!(Correlator::parse(&"a".repeat(MAX_CORRELATOR_BYTES + 1)).is_none());
    }
}
