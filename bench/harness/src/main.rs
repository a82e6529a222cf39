//! The benchmark harness (`scripts/bench` builds and runs it). Each Lambda function's release
//! binary runs under a minimal emulator of the Lambda Runtime API on loopback
//! (`/2018-06-01/runtime/invocation/next`, `/response`, `/error`, `/init/error`), with DynamoDB
//! served by moto and Infobip faked on loopback. For each function it measures init time (process
//! start to the first `next`), first-invocation latency, warm latency p50/p99, CPU time per warm
//! invocation (the function's own process, every thread), peak RSS, binary and zipped size; and
//! the same for a hello-world lambda_http function, the floor every figure is a ratio to.
//!
//! Usage: smv-bench DYNAMODB_ENDPOINT BIN_DIR [WARM_INVOCATIONS [FUNCTION...]]
//! (naming functions measures only those and the floor, for profiling one of them)

use std::collections::HashMap;
use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use smv_shared::binding::CodeChallenge;
use smv_shared::phone::PhoneNumber;
use smv_shared::phone_hash::PhoneHashKey;
use smv_shared::store::{DynamoDbStore, Verifications};
use smv_shared::time::{Clock, SystemClock};
use smv_shared::token::{Token, UrlSecret};
use smv_shared::verification::{Binding, Lifetimes, State, Verification, VerificationResult};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, Mutex};

// Init times of a millisecond or two move with everything else on the machine: a median of many.
const COLD_STARTS: usize = 31;
/// Measured beside the floor, exempt from the budgets: what one DynamoDB call costs by itself.
const REFERENCE: &str = "plain GetItem (reference)";
const BENCH_PHONE: &str = "+447911123456";
const BENCH_PHONE_HASH_KEY: &str = "bench-phone-hash-key-0123456789abcdef";
/// RFC 7636 Appendix B.
const RFC_7636_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const RFC_7636_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const BUDGET_INIT_RATIO: f64 = 1.5;
const BUDGET_CPU_RATIO: f64 = 2.0;
const BUDGET_RSS_MB: f64 = 16.0;
const BUDGET_ZIPPED_MB: f64 = 3.0;

type Reply = Response<Full<Bytes>>;

fn reply(status: StatusCode, body: impl Into<Bytes>) -> Reply {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response
}

async fn serve<F, Fut>(listener: TcpListener, handler: F)
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
struct Invocation {
    id: String,
    event: String,
    answer: oneshot::Sender<Result<String, String>>,
}

/// The Lambda Runtime API, as much of it as a function uses.
struct RuntimeApi {
    invocations: Mutex<mpsc::Receiver<Invocation>>,
    waiting: Mutex<HashMap<String, oneshot::Sender<Result<String, String>>>>,
    first_next: Mutex<Option<oneshot::Sender<Instant>>>,
}

