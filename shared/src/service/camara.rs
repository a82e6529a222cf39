//! CAMARA Number Verification behind the same verification as SMV. The network-based start
//! calls nobody: the device opens Infobip's authorize URL, meets its operator, and comes back to
//! our one static redirect URL with a `code` (or an OAuth `error`) and the `state` we gave it.
//! That return asks Infobip for the result at once (no callback) and records it: one read, one
//! Infobip call, one conditional write. The device that came back is shown its code, as on SMV's
//! return URL, so a link relayed to a victim gives the starter nothing to redeem.

use tracing::info;
use url::Url;

use super::record_result;
use super::start::Started;
use crate::app::{PollApp, StartApp};
use crate::binding::StartBinding;
use crate::camara_outcome;
use crate::device_return::{CamaraState, DeviceCode, ReturnSecret};
use crate::error::AppError;
use crate::infobip::camara::{authorize_url, CamaraFlow, Correlator};
use crate::method_policy::SilentMethod;
use crate::metrics::{Metric, Origin};
use crate::phone::PhoneNumber;
use crate::phone_hash::PhoneHash;
use crate::sealed_phone::SealedPhone;
use crate::telemetry;
use crate::time::Timestamp;
use crate::token::SecretHash;
use crate::token::Token;
use crate::verification::{Binding, ErrorInfo, Status, Verification};

/// The static redirect URL registered with Infobip, under the public base URL; the route table
/// serves it as `GET /camara/return`.
pub const CAMARA_RETURN_PATH: &str = "/camara/return";

/// Stores a PENDING verification and hands back Infobip's authorize URL for the device; nothing
/// is billed until the device goes there.
pub(super) async fn start_network(
    app: &StartApp,
    phone: &PhoneNumber,
    phone_hash: &PhoneHash,
    public_base_url: &Url,
    binding: Option<StartBinding>,
) -> Result<Started, AppError> {
    let client_id = app
        .config
        .methods
        .camara_client_id
        .as_deref()
        .ok_or_else(|| AppError::internal("CAMARA_CLIENT_ID is not set"))?;
    let now = app.clock.now();
    let token = Token::generate()?;
    let secret = ReturnSecret::generate(&app.keys.returns.current(now).await?.current)?;
    let redirect_url = crate::urls_and_headers::join(public_base_url, CAMARA_RETURN_PATH)
        .map_err(|e| AppError::internal(format!("the CAMARA redirect URL cannot be built: {e}")))?;
    let device_redirect_url = authorize_url(
        &app.config.infobip.base_url,
        client_id,
        &redirect_url,
        &CamaraState::encode(&token, &secret),
        phone,
    );
    // The state's secret is what may complete it (as a callback URL's is for SMV), and what the
    // device code is derived from.
    let verification = record_start(
        app,
        CamaraStart {
            phone,
            phone_hash,
            method: SilentMethod::Camara,
            token,
            secret_hash: secret.hash(),
            binding,
            return_hash: Some(secret.hash()),
        },
        None,
    )
    .await?;
    Ok(Started {
        token: verification.token,
        status: Status::Pending,
        device_redirect_url: Some(device_redirect_url),
        credential_request: None,
        pending_until: verification.pending_until,
    })
}

/// A CAMARA start as stored: a verification named by a token of ours.
pub(super) struct CamaraStart<'a> {
    pub phone: &'a PhoneNumber,
    pub phone_hash: &'a PhoneHash,
    pub method: SilentMethod,
    pub token: Token,
    /// What may complete it: the state's secret (network-based) or the SIM's nonce.
    pub secret_hash: SecretHash,
    pub binding: Option<StartBinding>,
    /// Where a returning device is shown its code (network-based only).
    pub return_hash: Option<SecretHash>,
}

