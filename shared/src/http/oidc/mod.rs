//! The OpenID Provider's routes (poll). Discovery, the authorization endpoint (the verification
//! page in a sign-in mode, or a refusal) and the page's request for the code; the token and
//! UserInfo endpoints are [`token`]'s.

pub mod token;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use lambda_http::http::header::{CACHE_CONTROL, LOCATION};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use url::Url;

use super::refused::{HttpError, Refused};
use super::request::{json_body, json_response, public_base_url};
use super::web_page::{self, Mode};
use crate::app::{OidcApp, PollApp};
use crate::binding::CodeVerifier;
use crate::error::AppError;
use crate::oidc::authorize::{
    self, AuthorizationRequest, Parameters, Refusal, Repeated, ACR_VALUES,
};
use crate::oidc::clients::{AuthMethod, Client, Registry, SCOPES};
use crate::phone::PhoneNumber;
use crate::service::{self, Redeem};
use crate::token::Token;

/// The provider's issuer: `ASSERTION_ISSUER`, or the API's public base URL (what relying parties
/// configure, and what discovery is under).
pub(super) fn issuer(app: &PollApp, request: &Request) -> Result<String, AppError> {
    Ok(match &app.config.assertions.policy.issuer {
        Some(issuer) => issuer.clone(),
        None => public_base_url(None, request)?
            .as_str()
            .trim_end_matches('/')
            .to_owned(),
    })
}

/// Where a relying party's sign-in is served: the provider's parts, or no such route.
pub(super) fn provider(app: &PollApp) -> Result<&OidcApp, HttpError> {
    app.oidc.as_ref().ok_or_else(|| Refused::NotFound.into())
}

/// The registry as it is now; a client it does not know makes it read again (at most every
/// 30 s), so a client just added works without waiting for the 5-minute refresh.
pub(super) async fn registry_knowing(
    app: &PollApp,
    oidc: &OidcApp,
    client_id: Option<&str>,
) -> Result<std::sync::Arc<crate::keys::KeyRing<Registry>>, AppError> {
    let now = app.clock.now();
    if let Some(id) = client_id {
        oidc.clients
            .accepts(now, |registry| registry.get(id).is_some())
            .await?;
    }
    Ok(oidc.clients.current(now).await?)
}

/// `GET /.well-known/openid-configuration` (OpenID Connect Discovery 1.0).
pub async fn discovery(app: &PollApp, request: &Request) -> Result<Response<Body>, HttpError> {
    provider(app)?;
    let issuer = issuer(app, request)?;
    let body = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "userinfo_endpoint": format!("{issuer}/userinfo"),
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "token_endpoint_auth_methods_supported": AuthMethod::ALL.map(AuthMethod::as_str),
        "token_endpoint_auth_signing_alg_values_supported": token::ASSERTION_ALGORITHMS,
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": SCOPES,
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "amr",
            "acr", "phone_number", "phone_number_verified", "sim_swap_checked_at"],
        "acr_values_supported": ACR_VALUES,
        "authorization_response_iss_parameter_supported": true,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "claims_parameter_supported": false,
    });
    let mut response = json_response(StatusCode::OK, &body);
    response.headers_mut().insert(
        CACHE_CONTROL,
        "public, max-age=300".parse().expect("a valid header value"),
    );
    Ok(response)
}

/// The query string, one value per name.
struct QueryParameters<'a>(&'a lambda_http::aws_lambda_events::query_map::QueryMap);

impl Parameters for QueryParameters<'_> {
    fn one(&self, name: &str) -> Result<Option<&str>, Repeated> {
        match self.0.all(name).as_deref() {
            None | Some([]) => Ok(None),
            Some([value]) => Ok(Some(value)),
            Some(_) => Err(Repeated),
        }
    }
}

/// The request the page sends back, as the JSON object of its parameters.
struct JsonParameters<'a>(&'a serde_json::Map<String, Value>);

impl Parameters for JsonParameters<'_> {
    fn one(&self, name: &str) -> Result<Option<&str>, Repeated> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(value)) => Ok(Some(value)),
            Some(_) => Err(Repeated),
        }
    }
}

/// What the page carries through the sign-in: the request to send back for the code, where a
/// refusal takes the user, the number to start with, whether a PIN may end it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SignIn<'a> {
    request: Value,
    deny: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    login_hint: Option<String>,
    pin_allowed: bool,
    client: &'a str,
}

