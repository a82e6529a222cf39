//! What happens after a result: a poll reads it, a returning device is shown its code, and the
//! starter redeems a VALID verification for a signed assertion.

use super::pick_up_parked;
use super::sim_swap::Checker;
use crate::app::PollApp;
use crate::assertion::{self, Assertion, Claims, SignError};
use crate::binding::CodeVerifier;
use crate::device_return::{DeviceCode, ReturnSecret};
use crate::error::AppError;
use crate::fallback::{Channel, Method, OfferPolicy, Refusal};
use crate::metrics::Metric;
use crate::phone::PhoneNumber;
use crate::sim_swap::Clearance;
use crate::telemetry;
use crate::time::Timestamp;
use crate::token::Token;
use crate::verification::{AssertionState, ErrorInfo, Status, Verification};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub token: Token,
    pub status: Status,
    pub error: Option<ErrorInfo>,
    pub pending_until: Timestamp,
    pub assertion: AssertionState,
    /// On VALID: how.
    pub method: Option<Method>,
    /// While a PIN fallback is possible, or once it is refused for good.
    pub fallback: Option<FallbackOffer>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FallbackOffer {
    pub allowed: bool,
    pub channels: Vec<Channel>,
    pub reason: Option<Refusal>,
}

/// What a poll says of a fallback: offered while the policy allows one now, refused for good
/// after a SIM swap or INVALID; nothing while it is too early, or where fallback is off.
fn fallback_offer(v: &Verification, now: Timestamp, policy: &OfferPolicy) -> Option<FallbackOffer> {
    if v.binding.is_none() || !policy.allows_country(v.country.as_deref()) {
        return None;
    }
    match v.fallback_refusal(now, policy) {
        None => Some(FallbackOffer {
            allowed: true,
            channels: policy.channels.clone(),
            reason: None,
        }),
        Some(reason @ (Refusal::SimSwap | Refusal::Invalid)) => Some(FallbackOffer {
            allowed: false,
            channels: Vec::new(),
            reason: Some(reason),
        }),
        Some(Refusal::Pending | Refusal::Final) => None,
    }
}

async fn find(app: &PollApp, token: &Token, now: Timestamp) -> Result<Verification, AppError> {
    telemetry::record_token(token);
    app.verifications
        .find(token, now)
        .await?
        .ok_or(AppError::VerificationNotFound)
}

/// What a poll sees. Reading changes nothing, so a lost response can simply be asked for again,
/// with one exception: a PENDING verification whose result was parked (it arrived before the
/// start stored the verification, and the start could not pick it up) gets that result now.
/// Infobip was already told the result was received; it must not be lost.
pub async fn report(app: &PollApp, token: &Token) -> Result<Report, AppError> {
    let now = app.clock.now();
    let mut verification = find(app, token, now).await?;
    if verification.status(now) == Status::Pending {
        let picked_up = pick_up_parked(
            app.verifications.as_ref(),
            app.parked.as_ref(),
            app.metrics.as_ref(),
            &verification,
            now,
        )
        .await;
        if let Some(completed) = picked_up {
            verification = completed;
        }
    }
    Ok(Report {
        status: verification.status(now),
        error: verification.result().and_then(|r| r.error()).cloned(),
        assertion: verification.assertion_state(app.config.assertions.redeem_window, now),
        method: (verification.status(now) == Status::Valid).then(|| verification.method()),
        fallback: fallback_offer(&verification, now, &app.config.fallback),
        token: verification.token,
        pending_until: verification.pending_until,
    })
}

/// A device arriving at its return URL is shown its code once. A return URL we never issued is
/// refused without a storage call.
pub async fn device_return(app: &PollApp, secret: ReturnSecret) -> Result<DeviceCode, AppError> {
    let hash = secret.hash();
    let now = app.clock.now();
    let until = now.plus(app.config.common.lifetimes.record_lifetime);
    if !app.returns.first_return(&hash, until, now).await? {
        return Err(AppError::DeviceCodeAlreadyShown);
    }
    // Under the current key; the redeem accepts a code of the previous one too.
    let keys = app.keys.returns.current(now).await?;
    Ok(DeviceCode::for_return(&hash, &keys.current))
}

/// What the starter presents to redeem a verification.
pub struct Redeem {
    pub verifier: CodeVerifier,
    /// Required for a verification whose device was redirected (the REDIRECT flow).
    pub device_code: Option<String>,
    pub phone: PhoneNumber,
}

