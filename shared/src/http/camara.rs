//! CAMARA's two routes. `GET /camara/return`: the static redirect URL the network-based flow
//! sends the device back to, with `code` and `state` (or `error` and `state`); JSON for an app's
//! web view that asks for it, else the verification page, as on SMV's return URL.
//! `POST /verifications/{token}/credential`: the SIM-based flow's `vp_token`, from the starter.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::{Deserialize, Serialize};

use super::refused::{HttpError, Refused};
use super::request::{json_body, json_response, wants_html, wants_json};
use super::routes::Params;
use super::web_page::{self, Mode};
use crate::app::PollApp;
use crate::binding::CodeVerifier;
use crate::device_return::{CamaraState, ReturnSecret};
use crate::error::AppError;
use crate::infobip::camara::Correlator;
use crate::method_policy::SilentMethod;
use crate::service::{self, CameBack};
use crate::sim_credential::VpToken;
use crate::token::Token;
use crate::verification::Status;

/// OAuth error codes are short snake_case words; anything else is kept as no code at all.
const MAX_ERROR_CODE: usize = 64;
/// An operator's authorization code is short; the bound keeps the whole return well under API
/// Gateway's 10 kB request line (the correlator type allows the SIM flow's longer `vp_token`).
const MAX_OAUTH_CODE: usize = 2048;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReturnedBody<'a> {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    device_code: Option<&'a str>,
}

pub async fn device_return(app: &PollApp, request: &Request) -> Result<Response<Body>, HttpError> {
    let query = request.query_string_parameters();
    let one = |name: &str| -> Result<Option<String>, AppError> {
        match query.all(name).as_deref() {
            None | Some([]) => Ok(None),
            Some([value]) => Ok(Some(value.to_string())),
            Some(_) => Err(AppError::InvalidRequest(format!("{name} is given twice"))),
        }
    };
    // A state we never issued is answered like any unknown path, without a storage call.
    let state = one("state")?
        .as_deref()
        .and_then(CamaraState::parse)
        .ok_or(Refused::NotFound)?;
    let issued = app
        .keys
        .returns
        .accepts(app.clock.now(), |key| {
            ReturnSecret::issued_under(&state.secret, key)
        })
        .await
        .map_err(AppError::from)?;
    if !issued {
        return Err(Refused::NotFound.into());
    }
    let came_back = match (one("code")?, one("error")?) {
        (Some(code), None) => CameBack::Code(
            Correlator::parse(&code)
                .filter(|_| code.len() <= MAX_OAUTH_CODE)
                .ok_or_else(|| {
                    AppError::InvalidRequest(format!(
                        "code is not one an operator gives (printable ASCII, at most {MAX_OAUTH_CODE} bytes)"
                    ))
                })?,
        ),
        (None, Some(error)) => CameBack::Error(oauth_code(&error)),
        _ => {
            return Err(AppError::InvalidRequest(
                "the operator's answer carries either code or error".into(),
            )
            .into())
        }
    };
    let returned = service::camara_return(app, state, came_back).await;
    if wants_json(request) {
        let returned = returned?;
        return Ok(json_response(
            StatusCode::OK,
            &ReturnedBody {
                status: returned.status.as_str(),
                device_code: returned.device_code.as_ref().map(|c| c.as_str()),
            },
        ));
    }
    match returned {
        Ok(returned) => match &returned.device_code {
            Some(code) => Ok(web_page::render(Mode::Returned(code), StatusCode::OK)),
            // The tab that started polls for what was recorded (and offers a PIN where allowed).
            None => Ok(web_page::render(Mode::Checked, StatusCode::OK)),
        },
        Err(AppError::DeviceCodeAlreadyShown) if wants_html(request) => {
            Ok(web_page::render(Mode::Gone, StatusCode::GONE))
        }
        Err(error) => Err(error.into()),
    }
}

/// The code as the operator sent it when it is one, else an empty code (which records
/// `CAMARA_AUTHORIZE_REFUSED`): nothing the operator typed reaches storage or the log.
fn oauth_code(raw: &str) -> String {
    let word =
        raw.len() <= MAX_ERROR_CODE && raw.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    match word {
        true => raw.to_owned(),
        false => String::new(),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CredentialBody {
    vp_token: String,
    code_verifier: String,
}

#[derive(Serialize)]
struct SubmittedBody<'a> {
    token: &'a str,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    method: Option<&'static str>,
}

pub async fn submit_credential(
    app: &PollApp,
    params: &Params,
    request: &Request,
) -> Result<Response<Body>, HttpError> {
    let token = Token::parse(params.get("token")?)?;
    let body: CredentialBody = json_body(request)?;
    let verifier = CodeVerifier::parse(&body.code_verifier)?;
    let vp_token = VpToken::parse(&body.vp_token).ok_or_else(|| {
        AppError::InvalidRequest(
            "vpToken is not a SIM's answer (printable ASCII, at most 8 KiB)".into(),
        )
    })?;
    let submitted = service::submit_credential(app, &token, &verifier, &vp_token).await?;
    Ok(json_response(
        StatusCode::OK,
        &SubmittedBody {
            token: token.as_str(),
            status: submitted.status.as_str(),
            method: (submitted.status == Status::Valid).then(|| SilentMethod::Sim.as_str()),
        },
    ))
}
