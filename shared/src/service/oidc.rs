//! The OpenID Provider's three steps on a verification's record: the page, once the number is
//! verified, asks for the code (the same checks as a redeem: the page's verifier, the device's
//! code, the number, the SIM-swap check); the relying party exchanges the code for an ID token
//! and an access token; UserInfo answers for the access token. Each is one read and at most one
//! conditional write of that record.

use tracing::info;

use super::open_sealed;
use super::results::{admit, Admitted, Redeem};
use crate::app::{OidcApp, PollApp};
use crate::assertion::SignError;
use crate::binding::CodeVerifier;
use crate::error::AppError;
use crate::fallback::Method;
use crate::metrics::Metric;
use crate::oidc::authorize::AuthorizationRequest;
use crate::oidc::clients::Client;
use crate::oidc::grant::{
    BearerValue, Grant, GrantState, Unexchangeable, ACCESS_TOKEN_LIFETIME_SECS, CODE_LIFETIME_SECS,
};
use crate::oidc::id_token::{self, IdTokenClaims};
use crate::phone::PhoneNumber;
use crate::sealed_phone::SealedPhone;
use crate::telemetry;
use crate::token::{Token, UrlSecret};
use crate::verification::Verification;

/// The page asks for the code of a VALID verification: `redeem` proves it is the starter's. The
/// verification is spent as a redeem would spend it (no assertion can follow), in the same
/// conditional write that stores the grant. Returns the code.
pub async fn grant_code(
    app: &PollApp,
    oidc: &OidcApp,
    request: &AuthorizationRequest,
    client: &Client,
    token: &Token,
    redeem: &Redeem,
) -> Result<String, AppError> {
    let now = app.clock.now();
    let Admitted {
        verification,
        method,
        clearance,
    } = admit(app, token, redeem, now).await?;
    if matches!(method, Method::Pin(_)) && !request.pin_allowed {
        info!(token = %token, client = %client.id, "code refused: verified by PIN, which this client or request does not allow");
        return Err(AppError::PinNotAllowed);
    }
    let subjects = oidc.subjects.current(now).await?;
    let subject = subjects.current.subject(&client.sector, &redeem.phone);
    let sealed_phone = match request.wants("phone") {
        true => Some(SealedPhone::seal(
            &app.keys.phone_hash.current(now).await?.current,
            &redeem.phone,
            token,
        )?),
        false => None,
    };
    let code = BearerValue::generate(token)?;
    let grant = Grant {
        client_id: client.id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        code_challenge: request.code_challenge.clone(),
        nonce: request.nonce.clone(),
        scopes: request.scopes.clone(),
        subject,
        acr: request.acr().to_owned(),
        sealed_phone,
        sim_swap_checked_at: clearance.checked_at(),
        code_hash: code.secret.hash(),
        code_until: now.plus(std::time::Duration::from_secs(CODE_LIFETIME_SECS)),
        state: GrantState::Issued,
    };
    let mut next = verification.clone();
    next.redemption.redeemed_at = Some(now);
    next.grant = Some(grant);
    if !app
        .verifications
        .replace(verification.version, &next)
        .await?
    {
        return Err(AppError::AssertionAlreadyIssued);
    }
    info!(token = %token, client = %client.id, "authorization code issued");
    Ok(code.expose())
}

/// What the token endpoint answers.
#[derive(Debug)]
pub struct Tokens {
    pub id_token: String,
    pub access_token: String,
    pub expires_in: u64,
}

