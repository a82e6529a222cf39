//! The PIN fallback: send a PIN (after a SIM-swap check) where silent verification produced no
//! evidence, and check the PIN the user types. Every change is one conditional write on the
//! verification's version; Infobip is called between a claim and its completion, never twice for
//! one claim.

use tracing::{info, warn};

use super::sim_swap::Checker;
use crate::app::StartApp;
use crate::binding::CodeVerifier;
use crate::device::DeviceAddress;
use crate::error::AppError;
use crate::fallback::{
    Channel, Method, Pin, PinPhase, PinPolicy, PinState, PinVerdict, PIN_LIFETIME,
};
use crate::infobip::InfobipError;
use crate::metrics::{LimitedBy, Metric};
use crate::phone::PhoneNumber;
use crate::rate_limit::{self, LimitError};
use crate::sim_swap::Clearance;
use crate::telemetry;
use crate::time::Timestamp;
use crate::token::Token;
use crate::verification::Verification;

/// Conditional writes lost to a concurrent writer are retried this often, from a fresh read.
const WRITE_ATTEMPTS: usize = 4;

/// What a fallback request carries: proof of being the starter, the channel, and the number
/// (never stored: it is checked against the verification's keyed hash, used, and forgotten).
pub struct FallbackRequest {
    pub verifier: CodeVerifier,
    pub channel: Channel,
    pub phone: PhoneNumber,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinSent {
    pub token: Token,
    pub channel: Channel,
    pub expires_at: Timestamp,
    pub resend_after: Timestamp,
}

/// Sends a PIN, or the same PIN again, for a verification whose silent attempt produced no
/// evidence. Refusals write nothing and send nothing.
pub async fn send_pin(
    app: &StartApp,
    token: &Token,
    request: &FallbackRequest,
    device: &DeviceAddress,
) -> Result<PinSent, AppError> {
    telemetry::record_token(token);
    let now = app.clock.now();
    let offer = &app.config.fallback.offer;
    let policy = &app.config.fallback.pins;
    let read = find(app, token, now).await?;
    let phone_ok = names_the_number(app, &read, &request.phone, now).await?;
    check_starter(&read, &request.verifier, phone_ok)?;
    if !offer.allows_country(request.phone.country()) {
        return Err(AppError::FallbackCountryNotAllowed);
    }
    if !offer.offers(request.channel) {
        return Err(AppError::FallbackChannelNotOffered);
    }
    super::SimNumber::check(app, &request.phone)?;
    let pins = app.pins.as_ref().ok_or(AppError::FallbackNotConfigured)?;
    if let Some(refusal) = read.fallback_refusal(now, offer) {
        return Err(refusal.into());
    }
    let previous = read.fallback.pin.clone();
    if let Some(pin) = &previous {
        pin.may_send_again(policy, now)?;
    }
    // Every send is an SMS or a call billed like a start: resends too.
    count_like_a_start(app, &request.phone, device, now).await?;
    // Before every send, new PIN or resend: after a swap the PIN would go to the new SIM.
    let clearance = match read.needs_sim_swap_check(&app.config.sim_swap, now) {
        true => check_sim_swap(app, &read, &request.phone, now).await?,
        false => Clearance::Unchecked,
    };

    // Claim the send first: two concurrent requests must not both reach Infobip.
    let (mut claimed, claimed_pin) = read.with_send_claimed(request.channel, now);
    if let Clearance::Cleared(at) = clearance {
        claimed.sim_swap.cleared_at = Some(at);
    }
    let claimed = write_over(app, &read, claimed)
        .await?
        .ok_or(AppError::FallbackBusy)?;

    let sent = match &claimed_pin.phase {
        PinPhase::Live(pin_id) => pins.resend(request.channel, pin_id).await.map(|()| None),
        _ => pins.send(request.channel, &request.phone).await.map(Some),
    };
    match sent {
        // Infobip sent the PIN: keep its id, whatever else changed meanwhile (a late silent
        // result changes the version); without it the PIN could never be checked.
        Ok(Some(pin_id)) => {
            let live = PinPhase::Live(pin_id);
            update(
                app,
                token,
                Some(claimed.clone()),
                |current, _| match current.with_pin_phase(live.clone()) {
                    Some(next) => Ok(Change::Write(Box::new(next), ())),
                    None => Err(AppError::internal("the claimed PIN vanished")),
                },
            )
            .await?;
        }
        Ok(None) => {}
        Err(error) => {
            release_claim(app, &claimed, previous).await;
            if matches!(error, InfobipError::PinNotSent) {
                warn!(channel = request.channel.as_str(), phone = %request.phone.masked(), "Infobip could not send the PIN");
            }
            return Err(error.into());
        }
    }
    app.metrics.emit(&Metric::PinSent(request.channel));
    info!(channel = request.channel.as_str(), sends = claimed_pin.sends, phone = %request.phone.masked(), "PIN sent");
    Ok(PinSent {
        token: token.clone(),
        channel: request.channel,
        expires_at: now.plus(PIN_LIFETIME).min(claimed.expires_at),
        resend_after: now.plus(PinPolicy::resend_wait(claimed_pin.sends)),
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinVerified {
    pub token: Token,
    pub method: Method,
}

/// Checks the PIN the user typed: VALID only when Infobip says it is right, our own cap on
/// attempts whatever Infobip allows, and a PIN refused once the verification has ended.
pub async fn check_pin(
    app: &StartApp,
    token: &Token,
    verifier: &CodeVerifier,
    pin: &Pin,
) -> Result<PinVerified, AppError> {
    telemetry::record_token(token);
    let policy = &app.config.fallback.pins;
    // Claim an attempt before asking Infobip, so concurrent checks cannot exceed the cap.
    let claim = update(app, token, None, |read, now| {
        check_starter(read, verifier, true)?;
        if read.verified_by_pin() {
            return Ok(Change::Done(None));
        }
        let pin_id = read.checkable_pin(now, policy.max_attempts)?.clone();
        Ok(Change::Write(
            Box::new(read.with_pin_attempt()),
            Some(pin_id),
        ))
    })
    .await?;
    let (claimed, pin_id) = match claim {
        Updated::Written(claimed, Some(pin_id)) => (claimed, pin_id),
        Updated::Written(done, None) | Updated::Unchanged(done, _) => return Ok(verified(&done)),
    };
    // A PIN was sent, so 2FA is configured.
    let pins = app.pins.as_ref().ok_or(AppError::FallbackNotConfigured)?;

    match pins.check(&pin_id, pin).await? {
        PinVerdict::Verified => {}
        PinVerdict::Expired => {
            app.metrics.emit(&Metric::PinRejected);
            mark_dead(app, &claimed).await;
            return Err(AppError::PinExpired);
        }
        PinVerdict::Wrong { attempts_remaining } => {
            app.metrics.emit(&Metric::PinRejected);
            let pin = claimed.fallback.pin.as_ref();
            let remaining = pin.map_or(0, |p| p.attempts_remaining(policy, attempts_remaining));
            if remaining == 0 {
                mark_dead(app, &claimed).await;
                return Err(AppError::PinExpired);
            }
            return Err(AppError::WrongPin {
                attempts_remaining: remaining,
            });
        }
    }

    // Verified: VALID by this channel, unless the verification ended meanwhile (a late INVALID
    // or a SIM swap), which Infobip's answer does not outweigh.
    let done = update(app, token, Some(claimed), |current, now| {
        if current.verified_by_pin() {
            return Ok(Change::Done(()));
        }
        current.checkable_pin(now, u32::MAX)?;
        let next = current.with_pin_verified(now).ok_or(AppError::NoPinSent)?;
        Ok(Change::Write(Box::new(next), ()))
    })
    .await?;
    let verification = match done {
        Updated::Written(written, ()) => {
            let method = written.method();
            if let Method::Pin(channel) = method {
                app.metrics.emit(&Metric::PinVerified(channel));
            }
            info!(token = %token, method = method.as_str(), "verified by PIN");
            written
        }
        Updated::Unchanged(current, ()) => current,
    };
    Ok(verified(&verification))
}

fn verified(v: &Verification) -> PinVerified {
    PinVerified {
        token: v.token.clone(),
        method: v.method(),
    }
}

/// A PIN send (new or again) costs what a start costs, and is counted like one, before the billed
/// SIM-swap check; and on the PIN limits: per number a day, the daily budget, an address's share.
async fn count_like_a_start(
    app: &StartApp,
    phone: &PhoneNumber,
    device: &DeviceAddress,
    now: Timestamp,
) -> Result<(), AppError> {
    let admitted = rate_limit::admit(
        app.counters.as_ref(),
        &app.config.pin_send_limits,
        &app.keys.phone_hash.current(now).await?.current.hash(phone),
        &device.subscriber(),
        now,
    )
    .await;
    if let Err(LimitError::Exceeded(exceeded)) = &admitted {
        app.metrics
            .emit(&Metric::StartRateLimited(LimitedBy::Ours(exceeded.scope)));
    }
    Ok(admitted?)
}

async fn find(app: &StartApp, token: &Token, now: Timestamp) -> Result<Verification, AppError> {
    app.verifications
        .find(token, now)
        .await?
        .ok_or(AppError::VerificationNotFound)
}

/// The starter's verifier must match, and the number where one is given (`phone_ok`, from
/// [`names_the_number`]); one generic answer for any mismatch, compared in full whatever failed
/// first.
fn check_starter(
    v: &Verification,
    verifier: &CodeVerifier,
    phone_ok: bool,
) -> Result<(), AppError> {
    let Some(binding) = &v.binding else {
        return Err(AppError::FallbackRefused);
    };
    match binding.challenge.is_met_by(verifier) & phone_ok {
        true => Ok(()),
        false => Err(AppError::FallbackRefused),
    }
}

/// Whether `phone` is the number `v` verifies, under the phone hash key's current or previous
/// version (a rotation since the start changes nothing).
async fn names_the_number(
    app: &StartApp,
    v: &Verification,
    phone: &PhoneNumber,
    now: Timestamp,
) -> Result<bool, AppError> {
    let Some(binding) = &v.binding else {
        return Ok(false);
    };
    app.keys
        .phone_hash
        .accepts(now, |key| key.hash(phone).matches(&binding.phone_hash))
        .await
        .map_err(AppError::from)
}

/// Before a PIN: a SIM swapped within the period refuses the fallback, for good.
async fn check_sim_swap(
    app: &StartApp,
    read: &Verification,
    phone: &PhoneNumber,
    now: Timestamp,
) -> Result<Clearance, AppError> {
    let checker = Checker {
        sim_swaps: app.sim_swaps.as_ref(),
        verifications: app.verifications.as_ref(),
        metrics: app.metrics.as_ref(),
        policy: &app.config.sim_swap,
    };
    checker.check(read, phone, now).await
}

/// Infobip did not send: give the send back, so the user is not made to wait for nothing. Best
/// effort: if anything wrote meanwhile the claim stays, which only costs a wait.
async fn release_claim(app: &StartApp, claimed: &Verification, previous: Option<PinState>) {
    let mut next = claimed.clone();
    next.fallback.pin = previous;
    if let Err(e) = write_over(app, claimed, next).await {
        warn!(error = %crate::error::chain(&e), "could not release a PIN send that failed");
    }
}

/// No attempt can succeed any more: say so to later checks without asking Infobip. Best
/// effort: a later check finds the same answer at Infobip.
async fn mark_dead(app: &StartApp, claimed: &Verification) {
    let Some(next) = claimed.with_pin_phase(PinPhase::Dead) else {
        return;
    };
    if let Err(e) = write_over(app, claimed, next).await {
        warn!(error = %crate::error::chain(&e), "could not mark a PIN dead");
    }
}

/// Writes `next` if the stored verification is still at `read`'s version; `next` as stored (at
/// the version after), or `None` when something else wrote first.
async fn write_over(
    app: &StartApp,
    read: &Verification,
    next: Verification,
) -> Result<Option<Verification>, AppError> {
    let written = app.verifications.replace(read.version, &next).await?;
    Ok(written.then(|| Verification {
        version: read.version + 1,
        ..next
    }))
}

/// What a change computed from a read does.
enum Change<T> {
    /// Write this verification in place of the one read.
    Write(Box<Verification>, T),
    /// Nothing to write.
    Done(T),
}

/// What [`update`] ended with: the verification as written, or as read when nothing was to be.
enum Updated<T> {
    Written(Verification, T),
    Unchanged(Verification, T),
}

/// Optimistic concurrency, once: read the verification (or start from `known`), compute a change,
/// write it if the version is still the one read; from a fresh read when something else wrote
/// first, a few times, then [`AppError::FallbackBusy`].
async fn update<T>(
    app: &StartApp,
    token: &Token,
    known: Option<Verification>,
    mut change: impl FnMut(&Verification, Timestamp) -> Result<Change<T>, AppError>,
) -> Result<Updated<T>, AppError> {
    let mut current = known;
    for _ in 0..WRITE_ATTEMPTS {
        let now = app.clock.now();
        let read = match current.take() {
            Some(read) => read,
            None => find(app, token, now).await?,
        };
        match change(&read, now)? {
            Change::Done(value) => return Ok(Updated::Unchanged(read, value)),
            Change::Write(next, value) => {
                if let Some(written) = write_over(app, &read, *next).await? {
                    return Ok(Updated::Written(written, value));
                }
            }
        }
    }
    Err(AppError::FallbackBusy)
}
