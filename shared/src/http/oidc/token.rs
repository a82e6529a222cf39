//! The token endpoint (`POST /token`: the authorization code grant, with client authentication by
//! `client_secret_basic`, `client_secret_post` or `private_key_jwt`) and UserInfo (`GET` and
//! `POST /userinfo`, Bearer). Both answer OAuth's JSON errors, which relying-party libraries read.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use lambda_http::http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use lambda_http::http::{HeaderValue, StatusCode};
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::super::problem::oauth_error;
use super::super::refused::HttpError;
use super::super::request::{json_response, MAX_BODY_BYTES};
use super::{issuer, provider, registry_knowing};
use crate::app::PollApp;
use crate::binding::CodeVerifier;
use crate::oidc::clients::{AuthMethod, Client, Credential};
use crate::oidc::grant::BearerValue;
use crate::service::{self, ExchangeError};
use crate::time::Timestamp;

/// What a `private_key_jwt` client may sign its assertion with.
pub const ASSERTION_ALGORITHMS: [&str; 2] = ["ES256", "RS256"];
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// A client assertion is made for one request: one valid for longer is refused.
const MAX_ASSERTION_LIFETIME_SECS: u64 = 600;

/// A form body (`application/x-www-form-urlencoded`), each name at most once (RFC 6749 §3.2).
struct Form(Vec<(String, String)>);

impl Form {
    fn read(request: &Request) -> Result<Self, Refusal> {
        let essence = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase());
        let body = request.body().as_ref();
        match essence.as_deref() {
            Some("application/x-www-form-urlencoded") => {}
            None if body.is_empty() => {}
            _ => {
                return Err(invalid_request(
                    "the body must be application/x-www-form-urlencoded",
                ))
            }
        }
        if body.len() > MAX_BODY_BYTES {
            return Err(invalid_request("the body is too large"));
        }
        Ok(Self(
            url::form_urlencoded::parse(body).into_owned().collect(),
        ))
    }

    fn one(&self, name: &str) -> Result<Option<&str>, Refusal> {
        let mut found = self.0.iter().filter(|(n, _)| n == name);
        match (found.next(), found.next()) {
            (None, _) => Ok(None),
            (Some((_, value)), None) => Ok(Some(value)),
            _ => Err(invalid_request(&format!("{name} is given more than once"))),
        }
    }
}

/// An OAuth error answer, boxed: it travels up through `?` until a handler returns it.
type Refusal = Box<Response<Body>>;

fn invalid_request(description: &str) -> Refusal {
    Box::new(oauth_error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        description,
    ))
}

/// `invalid_client`: 401, with the challenge a client that used Basic expects (RFC 6749 §5.2).
fn invalid_client(basic: bool) -> Refusal {
    let mut response = oauth_error(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "client authentication failed",
    );
    if basic {
        response.headers_mut().insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"token\""),
        );
    }
    Box::new(response)
}

/// How the caller presented itself.
enum Presented {
    Basic { id: String, secret: String },
    Post { id: String, secret: String },
    Assertion { jwt: String },
}

