//! The primary API: `POST /verifications` and `GET /verifications/{token}`.

use super::refused::HttpError;
use std::collections::BTreeMap;
use std::time::Duration;

use lambda_http::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, RETRY_AFTER};
use lambda_http::http::{HeaderValue, StatusCode};
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};

use tracing::warn;

use super::problem;
use super::request::{json_body, json_response, public_base_url, refuse_cross_site};
use super::routes::Params;
use crate::app::{PollApp, StartApp};
use crate::binding::{CodeChallenge, InvalidBinding, Nonce, StartBinding};
use crate::device::DeviceAddress;
use crate::device_address;
use crate::error::AppError;
use crate::idempotency::{self, Decision, IdempotencyKey, InvalidIdempotencyKey};
use crate::phone::PhoneNumber;
use crate::phone_hash::PhoneHash;
use crate::service::{self, MethodAsked, SimNumber};
use crate::sim_credential::CarrierIds;
use crate::store::StoredResponse;
use crate::token::Token;
use crate::verification::{ErrorInfo, Status};

const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// How often an app should poll while a verification is PENDING (the demo app waits 2 s).
pub const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// Unknown fields are ignored, so that apps can send more (a locale, a client version) without
/// breaking; the fields we read are checked strictly.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StartBody {
    phone_number: String,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    nonce: Option<String>,
    /// `"sim"` asks for SIM-based CAMARA; absent, the country's method.
    method: Option<String>,
    carrier_ids: Option<Vec<u32>>,
}

impl StartBody {
    fn binding(&self) -> Result<Option<StartBinding>, InvalidBinding> {
        let Some(challenge) = &self.code_challenge else {
            if self.code_challenge_method.is_some() || self.nonce.is_some() {
                return Err(InvalidBinding::WithoutChallenge);
            }
            return Ok(None);
        };
        Ok(Some(StartBinding {
            challenge: CodeChallenge::parse(challenge, self.code_challenge_method.as_deref())?,
            nonce: self.nonce.as_deref().map(Nonce::parse).transpose()?,
        }))
    }

