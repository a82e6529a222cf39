//! Cross-origin calls from the pages of allowed origins (`CORS_ALLOWED_ORIGINS`). Deployed, API
//! Gateway answers them from the template's `CorsConfiguration` (and then ignores CORS headers a
//! function sends); the local server answers the same way with this, so that a front end under
//! development on another port behaves as it will against the stack. The template test holds the
//! template to these constants.

use lambda_http::http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_METHOD, ORIGIN, VARY,
};
use lambda_http::http::{HeaderMap, HeaderValue, Method, Response, StatusCode};

pub const ALLOW_METHODS: &[&str] = &["GET", "POST"];
pub const ALLOW_HEADERS: &[&str] = &["content-type", "idempotency-key"];
pub const MAX_AGE_SECONDS: u64 = 600;

#[derive(Debug, Clone, Default)]
pub struct Cors {
    origins: Vec<String>,
}

impl Cors {
    /// Exact origins, as `config` reads them from `CORS_ALLOWED_ORIGINS`.
    pub fn new(origins: Vec<String>) -> Self {
        Self { origins }
    }

    /// The answer to a preflight (`OPTIONS` with `Access-Control-Request-Method`), when origins
    /// are configured: `204`, with the permissions only for an allowed origin (a browser then
    /// refuses the call from any other). `None` for anything else.
    pub fn preflight<B: Default>(
        &self,
        method: &Method,
        headers: &HeaderMap,
    ) -> Option<Response<B>> {
        if self.origins.is_empty()
            || method != Method::OPTIONS
            || !headers.contains_key(ACCESS_CONTROL_REQUEST_METHOD)
        {
            return None;
        }
        let mut response = Response::new(B::default());
        *response.status_mut() = StatusCode::NO_CONTENT;
        if let Some(origin) = self.allowed(headers) {
            let answer = response.headers_mut();
            answer.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            answer.insert(
                ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_str(&ALLOW_METHODS.join(",")).expect("a token list"),
            );
            answer.insert(
                ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_str(&ALLOW_HEADERS.join(",")).expect("a token list"),
            );
            answer.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from(MAX_AGE_SECONDS));
        }
        response
            .headers_mut()
            .insert(VARY, HeaderValue::from_static("origin"));
        Some(response)
    }

    /// Lets an allowed origin's page read `response`.
    pub fn allow<B>(&self, request: &HeaderMap, response: &mut Response<B>) {
        if let Some(origin) = self.allowed(request) {
            response
                .headers_mut()
                .insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            response
                .headers_mut()
                .append(VARY, HeaderValue::from_static("origin"));
        }
    }

    fn allowed(&self, headers: &HeaderMap) -> Option<HeaderValue> {
        let origin = headers.get(ORIGIN)?;
        let text = origin.to_str().ok()?;
        self.origins
            .iter()
            .any(|allowed| allowed == text)
            .then(|| origin.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (k.parse().unwrap(), HeaderValue::from_static(v)))
            .collect()
    }

    #[test]
    fn only_an_allowed_origin_gets_permissions() {
        let cors = Cors::new(vec!["https://shop.example.com".into()]);
        let asks = |origin| {
            headers(&[
                ("origin", origin),
                ("access-control-request-method", "POST"),
                ("access-control-request-headers", "content-type"),
            ])
        };
        let allowed: Response<()> = cors
            .preflight(&Method::OPTIONS, &asks("https://shop.example.com"))
            .unwrap();
        assert_eq!(allowed.status(), 204);
        assert_eq!(
            allowed.headers()[ACCESS_CONTROL_ALLOW_ORIGIN],
            "https://shop.example.com"
        );
        assert_eq!(
            allowed.headers()[ACCESS_CONTROL_ALLOW_HEADERS],
            "content-type,idempotency-key"
        );
        let refused: Response<()> = cors
            .preflight(
                &Method::OPTIONS,
                &asks("https://shop.example.com.evil.example"),
            )
            .unwrap();
        assert!(!refused.headers().contains_key(ACCESS_CONTROL_ALLOW_ORIGIN));
        assert!(cors
            .preflight::<()>(&Method::GET, &asks("https://shop.example.com"))
            .is_none());
        assert!(Cors::default()
            .preflight::<()>(&Method::OPTIONS, &asks("https://shop.example.com"))
            .is_none());
    }
}