fn presented(request: &Request, form: &Form) -> Result<Presented, Refusal> {
    let basic = match request.headers().get(AUTHORIZATION) {
        None => None,
        Some(value) => {
            let credentials = value
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Basic "))
                .and_then(|b64| STANDARD.decode(b64.trim()).ok())
                .and_then(|raw| String::from_utf8(raw).ok())
                .and_then(|text| {
                    let (id, secret) = text.split_once(':')?;
                    // RFC 6749 §2.3.1: each part form-urlencoded before the Basic encoding.
                    let decode = |s: &str| {
                        url::form_urlencoded::parse(format!("v={s}").as_bytes())
                            .next()
                            .map(|(_, v)| v.into_owned())
                    };
                    Some((decode(id)?, decode(secret)?))
                });
            Some(credentials.ok_or_else(|| invalid_client(true))?)
        }
    };
    let posted_secret = form.one("client_secret")?;
    let assertion = form.one("client_assertion")?;
    let id = form.one("client_id")?;
    match (basic, posted_secret, assertion) {
        (Some((id, secret)), None, None) => Ok(Presented::Basic { id, secret }),
        (None, Some(secret), None) => Ok(Presented::Post {
            id: id
                .ok_or_else(|| invalid_request("client_id is missing"))?
                .to_owned(),
            secret: secret.to_owned(),
        }),
        (None, None, Some(jwt)) if form.one("client_assertion_type")? == Some(JWT_BEARER) => {
            Ok(Presented::Assertion {
                jwt: jwt.to_owned(),
            })
        }
        (None, None, Some(_)) => Err(invalid_request(
            "client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        )),
        (None, None, None) => Err(invalid_client(false)),
        _ => Err(invalid_request(
            "use exactly one client authentication method",
        )),
    }
}

/// `POST /token`.
pub async fn token(app: &PollApp, request: &Request) -> Result<Response<Body>, HttpError> {
    let oidc = provider(app)?;
    let form = match Form::read(request) {
        Ok(form) => form,
        Err(refused) => return Ok(*refused),
    };
    match exchange(app, oidc, request, &form).await {
        Ok(answer) => Ok(answer),
        Err(Answer::Refused(answer)) => Ok(*answer),
        Err(Answer::Fault(error)) => Err(error),
    }
}

enum Answer {
    /// An OAuth error, as answered.
    Refused(Refusal),
    Fault(HttpError),
}

impl From<Refusal> for Answer {
    fn from(response: Refusal) -> Self {
        Self::Refused(response)
    }
}

impl<E: Into<HttpError>> From<E> for Answer {
    fn from(error: E) -> Self {
        Self::Fault(error.into())
    }
}

#[derive(Serialize)]
struct TokenBody<'a> {
    id_token: &'a str,
    access_token: &'a str,
    token_type: &'static str,
    expires_in: u64,
}

async fn exchange(
    app: &PollApp,
    oidc: &crate::app::OidcApp,
    request: &Request,
    form: &Form,
) -> Result<Response<Body>, Answer> {
    let presented = presented(request, form)?;
    let issuer = issuer(app, request)?;
    let client = authenticate(app, oidc, &presented, &issuer).await?;
    match form.one("grant_type")? {
        Some("authorization_code") => {}
        None => return Err(invalid_request("grant_type is missing").into()),
        Some(_) => {
            return Err(Answer::Refused(Box::new(oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "only authorization_code is supported",
            ))))
        }
    }
    let invalid_grant = |description: &str| -> Refusal {
        Box::new(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            description,
        ))
    };
    let code = form
        .one("code")?
        .ok_or_else(|| invalid_request("code is missing"))?;
    let code = BearerValue::parse(code)
        .ok_or_else(|| invalid_grant("the code is unknown, expired, or not this client's"))?;
    let verifier = form
        .one("code_verifier")?
        .ok_or_else(|| invalid_request("code_verifier is missing (PKCE is required)"))?;
    let verifier = CodeVerifier::parse(verifier)
        .map_err(|_| invalid_grant("code_verifier does not match the code's challenge"))?;
    let redirect_uri = form.one("redirect_uri")?;
    let tokens =
        match service::exchange(app, &client, &issuer, &code, redirect_uri, &verifier).await {
            Ok(tokens) => tokens,
            Err(ExchangeError::InvalidGrant(why)) => return Err(invalid_grant(why).into()),
            Err(ExchangeError::App(error)) => return Err(error.into()),
        };
    crate::telemetry::record_outcome("TOKENS_ISSUED");
    let mut response = json_response(
        StatusCode::OK,
        &TokenBody {
            id_token: &tokens.id_token,
            access_token: &tokens.access_token,
            token_type: "Bearer",
            expires_in: tokens.expires_in,
        },
    );
    response
        .headers_mut()
        .insert("pragma", HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// The registered client the caller proved it is, by the method it registered.
async fn authenticate(
    app: &PollApp,
    oidc: &crate::app::OidcApp,
    presented: &Presented,
    issuer: &str,
) -> Result<Client, Answer> {
    let (id, basic) = match presented {
        Presented::Basic { id, .. } => (Some(id.clone()), true),
        Presented::Post { id, .. } => (Some(id.clone()), false),
        Presented::Assertion { jwt } => (assertion_subject(jwt), false),
    };
    let registry = registry_knowing(app, oidc, id.as_deref()).await?;
    let Some(client) = id.as_deref().and_then(|id| registry.current.get(id)) else {
        return Err(invalid_client(basic).into());
    };
    let proven = match (presented, client.auth_method) {
        (Presented::Basic { secret, .. }, AuthMethod::ClientSecretBasic)
        | (Presented::Post { secret, .. }, AuthMethod::ClientSecretPost) => {
            client.secret_is(secret)
        }
        (Presented::Assertion { jwt }, AuthMethod::PrivateKeyJwt) => {
            verify_assertion(app, client, jwt, issuer).await?
        }
        _ => false,
    };
    match proven {
        true => Ok(client.clone()),
        false => Err(invalid_client(basic).into()),
    }
}

/// The `sub` (the client id) an assertion claims, before anything of it is trusted: only to
/// find the keys to check it with.
fn assertion_subject(jwt: &str) -> Option<String> {
    let payload = jwt.split('.').nth(1)?;
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    claims["sub"].as_str().map(str::to_owned)
}

#[derive(Deserialize)]
struct AssertionHeader {
    alg: String,
    kid: Option<String>,
}

#[derive(Deserialize)]
struct AssertionClaims {
    iss: String,
    sub: String,
    aud: Value,
    exp: u64,
    jti: String,
}

/// RFC 7523 §3: signed by one of the client's keys; `iss` and `sub` the client; `aud` the token
/// endpoint's URL or the issuer; not expired, not made to last; its `jti` never seen before.
async fn verify_assertion(
    app: &PollApp,
    client: &Client,
    jwt: &str,
    issuer: &str,
) -> Result<bool, Answer> {
    let Credential::Jwks(keys) = &client.credential else {
        return Ok(false);
    };
    let mut parts = jwt.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Ok(false);
    };
    let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).ok();
    let (Some(header_json), Some(claims_json), Some(signature)) =
        (decode(header), decode(payload), decode(signature))
    else {
        return Ok(false);
    };
    let (Ok(header_fields), Ok(claims)) = (
        serde_json::from_slice::<AssertionHeader>(&header_json),
        serde_json::from_slice::<AssertionClaims>(&claims_json),
    ) else {
        return Ok(false);
    };
    let signing_input = &jwt[..header.len() + 1 + payload.len()];
    let signed = keys
        .iter()
        .filter(|key| {
            header_fields.kid.is_none() || key["kid"].as_str() == header_fields.kid.as_deref()
        })
        .any(|key| {
            verifies(
                key,
                &header_fields.alg,
                signing_input.as_bytes(),
                &signature,
            )
        });
    if !signed {
        return Ok(false);
    }
    let now = app.clock.now();
    let now_secs = now.as_millis() / 1000;
    let token_endpoint = format!("{issuer}/token");
    let audience_ok = match &claims.aud {
        Value::String(aud) => *aud == token_endpoint || aud == issuer,
        Value::Array(auds) => auds
            .iter()
            .any(|a| a.as_str() == Some(&token_endpoint) || a.as_str() == Some(issuer)),
        _ => false,
    };
    let in_time = claims.exp > now_secs && claims.exp <= now_secs + MAX_ASSERTION_LIFETIME_SECS;
    let jti_ok = !claims.jti.is_empty() && claims.jti.len() <= 255;
    if !(claims.iss == client.id && claims.sub == client.id && audience_ok && in_time && jti_ok) {
        return Ok(false);
    }
    // A replayed assertion: its jti is counted once, until it expires.
    let key = format!("jti#{}#{}", client.id, claims.jti);
    let first = app
        .counters
        .increment_below(&key, 1, Timestamp::from_millis(claims.exp * 1000), now)
        .await?;
    Ok(first)
}