/// Stores the verification, PENDING, or already ended with `refused` when Infobip said at the
/// start that it cannot verify (a SIM-based start whose carriers it cannot ask). The number is
/// kept sealed: the result comes from a call that must name it.
pub(super) async fn record_start(
    app: &StartApp,
    start: CamaraStart<'_>,
    refused: Option<ErrorInfo>,
) -> Result<Verification, AppError> {
    let now = app.clock.now();
    let sealed = SealedPhone::seal(
        &app.keys.phone_hash.current(now).await?.current,
        start.phone,
        &start.token,
    )?;
    let (masked, lifetimes) = (start.phone.masked(), app.config.common.lifetimes);
    let mut verification = match refused {
        None => Verification::pending(start.token, start.secret_hash, masked, now, lifetimes),
        Some(error) => Verification::refused(
            start.token,
            start.secret_hash,
            masked,
            error,
            now,
            lifetimes,
        ),
    }
    .in_country(start.phone.country())
    .by_camara(start.method, sealed);
    if let Some(binding) = start.binding {
        verification = verification.bound_to(Binding {
            challenge: binding.challenge,
            nonce: binding.nonce,
            phone_hash: start.phone_hash.clone(),
            return_hash: start.return_hash,
        });
    }
    telemetry::record_token(&verification.token);
    app.verifications.create(&verification).await?;
    app.metrics
        .emit(&Metric::VerificationStarted(Origin::of(&verification)));
    record_result(app.metrics.as_ref(), &verification);
    info!(token = %verification.token, phone = %start.phone.masked(), method = start.method.as_str(), status = verification.status(now).as_str(), "verification started");
    Ok(verification)
}

/// What the operator sent the device back with.
pub enum CameBack {
    /// `code`: Infobip exchanges it for the result.
    Code(Correlator),
    /// An OAuth `error` (its code; the description is the operator's prose, not kept).
    Error(String),
}

/// The result recorded on a device's return, and its code where it may redeem.
#[derive(Debug)]
pub struct Returned {
    pub status: Status,
    /// On VALID, for a verification bound to its starter.
    pub device_code: Option<DeviceCode>,
}

/// The device is back from its operator with `state` (one we issued: the caller checked its
/// tag). Records the result once; a second return, or one whose verification is no longer
/// PENDING, is refused before Infobip is called.
pub async fn camara_return(
    app: &PollApp,
    state: CamaraState,
    came_back: CameBack,
) -> Result<Returned, AppError> {
    let now = app.clock.now();
    telemetry::record_token(&state.token);
    let hash = state.secret.hash();
    let verification = app
        .verifications
        .find(&state.token, now)
        .await?
        .filter(|v| v.silent_method == SilentMethod::Camara && v.secret_hash == hash)
        .ok_or(AppError::VerificationNotFound)?;
    if verification.status(now) != Status::Pending {
        return Err(AppError::DeviceCodeAlreadyShown);
    }
    let result = match came_back {
        CameBack::Error(code) => camara_outcome::of_authorize_error(&code),
        CameBack::Code(code) => {
            let phone = sealed_number(app, &verification, now).await?;
            let verdict = app
                .camara
                .verify(CamaraFlow::Network, &code, &phone)
                .await?;
            camara_outcome::of_verdict(verdict)
        }
    };
    let now = app.clock.now();
    let Some(completed) = app
        .verifications
        .complete(&verification.token, &hash, &result, now)
        .await?
    else {
        // Another return of the same state won the race.
        return Err(AppError::DeviceCodeAlreadyShown);
    };
    record_result(app.metrics.as_ref(), &completed);
    let status = completed.status(now);
    let bound = completed.binding.is_some();
    let device_code = match status == Status::Valid && bound {
        true => {
            let keys = app.keys.returns.current(now).await?;
            Some(DeviceCode::for_return(&hash, &keys.current))
        }
        false => None,
    };
    info!(token = %completed.token, status = status.as_str(), "CAMARA result recorded");
    Ok(Returned {
        status,
        device_code,
    })
}

/// The number a CAMARA verification was started for.
pub(super) async fn sealed_number(
    app: &PollApp,
    verification: &Verification,
    now: Timestamp,
) -> Result<PhoneNumber, AppError> {
    let sealed = verification
        .sealed_phone
        .as_ref()
        .ok_or_else(|| AppError::internal("a CAMARA verification holds no number"))?;
    super::open_sealed(app, sealed, &verification.token, now).await
}
