//! What the logs and the table of a whole verification contain: never the API key, a callback
//! secret or a full phone number.

use crate::helpers::*;
use serde_json::json;
use sha2::{Digest, Sha256};

#[tokio::test(flavor = "current_thread")]
async fn logs_of_a_whole_verification_hold_no_secrets_and_no_full_number() {
    let captured = LogCapture::default();
    let _guard = captured.install("trace");

    let t = test_app().await;
    let callback = t.settled(TOKEN, "VALID").await;
    t.callback(
        "/callbacks/infobip/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        json!({"result": "VALID", "token": TOKEN}),
    )
    .await;
    t.poll(TOKEN).await;
    // A bound verification, its device's code, a wrong and a right redeem: the number is in
    // their bodies, the code and the verifier are secrets.
    t.reset_infobip().await;
    let code = t.valid_bound(OTHER_TOKEN).await;
    let wrong =
        json!({"codeVerifier": VERIFIER, "deviceCode": code, "phoneNumber": "+447911123457"});
    t.redeem(OTHER_TOKEN, wrong).await;
    let right = json!({"codeVerifier": VERIFIER, "deviceCode": code, "phoneNumber": PHONE});
    let assertion = body_json(&t.redeem(OTHER_TOKEN, right).await)["assertion"]
        .as_str()
        .unwrap()
        .to_owned();
    t.reset_infobip().await;
    t.infobip_answers(401, json!({"requestError": {"serviceException": {"messageId": "UNAUTHORIZED", "text": "Invalid login details"}}}), 1).await;
    t.send(start_request(PHONE)).await;

    let logs = captured.text();
    assert!(
        logs.contains("+44*******456"),
        "the masked number is logged: {logs}"
    );
    assert!(
        logs.contains("INFOBIP_API_KEY"),
        "the configuration problem is named: {logs}"
    );
    let secret = callback.rsplit('/').next().unwrap();
    let signature = assertion.rsplit('.').next().unwrap();
    for leak in [
        PHONE_DIGITS,
        "447911123457",
        API_KEY,
        PHONE_HASH_KEY,
        secret,
        &code,
        VERIFIER,
        signature,
    ] {
        assert!(!logs.contains(leak), "{leak} leaked into: {logs}");
    }
}

/// Everything a start writes (the verification, both rate-limit counters, an Idempotency-Key
/// record) names the number only by its mask or its keyed hash: a scan of the whole table finds
/// neither the number nor a bare SHA-256 of it, which anyone could compute for every number.
#[tokio::test]
async fn the_table_holds_no_phone_number_nor_a_bare_digest_of_one() {
    let endpoint = test_dynamodb_endpoint();
    let table = dynamodb_table_at(&endpoint).await;
    let t = test_app_with(&[], dynamodb_store_on(&endpoint, &table)).await;
    t.infobip_redirects(TOKEN).await;
    let started = t.send(keyed_start("k-1", PHONE)).await;
    assert_eq!(started.status(), 201, "{}", body_text(&started));
    // A bound verification, its device's return and a redeem write their own items.
    t.reset_infobip().await;
    let code = t.valid_bound(OTHER_TOKEN).await;
    let redeem = json!({"codeVerifier": VERIFIER, "deviceCode": code, "phoneNumber": PHONE});
    assert_eq!(t.redeem(OTHER_TOKEN, redeem).await.status(), 200);

    let items = scan_table(&endpoint, &table).await;
    let keys: Vec<String> = items
        .iter()
        .map(|item| format!("{:?}", item["token"]))
        .collect();
    for prefix in [
        "limit#PhoneNumber#",
        "limit#DeviceIp#",
        "idem#",
        "return#",
        OTHER_TOKEN,
    ] {
        assert!(
            keys.iter().any(|k| k.contains(prefix)),
            "a {prefix} item was written: {keys:?}"
        );
    }
    let national = &PHONE_DIGITS[2..];
    let bare_digests = [PHONE_DIGITS, PHONE].map(|n| hex::encode(Sha256::digest(n.as_bytes())));
    for item in &items {
        let text = format!("{item:?}");
        assert!(!text.contains(national), "the number in {text}");
        for digest in &bare_digests {
            assert!(!text.contains(digest.as_str()), "a bare digest in {text}");
        }
    }
}

