//! The things this backend does, independent of HTTP so that the primary routes and the
//! demo-app routes share them: start ([`start`]), record a result ([`callback`]), and report it,
//! show a returning device its code, and redeem an assertion ([`results`]); CAMARA's start and
//! return ([`camara`]), and its SIM-based credential ([`sim`]); the OpenID Provider's code,
//! tokens and UserInfo ([`oidc`]).

mod callback;
mod camara;
mod fallback;
mod oidc;
mod results;
mod sim;
mod sim_swap;
mod start;

pub use callback::{receive_callback, CallbackOutcome};
pub use camara::{camara_return, CameBack, Returned, CAMARA_RETURN_PATH};
pub use fallback::{check_pin, send_pin, FallbackRequest, PinSent, PinVerified};
pub use oidc::{exchange, grant_code, userinfo, ExchangeError, Tokens, UserInfo};
pub use results::{device_return, redeem, report, Redeem, Report};
pub use sim::{submit_credential, Submitted};
pub use start::{start, MethodAsked, SimNumber, Started};

use tracing::warn;

use crate::app::PollApp;
use crate::error::AppError;
use crate::metrics::{Metric, MetricsSink, Origin};
use crate::phone::PhoneNumber;
use crate::sealed_phone::SealedPhone;
use crate::store::{ParkedCallbacks, StoreError, Verifications};
use crate::telemetry;
use crate::time::Timestamp;
use crate::token::Token;
use crate::verification::{ParkedCallback, State, Verification};

/// The Brazil race: Infobip may call back before the start has stored the verification; such a
/// result is parked under the callback secret's hash. Applies it to `verification` if there is
/// one, and returns the verification as it then stands; `None` when nothing was parked, or when
/// storage could not say. The start looks as it stores; a PENDING poll looks again, so a
/// failure here is logged, never an error: the caller's answer does not depend on it.
async fn pick_up_parked(
    verifications: &dyn Verifications,
    parked: &dyn ParkedCallbacks,
    metrics: &dyn MetricsSink,
    verification: &Verification,
    now: Timestamp,
) -> Option<Verification> {
    let found = parked
        .find_parked(&verification.secret_hash, &verification.token, now)
        .await;
    apply_parked(verifications, metrics, verification, found, now).await
}

/// Applies what a look for a parked result `found` to `verification`, as [`pick_up_parked`].
async fn apply_parked(
    verifications: &dyn Verifications,
    metrics: &dyn MetricsSink,
    verification: &Verification,
    found: Result<Option<ParkedCallback>, StoreError>,
    now: Timestamp,
) -> Option<Verification> {
    let applied = async {
        let Some(early) = found? else {
            return Ok(None);
        };
        let (token, hash) = (&verification.token, &verification.secret_hash);
        match verifications
            .complete(token, hash, &early.result, now)
            .await?
        {
            Some(completed) => {
                record_result(metrics, &completed);
                Ok(Some(completed))
            }
            // Applied meanwhile by the other side of the race: read what it wrote.
            None => verifications.find(token, now).await,
        }
    };
    match applied.await {
        Ok(picked_up) => picked_up,
        Err::<_, StoreError>(e) => {
            warn!(token = %verification.token, error = %crate::error::chain(&e), "could not look for a parked result; the next poll looks again");
            None
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
        origin: Origin::of(completed),
        time_to_result: completed_at.saturating_since(completed.created_at),
    });
    if let Some(error) = result.error() {
        metrics.emit(&Metric::InfobipError { id: error.id });
        telemetry::record_infobip_error(error.id);
    }
}

/// A number kept sealed to `token` (a CAMARA verification's, an OpenID grant's), opened under the
/// phone hash key's current or previous version: a rotation since the seal changes nothing.
async fn open_sealed(
    app: &PollApp,
    sealed: &SealedPhone,
    token: &Token,
    now: Timestamp,
) -> Result<PhoneNumber, AppError> {
    let opened = std::sync::OnceLock::new();
    app.keys
        .phone_hash
        .accepts(now, |key| {
            sealed
                .open(key, token)
                .map(|phone| opened.set(phone))
                .is_some()
        })
        .await?;
    opened
        .into_inner()
        .ok_or_else(|| AppError::internal("a sealed number does not open under the phone hash key"))
}
