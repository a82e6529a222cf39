//! The local HTTP server. Each request becomes the API Gateway HTTP API (v2) event that API
//! Gateway would deliver, parsed by lambda_http itself, with the TCP peer as the source IP (and,
//! through `ConnectedPeer`, its port); then the handler of the function whose route it is, as
//! `smv_shared::handle` runs it in that function's Lambda binary.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use smv_shared::device_address::ConnectedPeer;
use smv_shared::http::cors::Cors;
use smv_shared::http::event::HttpRequest;
use smv_shared::http::Refused;
use smv_shared::{handle_by, AppError, Backend, Function};
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
    pub backend: Backend,
    pub simulator: Option<Arc<Simulator>>,
    pub concurrency: Concurrency,
    /// Answers cross-origin calls as the deployed API Gateway does.
    pub cors: Cors,
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

    async fn enter(&self, function: Option<Function>) -> Option<SemaphorePermit<'_>> {
        let semaphores = self.0.as_ref()?;
        let function = function?;
        let index = Function::ALL.iter().position(|f| *f == function)?;
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
                let too_large = Refused::PayloadTooLarge {
                    limit: smv_shared::http::MAX_BODY_BYTES,
                };
                return into_hyper(smv_shared::http::error_response(&too_large.into()));
            }
        };
        if let Some(simulator) = &self.simulator {
            if let Some(response) = simulator.handle(&parts, &body).await {
                return response;
            }
        }
        // As API Gateway does with the template's CorsConfiguration.
        if let Some(preflight) = self.cors.preflight(&parts.method, &parts.headers) {
            return preflight;
        }
        // As API Gateway does (it refuses request lines over 10 kB), and because lambda_http
        // cannot represent a URI near 64 kB.
        let target = parts.uri.path_and_query().map_or(0, |p| p.as_str().len());
        if target > MAX_TARGET_BYTES {
            let too_long = Refused::UriTooLong {
                limit: MAX_TARGET_BYTES,
            };
            return into_hyper(smv_shared::http::error_response(&too_long.into()));
        }
        let host = parts
            .headers
            .get(hyper::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        let event = HttpRequest {
            method: &parts.method,
            path: parts.uri.path(),
            query: parts.uri.query().unwrap_or_default(),
            headers: &parts.headers,
            body: &body,
            source_ip: &peer.ip().to_string(),
            domain_name: host,
            request_id: &uuid::Uuid::new_v4().to_string(),
        };
        let mut request = match event.to_request() {
            Ok(request) => request,
            Err(_) => {
                let bad = AppError::InvalidRequest("the request could not be read".into());
                return into_hyper(smv_shared::http::error_response(&bad.into()));
            }
        };
        request.extensions_mut().insert(ConnectedPeer(peer));
        let function = Function::serving(&smv_shared::http::request_path(&request));
        let _turn = self.concurrency.enter(function).await;
        let mut response = handle_by(&self.backend, function, request).await;
        self.cors.allow(&parts.headers, &mut response);
        into_hyper(response)
    }
}

fn into_hyper(response: lambda_http::Response<lambda_http::Body>) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = response.into_parts();
    let bytes = Bytes::copy_from_slice(body.as_ref());
    hyper::Response::from_parts(parts, Full::new(bytes))
}