/// Why the token endpoint refuses.
#[derive(Debug)]
pub enum ExchangeError {
    /// OAuth's `invalid_grant`, with what the client may be told.
    InvalidGrant(&'static str),
    App(AppError),
}

impl<E: Into<AppError>> From<E> for ExchangeError {
    fn from(error: E) -> Self {
        Self::App(error.into())
    }
}

/// The exchange of a code (`client` authenticated by the caller): one read, one ID token
/// signature, one conditional write. A code presented a second time revokes what the first
/// exchange issued.
pub async fn exchange(
    app: &PollApp,
    client: &Client,
    issuer: &str,
    code: &BearerValue,
    redirect_uri: Option<&str>,
    verifier: &CodeVerifier,
) -> Result<Tokens, ExchangeError> {
    let now = app.clock.now();
    telemetry::record_token(&code.token);
    const UNKNOWN: ExchangeError =
        ExchangeError::InvalidGrant("the code is unknown, expired, or not this client's");
    let Some(verification) = app.verifications.find(&code.token, now).await? else {
        return Err(UNKNOWN);
    };
    let Some(grant) = &verification.grant else {
        return Err(UNKNOWN);
    };
    match grant.exchangeable(&code.secret, &client.id, redirect_uri, verifier, now) {
        Ok(()) => {}
        Err(Unexchangeable::Refused) => return Err(UNKNOWN),
        Err(Unexchangeable::Reused) => {
            revoke(app, &verification).await?;
            return Err(ExchangeError::InvalidGrant(
                "the code was already used: what it issued is revoked",
            ));
        }
    }
    let phone = match &grant.sealed_phone {
        Some(sealed) => Some(open_sealed(app, sealed, &verification.token, now).await?),
        None => None,
    };
    let id_token = id_token::issue(
        app.signer.as_ref(),
        &IdTokenClaims {
            issuer,
            client_id: &client.id,
            subject: &grant.subject,
            issued_at: now,
            auth_time: verification.verified_at().unwrap_or(now),
            nonce: grant.nonce.as_ref().map(|n| n.as_str()),
            amr: verification.method().amr(),
            acr: &grant.acr,
            phone: phone.as_ref(),
            sim_swap_checked_at: grant.sim_swap_checked_at,
        },
    )
    .await
    .inspect_err(|e| {
        if matches!(e, SignError::Throttled(_)) {
            app.metrics.emit(&Metric::SigningThrottled);
        }
    })?;
    let access = UrlSecret::generate()?;
    let mut next = verification.clone();
    next.grant = Some(Grant {
        state: GrantState::Exchanged {
            access_hash: access.hash(),
            until: now.plus(std::time::Duration::from_secs(ACCESS_TOKEN_LIFETIME_SECS)),
        },
        ..grant.clone()
    });
    if !app
        .verifications
        .replace(verification.version, &next)
        .await?
    {
        // Another exchange of the same code won the race: this one is the reuse.
        if let Some(now_stored) = app.verifications.find(&code.token, now).await? {
            revoke(app, &now_stored).await?;
        }
        return Err(ExchangeError::InvalidGrant(
            "the code was already used: what it issued is revoked",
        ));
    }
    info!(token = %verification.token, client = %client.id, "code exchanged");
    Ok(Tokens {
        id_token,
        access_token: BearerValue {
            token: verification.token.clone(),
            secret: access,
        }
        .expose(),
        expires_in: ACCESS_TOKEN_LIFETIME_SECS,
    })
}

/// What UserInfo says of the bearer of an access token.
#[derive(Debug)]
pub struct UserInfo {
    pub subject: String,
    /// With scope `phone`.
    pub phone: Option<PhoneNumber>,
}

/// `None` for an access token that is not live (unknown, expired, revoked).
pub async fn userinfo(app: &PollApp, access: &BearerValue) -> Result<Option<UserInfo>, AppError> {
    let now = app.clock.now();
    telemetry::record_token(&access.token);
    let Some(verification) = app.verifications.find(&access.token, now).await? else {
        return Ok(None);
    };
    let Some(grant) = verification
        .grant
        .as_ref()
        .filter(|g| g.serves(&access.secret, now))
    else {
        return Ok(None);
    };
    let phone = match &grant.sealed_phone {
        Some(sealed) => Some(open_sealed(app, sealed, &verification.token, now).await?),
        None => None,
    };
    Ok(Some(UserInfo {
        subject: grant.subject.clone(),
        phone,
    }))
}

async fn revoke(app: &PollApp, verification: &Verification) -> Result<(), AppError> {
    let Some(grant) = &verification.grant else {
        return Ok(());
    };
    if grant.state == GrantState::Revoked {
        return Ok(());
    }
    let mut next = verification.clone();
    next.grant = Some(Grant {
        state: GrantState::Revoked,
        ..grant.clone()
    });
    // A lost race is another write to the same grant; the next reuse revokes it.
    app.verifications
        .replace(verification.version, &next)
        .await?;
    info!(token = %verification.token, "code reused: its grant is revoked");
    Ok(())
}
