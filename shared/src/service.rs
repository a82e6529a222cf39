//! The three things this backend does (start, record a result, report a result), independent of
//! HTTP so that the primary routes and the demo-app routes share them.

use tracing::{info, warn};
use url::Url;

use crate::app::{CallbackApp, PollApp, StartApp};
use crate::device::DeviceAddress;
use crate::error::AppError;
use crate::infobip::{InfobipError, VerifyOrder};
use crate::metrics::{LimitedBy, Metric, MetricsSink, RefusalReason};
use crate::phone::PhoneNumber;
use crate::rate_limit::{self, LimitError};
use crate::telemetry;
use crate::time::Timestamp;
use crate::token::{UrlSecret, Token};
use crate::verification::{
    ErrorInfo, ParkedCallback, State, Status, Verification, VerificationResult,
};

/// Where Infobip delivers a verification's result, under the callback base URL; the route table
/// serves it as `POST /callbacks/infobip/{secret}`.
pub const CALLBACK_PATH_PREFIX: &str = "/callbacks/infobip/";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    pub token: Token,
    /// PENDING, unless a Brazilian result arrived before we had stored the verification.
    pub status: Status,
    pub device_redirect_url: Option<Url>,
    pub pending_until: Timestamp,
}

/// Asks Infobip to verify `phone` for the device at `device`; calls Infobip exactly once, and
/// only within the rate limits.
pub async fn start(
    app: &StartApp,
    phone: &PhoneNumber,
    device: DeviceAddress,
    callback_base_url: &Url,
) -> Result<Started, AppError> {
    let admitted = rate_limit::admit(
        app.counters.as_ref(),
        &app.rate_limits,
        &app.phone_hash_key.hash(phone),
        &device.subscriber(),
        app.clock.now(),
    )
    .await;
    if let Err(LimitError::Exceeded(exceeded)) = &admitted {
        app.metrics
            .emit(&Metric::StartRateLimited(LimitedBy::Ours(exceeded.scope)));
        info!(phone = %phone.masked(), limit = exceeded.scope.as_str(), "start refused by a rate limit");
    }
    admitted?;
    let secret = UrlSecret::generate()?;
    let callback_url = callback_url(callback_base_url, &secret)?;
    let order = VerifyOrder {
        phone,
        callback_url: &callback_url,
        device,
    };

    let answer = app.infobip.verify(&order).await;
    let now = app.clock.now();
    let accepted = match answer {
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
            return Err(AppError::InfobipRefused {
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

    let verification = Verification::pending(
        accepted.token,
        secret.hash(),
        phone.masked(),
        now,
        app.lifetimes,
    );
    telemetry::record_token(&verification.token);
    app.verifications.create(&verification).await?;
    app.metrics.emit(&Metric::VerificationStarted);
    // Infobip has accepted (and billed) this verification and it is stored: failing the start now
    // would only make the app start another one. A parked result we cannot read is logged instead.
    let status = apply_early_callback(app, &verification)
        .await
        .unwrap_or_else(|e| {
            warn!(token = %verification.token, error = %e, "could not look for an early callback");
            Status::Pending
        });
    info!(token = %verification.token, phone = %phone.masked(), status = status.as_str(), "verification started");
    Ok(Started {
        token: verification.token,
        status,
        device_redirect_url: accepted.device_redirect_url,
        pending_until: verification.pending_until,
    })
}

fn callback_url(base: &Url, secret: &UrlSecret) -> Result<Url, AppError> {
    crate::web::join(base, &format!("{CALLBACK_PATH_PREFIX}{}", secret.expose()))
        .map_err(|e| AppError::Internal(format!("the callback URL cannot be built: {e}")))
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
        app.lifetimes,
    );
    if let Err(e) = app.verifications.create(&refused).await {
        warn!(token = %refused.token, error = %e, "could not store Infobip's refusal");
    }
}

/// The Brazil race: Infobip may call back before `start` has stored the verification. Such a
/// callback is parked under our secret's hash; pick it up now.
async fn apply_early_callback(
    app: &StartApp,
    verification: &Verification,
) -> Result<Status, AppError> {
    let now = app.clock.now();
    let parked = app
        .parked
        .find_parked(&verification.secret_hash, &verification.token, now)
        .await?;
    let Some(parked) = parked else {
        return Ok(Status::Pending);
    };
    let completed = app
        .verifications
        .complete(
            &verification.token,
            &verification.secret_hash,
            &parked.result,
            now,
        )
        .await?;
    if let Some(completed) = completed {
        record_result(app.metrics.as_ref(), &completed);
    }
    // Applied by us or, racing, by the callback's own retry: either way this is the result now.
    Ok(parked.result.status())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackOutcome {
    /// The result is now the verification's final state.
    Recorded,
    /// The verification already had a final result or had expired; nothing changed.
    Ignored,
    /// No verification with this token yet: kept for `start` to pick up.
    Parked,
}

/// Records a result Infobip sent to the callback URL carrying `secret`.
pub async fn receive_callback(
    app: &CallbackApp,
    secret: &UrlSecret,
    token: Token,
    result: VerificationResult,
) -> Result<CallbackOutcome, AppError> {
    telemetry::record_token(&token);
    let hash = secret.hash();
    let now = app.clock.now();
    if let Some(completed) = app
        .verifications
        .complete(&token, &hash, &result, now)
        .await?
    {
        record_result(app.metrics.as_ref(), &completed);
        return Ok(CallbackOutcome::Recorded);
    }
    match app.verifications.find(&token, now).await? {
        Some(existing) if existing.secret_hash != hash => {
            app.metrics
                .emit(&Metric::CallbackRefused(RefusalReason::Forged));
            Err(AppError::ForgedCallback)
        }
        Some(_) => Ok(CallbackOutcome::Ignored),
        None => {
            let parked = ParkedCallback {
                token,
                secret_hash: hash,
                result,
                received_at: now,
                expires_at: now.plus(app.lifetimes.pending_timeout),
            };
            app.parked.park(&parked).await?;
            // `start` may have stored the verification between our read and our park, and then
            // looked for a parked callback too early to see ours: try once more.
            let completed = app
                .verifications
                .complete(&parked.token, &parked.secret_hash, &parked.result, now)
                .await?;
            match completed {
                Some(completed) => {
                    record_result(app.metrics.as_ref(), &completed);
                    Ok(CallbackOutcome::Recorded)
                }
                None => {
                    app.metrics
                        .emit(&Metric::CallbackRefused(RefusalReason::UnknownToken));
                    Ok(CallbackOutcome::Parked)
                }
            }
        }
    }
}

/// Metrics and the request log for a result that has just become final.
fn record_result(metrics: &dyn MetricsSink, completed: &Verification) {
    let Some(result) = completed.result() else {
        return;
    };
    let completed_at = match &completed.state {
        State::Completed { at, .. } => *at,
        State::Pending => return,
    };
    metrics.emit(&Metric::ResultRecorded {
        status: result.status(),
        time_to_result: completed_at.saturating_since(completed.created_at),
    });
    if let Some(error) = result.error() {
        metrics.emit(&Metric::InfobipError { id: error.id });
        telemetry::record_infobip_error(error.id);
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub token: Token,
    pub status: Status,
    pub error: Option<ErrorInfo>,
    pub pending_until: Timestamp,
}

/// What a poll sees. Reading changes nothing, so a lost response can simply be asked for again.
pub async fn report(app: &PollApp, token: &Token) -> Result<Report, AppError> {
    let now = app.clock.now();
    telemetry::record_token(token);
    let verification = app
        .verifications
        .find(token, now)
        .await?
        .ok_or(AppError::VerificationNotFound)?;
    Ok(Report {
        status: verification.status(now),
        error: verification.result().and_then(|r| r.error()).cloned(),
        token: verification.token,
        pending_until: verification.pending_until,
    })
}
