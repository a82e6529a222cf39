//! The event API Gateway's HTTP API (payload format 2.0) delivers for a request, built from
//! `aws_lambda_events`' own type and read back by `lambda_http` exactly as the Lambda runtime
//! reads it. The local server turns every TCP request into one; the tests and the benchmark
//! build theirs here too, so there is one notion of what API Gateway sends.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayV2httpRequest, ApiGatewayV2httpRequestContext,
    ApiGatewayV2httpRequestContextHttpDescription,
};
use lambda_http::http::header::{COOKIE, USER_AGENT};
use lambda_http::http::HeaderValue;
pub use lambda_http::http::{HeaderMap, Method};
use lambda_http::Request;

/// What a client sent, and from where.
pub struct HttpRequest<'a> {
    pub method: &'a Method,
    pub path: &'a str,
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    pub source_ip: &'a str,
    /// The API's domain as API Gateway names it in the request context.
    pub domain_name: &'a str,
    pub request_id: &'a str,
}

impl HttpRequest<'_> {
    /// The event, as a JSON value (tests change fields of it to build unusual events).
    pub fn to_event(&self) -> serde_json::Value {
        let mut headers = HeaderMap::new();
        let mut cookies = Vec::new();
        for (name, value) in self.headers {
            // An event's headers are JSON strings: a value that is not text (HTTP allows bytes
            // 0x80-0xFF) cannot be carried, and is left out rather than failing the request.
            let Ok(text) = value.to_str() else {
                continue;
            };
            if name == COOKIE {
                cookies.extend(text.split(';').map(|c| c.trim().to_owned()));
                continue;
            }
            // HTTP API joins repeated headers with commas.
            let joined = match headers.get(name) {
                Some(existing) => {
                    let mut both = existing.as_bytes().to_vec();
                    both.push(b',');
                    both.extend_from_slice(value.as_bytes());
                    HeaderValue::from_bytes(&both).unwrap_or_else(|_| value.clone())
                }
                None => value.clone(),
            };
            headers.insert(name, joined);
        }
        let (body, is_base64_encoded) = match std::str::from_utf8(self.body) {
            _ if self.body.is_empty() => (None, false),
            Ok(text) => (Some(text.to_owned()), false),
            Err(_) => (Some(STANDARD.encode(self.body)), true),
        };

        let mut http = ApiGatewayV2httpRequestContextHttpDescription::default();
        http.method = self.method.clone();
        http.path = Some(self.path.to_owned());
        http.protocol = Some("HTTP/1.1".into());
        http.source_ip = Some(self.source_ip.to_owned());
        http.user_agent = self
            .headers
            .get(USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut context = ApiGatewayV2httpRequestContext::default();
        context.route_key = Some("$default".into());
        context.account_id = Some("123456789012".into());
        context.stage = Some("$default".into());
        context.request_id = Some(self.request_id.to_owned());
        context.apiid = Some("smv".into());
        context.domain_name = Some(self.domain_name.to_owned());
        context.http = http;

        let mut event = ApiGatewayV2httpRequest::default();
        event.version = Some("2.0".into());
        event.route_key = Some("$default".into());
        event.raw_path = Some(self.path.to_owned());
        event.raw_query_string = Some(self.query.to_owned());
        event.cookies = (!cookies.is_empty()).then_some(cookies);
        event.headers = headers;
        event.request_context = context;
        event.body = body;
        event.is_base64_encoded = is_base64_encoded;

        let mut json = serde_json::to_value(&event).expect("an event serializes");
        // A payload-1.0 field the type keeps for authorizers; with it, the event would also read
        // as a REST API event.
        if let Some(fields) = json.as_object_mut() {
            fields.remove("httpMethod");
        }
        json
    }

    /// The `Request` a Lambda function would receive.
    pub fn to_request(&self) -> Result<Request, serde_json::Error> {
        parse(&self.to_event())
    }
}

/// An event as the Lambda runtime reads it.
pub fn parse(event: &serde_json::Value) -> Result<Request, serde_json::Error> {
    lambda_http::request::from_str(&event.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_value_that_is_not_text_is_left_out_not_a_panic() {
        let mut headers = HeaderMap::new();
        headers.insert("x-binary", HeaderValue::from_bytes(b"caf\xe9").unwrap());
        headers.insert("accept", HeaderValue::from_static("application/json"));
        let request = HttpRequest {
            method: &Method::GET,
            path: "/device-address",
            query: "",
            headers: &headers,
            body: b"",
            source_ip: "203.0.113.7",
            domain_name: "localhost",
            request_id: "r",
        };
        let event = request.to_event();
        assert!(event["headers"].get("x-binary").is_none(), "{event}");
        assert_eq!(event["headers"]["accept"], "application/json");
        assert!(request.to_request().is_ok());
    }
}
