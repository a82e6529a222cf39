//! SIM-based CAMARA (GSMA TS.43, Android's Credential Manager): works over Wi-Fi. The start asks
//! Infobip's `/dcql` for a credential request over a nonce of ours, single use, and stores the
//! verification waiting for that nonce; the app hands the request to Credential Manager, the SIM
//! answers with a `vp_token`, and the starter (who alone holds the code verifier) submits it. The
//! `vp_token` is checked to answer this verification's nonce before Infobip's `/v2/verify` is
//! asked; it is never stored or logged. The SIM's answer plays the device code's part: the redeem
//! needs only the verifier and the number.

use tracing::info;

use super::camara::{record_start, sealed_number, CamaraStart};
use super::record_result;
use super::start::Started;
use crate::app::{PollApp, StartApp};
use crate::binding::{CodeVerifier, StartBinding};
use crate::camara_outcome;
use crate::device_return::ReturnSecret;
use crate::error::AppError;
use crate::infobip::camara::{CamaraFlow, NumberVerdict};
use crate::method_policy::SilentMethod;
use crate::phone::PhoneNumber;
use crate::phone_hash::PhoneHash;
use crate::sim_credential::{CarrierIds, VpToken};
use crate::telemetry;
use crate::token::Token;
use crate::verification::Status;

/// Asks Infobip for the credential request of the device's carriers and stores the verification.
/// When none of them can be asked, the verification is stored as ended (ERROR 9014 and the
/// like, "no evidence": a PIN may follow) and the start answers Infobip's refusal.
pub(super) async fn start_sim(
    app: &StartApp,
    phone: &PhoneNumber,
    phone_hash: &PhoneHash,
    binding: Option<StartBinding>,
    carriers: &CarrierIds,
) -> Result<Started, AppError> {
    // Only the holder of the verifier may submit the SIM's answer.
    let binding = binding.ok_or_else(|| {
        AppError::InvalidRequest(
            "a SIM-based start needs codeChallenge: the credential is submitted with its verifier"
                .into(),
        )
    })?;
    let now = app.clock.now();
    let token = Token::generate()?;
    let nonce = ReturnSecret::generate(&app.keys.returns.current(now).await?.current)?;
    let asked = app
        .camara
        .credential_request(nonce.expose(), carriers.as_slice())
        .await?;
    let start = CamaraStart {
        phone,
        phone_hash,
        method: SilentMethod::Sim,
        token,
        secret_hash: nonce.hash(),
        binding: Some(binding),
        return_hash: None,
    };
    let request = match asked {
        Ok(request) => request,
        Err(why) => {
            let error = camara_outcome::of_verdict(NumberVerdict::NoEvidence(why))
                .error()
                .cloned()
                .ok_or_else(|| AppError::internal("a CAMARA refusal without its error"))?;
            let refused = record_start(app, start, Some(error.clone())).await?;
            return Err(AppError::VerificationRefused {
                upstream_status: 422,
                token: Some(refused.token),
                error,
            });
        }
    };
    if !request.unresolved.is_empty() {
        info!(carriers = ?request.unresolved, "carriers Infobip could not resolve");
    }
    let verification = record_start(app, start, None).await?;
    Ok(Started {
        token: verification.token,
        status: Status::Pending,
        device_redirect_url: None,
        credential_request: Some(request.credentials),
        pending_until: verification.pending_until,
    })
}

/// The result of a submitted credential.
#[derive(Debug)]
pub struct Submitted {
    pub status: Status,
}

/// The starter submits the SIM's `vp_token`: its verifier first, then that the token answers
/// this verification's nonce, and only then one Infobip call and one conditional write.
pub async fn submit_credential(
    app: &PollApp,
    token: &Token,
    verifier: &CodeVerifier,
    vp_token: &VpToken,
) -> Result<Submitted, AppError> {
    let now = app.clock.now();
    telemetry::record_token(token);
    let verification = app
        .verifications
        .find(token, now)
        .await?
        .filter(|v| v.silent_method == SilentMethod::Sim)
        .ok_or(AppError::VerificationNotFound)?;
    let starter = verification
        .binding
        .as_ref()
        .is_some_and(|b| b.challenge.is_met_by(verifier));
    if !starter {
        return Err(AppError::CredentialRefused);
    }
    if verification.status(now) != Status::Pending {
        return Err(AppError::CredentialAlreadySubmitted);
    }
    // A SIM's answer for another verification's nonce (a replay) is refused before Infobip.
    if !vp_token.answers(&verification.secret_hash) {
        info!(token = %verification.token, "credential refused: not for this verification's nonce");
        return Err(AppError::CredentialRefused);
    }
    let phone = sealed_number(app, &verification, now).await?;
    let verdict = app
        .camara
        .verify(CamaraFlow::Sim, vp_token.correlator(), &phone)
        .await?;
    let result = camara_outcome::of_verdict(verdict);
    let now = app.clock.now();
    let Some(completed) = app
        .verifications
        .complete(&verification.token, &verification.secret_hash, &result, now)
        .await?
    else {
        return Err(AppError::CredentialAlreadySubmitted);
    };
    record_result(app.metrics.as_ref(), &completed);
    let status = completed.status(now);
    info!(token = %completed.token, status = status.as_str(), "SIM-based result recorded");
    Ok(Submitted { status })
}
