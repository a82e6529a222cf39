//! A DynamoDB endpoint that misbehaves on request: an HTTP proxy in front of the test DynamoDB
//! server (moto) that answers chosen operations with the errors DynamoDB really sends, or not at
//! all. The product's SDK client, retries and timeouts all run as in production.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 400 ProvisionedThroughputExceededException: retried by the SDK.
    Throttled,
    /// 500 InternalServerError.
    InternalError,
    /// 503 ServiceUnavailable.
    Unavailable,
    /// No answer within any timeout.
    Hang,
    /// The request reaches DynamoDB and is applied, but its answer never comes back (a network
    /// fault or a slow answer past the SDK's attempt timeout): the SDK retries a write that
    /// already happened.
    AnswerLost,
}

#[derive(Default)]
struct Plan {
    /// Operation (`PutItem`, `UpdateItem`, ...) → fault and how many more requests get it.
    faults: HashMap<String, (Fault, u32)>,
    /// Every action that reached the proxy (`dynamodb:PutItem`, `kms:Sign`), in order.
    seen: Vec<String>,
}

#[derive(Clone)]
pub struct FaultyDynamoDb {
    pub endpoint: String,
    plan: Arc<Mutex<Plan>>,
}

impl FaultyDynamoDb {
    pub async fn start(upstream: String) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let plan = Arc::new(Mutex::new(Plan::default()));
        let client = reqwest::Client::new();
        let shared = plan.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (plan, client, upstream) = (shared.clone(), client.clone(), upstream.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        forward(request, plan.clone(), client.clone(), upstream.clone())
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { endpoint, plan }
    }

    /// The next `times` requests for `operation` get `fault` (every SDK attempt counts).
    pub fn inject(&self, operation: &str, fault: Fault, times: u32) {
        self.plan
            .lock()
            .unwrap()
            .faults
            .insert(operation.to_owned(), (fault, times));
    }

    pub fn clear(&self) {
        self.plan.lock().unwrap().faults.clear();
    }

    pub fn seen(&self) -> Vec<String> {
        self.plan.lock().unwrap().seen.clone()
    }
}

async fn forward(
    request: hyper::Request<Incoming>,
    plan: Arc<Mutex<Plan>>,
    client: reqwest::Client,
    upstream: String,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let target = request
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let (service, operation) = target.split_once('.').unwrap_or_default();
    let operation = operation.to_owned();
    // As IAM names it: `dynamodb:PutItem`, `kms:Sign`.
    let action = match service {
        "TrentService" => format!("kms:{operation}"),
        "secretsmanager" => format!("secretsmanager:{operation}"),
        _ => format!("dynamodb:{operation}"),
    };
    let fault = {
        let mut plan = plan.lock().unwrap();
        plan.seen.push(action);
        match plan.faults.get_mut(&operation) {
            Some((fault, left)) if *left > 0 => {
                *left -= 1;
                Some(*fault)
            }
            _ => None,
        }
    };
    let error = |status: u16, kind: &str| {
        let body = format!(
            r#"{{"__type":"com.amazonaws.dynamodb.v20120810#{kind}","message":"injected by the test"}}"#
        );
        Ok(hyper::Response::builder()
            .status(status)
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amzn-requestid", "fault-injection")
            .body(Full::new(Bytes::from(body)))
            .unwrap())
    };
    match fault {
        Some(Fault::Throttled) => return error(400, "ProvisionedThroughputExceededException"),
        Some(Fault::InternalError) => return error(500, "InternalServerError"),
        Some(Fault::Unavailable) => return error(503, "ServiceUnavailable"),
        Some(Fault::Hang) => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            return error(500, "InternalServerError");
        }
        Some(Fault::AnswerLost) | None => {}
    }
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let mut upstream_request = client.post(&upstream).body(body);
    for (name, value) in &parts.headers {
        if name != "host" && name != "content-length" {
            upstream_request = upstream_request.header(name.as_str(), value.as_bytes());
        }
    }
    let answer = upstream_request.send().await.unwrap();
    if fault == Some(Fault::AnswerLost) {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
    let mut response = hyper::Response::builder().status(answer.status().as_u16());
    for (name, value) in answer.headers() {
        if name != "content-length" && name != "transfer-encoding" && name != "connection" {
            response = response.header(name.as_str(), value.as_bytes());
        }
    }
    let bytes = answer.bytes().await.unwrap_or_default();
    Ok(response.body(Full::new(bytes)).unwrap())
}