/// One read, one SIM-swap check, one conditional write, one signature: the assertion for a VALID
/// verification whose starter presents the verifier, the device's code and the number, once.
pub async fn redeem(
    app: &PollApp,
    token: &Token,
    redeem: &Redeem,
    issuer: &str,
) -> Result<Assertion, AppError> {
    let now = app.clock.now();
    let Admitted {
        verification,
        method,
        clearance,
    } = admit(app, token, redeem, now).await?;
    let nonce = verification.binding.as_ref().and_then(|b| b.nonce.as_ref());
    // Signed before the write that spends the verification: a signing failure leaves it
    // redeemable, and a lost race discards an assertion nobody received.
    let assertion = assertion::issue(
        app.signer.as_ref(),
        &Claims {
            issuer,
            audience: &app.config.assertions.policy.audience,
            phone: &redeem.phone,
            nonce,
            issued_at: now,
            lifetime: app.config.assertions.policy.lifetime,
            method,
            auth_time: verification.verified_at().unwrap_or(now),
            sim_swap_checked_at: clearance.checked_at(),
        },
    )
    .await
    .inspect_err(|e| {
        if matches!(e, SignError::Throttled(_)) {
            app.metrics.emit(&Metric::SigningThrottled);
        }
    })?;
    if !app.verifications.redeem(token, now).await? {
        return Err(AppError::AssertionAlreadyIssued);
    }
    Ok(assertion)
}

/// A VALID verification whose starter proved itself, with how it was verified and the SIM-swap
/// answer that cleared the number: what an assertion or an OpenID grant is made from.
pub(super) struct Admitted {
    pub verification: Verification,
    pub method: Method,
    pub clearance: Clearance,
}

/// One read, the checks of the starter's verifier, the device's code and the number, and the
/// SIM-swap check: nothing is written unless a wrong device code or number counts against the
/// starter, or a swap ends the verification.
pub(super) async fn admit(
    app: &PollApp,
    token: &Token,
    redeem: &Redeem,
    now: Timestamp,
) -> Result<Admitted, AppError> {
    let verification = find(app, token, now).await?;
    let binding = verification.redeemable_within(app.config.assertions.redeem_window, now)?;
    // Every part is checked whatever the others gave, so timing says nothing of which failed;
    // each under its key's current or previous version (a rotation since the start changes
    // nothing).
    let verifier_ok = binding.challenge.is_met_by(&redeem.verifier);
    // A PIN reached the number itself: no device code to show.
    let method = verification.method();
    let device_ok = match (&binding.return_hash, method) {
        (_, Method::Pin(_)) | (None, _) => true,
        (Some(return_hash), Method::Silent(_)) => match redeem.device_code.as_deref() {
            None => false,
            Some(given) => {
                app.keys
                    .returns
                    .accepts(now, |key| {
                        DeviceCode::for_return(return_hash, key).matches(given)
                    })
                    .await?
            }
        },
    };
    let phone_ok = app
        .keys
        .phone_hash
        .accepts(now, |key| {
            key.hash(&redeem.phone).matches(&binding.phone_hash)
        })
        .await?;
    if !(verifier_ok & device_ok & phone_ok) {
        // Only the starter can lock its own verification: whoever lacks the verifier cannot
        // spend the starter's attempts (and has nothing to guess with).
        if verifier_ok {
            app.verifications.fail_redemption(token, now).await?;
        }
        return Err(AppError::AssertionRefused);
    }
    let clearance = clear_sim_swap(app, &verification, &redeem.phone, now).await?;
    Ok(Admitted {
        verification,
        method,
        clearance,
    })
}

/// The answer an assertion is signed on: one the PIN send got, while younger than
/// `SIM_SWAP_MAX_AGE_SECONDS`, else Infobip's now. Asked here, at the redeem, rather than at the
/// start: the answer is as fresh as it can be when it is used, the number is in hand (the redeem
/// names it; nothing stores it), and only verifications that yield an assertion are billed.
async fn clear_sim_swap(
    app: &PollApp,
    verification: &Verification,
    phone: &PhoneNumber,
    now: Timestamp,
) -> Result<Clearance, AppError> {
    let policy = &app.config.sim_swap;
    if let Some(at) = verification.clearance_younger_than(policy.max_age, now) {
        return Ok(Clearance::Cleared(at));
    }
    let checker = Checker {
        sim_swaps: app.sim_swaps.as_ref(),
        verifications: app.verifications.as_ref(),
        metrics: app.metrics.as_ref(),
        policy,
    };
    checker.check(verification, phone, now).await
}
