//! The loopback peers a function meets: a minimal Lambda Runtime API (`next`, `response`,
//! `error`, `init/error`), a keep-alive proxy in front of moto, and Infobip's verify endpoint.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::json;
use smv_shared::time::{Clock, SystemClock};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, Mutex};

pub(crate) type Reply = Response<Full<Bytes>>;

pub(crate) fn reply(status: StatusCode, body: impl Into<Bytes>) -> Reply {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response
}

pub(crate) async fn serve<F, Fut>(listener: TcpListener, handler: F)
where
    F: Fn(Request<hyper::body::Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Reply> + Send,
{
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let handler = handler.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let handler = handler.clone();
                async move { Ok::<_, Infallible>(handler(request).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// One pending invocation: the event and where its answer goes.
pub(crate) struct Invocation {
    pub(crate) id: String,
    pub(crate) event: String,
    pub(crate) answer: oneshot::Sender<Result<String, String>>,
}

/// The Lambda Runtime API, as much of it as a function uses.
pub(crate) struct RuntimeApi {
    pub(crate) invocations: Mutex<mpsc::Receiver<Invocation>>,
    pub(crate) waiting: Mutex<HashMap<String, oneshot::Sender<Result<String, String>>>>,
    pub(crate) first_next: Mutex<Option<oneshot::Sender<Instant>>>,
}

pub(crate) async fn runtime_api(
    api: Arc<RuntimeApi>,
    request: Request<hyper::body::Incoming>,
) -> Reply {
    let path = request.uri().path().to_owned();
    if path == "/2018-06-01/runtime/invocation/next" {
        if let Some(first) = api.first_next.lock().await.take() {
            let _ = first.send(Instant::now());
        }
        let Some(invocation) = api.invocations.lock().await.recv().await else {
            return reply(StatusCode::GONE, "");
        };
        api.waiting
            .lock()
            .await
            .insert(invocation.id.clone(), invocation.answer);
        let deadline = SystemClock.now().as_millis() + 30_000;
        let mut response = reply(StatusCode::OK, invocation.event);
        let headers = response.headers_mut();
        headers.insert(
            "lambda-runtime-aws-request-id",
            invocation.id.parse().unwrap(),
        );
        headers.insert(
            "lambda-runtime-deadline-ms",
            deadline.to_string().parse().unwrap(),
        );
        headers.insert(
            "lambda-runtime-invoked-function-arn",
            "arn:aws:lambda:eu-west-1:123456789012:function:bench"
                .parse()
                .unwrap(),
        );
        headers.insert(
            "lambda-runtime-trace-id",
            "Root=1-00000000-000000000000000000000000".parse().unwrap(),
        );
        return response;
    }
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let body = String::from_utf8_lossy(&body).into_owned();
    if path == "/2018-06-01/runtime/init/error" {
        eprintln!("init error: {body}");
        return reply(StatusCode::ACCEPTED, "");
    }
    let mut parts = path
        .trim_start_matches("/2018-06-01/runtime/invocation/")
        .splitn(2, '/');
    let (id, kind) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    if let Some(answer) = api.waiting.lock().await.remove(id) {
        let _ = answer.send(if kind == "response" {
            Ok(body)
        } else {
            Err(body)
        });
    }
    reply(StatusCode::ACCEPTED, "")
}

/// DynamoDB keeps its HTTPS connections open between calls; moto's server (werkzeug) closes each
/// connection after one response. The functions reach moto through this keep-alive proxy, so they
/// reuse their connection as they do on AWS, and their CPU figures do not include a TCP connect
/// and an HTTP handshake per DynamoDB call that a deployed function would not make.
pub(crate) async fn keep_alive_proxy(
    upstream: SocketAddr,
    request: Request<hyper::body::Incoming>,
) -> Reply {
    let forwarded = async {
        let stream = tokio::net::TcpStream::connect(upstream).await?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        let (parts, body) = request.into_parts();
        let body = body.collect().await?.to_bytes();
        let response = sender
            .send_request(Request::from_parts(parts, Full::new(body)))
            .await?;
        let (mut parts, body) = response.into_parts();
        parts.headers.remove(hyper::header::CONNECTION);
        let body = body.collect().await?.to_bytes();
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(Response::from_parts(
            parts,
            Full::new(body),
        ))
    };
    match forwarded.await {
        Ok(response) => response,
        Err(e) => reply(StatusCode::BAD_GATEWAY, e.to_string()),
    }
}

/// Infobip's verify endpoint, always accepting with a fresh token.
/// Infobip's answers: the SIM-swap check (a redeem asks it) says "not swapped"; a verify is
/// accepted with REDIRECT.
pub(crate) async fn fake_infobip(request: Request<hyper::body::Incoming>) -> Reply {
    let body = match request.uri().path() {
        "/mi/simswap/1/check" => json!({"requestId": "bench", "simSwapOccurred": false}),
        _ => {
            json!({"status": "REDIRECT", "token": uuid::Uuid::new_v4().to_string(), "deviceRedirectUrl": "https://mno.example/check"})
        }
    };
    let mut response = reply(StatusCode::OK, body.to_string());
    response
        .headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    response
}