/// Whether `signature` over `input` verifies under the JWK `key` with `alg`.
fn verifies(key: &Value, alg: &str, input: &[u8], signature: &[u8]) -> bool {
    use ring::signature::{
        RsaPublicKeyComponents, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED,
        RSA_PKCS1_2048_8192_SHA256,
    };
    let field = |name: &str| {
        key[name]
            .as_str()
            .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
    };
    match (alg, key["kty"].as_str()) {
        ("ES256", Some("EC")) if key["crv"] == "P-256" => {
            let (Some(x), Some(y)) = (field("x"), field("y")) else {
                return false;
            };
            if x.len() != 32 || y.len() != 32 {
                return false;
            }
            let point = [&[0x04][..], &x, &y].concat();
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
                .verify(input, signature)
                .is_ok()
        }
        ("RS256", Some("RSA")) => {
            let (Some(n), Some(e)) = (field("n"), field("e")) else {
                return false;
            };
            RsaPublicKeyComponents { n: &n, e: &e }
                .verify(&RSA_PKCS1_2048_8192_SHA256, input, signature)
                .is_ok()
        }
        _ => false,
    }
}

#[derive(Serialize)]
struct UserInfoBody<'a> {
    sub: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_number_verified: Option<bool>,
}

/// RFC 6750 §3: the challenge, with `invalid_token` when a token was presented.
fn unauthorized(presented: bool) -> Response<Body> {
    let (challenge, error) = match presented {
        true => (
            "Bearer error=\"invalid_token\", error_description=\"the access token is not valid\"",
            "invalid_token",
        ),
        false => ("Bearer", "invalid_request"),
    };
    let mut response = oauth_error(
        StatusCode::UNAUTHORIZED,
        error,
        "a Bearer access token is required",
    );
    response.headers_mut().insert(
        WWW_AUTHENTICATE,
        HeaderValue::from_str(challenge).expect("a valid header value"),
    );
    response
}

/// `GET` and `POST /userinfo`: the access token in the `Authorization` header.
pub async fn userinfo(app: &PollApp, request: &Request) -> Result<Response<Body>, HttpError> {
    provider(app)?;
    if let Err(refused) = Form::read(request) {
        return Ok(*refused);
    }
    let Some(header) = request.headers().get(AUTHORIZATION) else {
        return Ok(unauthorized(false));
    };
    let Some(access) = header
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|t| BearerValue::parse(t.trim()))
    else {
        return Ok(unauthorized(true));
    };
    let Some(info) = service::userinfo(app, &access).await? else {
        return Ok(unauthorized(true));
    };
    crate::telemetry::record_outcome("USERINFO");
    Ok(json_response(
        StatusCode::OK,
        &UserInfoBody {
            sub: &info.subject,
            phone_number: info.phone.as_ref().map(|p| p.e164()),
            phone_number_verified: info.phone.as_ref().map(|_| true),
        },
    ))
}
