//! Starting a verification: rate limits, one Infobip call, the record.

use std::collections::BTreeMap;

use tracing::{info, warn};
use url::Url;

use super::apply_parked;
use crate::app::StartApp;
use crate::binding::StartBinding;
use crate::device::DeviceAddress;
use crate::device_return::ReturnSecret;
use crate::error::AppError;
use crate::infobip::{InfobipError, VerifyOrder};
use crate::method_policy::SilentMethod;
use crate::metrics::{LimitedBy, Metric, Origin};
use crate::phone::PhoneNumber;
use crate::phone_hash::PhoneHash;
use crate::rate_limit::{self, LimitError};
use crate::sim_credential::CarrierIds;
use crate::telemetry;
use crate::time::Timestamp;
use crate::token::{Token, UrlSecret};
use crate::verification::{Binding, ErrorInfo, Status, Verification};

/// Where Infobip delivers a verification's result, under the callback base URL; the route table
/// serves it as `POST /callbacks/infobip/{secret}`.
const CALLBACK_PATH_PREFIX: &str = "/callbacks/infobip/";

/// Where the device comes back after the carrier step (Infobip's `returnUrl`), under the same
/// base; the route table serves it as `GET /return/{secret}`.
const RETURN_PATH_PREFIX: &str = "/return/";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    pub token: Token,
    /// PENDING, unless a Brazilian result arrived before we had stored the verification.
    pub status: Status,
    pub device_redirect_url: Option<Url>,
    /// SIM-based: Infobip's credential request per carrier, for Android's Credential Manager.
    pub credential_request: Option<BTreeMap<u32, serde_json::Value>>,
    pub pending_until: Timestamp,
}

/// A number of a type that can be a SIM (`SIM_NUMBER_TYPES`): the only kind [`start`] and a PIN
/// send take, so that no caller can skip the check. A premium-rate or personal number would make
/// a start (or a PIN) a toll-fraud lever.
#[derive(Debug, Clone, Copy)]
pub struct SimNumber<'a>(&'a PhoneNumber);

impl<'a> SimNumber<'a> {
    /// Refused before anything is counted, written or billed.
    pub fn check(app: &StartApp, phone: &'a PhoneNumber) -> Result<Self, AppError> {
        if app.config.sim_number_types.admits(phone) {
            return Ok(Self(phone));
        }
        info!(phone = %phone.masked(), kind = phone.number_type().as_str(), "refused: not a number that can be a SIM");
        Err(AppError::NotAMobileNumber(phone.number_type()))
    }

    pub fn phone(self) -> &'a PhoneNumber {
        self.0
    }
}

/// Which method a start uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MethodAsked {
    /// The method `VERIFY_METHODS` gives the number's country (the primary API).
    ByCountry,
    /// SMV whatever the country (the demo app's routes, which know no other).
    Smv,
    /// SIM-based CAMARA, which the app asked for with its device's carriers.
    Sim(CarrierIds),
}

impl MethodAsked {
    /// The method this start gets for `phone`, or the refusal of a SIM-based start where
    /// `VERIFY_SIM_COUNTRIES` does not offer it (before anything is counted or billed).
    pub fn method_for(
        &self,
        app: &StartApp,
        phone: &PhoneNumber,
    ) -> Result<SilentMethod, AppError> {
        match self {
            Self::ByCountry => Ok(app.config.methods.policy.method_for(phone).into()),
            Self::Smv => Ok(SilentMethod::Smv),
            Self::Sim(_) if app.config.methods.policy.allows_sim(phone) => Ok(SilentMethod::Sim),
            Self::Sim(_) => {
                info!(phone = %phone.masked(), "refused: SIM-based verification is not offered for this country");
                Err(AppError::MethodNotOffered)
            }
        }
    }
}

/// Starts verifying `phone` for the device at `device`, by the method asked for; only within
/// the rate limits, and with at most one Infobip call.
pub async fn start(
    app: &StartApp,
    phone: SimNumber<'_>,
    phone_hash: &PhoneHash,
    device: DeviceAddress,
    public_base_url: &Url,
    binding: Option<StartBinding>,
    asked: MethodAsked,
) -> Result<Started, AppError> {
    let phone = phone.phone();
    let method = asked.method_for(app, phone)?;
    admit(app, phone, phone_hash, &device).await?;
    match (method, asked) {
        (SilentMethod::Smv, _) => {
            start_smv(app, phone, phone_hash, device, public_base_url, binding).await
        }
        (SilentMethod::Camara, _) => {
            super::camara::start_network(app, phone, phone_hash, public_base_url, binding).await
        }
        (SilentMethod::Sim, MethodAsked::Sim(carriers)) => {
            super::sim::start_sim(app, phone, phone_hash, binding, &carriers).await
        }
        (SilentMethod::Sim, _) => Err(AppError::internal("a SIM-based start without carriers")),
    }
}

