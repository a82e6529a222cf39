//! What is measured: each function's release binary with its environment and the event of one
//! invocation, over a table seeded with what the callback, poll and redeem invocations find.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use smv_shared::binding::rfc7636_example::{
    CHALLENGE as RFC_7636_CHALLENGE, VERIFIER as RFC_7636_VERIFIER,
};
use smv_shared::binding::CodeChallenge;
use smv_shared::phone::PhoneNumber;
use smv_shared::phone_hash::PhoneHashKey;
use smv_shared::store::{DynamoDbStore, Verifications};
use smv_shared::time::{Clock, SystemClock};
use smv_shared::token::{Token, UrlSecret};
use smv_shared::verification::{Binding, Lifetimes, State, Verification, VerificationResult};
use tokio::net::TcpListener;

use crate::runtime_api::{fake_infobip, keep_alive_proxy, serve};
use crate::{COLD_STARTS, REFERENCE};

const BENCH_PHONE: &str = "+447911123456";
const BENCH_PHONE_HASH_KEY: &str = "bench-phone-hash-key-0123456789abcdef";

pub(crate) struct Subject {
    pub(crate) name: &'static str,
    pub(crate) binary: PathBuf,
    pub(crate) env: Vec<(String, String)>,
    /// The i-th invocation's event and the status it must answer.
    pub(crate) event: Box<dyn Fn(usize) -> String>,
    pub(crate) expected_status: u16,
}

pub(crate) fn http_api_event(method: &str, path: &str, body: Option<&str>) -> String {
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

/// Every subject, the floor and the reference first, over a fresh table in moto at `endpoint`.
pub(crate) async fn all(endpoint: &str, bin_dir: &Path, warm: usize) -> Vec<Subject> {
    // DynamoDB: a table, and verifications for the callback and poll functions to find.
    let table = format!("smv-bench-{}", uuid::Uuid::new_v4().simple());
    let client = smv_shared::aws::Account::local(endpoint).dynamodb();
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
    let key_id = smv_shared::aws::Account::local(endpoint)
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

    // Every key in a secret of moto's Secrets Manager, read at init as deployed.
    let secrets = smv_shared::aws::Account::local(endpoint).secrets_manager();
    let mut key_env: Vec<(String, String)> = Vec::new();
    for (name, value) in [
        ("INFOBIP_API_KEY", "bench-key"),
        ("PHONE_HASH_KEY", BENCH_PHONE_HASH_KEY),
        (
            "CALLBACK_SECRET_KEY",
            "bench-callback-secret-key-0123456789abcdef",
        ),
        ("RETURN_KEY", "bench-return-key-0123456789abcdef0123"),
    ] {
        let created = secrets
            .create_secret()
            .name(format!(
                "smv-bench-{}-{}",
                name,
                uuid::Uuid::new_v4().simple()
            ))
            .secret_string(value)
            .send()
            .await
            .expect("secret created");
        key_env.push((format!("{name}_SECRET_ARN"), created.arn.expect("an ARN")));
    }
    let key = |name: &str| {
        let arn = format!("{name}_SECRET_ARN");
        key_env
            .iter()
            .find(|(n, _)| *n == arn)
            .cloned()
            .expect("created above")
    };

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
        (
            "AWS_ENDPOINT_URL_SECRETS_MANAGER",
            proxied_endpoint.as_str(),
        ),
        ("AWS_LAMBDA_LOG_LEVEL", "info"),
        ("TABLE_NAME", table.as_str()),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let with = |keys: &[&str], extra: &[(&str, &str)]| {
        let mut env = common.clone();
        env.extend(keys.iter().map(|name| key(name)));
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        env
    };

    let poll_env = with(
        &["INFOBIP_API_KEY", "PHONE_HASH_KEY", "RETURN_KEY"],
        &[
            ("INFOBIP_BASE_URL", infobip_url.as_str()),
            ("ASSERTION_AUDIENCE", "https://rp.bench.example"),
            ("ASSERTION_KEY_ID", key_id.as_str()),
        ],
    );
    let (for_callback, for_poll, for_reference) = (
        Arc::clone(&verifications),
        Arc::clone(&verifications),
        Arc::clone(&verifications),
    );
    vec![
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
            env: with(
                &[
                    "INFOBIP_API_KEY",
                    "PHONE_HASH_KEY",
                    "CALLBACK_SECRET_KEY",
                    "RETURN_KEY",
                ],
                &[
                    ("INFOBIP_BASE_URL", infobip_url.as_str()),
                    // High enough never to refuse the benchmark's thousand starts of one number, so
                    // each start still pays for its two counter updates as it does deployed.
                    ("RATE_LIMIT_PER_PHONE", "1000000"),
                    ("RATE_LIMIT_PER_IP", "1000000"),
                    ("RATE_LIMIT_PER_PHONE_AND_IP", "1000000"),
                    ("RATE_LIMIT_GLOBAL", "1000000"),
                    ("CALLBACK_BASE_URL", "https://bench.example"),
                ],
            ),
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
            env: with(&["CALLBACK_SECRET_KEY"], &[]),
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
    ]
}
