//! Recording the result Infobip sends.

use super::record_result;
use crate::app::CallbackApp;
use crate::error::AppError;
use crate::metrics::{Metric, RefusalReason};
use crate::telemetry;
use crate::token::{Token, UrlSecret};
use crate::verification::{ParkedCallback, VerificationResult};

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
            Err(AppError::CallbackRejected)
        }
        Some(_) => Ok(CallbackOutcome::Ignored),
        // The Brazil race, or a forgery: only a secret we issued is kept for its start.
        None if !app
            .callback_keys
            .accepts(now, |key| key.issued(secret))
            .await? =>
        {
            app.metrics
                .emit(&Metric::CallbackRefused(RefusalReason::Forged));
            Err(AppError::CallbackRejected)
        }
        None => {
            let parked = ParkedCallback {
                token,
                secret_hash: hash,
                result,
                received_at: now,
                expires_at: now.plus(app.config.common.lifetimes.pending_timeout),
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