/// Counts the start on every limit, or refuses it (with its metric and log line).
async fn admit(
    app: &StartApp,
    phone: &PhoneNumber,
    phone_hash: &PhoneHash,
    device: &DeviceAddress,
) -> Result<(), AppError> {
    let admitted = rate_limit::admit(
        app.counters.as_ref(),
        &app.config.rate_limits,
        phone_hash,
        &device.subscriber(),
        app.clock.now(),
    )
    .await;
    if let Err(LimitError::Exceeded(exceeded)) = &admitted {
        app.metrics
            .emit(&Metric::StartRateLimited(LimitedBy::Ours(exceeded.scope)));
        info!(phone = %phone.masked(), limit = exceeded.scope.as_str(), "start refused by a rate limit");
    }
    Ok(admitted?)
}

/// SMV: one Infobip call, whose token names the verification.
async fn start_smv(
    app: &StartApp,
    phone: &PhoneNumber,
    phone_hash: &PhoneHash,
    device: DeviceAddress,
    public_base_url: &Url,
    binding: Option<StartBinding>,
) -> Result<Started, AppError> {
    let now = app.clock.now();
    let secret = app.keys.callback.current(now).await?.current.issue()?;
    let callback_url = under(public_base_url, CALLBACK_PATH_PREFIX, secret.expose())?;
    let return_secret = ReturnSecret::generate(&app.keys.returns.current(now).await?.current)?;
    let return_url = under(public_base_url, RETURN_PATH_PREFIX, return_secret.expose())?;
    let order = VerifyOrder {
        phone,
        callback_url: &callback_url,
        return_url: &return_url,
        device,
    };

    let answer = app.infobip.verify(&order).await;
    let now = app.clock.now();
    let accepted = match answer {
        // Elsewhere OK would skip the device code, so a relayed link would yield an assertion
        // for whoever started it: nothing is stored, and the app hears of an unusable answer.
        Ok(accepted) if accepted.device_redirect_url.is_none() && !phone.is_brazilian() => {
            warn!(phone = %phone.masked(), "Infobip answered OK (no redirect) for a number outside Brazil: refused");
            return Err(InfobipError::UnexpectedAnswer {
                http_status: 200,
                detail: "OK without a redirect for a number outside Brazil".into(),
            }
            .into());
        }
        Ok(accepted) => accepted,
        Err(InfobipError::Refused {
            http_status,
            token,
            error,
        }) => {
            app.metrics.emit(&Metric::InfobipError { id: error.id });
            telemetry::record_infobip_error(error.id);
            if let Some(token) = &token {
                telemetry::record_token(token);
                record_refusal(app, token.clone(), &secret, phone, error.clone(), now).await;
            }
            return Err(AppError::VerificationRefused {
                upstream_status: http_status,
                token,
                error,
            });
        }
        Err(error) => {
            if matches!(error, InfobipError::RateLimited { .. }) {
                app.metrics
                    .emit(&Metric::StartRateLimited(LimitedBy::Infobip));
            }
            return Err(error.into());
        }
    };

    let mut verification = Verification::pending(
        accepted.token,
        secret.hash(),
        phone.masked(),
        now,
        app.config.common.lifetimes,
    )
    .in_country(phone.country());
    if let Some(binding) = binding {
        verification = verification.bound_to(Binding {
            challenge: binding.challenge,
            nonce: binding.nonce,
            phone_hash: phone_hash.clone(),
            // Only a device that was redirected can come back with a code.
            return_hash: accepted
                .device_redirect_url
                .is_some()
                .then(|| return_secret.hash()),
        });
    }
    telemetry::record_token(&verification.token);
    // The store and the look for a result that arrived first, side by side: one round trip. A
    // result parked after the look (between it and the store, milliseconds) waits for the poll.
    let (created, found) = tokio::join!(
        app.verifications.create(&verification),
        app.parked
            .find_parked(&verification.secret_hash, &verification.token, now),
    );
    created?;
    app.metrics
        .emit(&Metric::VerificationStarted(Origin::of(&verification)));
    // Infobip has accepted (and billed) this verification and it is stored: failing the start now
    // would only make the app start another one.
    let status = apply_parked(
        app.verifications.as_ref(),
        app.metrics.as_ref(),
        &verification,
        found,
        now,
    )
    .await
    .map_or(Status::Pending, |completed| completed.status(now));
    info!(token = %verification.token, phone = %phone.masked(), status = status.as_str(), "verification started");
    Ok(Started {
        token: verification.token,
        status,
        device_redirect_url: accepted.device_redirect_url,
        credential_request: None,
        pending_until: verification.pending_until,
    })
}

fn under(base: &Url, prefix: &str, secret: &str) -> Result<Url, AppError> {
    crate::urls_and_headers::join(base, &format!("{prefix}{secret}"))
        .map_err(|e| AppError::internal(format!("a URL for Infobip cannot be built: {e}")))
}

/// Keeps Infobip's refusal so that a poll of its token tells the same story as the start did.
/// Failing to keep it must not hide the refusal from the app, so a storage error is only logged.
async fn record_refusal(
    app: &StartApp,
    token: Token,
    secret: &UrlSecret,
    phone: &PhoneNumber,
    error: ErrorInfo,
    now: Timestamp,
) {
    let refused = Verification::refused(
        token,
        secret.hash(),
        phone.masked(),
        error,
        now,
        app.config.common.lifetimes,
    );
    if let Err(e) = app.verifications.create(&refused).await {
        warn!(token = %refused.token, error = %crate::error::chain(&e), "could not store Infobip's refusal");
    }
}
