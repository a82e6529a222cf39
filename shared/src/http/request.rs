//! Reading requests and writing successful responses; shared by every handler.

use super::refused::{HttpError, Refused};
use lambda_http::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use lambda_http::http::StatusCode;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use url::Url;

use crate::error::AppError;

/// Bodies we accept are a few dozen bytes; anything near this is not one of ours.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The route path, without the stage prefix that an HTTP API puts in `rawPath` for named stages.
pub fn path(request: &Request) -> String {
    let raw = request.raw_http_path();
    let path = if raw.is_empty() {
        request.uri().path()
    } else {
        raw
    };
    if let Some(RequestContext::ApiGatewayV2(context)) = request.request_context_ref() {
        if let Some(stage) = context
            .stage
            .as_deref()
            .filter(|s| *s != "$default" && !s.is_empty())
        {
            if let Some(rest) = path.strip_prefix('/').and_then(|p| p.strip_prefix(stage)) {
                if rest.starts_with('/') {
                    return rest.to_owned();
                }
            }
        }
    }
    path.to_owned()
}

/// A JSON body, checked before it is parsed: size, content type (required), presence.
pub fn json_body<T: DeserializeOwned>(request: &Request) -> Result<T, HttpError> {
    // Required, not merely checked when present: a web page can send a body without a
    // Content-Type (`fetch` with `mode: "no-cors"` and a Blob) and so without a CORS preflight,
    // which would let any site start verifications from its visitors' phones.
    if !declares_json(request) {
        return Err(Refused::UnsupportedMediaType.into());
    }
    json_object(request)
}

/// A JSON body whatever its declared type: for a caller a secret in its URL authenticates
/// (Infobip's callback), which no page can forge, and whose result is worse lost than read.
pub fn json_body_of_any_type<T: DeserializeOwned>(request: &Request) -> Result<T, HttpError> {
    json_object(request)
}

fn declares_json(request: &Request) -> bool {
    let essence = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The body as one JSON object of the documented shape, within the size we accept.
fn json_object<T: DeserializeOwned>(request: &Request) -> Result<T, HttpError> {
    let bytes: &[u8] = request.body().as_ref();
    if bytes.len() > MAX_BODY_BYTES {
        return Err(Refused::PayloadTooLarge {
            limit: MAX_BODY_BYTES,
        }
        .into());
    }
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        None => return Err(invalid("the request body is missing; send a JSON object")),
        // serde would also read a struct from a JSON array of its fields in order; only the
        // documented shape is accepted.
        Some(b'{') => {}
        Some(_) => return Err(invalid("the request body must be a JSON object")),
    }
    serde_json::from_slice(bytes)
        .map_err(|e| invalid(&format!("the request body is not valid: {e}")))
}

fn invalid(detail: &str) -> HttpError {
    AppError::InvalidRequest(detail.to_owned()).into()
}

/// Our public base URL: where Infobip calls back, where devices return, the assertions' issuer.
/// Configured, or derived from what API Gateway (not the client) says about the API: a `Host`
/// header is the client's word, and a callback URL pointing at an attacker's host would hand them
/// the secret to report any result they like.
pub fn public_base_url(configured: Option<&Url>, request: &Request) -> Result<Url, AppError> {
    if let Some(url) = configured {
        return Ok(url.clone());
    }
    let (domain, stage) = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(c)) => (c.domain_name.as_deref(), c.stage.as_deref()),
        Some(RequestContext::ApiGatewayV2(c)) => (c.domain_name.as_deref(), c.stage.as_deref()),
        _ => (None, None),
    };
    let not_derivable = || {
        AppError::internal("the public base URL (CALLBACK_BASE_URL, ASSERTION_ISSUER) is not set and the request has no API Gateway domain to derive it from")
    };
    let domain = domain.filter(|d| !d.is_empty()).ok_or_else(not_derivable)?;
    let mut url = Url::parse(&format!("https://{domain}/")).map_err(|_| not_derivable())?;
    if url.host_str() != Some(domain) {
        return Err(not_derivable());
    }
    // Only the default execute-api domain carries the stage in its paths; a custom domain maps
    // stages through base paths that the event does not describe (set CALLBACK_BASE_URL there).
    let default_domain = domain.contains(".execute-api.") && domain.ends_with(".amazonaws.com");
    if let Some(stage) = stage.filter(|s| default_domain && *s != "$default" && !s.is_empty()) {
        if !stage
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(not_derivable());
        }
        url.set_path(stage);
    }
    Ok(url)
}

pub fn json_response(status: StatusCode, body: &impl Serialize) -> Response<Body> {
    let json = serde_json::to_string(body).unwrap_or_else(|_| "{}".to_owned());
    Response::builder()
        .status(status)
        .header(CONTENT_TYPE, "application/json")
        // Verification state is per user and changes: no cache on the way may keep it.
        .header(CACHE_CONTROL, "no-store")
        .body(Body::Text(json))
        .unwrap_or_else(|_| Response::new(Body::Empty))
}

/// Refuses a start that a browser says comes from another site (`Sec-Fetch-Site: cross-site` or
/// `same-site`), unless its `Origin` is one the deployment allows: a page on any site could
/// otherwise start billed verifications from every visitor's phone. Apps send no such header.
pub fn refuse_cross_site(request: &Request, allowed_origins: &[String]) -> Result<(), AppError> {
    let header = |name| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let from_another_site = matches!(header("sec-fetch-site"), Some("cross-site" | "same-site"));
    if !from_another_site {
        return Ok(());
    }
    match header("origin") {
        Some(origin) if allowed_origins.iter().any(|allowed| allowed == origin) => Ok(()),
        _ => Err(AppError::CrossSiteStart),
    }
}

/// Whether the caller asks for JSON (an app's web view) rather than the page.
pub(super) fn wants_json(request: &Request) -> bool {
    accepts(request, "application/json")
}

pub(super) fn wants_html(request: &Request) -> bool {
    accepts(request, "text/html")
}

fn accepts(request: &Request, media_type: &str) -> bool {
    request
        .headers()
        .get(lambda_http::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains(media_type))
}