/// `GET /authorize`.
pub async fn authorize(app: &PollApp, request: &Request) -> Result<Response<Body>, HttpError> {
    let oidc = provider(app)?;
    let query = request.query_string_parameters();
    let params = QueryParameters(&query);
    let client_id = params.one("client_id").ok().flatten();
    let registry = registry_knowing(app, oidc, client_id).await?;
    let issuer = issuer(app, request)?;
    match authorize::parse(&params, &registry.current) {
        Ok((checked, client)) => Ok(sign_in_page(&checked, &client, &issuer)),
        Err(Refusal::NoRedirect(why)) => {
            crate::telemetry::record_outcome("authorize-refused");
            Ok(web_page::render(
                Mode::Refused(&why),
                StatusCode::BAD_REQUEST,
            ))
        }
        Err(Refusal::Redirect {
            redirect_uri,
            state,
            error,
            description,
        }) => {
            crate::telemetry::record_outcome(error);
            let back = back_to(
                &redirect_uri,
                &[("error", error), ("error_description", &description)],
                state.as_deref(),
                &issuer,
            )?;
            Ok(found(&back))
        }
    }
}

fn sign_in_page(checked: &AuthorizationRequest, client: &Client, issuer: &str) -> Response<Body> {
    let request = json!({
        "response_type": "code",
        "client_id": checked.client_id,
        "redirect_uri": checked.redirect_uri,
        "scope": checked.scopes.join(" "),
        "state": checked.state,
        "nonce": checked.nonce.as_ref().map(|n| n.as_str()),
        "code_challenge": checked.code_challenge.as_str(),
        "code_challenge_method": "S256",
        "acr_values": checked.acr(),
    });
    let deny = back_to(
        &checked.redirect_uri,
        &[
            ("error", "access_denied"),
            ("error_description", "the number was not verified"),
        ],
        checked.state.as_deref(),
        issuer,
    )
    .map(|u| u.to_string())
    .unwrap_or_default();
    let sign_in = SignIn {
        request,
        deny,
        login_hint: checked.login_hint.as_ref().map(PhoneNumber::e164),
        pin_allowed: checked.pin_allowed,
        client: &client.id,
    };
    let blob = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&sign_in).unwrap_or_default());
    web_page::render(Mode::Authorize(&blob), StatusCode::OK)
}

/// The client's redirect URI with `parameters`, `state` (unchanged) and `iss` (RFC 9207) added
/// to whatever query it registered.
fn back_to(
    redirect_uri: &str,
    parameters: &[(&str, &str)],
    state: Option<&str>,
    issuer: &str,
) -> Result<Url, AppError> {
    let mut url = Url::parse(redirect_uri)
        .map_err(|_| AppError::internal("a registered redirect URI does not parse"))?;
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in parameters {
            query.append_pair(name, value);
        }
        if let Some(state) = state {
            query.append_pair("state", state);
        }
        query.append_pair("iss", issuer);
    }
    Ok(url)
}

fn found(to: &Url) -> Response<Body> {
    Response::builder()
        .status(StatusCode::FOUND)
        .header(LOCATION, to.as_str())
        .header(CACHE_CONTROL, "no-store")
        .header("referrer-policy", "no-referrer")
        .body(Body::Empty)
        .unwrap_or_else(|_| Response::new(Body::Empty))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CompleteBody {
    request: serde_json::Map<String, Value>,
    token: String,
    code_verifier: String,
    device_code: Option<String>,
    phone_number: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Completed {
    redirect_to: String,
}

/// `POST /authorize/complete`: the page, its verification VALID, asks for the relying party's
/// code. The request is checked again as `/authorize` checked it.
pub async fn complete(app: &PollApp, request: &Request) -> Result<Response<Body>, HttpError> {
    let oidc = provider(app)?;
    let body: CompleteBody = json_body(request)?;
    let params = JsonParameters(&body.request);
    let client_id = params.one("client_id").ok().flatten();
    let registry = registry_knowing(app, oidc, client_id).await?;
    let (checked, client) = authorize::parse(&params, &registry.current).map_err(|refusal| {
        let why = match refusal {
            Refusal::NoRedirect(why) => why,
            Refusal::Redirect { description, .. } => description,
        };
        AppError::InvalidRequest(format!("the sign-in request is not one to serve: {why}"))
    })?;
    let token = Token::parse(&body.token)?;
    let redeem = Redeem {
        verifier: CodeVerifier::parse(&body.code_verifier)?,
        device_code: body.device_code,
        phone: PhoneNumber::parse(&body.phone_number)?,
    };
    let code = service::grant_code(app, oidc, &checked, &client, &token, &redeem).await?;
    crate::telemetry::record_outcome("CODE_ISSUED");
    let back = back_to(
        &checked.redirect_uri,
        &[("code", &code)],
        checked.state.as_deref(),
        &issuer(app, request)?,
    )?;
    Ok(json_response(
        StatusCode::OK,
        &Completed {
            redirect_to: back.to_string(),
        },
    ))
}
