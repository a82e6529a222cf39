//! The PIN fallback: send a PIN (after a SIM-swap check) where silent verification produced no
//! evidence, and check the PIN the user types. Every change is one conditional write on the
//! verification's version; Infobip is called between a claim and its completion, never twice for
//! one claim.

use std::time::Duration;

use tracing::{info, warn};

use crate::app::StartApp;
use crate::binding::CodeVerifier;
use crate::device::DeviceAddress;
use crate::error::AppError;
use crate::fallback::{Channel, Method, OnUnknownSwap, Pin, PinId, PinPolicy, PIN_LIFETIME};
use crate::infobip::{InfobipError, SimSwap};
use crate::metrics::{LimitedBy, Metric};
use crate::phone::PhoneNumber;
use crate::rate_limit::{self, LimitError};
use crate::telemetry;
use crate::time::Timestamp;
use crate::token::Token;
use crate::verification::{PinState, State, Verification, VerificationResult};

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
    check_starter(app, &read, &request.verifier, Some(&request.phone))?;
    if !offer.allows_country(request.phone.country()) {
        return Err(AppError::CountryNotAllowed);
    }
    let pins = app.pins.as_ref().ok_or(AppError::CountryNotAllowed)?;
    if let Some(refusal) = read.fallback_refusal(now, offer) {
        return Err(refusal.into());
    }
    let previous = read.fallback.pin.clone();
    if let Some(pin) = &previous {
        may_resend(pin, policy, now)?;
    }
    // A dead PIN is replaced by a new one; a live one is sent again.
    let fresh = previous
        .as_ref()
        .is_none_or(|p| p.dead || p.pin_id.is_none());
    if fresh {
        count_like_a_start(app, &request.phone, device, now).await?;
    }
    if previous.is_none() && policy.sim_swap_check_hours > 0 {
        check_sim_swap(app, &read, &request.phone).await?;
    }

    // Claim the send first: two concurrent requests must not both reach Infobip.
    let (claimed, claimed_pin) = claim(&read, request.channel, fresh, now);
    let claimed = write_over(app, &read, claimed)
        .await?
        .ok_or(AppError::FallbackBusy)?;

    let sent = match &claimed_pin.pin_id {
        None => pins.send(request.channel, &request.phone).await.map(Some),
        Some(pin_id) => pins.resend(request.channel, pin_id).await.map(|()| None),
    };
    match sent {
        Ok(Some(pin_id)) => record_pin_id(app, claimed.clone(), pin_id, now).await?,
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

/// Checks the PIN the user typed: VALID only when Infobip says `verified: true`, our own cap on
/// attempts whatever Infobip allows, and a PIN refused once the verification has ended.
pub async fn check_pin(
    app: &StartApp,
    token: &Token,
    verifier: &CodeVerifier,
    pin: &Pin,
) -> Result<PinVerified, AppError> {
    telemetry::record_token(token);
    let max_attempts = app.config.fallback.pins.max_attempts;
    // Claim an attempt before asking Infobip, so concurrent checks cannot exceed the cap.
    let mut claimed = None;
    for _ in 0..WRITE_ATTEMPTS {
        let now = app.clock.now();
        let read = find(app, token, now).await?;
        check_starter(app, &read, verifier, None)?;
        if let Some(done) = already_verified(&read) {
            return Ok(done);
        }
        let pin_id = read.checkable_pin(now, max_attempts)?.clone();
        let mut next = read.clone();
        if let Some(state) = next.fallback.pin.as_mut() {
            state.attempts += 1;
        }
        if let Some(written) = write_over(app, &read, next).await? {
            claimed = Some((written, pin_id));
            break;
        }
    }
    let (claimed, pin_id) = claimed.ok_or(AppError::FallbackBusy)?;
    let attempts = claimed.fallback.pin.as_ref().map_or(0, |p| p.attempts);
    // A PIN was sent, so 2FA is configured.
    let pins = app.pins.as_ref().ok_or(AppError::NoPinSent)?;

    let checked = match pins.check(&pin_id, pin).await {
        Err(InfobipError::UnknownPin) => {
            mark_dead(app, &claimed).await;
            return Err(AppError::PinDead);
        }
        other => other?,
    };
    if !checked.verified {
        let ours = max_attempts.saturating_sub(attempts);
        let remaining = checked
            .attempts_remaining
            .map_or(ours, |theirs| theirs.min(ours));
        let dead_at_infobip = matches!(
            checked.pin_error.as_deref(),
            Some("NO_MORE_PIN_ATTEMPTS" | "TTL_EXPIRED")
        );
        app.metrics.emit(&Metric::PinRejected);
        if remaining == 0 || dead_at_infobip {
            mark_dead(app, &claimed).await;
            return Err(AppError::PinDead);
        }
        return Err(AppError::WrongPin {
            attempts_remaining: remaining,
        });
    }

    // Verified: VALID by this channel, unless the verification ended meanwhile (a late INVALID
    // or a SIM swap), which Infobip's answer does not outweigh.
    let mut current = claimed;
    for _ in 0..WRITE_ATTEMPTS {
        let now = app.clock.now();
        if let Some(done) = already_verified(&current) {
            return Ok(done);
        }
        current.checkable_pin(now, u32::MAX)?;
        let mut next = current.clone();
        let Some(state) = next.fallback.pin.as_mut() else {
            return Err(AppError::NoPinSent);
        };
        state.verified = true;
        let channel = state.channel;
        next.state = State::Completed {
            result: VerificationResult::Valid,
            at: now,
        };
        if write_over(app, &current, next).await?.is_some() {
            app.metrics.emit(&Metric::PinVerified(channel));
            let method = Method::Pin(channel);
            info!(token = %token, method = method.as_str(), "verified by PIN");
            return Ok(PinVerified {
                token: token.clone(),
                method,
            });
        }
        current = find(app, token, now).await?;
    }
    Err(AppError::FallbackBusy)
}

/// The same PIN again: after a wait that grows with each send, at most `max_sends` in all.
fn may_resend(pin: &PinState, policy: &PinPolicy, now: Timestamp) -> Result<(), AppError> {
    if pin.sends >= policy.max_sends {
        return Err(AppError::PinSendLimit);
    }
    let ready_at = pin.last_sent_at.plus(PinPolicy::resend_wait(pin.sends));
    if now < ready_at {
        return Err(AppError::PinResendTooSoon {
            retry_after: ready_at.saturating_since(now).max(Duration::from_secs(1)),
        });
    }
    Ok(())
}

/// A new PIN costs what a start costs, and is counted like one, before the billed SIM-swap
/// check; resends are bounded by PIN_MAX_SENDS and their waits instead.
async fn count_like_a_start(
    app: &StartApp,
    phone: &PhoneNumber,
    device: &DeviceAddress,
    now: Timestamp,
) -> Result<(), AppError> {
    let admitted = rate_limit::admit(
        app.counters.as_ref(),
        &app.config.rate_limits,
        &app.config.phone_hash_key.hash(phone),
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

/// `read` with one more send of a PIN (a new one when `fresh`) claimed at `now`. A PENDING
/// verification stays open as long as its PIN can be entered.
fn claim(
    read: &Verification,
    channel: Channel,
    fresh: bool,
    now: Timestamp,
) -> (Verification, PinState) {
    let previous = read.fallback.pin.as_ref();
    let pin = PinState {
        channel,
        pin_id: previous.filter(|_| !fresh).and_then(|p| p.pin_id.clone()),
        sends: previous.map_or(0, |p| p.sends) + 1,
        first_sent_at: previous.map_or(now, |p| p.first_sent_at),
        last_sent_at: now,
        attempts: previous.map_or(0, |p| p.attempts),
        dead: false,
        verified: false,
    };
    let mut claimed = read.clone();
    claimed.fallback.pin = Some(pin.clone());
    if matches!(claimed.state, State::Pending) {
        let pin_until = now.plus(PIN_LIFETIME).min(claimed.expires_at);
        claimed.pending_until = claimed.pending_until.max(pin_until);
    }
    (claimed, pin)
}

fn already_verified(v: &Verification) -> Option<PinVerified> {
    let verified = v.fallback.pin.as_ref().is_some_and(|p| p.verified);
    verified.then(|| PinVerified {
        token: v.token.clone(),
        method: v.method(),
    })
}

async fn find(app: &StartApp, token: &Token, now: Timestamp) -> Result<Verification, AppError> {
    app.verifications
        .find(token, now)
        .await?
        .ok_or(AppError::VerificationNotFound)
}

/// The starter's verifier, and the number when one is given, must match; one generic answer for
/// any mismatch, compared in full whatever failed first.
fn check_starter(
    app: &StartApp,
    v: &Verification,
    verifier: &CodeVerifier,
    phone: Option<&PhoneNumber>,
) -> Result<(), AppError> {
    let Some(binding) = &v.binding else {
        return Err(AppError::NotTheStarter);
    };
    let verifier_ok = binding.challenge.is_met_by(verifier);
    let phone_ok = phone.is_none_or(|p| {
        app.config
            .phone_hash_key
            .hash(p)
            .matches(&binding.phone_hash)
    });
    match verifier_ok & phone_ok {
        true => Ok(()),
        false => Err(AppError::NotTheStarter),
    }
}

/// Before the first PIN: a SIM swapped within the period refuses the fallback, for good.
async fn check_sim_swap(
    app: &StartApp,
    read: &Verification,
    phone: &PhoneNumber,
) -> Result<(), AppError> {
    let policy = &app.config.fallback.pins;
    let answer = match app
        .sim_swaps
        .check(phone, policy.sim_swap_check_hours)
        .await
    {
        Ok(answer) => answer,
        Err(e @ InfobipError::Unauthorized { .. }) => return Err(e.into()),
        Err(e) => {
            warn!(error = %crate::error::chain(&e), "the SIM-swap check gave no answer");
            SimSwap::Unknown
        }
    };
    match answer {
        SimSwap::NotSwapped => Ok(()),
        SimSwap::Unknown if policy.on_unknown_swap == OnUnknownSwap::Allow => Ok(()),
        SimSwap::Unknown => Err(AppError::SimSwapUnknown),
        SimSwap::Swapped => {
            app.metrics.emit(&Metric::SimSwapDetected);
            warn!(token = %read.token, phone = %phone.masked(), "SIM swap detected: fallback refused");
            let mut swapped = read.clone();
            swapped.fallback.sim_swapped = true;
            // Recorded if nothing else wrote meanwhile; refused either way.
            if write_over(app, read, swapped).await?.is_none() {
                warn!(token = %read.token, "could not record the SIM swap: the verification changed meanwhile");
            }
            Err(AppError::SimSwapDetected)
        }
    }
}

/// Infobip sent the PIN: keep its id, whatever else changed meanwhile (a late silent result
/// changes the version); without it the PIN could never be checked.
async fn record_pin_id(
    app: &StartApp,
    mut current: Verification,
    pin_id: PinId,
    now: Timestamp,
) -> Result<(), AppError> {
    for _ in 0..WRITE_ATTEMPTS {
        let mut next = current.clone();
        match next.fallback.pin.as_mut() {
            Some(pin) => pin.pin_id = Some(pin_id.clone()),
            None => return Err(AppError::Internal("the claimed PIN vanished".into())),
        }
        if write_over(app, &current, next).await?.is_some() {
            return Ok(());
        }
        current = find(app, &current.token, now).await?;
    }
    Err(AppError::FallbackBusy)
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
    let mut next = claimed.clone();
    if let Some(pin) = next.fallback.pin.as_mut() {
        pin.dead = true;
    }
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