    fn method(&self) -> Result<MethodAsked, AppError> {
        let invalid = |detail: &str| Err(AppError::InvalidRequest(detail.into()));
        match (self.method.as_deref(), &self.carrier_ids) {
            (None, None) => Ok(MethodAsked::ByCountry),
            (Some("sim"), Some(_)) if self.code_challenge.is_none() => invalid(
                "a SIM-based start needs codeChallenge: the credential is submitted with its verifier",
            ),
            (Some("sim"), Some(ids)) => Ok(MethodAsked::Sim(CarrierIds::parse(ids)?)),
            (Some("sim"), None) => invalid("a SIM-based start names the device's carrierIds"),
            (Some(_), _) => invalid("method is \"sim\", or absent for the country's method"),
            (None, Some(_)) => invalid("carrierIds is for a start with \"method\": \"sim\""),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StartedBody<'a> {
    token: &'a str,
    status: &'static str,
    device_redirect_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    credential_request: Option<&'a BTreeMap<u32, serde_json::Value>>,
    expires_at: String,
}

#[derive(Serialize)]
pub(super) struct ErrorBody<'a> {
    id: i32,
    name: &'a str,
    description: &'a str,
}

impl<'a> From<&'a ErrorInfo> for ErrorBody<'a> {
    fn from(error: &'a ErrorInfo) -> Self {
        Self {
            id: error.id,
            name: &error.name,
            description: &error.description,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReportBody<'a> {
    token: &'a str,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorBody<'a>>,
    expires_at: String,
    /// Whether an assertion can still be redeemed; never the number.
    assertion: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    method: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fallback: Option<FallbackBody>,
}

#[derive(Serialize)]
struct FallbackBody {
    allowed: bool,
    channels: Vec<&'static str>,
    reason: Option<&'static str>,
}

/// `None` without the header; two headers are refused rather than one picked.
fn idempotency_key(request: &Request) -> Result<Option<IdempotencyKey>, InvalidIdempotencyKey> {
    let mut values = request.headers().get_all(IDEMPOTENCY_KEY).iter();
    match (values.next(), values.next()) {
        (None, _) => Ok(None),
        (Some(value), None) => IdempotencyKey::parse(value.as_bytes()).map(Some),
        (Some(_), Some(_)) => Err(InvalidIdempotencyKey),
    }
}

pub async fn start(app: &StartApp, request: &Request) -> Result<Response<Body>, HttpError> {
    refuse_cross_site(request, &app.config.allowed_origins)?;
    let idempotency_key = idempotency_key(request)?;
    let body: StartBody = json_body(request)?;
    let phone = PhoneNumber::parse(&body.phone_number)?;
    // Before the Idempotency-Key is claimed: a refused number writes nothing.
    let phone = SimNumber::check(app, &phone)?;
    let binding = body.binding()?;
    let asked = body.method()?;
    asked.method_for(app, phone.phone())?;
    let phone_keys = app
        .keys
        .phone_hash
        .current(app.clock.now())
        .await
        .map_err(AppError::from)?;
    let phone_hash = phone_keys.current.hash(phone.phone());
    let device = device_address::resolve(request, &app.config.address_policy)?;
    let callback_base = public_base_url(app.config.callback_base_url.as_ref(), request)?;
    let Some(key) = idempotency_key else {
        return start_once(
            app,
            phone,
            &phone_hash,
            device,
            &callback_base,
            binding,
            asked,
        )
        .await;
    };

    let record_key = key.record_key(&device.subscriber());
    let sim_carriers = match &asked {
        MethodAsked::Sim(carriers) => Some(carriers),
        _ => None,
    };
    let fingerprint = idempotency::fingerprint(&phone_hash, binding.as_ref(), sim_carriers);
    // A retry that straddles a rotation of the phone hash key is still the same request.
    let also_same: Vec<String> = phone_keys
        .previous
        .iter()
        .map(|key| {
            idempotency::fingerprint(&key.hash(phone.phone()), binding.as_ref(), sim_carriers)
        })
        .collect();
    let now = app.clock.now();
    match idempotency::begin(
        app.idempotency.as_ref(),
        &record_key,
        &fingerprint,
        &also_same,
        now,
    )
    .await?
    {
        Decision::Proceed => {}
        Decision::Replay(stored) => return Ok(replay(stored)),
        Decision::Reused => return Err(AppError::IdempotencyKeyReused.into()),
        Decision::InProgress => return Err(AppError::IdempotencyKeyInProgress.into()),
    }
    let outcome = start_once(
        app,
        phone,
        &phone_hash,
        device,
        &callback_base,
        binding,
        asked.clone(),
    )
    .await;
    // Final answers are kept for retries; after a temporary failure a retry should try again.
    let keep = match &outcome {
        Ok(response) => Some(snapshot(response)),
        Err(refused @ HttpError::App(AppError::VerificationRefused { .. })) => Some(snapshot(
            &problem::render(refused, problem::ErrorStyle::Problem),
        )),
        Err(_) => None,
    };
    let kept = match keep {
        Some(response) => {
            let until = now.plus(app.config.common.lifetimes.pending_timeout);
            app.idempotency
                .finish_idempotent(&record_key, &fingerprint, &response, until)
                .await
        }
        None => app.idempotency.release_idempotent(&record_key).await,
    };
    // The answer is already decided; a lost record only means a retry within the lease is told
    // to wait, and one after it starts again.
    if let Err(e) = kept {
        warn!(error = %crate::error::chain(&e), "could not update the idempotency record");
    }
    outcome
}

async fn start_once(
    app: &StartApp,
    phone: SimNumber<'_>,
    phone_hash: &PhoneHash,
    device: DeviceAddress,
    public_base: &url::Url,
    binding: Option<StartBinding>,
    asked: MethodAsked,
) -> Result<Response<Body>, HttpError> {
    let started =
        service::start(app, phone, phone_hash, device, public_base, binding, asked).await?;
    crate::telemetry::record_outcome(started.status.as_str());

    let mut response = json_response(
        StatusCode::CREATED,
        &StartedBody {
            token: started.token.as_str(),
            status: started.status.as_str(),
            device_redirect_url: started.device_redirect_url.as_ref().map(|u| u.as_str()),
            credential_request: started.credential_request.as_ref(),
            expires_at: started.pending_until.to_rfc3339(),
        },
    );
    let location = format!("/verifications/{}", started.token);
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(LOCATION, location);
    }
    Ok(response)
}

fn snapshot(response: &Response<Body>) -> StoredResponse {
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    StoredResponse {
        status: response.status().as_u16(),
        content_type: header(CONTENT_TYPE).unwrap_or_default(),
        location: header(LOCATION),
        body: String::from_utf8_lossy(response.body().as_ref()).into_owned(),
    }
}

fn replay(stored: StoredResponse) -> Response<Body> {
    let mut builder = Response::builder()
        .status(stored.status)
        .header(CONTENT_TYPE, stored.content_type)
        .header(CACHE_CONTROL, "no-store")
        .header("idempotent-replayed", "true");
    if let Some(location) = stored.location {
        builder = builder.header(LOCATION, location);
    }
    builder
        .body(Body::Text(stored.body))
        .unwrap_or_else(|_| Response::new(Body::Empty))
}

pub async fn get(app: &PollApp, params: &Params) -> Result<Response<Body>, HttpError> {
    let token = Token::parse(params.get("token")?)?;
    let report = service::report(app, &token).await?;
    crate::telemetry::record_outcome(report.status.as_str());
    let mut response = json_response(
        StatusCode::OK,
        &ReportBody {
            token: report.token.as_str(),
            status: report.status.as_str(),
            error: report.error.as_ref().map(ErrorBody::from),
            expires_at: report.pending_until.to_rfc3339(),
            assertion: report.assertion.as_str(),
            method: report.method.map(|m| m.as_str()),
            fallback: report.fallback.as_ref().map(|offer| FallbackBody {
                allowed: offer.allowed,
                channels: offer.channels.iter().map(|c| c.as_str()).collect(),
                reason: offer.reason.map(|r| r.as_str()),
            }),
        },
    );
    if report.status == Status::Pending {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(POLL_INTERVAL.as_secs()));
    }
    Ok(response)
}