/// lambda_runtime logs every raw event at TRACE (the callback path with its secret, a redeem
/// body with the number): even at TRACE, the functions' subscriber keeps the runtime's crates at
/// DEBUG, while our own TRACE events still show.
#[test]
fn the_runtime_never_logs_raw_events_whatever_the_level() {
    let captured = LogCapture::default();
    let _guard = captured.install("trace");
    let raw_event = format!(r#"{{"rawPath":"/callbacks/infobip/s3cret","body":"{PHONE}"}}"#);
    tracing::trace!(
        target: "lambda_runtime::layers::api_response",
        body = raw_event.as_str(),
        "raw JSON event received from Lambda"
    );
    tracing::trace!(target: "lambda_http::request", body = raw_event.as_str(), "request");
    tracing::debug!(target: "lambda_runtime::runtime", "new event arrived");
    tracing::trace!(target: "smv_shared::service", "our own trace event");

    let logs = captured.text();
    assert!(
        !logs.contains("s3cret") && !logs.contains(PHONE_DIGITS),
        "{logs}"
    );
    assert!(
        logs.contains("new event arrived"),
        "the runtime's DEBUG stays: {logs}"
    );
    assert!(logs.contains("our own trace event"), "{logs}");
}

/// A Lambda function as deployed: its entry (`telemetry::init` and `run_lambda`, as each `main`
/// calls them) inside the Lambda runtime's own loop, in a process of its own, fed one event by a
/// Runtime API on loopback, at TRACE, reading its keys from Secrets Manager (moto) as deployed.
/// The runtime logs every raw event at TRACE and the SDK its calls; none of the event's secrets,
/// nor any key, may reach the output.
#[tokio::test]
async fn the_lambda_runtime_loop_at_trace_logs_no_secret_of_the_event() {
    use smv_shared::callback_secret::CallbackKey;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let endpoint = test_dynamodb_endpoint();
    let table = dynamodb_table_at(&endpoint).await;
    let keys = keys_in_secrets_manager(&endpoint, &endpoint).await;
    let secret = CallbackKey::new(CALLBACK_SECRET_KEY.as_bytes().to_vec())
        .unwrap()
        .issue()
        .unwrap();
    let callback_body = json!({"result": "VALID", "token": TOKEN}).to_string();
    let redeem_body =
        json!({"codeVerifier": VERIFIER, "deviceCode": "c0de-c0de-c0de", "phoneNumber": PHONE})
            .to_string();
    let callback_path = format!("/callbacks/infobip/{}", secret.expose());
    let redeem_path = format!("/verifications/{TOKEN}/assertion");
    let runs = [
        (
            "callback",
            callback_path.as_str(),
            callback_body.as_str(),
            vec![secret.expose(), CALLBACK_SECRET_KEY],
        ),
        (
            "poll",
            redeem_path.as_str(),
            redeem_body.as_str(),
            vec![
                PHONE_DIGITS,
                VERIFIER,
                "c0de-c0de-c0de",
                API_KEY,
                PHONE_HASH_KEY,
                RETURN_KEY,
            ],
        ),
    ];
    for (function, event_path, body, secrets) in runs {
        let event = http_api_event(
            "POST",
            event_path,
            json!({"content-type": "application/json"}),
            Some(body),
            DEVICE_IP,
        );
        let runtime_api = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/2018-06-01/runtime/invocation/next"))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("lambda-runtime-aws-request-id", "invocation-1")
                    .insert_header("lambda-runtime-deadline-ms", "4102444800000")
                    .insert_header(
                        "lambda-runtime-invoked-function-arn",
                        "arn:aws:lambda:eu-west-1:123456789012:function:smv",
                    )
                    .set_body_json(&event),
            )
            // Then wiremock's 404, on which the runtime stops and the process exits.
            .up_to_n_times(1)
            .mount(&runtime_api)
            .await;
        Mock::given(method("POST"))
            .and(path("/2018-06-01/runtime/invocation/invocation-1/response"))
            .respond_with(ResponseTemplate::new(202))
            .mount(&runtime_api)
            .await;

        let mut process = std::process::Command::new(std::env::current_exe().unwrap());
        process
            .args([
                "--exact",
                "privacy::lambda_function_process",
                "--ignored",
                "--nocapture",
            ])
            .env("SMV_LAMBDA_FUNCTION", function)
            .env("AWS_LAMBDA_RUNTIME_API", runtime_api.address().to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", format!("smv-{function}"))
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_LOG_LEVEL", "TRACE")
            .env("RUST_LOG", "trace")
            .env("AWS_REGION", "eu-west-1")
            .env("AWS_ACCESS_KEY_ID", "local")
            .env("AWS_SECRET_ACCESS_KEY", "local")
            .env("AWS_ENDPOINT_URL_DYNAMODB", &endpoint)
            .env("AWS_ENDPOINT_URL_KMS", &endpoint)
            .env("TABLE_NAME", &table)
            .envs(keys.iter().filter(|(_, v)| !v.is_empty()).cloned())
            .env("ASSERTION_AUDIENCE", AUDIENCE)
            .env("ASSERTION_KEY_ID", "alias/not-used-by-an-unknown-token");
        let output = tokio::task::spawn_blocking(move || process.output());
        let output = tokio::time::timeout(std::time::Duration::from_secs(60), output)
            .await
            .expect("the function process ends once the Runtime API has no more events")
            .unwrap()
            .unwrap();
        let logs = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );

        let answered: Vec<serde_json::Value> = runtime_api
            .received_requests()
            .await
            .unwrap()
            .iter()
            .filter(|r| r.method.as_str() == "POST")
            .map(|r| serde_json::from_slice(&r.body).unwrap())
            .collect();
        let expected_status = if function == "callback" { 200 } else { 404 };
        assert_eq!(answered.len(), 1, "{function} answered its event: {logs}");
        assert_eq!(
            answered[0]["statusCode"], expected_status,
            "{function}: {answered:?}"
        );
        assert!(
            logs.contains("lambda_runtime") || logs.contains("Lambda runtime invoke"),
            "{function}: the runtime's own spans and events are in the output: {logs}"
        );
        assert!(
            logs.contains("\"status\""),
            "{function}: our request log: {logs}"
        );
        for secret in secrets {
            assert!(
                !logs.contains(secret),
                "{function}: {secret} leaked into: {logs}"
            );
        }
    }
}

/// Not a test by itself: the process [`the_lambda_runtime_loop_at_trace_logs_no_secret_of_the_event`]
/// starts, running a function's entry exactly as its `main` does.
#[test]
#[ignore = "run in a process of its own by the_lambda_runtime_loop_at_trace_logs_no_secret_of_the_event"]
fn lambda_function_process() {
    let Ok(function) = std::env::var("SMV_LAMBDA_FUNCTION") else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ended = runtime.block_on(async {
        smv_shared::telemetry::init();
        match function.as_str() {
            "callback" => smv_shared::run_lambda(smv_shared::CallbackApp::from_env()?).await,
            _ => smv_shared::run_lambda(smv_shared::PollApp::from_env()?).await,
        }
    });
    // The Runtime API's 404 after the one event ends the loop with an error, as intended.
    eprintln!("function process ended: {}", ended.is_err());
}
