//! The local HTTP server. Each request becomes the API Gateway HTTP API (v2) event that API
//! Gateway would deliver, parsed by lambda_http itself, with the TCP peer as the source IP (and,
//! through `ConnectedPeer`, its port); then the same `smv_shared::handle` the Lambda functions run.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use lambda_http::http::Method;
use serde_json::{json, Map, Value};
use smv_shared::device_address::ConnectedPeer;
use smv_shared::http::Route;
use smv_shared::{handle, App, AppError, Function};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, SemaphorePermit};
use tracing::debug;

use crate::simulator::Simulator;

/// Far above any body the handlers accept (they refuse more than 16 KiB with a 413 of their
/// own); this only stops a client from making the server buffer without limit.
const MAX_REQUEST_BYTES: usize = 1024 * 1024;
/// The longest path and query accepted: what fits in API Gateway's 10 kB request line.
const MAX_TARGET_BYTES: usize = 8 * 1024;

pub struct Server {
    pub app: App,
    pub simulator: Option<Arc<Simulator>>,
    pub concurrency: Concurrency,
}

/// How many requests each function serves at once, as a Lambda function's concurrency limit
/// would cap it; further requests wait their turn. Unlimited unless `LOCAL_CONCURRENCY` is set:
/// a slow local DynamoDB (moto serves about a hundred calls a second) is then fed at a pace it can
/// answer within the SDK's timeouts, instead of every caller timing out together.
pub struct Concurrency(Option<[Semaphore; 3]>);

impl Concurrency {
    pub fn unlimited() -> Self {
        Self(None)
    }

    pub fn per_function(limit: usize) -> Self {
        Self(Some([
            Semaphore::new(limit),
            Semaphore::new(limit),
            Semaphore::new(limit),
        ]))
    }

    async fn enter(&self, method: &Method, path: &str) -> Option<SemaphorePermit<'_>> {
        let semaphores = self.0.as_ref()?;
        let index = match Route::parse(method, path).ok()?.owner() {
            Function::StartVerify | Function::All => 0,
            Function::Callback => 1,
            Function::Poll => 2,
        };
        semaphores[index].acquire().await.ok()
    }
}

impl Server {
    pub async fn serve(self: Arc<Self>, listener: TcpListener) -> std::io::Result<()> {
        loop {
            let (stream, peer) = listener.accept().await?;
            let server = Arc::clone(&self);
            tokio::spawn(async move {
                let service = service_fn(move |request| {
                    let server = Arc::clone(&server);
                    async move { Ok::<_, Infallible>(server.respond(request, peer).await) }
                });
                if let Err(e) = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await
                {
                    debug!(error = %e, "connection ended with an error");
                }
            });
        }
    }

    async fn respond(
        &self,
        request: hyper::Request<Incoming>,
        peer: SocketAddr,
    ) -> hyper::Response<Full<Bytes>> {
        let (parts, body) = request.into_parts();
        let body = match Limited::new(body, MAX_REQUEST_BYTES).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(_) => {
                let too_large = AppError::PayloadTooLarge {
                    limit: smv_shared::http::MAX_BODY_BYTES,
                };
                return into_hyper(smv_shared::http::error_response(&too_large));
            }
        };
        if let Some(simulator) = &self.simulator {
            if let Some(response) = simulator.handle(&parts, &body).await {
                return response;
            }
        }
        // As API Gateway does (it refuses request lines over 10 kB), and because lambda_http
        // cannot represent a URI near 64 kB.
        let target = parts.uri.path_and_query().map_or(0, |p| p.as_str().len());
        if target > MAX_TARGET_BYTES {
            let too_long = AppError::UriTooLong {
                limit: MAX_TARGET_BYTES,
            };
            return into_hyper(smv_shared::http::error_response(&too_long));
        }
        let event = http_api_event(&parts, &body, peer);
        let mut request = match lambda_http::request::from_str(&event.to_string()) {
            Ok(request) => request,
            Err(_) => {
                let bad = AppError::BadRequest("the request could not be read".into());
                return into_hyper(smv_shared::http::error_response(&bad));
            }
        };
        request.extensions_mut().insert(ConnectedPeer(peer));
        let _turn = self
            .concurrency
            .enter(request.method(), &smv_shared::http::request_path(&request))
            .await;
        into_hyper(handle(&self.app, Function::All, request).await)
    }
}

/// The event API Gateway's HTTP API would send for this request.
fn http_api_event(parts: &hyper::http::request::Parts, body: &[u8], peer: SocketAddr) -> Value {
    let mut headers = Map::new();
    let mut cookies = Vec::new();
    for (name, value) in &parts.headers {
        let Ok(value) = value.to_str() else { continue };
        if name == hyper::header::COOKIE {
            cookies.extend(value.split(';').map(|c| json!(c.trim())));
            continue;
        }
        // HTTP API joins repeated headers with commas.
        match headers.get_mut(name.as_str()) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(value);
            }
            _ => {
                headers.insert(name.as_str().to_owned(), json!(value));
            }
        }
    }
    let (body, is_base64) = match std::str::from_utf8(body) {
        _ if body.is_empty() => (Value::Null, false),
        Ok(text) => (json!(text), false),
        Err(_) => (json!(STANDARD.encode(body)), true),
    };
    let path = parts.uri.path();
    let host = parts
        .headers
        .get(hyper::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": parts.uri.query().unwrap_or_default(),
        "cookies": cookies,
        "headers": headers,
        "requestContext": {
            "accountId": "local",
            "apiId": "smv-local",
            "domainName": host,
            "http": {
                "method": parts.method.as_str(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": peer.ip().to_string(),
                "userAgent": headers.get("user-agent").cloned().unwrap_or(json!("")),
            },
            "requestId": uuid::Uuid::new_v4().to_string(),
            "routeKey": "$default",
            "stage": "$default",
            "time": "",
            "timeEpoch": 0
        },
        "body": body,
        "isBase64Encoded": is_base64
    })
}

fn into_hyper(response: lambda_http::Response<lambda_http::Body>) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = response.into_parts();
    let bytes = Bytes::copy_from_slice(body.as_ref());
    hyper::Response::from_parts(parts, Full::new(bytes))
}