async fn runtime_api(api: Arc<RuntimeApi>, request: Request<hyper::body::Incoming>) -> Reply {
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
async fn keep_alive_proxy(upstream: SocketAddr, request: Request<hyper::body::Incoming>) -> Reply {
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
async fn fake_infobip(_: Request<hyper::body::Incoming>) -> Reply {
    let body = json!({"status": "REDIRECT", "token": uuid::Uuid::new_v4().to_string(), "deviceRedirectUrl": "https://mno.example/check"});
    let mut response = reply(StatusCode::OK, body.to_string());
    response
        .headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    response
}

fn http_api_event(method: &str, path: &str, body: Option<&str>) -> String {
    let mut headers = smv_shared::http::event::HeaderMap::new();
    headers.insert("content-type", "application/json".parse().unwrap());
    headers.insert("user-agent", "bench".parse().unwrap());
    smv_shared::http::event::HttpRequest {
        method: &method.parse().unwrap(),
        path,
        query: "",
        headers: &headers,
        body: body.unwrap_or_default().as_bytes(),
        source_ip: "203.0.113.25",
        domain_name: "bench.execute-api.eu-west-1.amazonaws.com",
        request_id: &uuid::Uuid::new_v4().to_string(),
    }
    .to_event()
    .to_string()
}

struct Subject {
    name: &'static str,
    binary: PathBuf,
    env: Vec<(String, String)>,
    /// The i-th invocation's event and the status it must answer.
    event: Box<dyn Fn(usize) -> String>,
    expected_status: u16,
}

#[derive(Default, Clone)]
struct Figures {
    init: Duration,
    first: Duration,
    p50: Duration,
    p99: Duration,
    cpu_per_invocation: Duration,
    peak_rss_kb: u64,
    binary_bytes: u64,
    zipped_bytes: u64,
}

fn cpu_time(pid: u32) -> Duration {
    // schedstat's first field: nanoseconds on CPU, per thread; summed over the process's threads.
    let mut total = 0u64;
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.flatten() {
            if let Ok(stat) = std::fs::read_to_string(task.path().join("schedstat")) {
                total += stat
                    .split_whitespace()
                    .next()
                    .and_then(|n| n.parse::<u64>().ok())
                    .unwrap_or(0);
            }
        }
    }
    Duration::from_nanos(total)
}

fn peak_rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn zipped_size(binary: &Path) -> u64 {
    let bytes = std::fs::read(binary).unwrap();
    let mut encoder =
        flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(&bytes).unwrap();
    // A zip adds ~100 bytes of headers around the deflated file.
    encoder.finish().unwrap().len() as u64 + 100
}

/// One process lifetime: returns init, first-invocation latency and, when `warm` > 0, the rest.
async fn run_once(subject: &Subject, warm: usize, offset: usize) -> Figures {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (submit, invocations) = mpsc::channel(1);
    let (first_tx, first_rx) = oneshot::channel();
    let api = Arc::new(RuntimeApi {
        invocations: Mutex::new(invocations),
        waiting: Mutex::new(HashMap::new()),
        first_next: Mutex::new(Some(first_tx)),
    });
    let server = tokio::spawn(serve(listener, move |r| runtime_api(Arc::clone(&api), r)));

    let spawned = Instant::now();
    let mut child = tokio::process::Command::new(&subject.binary)
        .envs(subject.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", subject.binary.display()));
    let pid = child.id().unwrap();
    let first_next = tokio::time::timeout(Duration::from_secs(30), first_rx)
        .await
        .expect("init finished")
        .unwrap();
    let mut figures = Figures {
        init: first_next - spawned,
        ..Figures::default()
    };

    let invoke = |i: usize| {
        let submit = submit.clone();
        let event = (subject.event)(i);
        async move {
            let (answer, answered) = oneshot::channel();
            let sent = Instant::now();
            submit
                .send(Invocation {
                    id: uuid::Uuid::new_v4().to_string(),
                    event,
                    answer,
                })
                .await
                .unwrap();
            let body = answered
                .await
                .unwrap()
                .unwrap_or_else(|e| panic!("invocation failed: {e}"));
            (sent.elapsed(), body)
        }
    };
    let check = |body: &str| {
        let status = serde_json::from_str::<Value>(body)
            .ok()
            .and_then(|v| v["statusCode"].as_u64());
        assert_eq!(
            status,
            Some(u64::from(subject.expected_status)),
            "{}: {body}",
            subject.name
        );
    };

    let (first, body) = invoke(offset).await;
    check(&body);
    figures.first = first;
    if warm > 0 {
        let cpu_before = cpu_time(pid);
        let mut latencies = Vec::with_capacity(warm);
        for i in 1..=warm {
            let (latency, body) = invoke(offset + i).await;
            check(&body);
            latencies.push(latency);
        }
        figures.cpu_per_invocation = (cpu_time(pid) - cpu_before) / warm as u32;
        latencies.sort();
        figures.p50 = latencies[warm / 2];
        figures.p99 = latencies[(warm * 99).div_ceil(100) - 1];
        figures.peak_rss_kb = peak_rss_kb(pid);
    }
    let _ = child.kill().await;
    server.abort();
    figures
}

/// Init and first-invocation latency of every subject, cold-started in turns: the r-th start of
/// each runs beside the r-th start of the floor, so a slow spell of the machine weighs on both and
/// the ratios stay fair (measured one subject after the other, the floor's init moved by a third
/// between runs). Returns, per subject, the median init and first-invocation latency.
async fn cold_starts(subjects: &[&Subject]) -> Vec<(Duration, Duration)> {
    let mut samples = vec![(Vec::new(), Vec::new()); subjects.len()];
    for run in 0..COLD_STARTS {
        for (subject, (inits, firsts)) in subjects.iter().zip(&mut samples) {
            // Run r's first invocation uses verification r.
            let figures = run_once(subject, 0, run).await;
            inits.push(figures.init);
            firsts.push(figures.first);
        }
    }
    samples
        .into_iter()
        .map(|(mut inits, mut firsts)| {
            inits.sort();
            firsts.sort();
            (inits[COLD_STARTS / 2], firsts[COLD_STARTS / 2])
        })
        .collect()
}

/// The warm figures of one subject (its init and first invocation come from `cold_starts`).
async fn measure_warm(subject: &Subject, warm: usize) -> Figures {
    // Verifications 0..COLD_STARTS went to the cold starts; this run takes the ones after.
    let mut figures = run_once(subject, warm, COLD_STARTS).await;
    figures.binary_bytes = std::fs::metadata(&subject.binary).unwrap().len();
    figures.zipped_bytes = zipped_size(&subject.binary);
    figures
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 {
        format!("{:.2}x", a / b)
    } else {
        "-".into()
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (endpoint, bin_dir) = match (args.get(1), args.get(2)) {
        (Some(e), Some(b)) => (e.clone(), PathBuf::from(b)),
        _ => {
            eprintln!(
                "usage: smv-bench DYNAMODB_ENDPOINT BIN_DIR [WARM_INVOCATIONS [FUNCTION...]]"
            );
            std::process::exit(2);
        }
    };
    let warm: usize = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(1000);
    let only: Vec<&str> = args.iter().skip(4).map(String::as_str).collect();

    // DynamoDB: a table, and verifications for the callback and poll functions to find.
    let table = format!("smv-bench-{}", uuid::Uuid::new_v4().simple());
    let client = smv_shared::aws::Account::local(&endpoint).dynamodb();
    DynamoDbStore::create_table(&client, &table)
        .await
        .expect("table created");
    let store = DynamoDbStore::new(client, table.clone());
    let lifetimes = Lifetimes {
        pending_timeout: Duration::from_secs(3600),
        record_lifetime: Duration::from_secs(7200),
    };
    // One per cold start, then one for the warm run's first invocation and one per warm one.
    let total = COLD_STARTS + 1 + warm;
    let mut verifications = Vec::with_capacity(total);
    for _ in 0..total {
        let token = Token::parse(&uuid::Uuid::new_v4().to_string()).unwrap();
        let secret = UrlSecret::generate().unwrap();
        let v = Verification::pending(
            token.clone(),
            secret.hash(),
            "+44*******456".into(),
            SystemClock.now(),
            lifetimes,
        );
        store.create(&v).await.expect("verification stored");
        verifications.push((token, secret));
    }
    // VALID, bound to the RFC 7636 example challenge, in the Brazil OK flow (no device code):
    // one per redeem.
    let phone_hash_key = PhoneHashKey::new(BENCH_PHONE_HASH_KEY.as_bytes().to_vec()).unwrap();
    let phone = PhoneNumber::parse(BENCH_PHONE).unwrap();
    let mut redeemable = Vec::with_capacity(total);
    for _ in 0..total {
        let token = Token::parse(&uuid::Uuid::new_v4().to_string()).unwrap();
        let mut v = Verification::pending(
            token.clone(),
            UrlSecret::generate().unwrap().hash(),
            "+44*******456".into(),
            SystemClock.now(),
            lifetimes,
        )
        .bound_to(Binding {
            challenge: CodeChallenge::parse(RFC_7636_CHALLENGE, None).unwrap(),
            nonce: None,
            phone_hash: phone_hash_key.hash(&phone),
            return_hash: None,
        });
        v.state = State::Completed {
            result: VerificationResult::Valid,
            at: SystemClock.now(),
        };
        store.create(&v).await.expect("verification stored");
        redeemable.push(token);
    }
    // The key that signs assertions, in moto's KMS.
    let key_id = smv_shared::aws::Account::local(&endpoint)
        .create_assertion_key()
        .await
        .expect("KMS key created");
    let verifications = Arc::new(verifications);

    let moto: SocketAddr = endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .expect("DYNAMODB_ENDPOINT is http://IP:PORT");
    let proxy = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxied_endpoint = format!("http://{}", proxy.local_addr().unwrap());
    tokio::spawn(serve(proxy, move |r| keep_alive_proxy(moto, r)));

    let infobip = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let infobip_url = format!("http://{}", infobip.local_addr().unwrap());
    tokio::spawn(serve(infobip, fake_infobip));

    let common: Vec<(String, String)> = [
        ("AWS_LAMBDA_FUNCTION_NAME", "bench"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        ("AWS_REGION", "eu-west-1"),
        ("AWS_DEFAULT_REGION", "eu-west-1"),
        ("AWS_ACCESS_KEY_ID", "bench"),
        ("AWS_SECRET_ACCESS_KEY", "bench"),
        ("AWS_SESSION_TOKEN", "bench"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_ENDPOINT_URL_DYNAMODB", proxied_endpoint.as_str()),
        ("AWS_ENDPOINT_URL_KMS", proxied_endpoint.as_str()),
        ("AWS_LAMBDA_LOG_LEVEL", "info"),
        ("TABLE_NAME", table.as_str()),
        // Start-verify tags callback secrets with it, callback checks them; others ignore it.
        (
            "CALLBACK_SECRET_KEY",
            "bench-callback-secret-key-0123456789abcdef",
        ),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let with = |extra: &[(&str, &str)]| {
        let mut env = common.clone();
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        env
    };

    let poll_env = with(&[
        ("PHONE_HASH_KEY", BENCH_PHONE_HASH_KEY),
        ("ASSERTION_AUDIENCE", "https://rp.bench.example"),
        ("ASSERTION_KEY_ID", key_id.as_str()),
    ]);
    let (for_callback, for_poll, for_reference) = (
        Arc::clone(&verifications),
        Arc::clone(&verifications),
        Arc::clone(&verifications),
    );
    let subjects = [
        Subject {
            name: "hello-world (floor)",
            binary: bin_dir.join("bench-hello"),
            env: common.clone(),
            event: Box::new(|_| http_api_event("GET", "/", None)),
            expected_status: 200,
        },
        Subject {
            name: REFERENCE,
            binary: bin_dir.join("bench-getitem"),
            env: common.clone(),
            event: Box::new(move |i| {
                http_api_event(
                    "GET",
                    &format!("/verifications/{}", for_reference[i].0),
                    None,
                )
            }),
            expected_status: 200,
        },
        Subject {
            name: "start-verify",
            binary: bin_dir.join("start-verify"),
            env: with(&[
                ("INFOBIP_BASE_URL", infobip_url.as_str()),
                ("INFOBIP_API_KEY", "bench-key"),
                ("PHONE_HASH_KEY", BENCH_PHONE_HASH_KEY),
                // High enough never to refuse the benchmark's thousand starts of one number, so
                // each start still pays for its two counter updates as it does deployed.
                ("RATE_LIMIT_PER_PHONE", "1000000"),
                ("RATE_LIMIT_PER_IP", "1000000"),
                ("RATE_LIMIT_PER_PHONE_AND_IP", "1000000"),
                ("RATE_LIMIT_GLOBAL", "1000000"),
                ("CALLBACK_BASE_URL", "https://bench.example"),
            ]),
            event: Box::new(|_| {
                http_api_event(
                    "POST",
                    "/verifications",
                    Some(r#"{"phoneNumber":"+447911123456"}"#),
                )
            }),
            expected_status: 201,
        },
        Subject {
            name: "callback",
            binary: bin_dir.join("callback"),
            env: common.clone(),
            event: Box::new(move |i| {
                let (token, secret) = &for_callback[i];
                let body =
                    json!({"result": "VALID", "token": token.as_str(), "error": null}).to_string();
                http_api_event(
                    "POST",
                    &format!("/callbacks/infobip/{}", secret.expose()),
                    Some(&body),
                )
            }),
            expected_status: 200,
        },
        Subject {
            name: "poll",
            binary: bin_dir.join("poll"),
            env: poll_env.clone(),
            event: Box::new(move |i| {
                http_api_event("GET", &format!("/verifications/{}", for_poll[i].0), None)
            }),
            expected_status: 200,
        },
        Subject {
            name: "poll: redeem",
            binary: bin_dir.join("poll"),
            env: poll_env,
            event: Box::new(move |i| {
                let body = json!({"codeVerifier": RFC_7636_VERIFIER, "phoneNumber": BENCH_PHONE});
                http_api_event(
                    "POST",
                    &format!("/verifications/{}/assertion", redeemable[i]),
                    Some(&body.to_string()),
                )
            }),
            expected_status: 200,
        },
    ];

    let selected: Vec<&Subject> = subjects
        .iter()
        .filter(|subject| {
            let floor = subject.binary.ends_with("bench-hello") || subject.name == REFERENCE;
            floor || only.is_empty() || only.contains(&subject.name)
        })
        .collect();
    eprintln!(
        "cold-starting {} functions in turns ({COLD_STARTS} starts each)...",
        selected.len()
    );
    let colds = cold_starts(&selected).await;
    let mut results = Vec::new();
    for (subject, (init, first)) in selected.iter().zip(colds) {
        eprintln!("measuring {} ({warm} warm invocations)...", subject.name);
        let mut figures = measure_warm(subject, warm).await;
        figures.init = init;
        figures.first = first;
        results.push((subject.name, figures));
    }
    report(&results, warm);
}

fn report(results: &[(&str, Figures)], warm: usize) {
    let floor = &results[0].1;
    println!("| function | init ms | first invocation ms | warm p50 ms | warm p99 ms | CPU µs / warm invocation | peak RSS MB | binary MB | zipped MB |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for (name, f) in results {
        println!(
            "| {name} | {} ({}) | {} ({}) | {} ({}) | {} ({}) | {:.0} ({}) | {:.1} ({}) | {:.2} ({}) | {:.2} ({}) |",
            ms(f.init), ratio(f.init.as_secs_f64(), floor.init.as_secs_f64()),
            ms(f.first), ratio(f.first.as_secs_f64(), floor.first.as_secs_f64()),
            ms(f.p50), ratio(f.p50.as_secs_f64(), floor.p50.as_secs_f64()),
            ms(f.p99), ratio(f.p99.as_secs_f64(), floor.p99.as_secs_f64()),
            f.cpu_per_invocation.as_secs_f64() * 1e6, ratio(f.cpu_per_invocation.as_secs_f64(), floor.cpu_per_invocation.as_secs_f64()),
            f.peak_rss_kb as f64 / 1024.0, ratio(f.peak_rss_kb as f64, floor.peak_rss_kb as f64),
            mb(f.binary_bytes), ratio(f.binary_bytes as f64, floor.binary_bytes as f64),
            mb(f.zipped_bytes), ratio(f.zipped_bytes as f64, floor.zipped_bytes as f64),
        );
    }
    println!();
    println!("Ratios in parentheses are to the hello-world floor. Init and first invocation: median of {COLD_STARTS} cold starts; warm: {warm} invocations.");
    println!();
    println!("Budgets:");
    let mut all_pass = true;
    for (name, f) in results[1..].iter().filter(|(n, _)| *n != REFERENCE) {
        let checks = [
            (
                format!("init within {BUDGET_INIT_RATIO}x of hello-world"),
                f.init.as_secs_f64() <= BUDGET_INIT_RATIO * floor.init.as_secs_f64(),
            ),
            (
                format!("CPU per warm invocation within {BUDGET_CPU_RATIO}x of hello-world"),
                f.cpu_per_invocation.as_secs_f64()
                    <= BUDGET_CPU_RATIO * floor.cpu_per_invocation.as_secs_f64(),
            ),
            (
                format!("peak RSS at most {BUDGET_RSS_MB} MB"),
                (f.peak_rss_kb as f64 / 1024.0) <= BUDGET_RSS_MB,
            ),
            (
                format!("zipped bootstrap at most {BUDGET_ZIPPED_MB} MB"),
                mb(f.zipped_bytes) <= BUDGET_ZIPPED_MB,
            ),
        ];
        for (what, pass) in checks {
            all_pass &= pass;
            println!("  {} {name}: {what}", if pass { "PASS" } else { "FAIL" });
        }
    }
    println!();
    println!(
        "{}",
        if all_pass {
            "all budgets met"
        } else {
            "some budgets missed"
        }
    );
}
